"""The PyTorch and JAX drop-ins (symderiv.kernels.torch, symderiv.kernels.jax).

Checked against mpmath (the same reference and ULP bounds as the NumPy kernels), against the
framework's own finite differences (gradcheck, gradgradcheck), against the framework's own
functions at ordinary points, and at the kinks against what each convention means (one-sided
derivatives, the framework's own autograd). Each framework's tests skip when it is absent.
"""

from __future__ import annotations

import math
import subprocess
import sys

import mpmath
import numpy as np
import pytest
import sympy

from symderiv import accuracy, calculus
from symderiv.catalogue import all_activations, get, names, z
from symderiv.codegen.frameworks import CONVENTIONS, module_name

#: The accuracy grid of the tests, below 60 in magnitude (float16 overflows beyond 65504).
_GRID = accuracy.grid("test")
POINTS = _GRID[np.abs(_GRID) < 60]


def _torch():
    return pytest.importorskip("torch")


def _jax():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    return jax


def _breakpoints(act) -> list[float]:
    return [float(b.subs(act.defaults())) for b in calculus.breakpoints(act.expr, act.defaults())]


def _away_from_kinks(act, n: int = 24, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 3, 4 * n)
    bps = _breakpoints(act)
    keep = [v for v in x if all(abs(v - b) > 0.05 for b in bps)]
    return np.array(keep[:n])


# ------------------------------------------------------------------ accuracy against mpmath
# (on the whole accuracy grid, within the NumPy kernels' bounds: tests/test_kernels.py
# test_within_the_error_bound_everywhere_on_the_grid measures the drop-ins beside the kernels)


def _mp_exact(name: str, kind: str, x: float) -> float:
    with mpmath.workdps(60):
        return float(accuracy.reference(name, kind, x))


@pytest.mark.parametrize(("name", "x"), [("sigmoid", 40.0), ("sigmoid", -40.0), ("tanh", 20.0),
                                         ("silu", -30.0), ("gelu", -10.0), ("softplus", -50.0)])
def test_the_reported_tails_torch(name, x, torch_path):
    """pytorch#195527 (sigmoid', tanh' 0 in float64), #195685 (tanh float32), #187806 (gelu
    float32): nonzero and right, in float64 and float32."""
    torch = _torch()
    from symderiv.kernels import torch as st

    want = _mp_exact(name, "grad", x)
    assert want != 0
    # float32: the float64 result rounded once by the torch forms; by the NumPy kernels on the
    # CPU, computed in float32 within the kernels' float32 bound (4 ULP for these)
    f32_ulp = 4 if torch_path == "numpy on the cpu" else 1
    for dtype, ulp in ((torch.float64, 4), (torch.float32, f32_ulp)):
        t = torch.tensor([x], dtype=dtype, requires_grad=True)
        (g,) = torch.autograd.grad(getattr(st, name)(t).sum(), t)
        assert g.dtype == dtype
        got = g.item()
        spacing = np.spacing(np.float64(want) if dtype == torch.float64 else np.float32(want))
        assert abs(got - want) <= ulp * abs(float(spacing)), (dtype, got, want)


def test_sigmoid_grad_at_40_where_the_frameworks_give_0():
    torch = _torch()
    from symderiv.kernels import torch as st

    t = torch.tensor([40.0], dtype=torch.float64, requires_grad=True)
    (g,) = torch.autograd.grad(st.sigmoid(t).sum(), t)
    assert f"{g.item():.4g}" == "4.248e-18"
    jax = _jax()
    from symderiv.kernels import jax as sj

    assert f"{float(jax.grad(sj.sigmoid)(40.0)):.4g}" == "4.248e-18"


# ------------------------------------------------------------------ dtypes
@pytest.mark.parametrize("name", ["sigmoid", "tanh", "gelu", "mish", "leaky_relu", "selu", "hardswish"])
def test_lower_precision_is_the_float64_result_rounded_once(name, torch_path):
    torch = _torch()
    from symderiv.kernels import torch as st

    x = torch.tensor(np.concatenate([POINTS, [-10.0, 10.0]]))
    # float32 on the CPU is the NumPy kernels' (test_on_the_cpu_the_numpy_kernels_bits)
    lower = (torch.bfloat16, torch.float16) if torch_path == "numpy on the cpu" else (torch.float32, torch.bfloat16, torch.float16)
    for dtype in lower:
        xd = x.to(dtype)
        t = xd.detach().clone().requires_grad_()
        (g,) = torch.autograd.grad(getattr(st, name)(t).sum(), t)
        assert g.dtype == dtype
        want = torch.tensor(accuracy.dropin_values("torch", get(name), "grad", xd.double().numpy())).to(dtype)
        assert torch.equal(torch.nan_to_num(g), torch.nan_to_num(want)), dtype
        value = getattr(st, name)(xd)
        assert value.dtype == dtype


def test_integer_input_with_fractional_alpha_is_not_truncated():
    """The lesson's bug: np.maximum(alpha*z, z) on integers truncates alpha*z."""
    torch = _torch()
    from symderiv.kernels import torch as st

    y = st.leaky_relu(torch.tensor([-3, 2]), alpha=0.5)
    assert y.dtype == torch.get_default_dtype() and y.tolist() == [-1.5, 2.0]


# ------------------------------------------------------------------ against the frameworks
@pytest.fixture(params=["numpy on the cpu", "torch forms"])
def torch_path(request, monkeypatch):
    """Both paths of the PyTorch drop-ins: the NumPy kernels (CPU float32/64) and the torch forms."""
    _torch()
    from symderiv.kernels.torch import _runtime

    monkeypatch.setattr(_runtime, "USE_NUMPY_ON_CPU", request.param == "numpy on the cpu")
    return request.param


@pytest.mark.parametrize("name", names())
def test_on_the_cpu_the_numpy_kernels_bits(name):
    torch = _torch()
    from symderiv.kernels import torch as st

    from symderiv import kernels

    for dtype in (torch.float64, torch.float32):
        x = torch.tensor(_GRID).to(dtype).requires_grad_()
        y = getattr(st, name)(x)
        (g,) = torch.autograd.grad(y.sum(), x)
        # float32 as the NumPy kernels compute it: in float32 where the kernel keeps its float32
        # bound (tests/test_float32.py), else widened and rounded once
        value, grad = getattr(kernels, f"{name}_value_and_grad")(x.detach().numpy())
        assert y.dtype == g.dtype == dtype
        np.testing.assert_array_equal(y.detach().numpy(), value)
        np.testing.assert_array_equal(g.numpy(), grad)


@pytest.mark.parametrize("name", names())
def test_gradcheck_and_gradgradcheck(name, torch_path):
    torch = _torch()
    from symderiv.kernels import torch as st

    x = torch.tensor(_away_from_kinks(get(name)), dtype=torch.float64, requires_grad=True)
    fn = getattr(st, name)
    assert torch.autograd.gradcheck(fn, (x,))
    assert torch.autograd.gradgradcheck(fn, (x,))


def _ordinary(act) -> np.ndarray:
    return _away_from_kinks(act, 40, seed=1)


def _agree(name: str, kind: str, pts, got, want) -> None:
    """Equal to 1e-12, or else (the framework's cancellation: gelu_tanh' near -5 in torch) at
    least as close to the exact value (mpmath) as the framework is."""
    close = np.isclose(got, want, rtol=1e-12, atol=1e-15)
    for x, g, w in zip(pts[~close], got[~close], want[~close], strict=True):
        exact = _mp_exact(name, kind, float(x))
        assert abs(g - exact) <= abs(w - exact) + 4 * np.spacing(abs(exact)), (kind, x, g, w, exact)


@pytest.mark.parametrize("name", names())
def test_equal_to_torch_at_ordinary_points(name):
    torch = _torch()
    act = get(name)
    theirs = accuracy._torch_fn(act)
    if theirs is None:
        pytest.skip(f"torch has no {name}")
    pts = _ordinary(act)
    for kind in ("value", "grad", "grad2"):
        try:
            want = accuracy.peer_values("torch", act, kind, pts)
        except RuntimeError:  # torch has no double backward for some (hardsigmoid)
            continue
        _agree(name, kind, pts, accuracy.dropin_values("torch", act, kind, pts), want)
    del torch


@pytest.mark.parametrize("name", names())
def test_equal_to_jax_at_ordinary_points(name):
    _jax()
    act = get(name)
    if accuracy._jax_fn(act) is None:
        pytest.skip(f"jax.nn has no {name}")
    pts = _ordinary(act)
    for kind in ("value", "grad", "grad2"):
        want = accuracy.peer_values("jax", act, kind, pts)
        _agree(name, kind, pts, accuracy.dropin_values("jax", act, kind, pts, convention="jax"), want)


# ------------------------------------------------------------------ kinks
def _kinked() -> list[str]:
    return [a.name for a in all_activations() if _breakpoints(a)]


def _one_sided(act, b: float, side: str) -> float:
    """g'(b∓) from the definition: the limit of the symbolic g' of the piece on that side."""
    fixed = act.defaults()
    pieces = calculus.pieces(act.expr.subs(fixed), fixed)
    j = next(i for i, p in enumerate(pieces[:-1]) if abs(float(p.hi) - b) < 1e-12)
    piece = pieces[j] if side == "left" else pieces[j + 1]
    return float(sympy.limit(sympy.diff(piece.expr, z), z, pieces[j].hi, "-" if side == "left" else "+"))


@pytest.mark.parametrize("name", _kinked())
def test_kink_values_per_convention(name, monkeypatch):
    """left/right: the one-sided derivative of the definition; mid: their mean; torch: what
    torch's own autograd gives there; jax: what jax.grad of jax.nn's gives there."""
    act = get(name)
    frameworks = []
    for fw in ("torch", "jax"):
        try:
            __import__(fw)
            frameworks.append(fw)
        except ImportError:
            pass
    if not frameworks:
        pytest.skip("neither torch nor jax is installed")
    if "jax" in frameworks:
        _jax()
    for b in _breakpoints(act):
        left, right = _one_sided(act, b, "left"), _one_sided(act, b, "right")
        want = {"left": left, "right": right, "mid": (left + right) / 2}
        for peer in ("torch", "jax"):
            if peer in frameworks and (accuracy._torch_fn(act) if peer == "torch" else accuracy._jax_fn(act)):
                want[peer] = float(accuracy.peer_values(peer, act, "grad", np.array([b]))[0])
        for fw, numpy_on_cpu in [(f, p) for f in frameworks for p in ((True, False) if f == "torch" else (None,))]:
            if fw == "torch":
                from symderiv.kernels.torch import _runtime

                monkeypatch.setattr(_runtime, "USE_NUMPY_ON_CPU", numpy_on_cpu)
            for conv in CONVENTIONS:
                if conv not in want:
                    continue
                got = float(accuracy.dropin_values(fw, act, "grad", np.array([b]), convention=conv)[0])
                # (selu's alpha*scale is the product of the two float parameters: 1 ULP off the
                # exact product, as in the NumPy kernels and the frameworks)
                assert abs(got - want[conv]) <= 2 * np.spacing(abs(want[conv])), (fw, conv, b, got, want[conv])


def test_a_jax_user_gets_pytorchs_leaky_relu_grad_and_vice_versa():
    torch = _torch()
    jax = _jax()
    from symderiv.kernels import jax as sj
    from symderiv.kernels import torch as st

    t = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    (g_torch,) = torch.autograd.grad(torch.nn.functional.leaky_relu(t, 0.01).sum(), t)
    assert float(jax.grad(lambda v: sj.leaky_relu(v, convention="torch"))(0.0)) == g_torch.item() == 0.01
    (g,) = torch.autograd.grad(st.leaky_relu(t, convention="jax").sum(), t)
    assert g.item() == float(jax.grad(jax.nn.leaky_relu)(0.0)) == 1.0


# ------------------------------------------------------------------ JAX: jit, vmap, order 2
def test_jax_jit_vmap_and_second_order():
    jax = _jax()
    import jax.numpy as jnp
    from symderiv.kernels import jax as sj

    from symderiv import kernels

    x = jnp.linspace(-5.0, 5.0, 11)
    for name in ("gelu", "mish", "softplus", "elu"):
        f = getattr(sj, name)
        g2 = jax.jit(jax.vmap(jax.grad(jax.grad(f))))(x)
        want = getattr(kernels, f"{name}_grad2")(np.asarray(x))
        np.testing.assert_allclose(np.asarray(g2), want, rtol=1e-13, atol=1e-300)
        assert f(jnp.ones(3, dtype=jnp.float32)).dtype == jnp.float32


def _run_without_x64(code: str) -> None:
    """``code`` in a fresh interpreter where JAX has no float64 (as float32 users run it)."""
    pytest.importorskip("jax")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       env={"JAX_ENABLE_X64": "0", "PATH": "/usr/bin:/bin", "JAX_PLATFORMS": "cpu"})
    assert r.returncode == 0, r.stderr[-2000:]


def test_jax_float32_without_x64_keeps_the_tails():
    """Without x64 the forms run in float32 (JAX has no float64 then): the tails stay nonzero."""
    pytest.importorskip("jax")
    code = (
        "import jax, math\n"
        "from symderiv.kernels import jax as sj\n"
        "g = float(jax.grad(sj.sigmoid)(40.0)); print(g)\n"
        "assert jax.grad(sj.sigmoid)(40.0).dtype.name == 'float32'\n"
        "assert abs(g - 4.248354255291589e-18) <= 2 * 4.248354255291589e-18 * 2.0**-23, g\n"
        "assert float(jax.grad(jax.nn.sigmoid)(40.0)) == 0.0  # the framework's own\n"
    )
    _run_without_x64(code)


def test_jax_float32_tanh_of_tiny_inputs_is_the_input():
    """XLA flushes a subnormal 2|x| to 0, so tanh from expm1 gave tanh(1e-40) = 0; below 2^-12
    tanh(x) rounds to x in float32, and the drop-in returns x there (mpmath: within 2.5 ULP, the
    expm1 form's worst on the float32 grid, on both sides of that threshold)."""
    pytest.importorskip("jax")
    code = (
        "import jax, jax.numpy as jnp, mpmath, numpy as np\n"
        "from symderiv.kernels import jax as sj\n"
        "x = np.array([1e-40, -1e-40, 1e-30, 2.0**-12 * 0.999, 2.0**-12, 2.0**-12 * 1.001, 0.01, -0.3],"
        " dtype=np.float32)\n"
        "got = np.asarray(sj.tanh(jnp.asarray(x)))\n"
        "assert got.dtype == np.float32\n"
        "for v, g in zip(x, got):\n"
        "    want = float(mpmath.tanh(mpmath.mpf(float(v))))\n"
        "    assert abs(float(g) - want) <= 2.5 * float(np.spacing(np.float32(abs(want)))), (v, g, want)\n"
        "assert (got[:4] == x[:4]).all()\n"
    )
    _run_without_x64(code)


# ------------------------------------------------------------------ modules and bad input
def test_modules_wrap_the_functions():
    torch = _torch()
    from symderiv.kernels import torch as st

    x = torch.linspace(-3, 3, 7, dtype=torch.float64)
    for act in all_activations():
        cls = getattr(st, module_name(act.name))
        assert issubclass(cls, torch.nn.Module)
        assert torch.equal(cls()(x), getattr(st, act.name)(x))
    m = st.LeakyReLU(alpha=0.2, convention="jax")
    assert "alpha=0.2" in repr(m) and "'jax'" in repr(m)
    assert {"Sigmoid", "GELU", "Mish", "SiLU", "ReLU", "LeakyReLU", "ELU", "SELU", "CELU", "Softplus"} <= set(dir(st))


def test_bad_parameters_and_conventions_are_refused():
    torch = _torch()
    from symderiv.kernels import torch as st

    x = torch.zeros(2)
    with pytest.raises(ValueError, match="unknown convention 'pytorch'"):
        st.relu(x, convention="pytorch")
    with pytest.raises(ValueError, match="parameter beta must be positive"):
        st.softplus(x, beta=-1.0)
    with pytest.raises(ValueError, match="parameter alpha must be a real number"):
        st.elu(x, alpha="big")
    with pytest.raises(ValueError, match="finite"):
        st.celu(x, alpha=math.inf)
    with pytest.raises(TypeError):
        st.sigmoid(x, gamma=1.0)
    with pytest.raises(ValueError, match="unknown convention"):
        st.LeakyReLU(convention="left-ish")
    with pytest.raises(ValueError, match="hardtanh needs min_val < max_val"):  # the catalogue's constraint
        st.hardtanh(x, min_val=1.0, max_val=-1.0)
    assert st.hardtanh(torch.tensor([5.0]), min_val=-2.0, max_val=2.0).item() == 2.0


def test_importing_the_numpy_kernels_needs_neither_framework():
    code = ("import sys, symderiv.kernels\n"
            "assert not {'torch', 'jax', 'dask', 'cupy'} & set(sys.modules), sorted(sys.modules)\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]


# ------------------------------------------------------------------ torch.compile
@pytest.mark.parametrize("name", ["sigmoid", "silu", "leaky_relu", "gelu", "hardtanh"])
def test_torch_compile_traces_the_drop_ins_in_one_graph(name):
    """Under torch.compile the drop-ins run their torch forms, which dynamo traces: before, the
    NumPy path broke the graph five times per call (ndarray.dtype, numpy.errstate) and warned
    about is_functorch_wrapped_tensor. Values and gradients through AOTAutograd (forward and
    backward traced, no C++ compiler needed) are those of the torch forms run eagerly, within
    rounding; the tails (z = +-40) are mpmath's."""
    torch = _torch()
    import importlib

    from symderiv.kernels import torch as st
    from symderiv.kernels.torch import _runtime

    dynamo = importlib.import_module("torch._dynamo")

    fn = getattr(st, name)
    x = torch.tensor(np.concatenate([_away_from_kinks(get(name)), [40.0, -40.0]]), dtype=torch.float64)
    dynamo.reset()
    explained = dynamo.explain(fn)(x)
    assert explained.graph_break_count == 0 and explained.graph_count == 1, explained.break_reasons
    compiled = torch.compile(fn, backend="aot_eager", fullgraph=True)
    got, want = x.clone().requires_grad_(), x.clone().requires_grad_()
    yc = compiled(got)
    yc.sum().backward()
    use = _runtime.USE_NUMPY_ON_CPU
    _runtime.USE_NUMPY_ON_CPU = False  # eagerly, the same forms
    try:
        ye = fn(want)
        ye.sum().backward()
    finally:
        _runtime.USE_NUMPY_ON_CPU = use
    np.testing.assert_allclose(yc.detach().numpy(), ye.detach().numpy(), rtol=4e-16, atol=0)
    np.testing.assert_allclose(got.grad.numpy(), want.grad.numpy(), rtol=1e-15, atol=0)
    for g, t in zip(got.grad[-2:].tolist(), (40.0, -40.0), strict=True):
        exact = _mp_exact(name, "grad", t)
        assert abs(g - exact) <= 1e-15 * abs(exact), (t, g, exact)


def test_torch_compile_with_inductor_keeps_the_tail():
    """The default backend (inductor, C++ on the CPU) fuses the forms and keeps sigmoid'(40)."""
    torch = _torch()
    import shutil

    if shutil.which("g++") is None and shutil.which("c++") is None:
        pytest.skip("inductor needs a C++ compiler")
    from symderiv.kernels import torch as st

    x = torch.tensor([40.0, -40.0, 0.5], dtype=torch.float64, requires_grad=True)
    torch.compile(st.sigmoid)(x).sum().backward()
    want = [_mp_exact("sigmoid", "grad", v) for v in (40.0, -40.0, 0.5)]
    np.testing.assert_allclose(x.grad.numpy(), want, rtol=4e-16)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_torch_compile_can_still_call_the_numpy_kernels(monkeypatch, dtype):
    """TRACE_UNDER_COMPILE = False: under torch.compile the NumPy kernels run as custom operators,
    opaque to the compiler: one graph (fullgraph), and the NumPy kernels' bits, float32 computed
    in float32; kink conventions still apply (leaky_relu'(0) = 1 under JAX's)."""
    torch = _torch()
    import importlib

    from symderiv.kernels import torch as st
    from symderiv.kernels.torch import _runtime

    from symderiv import kernels

    dynamo = importlib.import_module("torch._dynamo")
    monkeypatch.setattr(_runtime, "TRACE_UNDER_COMPILE", False)
    x = torch.tensor(_GRID[np.abs(_GRID) < 700]).to(getattr(torch, dtype))
    dynamo.reset()
    explained = dynamo.explain(st.silu)(x.clone().requires_grad_())
    assert explained.graph_break_count == 0 and explained.graph_count == 1, explained.break_reasons
    for name, kw in (("silu", {}), ("leaky_relu", {"alpha": 0.1})):
        xr = x.clone().requires_grad_()
        y = torch.compile(getattr(st, name), backend="aot_eager", fullgraph=True)(xr, **kw)
        y.sum().backward()
        value, grad = getattr(kernels, f"{name}_value_and_grad")(x.numpy(), **kw)
        assert y.dtype == xr.grad.dtype == x.dtype
        np.testing.assert_array_equal(y.detach().numpy(), value)
        np.testing.assert_array_equal(xr.grad.numpy(), grad)
    zero = torch.tensor([0.0, -1.0], dtype=x.dtype, requires_grad=True)
    f = torch.compile(lambda t: st.leaky_relu(t, alpha=0.1, convention="jax"), backend="aot_eager", fullgraph=True)
    f(zero).sum().backward()
    assert zero.grad.tolist() == [1.0, pytest.approx(0.1)]
