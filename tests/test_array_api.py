"""The NumPy kernels on arrays of other libraries (array-api-compat): torch and JAX CPU arrays are
computed by that library and come back as its arrays, equal to the NumPy kernel on the same data,
and where the two differ by more than a few ULP the array-API result is checked against mpmath
(:mod:`symderiv.accuracy`'s reference, at 50+ digits) within the catalogue's bound."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from symderiv import accuracy, kernels
from symderiv.catalogue import names

pytest.importorskip("array_api_compat")

GRID = accuracy.grid("test")
#: (suffix, accuracy kind of each output)
FUNCTIONS = (("", ("value",)), ("_grad", ("grad",)), ("_grad2", ("grad2",)),
             ("_value_and_grad", ("value", "grad")), ("_grad_from_output", (None,)))


@pytest.fixture(scope="module")
def libraries():
    """(label, to_array, array type) for torch and JAX (x64 on), float64 and float32."""
    torch = pytest.importorskip("torch")
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    return [("torch", lambda x: torch.from_numpy(x.copy()), torch.Tensor),
            ("jax", jnp.asarray, jax.Array)]


def _ulps(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    """|got - want| in ULPs of want (of its dtype; the subnormal spacing at least); 0 where the
    bits agree as numbers (NaN with NaN, -0 with +0)."""
    ftype = want.dtype
    with np.errstate(all="ignore"):
        spacing = np.spacing(np.maximum(np.abs(want), np.finfo(ftype).tiny).astype(ftype)).astype(float)
        d = np.abs(got.astype(float) - want.astype(float)) / spacing
    d[(got == want) | (np.isnan(got) & np.isnan(want))] = 0
    return d


def _jax_measurable(x: np.ndarray, want: np.ndarray) -> np.ndarray:
    # XLA on the CPU flushes subnormal inputs and results to zero (jax-ml/jax#16200): those
    # points, and the |z| > 708 ones whose exp is subnormal, are not JAX's to get right
    sub = lambda v: (np.abs(v) < np.finfo(v.dtype).tiny) & (v != 0)  # noqa: E731
    return ~sub(x) & ~sub(want) & ~(np.abs(x) > 708)


@pytest.mark.parametrize("name", names())
def test_torch_and_jax_arrays_are_computed_by_their_library(name, libraries):
    for suffix, kinds in FUNCTIONS:
        fn = getattr(kernels, name + suffix, None)
        if fn is None:
            continue
        for dtype in (np.float64, np.float32):
            with np.errstate(over="ignore"):
                x = GRID.astype(dtype)
            # the library computes in float64 and rounds once; the NumPy kernel may compute float32
            # in float32 (tests/test_float32.py): compare with its float64 result rounded once
            want = fn(x.astype(np.float64))
            with np.errstate(over="ignore"):  # softplus(1e300) in float32 is inf, as it should be
                want = tuple(np.asarray(w).astype(dtype) for w in (want if isinstance(want, tuple) else (want,)))
            for label, to_array, array_type in libraries:
                got = fn(to_array(x))
                got = got if isinstance(got, tuple) else (got,)
                assert len(got) == len(want)
                for g, w, kind in zip(got, want, kinds, strict=True):
                    assert isinstance(g, array_type), (name + suffix, label, type(g))
                    g = np.asarray(g)
                    assert g.dtype == w.dtype and g.shape == w.shape, (name + suffix, label, g.dtype)
                    keep = _jax_measurable(x, w) if label == "jax" else np.ones(x.shape, bool)
                    err = _ulps(g[keep], w[keep])
                    if dtype == np.float32:  # both computed in float64, rounded once
                        assert err.max() <= 1, (name + suffix, label, err.max(), x[keep][np.argmax(err)])
                        continue
                    for i in np.nonzero(err > 4)[0]:  # the NumPy kernel is not the truth: mpmath is
                        z = float(x[keep][i])
                        assert kind is not None, (name + suffix, label, z, err[i])
                        ref = accuracy.reference(name, kind, z)
                        bound = accuracy.allowed(name, kind, accuracy.condition(name, kind, z, ref))
                        e = accuracy.ulp_error(float(g[keep][i]), ref)
                        assert e <= bound, (name + suffix, label, z, e, bound)


def test_shapes_integers_scalars_and_parameters(libraries):
    torch = pytest.importorskip("torch")
    import jax.numpy as jnp

    r = kernels.leaky_relu(torch.tensor([[-3, 0], [2, 5]]), alpha=0.5)
    assert r.dtype == torch.float64 and r.shape == (2, 2) and r.tolist() == [[-1.5, 0.0], [2.0, 5.0]]
    r = kernels.relu_grad2(jnp.asarray([1.0, -2.0], dtype=jnp.float32))  # a constant form
    assert r.dtype == jnp.float32 and r.tolist() == [0.0, 0.0]
    x = torch.tensor(0.5, dtype=torch.float64)
    assert kernels.sigmoid(x).ndim == 0 and kernels.sigmoid(x).item() == float(kernels.sigmoid(0.5))
    y = torch.tensor([1.0, 2.0], dtype=torch.float64)
    assert kernels.identity(y) is not y  # a new array, never the input
    with pytest.raises(TypeError, match="out= is for NumPy arrays"):
        kernels.sigmoid(y, out=np.empty(2))
    with pytest.raises(TypeError, match="real numbers"):
        kernels.sigmoid(torch.tensor([1j]))
    # autograd runs through the library's operations
    w = torch.tensor([40.0], dtype=torch.float64, requires_grad=True)
    kernels.sigmoid(w).sum().backward()
    assert w.grad.item() == pytest.approx(4.248354255291589e-18, rel=1e-14)


def test_numpy_input_and_lists_stay_on_the_numpy_path():
    assert type(kernels.sigmoid([0.0, 1.0])) is np.ndarray
    assert type(kernels.sigmoid(np.float32(1.0))) is np.float32


def test_a_foreign_array_without_array_api_compat_is_refused_not_converted():
    code = ("import sys; sys.modules['array_api_compat'] = None\n"
            "import torch, symderiv.kernels as k\n"
            "try:\n    k.sigmoid(torch.zeros(2))\nexcept TypeError as e:\n    print(e)\n")
    pytest.importorskip("torch")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "need array-api-compat" in r.stdout, r.stdout + r.stderr[-2000:]
