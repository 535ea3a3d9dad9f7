"""SymPy's SciPy/NumPy printer, tuned for kernels.

Differences from :class:`sympy.printing.numpy.SciPyPrinter`:

* :class:`Select` prints as the runtime's bit blend ``select`` and :class:`Ind`
  as a comparison cast to 0.0/1.0 (the generator turns selects on order
  relations into these); what is left of ``Piecewise`` and :class:`Where` (a
  kink's own value, a-forms) prints as nested ``numpy.where``.
* ``x/2^k`` prints as ``2^-k*x`` (exact, and cheaper than dividing).
* ``Max``/``Min`` print as ``numpy.maximum``/``numpy.minimum`` (elementwise,
  NaN-propagating), not ``amax`` of a stacked array.
* Non-integer numbers print as correctly rounded float literals, so
  ``sqrt(2)/sqrt(pi)`` costs nothing at run time and is exact to 1/2 ULP.
* Small integer powers print as products or quotients (``x**-2`` as
  ``1/(x*x)``), which NumPy runs without calling ``pow``.

>>> from symderiv.catalogue import z
>>> from sympy import Max, sqrt, pi, exp
>>> KernelPrinter().doprint(Max(z, 0) + sqrt(2 / pi) * exp(-z))
'numpy.maximum(0, z) + 0.7978845608028654*numpy.exp(-z)'
"""

from __future__ import annotations

import sympy
from sympy import Function
from sympy.printing.numpy import SciPyPrinter

__all__ = ["COMPARE", "ORDER", "Equal", "Ind", "IsNan", "KernelPrinter", "Patch", "PlusProduct", "Select", "Shifted",
           "Where"]


class _Chooser(Function):
    """A choice on a condition, decided where the condition is (``Select(-3 > 3, a, b)`` is b)."""

    nargs = 3

    @classmethod
    def eval(cls, cond, a, b):
        if cond is sympy.true:
            return a
        if cond is sympy.false:
            return b
        return None


class Where(_Chooser):
    """``Where(cond, a, b)``: a where cond holds, else b (printed as ``numpy.where``)."""


class Select(_Chooser):
    """``Select(relation, a, b)``: a where the relation holds, else b, bit for bit (inf, NaN, -0).

    Printed as the runtime's ``select``, which blends the IEEE bit patterns with integer masks:
    measured on 16384-element chunks of random data, 1.5 ``exp`` passes, where ``numpy.where``
    over a random mask costs 4.2 (branch mispredictions).
    """


class Patch(Function):
    """``Patch(relation, a, part)``: ``a``, and where the relation holds the chunk function named
    by the symbol ``part`` instead, computed on those entries alone (the runtime's ``patch``)."""

    nargs = 3


class Shifted(Function):
    """``Shifted(x, c)``: ``x - c``, computed so (SymPy would reorder ``(x - c) + y`` into a sum whose
    rounding depends on the order it prints)."""

    nargs = 2

    @classmethod
    def eval(cls, x, c):
        return x - c if x.is_number and c.is_number else None


class PlusProduct(Function):
    """``PlusProduct(x, p, q, p0, q0, h0, l0)``: x + p*q for parameters p, q (scalars), printed as
    ``(x + product_hi(p, q, (p0, q0, h0))) + product_lo(p, q, (p0, q0, l0))``: the product in
    two terms (the runtime's), fl(p*q) and its exact rounding error, so the sum keeps its digits
    where x cancels against p*q (selu's a + alpha*scale next to a = -alpha*scale). p0, q0 are
    the floats of the defaults, h0 + l0 the exact product of the defaults (SELU's are not
    floats). Shown as ``x + p*q``."""

    nargs = 7

    def _sympystr(self, printer):
        x, p, q = self.args[:3]
        return printer._print(x + p * q)


class Ind(Function):
    """``Ind(relation)``: 1.0 where the (order) relation holds, else 0.0 (0.0 for NaN).

    Printed as a NumPy comparison cast to float64 (0.7 ``exp`` passes on 16384-element chunks);
    ``A*Ind(c) + B*(1 - Ind(c))`` is an exact, branch-free select between finite values, which
    ``sympy.cse`` can share between the kernels of one function.
    """

    nargs = 1

    @classmethod
    def eval(cls, cond):
        if cond in (sympy.true, sympy.false):
            return sympy.Integer(cond is sympy.true)
        return None


class Equal(Function):
    """``Equal(x, v)``: x == v elementwise (printed as ``numpy.equal``; SymPy's Eq would evaluate)."""

    nargs = 2


class IsNan(Function):
    """``IsNan(x)``: printed as ``numpy.isnan``."""

    nargs = 1


#: NumPy's comparison for each order relation (false for NaN).
COMPARE = {sympy.StrictGreaterThan: "greater", sympy.GreaterThan: "greater_equal",
            sympy.StrictLessThan: "less", sympy.LessThan: "less_equal"}
#: The order relations (what :class:`Select` and :class:`Ind` take).
ORDER = tuple(COMPARE)


def _step(x: str, h0: int, negated: bool = False) -> str:
    """Heaviside(x, h0) for h0 in {0, 1} as a float 0/1 (0 for NaN: kernels patch NaN input apart);
    with ``negated``, Heaviside(-x, h0), compared as ``x <= 0`` (the same truth for every x,
    ±0 and NaN included, without computing -x).

    A comparison and a cast: measured on 16384-element chunks, 0.7 ``exp`` passes, where
    ``numpy.heaviside`` costs 2.5 and ``maximum(0, sign(x))`` 1.5.
    """
    if negated:
        return f"numpy.{'less_equal' if h0 else 'less'}({x}, 0).astype(numpy.float64)"
    return f"numpy.{'greater_equal' if h0 else 'greater'}({x}, 0).astype(numpy.float64)"


def _halved(q: int, rest: sympy.Expr) -> tuple[int, sympy.Expr]:
    """(q/2^k, rest/2^k) for the largest 2^k dividing q such that the terms of the sum ``rest``
    divided by it keep integer coefficients and exact-double numbers (``(2*z + 3)/6`` as
    ``(z + 3/2)/3``): the same bits (scaling by 2^k is exact, each rounding scales with it), but
    2*z cannot overflow, so the form stays finite wherever z is (hardswish' is blended by a 0/1
    factor, not a select)."""
    if not isinstance(rest, sympy.Add):
        return q, rest
    k = 1
    while q % (2 * k) == 0:
        terms = [t / (2 * k) for t in rest.args]
        if not all(t.is_Rational and t.q & (t.q - 1) == 0 and abs(t.p) < 2**53 if t.is_number
                   else t.as_coeff_Mul()[0].is_Integer for t in terms):
            break
        k *= 2
    return q // k, sympy.Add(*[t / k for t in rest.args]) if k > 1 else rest


class KernelPrinter(SciPyPrinter):
    """Prints one expression as NumPy code (and the runtime's ``erfc``)."""

    def __init__(self, settings=None, arrays=()):
        super().__init__({"fully_qualified_modules": True, **(settings or {})})
        #: symbols holding arrays (the input, temporaries computed from it): in ``Max``/``Min``
        #: the other arguments print first (see :meth:`_minmax`)
        self.arrays = frozenset(arrays)

    def _print_Where(self, expr):
        cond, a, b = expr.args
        return f"numpy.where({self._print(cond)}, {self._print(a)}, {self._print(b)})"

    def _print_Select(self, expr):
        cond, a, b = expr.args
        return f"select({self._compare(cond)}, {self._print(a)}, {self._print(b)})"

    def _print_Patch(self, expr):
        cond, a, part = expr.args
        return f"patch({self._compare(cond)}, {self._print(a)}, {part.name})"

    def _print_Shifted(self, expr):
        x, c = expr.args
        return f"({self._print(x)} - {self._print(c)})"

    def _print_PlusProduct(self, expr):
        x, p, q, p0, q0, h0, l0 = expr.args
        pq = f"{self._print(p)}, {self._print(q)}, ({float(p0)!r}, {float(q0)!r}"
        return f"(({self._print(x)} + product_hi({pq}, {float(h0)!r}))) + product_lo({pq}, {float(l0)!r})))"

    def _print_Ind(self, expr):
        return f"{self._compare(expr.args[0])}.astype(numpy.float64)"

    def _compare(self, cond) -> str:
        """The order relation ``cond`` as a NumPy comparison (false for NaN)."""
        return f"numpy.{COMPARE[type(cond)]}({self._print(cond.lhs)}, {self._print(cond.rhs)})"

    def _print_Equal(self, expr):
        return f"numpy.equal({self._print(expr.args[0])}, {self._print(expr.args[1])})"

    def _print_IsNan(self, expr):
        return f"numpy.isnan({self._print(expr.args[0])})"

    def _print_Piecewise(self, expr):
        # kernel Piecewises come from stable forms, whose conditions are exhaustive: the last
        # branch is the fallback even where SymPy rewrote its condition
        *pairs, (last, _cond) = expr.args
        out = self._print(last)
        for value, c in reversed(pairs):
            out = f"numpy.where({self._print(c)}, {self._print(value)}, {out})"
        return out

    def _minmax(self, expr, fn):
        # scalars first: numpy.minimum(c, x) returns x on a tie (+-0), as numpy.clip does, which
        # the lowering uses; SymPy's own order puts only numbers first
        args = sorted(expr.args, key=lambda a: bool(a.free_symbols & self.arrays))
        args = [self._print(a) for a in args]
        out = args[0]
        for a in args[1:]:
            out = f"numpy.{fn}({out}, {a})"
        return out

    def _print_Max(self, expr):
        return self._minmax(expr, "maximum")

    def _print_Min(self, expr):
        return self._minmax(expr, "minimum")

    def _print_Heaviside(self, expr):
        # a float 0/1 (NaN for NaN) in one cheap pass: unlike numpy.where over a random mask
        x, h0 = expr.args
        if h0 in (0, 1):
            if x.could_extract_minus_sign():
                return _step(self._print(-x), int(h0), negated=True)
            return _step(self._print(x), int(h0))
        return f"numpy.heaviside({self._print(x)}, {self._print(h0)})"

    def _print_Quotient(self, expr):
        n, d = expr.args
        mul = sympy.printing.precedence.PRECEDENCE["Mul"]
        return f"({self.parenthesize(n, mul)}/{self.parenthesize(d, mul)})"

    def _print_Product(self, expr):
        x, y = (self.parenthesize(e, sympy.printing.precedence.PRECEDENCE['Mul']) for e in expr.args)
        return f"({x}*{y})"

    def _print_Erfc(self, expr):
        # the runtime's, from NumPy ufuncs (symderiv.codegen.runtime.erfc): the kernels need no scipy.
        # erfc(+-z/sqrt(2)) (the normal CDF) is given z too, from which it computes exp(-z^2/2)
        # exactly: the rounding of z/sqrt(2) would change it by up to 2x^2 ULP (995 for gelu at -35)
        arg = expr.args[0]
        factors = sympy.Mul.make_args(arg)
        coeff = sympy.Mul(*[f for f in factors if f.is_number])
        rest = sympy.Mul(*[f for f in factors if not f.is_number])
        if rest.is_Symbol and sympy.simplify(coeff**2 - sympy.Rational(1, 2)) == 0:
            return f"erfc({self._print(arg)}, {self._print(rest)})"
        return f"erfc({self._print(arg)})"

    def _print_Float(self, expr):
        return repr(float(expr))

    def _print_Rational(self, expr):
        return repr(float(expr))

    def _print_Half(self, expr):
        return "0.5"

    def _print_NumberSymbol(self, expr):
        return repr(float(expr))

    _print_Pi = _print_NumberSymbol
    _print_Exp1 = _print_NumberSymbol

    def _print_Mul(self, expr):
        if expr.is_number and not expr.is_Integer:
            return repr(float(expr))
        num, rest = expr.as_coeff_Mul()
        factors = sympy.Mul.make_args(rest)
        numeric = [f for f in factors if f.is_number]
        if numeric:
            # fold every numeric factor into one correctly rounded literal (sqrt(2)*z/2 -> 0.707...*z:
            # one rounding, and no overflow of sqrt(2)*z before the halving)
            coeff = num * sympy.Mul(*numeric)
            others = sympy.Mul(*[f for f in factors if not f.is_number])
            if coeff == 1:
                return self._print(others)
            if coeff == -1:
                return "-" + self.parenthesize(others, sympy.printing.precedence.PRECEDENCE["Mul"])
            return f"{float(coeff.evalf(30))!r}*{self.parenthesize(others, sympy.printing.precedence.PRECEDENCE['Mul'])}"
        if num.is_Rational and abs(num.p) == 1 and num.q > 1:
            sign = "-" if num.p < 0 else ""
            if num.q & (num.q - 1) == 0 and num.q <= 2**1000:
                # x/4 is exactly x*0.25, and a multiplication is cheaper than a division
                return f"{sign}{float(sympy.Rational(1, num.q))!r}*{self.parenthesize(rest, sympy.printing.precedence.PRECEDENCE['Mul'])}"
            # x/6 is correctly rounded; x*0.16666666666666666 is not
            q, rest = _halved(num.q, rest)
            return f"{sign}({self._print(rest)})/{q}"
        return super()._print_Mul(expr)

    def _print_Pow(self, expr, rational=False):
        base, e = expr.args
        if expr.is_number:
            return repr(float(expr))
        if e.is_Integer and 2 <= abs(int(e)) <= 4:
            b = self.parenthesize(base, sympy.printing.precedence.PRECEDENCE["Mul"])
            prod = "*".join([b] * abs(int(e)))
            return f"({prod})" if e > 0 else f"(1/({prod}))"
        if e == -1:
            return f"(1/{self.parenthesize(base, sympy.printing.precedence.PRECEDENCE['Mul'])})"
        return super()._print_Pow(expr, rational=rational)
