"""Textbook notation for the steps of a derivation: plain text and LaTeX, never SymPy internals.

A step holds SymPy objects (``Derivative``, ``Subs``, ``Limit``, ``Piecewise``)
so that it can be checked and read back; a student should see none of those
names. :func:`text` and :func:`latex` print them as a textbook does:

* ``Derivative(f, z)`` is ``d/dz[f]`` (LaTeX ``\\frac{d}{dz}``, never ``\\partial``);
* ``Subs(Derivative(f(u), u), u, h)``, the chain rule's outer derivative, is
  ``d/du[f(u)]``; the binding ``u = h`` is collected and stated once beside
  the line (:func:`bindings`);
* a product with derivative factors puts the coefficient first:
  ``-1/(1 + exp(-z))**2 * d/dz[1 + exp(-z)]``;
* ``Piecewise`` is ``{alpha if z < 0; 1 if z > 0}``, an interval condition is
  ``0 < z < 6``, ``Eq(a, 0)`` is ``a = 0``; ``Limit`` is ``lim_(z->0-)``;
* ``Abs``, ``Min``, ``Max`` are ``|x|``, ``min``, ``max``; a fraction of more than
  15 digits (SELU's constants) prints as the decimal that round-trips through a float.

>>> from sympy import Derivative, Piecewise, Subs, Symbol, exp, And
>>> from symderiv.catalogue import z
>>> u = Symbol("u")
>>> text(Subs(Derivative(1/u, u), u, 1 + exp(-z)) * Derivative(exp(-z), z))
'd/du[1/u] * d/dz[exp(-z)]'
>>> bindings(Subs(Derivative(1/u, u), u, 1 + exp(-z)))
[(u, 1 + exp(-z))]
>>> text(Piecewise((0, z < 0), (1, And(z > 0, z < 6)), (0, True)))
'{0 if z < 0; 1 if 0 < z < 6; 0 otherwise}'
>>> latex(Derivative(Symbol("alpha") * z, z))
'\\\\frac{d}{dz} \\\\left(\\\\alpha z\\\\right)'
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping

import sympy
from sympy import Derivative, Expr, Subs, UnevaluatedExpr
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

__all__ = ["bindings", "html_note", "latex", "name_inner", "text"]

_OPS = (Derivative, Subs)
_FLIP = {">": "<", ">=": "<=", "<": ">", "<=": ">="}
_TEX_OP = {"<": "<", "<=": r"\leq", ">": ">", ">=": r"\geq"}


def _is_op(f: Expr) -> bool:
    """A factor to show on its own: a derivative (or a sum holding one), or a display-only group."""
    return isinstance(f, UnevaluatedExpr) or f.has(*_OPS)


def _mul(printer, expr: Expr, times: str, minus: str) -> str | None:
    """A product with derivative factors, coefficient first: ``-1/h**2 * d/dz[h]``; a product of
    display-only groups as written: ``1/h * exp(-z)/h``. None for an ordinary product."""
    ops = [f for f in expr.args if _is_op(f)]
    if not ops:
        return None
    sign, rest = _split_sign(sympy.Mul(*[f for f in expr.args if not _is_op(f)]))
    shown = [printer.parenthesize(f.args[0] if isinstance(f, UnevaluatedExpr) else f, PRECEDENCE["Mul"],
                                  strict=True) for f in _op_order(ops)]
    if rest != 1:
        shown.insert(0, printer.parenthesize(rest, PRECEDENCE["Mul"], strict=True))
    return (minus if sign else "") + times.join(shown)


def _bound(rel) -> tuple[Expr, str, Expr] | None:
    """``(variable, op, bound)`` for ``x < b`` or ``b < x`` with a symbol x."""
    if not isinstance(rel, sympy.core.relational.Relational) or rel.rel_op not in _FLIP:
        return None
    if isinstance(rel.lhs, sympy.Symbol) and not rel.rhs.has(rel.lhs):
        return rel.lhs, rel.rel_op, rel.rhs
    if isinstance(rel.rhs, sympy.Symbol) and not rel.lhs.has(rel.rhs):
        return rel.rhs, _FLIP[rel.rel_op], rel.lhs
    return None


def _interval(cond) -> tuple[Expr, str, Expr, str, Expr] | None:
    """``(lo, op, x, op, hi)`` for ``And(x > lo, x < hi)`` (any order, strict or not)."""
    if not isinstance(cond, sympy.And) or len(cond.args) != 2:
        return None
    parts = [_bound(r) for r in cond.args]
    if None in parts or parts[0][0] != parts[1][0]:
        return None
    lower = [p for p in parts if p[1] in (">", ">=")]
    upper = [p for p in parts if p[1] in ("<", "<=")]
    if len(lower) != 1 or len(upper) != 1:
        return None
    (x, lop, lo), (_, uop, hi) = lower[0], upper[0]
    return lo, _FLIP[lop], x, uop, hi


def _split_sign(rest: Expr) -> tuple[str, Expr]:
    return ("-", -rest) if rest.could_extract_minus_sign() else ("", rest)


def _op_order(ops: list[Expr]) -> list[Expr]:
    """The chain rule's order: the outer derivative (``Subs``) first, then d/dz of the inner function."""
    return sorted(ops, key=lambda f: not isinstance(f, Subs))  # stable: the rest keep SymPy's order


def _decimals(expr: object) -> object:
    """Rationals of more than 15 digits as the float that round-trips them (SELU's constants)."""
    if not isinstance(expr, sympy.Basic):
        return expr
    big = {r: sympy.Float(repr(float(r)), 17) for r in expr.atoms(sympy.Rational)
           if not r.is_Integer and _big(r) and abs(r) < sympy.Rational(10) ** 300}
    return expr.xreplace(big) if big else expr


def _big(r: sympy.Rational) -> bool:
    return max(len(str(abs(r.p))), len(str(r.q))) > 15


def _letters():
    """Display names of the chain rule's inner variables: u, v, w, then u1, u2, ..."""
    yield from (sympy.Symbol(n) for n in ("u", "v", "w"))
    k = 1
    while True:
        yield sympy.Symbol(f"u{k}")
        k += 1


class _Bindings:
    """Names the inner function of every ``Subs`` printed: ``u``, ``v``, ... in order of appearance,
    keeping the names given (``names``: a point already named on an earlier line keeps its name).

    SymPy treats the variable of ``Subs`` as bound (``Subs(f(u), u, h) == Subs(f(v), v, h)``,
    and its cache returns either), so the name shown is chosen here, by the point, not taken
    from the object."""

    def __init__(self, settings=None, names: Mapping | None = None):
        super().__init__(settings)
        self.bound: list[tuple[Expr, Expr]] = []
        self.names: dict = dict(names or {})

    def _letter(self, point: Expr) -> sympy.Symbol:
        if point not in self.names:
            used = set(self.names.values())
            self.names[point] = next(x for x in _letters() if x not in used)
        letter = self.names[point]
        if (letter, point) not in self.bound:
            self.bound.append((letter, point))
        return letter

    def _print_Subs(self, expr):
        (var,), (point,) = expr.variables, expr.point
        shown = expr.expr.xreplace({var: self._letter(point)}) if len(expr.variables) == 1 else expr.expr
        inner = shown.expr if isinstance(shown, Derivative) else shown
        if isinstance(expr.expr, Derivative) and expr.expr.variables == (var,):
            return self._print(Derivative(inner, self._letter(point), evaluate=False))
        return self._print(shown)


class TextPrinter(_Bindings, StrPrinter):
    """Plain text in SymPy's spelling, with derivatives, limits and cases as a textbook writes them."""

    def _print_Derivative(self, expr):
        var, n = expr.variable_count[-1]
        op = f"d/d{self._print(var)}" if n == 1 else f"d^{n}/d{self._print(var)}^{n}"
        return f"{op}[{self._print(expr.expr)}]"

    def _print_Mul(self, expr):
        return _mul(self, expr, " * ", "-") or super()._print_Mul(expr)

    def _print_Pow(self, expr, rational=False):
        if expr.exp.is_Rational and expr.exp.is_negative and expr.exp != -1:
            return "1/" + self.parenthesize(sympy.Pow(expr.base, -expr.exp), PRECEDENCE["Mul"])
        return super()._print_Pow(expr, rational)

    def _print_Piecewise(self, expr):
        cases = [f"{self._print(e)} otherwise" if c == sympy.true else f"{self._print(e)} if {self._print(c)}"
                 for e, c in expr.args]
        return "{" + "; ".join(cases) + "}"

    def _print_And(self, expr):
        chain = _interval(expr)
        if chain is not None:
            lo, lop, x, uop, hi = chain
            return f"{self._print(lo)} {lop} {self._print(x)} {uop} {self._print(hi)}"
        return " and ".join(self.parenthesize(a, PRECEDENCE["And"] + 1) for a in expr.args)

    def _print_Or(self, expr):
        return " or ".join(self.parenthesize(a, PRECEDENCE["Or"] + 1) for a in expr.args)

    def _print_Not(self, expr):
        return f"not ({self._print(expr.args[0])})"

    def _print_ITE(self, expr):
        c, t, f = expr.args
        return self._print(sympy.Or(sympy.And(c, t), sympy.And(sympy.Not(c), f)))

    def _print_Equality(self, expr):
        return f"{self._print(expr.lhs)} = {self._print(expr.rhs)}"

    def _print_Unequality(self, expr):
        return f"{self._print(expr.lhs)} != {self._print(expr.rhs)}"

    def _print_Limit(self, expr):
        f, var, point, direction = expr.args
        side = str(direction) if str(direction) in "+-" else ""
        at = self._print(point) if not point.is_Add else f"({self._print(point)})"
        return f"lim_({self._print(var)}->{at}{side}) {self.parenthesize(f, PRECEDENCE['Mul'])}"

    def _print_Abs(self, expr):
        return f"|{self._print(expr.args[0])}|"

    def _print_Min(self, expr):
        return "min(" + ", ".join(self._print(a) for a in expr.args) + ")"

    def _print_Max(self, expr):
        return "max(" + ", ".join(self._print(a) for a in expr.args) + ")"

    def _print_UnevaluatedExpr(self, expr):  # SymPy's precedence() already parenthesizes by the inner
        return self._print(expr.args[0])


class TexPrinter(_Bindings, LatexPrinter):
    """LaTeX with one derivative notation (``\\frac{d}{dz}``), cases and interval conditions."""

    def _print_Derivative(self, expr):
        var, n = expr.variable_count[-1]
        v = self._print(var)
        op = rf"\frac{{d}}{{d{v}}}" if n == 1 else rf"\frac{{d^{{{n}}}}}{{d{v}^{{{n}}}}}"
        inner = expr.expr
        if inner.is_Atom or (isinstance(inner, (sympy.Function, sympy.Pow)) and not inner.could_extract_minus_sign()):
            return f"{op} {self._print(inner)}"
        return rf"{op} \left({self._print(inner)}\right)"

    def _print_Mul(self, expr):
        return _mul(self, expr, r" \cdot ", "- ") or super()._print_Mul(expr)

    def _print_And(self, expr):
        chain = _interval(expr)
        if chain is not None:
            lo, lop, x, uop, hi = chain
            return (f"{self._print(lo)} {_TEX_OP[lop]} {self._print(x)} "
                    f"{_TEX_OP[uop]} {self._print(hi)}")
        return r" \text{ and } ".join(self.parenthesize(a, PRECEDENCE["And"] + 1) for a in expr.args)

    def _print_Or(self, expr):
        return r" \text{ or } ".join(self.parenthesize(a, PRECEDENCE["Or"] + 1) for a in expr.args)

    def _print_ITE(self, expr):
        c, t, f = expr.args
        return self._print(sympy.Or(sympy.And(c, t), sympy.And(sympy.Not(c), f)))

    def _print_UnevaluatedExpr(self, expr):
        return self._print(expr.args[0])

    def _print_Function(self, expr, exp=None):
        if expr.func.__name__ == "g'":  # the name of a derivative, g'(z), as the lesson writes it
            return "g'(" + ", ".join(self._print(a) for a in expr.args) + ")"
        return super()._print_Function(expr, exp)


def text(expr: object, names: Mapping | None = None) -> str:
    """``expr`` in plain text, in textbook notation (see the module docstring); ``names`` maps
    inner functions to the letters they were given on earlier lines (:func:`name_inner`)."""
    return TextPrinter(names=names).doprint(_decimals(expr))


def latex(expr: object, names: Mapping | None = None) -> str:
    """``expr`` in LaTeX, in textbook notation (see the module docstring and :func:`text`)."""
    return TexPrinter(names=names).doprint(_decimals(expr))


def bindings(*exprs: Expr, names: Mapping | None = None) -> list[tuple[Expr, Expr]]:
    """The ``(u, h(z))`` bound by the chain rule's ``Subs`` in ``exprs``, in order of appearance."""
    p = TextPrinter(names=names)
    for e in exprs:
        p.doprint(_decimals(e))
    return p.bound


def name_inner(names: Mapping, *exprs: Expr) -> dict:
    """The letters of the inner functions in ``exprs``, from one line to the next: a function
    still present keeps its letter from ``names``; a new one takes the first letter free.

    >>> from sympy import Derivative, Subs, Symbol, exp, log
    >>> from symderiv.catalogue import z
    >>> u = Symbol("u")
    >>> first = Subs(Derivative(exp(u), u), u, -z) + Subs(Derivative(log(u), u), u, 1 + z**2)
    >>> names = name_inner({}, first)
    >>> sorted((str(v), str(p)) for p, v in names.items())
    [('u', '-z'), ('v', 'z**2 + 1')]
    >>> text(Subs(Derivative(log(u), u), u, 1 + z**2), names=name_inner(names, first))
    'd/dv[log(v)]'
    """
    alive = {p for e in exprs for s in sympy.sympify(e).atoms(Subs) for p in s.point}
    p = TextPrinter(names={k: v for k, v in names.items() if k in alive})
    for e in exprs:
        p.doprint(_decimals(e))
    return p.names


# ---- the notes beside the steps, for a web page ------------------------------------------------

_GREEK = {"alpha": "α", "beta": "β", "lambd": "λ", "pi": "π"}
_SUPERSCRIPT = str.maketrans("0123456789n", "⁰¹²³⁴⁵⁶⁷⁸⁹ⁿ")
_GROUP = r"\((?:[^()]|\([^()]*\))*\)"  # parentheses, with at most one level inside


def html_note(note: str) -> str:
    """A step's note (plain text, :func:`text`'s notation) as HTML a textbook would print:
    ``exp(x)`` as e with a superscript, powers raised, ``*`` as a centred dot, a minus sign for a
    hyphen, ≠ ≤ ≥, Greek parameters. Display only: the note's words and order are kept.

    >>> html_note("d/du[1/u] = -1/u**2, then put back u = 1 + exp(-z)")
    'd/du[1/u] = −1/u², then put back u = 1 + e<sup>−z</sup>'
    >>> html_note("d/dz[z**n] = n*z**(n - 1) with n = 2; 1/2 != 0")
    'd/dz[zⁿ] = n·z<sup>n − 1</sup> with n = 2; 1/2 ≠ 0'
    """
    s = html.escape(note, quote=False)
    s = s.replace("!=", "≠").replace("&lt;=", "≤").replace("&gt;=", "≥").replace("-&gt;", "→")
    s = re.sub(r"(?<![\w.])-(?=[\w(\[|])", "−", s)  # a sign: -z, -1/u, -(...)
    s = s.replace(" - ", " − ")
    s = re.sub(r"\b(" + "|".join(_GREEK) + r")\b", lambda m: _GREEK[m.group(1)], s)

    def power(m: re.Match) -> str:
        e = m.group(1)
        if re.fullmatch(r"[0-9n]", e):
            return e.translate(_SUPERSCRIPT)
        return f"<sup>{e[1:-1] if e.startswith('(') else e}</sup>"

    s = re.sub(r"\*\*(" + _GROUP + r"|[\w.]+)", power, s)
    s = re.sub(r"\bexp(" + _GROUP + ")", lambda m: f"e<sup>{m.group(1)[1:-1]}</sup>", s)
    s = re.sub(r"\bsqrt\(", "√(", s)
    return s.replace(" * ", " · ").replace("*", "·")
