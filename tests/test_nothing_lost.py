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

from symderiv.codegen import emit, output
from symderiv.errors import SymderivError


def _files(version: str = "1") -> dict[str, str]:
    return {
        "__init__.py": output.with_header(f"from .relu import relu  # v{version}\n", "the whole catalogue", "0"),
        "_runtime.py": output.with_header(f"RUNTIME = {version}\n", "runtime", "0"),
        "relu.py": output.with_header(f"def relu(z):\n    return max(z, 0)  # v{version}\n", "relu", "0"),
    }


@pytest.fixture
def fake_render(monkeypatch):
    """``render_all`` returns :func:`_files` (version settable), as the CLI calls it."""
    state = {"version": "1"}
    monkeypatch.setattr(emit, "render_all", lambda names=None, on_done=None: _files(state["version"]))
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

    monkeypatch.setattr(output.tempfile, "mkstemp", refuse)
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

    monkeypatch.setattr(output.os, "replace", flaky)
    status, _, err = _generate(capsys, "--out", str(out))
    assert status == 2 and "No space left on device" in _one_line(err)
    names = {p.name for p in out.iterdir()}
    assert names == set(_files()), names  # no temporary file left behind
    for name, text in _files("1").items():  # every file is complete: old or new, never torn
        assert (out / name).read_text() in (text, _files("2")[name])


def test_write_api_raises_the_same_messages(tmp_path):
    out = tmp_path / "gen"
    output.write(_files(), out)
    (out / "relu.py").write_text((out / "relu.py").read_text() + "#")
    with pytest.raises(SymderivError, match="edited by hand"):
        output.write(_files("2"), out)
    (tmp_path / "file").write_text("x")
    with pytest.raises(SymderivError):
        output.write(_files(), tmp_path / "file")


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


# --- second round (issue 16) -------------------------------------------------------------------


def test_a_rewritten_file_keeps_its_mode_and_a_new_one_follows_the_umask(capsys, tmp_path, fake_render):
    out = tmp_path / "gen"
    old_mask = os.umask(0o027)
    try:
        assert _generate(capsys, "--out", str(out))[0] == 0
        assert {(out / n).stat().st_mode & 0o777 for n in _files()} == {0o640}  # 0666 less the umask
        (out / "relu.py").chmod(0o755)
        (out / "_runtime.py").chmod(0o444)
        fake_render["version"] = "2"
        assert _generate(capsys, "--out", str(out))[0] == 0
    finally:
        os.umask(old_mask)
    assert (out / "relu.py").read_text() == _files("2")["relu.py"]
    assert (out / "relu.py").stat().st_mode & 0o777 == 0o755
    assert (out / "_runtime.py").stat().st_mode & 0o777 == 0o444
    assert (out / "__init__.py").stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize("line", [0, 1, 2, 3])
def test_an_edit_anywhere_in_the_file_is_refused_without_force(capsys, tmp_path, fake_render, line):
    """The content hash covers the whole file but its own line: an edit of the header's first
    or second line counts as a hand edit too; an edit of the hash line itself as well."""
    out = tmp_path / "gen"
    _generate(capsys, "--out", str(out))
    lines = (out / "relu.py").read_text().split("\n")
    lines[line] = lines[line].replace("symderiv", "symderiv ").replace("max(", "max( ") + " "
    (out / "relu.py").write_text("\n".join(lines))
    fake_render["version"] = "2"
    before = _snapshot(out)
    status, _, err = _generate(capsys, "--out", str(out))
    if line == 0:  # no longer our header at all
        assert status == 2 and "not written by symderiv" in _one_line(err)
    else:
        assert status == 2 and "edited by hand" in _one_line(err)
    assert _snapshot(out) == before
    assert _generate(capsys, "--out", str(out), "--force")[0] == (2 if line == 0 else 0)


def test_an_unedited_file_is_rewritten_and_old_style_hashes_still_count_as_ours(capsys, tmp_path, fake_render):
    import hashlib

    out = tmp_path / "gen"
    _generate(capsys, "--out", str(out))
    # written by an older symderiv: the hash covered the body only
    head, second, _, body = (out / "relu.py").read_text().split("\n", 3)
    legacy = f"{head}\n{second}\n{output._HASH_PREFIX}{hashlib.sha256(body.encode()).hexdigest()}\n{body}"
    (out / "relu.py").write_text(legacy)
    fake_render["version"] = "2"
    status, _, err = _generate(capsys, "--out", str(out))
    assert status == 0, err
    assert all((out / n).read_text() == t for n, t in _files("2").items())


@pytest.mark.parametrize("kind", ["directory", "fifo", "device"])
def test_check_refuses_a_target_that_is_not_a_regular_file_at_once(capsys, tmp_path, fake_render, kind):
    import time

    out = tmp_path / "gen"
    _generate(capsys, "--out", str(out))
    target = out / "relu.py"
    target.unlink()
    if kind == "directory":
        target.mkdir()
    elif kind == "fifo":
        if not hasattr(os, "mkfifo"):
            pytest.skip("no FIFOs here")
        os.mkfifo(target)
    else:
        if not os.path.exists("/dev/zero"):
            pytest.skip("no /dev/zero here")
        target.symlink_to("/dev/zero")
    start = time.perf_counter()
    status, out_text, err = _generate(capsys, "--out", str(out), "--check")
    assert status == 2 and "relu.py" in _one_line(err) and out_text == ""
    assert time.perf_counter() - start < 3
    # writing refuses it too, and leaves it alone
    status, _, err = _generate(capsys, "--out", str(out), "--force")
    assert status == 2 and "relu.py" in _one_line(err)
    assert target.is_dir() if kind == "directory" else True


def test_check_twin_a_stale_regular_file_is_stale(capsys, tmp_path, fake_render):
    out = tmp_path / "gen"
    _generate(capsys, "--out", str(out))
    (out / "relu.py").write_text("# changed\n")
    status, _, err = _generate(capsys, "--out", str(out), "--check")
    assert status == 1 and "stale:" in err and "relu.py" in err


@pytest.mark.parametrize("length,status", [(300, 2), (200, 0)])
def test_an_output_name_too_long_is_bad_input(capsys, tmp_path, fake_render, length, status):
    out = tmp_path / ("g" * length)
    got, _, err = _generate(capsys, "--out", str(out))
    assert got == status
    if status:
        assert "File name too long" in _one_line(err)
        got, _, err = _generate(capsys, "--out", str(out), "--check")
        assert got == 2 and "File name too long" in _one_line(err)
    else:
        assert err == "" and {p.name for p in out.iterdir()} == set(_files())


_SLOW_WRITER = """
import os, sys, time
from symderiv.codegen import emit
sys.path.insert(0, {tests!r})
from test_nothing_lost import _files
emit.render_all = lambda names=None, on_done=None: _files({version!r})
real_fsync = os.fsync
def slow_fsync(fd):
    print("writing", file=open({flag!r}, "a"))
    time.sleep(30)
os.fsync = slow_fsync
sys.argv = ["symderiv", "generate", "--out", {out!r}]
from symderiv.cli import run
run()
"""


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
@pytest.mark.parametrize("signame", ["SIGTERM", "SIGHUP", "SIGINT"])
def test_a_signal_while_writing_leaves_no_temporary_file(tmp_path, fake_render, signame):
    """SIGTERM, SIGHUP or Ctrl-C in the middle of writing: one line, exit 128 + N, every file
    whole (old), and no ``.NAME.py.XXXX.tmp`` left beside them."""
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "gen"
    output.write(_files("1"), out)
    before = _snapshot(out)
    flag = tmp_path / "flag"
    code = _SLOW_WRITER.format(tests=str(Path(__file__).parent), version="2", flag=str(flag), out=str(out))
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not flag.exists() and time.monotonic() < deadline and p.poll() is None:
            time.sleep(0.05)
        assert flag.exists(), p.communicate()
        assert any(n.endswith(".tmp") for n in os.listdir(out))  # caught in the act
        p.send_signal(getattr(signal, signame))
        stdout, stderr = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
    number = getattr(signal, signame)
    assert p.returncode == (130 if signame == "SIGINT" else 128 + number), stderr
    assert len(stderr.splitlines()) == 1 and "Traceback" not in stderr, stderr
    assert sorted(os.listdir(out)) == sorted(_files()), os.listdir(out)
    assert _snapshot(out) == before and stdout == ""


@pytest.mark.skipif(os.name != "posix", reason="POSIX signals")
def test_sigterm_while_rendering_in_workers_is_one_line(tmp_path):
    """The real rendering, in worker processes: SIGTERM ends them quietly (no worker
    tracebacks, no leaked-semaphore warning), exit 143, nothing written."""
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "gen"
    # without the session's cache, which holds the kernels: generate renders them for real
    p = subprocess.Popen([sys.executable, "-m", "symderiv", "generate", "--out", str(out)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env={**os.environ, "SYMDERIV_CACHE_DIR": ""})
    try:
        time.sleep(6)  # imports done, workers spawned and rendering
        p.send_signal(signal.SIGTERM)
        stdout, stderr = p.communicate(timeout=60)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 128 + signal.SIGTERM, stderr
    assert stderr == "symderiv: terminated by SIGTERM\n" and stdout == ""
    assert not out.exists() or not any(out.iterdir())
