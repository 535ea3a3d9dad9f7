r"""a-forms: g'(z) written in terms of the output a = g(z), derived, never tabulated.

Frameworks store the output of an activation for the backward pass, so they want
g' as a function of a: sigmoid' = a(1 - a), tanh' = 1 - a². :func:`aform` finds such
a form automatically:

1. cut the real line into the pieces of g (:func:`symderiv.calculus.pieces`);
2. on a piece where g is constant, a = c and g' = 0 there;
3. on any other piece, solve a = g(z) for z over the reals (``sympy.solve``, with ``a``
   carrying the sign of the piece's image), keep the root that maps the piece back onto
   itself, and substitute it into g': F(a) = g'(z(a));
4. assemble a ``Piecewise`` in a whose conditions are the images of the pieces (the
   lowest image has no lower bound and the highest no upper bound, so every a in the
   range of g is covered; a-values g never takes fall to the nearest branch);
5. **check the result back** with :func:`symderiv.prove.prove_identity`:
   g'(z) = F(g(z)) for every real z off the kinks, symbolically piece by piece and with
   mpmath. Only a ``proved`` a-form is returned.

An a-form exists only where every z with the same a has the same slope. Where g is not
injective (gelu, gelu_tanh, silu, mish, hardswish) the a-form is None and the note gives a
witness: two z with the same a and different g', found and evaluated with mpmath.

At a kink the a-form makes no claim, like the derivative itself: relu's a-form
``Piecewise((0, a <= 0), (1, True))`` gives 0 at a = 0, which is the slope of every
z < 0 (all of which have a = 0) and happens to be PyTorch's and JAX's value at z = 0;
leaky_relu's ``Piecewise((alpha, a < 0), (1, a > 0))`` is ``nan`` at a = 0, the image
of its kink only.

>>> from symderiv.catalogue import get
>>> aform(get("sigmoid").expr, {})
(a*(1 - a), None)
>>> aform(get("tanh").expr, {})
(1 - a**2, None)
>>> aform(get("relu").expr, {})
(Piecewise((0, a <= 0), (1, True)), None)
>>> form, note = aform(get("silu").expr, {})
>>> form is None and note.startswith("no a-form: g is not injective")
True
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass

import mpmath
import sympy
from sympy import Abs, And, Eq, Expr, Piecewise, S, Symbol, oo

from . import calculus
from .catalogue import a, z
from .errors import SymderivError

__all__ = ["aform", "witness"]

_DPS = 50
#: Seconds the a-form search may take (a custom expression can make ``solve`` run for minutes).
TIMEOUT = 10.0
#: Pieces with more operations than this are not inverted.
_MAX_OPS = 60


@dataclass(frozen=True)
class _Branch:
    lo: Expr  # image bounds (lo == hi for a constant piece)
    hi: Expr
    form: Expr
    lo_num: float
    hi_num: float

    @property
    def point(self) -> bool:
        return self.lo_num == self.hi_num


def aform(expr: Expr, fixed: Mapping[Symbol, Expr] | None = None,
          timeout: float | None = None) -> tuple[Expr | None, str | None]:
    """g' in terms of ``a = g(z)``, proved, or None with a note saying why not.

    Args:
        expr: the definition g(z), fixed parameters already substituted.
        fixed: ``{symbol: value}`` of the fixed parameters (used to order pieces).
        timeout: seconds for the search (default :data:`TIMEOUT`); the generator gives more,
            so that what it writes never depends on how busy the machine is.

    Returns:
        ``(form, note)``: ``form`` a SymPy expression in :data:`~symderiv.catalogue.a` and
        the free parameters, valid for every real z off the kinks (``Piecewise`` in ``a``
        where g is piecewise); or ``(None, note)`` with the reason, e.g. a witness of
        non-injectivity.
    """
    from .budget import time_limit
    from .errors import BudgetExceeded

    timeout = TIMEOUT if timeout is None else timeout
    try:
        with time_limit(timeout):
            return _aform(expr, fixed)
    except BudgetExceeded:
        return None, f"no a-form: the search ran out of its {timeout:g} s budget"


def _aform(expr: Expr, fixed: Mapping[Symbol, Expr] | None) -> tuple[Expr | None, str | None]:
    from .prove import order_values

    fixed = dict(fixed or {})
    symbols = sorted(expr.free_symbols - {z}, key=lambda s: s.name)
    order_at = order_values(symbols, fixed)
    order_at.update(fixed)
    try:
        pieces = calculus.pieces(expr, order_at)
    except SymderivError as exc:
        return None, f"no a-form: {exc}"
    branches = []
    for p in pieces:
        try:
            b = _branch(p, order_at, single=len(pieces) == 1)
        except (SymderivError, NotImplementedError, ValueError, TypeError, ZeroDivisionError):
            b = None
        if b is None:
            return None, _why_not(expr, order_at, f"a = {p.expr} cannot be solved for z in closed form "
                                                  f"on {_interval(p)}")
        branches.append(b)
    form = _assemble(branches)
    if form is None:
        return None, _why_not(expr, order_at, "the images of the pieces overlap or cannot be ordered "
                                              "for all parameter values")
    form, reason = _checked(expr, form, order_at)
    if form is None:
        return None, _why_not(expr, order_at, reason)
    return form, None


def _why_not(expr: Expr, order_at, reason: str) -> str:
    """A witness of non-injectivity when there is one, else ``reason``."""
    try:
        w = witness(expr, order_at)
    except (ValueError, TypeError, ZeroDivisionError, mpmath.libmp.NoConvergence):
        w = None
    return w if w is not None else f"no a-form: {reason}"


def _interval(p: calculus.Piece) -> str:
    return f"({p.lo}, {p.hi})"


def _bound(f: Expr, point: Expr, side: str) -> Expr:
    if point in (oo, -oo):
        return sympy.limit(f, z, point)
    return calculus.one_sided_limit(f, point, side)


def _branch(p: calculus.Piece, order_at: Mapping[Symbol, Expr], single: bool = False) -> _Branch | None:
    f = p.expr
    if not f.has(z):
        c = sympy.sympify(f)
        num = float(c.subs(order_at))
        return _Branch(c, c, S.Zero, num, num)
    if sympy.count_ops(f) > _MAX_OPS:
        return None
    slope = sympy.diff(f, z)
    if single:  # one piece: no conditions needed; the image matters only to sign a (below)
        form = _invert(f, slope, a, p, order_at)
        if form is None:
            return None
        if not form.has(Abs, sympy.sign) and not _has_root(form):
            return _Branch(-oo, oo, _tidy(form), -math.inf, math.inf)
    lo_img, hi_img = _bound(f, p.lo, "+"), _bound(f, p.hi, "-")
    lo_num, hi_num = float(lo_img.subs(order_at)), float(hi_img.subs(order_at))
    if lo_num > hi_num:
        lo_img, hi_img, lo_num, hi_num = hi_img, lo_img, hi_num, lo_num
    # a carries the sign of the image while solving, so roots simplify (|a| -> a)
    if sympy.simplify(lo_img).is_nonnegative:
        av = Symbol("a", positive=True)
    elif sympy.simplify(hi_img).is_nonpositive:
        av = Symbol("a", negative=True)
    else:
        av = a
    form = _invert(f, slope, av, p, order_at)
    if form is None:
        return None
    return _Branch(lo_img, hi_img, _tidy(form.subs(av, a)), lo_num, hi_num)


def _has_root(e: Expr) -> bool:
    return any(p.exp.is_Rational and not p.exp.is_Integer for p in e.atoms(sympy.Pow))


def _invert(f: Expr, slope: Expr, av: Symbol, p: calculus.Piece, order_at) -> Expr | None:
    """F(a) = g'(z(a)) with z(a) the root of a = f(z) lying in the piece.

    First with f as a function of one generator u (``exp(k z)``, ``tanh(z)``, ...): solve
    ``a = f(u)`` for u (algebraic, fast) and write g' in u; else solve for z itself.
    """
    sample = _inside(p, order_at)
    a_sample = f.subs(order_at).subs(z, sample)
    U = sympy.Dummy("u")
    for gen in _generators(f):
        f_u, slope_u = f.subs(gen, U), slope.subs(gen, U)
        if f_u.has(z) or slope_u.has(z):
            continue
        form = _root_form(f_u, slope_u, U, av, gen.subs(order_at).subs(z, sample), a_sample, order_at)
        if form is not None:
            return form
    if any(e.has(z) for e in f.atoms(sympy.Function)):
        return None  # transcendental in z in more than one way: solve() would not terminate soon
    return _root_form(f, slope, z, av, sample, a_sample, order_at)


def _generators(f: Expr) -> list[Expr]:
    gens = [e for e in f.atoms(sympy.exp, sympy.tanh, sympy.Function) if e.has(z)]
    return sorted(set(gens), key=lambda e: (sympy.count_ops(e), str(e)))


def _root_form(f_u, slope_u, u, av, u_sample, a_sample, order_at) -> Expr | None:
    roots = sympy.solve(f_u - av, u)
    for r in roots:
        r = _real_odd_roots(r)
        back = r.subs(order_at).subs(av, a_sample)
        try:
            ok = abs(complex(sympy.N(back - u_sample, 30))) < 1e-20
        except (TypeError, ValueError):
            ok = False
        if ok:
            return _simplest(slope_u.subs(u, r))
    return None


def _real_odd_roots(r: Expr) -> Expr:
    """``x**(p/q)`` with q odd as the real root ``sign(x)**p * |x|**(p/q)`` (solve gives the principal one)."""
    def odd(e):
        return e.is_Pow and e.exp.is_Rational and not e.exp.is_Integer and e.exp.q % 2 == 1 \
            and e.base.is_real is not False and e.base.is_nonnegative is not True

    return r.replace(odd, lambda e: sympy.sign(e.base) ** e.exp.p * Abs(e.base) ** e.exp)


def _inside(p: calculus.Piece, order_at) -> Expr:
    lo = None if p.lo == -oo else p.lo.subs(order_at)
    hi = None if p.hi == oo else p.hi.subs(order_at)
    if lo is None and hi is None:
        return sympy.Rational(3, 7)
    if lo is None:
        return hi - sympy.Rational(3, 7)
    if hi is None:
        return lo + sympy.Rational(3, 7)
    return (lo + hi) / 2


def _simplest(form: Expr) -> Expr:
    # sqrt of a perfect square (squareplus): factor under the root so SymPy can take it
    form = form.replace(lambda e: e.is_Pow and e.exp in (S.Half, -S.Half),
                        lambda e: sympy.sqrt(sympy.factor(e.base)) ** (2 * e.exp))
    cands = [form, sympy.simplify(form)]
    cands.append(sympy.factor(cands[-1]))
    if cands[-1].has(sympy.exp, sympy.log):
        cands.append(sympy.simplify(sympy.expand(cands[1])))
    return min(cands, key=lambda e: (sympy.count_ops(e), len(str(e))))


def _tidy(form: Expr) -> Expr:
    """A readable form: factored where that is shorter (a - a**2 -> a*(1 - a), (1 - |a|)**2)."""
    cands = [form, sympy.factor(form), sympy.expand(form), -sympy.factor(-form)]
    best = min(cands, key=lambda e: (sympy.count_ops(e), len(str(e))))
    if str(best).startswith("-"):  # a*(1 - a) reads better than -a*(a - 1)
        for c in cands:
            if sympy.count_ops(c) <= sympy.count_ops(best) + 1 and not str(c).startswith("-"):
                best = c
                break
    # (1 - |a|)**2, not (|a| - 1)**2: an even power of a base starting with a minus sign
    return best.replace(
        lambda e: e.is_Pow and e.exp.is_even and e.base.is_Add and e.base.as_coeff_Add()[0].is_negative,
        lambda e: (-e.base) ** e.exp,
    )


def _assemble(branches: list[_Branch]) -> Expr | None:
    """A Piecewise in a over the images, lowest first; None when images overlap."""
    if len(branches) == 1:
        return branches[0].form
    order = sorted(branches, key=lambda b: (b.lo_num, b.hi_num))
    for x, y in itertools.pairwise(order):
        if x.hi_num > y.lo_num or (x.hi_num == y.lo_num and x.point and y.point):
            if not (x.point and y.point and x.form == y.form):
                return None
    merged: list[_Branch] = []
    for b in order:  # a constant value reached by two pieces with the same slope is one branch
        if merged and merged[-1].point and b.point and merged[-1].lo_num == b.lo_num:
            continue
        merged.append(b)
    args = []
    for i, b in enumerate(merged):
        first, last = i == 0, i == len(merged) - 1
        if b.point:
            cond = a <= b.lo if first else a >= b.lo if last else Eq(a, b.lo)
        else:
            parts = []
            if not first:
                parts.append(a > b.lo)
            if not last:
                parts.append(a < b.hi)
            cond = And(*parts)
        args.append((b.form, cond))
    return _compact(args)


def _compact(args: list[tuple[Expr, object]]) -> Expr:
    """``F(|a|)`` for two branches a < 0 / a > 0 with F_left(a) = F_right(-a); else the Piecewise."""
    if len(args) == 2 and args[0][1] == (a < 0) and args[1][1] == (a > 0):
        left, right = args[0][0], args[1][0]
        if sympy.simplify(left - right.subs(a, -a)) == 0:
            return right.subs(a, Abs(a))
    return Piecewise(*args)


def _checked(expr: Expr, form: Expr, order_at) -> tuple[Expr | None, str | None]:
    from .prove import prove_identity

    lhs = calculus.derivative(expr, 1, order_at)
    kinks = [k.z for k in calculus.kinks(expr, None, order_at)] if expr.has(Piecewise, sympy.Max,
                                                                          sympy.Min, Abs) else []
    v = prove_identity(lhs, form.subs(a, expr), breakpoints=kinks, order_at=order_at)
    if v.status == "proved":
        return form, None
    if v.status == "refuted":
        ce = ", ".join(f"{k} = {val}" for k, val in (v.counterexample or {}).items())
        where = " (found at the parameters' default values)" if expr.free_symbols - {z} else ""
        return None, f"the candidate {form}{where} fails at {ce}"
    return None, f"the candidate {form} could not be proved ({v.method})"


# ---------------------------------------------------------------------------------------------
# witnesses of non-injectivity


def witness(expr: Expr, values: Mapping[Symbol, Expr] | None = None) -> str | None:
    """Two z with the same a = g(z) and different g'(z), when there are such (else None).

    Found numerically (a grid over [-40, 40] for sign changes of g', then mpmath root
    finding at 50 digits) at the parameter ``values``; a ``None`` is not a proof of
    injectivity (the a-form's own proof is).

    >>> from symderiv.catalogue import get
    >>> print(witness(get("gelu").expr))  # doctest: +ELLIPSIS
    no a-form: g is not injective: g(-2.0) = g(-0.09877...) = -0.04550026389... but g'(-2.0) = -0.0852... and g'(-0.09877...) = 0.4214...
    """
    values = dict(values or {})
    g_expr = calculus.to_piecewise(expr.subs(values))
    if g_expr.free_symbols - {z}:
        return None
    g = sympy.lambdify(z, g_expr, "mpmath")
    dg = sympy.lambdify(z, sympy.diff(g_expr, z), "mpmath")  # branch by branch: fine off the kinks
    with mpmath.workdps(_DPS):
        xs = [mpmath.mpf(k) / 8 for k in range(-320, 321)]
        slopes = []
        for x in xs:
            try:
                s = dg(x)
            except (ZeroDivisionError, ValueError, TypeError):
                s = None
            slopes.append(mpmath.nan if s is None else s)
        for i in range(1, len(xs) - 1):
            s0, s1 = slopes[i - 1], slopes[i + 1]
            if not (mpmath.isfinite(s0) and mpmath.isfinite(s1)):
                continue
            if s0 < 0 < s1 or s0 > 0 > s1:  # an extremum near xs[i]: step away left, match right
                found = _match(g, dg, xs[i - 1], xs[i])
                if found is not None:
                    return found
        # a constant value also taken, with nonzero slope, elsewhere
        seen: dict[str, mpmath.mpf] = {}
        for x, s in zip(xs, slopes, strict=True):
            if mpmath.isfinite(s) and s == 0:
                seen.setdefault(mpmath.nstr(g(x), 20), x)
        for key, x0 in seen.items():
            c = g(x0)
            for lo, hi in itertools.pairwise(xs):
                try:
                    glo, ghi = g(lo) - c, g(hi) - c
                except (ZeroDivisionError, ValueError, TypeError):
                    continue
                if glo * ghi < 0:
                    x1 = _bisect(lambda t, c=c: g(t) - c, lo, hi)
                    if abs(dg(x1)) > mpmath.mpf(10) ** -20:
                        return _note(g, dg, x0, x1)
            del key
    return None


def _match(g, dg, z_left, mid) -> str | None:
    """A z1 left of the extremum near ``mid`` and the z2 right of it with g(z2) = g(z1)."""
    eighth = mpmath.mpf(1) / 8
    for z1 in (z_left - 1, z_left - eighth * 4, z_left - eighth):
        target = _value(g, z1)
        if target is None:
            continue
        prev, fprev = mid, _value(g, mid)
        for k in range(1, 641):
            x = mid + k * eighth
            fx = _value(g, x)
            if fprev is not None and fx is not None and (fprev - target) * (fx - target) <= 0:
                z2 = _bisect(lambda t, c=target: g(t) - c, prev, x)
                if abs(_value(dg, z1) - _value(dg, z2)) > mpmath.mpf(10) ** -20:
                    return _note(g, dg, z1, z2)
                break
            prev, fprev = x, fx
    return None


def _value(f, x):
    try:
        v = f(x)
    except (ZeroDivisionError, ValueError, TypeError, OverflowError):
        return None
    return v if v is not None and mpmath.isfinite(v) else None


def _bisect(f, lo, hi):
    """A root of f in [lo, hi] (f(lo), f(hi) of opposite signs) to the working precision."""
    flo = f(lo)
    for _ in range(mpmath.mp.prec + 10):
        m = (lo + hi) / 2
        fm = f(m)
        if fm == 0:
            return m
        if (fm < 0) == (flo < 0):
            lo, flo = m, fm
        else:
            hi = m
    return (lo + hi) / 2


def _note(g, dg, z1, z2) -> str:
    def s(x):
        return mpmath.nstr(x, 12)

    return (f"no a-form: g is not injective: g({s(z1)}) = g({s(z2)}) = {s(g(z1))} "
            f"but g'({s(z1)}) = {s(dg(z1))} and g'({s(z2)}) = {s(dg(z2))}")
