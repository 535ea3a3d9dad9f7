"""Derivatives piece by piece, breakpoints, and the values conventions take at kinks.

The policy, in one place:

* ``Max``/``Min``/``Abs``/``sign``/``Heaviside`` are rewritten into ``Piecewise``
  before anything is differentiated (:func:`to_piecewise`).
* The real line is cut at the *breakpoints* (every point where a condition of
  the definition changes truth value, :func:`breakpoints`) into open
  intervals; on each, g is one analytic formula (:func:`pieces`), and g', g''
  are that formula's derivatives. So a derivative is valid for every real z
  off the breakpoints and says nothing at them: the result is a ``Piecewise``
  over *open* intervals, which SymPy evaluates to ``nan`` at a breakpoint.
  Adjacent pieces are merged where the lower derivatives are continuous and
  the formulas agree, so a point that is not a kink of g^(k) disappears.
* At a breakpoint, :func:`kinks` gives the one-sided derivatives, the Clarke
  subdifferential and the value of the chosen convention. No value at a kink
  ever comes from SymPy's ``Heaviside(0) = 1/2`` or ``sign(0) = 0``:
  ``Heaviside`` and ``DiracDelta`` never leave this module.
* Simplification (:func:`tidy`) keeps the most readable of a few candidates,
  preferring the raw derivative (the textbook form, e.g.
  ``exp(-z)/(1 + exp(-z))**2`` for the sigmoid) on ties.

Piece structure with symbolic parameters is read at the catalogue's default
values (or at 1/2 for a free symbol): a parameter may move a breakpoint but is
assumed not to reorder the breakpoints.

>>> from symderiv.catalogue import get, z
>>> derivative(get("relu").expr)
Piecewise((0, z < 0), (1, z > 0))
>>> derivative(get("sigmoid").expr)
exp(-z)/(1 + exp(-z))**2
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass

import sympy
from sympy import (
    Abs,
    And,
    Expr,
    Heaviside,
    Max,
    Min,
    Piecewise,
    Rational,
    S,
    Symbol,
    oo,
    piecewise_fold,
    sign,
)
from sympy.core.relational import Relational

from .catalogue import z
from .errors import SymderivError

__all__ = [
    "CONVENTIONS",
    "Kink",
    "Piece",
    "breakpoints",
    "choose_branches",
    "derivative",
    "kinks",
    "one_sided_limit",
    "pieces",
    "sample_values",
    "tidy",
    "to_piecewise",
]

#: Kink-value profiles: two frameworks and three generic rules.
CONVENTIONS = ("torch", "jax", "left", "right", "mid")

_SIMPLIFY_MAX_OPS = 30


def to_piecewise(expr: Expr) -> Expr:
    """Rewrite ``Max``, ``Min``, ``Abs``, ``sign`` and ``Heaviside`` of real arguments as ``Piecewise``.

    >>> to_piecewise(Max(0, z))
    Piecewise((0, z <= 0), (z, True))
    """
    kinds = (Max, Min, Abs, sign, Heaviside)
    out = expr
    # until none is left: rewriting can leave one behind (Abs(log(Abs(z))) becomes a Piecewise
    # of Abs(log(z)) and Abs(log(-z))), and a kink missed is a breakpoint missed
    for _ in range(16):
        if not out.has(*kinds):
            break
        out = piecewise_fold(out.replace(lambda e: isinstance(e, kinds), _by_cases))
    return out


def _by_cases(e: Expr) -> Expr:
    """``e.rewrite(Piecewise)``; also where SymPy declines because it cannot prove the
    argument real (``Abs(log(z))``): on the real line it is real wherever g is defined."""
    out = e.rewrite(Piecewise)
    if isinstance(out, (Abs, sign)) and out.args:
        x = out.args[0]
        if isinstance(out, Abs):
            return Piecewise((x, x >= 0), (-x, True))
        return Piecewise((1, x > 0), (-1, x < 0), (0, True))
    return out


def sample_values(expr: Expr, values: Mapping[Symbol, Expr] | None = None) -> dict[Symbol, Expr]:
    """Numbers for every free symbol but z: ``values`` where given, else 1/2."""
    out = dict(values or {})
    for s in expr.free_symbols - {z}:
        out.setdefault(s, Rational(1, 2))
    return {k: v for k, v in out.items() if k in expr.free_symbols or k in (values or {})}


def _conditions(expr: Expr) -> list[Relational]:
    rels: list[Relational] = []
    for pw in expr.atoms(Piecewise):
        for _, cond in pw.args:
            rels.extend(cond.atoms(Relational))
    return rels


def breakpoints(expr: Expr, values: Mapping[Symbol, Expr] | None = None) -> list[Expr]:
    """The sorted points where the formula of ``expr`` changes (after :func:`to_piecewise`).

    ``values`` gives numbers for the parameters, used only to order the points.

    >>> breakpoints(Min(Max(0, z), 6))
    [0, 6]
    """
    expr = to_piecewise(expr)
    found: list[Expr] = []
    for rel in _conditions(expr):
        if z not in rel.free_symbols:
            continue
        diff = rel.lhs - rel.rhs
        # a condition changes truth where its two sides meet, and also where their difference
        # passes through a pole (z > 1/z flips at 0): the real zeros of its denominator
        parts = [diff]
        den = sympy.denom(sympy.together(diff))
        if den.has(z):
            parts.append(den)
        for part in parts:
            roots = sympy.solveset(part, z, S.Reals)
            if roots is S.EmptySet:  # the sides never meet (z > -1/z): only the pole, if any
                continue
            if not isinstance(roots, sympy.FiniteSet):
                raise SymderivError(f"cannot locate the breakpoints of the condition {rel}")
            for r in roots:
                if not any(sympy.simplify(r - f) == 0 for f in found):
                    found.append(r)
    nums = sample_values(expr, values)
    try:
        # 60 digits, not float: a breakpoint may be 1e300 or two may differ by 1e-20
        return sorted(found, key=lambda r: sympy.Float(r.subs(nums).evalf(60), 60))
    except TypeError:
        raise SymderivError("cannot order the breakpoints (a parameter without a value?)") from None


@dataclass(frozen=True)
class Piece:
    """g restricted to the open interval (lo, hi): one analytic formula."""

    lo: Expr
    hi: Expr
    expr: Expr

    def condition(self) -> sympy.Basic:
        """``lo < z < hi`` as a SymPy condition."""
        parts = []
        if self.lo != -oo:
            parts.append(z > self.lo)
        if self.hi != oo:
            parts.append(z < self.hi)
        return And(*parts) if parts else S.true


def choose_branches(expr: Expr, point: Mapping[Symbol, Expr]) -> Expr:
    """Replace every Piecewise by the branch active at ``point`` (innermost first)."""

    def pick(pw: Piecewise) -> Expr:
        for value, cond in pw.args:
            truth = cond.subs(point)
            if truth not in (S.true, S.false):
                truth = sympy.simplify(truth)
            if truth == S.true:
                return value
            if truth != S.false:
                raise SymderivError(f"cannot decide the condition {cond} near z = {point[z]}")
        raise SymderivError(f"no branch of {pw} applies near z = {point[z]}")

    return expr.replace(lambda e: isinstance(e, Piecewise), pick)


def _sample(lo: Expr, hi: Expr) -> Expr:
    """A number strictly inside (lo, hi), proved so exactly (the ends may be 1e300 apart
    from 0, or 1e-20 apart from each other: floats would pick a point on the wrong side).

    A short rational when one is found, else the exact midpoint (or ``hi - 1``, ``lo + 1``).
    """
    if lo == -oo and hi == oo:
        return Rational(1, 3)
    scale = max(_digits_before_point(x) for x in (lo, hi) if x not in (-oo, oo))
    candidates = []
    for extra in (30, 300):
        digits = scale + extra
        if lo == -oo:
            candidates.append(Rational(sympy.floor(hi.evalf(digits))) - 1)
        elif hi == oo:
            candidates.append(Rational(sympy.ceiling(lo.evalf(digits))) + 1)
        else:
            candidates.append((Rational(str(lo.evalf(digits))) + Rational(str(hi.evalf(digits)))) / 2)
    candidates.append(hi - 1 if lo == -oo else lo + 1 if hi == oo else (lo + hi) / 2)
    for t in candidates:
        if (lo == -oo or (t - lo).is_positive) and (hi == oo or (hi - t).is_positive):
            return t
    raise SymderivError(f"cannot separate the breakpoints {lo} and {hi}")


def _digits_before_point(x: Expr) -> int:
    approx = x.evalf(15)
    return 0 if approx == 0 else max(0, int(sympy.floor(sympy.log(abs(approx), 10))) + 1)


def pieces(expr: Expr, values: Mapping[Symbol, Expr] | None = None) -> list[Piece]:
    """Cut the real line at the breakpoints; one :class:`Piece` per open interval.

    >>> [p.expr for p in pieces(Max(0, z))]
    [0, z]
    """
    expr = to_piecewise(expr)
    points = breakpoints(expr, values)
    nums = sample_values(expr, values)
    located = [p.subs(nums) for p in points]
    edges = [-oo, *points, oo]
    out = []
    for i in range(len(edges) - 1):
        lo, hi = located[i - 1] if i else -oo, located[i] if i < len(located) else oo
        out.append(Piece(edges[i], edges[i + 1], _formula_on(expr, nums, lo, hi)))
    return out


def _formula_on(expr: Expr, nums: Mapping[Symbol, Expr], lo: Expr, hi: Expr) -> Expr:
    """The formula of ``expr`` on (lo, hi), read at a point inside where its conditions can be
    decided (a condition may be undefined at one point: ``log(z) >= 0`` at z = 0)."""
    first = _sample(lo, hi)
    tries = [first]
    if lo == -oo and hi == oo:
        tries += [Rational(-2, 3), Rational(7, 5)]
    elif lo == -oo:
        tries += [first - 1, first - 7]
    elif hi == oo:
        tries += [first + 1, first + 7]
    else:
        tries += [lo + (hi - lo) * f for f in (Rational(1, 3), Rational(2, 3), Rational(1, 7), Rational(6, 7))]
    for t in tries:
        try:
            formula = choose_branches(expr, {**nums, z: t})
        except (TypeError, ValueError):  # SymPy: "Invalid comparison of non-real zoo"
            continue
        if formula.has(sympy.zoo, sympy.nan):  # 1/(1 + sign(z)) for z < 0
            raise SymderivError(f"{expr} is undefined between {lo} and {hi} (it is {formula} there)")
        return formula
    raise SymderivError(f"cannot decide the conditions of {expr} between {lo} and {hi} "
                        "(undefined or not real there?)")


def tidy(expr: Expr) -> Expr:
    """The most readable of a few equal forms of ``expr`` (raw form wins ties).

    ``simplify`` is tried only on small expressions: on large ones it can run
    for minutes and rarely helps.
    """
    heads = _heads(expr)
    candidates = [expr, sympy.factor_terms(expr)]
    if sympy.count_ops(expr) <= _SIMPLIFY_MAX_OPS:
        candidates += [sympy.simplify(expr), sympy.cancel(expr)]
    # a form that brings in new functions (cosh for an exp) reads worse than the textbook's
    candidates = [c for c in candidates if _heads(c) <= heads]
    return min(candidates, key=lambda e: (sympy.count_ops(e), len(str(e))))


def _heads(expr: Expr) -> set[type]:
    return {type(f) for f in expr.atoms(sympy.Function)}


def _same(x: Expr, y: Expr) -> bool:
    diff = x - y
    if diff == 0:
        return True
    return sympy.simplify(diff) == 0


def one_sided_limit(expr: Expr, point: Expr, side: str) -> Expr:
    """The limit of ``expr`` as z tends to ``point`` from ``side`` (``"-"`` or ``"+"``): the value there
    when it is finite, else SymPy's one-sided limit; simplified."""
    value = expr.subs(z, point)
    if value.has(sympy.nan, sympy.zoo, oo, -oo) or not value.is_finite:
        value = sympy.limit(expr, z, point, dir=side)
    return sympy.simplify(value)


def _derivative_pieces(expr: Expr, order: int, values) -> tuple[list[Piece], list[Expr]]:
    ps = pieces(expr, values)
    ds = [Piece(p.lo, p.hi, tidy(sympy.diff(p.expr, z, order))) for p in ps]
    return ps, ds


def derivative(expr: Expr, order: int = 1, values: Mapping[Symbol, Expr] | None = None) -> Expr:
    """g^(order)(z) for every real z off the breakpoints, tidied.

    A smooth definition gives a closed form; a piecewise one gives a
    ``Piecewise`` over open intervals (``nan`` at the breakpoints), with
    pieces merged across points where g^(order) is in fact continuous.

    >>> derivative(z / (1 + Abs(z)))
    (Abs(z) + 1)**(-2)
    """
    expr = to_piecewise(expr)
    if not expr.has(Piecewise):
        return tidy(sympy.diff(expr, z, order))
    ps = pieces(expr, values)
    ds = [tidy(sympy.diff(p.expr, z, order)) for p in ps]
    # merge across breakpoints where g, ..., g^(order-1) are continuous and the formulas agree
    merged: list[Piece] = [Piece(ps[0].lo, ps[0].hi, ds[0])]
    rough: set[Expr] = set()  # breakpoints where g, ..., g^(order-1) are not all continuous
    for p, d in zip(ps[1:], ds[1:], strict=True):
        prev = merged[-1]
        b = p.lo
        smooth = all(
            _same(one_sided_limit(sympy.diff(left.expr, z, k), b, "-"), one_sided_limit(sympy.diff(p.expr, z, k), b, "+"))
            for k in range(order)
            for left in [next(q for q in ps if q.hi == b)]
        )
        if not smooth:
            rough.add(b)
        if smooth and _same(prev.expr, d):
            merged[-1] = Piece(prev.lo, p.hi, prev.expr)
        else:
            merged.append(Piece(p.lo, p.hi, d))
    if all(m.expr == merged[0].expr for m in merged):
        return merged[0].expr
    compact = _even_compact(merged) if not rough & {S.Zero} else None
    if compact is not None:
        return compact
    # equal formulas on both sides of a break (|log|z||' is -1/z on (-1, 0) and (0, 1)) as one
    # piece on a union of intervals: SymPy's own merge writes its condition in CNF, four clauses
    # of which none is an interval
    args: list[tuple[Expr, Expr]] = []
    for m in merged:
        if args and args[-1][0] == m.expr:
            args[-1] = (m.expr, sympy.Or(args[-1][1], m.condition()))
        else:
            args.append((m.expr, m.condition()))
    return Piecewise(*args)


def _even_compact(merged: list[Piece]) -> Expr | None:
    """``f(|z|)`` when the only break is at 0 and the left piece is ``f(-z)``.

    The caller makes sure g, ..., g^(k-1) are continuous at 0, so ``f(|z|)`` is
    then the true value there too, not a value picked at a kink.
    """
    if len(merged) != 2 or merged[0].hi != 0:
        return None
    left, right = merged[0].expr, merged[1].expr
    if not _same(left, right.subs(z, -z)):
        return None
    return right.subs(z, Abs(z))


@dataclass(frozen=True)
class Kink:
    """A breakpoint of g with its one-sided derivatives.

    Attributes:
        z: the breakpoint.
        left, right: one-sided derivatives (limits of g' from each side).
        continuous: whether g is continuous there.
        differentiable: True, False, or None when it depends on the parameters.
        differentiable_if: the condition on the parameters, when it depends on them.
        subdifferential: Clarke subdifferential ``(lo, hi)``, None where g jumps.
        values: ``{convention: value}`` for every profile in :data:`CONVENTIONS`;
            None where no data exists (a custom expression at a true kink).
    """

    z: Expr
    left: Expr
    right: Expr
    continuous: bool
    differentiable: bool | None
    differentiable_if: Expr | None
    subdifferential: tuple[Expr, Expr] | None
    values: Mapping[str, Expr | None]


def _truth(eq: Expr) -> tuple[bool | None, Expr | None]:
    """(True/False/None, condition) for ``eq == 0`` over the parameters."""
    eq = sympy.simplify(eq)
    if eq == 0:
        return True, None
    if eq.is_zero is False or not eq.free_symbols:
        return False, None
    return None, sympy.Eq(eq, 0)


def kinks(
    expr: Expr,
    conventions: Mapping[str, Mapping[Expr, object]] | None = None,
    values: Mapping[Symbol, Expr] | None = None,
) -> list[Kink]:
    """Every breakpoint of ``expr`` with one-sided derivatives, subdifferential and convention values.

    ``conventions`` is the catalogue's ``{framework: {breakpoint: rule}}``, with
    any fixed parameter values already substituted into its keys; ``values``
    only orders the breakpoints.

    >>> [(k.z, k.left, k.right, k.values["torch"]) for k in kinks(Max(0, z), {"torch": {0: "left"}})]
    [(0, 0, 1, 0)]
    """
    expr = to_piecewise(expr)
    conventions = conventions or {}
    ps = pieces(expr, values)
    out = []
    for left_piece, right_piece in itertools.pairwise(ps):
        b = left_piece.hi
        g_cont, g_cond = _truth(one_sided_limit(left_piece.expr, b, "-") - one_sided_limit(right_piece.expr, b, "+"))
        dl = one_sided_limit(sympy.diff(left_piece.expr, z), b, "-")
        dr = one_sided_limit(sympy.diff(right_piece.expr, z), b, "+")
        d_same, d_cond = _truth(dl - dr)
        continuous = g_cont is True
        if g_cont is False or d_same is False:
            differentiable, cond = False, None
        elif g_cont and d_same:
            differentiable, cond = True, None
        else:
            differentiable = None
            cond = sympy.And(*(c for c in (g_cond, d_cond) if c is not None))
        sub = (sympy.Min(dl, dr), sympy.Max(dl, dr)) if continuous else None
        vals: dict[str, Expr | None] = {
            "left": dl, "right": dr, "mid": sympy.simplify((dl + dr) / 2),
        }
        for fw in ("torch", "jax"):
            rule = _rule_at(conventions.get(fw, {}), b)
            if rule is None:
                vals[fw] = dl if differentiable else None
            elif isinstance(rule, str):
                vals[fw] = vals[rule]
            else:
                vals[fw] = sympy.sympify(rule)
        out.append(Kink(b, dl, dr, continuous, differentiable, cond, sub, vals))
    return out


def _rule_at(table: Mapping[Expr, object], b: Expr) -> object:
    for key, rule in table.items():
        if sympy.simplify(key - b) == 0:
            return rule
    return None
