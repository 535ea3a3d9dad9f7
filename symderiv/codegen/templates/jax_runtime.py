"""Shared part of the JAX drop-ins: dtypes, kink conventions and the custom_jvp rules."""

import functools
import math

import jax
import jax.numpy as jnp

from .._runtime import expm1_tanh

CONVENTIONS = ("torch", "jax", "left", "right", "mid")


def _param(activation, name, value, kind):
    """``value`` as a float, checked against the parameter's assumption (positive, real, ...)."""
    try:
        v = float(value)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{activation}: parameter {name} must be a real number, got {value!r}") from None
    ok = {"positive": v > 0, "nonnegative": v >= 0, "negative": v < 0, "real": True}[kind]
    if not (ok and math.isfinite(v)):
        raise ValueError(f"{activation}: parameter {name} must be {kind} and finite, got {value!r}")
    return v


def _convention(activation, convention):
    if convention not in CONVENTIONS:
        raise ValueError(f"{activation}: unknown convention {convention!r} (valid: {', '.join(CONVENTIONS)})")
    return convention


def _work(x):
    """``x`` as the float array the forms compute on: float64 when JAX's x64 mode is on."""
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(jnp.result_type(float))
    if jax.config.jax_enable_x64:
        return x.astype(jnp.float64)
    return x.astype(jnp.float32) if x.dtype != jnp.float32 else x


def tanh(x):
    """tanh from expm1, as the NumPy kernels' array-API path computes it under JAX
    (:func:`.._runtime.expm1_tanh`: XLA's own tanh is 6.5 ULP off near |x| = 19 in float64)."""
    return expm1_tanh(jnp, x)


def _eval(act, order, x, convention, params):
    w = _work(x)
    r = (act.g, act.grad, act.grad2)[order](w, *params)
    if order and convention != "torch":  # the forms carry PyTorch's values
        for b, values in act.kinks(*params):
            r = jnp.where(w == b, values[convention][order - 1], r)
    dtype = x.dtype if jnp.issubdtype(x.dtype, jnp.floating) else w.dtype
    return jnp.broadcast_to(jnp.asarray(r, dtype=w.dtype), w.shape).astype(dtype)


class Activation:
    """One activation's forms: ``g``, ``grad``, ``grad2`` (in z and the parameters) and ``kinks``."""

    def __init__(self, name, g, grad, grad2, kinks):
        self.name, self.g, self.grad, self.grad2, self.kinks = name, g, grad, grad2, kinks

        @functools.partial(jax.custom_jvp, nondiff_argnums=(1, 2))
        def value(x, convention, params):
            return _eval(self, 0, x, convention, params)

        @functools.partial(jax.custom_jvp, nondiff_argnums=(1, 2))
        def derivative(x, convention, params):
            return _eval(self, 1, x, convention, params)

        @value.defjvp
        def _value_jvp(convention, params, primals, tangents):
            (x,), (t,) = primals, tangents
            return value(x, convention, params), derivative(x, convention, params) * t

        @derivative.defjvp
        def _derivative_jvp(convention, params, primals, tangents):
            (x,), (t,) = primals, tangents
            return derivative(x, convention, params), _eval(self, 2, x, convention, params) * t

        self._value = value

    def apply(self, x, convention, params):
        _convention(self.name, convention)
        x = jnp.asarray(x)
        if jnp.issubdtype(x.dtype, jnp.complexfloating):
            raise TypeError(f"{self.name}: complex input")
        return self._value(x, convention, params)

    def __repr__(self):
        return f"<symderiv.kernels.jax activation {self.name}>"
