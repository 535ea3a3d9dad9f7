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
from symderiv.codegen import emit, output
from symderiv.codegen.rewrites import (
    ERFC_SERIES_BELOW,
    PRIMITIVES,
    RULES,
    TANHSHRINK_CF_BELOW,
    VARIANTS,
    TanhShrink,
    elementary,
    erfc_series,
    tanhshrink_cf,
)
from symderiv.errors import SymderivError

ROOT = Path(__file__).resolve().parents[1]
POINTS = ["-700", "-37.5", "-3", "-0.7", "-1e-5", "1e-9", "0.25", "0.59", "2", "19", "300"]


def _mp(expr):
    return sympy.lambdify(z, expr, modules="mpmath")


def _sample(expr):
    """Fix any parameter symbol to an admissible number (positive symbols to 3/2)."""
    return expr.subs({s: sympy.Rational(3, 2) for s in expr.free_symbols - {z}})


def _agree(lhs, rhs, points=POINTS, digits=60):
    f, g = _mp(_sample(lhs)), _mp(_sample(rhs))
    with mpmath.workdps(400):
        for p in points:
            x = mpmath.mpf(p)
            u, v = f(x), g(x)
            assert abs(u - v) <= mpmath.mpf(10) ** -digits * max(abs(u), abs(v), mpmath.mpf(10) ** -300), (p, u, v)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_rule_holds_numerically(rule):
    lhs, rhs = rule.identity()
    _agree(lhs, rhs, [p for p in POINTS if not (rule.name == "log1p" and float(p) <= -1)])


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_rule_is_proved_by_the_engine(rule):
    prove = pytest.importorskip("symderiv.prove")
    lhs, rhs = rule.identity()
    verdict = prove.prove_identity(lhs, rhs, breakpoints=list(rule.excluded), timeout=60)
    assert verdict.status == "proved", (rule.name, verdict)
    if rule.excluded:  # and the excluded points are needed: the claim is undefined there
        assert prove.prove_identity(lhs, rhs, timeout=60).status == "refuted"


@pytest.mark.parametrize("prim", PRIMITIVES, ids=lambda p: p.__name__)
def test_primitive_stable_form_and_derivative(prim):
    c = sympy.Symbol("c", positive=True)
    args = (z,) if prim.nargs == {1} or prim.nargs == 1 else (z, c)
    f = prim(*args)
    # the stable form (what is printed) equals the textbook definition (what is proved) ...
    # (TanhShrink's stable form is a truncated continued fraction below |x| < 3/5: accurate to 2^-60,
    # see below)
    _agree(prim.definition(*args), elementary(prim.stable(*args)), digits=17 if prim is TanhShrink else 60)
    for variant in VARIANTS:  # and so does every alternative form (the generator may print it instead)
        if hasattr(prim, f"stable_{variant}"):
            _agree(prim.definition(*args), elementary(getattr(prim, f"stable_{variant}")(*args)))
    # ... and the derivative used in the primitive algebra is the derivative of the definition
    _agree(sympy.diff(prim.definition(*args), z), elementary(sympy.diff(f, z)))


def test_tanhshrink_continued_fraction_is_accurate_where_used():
    cf = _mp(tanhshrink_cf(z))
    r = float(TANHSHRINK_CF_BELOW)
    with mpmath.workdps(60):
        for i in range(1, 400):
            x = mpmath.mpf(r) * i / 400
            exact = x - mpmath.tanh(x)
            assert abs(cf(x) - exact) <= abs(exact) * mpmath.mpf(2) ** -60


def test_erfc_series_is_accurate_where_used():
    # used where erfc (the runtime's) is below 2^-1000, that is from x = 26.25 on
    series = _mp(erfc_series(z))
    with mpmath.workdps(60):
        start = mpmath.findroot(lambda x: mpmath.erfc(x) - mpmath.mpf(ERFC_SERIES_BELOW), 26)
        assert 26 < start < 26.5
        for x in [start - mpmath.mpf("0.01"), 26.64, 27, 30, 38, 100, 1e5]:
            exact = mpmath.erfc(mpmath.mpf(x))
            assert abs(series(mpmath.mpf(x)) - exact) <= exact * mpmath.mpf(2) ** -60, x


def test_stable_forms_do_not_cancel():
    # the rewritten sigmoid'' at z -> 0 is -z/8 to full precision (the textbook form cancels)
    from symderiv import kernels

    assert kernels.sigmoid_grad2(1e-12) == pytest.approx(-1e-12 / 8, rel=1e-15)
    assert kernels.tanhshrink(1e-5) == pytest.approx(1e-15 / 3, rel=1e-15)


def test_generate_check_passes_on_the_committed_package(run_cli):
    res = run_cli("generate", "--check", timeout=300)
    assert res.returncode == 0, res.stderr
    assert "up to date" in res.stdout


def test_output_is_reproducible_across_hash_seeds(tmp_path):
    texts = []
    for seed in ("1", "2"):
        out = tmp_path / seed
        env = {**os.environ, "PYTHONHASHSEED": seed, "SYMDERIV_CACHE_DIR": ""}  # all computed under this seed
        res = subprocess.run([sys.executable, "-m", "symderiv", "generate", "leaky_relu", "--out", str(out)],
                             capture_output=True, text=True, cwd=ROOT, env=env, timeout=300)
        assert res.returncode == 0, res.stderr
        texts.append({str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*.py"))})
    assert texts[0] == texts[1]
    assert {"leaky_relu.py", "torch/leaky_relu.py", "jax/leaky_relu.py"} <= set(texts[0])
    committed = {name: (ROOT / "generated" / name).read_bytes() for name in texts[0]}
    assert texts[0] == committed


def test_a_subset_is_an_importable_package(tmp_path):
    """``generate relu --out DIR`` gives a package that imports (its __init__ skips what is absent)."""
    out = tmp_path / "subset"
    res = subprocess.run([sys.executable, "-m", "symderiv", "generate", "relu", "--out", str(out)],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert res.returncode == 0, res.stderr
    code = ("import numpy, subset\n"
            "assert subset.relu_grad(numpy.array([-1.0, 2.0])).tolist() == [0.0, 1.0]\n"
            "assert not hasattr(subset, 'sigmoid')\n"
            "try:\n    import torch\nexcept ImportError:\n    pass\nelse:\n"
            "    import subset.torch as st\n    assert st.relu(torch.tensor([-1.0, 2.0])).tolist() == [0.0, 2.0]\n"
            "    assert st.__all__ == ['CONVENTIONS', 'relu', 'ReLU']\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=300)
    assert res.returncode == 0, res.stderr


def test_header_names_source_version_and_hash():
    text = (ROOT / "generated" / "sigmoid.py").read_text()
    first = text.splitlines()[:3]
    assert first[0] == output.HEADER_MARK
    assert "catalogue entry 'sigmoid'" in first[1] and "symderiv 0.1.0" in first[1]
    assert first[2].startswith("# content-sha256: ") and len(first[2].split()[-1]) == 64


@pytest.fixture(scope="module")
def relu_files():
    return emit.render_all(["relu"])


def test_write_check_force_and_foreign_files(tmp_path, relu_files):
    out = tmp_path / "gen"
    written = output.write(relu_files, out)
    relu = out / "relu.py"
    assert str(relu) in written and (out / "_runtime.py").exists()
    mine = out / "notes.txt"  # a file symderiv did not write is never touched
    mine.write_text("mine")
    assert output.write(relu_files, out) == []  # up to date: nothing rewritten
    assert output.check(relu_files, out) == []
    # stale (e.g. an older generator's output): check names it and writes nothing
    stale = relu.read_text().replace("import numpy", "import numpy  # old")
    stale = output.with_header(stale.split("\n", 3)[3], "catalogue entry 'relu'", "0.0.9")
    relu.write_text(stale)
    assert output.check(relu_files, out) == [str(relu)]
    assert relu.read_text() == stale
    assert output.write(relu_files, out) == [str(relu)]  # intact header: regenerated without --force
    # edited by hand (body no longer matches the hash in its header): refused without force
    relu.write_text(relu.read_text() + "\n# my tweak\n")
    with pytest.raises(SymderivError, match="edited by hand"):
        output.write(relu_files, out)
    assert relu.read_text().endswith("# my tweak\n")
    output.write(relu_files, out, force=True)
    assert not relu.read_text().endswith("# my tweak\n")
    # a file without our header at a target path: refused even with force
    (out / "_runtime.py").write_text("# someone else's runtime\n")
    with pytest.raises(SymderivError, match="not written by symderiv"):
        output.write(relu_files, out, force=True)
    assert (out / "_runtime.py").read_text() == "# someone else's runtime\n"
    assert mine.read_text() == "mine"
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]


def test_cli_exit_codes_for_stale_and_edited(tmp_path, run_cli, relu_files):
    out = tmp_path / "gen"
    output.write(relu_files, out)
    relu = out / "relu.py"
    relu.write_text(relu.read_text() + "# hand edit\n")
    res = run_cli("generate", "relu", "--out", str(out), "--check")
    assert res.returncode == 1 and str(relu) in res.stderr
    res = run_cli("generate", "relu", "--out", str(out))
    assert res.returncode == 2 and "edited by hand" in res.stderr and "Traceback" not in res.stderr
    assert res.stderr.count("\n") == 1
    assert relu.read_text().endswith("# hand edit\n")


def test_bad_name_is_exit_2(run_cli):
    res = run_cli("generate", "sigmod", "--check")
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and "sigmoid" in res.stderr


def test_the_dropin_runtimes_are_linted_files_sharing_their_checks_word_for_word():
    """templates/torch_runtime.py and templates/jax_runtime.py (read as text, copied into
    generated/) carry the same parameter and convention checks."""
    from symderiv.codegen.frameworks import JAX_RUNTIME, TEMPLATES, TORCH_RUNTIME

    def shared(text):
        start = text.index("CONVENTIONS = ")
        return text[start:text.index("\n\n\n", text.index("def _convention("))]

    assert shared(TORCH_RUNTIME) == shared(JAX_RUNTIME)
    assert not (TEMPLATES / "__init__.py").exists()  # not a package: never imported
    for framework, text in (("torch", TORCH_RUNTIME), ("jax", JAX_RUNTIME)):
        assert (ROOT / "generated" / framework / "_runtime.py").read_text().split("\n", 3)[3] == text


def test_the_generator_imports_neither_torch_nor_jax():
    code = ("import sys\nimport symderiv.codegen.emit, symderiv.codegen.frameworks\n"
            "assert not {'torch', 'jax'} & set(sys.modules), sorted({'torch', 'jax'} & set(sys.modules))\n")
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
