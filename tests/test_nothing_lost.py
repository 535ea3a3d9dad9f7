"""Nothing lost: ``generate`` against hostile trees (hand edits, foreign files, odd targets).

The rendering is replaced by a fixed set of small files with the real header (built by the real
``_with_header``), so each case runs in milliseconds; what is under test is what ``generate``
does to the files on disk. Every test snapshots the tree (bytes and mtimes) and checks exactly
what changed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from symderiv.codegen import emit
from symderiv.errors import SymderivError


def _files(version: str = "1") -> dict[str, str]:
    return {
        "__init__.py": emit._with_header(f"from .relu import relu  # v{version}\n", "the whole catalogue", "0"),
        "_runtime.py": emit._with_header(f"RUNTIME = {version}\n", "runtime", "0"),
        "relu.py": emit._with_header(f"def relu(z):\n    return max(z, 0)  # v{version}\n", "relu", "0"),
    }


@pytest.fixture
def fake_render(monkeypatch):
    """``render_all`` returns :func:`_files` (version settable), as the CLI calls it."""
    state = {"version": "1"}
    monkeypatch.setattr(emit, "render_all", lambda names=None: _files(state["version"]))
    return state


def _snapshot(root: Path) -> dict[str, tuple[bytes, int]]:
    out = {}
    for dirpath, _, filenames in os.walk(root):
        for f in filenames:
            p = Path(dirpath) / f
            if p.is_symlink():
                out[str(p.relative_to(root))] = (os.readlink(p).encode(), 0)
            else:
                out[str(p.relative_to(root))] = (p.read_bytes(), p.stat().st_mtime_ns)
    return out


def _generate(capsys, *args: str) -> tuple[int, str, str]:
    from symderiv.cli import main

    status = main(["generate", *args])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return status, out, err


def _one_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("symderiv: error: "), err
    return lines[0]


def test_fresh_write_then_up_to_date(capsys, tmp_path, fake_render):
    out = tmp_path / "gen"
    status, _, _ = _generate(capsys, "--out", str(out))
    assert status == 0 and {p.name for p in out.iterdir()} == set(_files())
    assert all((out / n).read_text() == t for n, t in _files().items())
    before = _snapshot(out)
    status, _, _ = _generate(capsys, "--out", str(out))  # nothing to do: nothing touched
    assert status == 0 and _snapshot(out) == before
    assert _generate(capsys, "--out", str(out), "--check")[0] == 0


def test_check_on_a_stale_tree_writes_nothing(capsys, tmp_path, fake_render):
    out = tmp_path / "gen"
    _generate(capsys, "--out", str(out))
    (out / "relu.py").write_text((out / "relu.py").read_text() + "# edited\n")
    (out / "_runtime.py").unlink()
    fake_render["version"] = "2"  # the catalogue moved on: every file is stale
    before = _snapshot(out)
    status, _, err = _generate(capsys, "--out", str(out), "--check")
    assert status == 1
    for name in _files():
        assert name in err
    assert _snapshot(out) == before  # bytes and mtimes untouched, nothing created
    # --check on a directory that does not exist does not create it
    status, _, _ = _generate(capsys, "--out", str(tmp_path / "absent"), "--check")
    assert status == 1 and not (tmp_path / "absent").exists()


def test_hand_edited_file_is_refused_without_force(capsys, tmp_path, fake_render):
    out = tmp_path / "gen"
    _generate(capsys, "--out", str(out))
    edited = (out / "relu.py").read_text().replace("max(z, 0)", "max(z, 0.0)")
    (out / "relu.py").write_text(edited)
    fake_render["version"] = "2"
    before = _snapshot(out)
    status, _, err = _generate(capsys, "--out", str(out))
    assert status == 2
    line = _one_line(err)
    assert "relu.py" in line and "edited by hand" in line and "--force" in line
    assert _snapshot(out) == before  # not even the other, unedited stale files were written
    status, _, _ = _generate(capsys, "--out", str(out), "--force")
    assert status == 0 and (out / "relu.py").read_text() == _files("2")["relu.py"]


def test_foreign_files_are_never_touched(capsys, tmp_path, fake_render):
    out = tmp_path / "gen"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    (out / "old_activation.py").write_text(_files()["relu.py"])  # ours once, no longer rendered
    (out / "relu.py").write_text("# my own relu, no header\n")
    before = _snapshot(out)
    for extra in ([], ["--force"]):
        status, _, err = _generate(capsys, "--out", str(out), *extra)
        assert status == 2 and "not written by symderiv" in _one_line(err) and "relu.py" in err
        assert _snapshot(out) == before
    (out / "relu.py").unlink()
    status, _, _ = _generate(capsys, "--out", str(out))
    assert status == 0
    after = _snapshot(out)
    assert after["notes.txt"] == before["notes.txt"]  # never deleted what it did not write
    assert after["old_activation.py"] == before["old_activation.py"]


def test_symlinked_target_is_not_followed(capsys, tmp_path, fake_render):
    out = tmp_path / "gen"
    out.mkdir()
    precious = tmp_path / "precious.txt"
    precious.write_text("do not overwrite")
    (out / "relu.py").symlink_to(precious)
    status, _, err = _generate(capsys, "--out", str(out), "--force")
    assert status == 2 and "relu.py" in _one_line(err)
    assert precious.read_text() == "do not overwrite"


@pytest.mark.parametrize("kind", ["file", "file-parent", "dir-target"])
def test_out_is_not_a_directory(capsys, tmp_path, fake_render, kind):
    if kind == "file":
        out = tmp_path / "gen"
        out.write_text("a file")
    elif kind == "file-parent":
        (tmp_path / "f").write_text("a file")
        out = tmp_path / "f" / "gen"
    else:
        out = tmp_path / "gen"
        (out / "relu.py").mkdir(parents=True)
    before = _snapshot(tmp_path)
    status, _, err = _generate(capsys, "--out", str(out))
    assert status == 2 and _one_line(err)
    assert _snapshot(tmp_path) == before


def test_unwritable_directory(capsys, tmp_path, fake_render, monkeypatch):
    out = tmp_path / "gen"
    out.mkdir()

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(emit.tempfile, "mkstemp", refuse)
    status, _, err = _generate(capsys, "--out", str(out))
    assert status == 2 and "Permission denied" in _one_line(err) and str(out) in err
    assert list(out.iterdir()) == []


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores file modes")
def test_unwritable_directory_for_real(capsys, tmp_path, fake_render):
    out = tmp_path / "gen"
    out.mkdir()
    out.chmod(0o500)
    try:
        status, _, err = _generate(capsys, "--out", str(out))
        assert status == 2 and _one_line(err)
    finally:
        out.chmod(0o700)


def test_a_failure_mid_write_leaves_no_partial_file_and_no_temp(capsys, tmp_path, fake_render, monkeypatch):
    out = tmp_path / "gen"
    _generate(capsys, "--out", str(out))
    fake_render["version"] = "2"
    real_replace = os.replace
    calls = []

    def flaky(src, dst):
        calls.append(dst)
        if len(calls) == 2:
            raise OSError(28, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(emit.os, "replace", flaky)
    status, _, err = _generate(capsys, "--out", str(out))
    assert status == 2 and "No space left on device" in _one_line(err)
    names = {p.name for p in out.iterdir()}
    assert names == set(_files()), names  # no temporary file left behind
    for name, text in _files("1").items():  # every file is complete: old or new, never torn
        assert (out / name).read_text() in (text, _files("2")[name])


def test_write_api_raises_the_same_messages(tmp_path):
    out = tmp_path / "gen"
    emit.write(_files(), out)
    (out / "relu.py").write_text((out / "relu.py").read_text() + "#")
    with pytest.raises(SymderivError, match="edited by hand"):
        emit.write(_files("2"), out)
    (tmp_path / "file").write_text("x")
    with pytest.raises(SymderivError):
        emit.write(_files(), tmp_path / "file")


def test_generate_stops_at_the_budget_with_its_workers(tmp_path):
    """The catalogue is rendered in worker processes: an expired budget must end them too.

    (With concurrent.futures' ProcessPoolExecutor the command printed its error and then waited
    for every queued rendering: more than ten minutes, measured.)
    """
    import subprocess
    import sys
    import time

    start = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "symderiv", "--timeout", "3", "generate", "--out",
                        str(tmp_path / "gen")], capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - start
    assert r.returncode == 2, r.stderr
    assert r.stderr.strip() == "symderiv: error: time budget of 3 s exceeded (raise it with --timeout SECONDS)"
    assert elapsed < 3 + 12, elapsed
    assert not (tmp_path / "gen").exists() or not any((tmp_path / "gen").iterdir())
