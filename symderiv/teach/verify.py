"""Checking that two expressions are equal, symbolically and numerically, for the teaching output.

Each step of :mod:`symderiv.teach.steps` and each claim of
:mod:`symderiv.teach.table` goes through :func:`check`: a symbolic proof by
the project's one engine, ``symderiv.prove.prove_identity`` (off the breakpoints of
either side: a step is claimed between the kinks), and, independently, an evaluation at 50 significant digits
with mpmath, where an unevaluated ``Derivative`` is computed by mpmath's
numerical differentiation (never by SymPy) and a ``Limit`` by evaluation just
beside the point. Equality is claimed off the breakpoints only.

>>> from sympy import Derivative, exp
>>> from symderiv.catalogue import z
>>> check(Derivative(exp(-z), z), -exp(-z)).status
'proved'
>>> check(Derivative(exp(-z), z), exp(-z))
Traceback (most recent call last):
...
symderiv.teach.verify.CheckFailed: ...
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import mpmath
import sympy
from sympy import Derivative, Expr, Limit, Piecewise, Subs, Symbol

from .. import calculus
from ..catalogue import z
from ..errors import SymderivError

__all__ = ["Check", "CheckFailed", "check", "evaluate", "sample_points"]

DIGITS = 50
#: Relative agreement demanded of the two sides at every sample point.
TOLERANCE = mpmath.mpf(10) ** -30
_SPECIAL = (Derivative, Subs, Limit)


class CheckFailed(AssertionError):
    """A claimed equality is false at a sample point (a bug, never a user error)."""


@dataclass(frozen=True)
class Check:
    """How an equality was established.

    Attributes:
        status: ``"proved"`` (symbolic and numeric), ``"numeric"`` (the
            symbolic proof was undecided within its budget; the numeric check passed), or
            ``"symbolic"`` (proved, but the 50-digit numeric check could not confirm it at
            these values: extreme parameters defeat it).
        points: how many sample points the numeric check used.
    """

    status: str
    points: int


def sample_points(breakpoints: list[float] | tuple[float, ...] = ()) -> list[mpmath.mpf]:
    """Points off the breakpoints (at least 0.05 away), spread over [-4.3, 4.1]."""
    base = ["-4.3", "-2.7", "-1.3", "-0.55", "-0.15", "0.35", "0.8", "1.55", "2.9", "4.1"]
    out = []
    for text in base:
        t = mpmath.mpf(text)
        while any(abs(t - b) < 0.05 for b in breakpoints):
            t += mpmath.mpf("0.0731")
        out.append(t)
    return out


def _to_mp(value: Expr) -> mpmath.mpf:
    """A real mpmath number; ``nan`` off the real domain (a complex value) or where undefined."""
    if value.is_real is False or value.has(sympy.I, sympy.zoo, sympy.nan):
        return mpmath.nan
    try:
        return mpmath.mpmathify(value)
    except (TypeError, ValueError):
        return mpmath.mpf(float(value))


def evaluate(expr: Expr, env: Mapping[Symbol, object]) -> mpmath.mpf:
    """``expr`` at ``env`` (numbers for z and the parameters), to 50 digits.

    ``Derivative(f, v)`` is mpmath's numerical derivative of ``f`` in ``v``;
    ``Subs`` substitutes the evaluated point; ``Limit(f, z, b, dir)`` evaluates
    ``f`` at ``b -+ 1e-45``.

    >>> from sympy import Derivative, sin
    >>> from symderiv.catalogue import z
    >>> float(evaluate(Derivative(sin(z), z), {z: 0}))
    1.0
    """
    expr = sympy.sympify(expr)
    with mpmath.workdps(DIGITS + 15 + _cancelling_digits(expr, env)):
        env = {k: mpmath.mpmathify(v) if not isinstance(v, Expr) else _to_mp(sympy.sympify(v))
               for k, v in env.items()}
        return _eval(expr, env)


def _cancelling_digits(expr: Expr, env: Mapping[Symbol, object]) -> int:
    """Digits a sum of a huge constant and z can cancel (``Abs(z - 10**999)``): the decimal
    size of the largest number in the expression or its values (at most 1100; the parser
    bounds constants by 10**1000)."""
    sizes = [0]
    for n in expr.atoms(sympy.Rational):
        sizes.append(max(len(str(abs(n.p))), len(str(n.q))))
    for v in env.values():
        if isinstance(v, sympy.Rational):
            sizes.append(max(len(str(abs(v.p))), len(str(v.q))))
    for f in expr.atoms(sympy.exp):
        if f.args[0].is_number:
            try:
                sizes.append(int(abs(float(f.args[0])) / 2.3) + 1)
            except (TypeError, ValueError, OverflowError):
                pass
    extra = max(sizes)
    return 0 if extra < 10 else min(extra, 1100)


def _eval(e: Expr, env: dict) -> mpmath.mpf:
    if isinstance(e, Derivative):
        # one variable at a time, outermost first
        *rest, (var, count) = e.variable_count
        inner = Derivative(e.expr, *rest) if rest else e.expr
        return mpmath.diff(lambda s: _eval(inner, {**env, var: s}), env[var], count)
    if isinstance(e, Subs):
        point = dict(env)
        for var, arg in zip(e.variables, e.point, strict=True):
            point[var] = _eval(arg, env)
        return _eval(e.expr, point)
    if isinstance(e, Limit):
        f, var, b, direction = e.args
        side = -1 if str(direction) == "-" else 1
        bb = _eval(b, env)
        return _eval(f, {**env, var: bb + side * mpmath.mpf(10) ** -(DIGITS - 5)})
    try:  # SymPy refusing a value (Max of a complex number, a comparison with zoo): not real here
        if not e.has(*_SPECIAL, Piecewise):
            subs = {k: _float(v) for k, v in env.items() if k in e.free_symbols}
            return _to_mp(e.xreplace(subs).evalf(mpmath.mp.dps + 5))
        if isinstance(e, Piecewise):  # its conditions decided here: SymPy's raise on a non-real one
            subs = {k: _float(v) for k, v in env.items()}
            for value, cond in e.args:
                holds = _holds(cond, subs)
                if holds is None:
                    return mpmath.nan
                if holds:
                    return _eval(value, env)
            return mpmath.nan
        args = [_float(_eval(arg, env)) if isinstance(arg, Expr) else arg for arg in e.args]
        return _to_mp(e.func(*args).evalf(mpmath.mp.dps + 5))
    except (TypeError, ValueError):
        return mpmath.nan


def _holds(cond, subs: dict) -> bool | None:
    """Whether a Piecewise condition holds at ``subs``, as Python's ``and`` and ``or`` decide it:
    a comparison that cannot be made (of a non-real number: ``log(z) >= 0`` at z < 0) is None,
    which decides nothing unless it must (``(z >= 0) | (log(-z) >= 0)`` holds at z = 1, as the
    Piecewise that ``Abs(log(Abs(z)))`` is rewritten into needs)."""
    if isinstance(cond, (sympy.And, sympy.Or)):
        stop = isinstance(cond, sympy.Or)  # the value that decides: True for an Or, False for an And
        seen = [_holds(arg, subs) for arg in cond.args]
        if stop in seen:
            return stop
        return None if None in seen else not stop
    if isinstance(cond, sympy.Not):
        inner = _holds(cond.args[0], subs)
        return None if inner is None else not inner
    try:
        return bool(cond.xreplace(subs))
    except TypeError:  # "Invalid comparison of non-real ...", or an undecidable relational
        return None


def _float(v) -> Expr:
    """A SymPy number carrying all of mpmath's current working precision."""
    return sympy.Float._new(mpmath.mpf(v)._mpf_, mpmath.mp.prec)


def _numeric(lhs: Expr, rhs: Expr, values: Mapping[Symbol, Expr], points: list) -> int:
    used = 0
    for t in points:
        env = {**values, z: t}
        x, y = evaluate(lhs, env), evaluate(rhs, env)
        if not (mpmath.isfinite(x) and mpmath.isfinite(y)):
            continue  # off the real domain (log, sqrt of a negative z) or a pole
        if not abs(x - y) <= TOLERANCE * max(1, abs(x), abs(y)):
            raise CheckFailed(
                f"{lhs} = {rhs} fails at z = {mpmath.nstr(t, 8)}: {mpmath.nstr(x, 20)} vs {mpmath.nstr(y, 20)}"
            )
        used += 1
    if used < 3:
        raise CheckFailed(f"{lhs} = {rhs}: fewer than 3 sample points where both sides are real and finite")
    return used


def _one_sided(lim: Limit, values: Mapping[Symbol, Expr]) -> Expr:
    """A one-sided limit in z of a piecewise function: the limit of the piece on that side."""
    f, var, b, direction = lim.args
    f = calculus.to_piecewise(_doit(f, values))
    if var != z or not f.has(Piecewise):
        return sympy.limit(f, var, b, str(direction))
    for p in calculus.pieces(f, values):
        edge = p.hi if str(direction) == "-" else p.lo
        if sympy.simplify(edge - b) == 0:
            return sympy.limit(p.expr, z, b, str(direction))
    # b is inside a piece: the function is one formula around it
    inside = [p for p in calculus.pieces(f, values)
              if (p.lo == -sympy.oo or (b - p.lo).subs(values) > 0) and (p.hi == sympy.oo or (p.hi - b).subs(values) > 0)]
    return sympy.limit(inside[0].expr, z, b, str(direction))


def _doit(e: Expr, values: Mapping[Symbol, Expr]) -> Expr:
    """``e.doit()``, with one-sided limits of piecewise functions taken piece by piece."""
    if e.has(Limit):
        e = e.replace(lambda x: isinstance(x, Limit), lambda x: _one_sided(x, values))
    return e.doit()


def _symbolic(lhs: Expr, rhs: Expr, values: Mapping[Symbol, Expr], timeout: float,
              excluded: tuple = ()) -> bool | None:
    """True when :func:`symderiv.prove.prove_identity` proves the two sides equal off their
    breakpoints, False when it refutes them, None when it is undecided. There is no other
    prover: an undecided step is reported as checked numerically, never as proved."""
    from ..prove import prove_identity

    try:
        verdict = prove_identity(_doit(sympy.sympify(lhs), values), _doit(sympy.sympify(rhs), values),
                                 timeout=timeout, order_at=dict(values) or None,
                                 exclude_own_breakpoints=True, breakpoints=list(excluded) or None)
    except SymderivError:
        return None
    return {"proved": True, "refuted": False}.get(verdict.status)


def check(
    lhs: Expr,
    rhs: Expr,
    *,
    values: Mapping[Symbol, Expr] | None = None,
    breakpoints: list[float] | tuple[float, ...] = (),
    timeout: float = 10.0,
    excluded: tuple = (),
) -> Check:
    """Establish ``lhs = rhs`` for real z off the breakpoints, or raise :class:`CheckFailed`.

    Args:
        lhs, rhs: expressions in z and the parameters; may hold ``Derivative``,
            ``Subs`` and ``Limit``.
        values: numbers for the parameters in the numeric check (symbolic
            parameters are otherwise proved for all values where the engine can).
        breakpoints: where the numeric sample points must not fall.
        excluded: the same points exactly, excluded from the symbolic proof too (a step
            is claimed between the breakpoints of the function derived, poles included).
        timeout: seconds for the symbolic attempt.
    """
    values = dict(values or {})
    free = (sympy.sympify(lhs).free_symbols | sympy.sympify(rhs).free_symbols) - {z}
    nums = {s: values.get(s, sympy.Rational(1, 2)) for s in free}
    try:
        used = _numeric(lhs, rhs, nums, sample_points(breakpoints))
    except CheckFailed:
        # extreme values (a parameter of 10**300, a limit on a scale of 10**-300) can defeat
        # 50 digits; a symbolic proof still settles the step, and says so (status "symbolic")
        if _symbolic(lhs, rhs, nums, timeout, excluded) is True:
            return Check("symbolic", 0)
        raise
    proved = _symbolic(lhs, rhs, nums, timeout, excluded)
    if proved is False:
        raise CheckFailed(f"{lhs} = {rhs} is refuted symbolically")
    return Check("proved" if proved else "numeric", used)
