"""The generated kernels: accuracy against mpmath (independent reference), IEEE behaviour, API.

The reference is :mod:`symderiv.accuracy`: derive()'s textbook formulas evaluated by mpmath with
enough digits (>= 60) to survive their cancellations; the kernels come from the rewritten
primitive algebra, so the two are computed independently.
"""

from __future__ import annotations

import importlib
import math

import mpmath
import numpy as np
import pytest
import sympy

from symderiv import accuracy, kernels
from symderiv.catalogue import all_activations, names

GRID = accuracy.grid("test")
KINDS = accuracy.KINDS
SPECIAL = np.array([-np.inf, -1e300, -1000.0, -745.0, -40.0, -1.0, -1e-310, -0.0, 0.0, 1e-310, 1.0, 40.0,
                    745.0, 1000.0, 1e300, 1e308, np.finfo(np.float64).max, -1e308,
                    -np.finfo(np.float64).max, np.inf, np.nan])
LIMITS = np.array([-np.inf, np.inf])


def _fn(name, kind):
    return getattr(kernels, name + {"value": "", "grad": "_grad", "grad2": "_grad2"}[kind])


def _within_bound(name, points, kinds=KINDS):
    """Every kernel of ``name`` (of ``kinds``) within its error bound at ``points``; the results."""
    results = accuracy.measure(name, kinds=kinds, points=points, peers=False)
    for r in results:
        assert r.over_bound == 0, (r.kernel, r.worst_ulp, r.at, r.cond)
    return results


def _jax_measurable(points: np.ndarray) -> np.ndarray:
    # XLA on the CPU flushes subnormal inputs and results to zero (jax-ml/jax#16200, "working as
    # intended"): the forms' exp(z) is subnormal below z = -708, and so are inputs below 2^-1022
    tiny = np.finfo(np.float64).tiny
    return points[~((np.abs(points) < tiny) & (points != 0)) & (np.abs(points) < 708)]


@pytest.mark.parametrize("name", names())
def test_within_the_error_bound_everywhere_on_the_grid(name, monkeypatch):
    """The NumPy kernels, and the PyTorch and JAX drop-ins where installed (value, and g', g''
    by the framework's autograd through their rules; float64, PyTorch's kink convention), on the
    same points, within the same bound (the references are computed once). The PyTorch drop-ins
    are measured on their torch forms (what runs on other devices; on the CPU they call the
    NumPy kernels, bit for bit: tests/test_dropins.py)."""
    for r in _within_bound(name, GRID):
        if name in accuracy.STRICT and not r.kernel.endswith("grad2"):
            assert r.worst_ulp <= 4, r
    for framework, points in (("torch", GRID), ("jax", _jax_measurable(GRID))):
        try:
            importlib.import_module(framework)
        except ImportError:
            continue
        if framework == "torch":
            monkeypatch.setattr(importlib.import_module("symderiv.kernels.torch._runtime"), "USE_NUMPY_ON_CPU", False)
        for r in accuracy.measure(name, points=points, peers=False, using=framework):
            assert r.over_bound == 0, (framework, r.kernel, r.worst_ulp, r.at, r.allowed)


@pytest.mark.parametrize("name", names())
def test_limits_nan_and_no_floating_point_warnings(name):
    with np.errstate(all="raise", under="ignore"):
        for kind in KINDS:
            got = _fn(name, kind)(SPECIAL)  # no warning for any of them (the grid test checks values)
            assert np.isnan(got[-1]) and not np.isnan(got[:-1]).any()
            for x, g in zip(LIMITS, _fn(name, kind)(LIMITS), strict=True):
                want = accuracy.reference(name, kind, float(x))
                assert accuracy.ulp_error(g, want) <= 16, (kind, x, g, want)
            v, d = getattr(kernels, f"{name}_value_and_grad")(SPECIAL)
            np.testing.assert_allclose(v, _fn(name, "value")(SPECIAL), rtol=1e-15, atol=0)
            np.testing.assert_allclose(d, _fn(name, "grad")(SPECIAL), rtol=1e-15, atol=0)


@pytest.mark.parametrize("name", names())
def test_dtypes_shapes_and_out(name):
    f = getattr(kernels, f"{name}_grad")
    x64 = np.linspace(-8, 8, 37).reshape(37, 1)
    keep = x64.copy()
    r64 = f(x64)
    assert r64.shape == x64.shape and r64.dtype == np.float64
    np.testing.assert_array_equal(x64, keep)  # input never modified
    r32 = f(x64.astype(np.float32))
    assert r32.dtype == np.float32
    if not hasattr(importlib.import_module(f"symderiv.kernels.{name}"), f"_{name}_grad_f32"):
        # widened to float64 and rounded once (a float32 body is measured in tests/test_float32.py)
        np.testing.assert_array_equal(r32, f(x64.astype(np.float32).astype(np.float64)).astype(np.float32))
    ints = np.arange(-5, 6)
    assert f(ints).dtype == np.float64
    np.testing.assert_array_equal(f(ints), f(ints.astype(float)))
    s = f(0.5)
    assert np.ndim(s) == 0 and s == f(np.array([0.5]))[0]
    assert np.ndim(f(np.float64(0.5))) == 0
    buf = np.empty_like(x64)
    assert f(x64, out=buf) is buf
    np.testing.assert_array_equal(buf, r64)
    pair = (np.empty_like(x64), np.empty_like(x64))
    v, d = getattr(kernels, f"{name}_value_and_grad")(x64, out=pair)
    assert v is pair[0] and d is pair[1]
    np.testing.assert_allclose(d, r64, rtol=1e-15, atol=0)  # same formula, maybe another operation order
    big = np.linspace(-30, 30, 200_003)  # several chunks, threaded
    np.testing.assert_array_equal(f(big)[::1000], f(big[::1000]))


def test_bad_input():
    with pytest.raises(TypeError):
        kernels.sigmoid(np.array(["a"]))
    with pytest.raises(ValueError):
        kernels.sigmoid(np.zeros(3), out=np.zeros(4))


# ---- the lesson's bugs, fixed -----------------------------------------------------------------


def test_sigmoid_at_minus_1000_no_overflow_and_right():
    with np.errstate(all="raise", under="ignore"):
        v = kernels.sigmoid(np.array([-1000.0, -700.0]))
        d = kernels.sigmoid_grad(np.array([-700.0]))
    with mpmath.workdps(50):
        assert v[0] == 0.0  # e^-1000 is below the smallest subnormal
        assert v[1] == pytest.approx(float(1 / (1 + mpmath.exp(700))), rel=4e-16)
        assert d[0] == pytest.approx(float(mpmath.exp(-700) / (1 + mpmath.exp(-700)) ** 2), rel=4e-16)
    with np.errstate(over="raise"), pytest.raises(FloatingPointError):
        1 / (1 + np.exp(-np.array([-1000.0])))  # the lesson's code


def test_integer_input_with_fractional_alpha_is_not_truncated():
    z = np.array([-3, -1, 0, 2])
    # the lesson's leaky_relu_derivative: np.ones_like(int array) then dz[z < 0] = 0.01 -> 0
    dz = np.ones_like(z)
    dz[z < 0] = 0.01
    assert dz[0] == 0
    np.testing.assert_array_equal(kernels.leaky_relu_grad(z, alpha=0.01), [0.01, 0.01, 0.01, 1.0])
    np.testing.assert_array_equal(kernels.leaky_relu(z, alpha=0.01), [-0.03, -0.01, 0.0, 2.0])


def test_leaky_relu_at_zero_follows_pytorch():
    # the lesson's two forms disagree at 0: ones_like + dz[z<0]=alpha gives 1, np.where(z>0,1,alpha) alpha.
    # PyTorch's autograd (the stated default) gives alpha: leaky_relu_backward uses `x > 0 ? g : g*slope`.
    assert kernels.leaky_relu_grad(0.0, alpha=0.2) == 0.2
    assert kernels.relu_grad(0.0) == 0.0
    torch = pytest.importorskip("torch")
    x = torch.tensor([0.0], dtype=torch.float64, requires_grad=True)
    torch.nn.functional.leaky_relu(x, 0.2).backward()
    assert x.grad.item() == kernels.leaky_relu_grad(0.0, alpha=0.2)


def test_tanh_grad_is_exact_where_the_lesson_returns_zero():
    z = np.array([19.0, 25.0, 300.0])
    assert (1 - np.tanh(z) ** 2 == 0).all()
    got = kernels.tanh_grad(z)
    for x, g in zip(z, got, strict=True):
        assert accuracy.ulp_error(g, accuracy.reference("tanh", "grad", float(x))) <= 4
    assert got[0] > 0


@pytest.mark.parametrize("name", names())
def test_kink_values_match_derive(name):
    from symderiv.derivation import derive

    d = derive(name, defaults=True)
    for k in d.kinks:
        want = k.values["torch"]
        if want is None:
            continue
        got = getattr(kernels, f"{name}_grad")(float(k.z))
        # exact, up to the rounding of products of float parameters (selu: alpha*scale)
        assert accuracy.ulp_error(got, mpmath.mpf(sympy.Float(want, 40))) <= 2, (name, k.z, got, want)


@pytest.mark.parametrize("act", [a for a in all_activations() if hasattr(kernels, f"{a.name}_grad_from_output")],
                         ids=lambda a: a.name)
def test_grad_from_output_within_4_ulp_of_the_exact_aform(act):
    r = accuracy.aform_errors(act.name, GRID)
    assert r is not None and r.over_bound == 0 and r.worst_ulp <= 4, r


@pytest.mark.parametrize(("name", "params"), [
    ("selu", None), ("selu", {"alpha": 0.1, "scale": 3.0}), ("selu", {"alpha": 1.7, "scale": 1.05}),
    ("celu", None), ("celu", {"alpha": 0.1}), ("celu", {"alpha": 3.0}), ("elu", None), ("elu", {"alpha": 0.1}),
], ids=str)
def test_grad_from_output_where_its_aform_cancels(name, params):
    # selu's a + alpha*scale, celu's a/alpha + 1 and elu's a + alpha are 0 at a = -alpha*scale or
    # -alpha, and the a-form is exact there: within 4 ULP of it at the given a and parameters (the
    # floats passed, each the number it is; or the catalogue's exact defaults, SELU's not floats).
    # fl(alpha*scale) + a was 4.8e15 ULP off, a/alpha + 1 3e15 ULP for alpha = 3
    from symderiv.catalogue import a, get
    from symderiv.derivation import derive

    act = get(name)
    values = act.defaults() if params is None else {
        act.param(k).symbol: sympy.Rational(v) for k, v in params.items()}  # Rational(float): its exact value
    (slope, _), _ = derive(act).aform.args  # the a < 0 piece
    slope = slope.subs(values)
    root = float(sympy.solve(slope, a)[0])
    pts = np.concatenate([_dense_around(root, 300, 1e-9, 401), np.linspace(root - 1e-3, root + 1e-3, 401),
                          np.linspace(root, 0, 401)[1:-1]])
    pts = pts[pts < 0]
    got = getattr(kernels, f"{name}_grad_from_output")(pts, **(params or {}))
    with mpmath.workdps(60):
        errs = [accuracy.ulp_error(g, mpmath.mpf(sympy.Float(slope.subs(a, sympy.Rational(float(x))), 70)))
                for x, g in zip(pts, got, strict=True)]
    assert max(errs) <= 4, (max(errs), pts[int(np.argmax(errs))])


@pytest.mark.peers
@pytest.mark.parametrize("name", ["sigmoid", "tanh", "softplus", "silu", "gelu", "elu", "log_sigmoid"])
def test_never_worse_than_the_better_framework(name):
    pytest.importorskip("torch")
    pytest.importorskip("jax")
    for r in accuracy.measure(name, kinds=("value", "grad"), points=GRID):
        peers = [p for p in (r.torch_ulp, r.jax_ulp) if p is not None]
        assert peers, r
        # (+2 ULP: a tie. gelu at z = -35 is 733 ULP here against JAX's 732: both are bound by the
        # rounding of z/sqrt(2) amplified by erfc's condition number 2x^2 ~ 1232 there)
        assert r.worst_ulp <= max(min(peers) + 2, 8), r


def test_ulp_error_counts_subnormal_as_exact():
    assert accuracy.ulp_error(0.0, mpmath.mpf("1e-320")) == 0.0
    assert accuracy.ulp_error(1.0, mpmath.mpf(1)) == 0.0
    assert accuracy.ulp_error(1.0000000000000002, mpmath.mpf(1)) == 1.0
    assert accuracy.ulp_error(math.nan, mpmath.mpf(1)) == math.inf


def test_ulp_error_counts_inf_as_exact_beyond_the_largest_float():
    biggest = np.finfo(np.float64).max
    assert accuracy.ulp_error(math.inf, mpmath.mpf(biggest) * mpmath.mpf("1.0507")) == 0.0  # selu(max)
    assert accuracy.ulp_error(math.inf, mpmath.mpf(biggest)) == math.inf  # biggest itself is a float
    assert accuracy.ulp_error(-math.inf, mpmath.mpf(biggest) * 2) == math.inf
    assert accuracy.ulp_error(biggest, mpmath.mpf(biggest)) == 0.0


# hardswish is z*relu6(z + 3)/6 in PyTorch and JAX alike, which gives -0 below -3; so do we
_MINUS_ZERO_LIKE_THE_FRAMEWORKS = {"hardswish", "hardswish_grad"}


@pytest.mark.parametrize("name", names())
def test_a_constant_zero_piece_gives_plus_zero(name):
    # relu(-2) is 0.0, not -0.0 (an Ind(z > 0)*z blend gave -0.0): where a piece of g, g' or g''
    # is the constant 0, the kernel returns +0 (at z = -0 itself either sign may come back:
    # PyTorch's relu(-0.0) is -0.0)
    from symderiv import calculus
    from symderiv.catalogue import get, z

    act = get(name)
    defaults = act.defaults()
    points = [-1e300, -40.0, -7.0, -2.0, -0.5, 0.5, 2.0, 7.0, 40.0, 1e300]
    for order, suffix in enumerate(("", "_grad", "_grad2")):
        if name + suffix in _MINUS_ZERO_LIKE_THE_FRAMEWORKS:
            continue
        for piece in calculus.pieces(act.expr, defaults):
            if sympy.diff(piece.expr, z, order).subs(defaults) != 0:
                continue
            lo, hi = float(piece.lo.subs(defaults)), float(piece.hi.subs(defaults))
            xs = np.array([x for x in points if lo < x < hi])
            got = getattr(kernels, name + suffix)(xs)
            assert np.all(got == 0) and not np.signbit(got).any(), (name + suffix, xs, got)


@pytest.mark.parametrize("name", names())
def test_value_and_grad_gives_the_bits_of_the_single_kernels(name):
    # g and g' are generated from value_and_grad's own operations: mish(z) == mish_value_and_grad(z)[0]
    # exactly (they differed by 1-2 ULP for mish, silu, gelu_tanh and squareplus' before)
    z = np.concatenate([np.random.default_rng(3).normal(0, 5, 100_000), SPECIAL, GRID[::7]])
    v, d = getattr(kernels, f"{name}_value_and_grad")(z)
    np.testing.assert_array_equal(v.view(np.int64), _fn(name, "value")(z).view(np.int64))
    np.testing.assert_array_equal(d.view(np.int64), _fn(name, "grad")(z).view(np.int64))


@pytest.mark.parametrize("name", ["silu", "gelu_tanh", "sigmoid"])
def test_a_subnormal_gate_times_a_large_factor(name):
    # silu(z) = z*sigmoid(z) and gelu_tanh = z*sigmoid(y(z)): where the sigmoid's argument is in
    # [-745, -709.8] the sigmoid is subnormal but z times it is not (silu(-710) = -3.2e-306); a
    # form that overflows exp(-x) or (1 + e^-x)^2 there flushes it to 0
    from scipy.optimize import brentq

    c = 2 * math.sqrt(2 / math.pi)
    arg = {"silu": lambda t: t, "sigmoid": lambda t: t, "gelu_tanh": lambda t: c * t * (1 + 0.044715 * t * t)}[name]
    points = [brentq(lambda t, y=y: arg(t) - y, -800, 0) for y in (-705, -709.5, -709.9, -710.5, -711, -712, -720,
                                                                   -740, -745, -750)]
    # not g'', which computes exp(-|y|) itself: subnormal there (see README)
    _within_bound(name, np.array(points), kinds=("value", "grad"))


def test_gelu_grad_where_erfc_is_subnormal():
    # erfc(x) is subnormal from x = 26.54 on (scipy's was 0 from 26.64); gelu'(z) = Phi(z) + z phi(z)
    # is still normal there (z in [-37.73, -37.67]) and Phi is 1/z^2 of it: the kernel uses erfc's
    # asymptotic series (flushed, the error was 5e12 ULP)
    points = np.linspace(-37.8, -37.5, 121)
    _within_bound("gelu", points)


def _dense_around(c: float, ulps: int, width: float, n: int) -> np.ndarray:
    """The ``ulps`` floats either side of ``c``, and ``n`` points over ``c`` +- ``width``."""
    step = np.spacing(abs(c))
    return np.unique(np.concatenate([c + step * np.arange(-ulps, ulps + 1), np.linspace(c - width, c + width, n)]))


@pytest.mark.parametrize("kernel", ["hardswish_grad", "hardswish_value_and_grad"])
def test_hardswish_grad_next_to_its_zero(kernel):
    # hardswish' = (2z + 3)/6 is 0 at z = -1.5: printed as z/3 + 1/2, z/3 was rounded before it
    # cancelled against 1/2 (171 ULP at z = -1.504, 3e15 next to -1.5; PyTorch's x/3 + 0.5 too);
    # (z + 1.5)/3 is exact there but for the division
    pts = np.concatenate([_dense_around(-1.5, 300, 0.01, 2001), [-1.504, -2.9, -0.75, 0.5, 2.9]])
    got = getattr(kernels, kernel)(pts)
    got = got[1] if isinstance(got, tuple) else got
    with mpmath.workdps(60):
        errs = [accuracy.ulp_error(g, (2 * mpmath.mpf(float(x)) + 3) / 6) for x, g in zip(pts, got, strict=True)]
    assert max(errs) <= 1, (max(errs), pts[int(np.argmax(errs))])


@pytest.mark.parametrize("framework", ["torch", "jax"])
def test_hardswish_dropin_grad_next_to_its_zero(framework, monkeypatch):
    # the drop-ins' rules print the same form (their autograd through them, float64)
    pytest.importorskip(framework)
    if framework == "torch":
        monkeypatch.setattr(importlib.import_module("symderiv.kernels.torch._runtime"), "USE_NUMPY_ON_CPU", False)
    from symderiv.catalogue import get

    pts = np.concatenate([_dense_around(-1.5, 100, 0.01, 201), [-1.504]])
    got = accuracy.dropin_values(framework, get("hardswish"), "grad", pts)
    with mpmath.workdps(60):
        errs = [accuracy.ulp_error(g, (2 * mpmath.mpf(float(x)) + 3) / 6) for x, g in zip(pts, got, strict=True)]
    assert max(errs) <= 1, (max(errs), pts[int(np.argmax(errs))])


def test_scratch_is_kept_between_calls_and_outputs_are_one_block():
    # a kernel's scratch buffers stay allocated in each thread (allocating and touching them anew
    # cost 5x the computing on 65536 elements); with out= a warm call allocates no array at all,
    # without it one block holding both outputs (two blocks were trimmed and faulted in again)
    import threading
    import tracemalloc

    z = np.random.default_rng(1).normal(0, 5, 200_000)
    o1, o2 = np.empty_like(z), np.empty_like(z)
    vg = kernels.tanhshrink_value_and_grad  # a costly branch too (its own scratch)
    vg(z, out=(o1, o2))
    tracemalloc.start()
    try:
        vg(z, out=(o1, o2))
        _, peak_out = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        v, d = vg(z)
        _, peak_fresh = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak_out < 300_000, peak_out  # small things (patch's gathered indices): no 512 KiB buffer
    assert 2 * z.nbytes <= peak_fresh < 2 * z.nbytes + 300_000, peak_fresh
    assert v.base is d.base and v.base is not None and v.flags.c_contiguous and d.flags.c_contiguous
    # the kept scratch carries nothing from one call to the next: other kernels, sizes and
    # threads in between change no bit
    want = {name: getattr(kernels, f"{name}_value_and_grad")(z[:70_001].copy()) for name in ("mish", "gelu")}
    errors = []

    def hammer(seed):
        rng = np.random.default_rng(seed)
        for _ in range(20):
            name = ("mish", "gelu")[rng.integers(2)]
            n = int(rng.choice([1, 7, 65_536, 70_001]))
            got = getattr(kernels, f"{name}_value_and_grad")(z[:n].copy())
            kernels.tanhshrink(z[: int(rng.integers(1, 130_000))])
            for g, w in zip(got, want[name], strict=True):
                if not np.array_equal(np.atleast_1d(g), w[:n]):
                    errors.append((name, n))

    threads = [threading.Thread(target=hammer, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors


@pytest.mark.parametrize("offset", [1, -1, 3])
def test_out_overlapping_the_input_with_an_offset_gives_the_right_values(offset):
    # z = buf[:-1], out = buf[1:] shares memory without being the same array: chunk k would
    # overwrite inputs of chunk k+1 before they are read; the reference is computed on a copy
    n = 3 * 65536 + 17  # several chunks, threaded
    rng = np.random.default_rng(7)
    for name in ("sigmoid_grad", "mish", "gelu_grad"):
        buf = rng.normal(0, 5, n + abs(offset))
        z, out = (buf[:-offset], buf[offset:]) if offset > 0 else (buf[-offset:], buf[:offset])
        want = getattr(kernels, name)(z.copy())
        got = getattr(kernels, name)(z, out=out)
        assert got is out
        np.testing.assert_array_equal(out, want)


def test_in_place_out_is_the_input():
    z = np.random.default_rng(3).normal(0, 5, 200_001)
    want = kernels.tanh_grad(z.copy())
    kernels.tanh_grad(z, out=z)
    np.testing.assert_array_equal(z, want)


def test_a_forked_child_runs_threaded_kernels_after_the_parent_did():
    # the inherited thread pool has no threads in the child: without the reset it waits forever
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    z = np.linspace(-20, 20, 10**6)
    want = kernels.sigmoid_grad(z)  # the parent starts its pool
    with ctx.Pool(1) as pool:
        got = pool.apply_async(kernels.sigmoid_grad, (z,)).get(timeout=60)
    np.testing.assert_array_equal(got, want)


#: Run in a child: every import outside the standard library and the runtime dependencies fails,
#: then every NumPy kernel module is imported and each NAME_value_and_grad called.
_PLAIN_INSTALL = r"""
import importlib, pkgutil, sys
ALLOWED = set(sys.stdlib_module_names) | {"numpy", "symderiv", "sympy", "mpmath", "flint", "tqdm"}
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] not in ALLOWED:
            raise ImportError(f"{name} is not a runtime dependency")
sys.meta_path.insert(0, Block())
import numpy
import symderiv.kernels as kernels
z = numpy.linspace(-40, 40, 101)
called = 0
for info in pkgutil.iter_modules(kernels.__path__):
    if info.ispkg or info.name.startswith("_"):
        continue  # torch/, jax/: for those frameworks
    module = importlib.import_module(f"symderiv.kernels.{info.name}")
    for name in module.__all__:
        if name.endswith("_value_and_grad"):
            value, grad = getattr(module, name)(z)
            assert value.shape == grad.shape == z.shape, name
            called += 1
print(called)
"""


def test_kernels_import_and_run_with_the_runtime_dependencies_alone():
    # a plain `pip install symderiv` (no extras) has numpy, sympy, mpmath, python-flint and tqdm:
    # scipy, matplotlib, torch, jax, array-api-compat, dask, ... made unimportable, every kernel
    # module imports and computes (gelu imported scipy.special before its erfc was the runtime's)
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", _PLAIN_INSTALL], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) == len(names())


@pytest.mark.parametrize("name", names())
def test_one_chunk_calls_and_equal_thread_shares_give_the_bits_of_the_general_path(name, monkeypatch):
    # a fresh-output call of at most one chunk (CHUNK elements, CHUNK32 for a float32 body: one
    # more is two chunks) skips apply's bookkeeping, and a
    # threaded call splits the input into equal shares, one of them computed by the calling
    # thread: neither may change a bit against out= into strided arrays (the general path) in
    # one thread, in float64 and float32, whatever the input's layout
    runtime = importlib.import_module("symderiv.kernels._runtime")
    rng = np.random.default_rng(11)
    for dtype in (np.float64, np.float32):
        for n in (1, 1000, runtime.CHUNK, 100_003) + ((runtime.CHUNK32, runtime.CHUNK32 + 1) if dtype == np.float32 else ()):
            z = (rng.normal(0, 5, n) * rng.choice([1, 1e-3, 100], n)).astype(dtype)
            for kind in ("", "_grad", "_grad2", "_value_and_grad"):
                f = getattr(kernels, f"{name}{kind}")
                nout = 2 if kind == "_value_and_grad" else 1
                bufs = [np.empty(2 * n, dtype)[::2] for _ in range(nout)]
                with monkeypatch.context() as m:
                    m.setattr(runtime, "WORKERS", 1)
                    want = f(z, out=bufs[0] if nout == 1 else tuple(bufs))
                with monkeypatch.context() as m:
                    m.setattr(runtime, "THREADED_WORK", 0)  # threads from two chunks up
                    got = f(z)
                for g, w in zip((got,) if nout == 1 else got, (want,) if nout == 1 else want, strict=True):
                    assert g.dtype == dtype and g.shape == z.shape and g.flags.c_contiguous
                    np.testing.assert_array_equal(g.view(f"i{g.itemsize}"), w.view(f"i{w.itemsize}"),
                                                  err_msg=f"{name}{kind} n={n} {np.dtype(dtype).name}")
            if n == 1000:  # 2-D, Fortran-ordered and strided inputs of one chunk
                f = getattr(kernels, f"{name}_value_and_grad")
                flat = f(z)
                for view in (z.reshape(25, 40), np.asfortranarray(z.reshape(25, 40)), z[::3]):
                    v, d = f(view)
                    assert v.shape == d.shape == view.shape and v.base is d.base
                    np.testing.assert_array_equal(v.ravel(), f(view.ravel())[0])
                np.testing.assert_array_equal(f(z[::3])[1], flat[1][::3])
