"""a-forms: expected forms written from the mathematics, checked symbolically and with mpmath."""

from __future__ import annotations

import functools
import random
import re

import mpmath
import pytest
import sympy
from sympy import Abs, Rational, exp

from symderiv import derive
from symderiv.aform import aform
from symderiv.catalogue import a, all_activations, get, z

DPS = 50


def _p(name, param):
    return get(name).param(param).symbol


# g' as a function of a, written by hand (each is a one-line exercise: sigmoid' = s(1 - s), ...).
# Piecewise ones are functions of a over the range of g off the images of the kinks.
EXPECTED = {
    "sigmoid": a * (1 - a),
    "tanh": 1 - a**2,
    "softsign": (1 - Abs(a)) ** 2,
    "log_sigmoid": 1 - exp(a),
    "softplus": 1 - exp(-_p("softplus", "beta") * a),
    "squareplus": 4 * a**2 / (4 * a**2 + _p("squareplus", "b")),
    "identity": sympy.Integer(1),
}
PIECEWISE_EXPECTED = {  # (a-value test, slope) pairs, first match wins
    "relu": lambda v, p: 0 if v == 0 else 1,
    "leaky_relu": lambda v, p: p["alpha"] if v < 0 else 1,
    "relu6": lambda v, p: 0 if v in (0, 6) else 1,
    "hardtanh": lambda v, p: 0 if v in (p["min_val"], p["max_val"]) else 1,
    "hardsigmoid": lambda v, p: 0 if v in (0, 1) else Rational(1, 6),
    "sparse_sigmoid": lambda v, p: 0 if v in (0, 1) else Rational(1, 2),
    "sparse_plus": lambda v, p: 0 if v == 0 else (sympy.sqrt(v) if v < 1 else 1),
    "softshrink": lambda v, p: 0 if v == 0 else 1,
    "hardshrink": lambda v, p: 0 if v == 0 else 1,
    "threshold": lambda v, p: 0 if v == p["value"] else 1,
    "elu": lambda v, p: v + p["alpha"] if v < 0 else 1,
    "celu": lambda v, p: v / p["alpha"] + 1 if v < 0 else 1,
    "selu": lambda v, p: v + p["alpha"] * p["scale"] if v < 0 else p["scale"],
}
NON_INJECTIVE = {"gelu", "gelu_tanh", "silu", "mish", "hardswish"}
NO_CLOSED_FORM = {"tanhshrink"}  # injective, but z - tanh(z) = a has no elementary solution


@functools.cache
def _aform(name, defaults):
    act = get(name)
    fixed = act.defaults() if defaults else {}
    return aform(act.expr.subs(fixed), fixed)


def test_every_activation_is_classified():
    names = {act.name for act in all_activations()}
    assert names == set(EXPECTED) | set(PIECEWISE_EXPECTED) | NON_INJECTIVE | NO_CLOSED_FORM


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_smooth_aforms_symbolically(name):
    form, note = _aform(name, False)
    assert note is None
    assert sympy.simplify(form - EXPECTED[name]) == 0, form


def test_lesson_forms_print_as_in_the_lesson():
    assert _aform("sigmoid", False)[0] == a * (1 - a)
    assert _aform("tanh", False)[0] == 1 - a**2


@pytest.mark.parametrize("name", sorted(PIECEWISE_EXPECTED))
def test_piecewise_aforms_on_the_range(name):
    act = get(name)
    for defaults in (True, False):
        form, note = _aform(name, defaults)
        if name == "threshold" and not defaults:
            # with value > threshold, a = value is reached with slopes 0 and 1: no a-form for all values
            assert form is None and "fails at" in note
            continue
        assert form is not None, note
        vals = act.defaults()
        g = act.expr.subs(vals)
        rng = random.Random(name)
        points = [Rational(rng.randint(-800, 800), 100) for _ in range(40)]
        kinks = {k.z for k in derive(act, defaults=True).kinks}
        pvals = {p.name: vals[p.symbol] for p in act.params}
        for x in points:
            if x in kinks:
                continue
            av = g.subs(z, x)
            got = form.subs(vals).subs(a, av)
            assert sympy.simplify(got - PIECEWISE_EXPECTED[name](av, pvals)) == 0, (x, av, got)


def _mp(expr):
    return sympy.lambdify(z, expr, "mpmath")


@pytest.mark.parametrize("act", [x for x in all_activations() if x.name not in NON_INJECTIVE | NO_CLOSED_FORM],
                         ids=lambda x: x.name)
def test_aform_matches_mpmath_derivative(act):
    """Second, independent check: g'(z) by mpmath's numerical differentiation at 50 digits."""
    form, _ = _aform(act.name, True)
    vals = act.defaults()
    g = act.expr.subs(vals)
    kinks = [float(k.z) for k in derive(act, defaults=True).kinks]
    gm, fm = _mp(g), sympy.lambdify(a, form.subs(vals), "mpmath")
    rng = random.Random(7)
    mpmath.mp.dps = DPS
    checked = 0
    while checked < 8:
        x = mpmath.mpf(round(rng.uniform(-7, 7), 4))
        if any(abs(float(x) - k) < 1e-2 for k in kinks):
            continue
        ref = mpmath.diff(gm, x)
        assert abs(fm(gm(x)) - ref) <= mpmath.mpf(10) ** -30 * (1 + abs(ref)), (x, fm(gm(x)), ref)
        checked += 1


_NUM = r"(-?[0-9.]+(?:e-?[0-9]+)?)"


@pytest.mark.parametrize("name", sorted(NON_INJECTIVE))
def test_non_injective_has_a_checkable_witness(name):
    form, note = _aform(name, True)
    assert form is None
    m = re.search(rf"g\({_NUM}\) = g\({_NUM}\) = {_NUM} but g'\({_NUM}\) = {_NUM} and g'\({_NUM}\) = {_NUM}", note)
    assert m, note
    z1, z2 = mpmath.mpf(m.group(1)), mpmath.mpf(m.group(2))
    mpmath.mp.dps = DPS
    g = _mp(get(name).expr)
    # the note rounds to 12 digits: same a to that accuracy, slopes far apart
    assert abs(g(z1) - g(z2)) < 1e-9
    assert abs(mpmath.diff(g, z1) - mpmath.diff(g, z2)) > 0.1
    assert abs(z1 - z2) > 0.1


def test_no_closed_form_is_said_honestly():
    form, note = _aform("tanhshrink", True)
    assert form is None and "closed form" in note


def test_aform_in_derive_json():
    d = derive("softplus", {"beta": 2}).as_json()
    assert sympy.sympify(d["aform"], locals={"a": sympy.Symbol("a")}) == 1 - exp(-2 * sympy.Symbol("a"))
    d = derive("silu").as_json()
    assert d["aform"] is None and "not injective" in d["aform_note"]


def test_sigmoid_aform_is_fast():
    import time

    act = get("sigmoid")
    aform(act.expr, {})  # warm the SymPy caches
    start = time.perf_counter()
    aform(act.expr, {})
    assert time.perf_counter() - start < 0.5
