"""Expressions as text: for programs (``to_text``, the JSON contract) and for people (``to_display``).

``str(expr)`` is almost what ``sympy.sympify`` reads back, except for a symbol whose name
SymPy's namespace already uses: ``softplus``'s parameter ``beta`` would read back as the beta
*function*. In :func:`to_text` such symbols print as ``Symbol('beta')``.

>>> from sympy import Rational, Symbol, exp, sympify
>>> beta = Symbol("beta", positive=True)
>>> to_text(2 * beta)
"2*Symbol('beta')"
>>> sympify(to_text(2 * beta)).free_symbols == {Symbol("beta")}
True

Text for people (:func:`to_display`, :func:`to_display_latex`) names symbols plainly and
writes a rational with a long denominator (SELU's exact constants have 31 digits) as the
shortest decimal that rounds to the same float64 (Python's ``repr`` of the float); short
rationals such as ``1/4`` and ``3/2`` stay exact:

>>> alpha = Rational("1.6732632423543772848170429916717")
>>> to_display(alpha * (exp(Symbol("z")) - 1) + 2 * beta / 3)
'2*beta/3 + 1.6732632423543772*exp(z) - 1.6732632423543772'
>>> float(to_display(alpha)) == float(alpha)
True
"""

from __future__ import annotations

import sympy
from sympy.printing.latex import LatexPrinter
from sympy.printing.str import StrPrinter

__all__ = ["decimal", "readable", "to_display", "to_display_latex", "to_text"]


def _clashes(name: str) -> bool:
    # sympify evaluates names in the namespace of ``from sympy import *``
    return name in sympy.__all__


_CLASH: dict[str, bool] = {}


class _Printer(StrPrinter):
    def _print_Symbol(self, expr: sympy.Symbol) -> str:
        name = expr.name
        if name not in _CLASH:
            _CLASH[name] = _clashes(name)
        return f"Symbol({name!r})" if _CLASH[name] else name


def to_text(expr: object) -> str | None:
    """A SymPy string for ``expr`` (None stays None)."""
    if expr is None:
        return None
    return _Printer().doprint(expr)


#: A rational whose denominator has more digits than this is shown as a decimal.
_SHORT_DENOMINATOR = 6


def _long(r: sympy.Rational) -> bool:
    return len(str(abs(r.q))) > _SHORT_DENOMINATOR or len(str(abs(r.p))) > 17


def decimal(value: object) -> str:
    """The shortest decimal that rounds to the same float64 as ``value`` (a number).

    >>> decimal(sympy.Rational("1.0507009873554804934193349852946"))
    '1.0507009873554805'
    """
    return repr(float(value))


def readable(expr: sympy.Basic) -> sympy.Basic:
    """``expr`` with each long rational replaced by a float-valued ``Float`` (see :func:`to_display`)."""
    if not isinstance(expr, sympy.Basic):
        return expr
    swap = {r: sympy.Float(r, 30) for r in expr.atoms(sympy.Rational) if not r.is_Integer and _long(r)}
    return expr.xreplace(swap) if swap else expr


class _Display(StrPrinter):
    def _print_Symbol(self, expr: sympy.Symbol) -> str:
        return expr.name

    def _print_Float(self, expr: sympy.Float) -> str:
        return decimal(expr)


class _DisplayLatex(LatexPrinter):
    def _print_Float(self, expr: sympy.Float) -> str:
        text = decimal(expr)
        mantissa, sep, exponent = text.partition("e")
        return mantissa + (rf" \cdot 10^{{{int(exponent)}}}" if sep else "")


def to_display(expr: object) -> str | None:
    """``expr`` for people: plain symbol names, long rationals as round-trip decimals."""
    if expr is None:
        return None
    if isinstance(expr, str):
        return expr
    return _Display().doprint(readable(sympy.sympify(expr)))


def to_display_latex(expr: object) -> str:
    """LaTeX of ``expr`` with long rationals as round-trip decimals."""
    return _DisplayLatex().doprint(readable(sympy.sympify(expr)))
