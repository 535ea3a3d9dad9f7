"""The rewrite table, the primitives and ``symderiv generate`` (files, hashes, --check, --force)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import mpmath
import pytest
import sympy

from symderiv.catalogue import z
from symderiv.codegen import emit
from symderiv.codegen.rewrites import (
    PRIMITIVES,
    RULES,
    TANHSHRINK_SERIES_BELOW,
    elementary,
    tanhshrink_series,
)

ROOT = Path(__file__).resolve().parents[1]
POINTS = ["-700", "-37.5", "-3", "-0.7", "-1e-5", "1e-9", "0.25", "0.59", "2", "19", "300"]


def _mp(expr):
    return sympy.lambdify(z, expr, modules="mpmath")


def _sample(expr):
    """Fix any parameter symbol to an admissible number (positive symbols to 3/2)."""
    return expr.subs({s: sympy.Rational(3, 2) for s in expr.free_symbols - {z}})


def _agree(lhs, rhs, points=POINTS):
    f, g = _mp(_sample(lhs)), _mp(_sample(rhs))
    with mpmath.workdps(400):
        for p in points:
            x = mpmath.mpf(p)
            u, v = f(x), g(x)
            assert abs(u - v) <= mpmath.mpf(10) ** -60 * max(abs(u), abs(v), mpmath.mpf(10) ** -300), (p, u, v)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_rule_holds_numerically(rule):
    lhs, rhs = rule.identity()
    _agree(lhs, rhs, [p for p in POINTS if not (rule.name == "log1p" and float(p) <= -1)])


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_rule_is_proved_by_the_engine(rule):
    prove = pytest.importorskip("symderiv.prove")
    lhs, rhs = rule.identity()
    verdict = prove.prove_identity(lhs, rhs, timeout=60)
    assert verdict.status == "proved", (rule.name, verdict)


@pytest.mark.parametrize("prim", PRIMITIVES, ids=lambda p: p.__name__)
def test_primitive_stable_form_and_derivative(prim):
    c = sympy.Symbol("c", positive=True)
    args = (z,) if prim.nargs == {1} or prim.nargs == 1 else (z, c)
    f = prim(*args)
    # the stable form (what is printed) equals the textbook definition (what is proved) ...
    _agree(prim.definition(*args), elementary(prim.stable(*args)))
    # ... and the derivative used in the primitive algebra is the derivative of the definition
    _agree(sympy.diff(prim.definition(*args), z), elementary(sympy.diff(f, z)))


def test_tanhshrink_series_is_accurate_where_used():
    series = _mp(tanhshrink_series(z))
    r = float(TANHSHRINK_SERIES_BELOW)
    with mpmath.workdps(60):
        for i in range(1, 400):
            x = mpmath.mpf(r) * i / 400
            exact = x - mpmath.tanh(x)
            assert abs(series(x) - exact) <= abs(exact) * mpmath.mpf(2) ** -58


def test_stable_forms_do_not_cancel():
    # the rewritten sigmoid'' at z -> 0 is -z/8 to full precision (the textbook form cancels)
    import generated

    assert generated.sigmoid_grad2(1e-12) == pytest.approx(-1e-12 / 8, rel=1e-15)
    assert generated.tanhshrink(1e-5) == pytest.approx(1e-15 / 3, rel=1e-15)


def test_generate_check_passes_on_the_committed_package(run_cli):
    res = run_cli("generate", "--check", timeout=300)
    assert res.returncode == 0, res.stderr
    assert "up to date" in res.stdout


def test_output_is_reproducible_across_hash_seeds(tmp_path):
    texts = []
    for seed in ("1", "2"):
        out = tmp_path / seed
        env = {**os.environ, "PYTHONHASHSEED": seed}
        res = subprocess.run([sys.executable, "-m", "symderiv", "generate", "leaky_relu", "gelu", "squareplus",
                              "--out", str(out)], capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
        assert res.returncode == 0, res.stderr
        texts.append({p.name: p.read_bytes() for p in sorted(out.iterdir())})
    assert texts[0] == texts[1]
    committed = {name: (ROOT / "generated" / name).read_bytes() for name in texts[0]}
    assert texts[0] == committed


def test_header_names_source_version_and_hash():
    text = (ROOT / "generated" / "sigmoid.py").read_text()
    first = text.splitlines()[:3]
    assert first[0] == emit.HEADER_MARK
    assert "catalogue entry 'sigmoid'" in first[1] and "symderiv 0.1.0" in first[1]
    assert first[2].startswith("# content-sha256: ") and len(first[2].split()[-1]) == 64


def test_write_check_force_and_foreign_files(tmp_path, run_cli):
    out = tmp_path / "gen"
    res = run_cli("generate", "relu", "--out", str(out))
    assert res.returncode == 0, res.stderr
    relu = out / "relu.py"
    assert relu.exists() and (out / "_runtime.py").exists()
    # a file symderiv did not write is never touched
    mine = out / "notes.txt"
    mine.write_text("mine")
    # up to date: nothing to do
    res = run_cli("generate", "relu", "--out", str(out), "--check")
    assert res.returncode == 0, res.stderr
    # stale: --check names it, exits 1 and writes nothing
    stale = relu.read_text().replace("# content-sha256: ", "# content-sha256: 0")
    relu.write_text(stale)
    res = run_cli("generate", "relu", "--out", str(out), "--check")
    assert res.returncode == 1
    assert str(relu) in res.stderr
    assert relu.read_text() == stale
    # edited by hand (body no longer matches the hash in its header): refused without --force
    text = relu.read_text().replace("# content-sha256: 0", "# content-sha256: ")
    relu.write_text(text + "\n# my tweak\n")
    res = run_cli("generate", "relu", "--out", str(out))
    assert res.returncode == 2
    assert "edited by hand" in res.stderr and "Traceback" not in res.stderr
    assert relu.read_text().endswith("# my tweak\n")
    res = run_cli("generate", "relu", "--out", str(out), "--force")
    assert res.returncode == 0, res.stderr
    assert not relu.read_text().endswith("# my tweak\n")
    # a file without our header at a target path: refused even with --force
    (out / "_runtime.py").write_text("# someone else's runtime\n")
    res = run_cli("generate", "relu", "--out", str(out), "--force")
    assert res.returncode == 2
    assert (out / "_runtime.py").read_text() == "# someone else's runtime\n"
    assert mine.read_text() == "mine"
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_bad_name_is_exit_2(run_cli):
    res = run_cli("generate", "sigmod", "--check")
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and "sigmoid" in res.stderr
