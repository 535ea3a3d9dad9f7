"""Numerically stable rewriting: primitives, and the table of rewrite rules.

Kernels are computed in a small *primitive algebra*: SymPy functions such as
:class:`Sigmoid` or :class:`Sech2` whose derivatives (``fdiff``) are again
primitives, and whose :meth:`~Primitive.stable` form is an elementary formula
that never overflows and never cancels (``exp(-|x|)`` forms, ``expm1``,
``log1p``, ``erfc``, ``hypot``, a branch-free ``Piecewise`` blend).

:data:`RULES` is the table: each :class:`Rule` is a (pattern, replacement)
pair applied with SymPy's ``replace``. ``Rule.identity()`` states it as an
equation in :data:`symderiv.catalogue.z` that the project's own proof engine
(:func:`symderiv.prove.prove_identity`) proves; the tests do that for every
rule and for every primitive's stable form and derivative.

>>> from symderiv.catalogue import z
>>> from sympy import exp
>>> to_primitives(z / (1 + exp(-z)))
z*Sigmoid(z)
>>> to_primitives(exp(z) / (1 + exp(z))**2)
SigmoidGrad(-z)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sympy
from sympy import Abs, Expr, Function, Max, Piecewise, Rational, Wild, erf, exp, log, sqrt, tanh
from sympy.codegen.cfunctions import expm1, hypot, log1p

from ..catalogue import z

__all__ = [
    "PRIMITIVES",
    "RULES",
    "VARIANTS",
    "Erfc",
    "Primitive",
    "Product",
    "Quotient",
    "Rule",
    "Sech2",
    "Sigmoid",
    "SigmoidGrad",
    "Softplus",
    "SqPlus",
    "SqPlusGrad",
    "Tanh",
    "TanhShrink",
    "TanhSoftplus",
    "TanhSoftplusGrad",
    "elementary",
    "fixed_point",
    "postprocess",
    "stable",
    "to_primitives",
    "unfuse",
]

_x = Wild("x", properties=[lambda e: not e.is_number])
_v = Wild("v", properties=[lambda e: e.is_Symbol])
_sq = Wild("sq", properties=[lambda e: any(isinstance(f, sympy.Pow) and f.exp == 2 for f in sympy.Mul.make_args(e))])
_c = Wild("c", exclude=[z], properties=[lambda e: e.is_positive is True])
_k = Wild("k", exclude=[z], properties=[lambda e: e.is_positive is True])


class Primitive(Function):
    """A numerically stable building block: ``definition`` (textbook) and ``stable`` (what is printed)."""

    @classmethod
    def definition(cls, *args: Expr) -> Expr:  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def stable(cls, *args: Expr) -> Expr:  # pragma: no cover - abstract
        raise NotImplementedError

    def _eval_is_real(self):
        return all(arg.is_real for arg in self.args) or None


def _em(x: Expr) -> Expr:
    """exp(-|x|): in (0, 1], never overflows."""
    return exp(-Abs(x))


class Quotient(Primitive):
    """``Quotient(n, d)``: n/d computed as one value (printed ``(n/d)``), so that a factor outside is
    applied to the quotient, not to n: mish = z*(n/d), where z*n overflows for large z."""

    nargs = 2

    @classmethod
    def definition(cls, n, d):
        return n / d

    @classmethod
    def stable(cls, n, d):
        return Quotient(n, d)


class Product(Primitive):
    """``Product(x, y)``: x*y computed as one value (printed ``(x*y)``), before any other factor."""

    nargs = 2

    @classmethod
    def definition(cls, x, y):
        return x * y

    @classmethod
    def stable(cls, x, y):
        return Product(x, y)


def _halves(x: Expr) -> tuple[Expr, Expr]:
    """(G, r) for the "halves" forms of :class:`Sigmoid` and :class:`SigmoidGrad`, from one exp:
    F = exp(-x/2), G = 1/F, r = 1/(F + G)."""
    f = exp(-x / 2)
    g = Quotient(1, f)  # not 1/F, which SymPy makes a second exp
    return g, Quotient(1, f + g)


class Sigmoid(Primitive):
    """1/(1 + exp(-x)) = max(e, H(x))/(1 + e) with e = exp(-|x|) and H(x) = 1 for x >= 0, else 0.

    A branch-free blend of 1/(1+e) (x >= 0) and e/(1+e) (x < 0): no ``where`` over a random mask.
    """

    nargs = 1

    def fdiff(self, argindex=1):
        return SigmoidGrad(self.args[0])

    @classmethod
    def definition(cls, x):
        return 1 / (1 + exp(-x))

    @classmethod
    def stable(cls, x):
        e = _em(x)
        return Max(e, sympy.Heaviside(x, 1)) / (1 + e)

    @classmethod
    def stable_halves(cls, x):
        """G r with F = exp(-x/2), G = 1/F, r = 1/(F + G) (that is e^(x/2)/(2 cosh(x/2))): no select,
        and :meth:`SigmoidGrad.stable_halves` is r^2. Every term positive, nothing cancels; F = inf
        (x < -1419) gives 0, G = inf (x > 1419) NaN, which the generator's saturation clip avoids."""
        g, r = _halves(x)
        return Product(g, r)


class SigmoidGrad(Primitive):
    """sigmoid(x) sigmoid(-x) = e/(1 + e)^2 with e = exp(-|x|): even, no branch."""

    nargs = 1

    def fdiff(self, argindex=1):
        x = self.args[0]
        return -SigmoidGrad(x) * Tanh(x / 2)

    @classmethod
    def definition(cls, x):
        return exp(-x) / (1 + exp(-x)) ** 2

    @classmethod
    def stable(cls, x):
        e = _em(x)
        return e / (1 + e) ** 2

    @classmethod
    def stable_halves(cls, x):
        """r^2, r = 1/(F + G), F = exp(-x/2), G = 1/F: sigmoid'(x) = 1/(4 cosh^2(x/2)). Squared after
        the division: (F + G)^2 would overflow where sigmoid' is still 4.5e-309 (x = -710), which
        silu' multiplies by x (3e-306)."""
        _, r = _halves(x)
        return r**2


class Tanh(Primitive):
    """tanh, whose derivative is :class:`Sech2` (not the cancelling 1 - tanh^2)."""

    nargs = 1

    def fdiff(self, argindex=1):
        return Sech2(self.args[0])

    @classmethod
    def definition(cls, x):
        return tanh(x)

    @classmethod
    def stable(cls, x):
        return tanh(x)


class Sech2(Primitive):
    """1 - tanh(x)^2 = 4e/(1 + e)^2 with e = exp(-2|x|)."""

    nargs = 1

    def fdiff(self, argindex=1):
        x = self.args[0]
        return -2 * Tanh(x) * Sech2(x)

    @classmethod
    def definition(cls, x):
        return 1 - tanh(x) ** 2

    @classmethod
    def stable(cls, x):
        e = exp(-2 * Abs(x))
        return 4 * e / (1 + e) ** 2


class Softplus(Primitive):
    """log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|))."""

    nargs = 1

    def fdiff(self, argindex=1):
        return Sigmoid(self.args[0])

    @classmethod
    def definition(cls, x):
        return log(1 + exp(x))

    @classmethod
    def stable(cls, x):
        return Max(x, 0) + log1p(_em(x))


def _tanh_softplus_parts(x: Expr) -> tuple[Expr, Expr, Expr]:
    """(p, n, d) for the stable forms of :class:`TanhSoftplus` and its derivative, from one exp:
    p = e^x, n = p (p + 2) = (1 + p)^2 - 1 and d = n + 2 = (1 + p)^2 + 1.

    Every term is positive: nothing cancels, and the gate costs 4 operations after the exp. Beyond
    x ~ 354, n overflows (inf/inf); the generator clips x where the gate has reached 1 in float64
    (``assemble._fix_special``: at 32, shared by g and g').
    """
    p = exp(x)
    n = p * (p + 2)
    return p, n, n + 2


class TanhSoftplus(Primitive):
    """tanh(softplus(x)) = n/(n + 2) with n = e^x (e^x + 2), mish's gate: ((1 + p)^2 - 1)/((1 + p)^2 + 1)
    with p = e^x, as tanh(log y) = (y^2 - 1)/(y^2 + 1). One exp and four operations instead of exp,
    log1p and tanh (see :func:`_tanh_softplus_parts`).
    """

    nargs = 1

    def fdiff(self, argindex=1):
        return TanhSoftplusGrad(self.args[0])

    @classmethod
    def definition(cls, x):
        return tanh(log(1 + exp(x)))

    @classmethod
    def stable(cls, x):
        _, n, d = _tanh_softplus_parts(x)
        return Quotient(n, d)

    @classmethod
    def unfused(cls, x):
        return Tanh(Softplus(x))


class TanhSoftplusGrad(Primitive):
    """d/dx tanh(softplus(x)) = sech^2(softplus x) sigmoid(x) = 4p(p + 1)/(p^2 + 2p + 2)^2, p = e^x.

    With p, n, d as in :class:`TanhSoftplus`: 4 (n - p)/d^2 (n - p = p (p + 1)), every term positive.
    """

    nargs = 1

    def fdiff(self, argindex=1):
        x = self.args[0]
        return (-2 * Tanh(Softplus(x)) * Sech2(Softplus(x)) * Sigmoid(x) ** 2
                + Sech2(Softplus(x)) * SigmoidGrad(x))

    @classmethod
    def definition(cls, x):
        return (1 - tanh(log(1 + exp(x))) ** 2) / (1 + exp(-x))

    @classmethod
    def stable(cls, x):
        # p (p + 1) as n - p: one subtraction of the gate's own n, not an addition and a product;
        # n - p >= n/2, so at most one bit cancels
        p, n, d = _tanh_softplus_parts(x)
        return Product(4, n - p) / d**2  # not 4n - 4p, which SymPy would distribute it into

    @classmethod
    def unfused(cls, x):
        return Sech2(Softplus(x)) * Sigmoid(x)


#: |x| below which :class:`TanhShrink` uses its continued fraction (x - tanh x cancels there).
TANHSHRINK_CF_BELOW = Rational(3, 5)
#: Depth of that continued fraction: truncated, it is within 2^-64 of x - tanh x on the whole range.
TANHSHRINK_CF_DEPTH = 8


def tanhshrink_cf(x: Expr, depth: int = TANHSHRINK_CF_DEPTH) -> Expr:
    """x - tanh(x) = x^3/(x^2 + D_1), D_n = 2n + 1 + x^2/D_(n+1), from Lambert's continued fraction
    tanh x = x/(1 + x^2/(3 + x^2/(5 + ...))), truncated at D_depth = 2 depth + 1.

    Evaluated as x^3 P(x^2)/Q(x^2), the same rational function with integer coefficients (exact
    in float64), all positive, in Horner form: nothing cancels, and one division instead of one
    per level (measured: 16 operations with 8 divisions before, 18 with 1 now).

    >>> tanhshrink_cf(z, 2)
    5*z**3/(6*z**2 + 15)
    """
    w = sympy.Dummy("w", positive=True)
    d = sympy.Integer(2 * depth + 1)
    for n in range(depth - 1, 0, -1):
        d = (2 * n + 1) + w / d
    num, den = sympy.fraction(sympy.cancel(1 / (w + d)))
    return x**3 * sympy.horner(num, w).subs(w, x**2) / sympy.horner(den, w).subs(w, x**2)


class TanhShrink(Primitive):
    """x - tanh(x): a continued fraction where x^2 < (3/5)^2 (the difference cancels there), else
    direct (near the threshold both are accurate, so x^2 rounding to either side does not matter)."""

    nargs = 1

    def fdiff(self, argindex=1):
        return Tanh(self.args[0]) ** 2

    @classmethod
    def definition(cls, x):
        return x - tanh(x)

    @classmethod
    def stable(cls, x):
        t = TANHSHRINK_CF_BELOW  # x^2 < t^2, not |x| < t: x^2 is computed for the fraction anyway
        return Piecewise((tanhshrink_cf(x), x**2 < t**2), (x - tanh(x), True))


class SqPlus(Primitive):
    """x + sqrt(x^2 + c) (c > 0) as 2 max(x, 0) + c/(h + |x|), h = hypot(x, sqrt c).

    For x < 0 the sum cancels, and h + x = c/(h - x) = c/(h + |x|); for x >= 0 it is
    x + h = 2x + (h - x) = 2x + c/(h + x). One formula, nothing cancels, no select.
    """

    nargs = 2

    def fdiff(self, argindex=1):
        if argindex != 1:  # pragma: no cover - parameters are never differentiated
            raise sympy.ArgumentIndexError(self, argindex)
        x, c = self.args
        return SqPlusGrad(x, c)

    @classmethod
    def definition(cls, x, c):
        return x + sqrt(x**2 + c)

    @classmethod
    def stable(cls, x, c):
        h = hypot(x, sqrt(c))
        return 2 * Max(x, 0) + c / (h + Abs(x))


class SqPlusGrad(Primitive):
    """1 + x/sqrt(x^2 + c) (c > 0), the derivative of :class:`SqPlus`, as SqPlus(x, c)/h with
    h = hypot(x, sqrt c), SqPlus's stable form halved before dividing: for x < 0, 1 + x/h =
    (h - |x|)/h cancels and equals c/(h (h + |x|)); for x >= 0, 1 + x/h = (x + h)/h. Every term
    positive, and halved first it never overflows (at x = 1e308: 1e308/1e308, not inf/h)."""

    nargs = 2

    def fdiff(self, argindex=1):
        if argindex != 1:  # pragma: no cover - parameters are never differentiated
            raise sympy.ArgumentIndexError(self, argindex)
        x, c = self.args
        return c / hypot(x, sqrt(c)) ** 3

    @classmethod
    def definition(cls, x, c):
        return 1 + x / sqrt(x**2 + c)

    @classmethod
    def stable(cls, x, c):
        # 2 (SqPlus/2)/h: squareplus = SqPlus/2 is then shared, and squareplus' = squareplus/h,
        # one division (was 1/h, two products and a sum)
        h = hypot(x, sqrt(c))
        return 2 * Quotient(SqPlus.stable(x, c) / 2, h)


#: erfc below which :class:`Erfc` is its asymptotic series (x > 26.25): the runtime's erfc is
#: subnormal from x = 26.54 (and 0 from 28; scipy.special.erfc was 0 from 26.64), where
#: gelu' = Phi(z) + z phi(z) is still normal and Phi is 1/z^2 of it.
ERFC_SERIES_BELOW = sympy.Integer(2) ** -1000
#: Terms of that series: from x = 26 on, the first omitted one is below 2^-62 of the sum.
ERFC_SERIES_TERMS = 8


def erfc_series(x: Expr, terms: int = ERFC_SERIES_TERMS) -> Expr:
    """erfc(x) ~ e^(-x^2)/(x sqrt(pi)) sum_(k < terms) (-1)^k (2k - 1)!!/(2x^2)^k, in Horner form.

    >>> erfc_series(z, 3)
    (1 + (-1 + 3/(2*z**2))/(2*z**2))*exp(-z**2)/(sqrt(pi)*z)
    """
    w = sympy.Dummy("w")
    poly = sum((-1) ** k * sympy.factorial2(2 * k - 1) * w**k for k in range(terms))
    return exp(-x**2) / (x * sqrt(sympy.pi)) * sympy.horner(poly, w).subs(w, 1 / (2 * x**2))


class Erfc(Primitive):
    """erfc(x) = 1 - erf(x), kept unevaluated (SymPy would turn erfc(-x) into 2 - erfc(x), which cancels).

    Printed as the runtime's ``erfc`` (:func:`symderiv.codegen.runtime.erfc`), and where that is
    below :data:`ERFC_SERIES_BELOW` as its asymptotic series (:func:`erfc_series`), which keeps the
    digits a subnormal erfc loses.
    The test is on the erfc computed anyway, so it costs one comparison.
    """

    nargs = 1

    def fdiff(self, argindex=1):
        x = self.args[0]
        return -2 * exp(-x**2) / sqrt(sympy.pi)

    @classmethod
    def definition(cls, x):
        return 1 - erf(x)

    @classmethod
    def stable(cls, x):
        return Piecewise((erfc_series(x), Erfc(x) < ERFC_SERIES_BELOW), (Erfc(x), True))


PRIMITIVES: tuple[type[Primitive], ...] = (Sigmoid, SigmoidGrad, Tanh, Sech2, Softplus, TanhSoftplus,
                                            TanhSoftplusGrad, TanhShrink, SqPlus, SqPlusGrad, Erfc)


@dataclass(frozen=True)
class Rule:
    """One rewrite: ``pattern`` (with Wilds) -> ``replacement(**matches)``.

    ``lhs``/``rhs`` state the rule as an identity in z (and parameter symbols)
    for the proof engine; ``assumption`` names the parameters' sign where the
    rule needs one.
    """

    name: str
    pattern: Expr
    replacement: Callable[..., Expr]
    lhs: Expr
    rhs: Expr
    why: str
    #: False for a rule applied to definitions only, not again after differentiating (there, the
    #: derivative's own primitives are the more accurate form).
    after_diff: bool = True
    #: Points where the identity's rhs is undefined as a real formula but the float kernel
    #: takes the limit (ratio_to_sum at z = 0: c/0 = inf, 1/(1 + inf) = 0); the proof excludes them.
    excluded: tuple = ()

    def apply(self, expr: Expr) -> Expr:
        """``expr`` with every match of the pattern replaced."""
        return _replace(expr, self)

    def identity(self) -> tuple[Expr, Expr]:
        """``(lhs, rhs)`` with primitives expanded to elementary functions: what is proved."""
        return elementary(self.lhs), elementary(self.rhs)


def _replace(expr: Expr, rule: Rule) -> Expr:
    def matcher(e):
        return e.match(rule.pattern) is not None if isinstance(e, type(rule.pattern)) else False

    def builder(e):
        m = e.match(rule.pattern)
        return rule.replacement(**{k.name: v for k, v in m.items()})

    return expr.replace(matcher, builder)


_cpos = sympy.Symbol("c", positive=True)

#: The rewrite table, applied in order, each to a fixed point, on every piece of a definition
#: (``to_primitives``) and again after differentiating (``postprocess``).
RULES: tuple[Rule, ...] = (
    Rule("sigmoid", 1 / (1 + exp(-_x)), lambda x: Sigmoid(x),
         1 / (1 + exp(-z)), Sigmoid(z),
         "1/(1+e^-x) overflows e^-x for x << 0; the blend uses exp(-|x|)"),
    Rule("sigmoid_grad", exp(-_x) / (1 + exp(-_x)) ** 2, lambda x: SigmoidGrad(x),
         exp(-z) / (1 + exp(-z)) ** 2, SigmoidGrad(z),
         "e^-x/(1+e^-x)^2 is inf/inf for x << 0"),
    Rule("sigmoid_product", Sigmoid(_x) * Sigmoid(-_x), lambda x: SigmoidGrad(x),
         Sigmoid(z) * Sigmoid(-z), SigmoidGrad(z), "one exp instead of two blends"),
    Rule("softplus", log(1 + exp(_x)), lambda x: Softplus(x),
         log(1 + exp(z)), Softplus(z), "log(1+e^x) overflows for x >> 0 and rounds 1+e^x for x << 0"),
    Rule("one_plus_tanh", 1 + tanh(_x), lambda x: 2 * Sigmoid(2 * x),
         1 + tanh(z), 2 * Sigmoid(2 * z), "1 + tanh(x) cancels for x << 0"),
    Rule("tanhshrink", _x - tanh(_x), lambda x: TanhShrink(x),
         z - tanh(z), TanhShrink(z), "x - tanh(x) cancels near 0"),
    Rule("tanh", tanh(_x), lambda x: Tanh(x), tanh(z), Tanh(z),
         "differentiates to sech^2, not to the cancelling 1 - tanh^2"),
    Rule("tanh_softplus", Tanh(Softplus(_x)), lambda x: TanhSoftplus(x), Tanh(Softplus(z)), TanhSoftplus(z),
         "one exp instead of exp, log1p and tanh (g'' keeps sech^2(softplus): measured, more accurate where "
         "mish'' crosses 0)", after_diff=False),
    Rule("sech2", 1 - Tanh(_x) ** 2, lambda x: Sech2(x), 1 - Tanh(z) ** 2, Sech2(z),
         "1 - tanh^2 cancels for |x| large"),
    Rule("erf_plus_one", 1 + erf(_x), lambda x: Erfc(-x), 1 + erf(z), Erfc(-z),
         "1 + erf(x) cancels (to 0) for x << 0; erfc does not"),
    Rule("expm1", exp(_x) - 1, lambda x: expm1(x), exp(z) - 1, expm1(z), "e^x - 1 cancels near 0"),
    Rule("one_minus_exp", 1 - exp(_x), lambda x: -expm1(x), 1 - exp(z), -expm1(z),
         "1 - e^x cancels near 0"),
    Rule("log1p", log(1 + _x), lambda x: log1p(x), log(1 + z), log1p(z), "log(1+x) rounds 1+x"),
    Rule("squareplus", _x + sqrt(_x**2 + _c), lambda x, c: SqPlus(x, c),
         z + sqrt(z**2 + _cpos), SqPlus(z, _cpos), "x + sqrt(x^2+c) cancels for x << 0"),
    Rule("hypot", sqrt(_x**2 + _c), lambda x, c: hypot(x, sqrt(c)),
         sqrt(z**2 + _cpos), hypot(z, sqrt(_cpos)), "x^2 overflows for |x| > 1e154"),
    Rule("hypot_minus", hypot(_x, _k) - _x, lambda x, k: k**2 / SqPlus(x, k**2),
         hypot(z, _cpos) - z, _cpos**2 / SqPlus(z, _cpos**2), "hypot(x, k) - x cancels for x >> 0"),
    Rule("minus_hypot", _x - hypot(_x, _k), lambda x, k: -k**2 / SqPlus(x, k**2),
         z - hypot(z, _cpos), -_cpos**2 / SqPlus(z, _cpos**2), "x - hypot(x, k) cancels for x >> 0"),
    Rule("ratio_to_sum", _sq / (_sq + _c), lambda sq, c: 1 / (1 + c / sq),
         z**2 / (z**2 + _cpos), 1 / (1 + _cpos / z**2), "u/(u + c) is inf/inf once u overflows",
         excluded=(sympy.S.Zero,)),
    Rule("one_minus_square", 1 - _v**2, lambda v: (1 - v) * (1 + v),
         1 - z**2, (1 - z) * (1 + z), "1 - a^2 cancels for |a| near 1; 1 - a is exact there"),
)


def fixed_point(expr: Expr, rules=RULES) -> Expr:
    """``expr`` with ``rules`` (all of :data:`RULES`) applied in turn until nothing changes (8 rounds at most)."""
    for _ in range(8):
        before = expr
        for rule in rules:
            expr = _replace(expr, rule)
        if expr == before:
            break
    return expr


def to_primitives(expr: Expr) -> Expr:
    """Apply :data:`RULES` to a catalogue formula (after ``factor_terms``, which exposes sums)."""
    return fixed_point(sympy.factor_terms(expr))


def postprocess(expr: Expr) -> Expr:
    """After differentiating in the primitive algebra: the rules again, on the raw and the factored form.

    The shorter of the two wins (counted in operations), e.g. squareplus'' becomes c/(2 hypot^3)
    rather than a difference that cancels. On a tie the factored form wins: SymPy's derivative
    spreads numbers over sums (hardswish' = z/3 + 1/2, where z/3 is rounded before it cancels
    against 1/2: 171 ULP at z = -1.504), and over one denominator the numerator's terms are
    exact where they cancel ((2z + 3)/6, one rounding).
    """
    rules = tuple(r for r in RULES if r.after_diff)
    raw = fixed_point(expr, rules)
    if not raw.free_symbols:
        return raw
    try:
        factored = fixed_point(sympy.factor(sympy.together(raw)), rules)
    except sympy.PolynomialError:  # pragma: no cover - factor gives up on some forms
        return raw
    return min((factored, raw), key=sympy.count_ops)


def _expand(expr: Expr, how: str, variant: str | None = None) -> Expr:
    def go(e):
        if isinstance(e, Primitive):
            args = [go(a) for a in e.args]
            return getattr(type(e), f"{how}_{variant}" if variant and hasattr(type(e), f"{how}_{variant}")
                           else how)(*args)
        if not e.args:
            return e
        args = [go(a) for a in e.args]
        if all(x is y for x, y in zip(args, e.args, strict=True)):
            return e  # rebuilding would let SymPy distribute (z + 3)/6 into z/6 + 1/2
        return e.func(*args)

    return go(expr)


def unfuse(expr: Expr) -> Expr:
    """Fused primitives (one formula for a composition, fast to evaluate) back to their parts.

    g'' is differentiated from g' written with the parts: measured on mish, the fused forms give
    g' cheaply but g'' 17 ULP where the bound is 16."""
    return expr.replace(lambda e: isinstance(e, Primitive) and hasattr(type(e), "unfused"),
                        lambda e: type(e).unfused(*e.args))


#: Alternative stable forms (``stable_<variant>`` of a primitive), equally accurate; the generator
#: keeps, per module, the one its value_and_grad computes with fewer operations.
VARIANTS: tuple[str, ...] = ("halves",)


def stable(expr: Expr, variant: str | None = None) -> Expr:
    """Every primitive replaced by its stable elementary form (what the printer prints); with
    ``variant`` (one of :data:`VARIANTS`), by that alternative form where a primitive has one."""
    return _expand(expr, "stable", variant)


def elementary(expr: Expr) -> Expr:
    """Every primitive (and expm1/log1p/hypot) replaced by its textbook definition (what is proved)."""
    out = _expand(expr, "definition")
    return out.replace(lambda e: isinstance(e, (expm1, log1p, hypot)),
                       lambda e: {expm1: lambda x: exp(x) - 1, log1p: lambda x: log(1 + x),
                                  hypot: lambda x, y: sqrt(x**2 + y**2)}[type(e)](*e.args))
