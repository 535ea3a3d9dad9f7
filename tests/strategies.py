"""Hypothesis strategies shared by the tests (seeds are fixed by the profile in conftest.py)."""

from __future__ import annotations

import random

import mpmath
import sympy
from hypothesis import strategies as st
from sympy import Abs, Max, Min, Rational, exp, sign

from symderiv.catalogue import a, get, z


def _p(name: str, param: str) -> sympy.Symbol:
    return get(name).param(param).symbol


#: True claims g'(z) = CLAIM (with a = g(z)), each a textbook one-liner; the proof engine proves them.
TRUE_CLAIMS: tuple[tuple[str, sympy.Expr], ...] = (
    ("sigmoid", a * (1 - a)),
    ("tanh", 1 - a**2),
    ("softsign", (1 - Abs(a)) ** 2),
    ("softplus", 1 - exp(-_p("softplus", "beta") * a)),
    ("log_sigmoid", 1 - exp(a)),
    ("relu", Max(0, sign(z))),
    ("leaky_relu", Max(0, sign(z)) + _p("leaky_relu", "alpha") * Max(0, -sign(z))),
    ("elu", Max(0, sign(z)) - Min(0, sign(z)) * (a + _p("elu", "alpha"))),
    ("squareplus", 4 * a**2 / (4 * a**2 + _p("squareplus", "b"))),
)


def _numbers(expr: sympy.Expr) -> list[sympy.Expr]:
    return sorted({n for n in expr.atoms(sympy.Number)}, key=str)


def _terms(expr: sympy.Expr) -> list[sympy.Expr]:
    """Sub-expressions that are terms of a sum (their sign can be swapped)."""
    return sorted({t for add in expr.atoms(sympy.Add) for t in add.args}, key=str)


@st.composite
def perturbed_claims(draw):
    """``(name, true_claim, wrong_claim, kind)``: a true claim changed so it is false somewhere.

    Kinds: ``tiny`` (plus 10**-k, k up to 70: below the numeric search's reach for large k),
    ``coefficient`` (a number in the claim changed), ``sign`` (a term's sign swapped),
    ``piece`` (the claim kept on one side of a random point only), ``param`` (true only for
    one parameter value after the change).
    """
    name, claim = draw(st.sampled_from(TRUE_CLAIMS))
    kinds = ["tiny", "coefficient", "sign", "piece"]
    params = sorted(claim.free_symbols - {a, z}, key=lambda s: s.name)
    if params:
        kinds.append("param")
    kind = draw(st.sampled_from(kinds))
    if kind == "tiny":
        k = draw(st.integers(min_value=1, max_value=70))
        s = draw(st.sampled_from([1, -1]))
        return name, claim, claim + s * Rational(1, 10**k), kind
    if kind == "coefficient" and _numbers(claim):
        n = draw(st.sampled_from(_numbers(claim)))
        delta = draw(st.sampled_from([Rational(1, 3), Rational(-1, 2), Rational(1, 1000), Rational(2)]))
        return name, claim, claim.xreplace({n: n + delta}), kind
    if kind == "sign" and _terms(claim):
        t = draw(st.sampled_from(_terms(claim)))
        return name, claim, claim.xreplace({t: -t}), kind
    if kind == "param":
        p = draw(st.sampled_from(params))
        new = draw(st.sampled_from([p + 1, 2 * p, p**2, p / 3]))
        return name, claim, claim.xreplace({p: new}), kind
    cut = Rational(draw(st.integers(min_value=-30, max_value=30)), 10)
    bump = draw(st.sampled_from([Rational(1, 7), Rational(-2), Rational(1, 10**6)]))
    wrong = sympy.Piecewise((claim, z > cut), (claim + bump, True))
    return name, claim, wrong, "piece"


def differs(name: str, claim: sympy.Expr, wrong: sympy.Expr, seed: int = 0) -> bool:
    """Whether ``wrong`` differs from ``claim`` at some z (with a = g(z)) by > 1e-40, at 60 digits.

    Used to discard a perturbation that happens to leave the claim true (e.g. a changed number
    inside a Max that never wins).
    """
    act = get(name)
    values = {p.symbol: p.default for p in act.params}
    g = act.expr.subs(values)
    d = (claim - wrong).subs(a, g).subs(values)
    for s in d.free_symbols - {z}:
        d = d.subs(s, Rational(3, 2))
    f = sympy.lambdify(z, d, "mpmath")
    rng = random.Random(seed)
    with mpmath.workdps(60):
        for x in [*range(-6, 7), *(rng.uniform(-8, 8) for _ in range(20))]:
            try:
                v = f(mpmath.mpf(x) + mpmath.mpf(1) / 7)
            except (ZeroDivisionError, ValueError, TypeError):
                continue
            if v is not None and mpmath.isfinite(v) and abs(v) > mpmath.mpf(10) ** -40:
                return True
    return False
