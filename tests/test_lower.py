"""The in-place lowering of kernel code (symderiv.codegen.lower) and the runtime's helpers.

The oracle is NumPy itself: the printed, allocating expressions evaluated as they are. The
lowered code must give the same bits, write only into its outputs, and leave the input alone.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from symderiv import kernels
from symderiv.codegen.chunk import runtime_namespace
from symderiv.codegen.lower import lower

RUNTIME = runtime_namespace()

_LEAVES = st.sampled_from(["z", "_t0", "_t1", "2", "0.5", "-3", "0", "-0.0", "c"])
_UNARY = st.sampled_from(["numpy.exp({})", "abs({})", "-({})", "numpy.tanh({})", "numpy.sqrt(abs({}))",
                          "numpy.greater({}, 0).astype(numpy.float64)", "numpy.log1p(abs({}))"])
_BINARY = st.sampled_from(["({}) + ({})", "({}) - ({})", "({})*({})", "({})/({})", "numpy.maximum({}, {})",
                           "numpy.minimum({}, {})", "select(numpy.greater({}, 1), {}, z)"])


def _expr(depth: int):
    if depth == 0:
        return _LEAVES
    sub = _expr(depth - 1)
    return st.one_of(
        sub,
        st.builds(lambda f, a: f.format(a), _UNARY, sub),
        st.builds(lambda f, a, b: f.format(a, b) if f.count("{}") == 2 else f.format(a, b, b), _BINARY, sub, sub),
    )


def _run(source: str, name: str, z: np.ndarray, nout: int, **params) -> tuple[np.ndarray, ...]:
    namespace = {"numpy": np, "select": RUNTIME["select"], "fix": RUNTIME["fix"]}
    exec(source, namespace)
    got = RUNTIME["apply"](namespace[name], z, None, nout, params)
    return got if nout > 1 else (got,)


@settings(max_examples=150, deadline=None)
@given(t0=_expr(2), t1=_expr(2), r0=_expr(3), r1=_expr(3))
def test_lowered_code_gives_the_bits_numpy_gives(t0, t1, r0, r1):
    # _t1 may use _t0, the results both; "c" is a scalar parameter
    t0 = t0.replace("_t0", "z").replace("_t1", "z")
    t1 = t1.replace("_t1", "_t0")
    source = "\n".join(lower("f", "z", ["c"], [("_t0", t0), ("_t1", t1)], [r0, r1], []))
    z = np.random.default_rng(0).normal(0, 3, 3000)
    z[:4] = [0.0, -0.0, 1.0, 2.5]
    zc = z.copy()
    with np.errstate(all="ignore"):
        scope = {"numpy": np, "select": RUNTIME["select"], "z": z, "c": 1.5}
        try:
            scope["_t0"] = eval(t0, scope)  # the oracle: the allocating code as printed
            scope["_t1"] = eval(t1, scope)
            want = [np.broadcast_to(np.asarray(eval(r, scope), dtype=float), z.shape) for r in (r0, r1)]
        except ZeroDivisionError:  # a constant 2/0: Python's, not an array's
            assume(False)
    got = _run(source, "f", z, 2, c=1.5)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_array_equal(g.view(np.int64)[~np.isnan(w)], w.view(np.int64)[~np.isnan(w)])
        assert np.array_equal(np.isnan(g), np.isnan(w))
    np.testing.assert_array_equal(z, zc)  # the input is never written


def test_a_temporary_that_is_a_result_is_computed_into_its_output():
    # squareplus' = g/h reads g: g goes straight into output 0, read from there, never copied
    source = "\n".join(lower("f", "z", [], [("_t0", "numpy.exp(z) + 1")], ["_t0", "(_t0)/2 + z"], []))
    assert "copyto" not in source and "out=_o0" in source, source
    z = np.linspace(-3, 3, 70001)  # more than one chunk
    v, d = _run(source, "f", z, 2)
    np.testing.assert_array_equal(v, np.exp(z) + 1)
    np.testing.assert_array_equal(d, (np.exp(z) + 1) / 2 + z)


def test_lowering_reuses_buffers():
    # 20 chained operations need 1 scratch buffer, not 20 temporaries
    code = "z"
    for k in range(20):
        code = f"numpy.exp(-({code}))" if k % 2 else f"({code}) + {k}"
    source = "\n".join(lower("f", "z", [], [], [code], []))
    assert "_w.floats(1)" in source, source


@given(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=64), min_size=1, max_size=50),
       st.lists(st.booleans(), min_size=50, max_size=50))
def test_select_is_where_bit_for_bit(values, picks):
    a = np.array(values)
    b = -a[::-1].copy()
    cond = np.array(picks[: a.size])
    want = np.where(cond, a, b)
    got = RUNTIME["select"](cond, a, b)
    np.testing.assert_array_equal(got.view(np.int64), want.view(np.int64))
    got_scalar = RUNTIME["select"](cond, -0.0, b, out=np.empty(a.size))
    np.testing.assert_array_equal(got_scalar.view(np.int64), np.where(cond, -0.0, b).view(np.int64))


@pytest.mark.parametrize("which", [0, 1])
def test_value_and_grad_into_its_own_input(which):
    # out= may be the input array itself (a training loop updating in place): results as if fresh
    z = np.random.default_rng(1).normal(0, 5, 300_000)
    want = kernels.softsign_value_and_grad(z)
    zz = z.copy()
    other = np.empty_like(z)
    out = (zz, other) if which == 0 else (other, zz)
    kernels.softsign_value_and_grad(zz, out=out)
    np.testing.assert_array_equal(out[0], want[0])
    np.testing.assert_array_equal(out[1], want[1])


def test_kink_values_and_non_finite_inputs_are_patched_in_every_chunk():
    # the patches run per chunk: put special inputs at both ends of several chunks
    chunk = RUNTIME["CHUNK"]
    z = np.linspace(-4, 4, 3 * chunk + 17)
    specials = {0: np.nan, chunk - 1: np.inf, chunk: -np.inf, 2 * chunk + 5: 1.0, 3 * chunk + 16: -1.0}
    for i, v in specials.items():
        z[i] = v
    g = kernels.sparse_sigmoid_grad(z)
    assert np.isnan(g[0]) and g[chunk - 1] == 0 and g[chunk] == 0
    assert g[2 * chunk + 5] == 0.25 and g[3 * chunk + 16] == 0.25  # the catalogue's torch value at ±1
    v, d = kernels.mish_value_and_grad(z)
    assert v[chunk - 1] == np.inf and v[chunk] == 0 and d[chunk - 1] == 1 and d[chunk] == 0


@pytest.mark.parametrize("code", ["numpy.minimum(8, numpy.maximum(-32, z))", "numpy.maximum(-32, numpy.minimum(z, 8))",
                                  "numpy.maximum(-3, z)", "numpy.minimum(z, 0.5)", "numpy.maximum(0, z)",
                                  "numpy.minimum(0, z)", "numpy.minimum(-0.0, z)", "numpy.maximum(0, numpy.minimum(0, z))",
                                  "numpy.minimum(c, z)", "numpy.maximum(z, 0)", "numpy.minimum(z, c)",
                                  "numpy.minimum(8, numpy.maximum(c, z))"])
@pytest.mark.parametrize("c", [0.0, -0.0, 2.5])
def test_max_min_with_constants_keep_their_bits(code, c):
    # numpy.clip returns x on a tie with a bound, as minimum(c, x) does (the scalar first) but
    # not minimum(x, 0): -0 against +0
    source = "\n".join(lower("f", "z", ["c"], [], [code], []))
    if not code.startswith("numpy.maximum(z") and "(z, c)" not in code:
        assert "numpy.clip" in source and "numpy.maximum" not in source and "numpy.minimum" not in source, source
    z = np.array([np.nan, np.inf, -np.inf, 0.0, -0.0, 8.0, -32.0, 0.5, -3.0, 1e300, -1e300, 7.999, 5e-324, -5e-324,
                  2.5, -2.5, -np.nan])
    with np.errstate(all="ignore"):
        want = np.broadcast_to(eval(code, {"numpy": np, "z": z, "c": c}), z.shape)
    (got,) = _run(source, "f", z, 1, c=c)
    np.testing.assert_array_equal(got.view(np.int64), np.asarray(want, dtype=float).view(np.int64))


@pytest.mark.parametrize("sd", [5.0, 0.6, 0.1])
def test_a_costly_branch_computed_only_where_selected_gives_the_select_bits(sd):
    # tanhshrink's continued fraction runs on the entries with z^2 < 0.36 alone (runtime patch):
    # about 10%, 60% (computed on the whole chunk, then blended) and 100% of them here
    import importlib

    module = importlib.import_module("symderiv.kernels.tanhshrink")
    chunk = RUNTIME["CHUNK"]
    z = np.random.default_rng(2).normal(0, sd, 3 * chunk + 5)
    z[:5] = [np.nan, np.inf, -np.inf, 0.0, -0.0]
    whole = np.empty_like(z)
    with np.errstate(all="ignore"):
        module._tanhshrink_part0(z, [whole], RUNTIME["_Workspace"](z.size))
        want = np.where(z * z < 0.36, whole, z - np.tanh(z))
    for got in (kernels.tanhshrink(z), kernels.tanhshrink_value_and_grad(z)[0]):
        assert np.array_equal(np.isnan(got), np.isnan(want))
        np.testing.assert_array_equal(got.view(np.int64)[5:], want.view(np.int64)[5:])
        assert got[1] == np.inf and got[2] == -np.inf and got[3] == 0.0


@pytest.mark.parametrize("code", ["-abs(z)", "numpy.exp(-abs(z))", "numpy.exp(-abs(z - 1))", "-numpy.absolute(2*z)"])
def test_minus_abs_sets_the_sign_bit_with_the_same_bits(code):
    source = "\n".join(lower("f", "z", [], [], [code], []))
    assert "bitwise_or" in source and "numpy.negative" not in source, source
    z = np.array([np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -2.5, 5e-324, -5e-324, 1e308, -1e308])
    with np.errstate(all="ignore"):
        want = np.asarray(eval(code, {"numpy": np, "z": z}), dtype=float)
    (got,) = _run(source, "f", z, 1)
    np.testing.assert_array_equal(got.view(np.int64), want.view(np.int64))
    np.testing.assert_array_equal(z.view(np.int64)[:2], np.array([np.nan, -np.nan]).view(np.int64))


@pytest.mark.parametrize(("q", "numerator"), [(6, "2*z + 3"), (12, "4*z + 3"), (6, "2*z**2 - 1"), (10, "2*z + 3")])
def test_a_sum_over_an_integer_is_printed_halved_with_the_same_bits(q, numerator):
    # (2z + 3)/6 prints as (z + 1.5)/3 (hardswish'): scaling by 2 is exact, so the bits are those
    # of the form as written, where 2*z does not overflow
    import sympy

    from symderiv.catalogue import z as zsym
    from symderiv.codegen.printer import KernelPrinter

    expr = sympy.Mul(sympy.Rational(1, q), sympy.sympify(numerator, locals={"z": zsym}), evaluate=False)
    printed = KernelPrinter().doprint(expr)
    assert "2*z" not in printed and "4*z" not in printed, printed
    z = np.concatenate([np.random.default_rng(2).normal(0, 5, 10_000), np.linspace(-2, 2, 4001), [0.0, -0.0]])
    want = eval(f"({numerator.replace('**2', '*z')})/{q}", {"z": z})
    got = eval(printed, {"numpy": np, "z": z})
    np.testing.assert_array_equal(got.view(np.int64), want.view(np.int64))


@settings(max_examples=300, deadline=None)
@given(x=st.floats(allow_nan=False, allow_infinity=False), y=st.floats(allow_nan=False, allow_infinity=False))
def test_product_hi_plus_lo_is_the_exact_product(x, y):
    # selu's a + alpha*scale is computed as (a + hi) + lo: hi = fl(x*y), lo the exact rest
    from fractions import Fraction

    hi, lo = RUNTIME["product_hi"](x, y), RUNTIME["product_lo"](x, y)
    assert hi == x * y
    if np.isfinite(hi) and hi != 0:
        assert lo == float(Fraction(x) * Fraction(y) - Fraction(hi))
    # the catalogue's defaults stand for exact numbers that are not floats: their own two terms
    assert RUNTIME["product_hi"](x, y, (x, y, 2.5)) == 2.5 and RUNTIME["product_lo"](x, y, (x, y, 1e-17)) == 1e-17
