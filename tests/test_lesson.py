"""``symderiv lesson``: one self-contained page, deterministic, rendered by a real browser.

The browser test runs headless Chromium (Debian's ``chromium``; ``.ci/run`` installs it) over
the DevTools protocol and skips only when no Chromium is installed.
"""

from __future__ import annotations

import os
import re
import struct
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

from symderiv.cli import main
from symderiv.teach import lesson

from . import chromium

# one worker computes this module's expensive fixture (--dist loadgroup), not both; it is
# session-scoped: a module-scoped one is torn down and made again when xdist interleaves modules
pytestmark = pytest.mark.xdist_group("lesson")

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def page(tmp_path_factory) -> Path:
    """The default page (the lesson's four), written once for the module."""
    path = tmp_path_factory.mktemp("lesson") / "lesson.html"
    assert main(["lesson", "-o", str(path)]) == 0
    return path


def test_page_is_self_contained(page):
    text = page.read_text("utf-8")
    assert text.startswith("<!DOCTYPE html>\n" + lesson.MARK + "\n<!-- content-sha256: ")
    for banned in ("<script", "<link", "<img", "<iframe", "src=", "@import", "$$", "\\frac", "\\("):
        assert banned not in text, banned
    assert re.findall(r"url\((?!#)", text) == []  # the SVGs' clip paths are within the page
    assert all(h.startswith("#") for h in re.findall(r'href="([^"]*)"', text))  # links within the page
    for name in lesson.LESSON:
        assert f'<section id="{name}">' in text
    # each section has its plot, inline, and the source of its committed kernel
    assert text.count("<svg ") == 4
    for name in lesson.LESSON:
        source = (ROOT / "generated" / f"{name}.py").read_text("utf-8")
        first = next(line for line in source.splitlines() if line.startswith("def "))
        assert first.replace("'", "&#x27;") in text


def test_corrections_are_the_lessons_own_code_run(page):
    """The lesson's code on its own integer input truncates alpha to 0 (the hand-known answer),
    and its sigmoid overflows at -1000; the page says so beside symderiv's values."""
    text = page.read_text("utf-8")
    assert "# [0, 0, 1, 1, 1]   &lt;- alpha = 0.01 became 0" in text
    assert "<code>[0.01, 0.01, 0.01, 1.  , 1.  ]</code>" in text  # the generated kernel
    assert "overflow encountered in exp" in text
    assert "Bertoin et al." in text and "negligible" not in text.split("<section")[0]


def test_same_inputs_same_bytes_across_processes(tmp_path):
    """A fresh interpreter with another hash seed writes the same bytes as this one; a custom
    expression's kernel comes from the emitter."""
    args = ["lesson", "relu", "--expr", "Abs(z)"]
    here, there = tmp_path / "here.html", tmp_path / "there.html"
    assert main([*args, "-o", str(here)]) == 0
    env = {**os.environ, "PYTHONHASHSEED": "12345", "SYMDERIV_CACHE_DIR": ""}  # computed anew there
    subprocess.run([sys.executable, "-m", "symderiv", *args, "-o", str(there)], check=True, env=env,
                   cwd=ROOT, capture_output=True, timeout=300)
    assert here.read_bytes() == there.read_bytes()
    text = here.read_text("utf-8")
    assert '<section id="expr-2">' in text and "written by symderiv&#x27;s emitter" in text
    assert "Where the lesson is wrong" not in text  # only with the lesson's own four


def test_refuses_what_it_did_not_write(tmp_path, capsys):
    foreign = tmp_path / "notes.html"
    foreign.write_text("<p>my notes</p>")
    assert main(["lesson", "relu", "-o", str(foreign)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "not written by symderiv lesson; use --force" in err
    assert foreign.read_text() == "<p>my notes</p>"
    assert main(["lesson", "relu", "-o", str(foreign), "--force"]) == 0
    ours = foreign.read_bytes()
    assert main(["lesson", "relu", "-o", str(foreign)]) == 0  # its own page: rewritten
    assert foreign.read_bytes() == ours
    foreign.write_bytes(ours.replace(b"<h2>", b"<h2>edited ", 1))
    assert main(["lesson", "relu", "-o", str(foreign)]) == 2
    assert "was edited since symderiv wrote it" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["notes.html"]  # no temporary file left


@pytest.mark.parametrize("args, message", [
    (["nosuch"], "unknown activation 'nosuch'"),
    (["relu", "-o", "lesson.txt"], "must end in .html"),
    (["relu", "-o", "/nonexistent-dir/lesson.html"], "no such directory"),
    (["relu", "--convention", "pytorch"], "invalid choice"),
    (["--expr", "__import__('os')"], "not allowed"),
])
def test_bad_input_is_one_line_and_exit_2(args, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["lesson", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
    assert list(tmp_path.iterdir()) == []


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


# each formula, as Chromium laid it out: a MathML element with a box that is not empty
_CHECKS = {
    "maths": "document.querySelectorAll('math').length",
    "mathml": "[...document.querySelectorAll('math')].filter(m => m instanceof MathMLElement).length",
    "laid_out": "[...document.querySelectorAll('math')].filter(m => { const b = m.getBoundingClientRect();"
                " return b.width > 1 && b.height > 1; }).length",
    "raw_tex": r"/\\(frac|begin|left|cdot)|\$\$|\\\(/.test(document.body.innerText)",
    "sigmoid_aform": "[...document.querySelectorAll('#sigmoid .result math')].map(m => m.textContent"
                     ".replace(/[\\u2061-\\u2064]/g, '')).join(' | ')",
    "svgs": "[...document.querySelectorAll('figure.plot svg')].filter(s => s.getBoundingClientRect().width > 300).length",
}


@pytest.mark.skipif(chromium.executable() is None, reason="needs Chromium (apt-get install chromium)")
def test_chromium_renders_every_formula(page, tmp_path):
    shown = chromium.render(page, _CHECKS, width=1200, height=3000)
    assert shown.exceptions == []
    assert [m for m in shown.console if m.get("level") in ("error", "warning")] == []
    assert shown.requests == [page.resolve().as_uri()]  # nothing fetched but the page itself
    source_maths = page.read_text("utf-8").count("<math ")
    assert shown.values["maths"] == source_maths > 100
    assert shown.values["mathml"] == shown.values["laid_out"] == source_maths
    assert shown.values["raw_tex"] is False
    assert "a(1−a)" in shown.values["sigmoid_aform"]
    assert shown.values["svgs"] == 4
    assert _png_size(shown.screenshot) == (1200, 3000)
    out = Path(os.environ.get("SYMDERIV_SCREENSHOT_DIR", tmp_path)) / "lesson.png"
    out.write_bytes(shown.screenshot)


def test_step_notes_are_typeset_not_python(page):
    """The notes beside the steps read as a textbook's: no ``**``, ``exp(``, ``*`` or ``!=``."""
    text = page.read_text("utf-8")
    notes = re.findall(r'<span class="rule">[^<]*</span> — (.*?)</p>', text)
    assert len(notes) > 20
    for note in notes:
        for python in ("**", "exp(", "*", "!=", "sqrt("):
            assert python not in note, (python, note)
    # the lesson's own steps for sigmoid, as a textbook prints them (written by hand)
    assert "d/du[1/u] = −1/u², then put back u = 1 + e<sup>−z</sup>" in notes
    assert "with u = 1 + e<sup>−z</sup>, d/dz[1/u] = d/du[1/u] · d/dz[u]" in notes


@pytest.mark.parametrize("note, shown", [
    ("d/du[exp(u)] = exp(u), then put back u = beta*z", "d/du[e<sup>u</sup>] = e<sup>u</sup>, then put back u = β·z"),
    ("d/dz[z**n] = n*z**(n - 1) with n = 3", "d/dz[zⁿ] = n·z<sup>n − 1</sup> with n = 3"),
    ("0 != -1/2, so g'(-3) is undefined; 16-bit runs", "0 ≠ −1/2, so g'(−3) is undefined; 16-bit runs"),
    ("{0 if z <= -1; z/2 + 1/2 otherwise}", "{0 if z ≤ −1; z/2 + 1/2 otherwise}"),
    ("2*exp(-u**2)/sqrt(pi)", "2·e<sup>−u²</sup>/√(π)"),
])
def test_html_note(note, shown):
    from symderiv.teach.notation import html_note

    assert html_note(note) == shown
