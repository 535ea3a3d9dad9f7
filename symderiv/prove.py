"""The proof engine: is ``lhs(z) = rhs(z)`` for every real z off the breakpoints?

Every equality symderiv claims is asked here, and the answer is one of three:

* ``proved`` — a *symbolic* proof: both sides are rewritten as ``Piecewise``
  (:func:`symderiv.calculus.to_piecewise`), the real line is cut at every
  breakpoint of either side (and at any extra ``breakpoints`` given), and on
  each open interval the difference of the two formulas simplifies to exactly
  0 under the symbols' assumptions (when a plain ``simplify`` does not
  suffice, the interval itself is carried into the assumptions by writing
  ``z = lo + t``, ``z = hi - t`` or ``z = lo + (hi - lo) t/(1 + t)`` with
  ``t > 0``). The proof is then confirmed numerically with mpmath; a numeric
  disagreement turns it into a refutation. Nothing numeric alone ever proves.
* ``refuted`` — a counterexample: a point z off the breakpoints (and parameter
  values, when the claim needed them) where the two sides differ by more than
  ``10**-40 * (1 + |lhs| + |rhs|)``, the difference evaluated at 50 and at
  100 digits and agreeing, then re-evaluated by SymPy's adaptive ``evalf`` at
  40 digits for the report. A difference as small as ``10**-30`` is found.
* ``undecided`` — neither: the symbolic step could not reach 0 (or ran out of
  time) and no counterexample was found. Numeric agreement is reported in
  ``method`` but is not a proof.

Parameters (any free symbol other than ``z``) stay symbolic with their
assumptions, and a claim must hold for all their admissible values: every
condition of a piece is decided for all of them (by the sign of each factor,
with the interval carried into the assumptions), and the counterexample search
tries several values per parameter (the catalogue's default, small, large).
The *domain* breakpoints (the ``breakpoints`` argument: an activation's kinks)
keep their order, which is part of the function's definition; when SymPy cannot
prove that order from the assumptions (``min_val < max_val`` for ``hardtanh``)
the verdict lists it in ``assumptions``. A proof that would need an order of the
claim's *own* breakpoints (threshold's ``value <= threshold``) is not a proof
for all parameter values: such a claim is ``undecided`` at best. Floats are
taken at their exact binary value (``0.1`` is not ``1/10``).

A claim that holds off the kinks but gives another value *at* a kink than the
chosen convention keeps its verdict; :func:`verify_claim` adds a ``kink_note``.

>>> from sympy import exp, tanh
>>> from symderiv.catalogue import z
>>> s = 1 / (1 + exp(-z))
>>> prove_identity(s.diff(z), s * (1 - s)).status
'proved'
>>> v = prove_identity(tanh(z).diff(z), 1 - tanh(z))
>>> v.status, v.counterexample["z"]
('refuted', '0.5')
>>> verify_claim("tanh", "1 - a**2").status
'proved'
>>> verify_claim("relu", "Max(0, sign(z))").kink_note is None
True
"""

from __future__ import annotations

import itertools
import math
import random
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import mpmath
import sympy
from sympy import Expr, Piecewise, Rational, S, Symbol, oo

from . import calculus
from .budget import time_limit
from .catalogue import Activation, a, all_activations, get, z
from .errors import (
    BadParameterValue,
    BudgetExceeded,
    ParseError,
    SymderivError,
    UnknownConvention,
    closest,
)
from .errors import UnknownParameter as UnknownParameterError
from .printing import to_text

__all__ = ["STATUSES", "Verdict", "identity_symbols", "prove_identity", "verify_claim", "verify_identity"]

#: The three verdicts.
STATUSES = ("proved", "refuted", "undecided")

#: Working precisions (decimal digits) of the numeric search; a counterexample must agree at both.
_DPS = (50, 100)
#: A difference counts when larger than this times (1 + |lhs| + |rhs|).
_MARGIN = mpmath.mpf(10) ** -40
#: Digits printed in a counterexample.
_REPORT_DIGITS = 40
#: simplify is tried only on expressions up to this many operations (it can run for minutes).
_MAX_OPS = 400


@dataclass(frozen=True)
class Verdict:
    """The answer to one claim.

    Attributes:
        status: ``"proved"``, ``"refuted"`` or ``"undecided"``.
        method: how the verdict was reached, one line.
        counterexample: when refuted, ``{"z", "lhs", "rhs", <param>: value...}`` as decimal
            strings (mpmath, 40 digits); else None.
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


def _order_values(symbols, given: Mapping[Symbol, Expr] | None) -> dict[Symbol, Expr]:
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
    if s.is_positive:
        pool = [Rational(1, 3), Rational(2), Rational(7, 2), Rational(1, 100), Rational(10)]
    elif s.is_negative:
        pool = [-Rational(1, 3), -Rational(2), -Rational(7, 2)]
    elif s.is_nonnegative:
        pool = [S.Zero, Rational(1, 3), Rational(2), Rational(10)]
    else:
        pool = [base + Rational(1, 2), base - Rational(3, 2), Rational(3), -Rational(5, 2), S.Zero]
    return [v for v in pool if v != base]


def _param_sets(symbols: list[Symbol], base: dict[Symbol, Expr], bps: list[Expr], n: int = 6):
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


def _order_signature(bps: list[Expr], values: Mapping[Symbol, Expr]):
    try:
        nums = [float(b.subs(values)) for b in bps]
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
        keyed = sorted(((float(p.subs(values)), p) for p in found), key=lambda kp: kp[0])
    except TypeError:
        raise SymderivError("cannot order the breakpoints (a parameter without a value?)") from None
    xs = [x for x, _ in keyed]
    if any(x1 == x2 for x1, x2 in itertools.pairwise(xs)):
        return None
    return [p for _, p in keyed], xs


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
    forms = {calculus._choose(expr, {**nums, z: t}) for t in samples}
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


def _is_zero(d: Expr, deadline: float | None) -> bool:
    """True only when SymPy reduces ``d`` to exactly 0 (False means: not shown)."""
    if d == 0:
        return True
    if not d.has(z) and d.is_number:
        return False
    candidates = [
        lambda e: sympy.expand(e),
        lambda e: sympy.cancel(sympy.together(e)),
        lambda e: sympy.simplify(e),
        lambda e: sympy.simplify(e.rewrite(sympy.exp)),
        lambda e: sympy.simplify(sympy.powsimp(sympy.expand(e.rewrite(sympy.exp)), force=False)),
        # numerically safer spellings (log1p, expm1, ...) back to elementary functions
        lambda e: sympy.simplify(e.rewrite(sympy.log).rewrite(sympy.exp)),
    ]
    for step in candidates:
        _check_time(deadline)
        if sympy.count_ops(d) > _MAX_OPS:
            return False
        try:
            if step(d) == 0:
                return True
        except (TypeError, ValueError, NotImplementedError, RecursionError, ZeroDivisionError):
            continue
    return False


def _is_zero_on(d: Expr, lo: Expr, hi: Expr, deadline: float | None) -> bool:
    """``d == 0`` on (lo, hi), trying the interval as an assumption when plain simplify fails."""
    if _is_zero(d, deadline):
        return True
    if lo == -oo and hi == oo:
        return False
    return _is_zero(d.subs(_where(lo, hi, {})), deadline)


def _check_time(deadline: float | None) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise BudgetExceeded("symbolic step out of time")


# ---------------------------------------------------------------------------------------------
# the numeric step


def _lambdify(expr: Expr, args: list[Symbol]):
    # lambdify prints the SymPy tree (built by the safe parser or by us), never user text
    return sympy.lambdify(args, expr, modules="mpmath")


def _mp(v: Expr) -> mpmath.mpf:
    """An exact SymPy number as an mpmath number at the working precision."""
    if v.is_Rational:
        return mpmath.mpf(v.p) / v.q
    return mpmath.mpf(str(sympy.N(v, mpmath.mp.dps + 10)))


def _eval(f, args) -> mpmath.mpc | mpmath.mpf | None:
    try:
        v = f(*args)
    except (ZeroDivisionError, ValueError, OverflowError, TypeError):
        return None
    if isinstance(v, (int, float)):
        v = mpmath.mpf(v)
    return v


def _finite(v) -> bool:
    return v is not None and mpmath.isfinite(v)


def _point_differs(fl, fr, zval: Rational, pvals: list[Expr]) -> bool | None:
    """True: a difference above the margin at both precisions; False: agree; None: no value."""
    results = []
    for dps in _DPS:
        with mpmath.workdps(dps):
            args = [_mp(zval), *(_mp(v) for v in pvals)]
            lv, rv = _eval(fl, args), _eval(fr, args)
            if not (_finite(lv) and _finite(rv)):
                return None
            d = lv - rv
            results.append((abs(d), abs(lv) + abs(rv)))
    (d1, s1), (d2, s2) = results
    if d2 <= _MARGIN * (1 + s2):
        return False
    if d1 > _MARGIN * (1 + s1) and abs(d1 - d2) <= mpmath.mpf(10) ** -10 * d2:
        return True
    return None


def _search_points(lo: float | None, hi: float | None, rng: random.Random, n_random: int) -> list[Rational]:
    """Typical and adversarial points strictly inside (lo, hi), as short exact decimals."""
    if lo is None and hi is None:
        base = [0.5, -0.5, 0.0, 1.0, -1.0, 2.0, -2.0, 3.3, -3.3, 10.0, -10.0, 0.001, -0.001,
                30.0, -30.0]
        xs = base + [round(rng.uniform(-8, 8), 3) for _ in range(n_random)]
    elif lo is None:
        xs = [hi - d for d in (0.5, 1.0, 2.0, 0.001, 3.3, 10.0, 30.0, 1e-6)]
        xs += [round(hi - rng.expovariate(0.3), 3) for _ in range(n_random)]
    elif hi is None:
        xs = [lo + d for d in (0.5, 1.0, 2.0, 0.001, 3.3, 10.0, 30.0, 1e-6)]
        xs += [round(lo + rng.expovariate(0.3), 3) for _ in range(n_random)]
    else:
        w = hi - lo
        xs = [lo + w * f for f in (0.5, 0.25, 0.75, 0.1, 0.9, 1e-3, 1 - 1e-3)]
        xs += [lo + w * rng.uniform(0.001, 0.999) for _ in range(n_random)]
    digits = 9
    if lo is not None and hi is not None and hi > lo:  # a narrow interval needs more decimals
        digits = max(9, 4 - math.floor(math.log10(hi - lo)))
    out = []
    for x in xs:
        r = Rational(repr(round(x, digits)))
        if (lo is None or r > Rational(repr(lo))) and (hi is None or r < Rational(repr(hi))) and r not in out:
            out.append(r)
    return out


def _report(lhs: Expr, rhs: Expr, zval: Rational, pvals: Mapping[Symbol, Expr]) -> dict[str, str]:
    vals = {z: zval, **pvals}

    def num(e: Expr) -> str:
        v = e.subs(vals).evalf(_REPORT_DIGITS)
        return to_text(v)

    out = {"z": _decimal(zval), "lhs": num(lhs), "rhs": num(rhs)}
    for s, v in sorted(pvals.items(), key=lambda kv: kv[0].name):
        out[s.name] = _decimal(v)
    return out


def _decimal(v: Expr) -> str:
    if v.is_Integer:
        return str(v)
    if v.is_Rational:
        text = str(sympy.Float(v, 30))
        if Rational(text) == v:
            return text.rstrip("0") if "." in text else text
        return str(v)
    return to_text(v)


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
) -> Verdict:
    """Decide ``lhs = rhs`` for every real ``z`` off the breakpoints, for all parameter values.

    Args:
        lhs, rhs: SymPy expressions in :data:`symderiv.catalogue.z` and parameters (symbols
            with assumptions). ``Max``/``Min``/``Abs``/``sign``/``Piecewise`` are allowed.
        params: ``{symbol: value}`` fixing some parameters; the others stay symbolic and the
            identity must hold for all their admissible values.
        breakpoints: extra points to cut at (e.g. the kinks of an activation), besides those
            of ``lhs`` and ``rhs``; the identity is not asked at any breakpoint.
        timeout: seconds for the symbolic step; when exceeded the verdict is at best
            ``undecided`` (a counterexample search still runs).
        order_at: values for the parameters used only to order breakpoints (default: the
            catalogue's default for a catalogue parameter, else 1/2).

    Returns:
        A :class:`Verdict`.
    """
    started = time.monotonic()
    deadline = None if timeout is None else started + timeout
    lhs, rhs = _as_expr(lhs), _as_expr(rhs)
    if params:
        lhs, rhs = lhs.subs(dict(params)), rhs.subs(dict(params))
        breakpoints = [sympy.sympify(b).subs(dict(params)) for b in breakpoints or ()]
    symbols = sorted((lhs.free_symbols | rhs.free_symbols) - {z}, key=lambda s: s.name)
    if a in symbols:
        raise SymderivError("the identity still contains a; substitute a = g(z) first (verify_claim does)")
    for s in symbols:
        if s.is_real is not True:
            raise SymderivError(f"parameter {s.name} must be a real symbol")
    base = _order_values(symbols, order_at)
    L, R = calculus.to_piecewise(lhs), calculus.to_piecewise(rhs)
    domain = [sympy.sympify(b) for b in breakpoints or ()]
    guards = _guards([L, R], domain, symbols)
    fl, fr = _lambdify(lhs, [z, *symbols]), _lambdify(rhs, [z, *symbols])
    bps: list[Expr] = []
    try:
        with time_limit(timeout):
            found = _breakpoints([L, R], domain, base)
            base, (bps, located) = _untie(found, base, symbols, domain)
            intervals = _intervals(bps, located)
            reparam = _reparam(bps)
            if reparam is None:
                raise SymderivError("cannot express the order of the breakpoints as an assumption")
            formulas = []
            for lo, hi, flo, fhi in intervals:
                samples = _interior_samples(flo, fhi)
                where = _where(lo, hi, reparam)
                formulas.append((_piece_formula(L, base, samples, where),
                                 _piece_formula(R, base, samples, where)))
    except BudgetExceeded:
        return _numeric_only(lhs, rhs, fl, fr, symbols, base, domain, guards,
                             f"time budget ({timeout:g} s) ran out in the symbolic step")
    except SymderivError as exc:
        return _numeric_only(lhs, rhs, fl, fr, symbols, base, domain, guards, f"no symbolic proof: {exc}")
    except (NotImplementedError, TypeError, ValueError, AttributeError, RecursionError) as exc:
        return _numeric_only(lhs, rhs, fl, fr, symbols, base, domain, guards,
                             f"no symbolic proof: {type(exc).__name__}")
    assumptions, conditional = _order_assumptions(bps, domain)
    param_sets = _param_sets(symbols, base, domain)

    # a quick numeric look first: most wrong claims fail at a typical point
    found = _search(fl, fr, symbols, param_sets, bps, 0, guards)
    if found is not None:
        zval, pvals = found
        return Verdict("refuted", "numeric counterexample (mpmath, 50 and 100 digits)",
                       _report(lhs, rhs, zval, pvals))

    # symbolic, piece by piece
    proved_all, reason = True, ""
    try:
        with time_limit(None if deadline is None else max(deadline - time.monotonic(), 1e-3)):
            for (lo, hi, _, _), (fL, fR) in zip(intervals, formulas, strict=True):
                if not _is_zero_on(fL - fR, lo, hi, deadline):
                    proved_all, reason = False, f"no symbolic proof on {_interval_text(lo, hi)}"
                    break
    except BudgetExceeded:
        proved_all, reason = False, f"time budget ({timeout:g} s) ran out in the symbolic step"

    # numeric: refutation search, or confirmation of the proof
    n_random = 6 if proved_all else 30
    found = _search(fl, fr, symbols, param_sets, bps, n_random, guards)
    if found is not None:
        zval, pvals = found
        how = "numeric counterexample (mpmath, 50 and 100 digits)"
        if proved_all:  # the symbolic step was wrong: trust the evaluation, say so
            how += "; it contradicts a symbolic simplification"
        return Verdict("refuted", how, _report(lhs, rhs, zval, pvals))
    pieces_text = f"{len(intervals)} piece" + ("s" if len(intervals) != 1 else "")
    if proved_all and conditional:
        return Verdict("undecided", "symbolic proof only for parameters with " + ", ".join(conditional)
                       + " (an order of the claim's own breakpoints, not a property of the function); "
                       "no counterexample found numerically")
    if proved_all:
        method = (f"symbolic: difference simplifies to 0 on {pieces_text} under the assumptions; "
                  f"confirmed with mpmath at 50 digits at {len(param_sets)} parameter set(s)")
        return Verdict("proved", method, assumptions=assumptions)
    return Verdict("undecided", f"{reason}; no counterexample found numerically "
                                f"(agreement at sample points is not a proof)")


def _as_expr(x) -> Expr:
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


def _guards(exprs, extra, symbols):
    """Functions of (z, params) that vanish on a breakpoint: no point is judged there."""
    fns = []
    for e in exprs:
        for rel in _relationals(e):
            fns.append(_lambdify(rel.lhs - rel.rhs, [z, *symbols]))
    for b in extra:
        fns.append(_lambdify(z - sympy.sympify(b), [z, *symbols]))
    return fns


def _on_a_breakpoint(guards, zval: Rational, pvals) -> bool:
    with mpmath.workdps(50):
        args = [_mp(zval), *(_mp(v) for v in pvals)]
        for g in guards:
            v = _eval(g, args)
            if v is not None and mpmath.isfinite(v) and abs(v) < mpmath.mpf(10) ** -30:
                return True
    return False


def _search(fl, fr, symbols, param_sets, bps, n_random, guards=()):
    rng = random.Random(20240611)
    for pv in param_sets:
        try:
            located = sorted(float(b.subs(pv)) for b in bps)
        except TypeError:
            continue
        edges: list[float | None] = [None, *located, None]
        pvals = [pv[s] for s in symbols]
        for i in range(len(edges) - 1):
            for zval in _search_points(edges[i], edges[i + 1], rng, n_random):
                if _point_differs(fl, fr, zval, pvals) and not _on_a_breakpoint(guards, zval, pvals):
                    return zval, {s: pv[s] for s in symbols}
    return None


def _numeric_only(lhs, rhs, fl, fr, symbols, base, bps, guards, reason) -> Verdict:
    found = _search(fl, fr, symbols, _param_sets(symbols, base, bps), bps, 30, guards)
    if found is not None:
        zval, pvals = found
        return Verdict("refuted", "numeric counterexample (mpmath, 50 and 100 digits)",
                       _report(lhs, rhs, zval, pvals))
    return Verdict("undecided", f"{reason}; no counterexample found numerically")


# ---------------------------------------------------------------------------------------------
# claims about an activation's derivative


def verify_claim(
    activation: str | Activation,
    claim: str | Expr,
    params: Mapping[str, object] | None = None,
    convention: str = "torch",
    *,
    timeout: float | None = None,
) -> Verdict:
    """Check ``g'(z) = claim`` for every real z off the kinks, with ``a = g(z)``.

    Args:
        activation: a catalogue name or an :class:`~symderiv.catalogue.Activation`.
        claim: text in ``z``, ``a`` and the activation's parameter names (parsed by
            :func:`~symderiv.parse.parse_expr_safe`; unknown names are errors), or a SymPy
            expression in the same symbols.
        params: ``{name: value}`` fixing parameters; the others stay symbolic and the claim
            must hold for all their admissible values.
        convention: the kink profile the claim's values at kinks are compared with
            (``torch``, ``jax``, ``left``, ``right``, ``mid``).

    >>> verify_claim("sigmoid", "a*(1 - a)").status
    'proved'
    >>> verify_claim("softsign", "1 - a**2").status
    'refuted'
    >>> verify_claim("elu", "a + alpha", params={"alpha": 1}).status  # only true for z < 0
    'refuted'
    """
    from .derivation import resolve

    if convention not in calculus.CONVENTIONS:
        raise UnknownConvention(
            f"unknown convention {convention!r} (choose from {', '.join(calculus.CONVENTIONS)})"
        )
    act, fixed = resolve(activation, params)
    if isinstance(claim, str):
        from .parse import parse_expr_safe

        claim_expr = parse_expr_safe(claim, act.symbols)
    else:
        claim_expr = _as_expr(claim)
        allowed = set(act.symbols.values())
        unknown = claim_expr.free_symbols - allowed
        if unknown:
            raise ParseError(f"unknown names in the claim: {', '.join(sorted(s.name for s in unknown))}")
    expr = act.expr.subs(fixed)
    order_at = {p.symbol: p.default for p in act.params if p.default is not None}
    order_at.update(fixed)
    claim_expr = claim_expr.subs(fixed)
    kinks = calculus.kinks(expr, _conventions(act, fixed), order_at)
    lhs = calculus.derivative(expr, 1, order_at)
    rhs = claim_expr.subs(a, expr)
    verdict = prove_identity(lhs, rhs, breakpoints=[k.z for k in kinks], timeout=timeout,
                             order_at=order_at)
    if verdict.status == "proved" and not _derivative_agrees(expr, lhs, [k.z for k in kinks], order_at):
        # never prove against a g' that an independent numerical derivative contradicts
        return Verdict("undecided", "internal check failed: g' disagrees with mpmath.diff of g")
    if verdict.status == "refuted":
        return verdict
    note = _kink_note(kinks, claim_expr, expr, convention)
    if note is None:
        return verdict
    return Verdict(verdict.status, verdict.method, verdict.counterexample, note, verdict.assumptions)


def _derivative_agrees(g: Expr, dg: Expr, kinks: list[Expr], order_at: Mapping[Symbol, Expr]) -> bool:
    """g' from :mod:`symderiv.calculus` against mpmath's numerical derivative of g, 30 digits."""
    values = {s: order_at.get(s, Rational(1, 2)) for s in (g.free_symbols | dg.free_symbols) - {z}}
    gf, df = _lambdify(g.subs(values), [z]), _lambdify(dg.subs(values), [z])
    located = sorted(float(k.subs(values)) for k in kinks)
    edges: list[float | None] = [None, *located, None]
    with mpmath.workdps(40):
        for i in range(len(edges) - 1):
            for x in _search_points(edges[i], edges[i + 1], random.Random(5), 0)[:3]:
                xm = _mp(x)
                try:
                    ref, got = mpmath.diff(gf, xm), _eval(df, [xm])
                except (ZeroDivisionError, ValueError, TypeError):
                    continue
                if got is not None and abs(ref - got) > mpmath.mpf(10) ** -25 * (1 + abs(ref)):
                    return False
    return True


def identity_symbols() -> dict[str, Symbol]:
    """Names usable in a general identity: ``z`` and every catalogue parameter name."""
    out: dict[str, Symbol] = {"z": z}
    for act in all_activations():
        for p in act.params:
            out.setdefault(p.name, p.symbol)
    return out


def verify_identity(
    lhs: str,
    rhs: str,
    params: Mapping[str, object] | None = None,
    *,
    timeout: float | None = None,
) -> Verdict:
    """Check the identity ``lhs = rhs`` given as text in ``z`` for every real z off the breakpoints.

    The catalogue's activations may be called (``sigmoid(z)``, parameters symbolic) and the
    catalogue's parameter names (``alpha``, ``beta``, ...) stand for those parameters;
    ``params`` fixes some of them. Any other name is an error.

    >>> verify_identity("sigmoid(z)*(1 - sigmoid(z))", "exp(-z)/(1 + exp(-z))**2").status
    'proved'
    >>> verify_identity("softplus(z)", "log(1 + exp(z))", {"beta": 2}).status
    'refuted'
    """
    from .derivation import activation_functions
    from .parse import parse_expr_safe, parse_number

    symbols = identity_symbols()
    funcs = activation_functions()
    left = parse_expr_safe(lhs, symbols, functions=funcs)
    right = parse_expr_safe(rhs, symbols, functions=funcs)
    fixed: dict[Symbol, Expr] = {}
    for name, raw in (params or {}).items():
        if name not in symbols or name == "z":
            raise UnknownParameterError(f"unknown parameter {name!r}" + closest(name, symbols))
        try:
            value = parse_number(str(raw)) if not isinstance(raw, Expr) else raw
        except ParseError as exc:
            raise BadParameterValue(f"bad value for parameter {name}: {exc}") from None
        sym = symbols[name]
        for assumption in ("positive", "nonnegative", "negative"):
            if getattr(sym, f"is_{assumption}") and getattr(value, f"is_{assumption}") is False:
                raise BadParameterValue(f"parameter {name} must be {assumption}, got {raw}")
        fixed[sym] = value
    return prove_identity(left, right, params=fixed, timeout=timeout)


def _conventions(act: Activation, fixed: Mapping[Symbol, Expr]):
    return {fw: {sympy.sympify(k).subs(fixed): v for k, v in table.items()}
            for fw, table in act.conventions.items()}


def _kink_note(kinks, claim_expr: Expr, expr: Expr, convention: str) -> str | None:
    notes = []
    for k in kinks:
        expected = k.values.get(convention)
        if expected is None:
            continue
        at = claim_expr.subs(a, calculus.to_piecewise(expr).subs(z, k.z)).subs(z, k.z)
        at = sympy.simplify(calculus.to_piecewise(at))
        if at.has(sympy.nan, sympy.zoo) or at.is_finite is False:
            continue
        if sympy.simplify(at - expected) != 0:
            notes.append(f"at the kink z = {to_text(k.z)} the claim gives {to_text(at)}, "
                         f"{convention} uses {to_text(expected)}")
    return "; ".join(notes) or None


def _get(name):  # pragma: no cover - convenience for doctests
    return get(name)
