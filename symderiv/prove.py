"""The proof engine: is ``lhs(z) = rhs(z)`` at every real z but the excluded points?

Every equality symderiv claims is asked here (:mod:`symderiv.claims` asks it for
``g'(z) = CLAIM``; the teaching checks ask it for each step), and the answer is
one of three.

**What is claimed.** The two sides are equal at every real ``z`` except the
*excluded* points (the ``breakpoints`` argument: the kinks of the activations
involved), for every admissible value of each parameter left symbolic. A side
that is undefined at a point — a division by zero, the log of a number ≤ 0, the
square root of a negative number, no ``Piecewise`` branch applying, written
anywhere in the text even where SymPy would cancel it (pass the parser's
:class:`~symderiv.parse.Parsed` conditions as ``lhs_domain``/``rhs_domain``) —
does not equal a defined one there; two undefined sides agree. The sides' own
breakpoints (``sign(z - 1)``, ``Piecewise`` conditions, ``Heaviside``) and
removable singularities are *not* excluded: they are checked exactly.

* ``proved`` — a *symbolic* proof, every part exact: both sides are rewritten as
  ``Piecewise`` (:func:`symderiv.calculus.to_piecewise`), the real line is cut at
  every breakpoint, and on each open interval the difference of the two formulas
  simplifies to exactly 0 under the symbols' assumptions (the interval itself is
  carried into the assumptions by writing ``z = lo + t``, ``z = hi - t`` or
  ``z = lo + (hi - lo) t/(1 + t)`` with ``t > 0`` when plain simplification does
  not suffice). Where each side is defined is located exactly (``solveset``), and
  at every breakpoint and singular point that is not excluded both sides are
  evaluated exactly and found equal. ``method`` lists the pieces, the rewrites
  and the exact checks. Numbers never prove.
* ``refuted`` — a *certified* counterexample: a point where Arb ball arithmetic
  (:mod:`symderiv.ball`, python-flint) proves the difference nonzero, the
  precision raised from 128 to 8192 bits until the ball excludes 0, or where one
  side is exactly undefined and the other is not. The report carries the
  certified difference (``"5.08e-435 ± 4.1e-450"``) and both sides with enough
  digits to see it; a point where the ball cannot exclude 0 is never reported.
  The search covers every interval between breakpoints, points next to each
  breakpoint, the tails (±50, ±700, ±10^5, ±10^300), and several admissible
  values of each parameter (its default, small, large).
* ``undecided`` — neither: no symbolic proof within the budget and no certified
  counterexample. Numeric agreement is reported in ``method`` but is not a proof.

Parameters (any free symbol other than ``z``) stay symbolic with their
assumptions. Excluded breakpoints keep their order, which is part of the
function's definition; when SymPy cannot prove that order from the assumptions
(``min_val < max_val`` for ``hardtanh``) the verdict lists it in ``assumptions``.
A proof that would need an order of the claim's *own* breakpoints is not a proof
for all parameter values: such a claim is ``undecided`` at best. Floats are taken
at their exact binary value (``0.1`` is not ``1/10``).

>>> from sympy import exp, tanh
>>> from symderiv.catalogue import z
>>> s = 1 / (1 + exp(-z))
>>> prove_identity(s.diff(z), s * (1 - s)).status
'proved'
>>> v = prove_identity(tanh(z).diff(z), 1 - tanh(z))
>>> v.status, v.counterexample["z"]
('refuted', '0.5')
>>> prove_identity(s * (1 - s) * z / z, s.diff(z), lhs_domain=[("nonzero", z, True)]).counterexample["z"]
'0'
"""

from __future__ import annotations

import itertools
import math
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import sympy
from sympy import Expr, Integer, Piecewise, Rational, S, Symbol, oo

from . import ball, calculus
from .budget import time_limit
from .catalogue import a, all_activations, z
from .errors import BudgetExceeded, SymderivError
from .printing import to_text

__all__ = ["STATUSES", "Verdict", "as_expr", "order_values", "prove_identity"]

#: The three verdicts.
STATUSES = ("proved", "refuted", "undecided")

#: Precisions (bits) of the certified search: every point at the first two, a few at the rest.
_PRECS = (128, 512, 2048, 8192)
#: How many points are retried at each of the high precisions.
_HIGH_POINTS = (None, None, 16, 4)
#: simplify is tried only on expressions up to this many operations (it can run for minutes).
_MAX_OPS = 400


@dataclass(frozen=True)
class Verdict:
    """The answer to one claim.

    Attributes:
        status: ``"proved"``, ``"refuted"`` or ``"undecided"``.
        method: how the verdict was reached, one line.
        counterexample: when refuted, ``{"z", "lhs", "rhs", "difference", <param>: value...}``
            as strings: the point (exact decimals), each side with enough digits to see the
            difference (or ``"undefined (...)"``), and the certified difference as
            ``"mid ± radius"``; else None.
        kink_note: a claim that holds off the kinks but takes another value at a kink than
            the convention: the kink and both values. None otherwise.
        assumptions: conditions on the parameters the proof relies on (the breakpoint order).
    """

    status: str
    method: str
    counterexample: dict[str, str] | None = None
    kink_note: str | None = None
    assumptions: tuple[str, ...] = field(default=())

    def as_json(self) -> dict:
        """A JSON-ready dict with the same keys."""
        return {
            "status": self.status,
            "method": self.method,
            "counterexample": None if self.counterexample is None else dict(self.counterexample),
            "kink_note": self.kink_note,
            "assumptions": list(self.assumptions),
        }


# ---------------------------------------------------------------------------------------------
# parameter values: ordering points and search sets


def _catalogue_defaults() -> dict[Symbol, Expr]:
    out: dict[Symbol, Expr] = {}
    for act in all_activations():
        for p in act.params:
            if p.default is not None:
                out.setdefault(p.symbol, p.default)
    return out


def order_values(symbols, given: Mapping[Symbol, Expr] | None) -> dict[Symbol, Expr]:
    """Sample values for ordering breakpoints: given, else the catalogue default, else 1/2."""
    known = _catalogue_defaults()
    out = {}
    for s in symbols:
        if given and s in given:
            out[s] = given[s]
        elif s in known:
            out[s] = known[s]
        elif s.is_negative:
            out[s] = -Rational(1, 2)
        else:
            out[s] = Rational(1, 2)
    return out


def _candidate_values(s: Symbol, base: Expr) -> list[Expr]:
    # typical values first, then the far ends of the admissible range: a claim may be false
    # only for a large parameter (Min(alpha, 1000)) or a tiny one
    big, huge, tiny = Integer(1000), Integer(10**6), Rational(1, 10**6)
    if s.is_positive:
        pool = [Rational(1, 3), Rational(2), big, Rational(1, 100), huge, Rational(7, 2), tiny, Rational(10)]
    elif s.is_negative:
        pool = [-Rational(1, 3), -Rational(2), -big, -Rational(7, 2), -huge, -tiny]
    elif s.is_nonnegative:
        pool = [S.Zero, Rational(1, 3), Rational(2), big, huge, Rational(10), tiny]
    else:
        pool = [base + Rational(1, 2), base - Rational(3, 2), Rational(3), base + big, base - big,
                -Rational(5, 2), S.Zero, base + huge, base - huge]
    return [v for v in pool if v != base]


def _param_sets(symbols: list[Symbol], base: dict[Symbol, Expr], bps: list[Expr], n: int = 9):
    """The base values first, then up to ``n`` admissible variations keeping the order of ``bps``.

    ``bps`` are the domain's breakpoints (the activation's kinks): a claim's own breakpoints
    may move past each other, the claim must hold for those values too.
    """
    sets = [dict(base)]
    if not symbols:
        return sets
    rng = random.Random(1234)
    pools = {s: _candidate_values(s, base[s]) for s in symbols}
    tries = []
    for s in symbols:  # one parameter moved at a time
        tries += [{**base, s: v} for v in pools[s]]
    for _ in range(20):  # all of them moved
        tries.append({s: rng.choice([base[s], *pools[s]]) for s in symbols})
    order = _order_signature(bps, base)
    for cand in tries:
        if len(sets) > n:
            break
        if cand not in sets and _order_signature(bps, cand) == order:
            sets.append(cand)
    return sets


def _position(b: Expr, values: Mapping[Symbol, Expr]) -> sympy.Float:
    """Where a breakpoint lies at ``values``, to 30 digits and with no float range: 10**400
    and 10**401 are two places, not one ``inf``. Raises TypeError when it is no number."""
    x = sympy.sympify(b).subs(values).evalf(30)
    if not x.is_Number or x.has(sympy.nan, oo, -oo, sympy.zoo):
        raise TypeError(f"not a number: {x}")
    return sympy.Float(x, 30)


def _order_signature(bps: list[Expr], values: Mapping[Symbol, Expr]):
    try:
        nums = [_position(b, values) for b in bps]
    except TypeError:
        return None
    return tuple(nums[i] < nums[i + 1] for i in range(len(nums) - 1))


# ---------------------------------------------------------------------------------------------
# breakpoints and pieces


def _relationals(expr: Expr):
    return [r for r in expr.atoms(sympy.core.relational.Relational) if z in r.free_symbols]


def _zero_boundary(f: Expr) -> list[Expr]:
    """Points where ``f`` may change sign: the boundary of its zero set and its real poles."""
    pts: list[Expr] = []
    sets = [sympy.solveset(f, z, S.Reals)]
    den = sympy.fraction(sympy.together(f))[1]
    if den.has(z):
        sets.append(sympy.solveset(den, z, S.Reals))
    for found in sets:
        if found is S.EmptySet:  # no real zero (tanh(z)**2 - 1): not a FiniteSet, nor its boundary
            continue
        if isinstance(found, sympy.ConditionSet) or found.has(sympy.ImageSet):
            raise SymderivError(f"cannot locate where {f} changes sign")
        if not isinstance(found, sympy.FiniteSet):
            found = found.boundary
        if not isinstance(found, sympy.FiniteSet):
            raise SymderivError(f"cannot locate where {f} changes sign")
        pts += [p for p in found if p.is_finite is not False and p not in (oo, -oo)]
    return pts


def _breakpoints(exprs: Sequence[Expr], extra: Sequence[Expr], values: Mapping[Symbol, Expr]):
    found: list[Expr] = []

    def add(p: Expr) -> None:
        if p.has(sympy.I) or p.is_real is False:
            return
        if not any(sympy.simplify(p - q) == 0 for q in found):
            found.append(p)

    for e in exprs:
        for rel in _relationals(e):
            for p in _zero_boundary(rel.lhs - rel.rhs):
                add(p)
    for p in extra:
        add(sympy.sympify(p))
    return found


def _located(found: list[Expr], values: Mapping[Symbol, Expr]) -> tuple[list[Expr], list[float]] | None:
    """The breakpoints sorted at ``values`` with their positions; None when two coincide there."""
    try:
        keyed = sorted(((_position(p, values), p) for p in found), key=lambda kp: kp[0])
    except TypeError:
        raise SymderivError("cannot order the breakpoints (a parameter without a value?)") from None
    xs = [x for x, _ in keyed]
    if any(x1 == x2 for x1, x2 in itertools.pairwise(xs)):
        return None
    return [p for _, p in keyed], [float(x) for x in xs]


def _untie(found, base, symbols, domain):
    """Order values at which no two breakpoints coincide, keeping the domain's order.

    Distinct breakpoints can coincide at the defaults (threshold's ``threshold`` and ``value``
    are both 0); nudging the values picks one order, which the proof then has to assume.
    """
    order = _order_signature(domain, base)
    for k in range(0, 8):
        cand = {s: v + Rational(k * (i + 1), 97) if s in symbols else v for i, (s, v) in enumerate(base.items())}
        if k and _order_signature(domain, cand) != order:
            continue
        got = _located(found, cand)
        if got is not None:
            return cand, got
    raise SymderivError("breakpoints coincide for the parameter values tried")


def _interior_samples(lo: float | None, hi: float | None) -> list[Rational]:
    """A few exact points strictly inside (lo, hi), None meaning infinite."""
    if lo is None and hi is None:
        xs = [-3.7, -0.3, 0.0, 0.41, 2.9]
    elif lo is None:
        xs = [hi - d for d in (1e-4, 0.5, 3.0, 40.0)]
    elif hi is None:
        xs = [lo + d for d in (1e-4, 0.5, 3.0, 40.0)]
    else:
        w = hi - lo
        xs = [lo + w * f for f in (1e-4, 0.25, 0.5, 0.75, 1 - 1e-4)]
    return [Rational(repr(x)) for x in xs]


def _piece_formula(expr: Expr, nums: Mapping[Symbol, Expr], samples: list[Rational],
                   where: Mapping[Symbol, Expr] | None) -> Expr:
    """The formula of ``expr`` on an interval, every condition decided *symbolically*.

    ``where`` maps ``z`` to a point of the interval written with a positive symbol ``t``
    (and the parameters re-expressed so that the breakpoint order is an assumption); a
    condition SymPy cannot decide for all admissible parameters raises. The choice is
    cross-checked at numeric sample points.
    """
    forms = {calculus.choose_branches(expr, {**nums, z: t}) for t in samples}
    if len(forms) != 1:
        raise SymderivError("the piece structure changes inside an interval (a missed breakpoint)")
    if where is None:
        return forms.pop()

    z0 = samples[len(samples) // 2]

    def pick(pw: Piecewise) -> Expr:
        for value, cond in pw.args:
            truth = _truth(cond, where, z0)
            if truth == S.true:
                return value
            if truth != S.false:
                raise SymderivError(f"cannot decide the condition {cond} for all parameter values")
        raise SymderivError(f"no branch of {pw} applies")

    chosen = expr.replace(lambda e: isinstance(e, Piecewise), pick)
    numeric = forms.pop()
    if chosen != numeric and not _is_zero((chosen - numeric).subs(where), None):
        raise SymderivError("symbolic and numeric choices of a piece disagree")
    return chosen


_SIGN_RULES = {  # relation -> (true if the sign of lhs - rhs is in this set)
    sympy.StrictGreaterThan: {1},
    sympy.GreaterThan: {1, 0},
    sympy.StrictLessThan: {-1},
    sympy.LessThan: {-1, 0},
    sympy.Eq: {0},
    sympy.Ne: {1, -1},
}


def _truth(cond, where: Mapping[Symbol, Expr], z0: Rational):
    """The truth of ``cond`` on the whole interval, for every admissible parameter value.

    Relations are decided by the sign of ``lhs - rhs`` (:func:`_sign`); boolean operators
    (And, Or, Not, ITE) are rebuilt from their decided arguments.
    """
    if cond in (S.true, S.false):
        return cond
    if isinstance(cond, sympy.core.relational.Relational):
        if type(cond) not in _SIGN_RULES:
            raise SymderivError(f"cannot decide the condition {cond}")
        if z not in cond.free_symbols:  # a condition on the parameters alone
            r = cond.subs({k: v for k, v in where.items() if k != z})
            if r in (S.true, S.false):
                return r
        sgn = _sign(cond.lhs - cond.rhs, where, z0)
        return S.true if sgn in _SIGN_RULES[type(cond)] else S.false
    if isinstance(cond, (sympy.And, sympy.Or)):  # Kleene: one decisive argument decides
        decisive = S.false if isinstance(cond, sympy.And) else S.true
        values, error = [], None
        for arg in cond.args:
            try:
                v = _truth(arg, where, z0)
            except SymderivError as exc:
                error = error or exc
                continue
            if v == decisive:
                return decisive
            values.append(v)
        if error is not None:
            raise error
        return cond.func(*values)
    if isinstance(cond, sympy.logic.boolalg.Boolean) and cond.args:
        return cond.func(*[_truth(arg, where, z0) for arg in cond.args])
    raise SymderivError(f"cannot decide the condition {cond}")


def _sign(h: Expr, where: Mapping[Symbol, Expr], z0: Rational) -> int:
    """The sign (-1, 0, 1) of ``h`` on the interval, for every admissible parameter value.

    Each factor of ``h`` is decided symbolically with ``z`` written as a point of the
    interval (``where``) and the symbols' assumptions. A factor in ``z`` alone that SymPy
    cannot decide (``exp(-t) - 1``) has one sign on the whole interval (its zeros are
    breakpoints, so none lies inside), read off at the sample point ``z0`` with mpmath.
    """
    total = 1
    for f in sympy.Mul.make_args(sympy.factor_terms(h)):
        base, e = f.as_base_exp()
        if e.is_Integer and e.is_even and not e.is_zero:
            sgn = _sign_of(base, where, z0)
            total *= abs(sgn)
        else:
            total *= _sign_of(f, where, z0)
        if total == 0:
            return 0
    return total


def _sign_of(f: Expr, where: Mapping[Symbol, Expr], z0: Rational) -> int:
    g = f.subs(where)
    known = _known_sign(g)
    if known is not None:
        return known
    const, rest = g.as_coeff_Add()
    if isinstance(rest, sympy.exp) and const.is_number:  # exp(u) + c: the sign of u - log(-c)
        if const >= 0:
            return 1
        return _sign_of(rest.args[0] - sympy.log(-const), {}, z0)
    if f.free_symbols <= {z}:  # no zero inside the interval: one sample decides
        v = sympy.N(f.subs(z, z0), 30)
        if v.is_real and v.is_number and abs(v) > 1e-20:
            return 1 if v > 0 else -1
    if sympy.count_ops(g) < _MAX_OPS:
        known = _known_sign(sympy.simplify(g))
        if known is not None:
            return known
    raise SymderivError(f"cannot decide the sign of {f} for all parameter values")


def _known_sign(g: Expr) -> int | None:
    if g.is_zero:
        return 0
    if g.is_positive:
        return 1
    if g.is_negative:
        return -1
    return None


_T = Symbol("t", positive=True)


def _where(lo: Expr, hi: Expr, reparam: Mapping[Symbol, Expr]) -> dict[Symbol, Expr]:
    """``z`` as a point of (lo, hi) in terms of ``t > 0``, parameters re-expressed by ``reparam``."""
    if lo == -oo and hi == oo:
        point = _T - 1 / _T  # every real number
    elif lo == -oo:
        point = hi - _T
    elif hi == oo:
        point = lo + _T
    else:
        point = lo + (hi - lo) * _T / (1 + _T)
    return {z: point.subs(reparam)} if not reparam else {z: point.subs(reparam), **reparam}


def _reparam(bps: list[Expr]) -> dict[Symbol, Expr] | None:
    """Re-express parameters so that each unproven gap between breakpoints is a positive symbol.

    E.g. for breakpoints ``min_val < max_val``: ``max_val = min_val + w`` with ``w > 0``.
    None when some gap cannot be written so.
    """
    out: dict[Symbol, Expr] = {}
    for i, (lo, hi) in enumerate(itertools.pairwise(bps)):
        gap = sympy.simplify((hi - lo).subs(out))
        if gap.is_positive:
            continue
        w = Symbol(f"w{i}", positive=True)
        for s in sorted(gap.free_symbols - {z}, key=lambda s: s.name):
            sols = sympy.solve(gap - w, s)
            if len(sols) == 1:
                out = {k: v.subs(s, sols[0]) for k, v in out.items()}
                out[s] = sols[0]
                break
        else:
            return None
    return out


# ---------------------------------------------------------------------------------------------
# the symbolic step


def _exp_is_one(e: Expr) -> Expr:
    """0 when exp(e) simplifies to 1; sound because e is real where both sides are defined."""
    w = sympy.simplify(sympy.powsimp(sympy.expand(sympy.exp(sympy.expand_log(e, force=False)))))
    return S.Zero if w == 1 else e


def _real_inverses(e: Expr) -> Expr:
    """asinh(sinh(u)) = u and atan(tan(u))-free forms for real u."""
    return sympy.simplify(e.replace(lambda x: isinstance(x, sympy.asinh) and isinstance(x.args[0], sympy.sinh),
                                    lambda x: x.args[0].args[0]))


def _one_exponential(e: Expr) -> Expr:
    """With every function written with exp, and every exp(c_i*u) of one u (c_i rational),
    the difference as a rational function of X = exp(u/q) and z: if it cancels to 0 as a
    rational function it is 0 for every real X > 0, exp(u/q) included (gelu_tanh with tanh
    and with sigmoid)."""
    e = e.rewrite(sympy.exp)
    atoms = [x for x in e.atoms(sympy.exp) if x.has(z)]
    if not atoms:
        return e
    base = atoms[0].args[0]
    ratios = [sympy.cancel(x.args[0] / base) for x in atoms]
    if not all(r.is_Rational for r in ratios):
        return e
    q = math.lcm(*(int(r.q) for r in ratios))
    X = sympy.Dummy("X", positive=True)
    f = e.xreplace({x: X ** int(r * q) for x, r in zip(atoms, ratios, strict=True)})
    if any(x.has(z) for x in f.atoms(sympy.exp)):
        return e
    return sympy.cancel(sympy.together(f))


#: The rewrites tried, in order, to reduce a difference to 0 (name, function).
_REWRITES = (
    ("expand", sympy.expand),
    ("cancel", lambda e: sympy.cancel(sympy.together(e))),
    ("a rational function of one exponential", _one_exponential),
    ("simplify", sympy.simplify),
    ("exp form", lambda e: sympy.simplify(e.rewrite(sympy.exp))),
    ("exp form with powers combined",
     lambda e: sympy.simplify(sympy.powsimp(sympy.expand(e.rewrite(sympy.exp)), force=False))),
    # numerically safer spellings (log1p, expm1, ...) back to elementary functions
    ("log1p/expm1 as log/exp", lambda e: sympy.simplify(e.rewrite(sympy.log).rewrite(sympy.exp))),
    ("erfc = 1 - erf", lambda e: sympy.simplify(sympy.expand(e.rewrite(sympy.erf)))),
    ("exp of the difference is 1", _exp_is_one),
    ("asinh(sinh(u)) = u", _real_inverses),
)


def _is_zero(d: Expr, deadline: float | None) -> str | None:
    """The name of the rewrite that reduces ``d`` to exactly 0, or None (not shown)."""
    if d == 0:
        return "identical"
    if not d.has(z) and d.is_number:
        return None
    for name, step in _REWRITES:
        _check_time(deadline)
        if sympy.count_ops(d) > _MAX_OPS:
            return None
        try:
            if step(d) == 0:
                return name
        except (TypeError, ValueError, NotImplementedError, RecursionError, ZeroDivisionError, AttributeError):
            continue
    return None


def _is_zero_on(d: Expr, lo: Expr, hi: Expr, deadline: float | None) -> str | None:
    """How ``d == 0`` on (lo, hi) was shown, trying the interval as an assumption; None: not shown."""
    how = _is_zero(d, deadline)
    if how or (lo == -oo and hi == oo):
        return how
    how = _is_zero(d.subs(_where(lo, hi, {})), deadline)
    return how and f"{how}, z written as a point of the interval"


def _check_time(deadline: float | None) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise BudgetExceeded("symbolic step out of time")


# ---------------------------------------------------------------------------------------------
# where each side is defined

_KIND_TEXT = {
    "nonzero": "division by zero",
    "positive": "log or power of a number <= 0",
    "nonnegative": "square root of a negative number",
}


def _tree_conditions(expr: Expr, where=sympy.true) -> list[tuple[str, Expr, object]]:
    """Where the SymPy tree itself is defined: denominators, log and power arguments, each
    with the condition of the ``Piecewise`` branch it sits in."""
    out: list[tuple[str, Expr, object]] = []
    if isinstance(expr, Piecewise):
        earlier: list = []
        for value, cond in expr.args:
            out += _tree_conditions(value, sympy.And(where, cond, *(sympy.Not(c) for c in earlier)))
            out += _condition_conditions(cond, sympy.And(where, *(sympy.Not(c) for c in earlier)))
            earlier.append(cond)
        return out
    if isinstance(expr, sympy.Pow) and expr.base is not sympy.E:
        e, b = expr.exp, expr.base
        if b.free_symbols or e.free_symbols:
            if e.is_Integer:
                if e.is_negative:
                    out.append(("nonzero", b, where))
            elif e.is_Rational and e.q == 2 and e.is_positive:
                out.append(("nonnegative", b, where))
            else:
                out.append(("positive", b, where))
    elif isinstance(expr, sympy.log):
        out.append(("positive", expr.args[0], where))
    for arg in expr.args:
        if isinstance(arg, Expr):
            out += _tree_conditions(arg, where)
    return out


def _condition_conditions(cond, where) -> list[tuple[str, Expr, object]]:
    """Where a branch condition is defined, in Kleene's logic: a conjunct matters only where
    the other conjuncts hold (``z > 0 & sqrt(z) > 1`` is false, not undefined, at z = -1),
    a disjunct only where the others fail."""
    if isinstance(cond, sympy.core.relational.Relational):
        return _tree_conditions(cond.lhs - cond.rhs, where)
    if isinstance(cond, (sympy.And, sympy.Or)):
        out: list[tuple[str, Expr, object]] = []
        for i, c in enumerate(cond.args):
            others = [o for j, o in enumerate(cond.args) if j != i]
            if isinstance(cond, sympy.Or):
                others = [sympy.Not(o) for o in others]
            out += _condition_conditions(c, sympy.And(where, *others))
        return out
    if isinstance(cond, sympy.Not):
        return _condition_conditions(cond.args[0], where)
    return []


def _holds(kind: str, f: Expr) -> bool:
    """True when the assumptions alone show the condition for every z and parameter."""
    test = {"nonzero": lambda: f.is_zero is False, "positive": lambda: f.is_positive,
            "nonnegative": lambda: f.is_nonnegative}[kind]
    try:
        return bool(test())
    except (TypeError, ValueError, RecursionError):
        return False


def _bad_points(kind: str, f: Expr, where=sympy.true) -> list[Expr]:
    """Exact points to check for where ``kind`` fails for ``f`` (within ``where``): its zeros,
    or the boundary (and one inner point) of where it fails; raises when SymPy cannot locate them."""
    if _holds(kind, f) or where is sympy.false:
        return []
    if z not in f.free_symbols and where is sympy.true:
        return [S.Zero]  # the condition is on the parameters: any point shows it
    rel = {"nonzero": sympy.Eq(f, 0), "positive": f <= 0, "nonnegative": f < 0}[kind]
    found = sympy.solveset(rel, z, S.Reals) if z in f.free_symbols else S.Reals
    if where is not sympy.true and found is not S.EmptySet:
        if where.free_symbols - {z}:
            raise SymderivError(f"cannot locate where {to_text(f)} is {kind} for all parameter values")
        found = sympy.Intersection(found, where.as_set())
    if found is S.EmptySet:
        return []
    if isinstance(found, sympy.FiniteSet):
        return [p for p in found if p.is_real is not False]
    if isinstance(found, sympy.ConditionSet) or found.has(sympy.ImageSet):
        raise SymderivError(f"cannot locate where {to_text(f)} is {'nonzero' if kind == 'nonzero' else kind}")
    points: list[Expr] = []
    for piece in (found.args if isinstance(found, sympy.Union) else (found,)):
        if isinstance(piece, sympy.FiniteSet):
            points += list(piece)
        elif isinstance(piece, sympy.Interval):
            lo, hi = piece.start, piece.end
            ends = [p for p in (lo, hi) if p.is_finite]
            points += ends
            if lo.is_finite and hi.is_finite:
                points.append((lo + hi) / 2)
            elif lo.is_finite:
                points.append(lo + 1)
            elif hi.is_finite:
                points.append(hi - 1)
            else:
                points.append(S.Zero)
        else:
            raise SymderivError(f"cannot locate where {to_text(f)} is {kind}")
    return [p for p in points if p.is_real is not False]


# ---------------------------------------------------------------------------------------------
# certified evaluation


class _Side:
    """One side of the identity: its expression and where it is defined."""

    def __init__(self, expr: Expr, conditions: Sequence[tuple[str, Expr]]) -> None:
        self.expr = expr
        given = [(k, f, sympy.sympify(w)) for k, f, w in conditions]
        self.conditions = list(dict.fromkeys([*given, *_tree_conditions(expr)]))

    def ball(self, values: Mapping[Symbol, Expr], prec: int):
        """An Arb ball, or a string saying why the side is (certainly) undefined there."""
        for kind, f, where in self.conditions:
            try:
                if where is not sympy.true and not ball.holds(where, values, prec):
                    continue
            except ball.Undefined:
                continue  # an undefined guard: its own conditions (listed too) say so
            try:
                v = ball.evaluate(f, values, prec)
            except ball.Undefined as exc:
                return str(exc)  # f is a part of the side as written
            exact_zero = v.is_exact() and v.is_zero()
            if (kind == "nonzero" and exact_zero) or (kind == "positive" and v <= 0) or (kind == "nonnegative" and v < 0):
                return _KIND_TEXT[kind]
            if (kind == "nonzero" and v.contains(0)) or (kind == "positive" and not v > 0) \
                    or (kind == "nonnegative" and not v >= 0):
                raise ball.Uncertain("a definedness condition is too close to call")
        try:
            return ball.evaluate(self.expr, values, prec)
        except ball.Undefined as exc:
            return str(exc)


@dataclass
class _Certificate:
    values: dict  # symbol -> exact value
    lhs: object  # arb or a reason string
    rhs: object
    prec: int


def _compare(left: _Side, right: _Side, values: Mapping[Symbol, Expr], prec: int) -> _Certificate | bool | None:
    """A certificate that the sides differ at ``values``; True: they agree as far as the
    precision shows; None: the precision decides nothing (a condition or division too close)."""
    try:
        lv = left.ball(values, prec)
        rv = right.ball(values, prec)
    except (ball.Uncertain, ball.Unsupported):  # e.g. a DiracDelta: nothing certified here
        return None
    if isinstance(lv, str) or isinstance(rv, str):
        if isinstance(lv, str) and isinstance(rv, str):
            return True  # undefined on both sides: they agree
        return _Certificate(dict(values), lv, rv, prec)
    d = lv - rv
    if not d.is_finite():
        return None
    if d.contains(0):
        return True
    return _Certificate(dict(values), lv, rv, prec)


def _certify(left: _Side, right: _Side, points: list[dict], deadline: float | None) -> _Certificate | None:
    """The first certified difference among ``points``, raising the precision on the rest;
    points with ``|z| <= 1000`` first (a counterexample one can read), then the far ones."""
    near = [p for p in points if abs(p[z]) <= 1000]
    far = [p for p in points if abs(p[z]) > 1000]
    return _certify_among(left, right, near, deadline) or _certify_among(left, right, far, deadline)


def _certify_among(left, right, points, deadline) -> _Certificate | None:
    pending = list(points)
    for prec, limit in zip(_PRECS, _HIGH_POINTS, strict=True):
        if limit is not None:
            pending = pending[:limit]
        still = []
        for values in pending:
            if deadline is not None and time.monotonic() > deadline:
                return None
            got = _compare(left, right, values, prec)
            if isinstance(got, _Certificate):
                return got
            still.append(values)
        pending = still
        if not pending:
            break
    return None


def _digits_to_show(lv, rv, d, prec: int) -> int:
    """Significant digits at which lhs and rhs visibly differ (bounded by the precision)."""
    cap = max(20, int(prec * 0.30) - 5)
    big = max(abs(lv.mid()), abs(rv.mid()))
    small = abs(d.mid())
    if small == 0 or big == 0:
        return 20
    need = math.ceil(float((big / small).log() / math.log(10))) + 6
    return max(20, min(cap, need))


def _report(cert: _Certificate, symbols: list[Symbol]) -> dict[str, str]:
    out = {"z": _decimal(cert.values[z])}
    lv, rv = cert.lhs, cert.rhs
    if isinstance(lv, str) or isinstance(rv, str):
        out["lhs"] = f"undefined ({lv})" if isinstance(lv, str) else ball.text(lv, 30)
        out["rhs"] = f"undefined ({rv})" if isinstance(rv, str) else ball.text(rv, 30)
        out["difference"] = "undefined on one side only"
    else:
        d = lv - rv
        n = _digits_to_show(lv, rv, d, cert.prec)
        out["lhs"], out["rhs"] = ball.text(lv, n), ball.text(rv, n)
        out["difference"] = ball.radius_text(d)
    for s in symbols:
        out[s.name] = _decimal(cert.values[s])
    return out


def _decimal(v: Expr) -> str:
    v = sympy.sympify(v)
    if v.is_Integer:
        digits = str(abs(v))
        zeros = len(digits) - len(digits.rstrip("0"))
        if zeros >= 6:  # 10**300 as 1e300: exact, and readable
            return ("-" if v < 0 else "") + digits.rstrip("0") + f"e{zeros}"
        return str(v)
    if v.is_Rational:
        if v.q & (v.q - 1) == 0 or all(p in (2, 5) for p in sympy.factorint(v.q)):  # a finite decimal
            k = 0
            while (v * 10**k).q != 1:
                k += 1
            digits = str(abs(v.p * 10**k // v.q)).rjust(k + 1, "0")
            text = digits[:-k] + "." + digits[-k:] if k else digits
            return ("-" if v < 0 else "") + text
        return str(v)
    return to_text(v)


# ---------------------------------------------------------------------------------------------
# the points searched


def _dyadic(x: float, bits: int) -> Rational:
    """``x`` rounded to a multiple of 2**-bits: exact in binary (Arb) and as a finite decimal."""
    if abs(x) >= 2.0**52:  # an integer already (and x * 2**bits might overflow)
        return Rational(int(x))
    return Rational(round(x * 2**bits), 2**bits)


#: Distances searched on an unbounded interval: a log scale out to 10**300 (exact integers).
_TAILS = (5, 7, 15, 20, 50, 70, 100, 130, 200, 300, 500, 700, 1000, 3000, 10**4, 10**5, 10**6, 10**10,
          10**20, 10**50, 10**100, 10**300)


def _search_points(lo: float | None, hi: float | None, rng: random.Random, n_random: int) -> list[Rational]:
    """Typical, adversarial and far-out points strictly inside (lo, hi).

    An edge beyond the float range (a breakpoint at 10**400 is ``inf`` as a float) bounds no
    point searched: it counts as no edge on its side, and an interval beyond it has no points.
    """
    if (lo is not None and lo == math.inf) or (hi is not None and hi == -math.inf):
        return []
    lo = None if lo is not None and lo == -math.inf else lo
    hi = None if hi is not None and hi == math.inf else hi
    if lo is None and hi is None:
        xs = [0.5, -0.5, 0.0, 1.0, -1.0, 2.0, -2.0, 3.3, -3.3, 10.0, -10.0, 0.001, -0.001, 30.0, -30.0]
        xs += [rng.uniform(-8, 8) for _ in range(n_random)]
        far = [s * t for t in _TAILS for s in (1, -1)]
    elif lo is None:
        xs = [hi - d for d in (0.5, 1.0, 2.0, 0.001, 3.3, 10.0, 30.0, 1e-6)]
        xs += [hi - rng.expovariate(0.3) for _ in range(n_random)]
        far = [Rational(hi) - t for t in _TAILS]
    elif hi is None:
        xs = [lo + d for d in (0.5, 1.0, 2.0, 0.001, 3.3, 10.0, 30.0, 1e-6)]
        xs += [lo + rng.expovariate(0.3) for _ in range(n_random)]
        far = [Rational(lo) + t for t in _TAILS]
    else:
        w = hi - lo
        xs = [lo + w * f for f in (0.5, 0.25, 0.75, 0.1, 0.9, 1e-3, 1 - 1e-3)]
        xs += [lo + w * rng.uniform(0.001, 0.999) for _ in range(n_random)]
        far = []
    bits = 10
    if lo is not None and hi is not None and hi > lo and math.isfinite(hi - lo):
        bits = max(10, 14 - math.floor(math.log2(hi - lo)))  # a narrow interval needs finer points
    lo_q = None if lo is None else Rational(lo)
    hi_q = None if hi is None else Rational(hi)
    out: list[Rational] = []
    for x in [*xs, *far]:
        if isinstance(x, float) and not math.isfinite(x):
            continue
        r = _dyadic(x, bits) if isinstance(x, float) else Rational(x)
        if (lo_q is None or r > lo_q) and (hi_q is None or r < hi_q) and r not in out:
            out.append(r)
    return out


def _points(symbols, param_sets, bps, n_random, avoid) -> list[dict]:
    """Search points for each parameter set, off the breakpoints ``bps``."""
    rng = random.Random(20240611)
    out = []
    for pv in param_sets:
        try:
            located = sorted(float(b.subs(pv)) for b in bps)
        except TypeError:
            continue
        edges: list[float | None] = [None, *located, None]
        for i in range(len(edges) - 1):
            for zval in _search_points(edges[i], edges[i + 1], rng, n_random):
                if any(abs(float(zval) - x) < 1e-300 for x in avoid(pv)):
                    continue
                out.append({z: zval, **{s: pv[s] for s in symbols}})
    return out


# ---------------------------------------------------------------------------------------------
# exact checks at single points


def _exact_side(side: _Side, point: Mapping[Symbol, Expr]) -> tuple[str, object]:
    """("undefined", why), ("value", exact constant) or ("unknown", why) at an exact point."""
    for kind, f, where in side.conditions:
        if where is not sympy.true:
            try:
                w = where.subs(point)
            except TypeError:  # a condition at a pole of its own (1/z < 0 at z = 0)
                return "unknown", "cannot decide a branch condition there"
            if w is sympy.false:
                continue
            if w is not sympy.true:
                try:
                    if not ball.holds(w, {}, 512):
                        continue
                except (ball.Uncertain, ball.Unsupported, ball.Undefined):
                    return "unknown", "cannot decide a branch condition there"
        sgn = _exact_sign(f.subs(point))
        if sgn is None:
            return "unknown", f"cannot decide the sign of {to_text(f)}"
        if (kind == "nonzero" and sgn == 0) or (kind == "positive" and sgn <= 0) or (kind == "nonnegative" and sgn < 0):
            return "undefined", _KIND_TEXT[kind]
    try:
        v = calculus.to_piecewise(side.expr).subs(point)
    except TypeError:  # SymPy: "Invalid comparison of non-real zoo": a condition divides by 0
        return "undefined", "division by zero"
    if v.has(sympy.nan, sympy.zoo) or v.has(sympy.oo, -sympy.oo):
        return "undefined", "division by zero"
    if isinstance(v, Piecewise) or v.has(Piecewise):
        free = v.free_symbols
        if not free:
            try:
                ball.evaluate(v, {}, 512)
            except ball.Undefined:
                return "undefined", "no Piecewise branch applies"
            except (ball.Uncertain, ball.Unsupported):
                return "unknown", "cannot decide a condition there"
        else:
            return "unknown", "cannot decide a condition for all parameter values"
    if v.has(sympy.I):
        return "undefined", "not real"
    return "value", v


def _exact_sign(v: Expr) -> int | None:
    if v == 0:
        return 0
    known = _known_sign(v)
    if known is not None:
        return known
    if v.free_symbols:
        return None
    for prec in _PRECS:
        try:
            b = ball.evaluate(v, {}, prec)
        except (ball.Uncertain, ball.Unsupported, ball.Undefined):
            continue
        if b > 0:
            return 1
        if b < 0:
            return -1
    try:
        if sympy.count_ops(v) < _MAX_OPS and sympy.simplify(v) == 0:
            return 0
    except (TypeError, ValueError, NotImplementedError, RecursionError):
        pass
    return None


def _check_point(left: _Side, right: _Side, point: Mapping[Symbol, Expr]):
    """At an exact point: ("equal", how), ("differs", _Certificate) or ("unknown", why)."""
    lk, lv = _exact_side(left, point)
    rk, rv = _exact_side(right, point)
    if "unknown" in (lk, rk):
        return "unknown", lv if lk == "unknown" else rv
    if lk == rk == "undefined":
        return "equal", "both undefined"
    if "undefined" in (lk, rk):
        numeric = {s: v for s, v in point.items()}
        if any(v.free_symbols for v in numeric.values()):
            return "unknown", "undefined on one side for some parameter values"
        return "differs", _Certificate(dict(numeric), lv if lk == "undefined" else _const_ball(lv),
                                       rv if rk == "undefined" else _const_ball(rv), 512)
    d = lv - rv
    if d == 0:
        return "equal", "exactly"
    if not d.free_symbols:
        for prec in _PRECS:
            try:
                lb, rb = ball.evaluate(lv, {}, prec), ball.evaluate(rv, {}, prec)
            except (ball.Uncertain, ball.Undefined, ball.Unsupported):
                continue
            if not (lb - rb).contains(0):
                return "differs", _Certificate(dict(point), lb, rb, prec)
    how = _is_zero(d, None) if sympy.count_ops(d) < _MAX_OPS else None
    if how:
        return "equal", how
    return "unknown", f"cannot decide whether {to_text(lv)} = {to_text(rv)}"


def _const_ball(v: Expr):
    for prec in _PRECS:
        try:
            return ball.evaluate(v, {}, prec)
        except (ball.Uncertain, ball.Unsupported):
            continue
        except ball.Undefined as exc:
            return str(exc)
    return "not evaluable"


def _special_points(left: _Side, right: _Side, found: list[Expr], domain: list[Expr]):
    """Exact points to check: the sides' own breakpoints and where either may be undefined,
    minus the excluded ones. Returns (points, reasons it could not locate)."""
    points: list[Expr] = []
    missing: list[str] = []
    for p in found:
        points.append(p)
    for side in (left, right):
        for kind, f, where in side.conditions:
            try:
                points += _bad_points(kind, f, where)
            except (SymderivError, NotImplementedError, TypeError, ValueError) as exc:
                missing.append(str(exc) if isinstance(exc, SymderivError) else f"cannot locate where {to_text(f)} is {kind}")
    out: list[Expr] = []
    for p in points:
        p = sympy.sympify(p)
        if any(_same_point(p, q) for q in domain) or any(_same_point(p, q) for q in out):
            continue
        out.append(p)
    return out, missing


def _same_point(p: Expr, q: Expr) -> bool:
    d = p - q
    if d == 0:
        return True
    if d.free_symbols:
        return sympy.simplify(d) == 0
    return _exact_sign(d) == 0

# ---------------------------------------------------------------------------------------------
# the engine


def prove_identity(
    lhs: Expr,
    rhs: Expr,
    *,
    params: Mapping[Symbol, Expr] | None = None,
    breakpoints: Sequence[Expr] | None = None,
    timeout: float | None = None,
    order_at: Mapping[Symbol, Expr] | None = None,
    lhs_domain: Sequence[tuple[str, Expr]] = (),
    rhs_domain: Sequence[tuple[str, Expr]] = (),
    exclude_own_breakpoints: bool = False,
) -> Verdict:
    """Decide ``lhs = rhs`` for every real ``z`` but the excluded points, for all parameter values.

    Args:
        lhs, rhs: SymPy expressions in :data:`symderiv.catalogue.z` and parameters (symbols
            with assumptions). ``Max``/``Min``/``Abs``/``sign``/``Heaviside``/``Piecewise``
            are allowed.
        params: ``{symbol: value}`` fixing some parameters; the others stay symbolic and the
            identity must hold for all their admissible values.
        breakpoints: the excluded points (the kinks of the activations involved); the
            identity is not asked there.
        timeout: seconds for the symbolic step; when exceeded the verdict is at best
            ``undecided`` (the certified search still runs).
        order_at: values for the parameters used only to order breakpoints (default: the
            catalogue's default for a catalogue parameter, else 1/2).
        lhs_domain, rhs_domain: extra ``(kind, f, where)`` conditions for where each side is
            defined (:attr:`symderiv.parse.Parsed.conditions`), for what SymPy cancelled.
        exclude_own_breakpoints: also exclude the sides' own breakpoints (the teaching
            checks, whose steps are claimed between the kinks only).

    Returns:
        A :class:`Verdict`.
    """
    started = time.monotonic()
    deadline = None if timeout is None else started + timeout
    lhs, rhs = as_expr(lhs), as_expr(rhs)
    lhs_domain, rhs_domain = list(lhs_domain), list(rhs_domain)
    if params:
        fix = dict(params)
        lhs, rhs = lhs.subs(fix), rhs.subs(fix)
        breakpoints = [sympy.sympify(b).subs(fix) for b in breakpoints or ()]
        lhs_domain = [(k, f.subs(fix), w.subs(fix)) for k, f, w in lhs_domain]
        rhs_domain = [(k, f.subs(fix), w.subs(fix)) for k, f, w in rhs_domain]
    symbols = sorted(set().union(lhs.free_symbols, rhs.free_symbols,
                                 *(f.free_symbols for _, f, _ in [*lhs_domain, *rhs_domain]),
                                 *(sympy.sympify(b).free_symbols for b in breakpoints or ())) - {z},
                     key=lambda s: s.name)
    if a in symbols:
        raise SymderivError("the identity still contains a; substitute a = g(z) first (verify_claim does)")
    for s in symbols:
        if s.is_real is not True:
            raise SymderivError(f"parameter {s.name} must be a real symbol")
    base = order_values(symbols, order_at)
    L, R = calculus.to_piecewise(lhs), calculus.to_piecewise(rhs)
    # where each side is defined is read from the expression as given: folding into one
    # Piecewise moves inner conditions (sqrt(z) >= 1) out of the branch that guarded them
    left, right = _Side(lhs, lhs_domain), _Side(rhs, rhs_domain)
    domain = [sympy.sympify(b) for b in breakpoints or ()]
    search_deadline = None if deadline is None else deadline + max(2.0, 0.25 * timeout)

    bps: list[Expr] = []
    own: list[Expr] = []
    failure = ""
    formulas: list = []
    intervals: list = []
    reparam = None
    try:
        with time_limit(timeout):
            own = _breakpoints([L, R], [], base)
            if exclude_own_breakpoints:
                domain = domain + [p for p in own if not any(_same_point(p, q) for q in domain)]
            found = _breakpoints([L, R], domain, base)
            base, (bps, located) = _untie(found, base, symbols, domain)
            intervals = _intervals(bps, located)
            reparam = _reparam(bps)
            if reparam is None:
                raise SymderivError("cannot express the order of the breakpoints as an assumption")
            for lo, hi, flo, fhi in intervals:
                samples = _interior_samples(flo, fhi)
                where = _where(lo, hi, reparam)
                formulas.append((_piece_formula(L, base, samples, where),
                                 _piece_formula(R, base, samples, where)))
    except BudgetExceeded:
        failure = f"time budget ({timeout:g} s) ran out in the symbolic step"
    except SymderivError as exc:
        failure = f"no symbolic proof: {exc}"
    except (NotImplementedError, TypeError, ValueError, AttributeError, RecursionError) as exc:
        failure = f"no symbolic proof: {type(exc).__name__}"
    if failure:
        try:
            bps = _breakpoints([L, R], domain, base) if not bps else bps
            _untie(bps, base, symbols, domain)
        except (SymderivError, NotImplementedError, TypeError, ValueError, AttributeError, RecursionError):
            bps = list(domain)
    param_sets = _param_sets(symbols, base, domain)

    def avoid(pv):
        out = []
        for b in domain:
            try:
                out.append(float(sympy.sympify(b).subs(pv)))
            except TypeError:
                pass
        return out

    # special points: the sides' own breakpoints and singular points, checked exactly
    specials, unlocated = [], []
    try:
        with time_limit(None if deadline is None else max(deadline - time.monotonic(), 1e-3)):
            specials, unlocated = _special_points(left, right, [p for p in own if p not in domain], domain)
    except BudgetExceeded:
        unlocated = ["time ran out locating where the sides are defined"]

    # a quick certified look first: most wrong claims fail at a typical point or at a breakpoint
    cert = _special_counterexample(left, right, specials, symbols, param_sets)
    if cert is None:
        cert = _certify(left, right, _spread(_points(symbols, param_sets[:1], bps, 0, avoid), 12), search_deadline)
    if cert is not None:
        return _refuted(cert, symbols)

    if failure:
        cert = _certify(left, right, _spread(_points(symbols, param_sets, bps, 30, avoid), None), search_deadline)
        if cert is not None:
            return _refuted(cert, symbols)
        return Verdict("undecided", f"{failure}; no certified counterexample found")

    # symbolic, piece by piece
    proved_all, reason, rewrites = True, "", []
    try:
        with time_limit(None if deadline is None else max(deadline - time.monotonic(), 1e-3)):
            for (lo, hi, _, _), (fL, fR) in zip(intervals, formulas, strict=True):
                how = _is_zero_on(fL - fR, lo, hi, deadline)
                if not how:
                    proved_all, reason = False, f"no symbolic proof on {_interval_text(lo, hi)}"
                    break
                rewrites.append(how)
    except BudgetExceeded:
        proved_all, reason = False, f"time budget ({timeout:g} s) ran out in the symbolic step"

    # the exact checks at the special points, for all parameter values
    checks: list[str] = []
    if proved_all:
        for p in specials:
            status, how = _check_point(left, right, {z: p})
            if status == "equal":
                checks.append(f"z = {to_text(p)}: {how}")
                continue
            proved_all, reason = False, f"no exact check at z = {to_text(p)} ({how})"
            break
    if proved_all and unlocated:
        proved_all, reason = False, unlocated[0]

    # the certified search, more points; confirmation of a proof
    n_random = 6 if proved_all else 30
    cert = _certify(left, right, _spread(_points(symbols, param_sets, bps, n_random, avoid), None), search_deadline)
    if cert is not None:
        verdict = _refuted(cert, symbols)
        if proved_all:  # the symbolic step was wrong: trust the certificate, say so
            return Verdict("refuted", verdict.method + "; it contradicts a symbolic simplification",
                           verdict.counterexample)
        return verdict
    assumptions, conditional = _order_assumptions(bps, domain)
    if proved_all and conditional:
        return Verdict("undecided", "symbolic proof only for parameters with " + ", ".join(conditional)
                       + " (an order of the claim's own breakpoints, not a property of the function); "
                       "no certified counterexample found")
    if proved_all:
        pieces = "; ".join(f"{_interval_text(lo, hi)} by {how}"
                           for (lo, hi, _, _), how in zip(intervals, rewrites, strict=True))
        method = f"symbolic: the difference is 0 on {len(intervals)} piece" + ("s" if len(intervals) != 1 else "")
        method += f" ({pieces})"
        if checks:
            method += "; exact at " + "; ".join(checks)
        if domain:
            method += "; excluded: z = " + ", ".join(to_text(d) for d in domain)
        return Verdict("proved", method, assumptions=assumptions)
    return Verdict("undecided", f"{reason}; no certified counterexample found "
                                f"(agreement at sample points is not a proof)")


def _spread(points: list[dict], limit: int | None) -> list[dict]:
    """Reorder so that any prefix samples every interval and parameter set (the high
    precisions only see a prefix); at most ``limit`` points."""
    if not points:
        return points
    order = list(range(0, len(points), 7)) + [i for i in range(len(points)) if i % 7]
    out = [points[i] for i in order]
    return out if limit is None else out[:limit]


def _special_counterexample(left, right, specials, symbols, param_sets) -> _Certificate | None:
    """A certified difference at a special point, for some parameter set."""
    for pv in param_sets:
        values = {s: pv[s] for s in symbols}
        for p in specials:
            point = sympy.sympify(p).subs(values)
            if point.free_symbols or point.is_real is False:
                continue
            status, got = _check_point(left, right, {z: point, **values})
            if status == "differs":
                got.values[z] = point
                for s in symbols:
                    got.values[s] = values[s]
                return got
    return None


def _refuted(cert: _Certificate, symbols: list[Symbol]) -> Verdict:
    if isinstance(cert.lhs, str) or isinstance(cert.rhs, str):
        how = "exact: one side is undefined at the point, the other is not"
    else:
        how = f"certified counterexample (Arb ball arithmetic, {cert.prec} bits: the difference excludes 0)"
    return Verdict("refuted", how, _report(cert, symbols))


def as_expr(x) -> Expr:
    """``x`` as a SymPy expression, binary floats as the exact rationals they are (a string is
    refused: text is parsed with ``parse_expr_safe``)."""
    if isinstance(x, str):
        raise TypeError("prove_identity takes SymPy expressions; parse text with parse_expr_safe")
    expr = sympy.sympify(x, strict=True)
    # a binary float means exactly its binary value (0.1 is not 1/10): no rounding can hide a difference
    return expr.xreplace({f: Rational(f) for f in expr.atoms(sympy.Float)})


def _intervals(bps: list[Expr], located: list[float]):
    edges = [-oo, *bps, oo]
    fl: list[float | None] = [None, *located, None]
    return [(edges[i], edges[i + 1], fl[i], fl[i + 1]) for i in range(len(edges) - 1)]


def _interval_text(lo: Expr, hi: Expr) -> str:
    return f"({to_text(lo)}, {to_text(hi)})"


def _order_assumptions(bps: list[Expr], domain: list[Expr]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Orders of consecutive breakpoints SymPy cannot prove: (allowed, conditional).

    Allowed: both points are ``domain`` breakpoints (the activation's own kinks, e.g.
    ``min_val < max_val``): the function is defined with that order. Conditional: any other;
    a proof needing one is not a proof for all parameter values.
    """
    allowed, conditional = [], []

    def in_domain(p: Expr) -> bool:
        return any(sympy.simplify(p - q) == 0 for q in domain)

    for lo, hi in itertools.pairwise(bps):
        gap = sympy.simplify(hi - lo)
        if gap.is_positive is not True:
            text = f"{to_text(lo)} < {to_text(hi)}"
            (allowed if in_domain(lo) and in_domain(hi) else conditional).append(text)
    return tuple(allowed), tuple(conditional)
