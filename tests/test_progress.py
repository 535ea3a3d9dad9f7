"""Progress on stderr only when it is a terminal; results streamed as they are found."""

from __future__ import annotations

import sys

from symderiv.cli import main
from symderiv.progress import progress, stderr_is_terminal


def _tty(monkeypatch):
    """Make the captured stderr say it is a terminal (in the test's body: capsys replaces
    sys.stderr between a fixture's setup and the test)."""
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    assert stderr_is_terminal()


def test_no_bar_without_a_terminal(capsys):
    assert not stderr_is_terminal()
    assert main(["table", "relu", "sigmoid", "--columns", "name,zero_centred"]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.splitlines()[2:] == ["| relu | no |", "| sigmoid | no |"]


def test_bar_on_a_terminal(capsys, monkeypatch):
    _tty(monkeypatch)
    assert main(["table", "relu", "sigmoid", "--columns", "name,zero_centred"]) == 0
    out, err = capsys.readouterr()
    assert "table:" in err and "activation" in err and "/2 [" in err  # tqdm's bar
    assert out.splitlines()[2:] == ["| relu | no |", "| sigmoid | no |"]  # the bar never lands in stdout


def test_advance_counts_on_a_terminal(capsys, monkeypatch):
    _tty(monkeypatch)
    with progress(None, "generate", total=3, unit="activation") as bar:
        bar._bar.mininterval = 0  # draw every update (tqdm skips those within 0.1 s)
        for name in ("a", "b", "c"):
            bar.advance(name)
    err = capsys.readouterr().err
    assert "3/3" in err and "generate" in err and "activation" in err


def test_verify_streams_each_verdict(tmp_path, capsys, monkeypatch):
    _tty(monkeypatch)
    claims = tmp_path / "c.toml"
    claims.write_text('[[claim]]\nactivation = "sigmoid"\nderivative = "a*(1 - a)"\n'
                      '[[claim]]\nactivation = "tanh"\nderivative = "1 - a"\n')
    lines = []
    import symderiv.progress as prog

    real = prog.Progress.print

    def spy(self, text):  # what is printed while the bar is still running
        lines.append((text.split()[0], self._bar is not None))
        real(self, text)

    prog.Progress.print = spy
    try:
        assert main(["verify", "--claims", str(claims)]) == 1
    finally:
        prog.Progress.print = real
    out, err = capsys.readouterr()
    assert lines == [("proved", True), ("refuted", True)]
    assert out.startswith("proved") and "refuted" in out and "claim" in err


def test_a_real_terminal_of_no_size_gets_the_bar():
    """stderr on a pseudo-terminal that reports 0 x 0 (as under `script`): the bar still shows."""
    import os
    import pty
    import subprocess

    master, slave = pty.openpty()
    try:
        # the row computed (not read from the session's cache in no time), so the bar has a step
        r = subprocess.run([sys.executable, "-m", "symderiv", "table", "relu", "--columns", "name"],
                           stdout=subprocess.PIPE, stderr=slave, timeout=120, text=True,
                           env={**os.environ, "SYMDERIV_CACHE_DIR": ""})
        os.close(slave)
        slave = -1
        seen = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the terminal's other side is closed
                break
            if not chunk:
                break
            seen += chunk
    finally:
        if slave != -1:
            os.close(slave)
        os.close(master)
    assert r.returncode == 0 and r.stdout.splitlines() == ["| Activation |", "|---|", "| relu |"]
    # the bar with its total and the activation at work (whether it is redrawn at 1/1 before it is
    # cleared depends on the row taking over tqdm's 0.1 s: counting is test_advance_counts_...'s)
    assert b"table:" in seen and b"/1 [" in seen and b"relu" in seen
