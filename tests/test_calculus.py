"""Derivatives checked two ways: symbolically here, numerically against mpmath at 50 digits."""

from __future__ import annotations

import random

import mpmath
import pytest
import sympy
from sympy import Abs, Max, Piecewise, Rational, exp, tanh

from symderiv import derive
from symderiv.calculus import breakpoints, derivative, kinks, to_piecewise
from symderiv.catalogue import all_activations, get, z

DPS = 50


def _points(bps: list[float], rng: random.Random, n: int = 6) -> list[mpmath.mpf]:
    out: list[mpmath.mpf] = []
    while len(out) < n:
        x = rng.choice([rng.uniform(-4, 4), rng.uniform(-12, 12), rng.gauss(0, 1)])
        if all(abs(x - b) > 1e-2 for b in bps):
            out.append(mpmath.mpf(repr(round(x, 6))))
    return out


def _random_values(act, rng):
    """Random admissible parameter values (exact rationals) other than the defaults."""
    vals = {}
    for p in act.params:
        if p.symbol.is_positive:
            vals[p.symbol] = Rational(rng.randint(5, 40), 10)
        else:
            vals[p.symbol] = p.default + Rational(rng.randint(-5, 5), 10)
    if act.name == "hardtanh":  # min_val < max_val
        vals[act.param("min_val").symbol] = Rational(-rng.randint(5, 30), 10)
        vals[act.param("max_val").symbol] = Rational(rng.randint(5, 30), 10)
    return vals


def _check(expr_g, g1, g2, values, seed):
    mpmath.mp.dps = DPS
    g = sympy.lambdify(z, expr_g.subs(values), "mpmath")
    d1 = sympy.lambdify(z, g1.subs(values), "mpmath")
    d2 = sympy.lambdify(z, g2.subs(values), "mpmath")
    bps = [float(b.subs(values)) for b in breakpoints(expr_g, values)]
    for x in _points(bps, random.Random(seed)):
        ref1 = mpmath.diff(g, x)
        ref2 = mpmath.diff(g, x, 2)
        tol = mpmath.mpf(10) ** (-30)
        assert abs(d1(x) - ref1) <= tol * (1 + abs(ref1)), (x, d1(x), ref1)
        assert abs(d2(x) - ref2) <= tol * (1 + abs(ref2)), (x, d2(x), ref2)


@pytest.mark.parametrize("act", all_activations(), ids=lambda a: a.name)
def test_derivatives_match_mpmath_with_defaults(act):
    d = derive(act, defaults=True)
    _check(d.definition, d.derivative, d.second_derivative, {}, seed=hash(act.name) % 1000)


@pytest.mark.parametrize("act", [a for a in all_activations() if a.params], ids=lambda a: a.name)
def test_derivatives_match_mpmath_with_symbolic_parameters(act):
    d = derive(act)  # parameters stay symbolic
    assert all(v is None for v in d.params.values())
    assert {p.symbol for p in act.params} & (d.derivative.free_symbols | d.second_derivative.free_symbols) \
        or act.name in {"hardshrink", "softshrink", "threshold"}
    rng = random.Random(7)
    for _ in range(2):
        values = _random_values(act, rng)
        _check(d.definition, d.derivative, d.second_derivative, values, seed=rng.randint(0, 99))


def test_lesson_forms():
    assert derive("sigmoid").derivative == exp(-z) / (1 + exp(-z)) ** 2
    assert derive("tanh").derivative == 1 - tanh(z) ** 2
    assert derive("relu").derivative == Piecewise((0, z < 0), (1, z > 0))
    alpha = get("leaky_relu").param("alpha").symbol
    assert derive("leaky_relu").derivative == Piecewise((alpha, z < 0), (1, z > 0))


def test_no_value_at_a_kink_by_accident():
    # SymPy's own diff(Max(0, z)) is Heaviside(z), 1/2 at 0: nobody's convention.
    assert sympy.diff(Max(0, z), z).subs(z, 0) == Rational(1, 2)
    for act in all_activations():
        d = derive(act, defaults=True)
        for expr in (d.derivative, d.second_derivative):
            assert not expr.has(sympy.Heaviside, sympy.DiracDelta, sympy.sign), act.name
        for k in d.kinks:
            if not k.differentiable:  # g' has no value at a true kink: nan, never 1/2
                assert d.derivative.subs(z, k.z) is sympy.nan, (act.name, k.z)


def test_kinks_one_sided_and_subdifferential():
    (k,) = kinks(Max(0, z), {"torch": {0: "left"}, "jax": {0: "left"}})
    assert (k.z, k.left, k.right, k.subdifferential) == (0, 0, 1, (0, 1))
    assert k.values == {"torch": 0, "jax": 0, "left": 0, "right": 1, "mid": Rational(1, 2)}
    assert k.differentiable is False
    (k,) = kinks(z / (1 + Abs(z)))
    assert k.differentiable is True and k.left == k.right == 1


def test_kink_values_follow_conventions_with_parameters():
    d = derive("leaky_relu", {"alpha": "0.2"}, convention="jax")
    (k,) = d.kinks
    assert k.values["torch"] == Rational(1, 5) and k.values["jax"] == 1
    assert d.as_json()["kinks"][0]["value"] == "1"
    h = derive("hardtanh", {"min_val": -2, "max_val": 3})
    assert [k.z for k in h.kinks] == [-2, 3]
    assert [k.values["torch"] for k in h.kinks] == [0, 0]
    assert [k.values["jax"] for k in h.kinks] == [1, 1]


def test_discontinuous_activation_has_no_subdifferential():
    (k1, _k2) = derive("hardshrink", defaults=True).kinks
    assert not k1.continuous and k1.subdifferential is None and k1.differentiable is False


def test_to_piecewise_and_breakpoints():
    assert to_piecewise(Abs(z)).has(Piecewise)
    assert breakpoints(sympy.Min(Max(0, z), 6)) == [0, 6]
    assert derivative(sympy.Min(Max(0, z), 6)).subs(z, 3) == 1


def test_lesson_integer_leaky_relu_bug_cannot_happen():
    # The lesson's leaky_relu_derivative on an integer array used np.ones_like(z) (int) and
    # truncated alpha = 0.01 to 0. Here alpha is exact and z's type is irrelevant.
    d = derive("leaky_relu", {"alpha": 0.01})
    assert d.derivative.subs(z, -2) == Rational(1, 100)
    assert d.derivative.subs(z, sympy.Integer(-2)) != 0
    d2 = derive("leaky_relu", {"alpha": "1/100"})
    assert d2.derivative == d.derivative


def test_lesson_leaky_relu_forms_disagree_at_zero_and_we_state_ours():
    # lesson form 1: ones, then dz[z < 0] = alpha -> 1 at 0; form 2: where(z > 0, 1, alpha) -> alpha
    import numpy as np
    z0 = np.array([0.0])
    form1 = np.ones_like(z0)
    form1[z0 < 0] = 0.01
    form2 = np.where(z0 > 0, 1, 0.01)
    assert form1[0] != form2[0]
    (k,) = derive("leaky_relu", {"alpha": "0.01"}).kinks
    assert k.values["torch"] == Rational(1, 100) and k.values["jax"] == 1
    assert derive("leaky_relu", {"alpha": "0.01"}).derivative.subs(z, 0) is sympy.nan
