"""Kernel assembly: from a catalogue entry to the blended, finite g, g', g'' (a :class:`Kernel`).

For each activation the definition is cut into pieces (:func:`symderiv.calculus.pieces`),
each piece is rewritten into the stable primitive algebra
(:func:`symderiv.codegen.rewrites.to_primitives`) and differentiated there. The pieces are
joined into one expression per order with :class:`~symderiv.codegen.printer.Where` (made
branch-free later, by the ``mark_blends`` pass of :mod:`.passes`), or into one formula in |z|
where two pieces mirror each other; the value at each breakpoint is the one the default
(PyTorch) convention gives (read from :func:`symderiv.calculus.kinks` and the definition).
Then ±inf and NaN are patched where the printed code would get them wrong
(:func:`_fix_special`, decided by running that code, :func:`.chunk.evaluate`), and of the
primitives' equally accurate stable forms (:data:`.rewrites.VARIANTS`) the cheapest for
``value_and_grad`` is chosen (:mod:`.cost`). The a-form g'(a) comes from
:func:`symderiv.derivation.aform_of`, through the rewrite table.

Printing a :class:`Kernel` is :mod:`.chunk`'s (one chunk function) and :mod:`.emit`'s (the module).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import mpmath
import sympy
from sympy import Expr, Symbol, oo

from .. import calculus, memo
from ..catalogue import Activation, a, z
from ..derivation import aform_of, out_of_time
from ..errors import SymderivError
from ..mpeval import stable_eval
from .chunk import chunk_source, evaluate
from .cost import cost
from .passes import outer_functions, subs_in_functions
from .printer import Equal, IsNan, PlusProduct, Where
from .rewrites import VARIANTS, elementary, fixed_point, postprocess, stable, to_primitives, unfuse

__all__ = ["GENERATE_AFORM_TIMEOUT", "Kernel", "kernels_for"]


#: Seconds the a-form search may take while generating (the generate command's own budget is 900).
GENERATE_AFORM_TIMEOUT = 300.0


@dataclass(frozen=True)
class Kernel:
    """The symbolic content of one activation's kernels.

    ``orders[k]`` is the blended g^(k) (k = 0, 1, 2) in the primitive algebra, with
    :class:`~symderiv.codegen.printer.Where` selecting the pieces; ``aform`` is g' in
    terms of ``a`` (rewritten) or None.
    """

    activation: Activation
    orders: tuple[Expr, Expr, Expr]
    aform: Expr | None
    #: the primitives' stable forms g and g' are printed with (None: the default; see
    #: :func:`_cheapest_forms`)
    variant: str | None = None


#: The kernels built in this process, by :func:`_key`.
_BUILT: dict[str, Kernel] = {}


def _key(act: Activation) -> str:
    """What a :class:`Kernel` is built from, as text equal across processes and hash seeds."""
    return sympy.srepr((act.name, act.expr, act.params, act.constraints, act.family,
                        tuple((fw, tuple(m.items())) for fw, m in act.conventions.items())))


def kernels_for(act: Activation) -> Kernel:
    """Build the :class:`Kernel` of one catalogue entry (params symbolic, torch kink values).

    Seconds of SymPy for each entry (gelu_tanh's limits, the a-forms' proofs): kept for the
    process, and shared with other processes through :mod:`symderiv.memo` when a cache is set,
    except a kernel whose a-form search ran out of time (the machine's load, not a fact)."""
    key = _key(act)
    kernel = _BUILT.get(key)
    if kernel is None:
        kept = memo.load("kernel", key)  # unevaluated, as stored: hardsigmoid's (z + 3)/6 stays
        if kept is memo.MISSING:
            kernel, note = _build(act)
            if out_of_time(note):
                return kernel
            memo.store("kernel", key, (kernel.orders, kernel.aform, kernel.variant))
        else:
            kernel = Kernel(act, *kept)
        _BUILT[key] = kernel
    return kernel


def _build(act: Activation) -> tuple[Kernel, str | None]:
    """The :class:`Kernel` of ``act`` and the a-form search's note."""
    order_at = act.defaults()
    pieces = calculus.pieces(act.expr, order_at)
    f0 = [to_primitives(p.expr) for p in pieces]
    f1 = [postprocess(sympy.diff(f, z)) for f in f0]
    f2 = [postprocess(sympy.diff(unfuse(f), z)) for f in f1]
    points = [p.hi for p in pieces[:-1]]
    # derive()'s kinks and a-form with the parameters symbolic (kink values may depend on them:
    # leaky_relu's is alpha), without the tidied g', g'' derive() also builds and we do not need
    conventions = {fw: dict(table) for fw, table in act.conventions.items()}
    kinks = {k.z: k for k in calculus.kinks(act.expr, conventions, order_at)}
    # a generous budget: what is generated must not depend on how busy the machine is (under
    # load sparse_plus's a-form missed the interactive 10 s and its module came out different)
    aform, note = aform_of(act.expr, {}, timeout=GENERATE_AFORM_TIMEOUT)
    torch_rules = _conventions(act, points)
    blends = []
    for order, formulas in enumerate((f0, f1, f2)):
        rules = []
        for j, b in enumerate(points):
            left_f, right_f = pieces[j].expr, pieces[j + 1].expr
            if order:
                left_f, right_f = sympy.diff(left_f, z, order), sympy.diff(right_f, z, order)
            left, right = calculus.one_sided_limit(left_f, b, "-"), calculus.one_sided_limit(right_f, b, "+")
            if order == 0:
                value = _point_value(act, b, order_at)
            elif order == 1:
                value = kinks[b].values["torch"] if b in kinks else None
            else:
                rule = torch_rules[j]
                value = {"left": left, "right": right}.get(rule, (left + right) / 2) \
                    if isinstance(rule, str) or rule is None else (left + right) / 2
            side = _side(value, left, right)
            rules.append((side, sympy.simplify(value) if value is not None else (left + right) / 2))
        blends.append(_mirrored(pieces, formulas, rules) or _blend(pieces, formulas, rules))
    orders = [_fix_special(act, pieces, order, blended) for order, blended in enumerate(blends)]
    variant, pair = _cheapest_forms(act, pieces, blends, orders)
    kernel = Kernel(act, (*pair, orders[2]), _nan_to_nan(act, _exact_sums(_rewrite_aform(aform), act), a), variant)
    return kernel, note


def _side(value: Expr, left: Expr, right: Expr) -> str | None:
    if value is None:
        return None
    if sympy.simplify(value - left) == 0:
        return "left"
    if sympy.simplify(value - right) == 0:
        return "right"
    return None


def _is_linear(expr: Expr) -> bool:
    """A polynomial of degree at most 1 in z: finite wherever its piece's value is, unclipped."""
    return expr.is_polynomial(z) and sympy.degree(expr, z) <= 1


def _blend(pieces: Sequence[calculus.Piece], formulas: Sequence[Expr], rules: Sequence[tuple]) -> Expr:
    """One expression selecting ``formulas[i]`` on piece i; ``rules[j]`` = (side, value) at breakpoint j+1."""
    n = len(pieces)
    if n == 1:
        return formulas[0]
    clipped = []
    for p, f in zip(pieces, formulas, strict=True):
        if _is_linear(f) or not f.has(z):
            clipped.append(f)
            continue
        arg = z
        if p.lo != -oo:
            arg = sympy.Max(arg, p.lo)
        if p.hi != oo:
            arg = sympy.Min(arg, p.hi)
        clipped.append(f.subs(z, arg))
    nonconst = [i for i, f in enumerate(formulas) if f.has(z)]
    k = nonconst[0] if nonconst else 0
    out = clipped[k]
    for i in range(k + 1, n):
        b = pieces[i].lo
        side, _ = rules[i - 1]
        cond = (z >= b) if side == "right" else (z > b)
        out = Where(cond, clipped[i], out)
    for i in range(k - 1, -1, -1):
        b = pieces[i].hi
        side, _ = rules[i]
        cond = (z <= b) if side == "left" else (z < b)
        out = Where(cond, clipped[i], out)
    for j, (side, value) in enumerate(rules):
        if side is None:
            out = Where(Equal(z, pieces[j].hi), value, out)
    return out  # NaN (and ±inf) are the business of _fix_special


def _mirrored(pieces: Sequence[calculus.Piece], formulas: Sequence[Expr], rules: Sequence[tuple]) -> Expr | None:
    """One formula in |z| for two pieces meeting at 0 that mirror each other, or None.

    If f_R(z) = f_L(-z) (even) the function is f_R(|z|); if f_R(z) = -f_L(-z) (odd) it is
    sign(z) f_R(|z|), with sign(z)|z| written z. Taken only when that gives the convention's
    value at 0 (f_R(0), resp. 0), and only for non-constant pieces; e.g. softsign = z/(1 + |z|)
    and softsign' = 1/(1 + |z|)^2, a few operations instead of both pieces and a select.
    """
    if len(pieces) != 2 or pieces[0].hi != 0 or not formulas[1].has(z):
        return None
    left, right = formulas
    mirror = left.subs(z, -z)
    at0 = calculus.one_sided_limit(right, sympy.Integer(0), "+")
    if sympy.simplify(elementary(right - mirror)) == 0:
        whole = right.subs(z, sympy.Abs(z))
    elif sympy.simplify(elementary(right + mirror)) == 0:
        whole = (sympy.sign(z) * right.subs(z, sympy.Abs(z))).subs(sympy.sign(z) * sympy.Abs(z), z)
        at0 = sympy.Integer(0)
    else:
        return None
    value = rules[0][1]
    if value is None or sympy.simplify(value - at0) != 0:
        return None
    return whole


def _conventions(act: Activation, points: Sequence[Expr]) -> list[object]:
    table = act.conventions.get("torch", {})
    out = []
    for b in points:
        rule = None
        for key, r in table.items():
            if sympy.simplify(sympy.sympify(key) - b) == 0:
                rule = r
        out.append(rule)
    return out


def _point_value(act: Activation, b: Expr, order_at) -> Expr:
    """g at a breakpoint, from the definition itself (decided at the default parameters)."""
    expr = calculus.to_piecewise(act.expr)
    at = expr.subs(z, b)
    if at.has(sympy.Piecewise):
        # decide the conditions at the default parameter values, keep the chosen branch symbolic
        def pick(pw):
            for value, cond in pw.args:
                truth = cond.subs(order_at)
                if truth in (sympy.true, True):
                    return value
            raise SymderivError(f"cannot evaluate {act.name} at its breakpoint {b}")

        at = at.replace(lambda e: isinstance(e, sympy.Piecewise), pick)
    return sympy.simplify(at)


def _rewrite_aform(form: Expr | None) -> Expr | None:
    """The a-form from derive() (present when symderiv.aform is), through the rewrite table."""
    if form is None:
        return None
    return fixed_point(calculus.to_piecewise(form))


def _exact_sums(form: Expr | None, act: Activation) -> Expr | None:
    """The a-form's sums of a term in ``a`` and one of parameters, written to keep their digits
    where they cancel (what is lost there is the parameter term's rounding alone): ``x/p + 1`` as
    ``(x + p)/p`` (celu's a/alpha + 1 at a = -alpha, where x + p is exact), ``x + p*q`` as
    :class:`~.printer.PlusProduct` (selu's a + alpha*scale: a product of two floats is no float,
    nor is SELU's exact alpha*scale). A parameter alone (elu's a + alpha) is a float already."""
    if form is None:
        return None
    defaults = {p.symbol: p.default for p in act.params}

    def rewrite(e):
        xs, cs = [t for t in e.args if t.has(a)], [t for t in e.args if not t.has(a)]
        if len(xs) != 1 or len(cs) != 1:
            return e
        (x,), (c,) = xs, cs
        over = [f.base for f in sympy.Mul.make_args(x) if isinstance(f, sympy.Pow) and f.exp == -1]
        if c == 1 and len(over) == 1 and over[0] in defaults:
            return (x * over[0] + over[0]) / over[0]
        factors = sympy.Mul.make_args(c)
        if len(factors) == 2 and all(f in defaults for f in factors):
            exact = sympy.Rational(defaults[factors[0]]) * sympy.Rational(defaults[factors[1]])
            h0 = float(exact)
            return PlusProduct(x, *factors, *(sympy.Float(float(defaults[f])) for f in factors),
                               sympy.Float(h0), sympy.Float(float(exact - sympy.Rational(h0))))
        return e

    return form.replace(lambda e: isinstance(e, sympy.Add), rewrite)


def _nan_to_nan(act: Activation, expr: Expr | None, var: Symbol, variant: str | None = None) -> Expr | None:
    """``expr``, patched to give NaN for NaN where the printed code (in the stable forms
    ``variant``; comparisons are false for NaN) would not."""
    if expr is None or math.isnan(evaluate(expr, act, [math.nan], var, variant=variant)[0]):
        return expr
    return Where(IsNan(var), var, expr)


def _fix_special(act: Activation, pieces, order: int, expr: Expr, variant: str | None = None) -> Expr:
    """Patch ±inf (to the limits) and NaN (to NaN) where the printed blend gets them wrong.

    Decided by running the printed code (in the stable forms ``variant``) at generation time
    against ``sympy.limit`` of the textbook formula; e.g. silu(-inf) = -inf * sigmoid(-inf) is
    NaN, its limit is 0.
    """
    defaults = act.defaults()
    huge = 1.7e308
    for piece, sign in ((pieces[-1], 1), (pieces[0], -1)):
        # evaluated again after the other end's clip: it reorders the products of the printed code
        value = evaluate(expr, act, [sign * huge], variant=variant)[0]
        if math.isfinite(value):
            continue
        f = sympy.diff(piece.expr, z, order)
        lim = _limit_at(f, sign * oo)
        if math.isinf(value) and not lim.is_finite:
            continue
        if lim.is_finite:
            # e.g. gelu'' = (z^2 - 2) exp(-z^2/2) is inf * 0 there: evaluate at z clipped to where
            # the function has reached its (finite) limit
            bound = _saturation(f.subs(defaults), lim.subs(defaults), sign)
            clipped = None if bound is None else expr.subs(z, _clip_toward(sign, bound))
        else:
            # e.g. mish = z*tanh(softplus(z)) is inf * (inf/inf) there: the factor z grows, the
            # gate has reached 1; clip inside the functions, each of which has a finite limit
            clipped = _saturate_functions(expr, sign, defaults)
        if clipped is None or not math.isfinite(evaluate(clipped, act, [sign * huge], variant=variant)[0]):
            raise SymderivError(f"{act.name}: order {order} kernel is not finite at {sign * huge}")
        expr = clipped
    got = evaluate(expr, act, [math.inf, -math.inf], variant=variant)  # NaN: _nan_to_nan below
    for value, piece, point in ((got[0], pieces[-1], oo), (got[1], pieces[0], -oo)):
        lim = _limit_at(sympy.diff(piece.expr, z, order), point)
        want = complex(lim.subs(defaults).evalf()) if lim.is_finite or lim.subs(defaults).is_finite else \
            float(lim.subs(defaults))
        want = want.real if isinstance(want, complex) else want
        if not (value == want or (math.isnan(value) and math.isnan(want))):
            expr = Where(Equal(z, point), lim, expr)
    return _nan_to_nan(act, expr, z, variant)


@functools.cache
def _limit_at(f: Expr, point: Expr) -> Expr:
    """``sympy.limit`` (seconds each for gelu_tanh's; shared through :mod:`symderiv.memo`)."""
    text = sympy.srepr((f, point))
    lim = memo.load("limit", text)
    if lim is memo.MISSING:
        lim = sympy.limit(f, z, point)
        memo.store("limit", text, lim)
    return lim


def _saturation(f: Expr, lim: Expr, sign: int) -> int | None:
    """A power of two T beyond which f (at default parameters) equals its limit in float64."""
    if not lim.is_finite:
        return None
    fn = sympy.lambdify(z, f, modules="mpmath")
    target = mpmath.mpf(float(lim))
    with mpmath.workdps(60):
        for k in range(3, 1024):
            ok = True
            for j in range(4):
                v = stable_eval(fn, float(sign * 2 ** (k + j)))
                err = abs(v - target)
                if not (err <= mpmath.mpf(2) ** -60 * abs(target) or err < mpmath.mpf("1e-330")):
                    ok = False
                    break
            if ok:
                return 2**k
    return None


def _clip_toward(sign: int, bound: int) -> Expr:
    return sympy.Min(z, bound) if sign > 0 else sympy.Max(z, -bound)


def _saturate_functions(expr: Expr, sign: int, defaults) -> Expr | None:
    """``expr`` with z clipped inside its outermost function applications, at a power of two
    beyond which every one of them equals its (finite) limit at ``sign * oo`` in float64; None
    when one has no finite limit or does not reach it."""
    bounds = []
    for f in outer_functions(expr):
        if not f.has(z):
            continue
        f = elementary(f).subs(defaults)
        lim = _limit_at(f, sign * oo)
        bound = _saturation(f, lim, sign) if lim.is_finite else None
        if bound is None:
            return None
        bounds.append(bound)
    return subs_in_functions(expr, z, _clip_toward(sign, max(bounds))) if bounds else None


def _cheapest_forms(act: Activation, pieces, blends: list[Expr], orders: list[Expr]):
    """(variant, [g, g']): the stable forms (the default, None, or one of :data:`.rewrites.VARIANTS`)
    with which value_and_grad costs least (:func:`cost`), the default on a tie, and g, g' made
    finite for them (:func:`_fix_special`). gelu_tanh's sigmoid from exp(-x/2) saves the |x| and
    the blend, as -x/2 is free there (a polynomial's coefficients change sign)."""
    params = [p.symbol for p in act.params]
    best = (None, orders[:2])
    default = stable(sympy.Tuple(*blends[:2]))
    variants = [v for v in VARIANTS if stable(sympy.Tuple(*blends[:2]), v) != default]
    if not variants:  # no primitive here has another form: nothing to price
        return best
    best_cost = cost(chunk_source("_probe", best[1], z, params, act, parts_made={}))
    for variant in variants:
        try:
            pair = [_fix_special(act, pieces, order, blends[order], variant) for order in (0, 1)]
        except SymderivError:
            continue
        price = cost(chunk_source("_probe", pair, z, params, act, parts_made={}, variant=variant))
        if price < best_cost:
            best, best_cost = (variant, pair), price
    return best
