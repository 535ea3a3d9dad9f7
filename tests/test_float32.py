"""float32 input: computed in float32 where the kernel keeps its accuracy bound in float32 ULP.

Which kernels have a float32 body was decided when they were generated (symderiv.codegen.single,
with a screen against the float64 kernel); here every float32 result, native or widened, is
measured against mpmath on float32 input, in float32 ULP, within the same bound as float64.
"""

from __future__ import annotations

import importlib
import threading

import numpy as np
import pytest

from symderiv import accuracy, kernels
from symderiv.catalogue import names

GRID32 = accuracy.float32_grid("test")
SUFFIXES = {"value": "", "grad": "_grad", "grad2": "_grad2"}


def _module(name):
    return importlib.import_module(f"symderiv.kernels.{name}")


def _native(name, suffix):
    return hasattr(_module(name), f"_{name}{suffix}_f32")


@pytest.mark.parametrize("name", names())
def test_float32_within_the_error_bound_on_the_float32_grid(name):
    for r in accuracy.measure(name, points=GRID32, peers=False, dtype="float32"):
        assert r.over_bound == 0, (r.kernel, r.worst_ulp, r.at, r.allowed)
        if name in accuracy.STRICT and not r.kernel.endswith("grad2"):
            assert r.worst_ulp <= 4, r
    r = accuracy.aform_errors(name, GRID32, dtype="float32")
    assert r is None or r.over_bound == 0, r


def test_most_kernels_compute_float32_in_float32():
    """The lesson's tanh, relu, leaky_relu and most others run natively; gelu (scipy's erfc) and
    tanhshrink (a branch computed apart) widen; where it widens the module's docstring says why."""
    for name in ("tanh", "relu", "leaky_relu", "softplus", "silu", "mish", "elu", "selu"):
        for suffix in ("", "_grad", "_grad2", "_value_and_grad"):
            assert _native(name, suffix), (name, suffix)
    for name in ("gelu", "tanhshrink"):
        assert not _native(name, "_value_and_grad")
        assert "widened to float64" in " ".join(_module(name).__doc__.split())


def _pools_after(fn, x):
    """The dtypes of the float scratch a fresh thread's workspace holds after ``fn(x)``."""
    from symderiv.kernels import _runtime

    got = {}

    def run():
        fn(x)
        got["pools"] = {dtype for (kind, dtype), pool in _runtime._workspace()._pools.items()
                        if kind == "f" and pool}

    t = threading.Thread(target=run)
    t.start()
    t.join()
    return got["pools"]


def test_the_float32_body_computes_on_float32_scratch():
    x = np.linspace(-8, 8, 1001, dtype=np.float32)
    assert _pools_after(kernels.tanh_grad, x) == {np.float32}
    assert _pools_after(kernels.tanh_grad, x.astype(np.float64)) == {np.float64}
    assert _pools_after(kernels.gelu_grad, x) == {np.float64}  # widened
    src = _module("tanh")._tanh_grad_f32.__code__.co_names
    assert "floats32" in src and "floats" not in src
    # the public kernel is the float32 body, chunk for chunk
    want = np.empty_like(x)
    from symderiv.kernels import _runtime

    _module("tanh")._tanh_grad_f32(x, [want], _runtime._Workspace(x.size))
    np.testing.assert_array_equal(kernels.tanh_grad(x), want)


@pytest.mark.parametrize("name", ["tanh", "silu", "mish", "hardswish", "gelu", "sigmoid", "leaky_relu"])
def test_float32_out_non_contiguous_0d_and_value_and_grad_bits(name):
    f, vg = getattr(kernels, f"{name}_grad"), getattr(kernels, f"{name}_value_and_grad")
    g = getattr(kernels, name)
    x = np.random.default_rng(3).normal(0, 5, 200_003).astype(np.float32)  # chunks, threads
    want = f(x)
    assert want.dtype == np.float32
    buf = np.empty_like(x)
    assert f(x, out=buf) is buf
    np.testing.assert_array_equal(buf, want)
    # a float64 out for float32 input: the float32 values where computed in float32, else the
    # float64 ones
    wide = np.empty(x.shape, np.float64)
    np.testing.assert_array_equal(f(x, out=wide), want.astype(np.float64) if _native(name, "_grad")
                                  else f(x.astype(np.float64)))
    np.testing.assert_array_equal(f(x[::3]), want[::3])  # non-contiguous input
    strided = np.empty((x.size, 2), np.float32)[:, 0]  # non-contiguous out
    f(x, out=strided)
    np.testing.assert_array_equal(strided, want)
    m = x[:1000].reshape(10, 100).T  # Fortran order, 2-d
    np.testing.assert_array_equal(f(m), want[:1000].reshape(10, 100).T)
    s = f(np.float32(0.5))
    assert type(s) is np.float32 and s == f(np.array([0.5], np.float32))[0]
    z0 = np.array(-1.25, np.float32)
    assert f(z0).dtype == np.float32 and f(z0).ndim == 0
    v, d = vg(x)
    assert v.dtype == d.dtype == np.float32
    np.testing.assert_array_equal(v, g(x))  # bit for bit, as in float64
    np.testing.assert_array_equal(d, want)
    pair = (np.empty_like(x), np.empty_like(x))
    v2, d2 = vg(x, out=pair)
    assert v2 is pair[0] and d2 is pair[1]
    np.testing.assert_array_equal(d2, want)
    keep = x.copy()
    f(x, out=x)  # exactly in place
    np.testing.assert_array_equal(x, want)
    np.testing.assert_array_equal(f(keep[:-1], out=keep[1:]), want[:-1])  # overlapping out
