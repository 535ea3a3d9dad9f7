"""Expressions as text that ``sympy.sympify`` reads back: the JSON contract.

``str(expr)`` is almost that, except for a symbol whose name SymPy's namespace
already uses: ``softplus``'s parameter ``beta`` would read back as the beta
*function*. Such symbols print as ``Symbol('beta')``.

>>> from sympy import Symbol, sympify
>>> beta = Symbol("beta", positive=True)
>>> to_text(2 * beta)
"2*Symbol('beta')"
>>> sympify(to_text(2 * beta)).free_symbols == {Symbol("beta")}
True
"""

from __future__ import annotations

import sympy
from sympy.printing.str import StrPrinter

__all__ = ["to_text"]


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
