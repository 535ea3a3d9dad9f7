"""Kink conventions: the value each profile takes at every kink, checked against the frameworks.

The expected values below are written from the frameworks' sources, never from our output:

* PyTorch 2.13, ``aten/src/ATen/native/cpu/Activation.cpp`` (and the CUDA kernels, same tests):
  relu: ``threshold_backward(grad, result, 0)`` (derivatives.yaml) -> ``result <= 0 ? 0 : grad``;
  threshold: ``x <= threshold ? 0 : grad``;
  leaky_relu_backward: ``x > 0 ? grad : grad * negval``;
  hardtanh_backward (relu6 = hardtanh(0, 6)): ``x <= min_val || x >= max_val ? 0 : grad``;
  hardsigmoid_backward: ``x > -3 && x < 3 ? grad / 6 : 0``;
  shrink_backward (softshrink, hardshrink): ``-lambd <= x <= lambd ? 0 : grad``;
  hardswish_backward: ``x <= -3 ? 0 : x < 3 ? grad * (x/3 + 1/2) : grad``;
  elu_backward (elu, selu, celu): ``x <= 0 ? grad * negcoef * input_scale * exp(x * input_scale)
  : grad * scale``.
* JAX 0.10.2, ``jax/_src/nn/functions.py``: relu's custom JVP ``select(x > 0, g, 0)``; relu6's
  ``select((x > 0) & (x < 6), g, 0)``; hard_sigmoid = relu6(x + 3)/6; hard_silu = x * hard_sigmoid(x);
  leaky_relu ``where(x >= 0, x, negative_slope * x)``; hard_tanh ``where(x > 1, 1, where(x < -1, -1,
  x))``; elu ``where(x > 0, x, alpha * expm1(...))``; celu ``max(x, 0) + alpha * expm1(min(x, 0) /
  alpha)``; sparse_sigmoid ``0.5 * clip(x + 1, 0, 2)``, where clip is min(max()) and ``lax.max``'s
  JVP splits a tie 1/2 : 1/2 (``_balanced_eq``); sparse_plus ``where(x <= -1, 0, where(x >= 1, x,
  (x + 1)**2 / 4))``.
"""

from __future__ import annotations

import functools
import inspect

import pytest
from sympy import Rational

from symderiv import derive
from symderiv.calculus import CONVENTIONS
from symderiv.catalogue import all_activations, get

H = Rational(1, 2)
SELU_NEG = get("selu").param("alpha").default * get("selu").param("scale").default
SELU_POS = get("selu").param("scale").default

#: (activation, kink at the default parameters) -> (left, right, torch, jax), from the sources above.
EXPECTED = {
    ("softsign", 0): (1, 1, 1, 1),
    ("relu", 0): (0, 1, 0, 0),
    ("leaky_relu", 0): (Rational(1, 100), 1, Rational(1, 100), 1),
    ("relu6", 0): (0, 1, 0, 0),
    ("relu6", 6): (1, 0, 0, 0),
    ("hardtanh", -1): (0, 1, 0, 1),
    ("hardtanh", 1): (1, 0, 0, 1),
    ("hardsigmoid", -3): (0, Rational(1, 6), 0, 0),
    ("hardsigmoid", 3): (Rational(1, 6), 0, 0, 0),
    ("sparse_sigmoid", -1): (0, H, Rational(1, 4), Rational(1, 4)),  # torch profile = JAX's
    ("sparse_sigmoid", 1): (H, 0, Rational(1, 4), Rational(1, 4)),
    ("softshrink", -H): (1, 0, 0, 0),  # jax profile = PyTorch's (JAX has no softshrink)
    ("softshrink", H): (0, 1, 0, 0),
    ("hardshrink", -H): (1, 0, 0, 0),
    ("hardshrink", H): (0, 1, 0, 0),
    ("threshold", 0): (0, 1, 0, 0),
    ("hardswish", -3): (0, -H, 0, 0),
    ("hardswish", 3): (Rational(3, 2), 1, 1, 1),
    ("sparse_plus", -1): (0, 0, 0, 0),
    ("sparse_plus", 1): (1, 1, 1, 1),
    ("elu", 0): (1, 1, 1, 1),
    ("selu", 0): (SELU_NEG, SELU_POS, SELU_NEG, SELU_NEG),
    ("celu", 0): (1, 1, 1, 1),
}

#: Non-default parameters where the one-sided derivatives differ: (activation, params, kink) -> values.
EXPECTED_WITH_PARAMS = {
    ("leaky_relu", (("alpha", "0.2"),), 0): (Rational(1, 5), 1, Rational(1, 5), 1),
    ("elu", (("alpha", "2"),), 0): (2, 1, 2, 2),
    ("hardtanh", (("min_val", "-2"), ("max_val", "3")), -2): (0, 1, 0, 1),
    ("hardtanh", (("min_val", "-2"), ("max_val", "3")), 3): (1, 0, 0, 1),
    ("threshold", (("threshold", "1"), ("value", "-2")), 1): (0, 1, 0, 0),
    ("softshrink", (("lambd", "0.75"),), Rational(3, 4)): (0, 1, 0, 0),
}


@functools.cache
def _kinks(name, params=()):
    """The kinks of ``derive(name, params)`` (cached: derive also finds g'', the a-form...)."""
    return tuple(derive(name, dict(params), defaults=True).kinks)


def _cases():
    for act in all_activations():
        for k in _kinks(act.name):
            for profile in CONVENTIONS:
                yield pytest.param(act.name, k.z, profile, id=f"{act.name}@{k.z}-{profile}")


def _expected(values, profile):
    left, right, torch_v, jax_v = values
    return {"left": left, "right": right, "mid": (Rational(left) + Rational(right)) / 2,
            "torch": torch_v, "jax": jax_v}[profile]


@pytest.mark.parametrize(("name", "point", "profile"), list(_cases()))
def test_every_kink_every_profile(name, point, profile):
    assert (name, point) in EXPECTED, f"no expected values written for the kink {name} at {point}"
    (k,) = [k for k in _kinks(name) if k.z == point]
    assert k.values[profile] == _expected(EXPECTED[(name, point)], profile)


@pytest.mark.parametrize(("name", "params", "point"), list(EXPECTED_WITH_PARAMS),
                         ids=lambda x: str(x))
def test_kinks_with_parameters(name, params, point):
    (k,) = [k for k in _kinks(name, params) if k.z == point]
    for profile in CONVENTIONS:
        assert k.values[profile] == _expected(EXPECTED_WITH_PARAMS[(name, params, point)], profile), profile


def test_lesson_claim_relu_prime_zero():
    # The lesson says "Common convention: set g'(0) = 1"; its own code, (z > 0).astype(float), gives
    # 0 at 0, and so do PyTorch (threshold_backward on result <= 0) and JAX (select(x > 0, g, 0)).
    (k,) = derive("relu").kinks
    assert k.values["torch"] == 0 and k.values["jax"] == 0
    import numpy as np

    assert (np.array([0.0]) > 0).astype(float)[0] == 0.0


def test_every_expected_kink_exists():
    known = {(a.name, k.z) for a in all_activations() for k in _kinks(a.name)}
    assert set(EXPECTED) == known


# ---- the frameworks themselves, when installed ----------------------------------------------


def _framework_fn(module, act):
    for n in (act.name, *act.aliases):
        fn = getattr(module, n, None)
        if callable(fn):
            return fn
    return None


def _kwargs(fn, act, values):
    """Framework keyword arguments for our parameter values, or None if it cannot take them."""
    try:
        sig = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        sig = {}
    kw = {}
    for p in act.params:
        v = values.get(p.name, p.default)
        name = next((n for n in (p.name, *p.aliases) if n in sig), None)
        if name is None:
            if v != p.default:
                return None
            continue
        kw[name] = float(v)
    return kw


def _settings(act):
    yield {}
    for (name, params, _), _v in EXPECTED_WITH_PARAMS.items():
        if name == act.name:
            yield {k: Rational(v) for k, v in params}


def _compare(framework, grad_at):
    checked = 0
    for act in all_activations():
        for values in _settings(act):
            kinks = _kinks(act.name, tuple((k, str(v)) for k, v in values.items()))
            if not kinks:
                continue
            got = grad_at(act, values)
            if got is None:
                continue
            for k in kinks:
                ours = float(k.values[framework])
                theirs = got(float(k.z))
                assert abs(theirs - ours) <= 1e-6 * (1 + abs(ours)), (framework, act.name, values, k.z, theirs, ours)
                checked += 1
    return checked


@pytest.mark.peers
def test_pytorch_autograd_at_every_kink():
    torch = pytest.importorskip("torch")
    F = torch.nn.functional

    def grad_at(act, values):
        fn = _framework_fn(F, act)
        kw = None if fn is None else _kwargs(fn, act, values)
        if kw is None:
            return None

        def at(x):
            t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
            fn(t, **kw).backward()
            return t.grad.item()

        return at

    assert _compare("torch", grad_at) >= 20


@pytest.mark.peers
def test_jax_autograd_at_every_kink():
    jax = pytest.importorskip("jax")

    def grad_at(act, values):
        fn = _framework_fn(jax.nn, act)
        kw = None if fn is None else _kwargs(fn, act, values)
        if kw is None:
            return None
        g = jax.grad(lambda x: fn(x, **kw))
        return lambda x: float(g(jax.numpy.float32(x)))

    assert _compare("jax", grad_at) >= 20
