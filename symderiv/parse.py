"""Safe text → SymPy: the only way user text becomes an expression.

SymPy's ``sympify``/``parse_expr`` call ``eval``; this module never does. It
parses with Python's :mod:`ast` and walks the tree with an allow-list: numbers,
known names, ``+ - * / ** ^``, unary signs, calls of listed functions with
positional arguments, and conditions: comparisons (chained ones too), ``and``/
``or``/``not`` and ``& | ~`` between conditions, ``Piecewise((value, condition),
...)``, ``Eq``/``Ne``, ``Heaviside`` and Python's ``x if c else y`` — everything
symderiv itself prints reads back. Anything else (attributes, subscripts,
lambdas, comprehensions, strings, keywords, …) is refused with a message
naming the offending part. Sizes are bounded before SymPy sees anything:
the text's length, the number of nodes, the digits of a literal, and every
exponent whose base and power are both numbers.

>>> from sympy import Symbol
>>> z = Symbol("z", real=True)
>>> parse_expr_safe("1/(1 + exp(-z))", {"z": z})
1/(1 + exp(-z))
>>> parse_expr_safe("0.044715*z^3", {"z": z})
8943*z**3/200000
>>> parse_expr_safe("__import__('os')", {"z": z})
Traceback (most recent call last):
...
symderiv.errors.ParseError: function '__import__' is not allowed (allowed: Abs, Heaviside, Max, ...)
"""

from __future__ import annotations

import ast
import math
import unicodedata
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import mpmath
import sympy
from sympy import Expr, Integer, Rational, Symbol

from .errors import InputTooLarge, ParseError, SymderivError, closest

__all__ = ["FUNCTIONS", "LIMITS", "Parsed", "check_constant", "parse_claim", "parse_expr_safe", "parse_number"]

#: Bounds checked before any SymPy work (see the README's "Safety" section).
LIMITS = {
    "length": 2000,  # characters of text
    "nodes": 400,  # AST nodes
    "depth": 50,  # nesting depth of the AST
    "literal_digits": 60,  # characters of one numeric literal
    "exponent": 1000,  # |e| of a literal such as 1e-300, and |log10| of any constant
    "power": 64,  # |p| in expr**p when expr contains a symbol (also after SymPy combines powers)
    "kinks": 8,  # Abs, sign, Max/Min arguments and kinked activations: breakpoints multiply
}

def _heaviside(x: Expr, h0: Expr = sympy.S.Half) -> Expr:
    return sympy.Heaviside(x, h0)


def _max(*args: Expr) -> Expr:
    return sympy.Max(*args)


def _min(*args: Expr) -> Expr:
    return sympy.Min(*args)


#: Allowed function names → (SymPy callable, min args, max args).
FUNCTIONS: dict[str, tuple[Callable[..., Expr], int, int]] = {
    "exp": (sympy.exp, 1, 1),
    "log": (sympy.log, 1, 1),
    "ln": (sympy.log, 1, 1),
    "sqrt": (sympy.sqrt, 1, 1),
    # as numerical code writes them; read as log(1 + x) (defined for x > -1) and exp(x) - 1
    "log1p": (lambda x: sympy.log(1 + x), 1, 1),
    "expm1": (lambda x: sympy.exp(x) - 1, 1, 1),
    "sin": (sympy.sin, 1, 1),
    "cos": (sympy.cos, 1, 1),
    "tan": (sympy.tan, 1, 1),
    "atan": (sympy.atan, 1, 1),
    "sinh": (sympy.sinh, 1, 1),
    "cosh": (sympy.cosh, 1, 1),
    "tanh": (sympy.tanh, 1, 1),
    "asinh": (sympy.asinh, 1, 1),
    "erf": (sympy.erf, 1, 1),
    "erfc": (sympy.erfc, 1, 1),
    "Abs": (sympy.Abs, 1, 1),
    "abs": (sympy.Abs, 1, 1),
    "sign": (sympy.sign, 1, 1),
    "Heaviside": (_heaviside, 1, 2),
    "Max": (_max, 2, 8),
    "max": (_max, 2, 8),
    "Min": (_min, 2, 8),
    "min": (_min, 2, 8),
}

_CONSTANTS: dict[str, Expr] = {"pi": sympy.pi, "E": sympy.E}

#: Names that would read back as infinity, NaN or the imaginary unit.
_RESERVED = {"I", "oo", "zoo", "nan", "inf", "infinity", "Infinity", "NaN", "j"}

#: Functions whose breakpoints multiply when combined (see ``LIMITS["kinks"]``).
_KINKED = {"Abs", "abs", "sign", "Max", "max", "Min", "min", "Heaviside"}

#: Functions of conditions: name → (SymPy callable, min args, max args).
_LOGIC: dict[str, tuple[Callable[..., object], int, int]] = {
    "Eq": (sympy.Eq, 2, 2), "Ne": (sympy.Ne, 2, 2), "And": (sympy.And, 2, 8),
    "Or": (sympy.Or, 2, 8), "Not": (sympy.Not, 1, 1),
}

_COMPARE: dict[type, Callable[[Expr, Expr], object]] = {
    ast.Lt: sympy.Lt, ast.LtE: sympy.Le, ast.Gt: sympy.Gt, ast.GtE: sympy.Ge,
    ast.Eq: sympy.Eq, ast.NotEq: sympy.Ne,
}

_BINOPS: dict[type, Callable[[Expr, Expr], Expr]] = {
    ast.Add: lambda x, y: x + y,
    ast.Sub: lambda x, y: x - y,
    ast.Mult: lambda x, y: x * y,
    ast.Div: lambda x, y: x / y,
}

_OPERATORS = {
    ast.Mod: "%", ast.FloorDiv: "//", ast.MatMult: "@", ast.LShift: "<<", ast.RShift: ">>",
    ast.BitOr: "|", ast.BitAnd: "&", ast.Not: "not", ast.Invert: "~",
}

_NODE_NAMES = {
    ast.Attribute: "attribute access", ast.Subscript: "subscript", ast.Lambda: "lambda",
    ast.ListComp: "comprehension", ast.SetComp: "comprehension", ast.DictComp: "comprehension",
    ast.GeneratorExp: "comprehension", ast.Compare: "condition", ast.BoolOp: "condition",
    ast.IfExp: "conditional expression", ast.List: "list", ast.Tuple: "tuple", ast.Dict: "dict",
    ast.Set: "set", ast.Starred: "starred argument", ast.NamedExpr: "assignment expression",
    ast.JoinedStr: "f-string", ast.FormattedValue: "f-string", ast.BinOp: "expression",
    ast.UnaryOp: "expression", ast.Call: "call", ast.Await: "await", ast.Yield: "yield",
    ast.YieldFrom: "yield", ast.Slice: "slice",
}


def _constant_kind(value: object) -> str:
    if isinstance(value, str):
        return "string"
    if isinstance(value, bytes):
        return "bytes"
    if isinstance(value, complex):
        return "complex number"
    if value is None or isinstance(value, bool) or value is Ellipsis:
        return "constant"
    return type(value).__name__


def _describe(node: ast.AST, text: str) -> str:
    kind = _NODE_NAMES.get(type(node), type(node).__name__)
    if isinstance(node, ast.Constant):
        kind = _constant_kind(node.value)
    segment = ast.get_source_segment(text, node) or ""
    return f"{kind} {_short(segment, 40)!r}" if segment else kind


def parse_number(text: str) -> Expr:
    """An exact SymPy number from a decimal literal such as ``0.01``, ``-2``, ``1e-3``, ``1/3``.

    >>> parse_number("0.01")
    1/100
    >>> parse_number("-1/3")
    -1/3
    >>> parse_number("nan")
    Traceback (most recent call last):
    ...
    symderiv.errors.ParseError: not a finite real number: 'nan'
    """
    if isinstance(text, str) and text.strip().lower().lstrip("+-") in {
        "nan", "inf", "infinity", "oo", "zoo"
    }:
        raise ParseError(f"not a finite real number: {text.strip()!r}")
    expr = parse_expr_safe(text, {})
    if not expr.is_number or expr.has(sympy.nan, sympy.zoo) or not expr.is_finite or not expr.is_real:
        raise ParseError(f"not a finite real number: {_short(str(text))!r}")
    return expr


def parse_expr_safe(
    text: str,
    symbols: Mapping[str, Symbol],
    *,
    functions: Mapping[str, Callable[..., Expr]] | None = None,
    free_symbols: bool = False,
) -> Expr:
    """Parse ``text`` into a SymPy expression without ever calling ``eval``.

    Args:
        text: the expression, Python syntax; ``^`` means power.
        symbols: names that stand for symbols (e.g. ``z``, ``a``, parameters).
        functions: extra one-argument functions (e.g. the catalogue's activations).
        free_symbols: if true, an unknown bare name becomes a new real symbol;
            otherwise it is an error.

    Raises:
        ParseError: for anything outside the allow-list, naming the offending part.
        InputTooLarge: when a size limit of :data:`LIMITS` is exceeded.

    Every constant (a part without symbols) is bounded as it is built, by an
    mpmath evaluation at 64 bits: it must be real, finite, and at most
    ``10**LIMITS["exponent"]`` in size, and ``exp``/``**`` are checked
    *before* SymPy is asked to build something larger:

    >>> parse_expr_safe("exp(exp(exp(100)))", {})
    Traceback (most recent call last):
    ...
    symderiv.errors.InputTooLarge: call 'exp(exp(100))' is too large (limit 10**1000)
    """
    return _parse(text, symbols, functions, free_symbols)[0]


@dataclass(frozen=True)
class Parsed:
    """An expression with what SymPy's automatic simplification would lose.

    Attributes:
        expr: the SymPy expression (as :func:`parse_expr_safe` returns it).
        conditions: where the text as written is defined, one ``(kind, f, where)`` per
            division, ``log``, ``sqrt`` and fractional power the user wrote: ``f`` must be
            ``"nonzero"``, ``"positive"`` or ``"nonnegative"`` wherever the condition
            ``where`` of the enclosing ``Piecewise`` branches holds (``True`` outside any).
            ``z/z`` becomes ``1`` in ``expr`` but keeps ``("nonzero", z, True)`` here.
        kinks: ``(f, k)`` for each catalogue activation called: its kinks lie where
            ``f - k = 0`` (``f`` the argument, ``k`` one of the activation's kinks).
    """

    expr: Expr
    conditions: tuple[tuple[str, Expr], ...] = ()
    kinks: tuple[Expr, ...] = ()


def parse_claim(
    text: str,
    symbols: Mapping[str, Symbol],
    *,
    functions: Mapping[str, Callable[..., Expr]] | None = None,
) -> Parsed:
    """Like :func:`parse_expr_safe`, also returning where the text is defined.

    >>> from sympy import Symbol
    >>> z = Symbol("z", real=True)
    >>> p = parse_claim("z/z + Piecewise((1, z > 0), (0, True))", {"z": z})
    >>> p.expr, p.conditions
    (Piecewise((1, z > 0), (0, True)) + 1, (('nonzero', z, True),))
    >>> parse_claim("1 if 0 < z < 1 else 0", {"z": z}).expr
    Piecewise((1, (z > 0) & (z < 1)), (0, True))
    """
    expr, walker = _parse(text, symbols, functions, False)
    return Parsed(expr, tuple(dict.fromkeys(walker.conditions)), tuple(dict.fromkeys(walker.kink_args)))


def _parse(text, symbols, functions, free_symbols):
    if not isinstance(text, str):
        raise ParseError(f"expression must be text, got {type(text).__name__}")
    if len(text) > LIMITS["length"]:
        raise InputTooLarge(f"expression too long ({len(text)} characters, limit {LIMITS['length']})")
    if not text.strip():
        raise ParseError("empty expression")
    for column, char in enumerate(text, 1):
        if char == "\x00":
            raise ParseError(f"expression contains a NUL character at column {column}")
        if not (char.isascii() and (char.isprintable() or char in " \t\r\n")):
            name = unicodedata.name(char, f"U+{ord(char):04X}")
            raise ParseError(
                f"character {char!r} ({name}) at column {column} is not allowed: expressions are ASCII"
            )
    # ``^`` means power; replaced in the text so that it also binds like ``**``
    source = text.strip().replace("^", "**")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "invalid decimal literal" would be a 2nd stderr line
            tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise ParseError(f"cannot parse expression {_short(source)!r}: {_syntax_reason(exc)}") from None
    except (RecursionError, MemoryError, ValueError):
        raise InputTooLarge("expression nested too deeply") from None
    count = sum(1 for _ in ast.walk(tree))
    if count > LIMITS["nodes"]:
        raise InputTooLarge(f"expression too large ({count} nodes, limit {LIMITS['nodes']})")
    depth = _depth(tree.body)
    if depth > LIMITS["depth"]:
        raise InputTooLarge(f"expression nested too deeply (depth {depth}, limit {LIMITS['depth']})")
    walker = _Walker(source, dict(symbols), dict(functions or {}), free_symbols)
    try:
        with mpmath.workprec(64):
            result = walker.visit(tree.body)
    except _Unbounded as exc:
        raise InputTooLarge(f"constant in {_short(source)!r} {exc}") from None
    except RecursionError:
        raise InputTooLarge("expression nested too deeply") from None
    if isinstance(result, sympy.logic.boolalg.Boolean) and not isinstance(result, Expr):
        raise ParseError(f"a condition, not an expression: {_short(source)!r}")
    if not isinstance(result, Expr):
        raise ParseError(f"not an expression: {_short(source)!r}")
    if result.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
        raise ParseError(f"expression is undefined (division by zero?): {_short(source)!r}")
    if result.has(sympy.I):
        raise ParseError(f"expression is not real: {_short(source)!r}")
    _check_powers(result, source)
    return result, walker



def check_constant(value: Expr, what: str = "number") -> Expr:
    """``value`` if it is a finite real constant within the parser's limits, else raise.

    For numbers that arrive as SymPy objects or Python numbers (API callers), not as text.

    >>> check_constant(sympy.Integer(10) ** 2000)
    Traceback (most recent call last):
    ...
    symderiv.errors.InputTooLarge: number is too large (limit 10**1000)
    """
    if not isinstance(value, Expr) or value.free_symbols:
        raise ParseError(f"{what} must be a number, got {_short(str(value), 40)!r}")
    with mpmath.workprec(64):
        _Walker("", {}, {}, False).bound(value, None, label=what)
    return value


def _depth(node: ast.AST) -> int:
    """Nesting depth of an AST, without recursion (the tree may be deep)."""
    deepest, stack = 0, [(node, 1)]
    while stack:
        item, level = stack.pop()
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in ast.iter_child_nodes(item))
    return deepest


def _check_powers(expr: Expr, source: str) -> None:
    """Powers of symbolic bases stay small even after SymPy combines them (``(z**64)**64``)."""
    for node in sympy.preorder_traversal(expr):
        if isinstance(node, sympy.Pow) and node.base.free_symbols and node.exp.is_number:
            p = node.exp
            if p.is_Rational and p.q > 10**6:
                raise InputTooLarge(
                    f"exponent of {_short(str(node), 40)!r} in {_short(source)!r} is too fine "
                    "(denominator above 10**6)"
                )
            if p.is_Rational and abs(p) > LIMITS["power"]:
                raise InputTooLarge(
                    f"power {_short(str(node), 40)!r} too large in {_short(source)!r} "
                    f"(limit {LIMITS['power']})"
                )


def _short(text: str, n: int = 60) -> str:
    return text if len(text) <= n else text[: n - 3] + "..."


def _syntax_reason(exc: SyntaxError) -> str:
    msg = (exc.msg or "invalid syntax").strip()
    if exc.offset:
        msg += f" at column {exc.offset}"
    return msg


# --- bounding constants -------------------------------------------------------------------

_MP_FUNCTIONS: dict[str, Callable] = {
    "exp": mpmath.exp, "log": mpmath.log, "sqrt": mpmath.sqrt, "sin": mpmath.sin, "cos": mpmath.cos,
    "tan": mpmath.tan, "atan": mpmath.atan, "sinh": mpmath.sinh, "cosh": mpmath.cosh,
    "tanh": mpmath.tanh, "asinh": mpmath.asinh, "erf": mpmath.erf, "erfc": mpmath.erfc,
    "Abs": mpmath.fabs, "sign": mpmath.sign, "Max": max, "Min": min,
}
#: Functions that grow like exp(|x|): refused before evaluation when the result would be too large.
_EXPONENTIAL = {"exp", "expm1", "sinh", "cosh"}
_LN10 = math.log(10)


class _Unbounded(Exception):
    """A constant that is not a finite real number within the limits; the message says why."""

    def __init__(self, why: str = "") -> None:
        super().__init__(why or f"is too large (limit 10**{LIMITS['exponent']})")


def _log10(x: mpmath.mpf) -> float:
    return float(mpmath.log10(abs(x))) if x else -math.inf


def _numeric(expr: Expr, memo: dict) -> mpmath.mpf:
    """The value of a constant at 64 bits, never building a number beyond the limits."""
    if expr in memo:
        return memo[expr]
    limit = LIMITS["exponent"]
    if expr.is_Rational:
        if max(abs(expr.p), expr.q).bit_length() > limit * 3.33:
            raise _Unbounded
        value = mpmath.mpf(expr.p) / expr.q
    elif expr is sympy.pi:
        value = +mpmath.pi
    elif expr is sympy.E:
        value = +mpmath.e
    elif expr.is_Add:
        value = mpmath.fsum(_numeric(arg, memo) for arg in expr.args)
    elif expr.is_Mul:
        value = mpmath.mpf(1)
        for arg in expr.args:
            value *= _numeric(arg, memo)
    elif expr.is_Pow:
        base, power = _numeric(expr.base, memo), _numeric(expr.exp, memo)
        if base == 0 and power <= 0:
            raise _Unbounded("is undefined (division by zero?)")
        if base < 0 and not expr.exp.is_Integer:
            raise _Unbounded("is not a real number")
        if base and abs(float(power) * _log10(base)) > limit:
            raise _Unbounded
        value = mpmath.power(base, power)
    elif isinstance(expr, sympy.Function) and type(expr).__name__ in _MP_FUNCTIONS:
        name = type(expr).__name__
        args = [_numeric(arg, memo) for arg in expr.args]
        if name in _EXPONENTIAL and abs(args[0]) > limit * _LN10:
            raise _Unbounded
        if name in {"log", "sqrt"} and args[0] <= (0 if name == "log" else -1e-300):
            raise _Unbounded("is not a real number" if args[0] < 0 else "is undefined")
        value = _MP_FUNCTIONS[name](*args)
    else:
        raise _Unbounded(f"cannot be bounded (a constant {type(expr).__name__})")
    if not mpmath.isfinite(value) or (value and abs(_log10(value)) > limit):
        raise _Unbounded
    memo[expr] = value
    return value


class _Walker:
    def __init__(self, text: str, symbols: dict, functions: dict, free: bool) -> None:
        self.text = text
        self.symbols = symbols
        self.functions = functions
        self.free = free
        self.kinks = 0
        self.memo: dict = {}
        self.conditions: list[tuple[str, Expr, object]] = []
        self.kink_args: list[Expr] = []
        self.branch: list = []  # conditions of the Piecewise branches being read

    def need(self, kind: str, f: Expr) -> None:
        """Record where the text as written is defined: ``f`` nonzero, positive or nonnegative
        wherever the enclosing branches' conditions hold."""
        if isinstance(f, Expr) and f.free_symbols:
            self.conditions.append((kind, f, sympy.And(*self.branch)))

    def under(self, cond, node: ast.AST) -> Expr:
        """``node`` read as the value of a branch taken where ``cond`` holds."""
        self.branch.append(cond)
        try:
            return self.expr(node)
        finally:
            self.branch.pop()

    def expr(self, node: ast.AST) -> Expr:
        """A visited operand that must be a number, not a condition."""
        value = self.visit(node)
        if not isinstance(value, Expr):
            raise ParseError(f"{_describe(node, self.text)} is a condition, used as a number")
        return value

    def condition(self, node: ast.AST):
        """A visited operand that must be a condition."""
        value = self.visit(node)
        if not isinstance(value, sympy.logic.boolalg.Boolean) or isinstance(value, Symbol):
            raise ParseError(f"{_describe(node, self.text)} is not a condition")
        return value

    def visit(self, node: ast.AST) -> Expr:
        method = getattr(self, "visit_" + type(node).__name__, None)
        if method is None:
            raise ParseError(f"{_describe(node, self.text)} is not allowed in an expression")
        result = method(node)
        if isinstance(result, Expr) and not result.free_symbols:
            self.bound(result, node)
        return result

    def bound(self, value: Expr, node: ast.AST | None, label: str = "") -> None:
        """Refuse a constant that is not real, not finite, or beyond ``10**LIMITS["exponent"]``."""
        part = label or _describe(node, self.text)
        if value.has(sympy.zoo, sympy.nan):
            raise ParseError(f"{part} is undefined (division by zero?)")
        if value.has(sympy.oo, -sympy.oo):
            raise ParseError(f"{part} is infinite")
        if value.has(sympy.I):
            raise ParseError(f"{part} is not a real number")
        try:
            result = _numeric(value, self.memo)
        except _Unbounded as exc:
            why = str(exc)
        except (ValueError, ZeroDivisionError, OverflowError, TypeError, ArithmeticError):
            why = "cannot be evaluated"
        else:
            if isinstance(result, mpmath.mpf):
                return
            why = "is not a real number"
        error = InputTooLarge if "too large" in why else ParseError
        raise error(f"{part} {why}")

    def visit_Constant(self, node: ast.Constant) -> Expr:
        value = node.value
        if isinstance(value, bool):
            return sympy.true if value else sympy.false
        if not isinstance(value, (int, float)):
            raise ParseError(f"{_describe(node, self.text)} is not allowed: only numbers")
        literal = ast.get_source_segment(self.text, node) or repr(value)
        literal = literal.replace("_", "")
        if len(literal) > LIMITS["literal_digits"]:
            raise InputTooLarge(
                f"number literal {_short(literal, 20)!r} too long ({len(literal)} characters, "
                f"limit {LIMITS['literal_digits']})"
            )
        if isinstance(value, int):
            return Integer(value)
        _, _, exponent = literal.lower().partition("e")
        if exponent and abs(int(exponent)) > LIMITS["exponent"]:
            raise InputTooLarge(f"exponent of {literal!r} too large (limit {LIMITS['exponent']})")
        return Rational(literal)

    def visit_Name(self, node: ast.Name) -> Expr:
        name = node.id
        if name in self.symbols:
            return self.symbols[name]
        if name in _CONSTANTS:
            return _CONSTANTS[name]
        if name in FUNCTIONS or name in self.functions:
            raise ParseError(f"function {name!r} used without arguments")
        if name in _RESERVED:
            raise ParseError(f"name {name!r} is not allowed: infinite and complex values are refused")
        if self.free and not name.startswith("_") and len(name) <= 20:
            sym = Symbol(name, real=True)
            self.symbols[name] = sym
            return sym
        known = sorted(self.symbols) + sorted(_CONSTANTS)
        raise ParseError(
            f"unknown name {_short(name, 30)!r} (allowed: {', '.join(known)})" + closest(name, known)
        )

    def visit_UnaryOp(self, node: ast.UnaryOp) -> Expr:
        if isinstance(node.op, ast.USub):
            return -self.expr(node.operand)
        if isinstance(node.op, ast.UAdd):
            return self.expr(node.operand)
        if isinstance(node.op, (ast.Not, ast.Invert)):
            return sympy.Not(self.condition(node.operand))
        return self._refuse_operator(node)

    def visit_Compare(self, node: ast.Compare):
        """``x < y``, and chained ``x < y <= w`` as ``(x < y) & (y <= w)``."""
        values = [self.expr(node.left), *(self.expr(c) for c in node.comparators)]
        parts = []
        for op, lhs, rhs in zip(node.ops, values, values[1:], strict=False):
            rel = _COMPARE.get(type(op))
            if rel is None:
                raise ParseError(f"comparison {type(op).__name__} in {_describe(node, self.text)} is not allowed")
            parts.append(rel(lhs, rhs))
        return sympy.And(*parts)

    def visit_BoolOp(self, node: ast.BoolOp):
        return self._connect(node.values, isinstance(node.op, ast.And))

    def _connect(self, nodes: list[ast.AST], conjunction: bool):
        """``and``/``or`` of conditions, in Kleene's logic: where an operand is defined
        matters only where the others let it decide (``z > 0 and sqrt(z) > 1`` is false,
        not undefined, at z = -1)."""
        args, recorded = [], []
        for v in nodes:
            outer, self.conditions = self.conditions, []
            try:
                args.append(self.condition(v))
            finally:
                recorded.append(self.conditions)
                self.conditions = outer
        for i, conds in enumerate(recorded):
            others = [c if conjunction else sympy.Not(c) for j, c in enumerate(args) if j != i]
            self.conditions += [(k, f, sympy.And(w, *others)) for k, f, w in conds]
        return sympy.And(*args) if conjunction else sympy.Or(*args)

    def visit_IfExp(self, node: ast.IfExp) -> Expr:
        """``x if c else y`` is ``Piecewise((x, c), (y, True))``."""
        cond = self.condition(node.test)
        return sympy.Piecewise((self.under(cond, node.body), cond), (self.under(sympy.Not(cond), node.orelse), True))

    def _piecewise(self, node: ast.Call) -> Expr:
        pairs = []
        earlier: list = []
        for arg in node.args:
            if not isinstance(arg, ast.Tuple) or len(arg.elts) != 2:
                raise ParseError(f"Piecewise takes (value, condition) pairs, got {_describe(arg, self.text)}")
            self.branch.extend(sympy.Not(c) for c in earlier)  # a condition is read only if reached
            try:
                cond = self.condition(arg.elts[1])
            finally:
                del self.branch[len(self.branch) - len(earlier):]
            taken = sympy.And(cond, *(sympy.Not(c) for c in earlier))
            pairs.append((self.under(taken, arg.elts[0]), cond))
            earlier.append(cond)
        if not pairs:
            raise ParseError("Piecewise needs at least one (value, condition) pair")
        self._count_kinks(max(1, len(pairs) - 1), node)
        try:
            return sympy.Piecewise(*pairs)
        except (TypeError, ValueError) as exc:
            raise ParseError(f"bad Piecewise {_describe(node, self.text)}: {exc}") from None

    def _refuse_operator(self, node: ast.AST) -> Expr:
        op = _OPERATORS.get(type(getattr(node, "op", None)), "?")
        raise ParseError(f"operator {op!r} in {_describe(node, self.text)} is not allowed")

    def visit_BinOp(self, node: ast.BinOp) -> Expr:
        if isinstance(node.op, (ast.Pow, ast.BitXor)):
            return self._power(node)
        if isinstance(node.op, (ast.BitAnd, ast.BitOr)):  # SymPy prints (z > 0) & (z < 1)
            return self._connect([node.left, node.right], isinstance(node.op, ast.BitAnd))
        op = _BINOPS.get(type(node.op))
        if op is None:
            return self._refuse_operator(node)
        left, right = self.expr(node.left), self.expr(node.right)
        if isinstance(node.op, ast.Div):
            self.need("nonzero", right)
        if not left.free_symbols and not right.free_symbols:
            # both bounded already: check the would-be value before SymPy multiplies big integers
            try:
                a, b = _numeric(left, self.memo), _numeric(right, self.memo)
                if isinstance(node.op, ast.Mult):
                    size = _log10(a) + _log10(b)
                elif isinstance(node.op, ast.Div):
                    size = _log10(a) - _log10(b) if b else 0.0
                else:
                    size = max(_log10(a), _log10(b))
            except _Unbounded:
                size = math.inf
            if abs(size) > LIMITS["exponent"] + 1 and size != -math.inf:
                raise InputTooLarge(
                    f"{_describe(node, self.text)} is too large (limit 10**{LIMITS['exponent']})"
                )
        return op(left, right)

    def _power(self, node: ast.BinOp) -> Expr:
        base = self.expr(node.left)
        power = self.expr(node.right)
        if base.free_symbols:
            if not (power.is_number and power.is_Integer and power >= 0):
                negative = power.is_number and power < 0
                if not power.is_Integer:
                    self.need("positive" if negative or power.free_symbols else "nonnegative", base)
                elif negative:
                    self.need("nonzero", base)
        if not power.free_symbols:
            p = _numeric(power, self.memo)
            if base.free_symbols and abs(p) > LIMITS["power"]:
                raise InputTooLarge(
                    f"power too large in {_describe(node, self.text)} (limit {LIMITS['power']})"
                )
            if not base.free_symbols:
                b = _numeric(base, self.memo)
                if b and abs(float(p) * _log10(b)) > LIMITS["exponent"]:
                    raise InputTooLarge(
                        f"{_describe(node, self.text)} is too large (limit 10**{LIMITS['exponent']})"
                    )
        elif not base.free_symbols:
            # a constant to a symbolic power, e.g. 2**z: fine; checked for size later if needed
            pass
        return base**power

    def visit_Call(self, node: ast.Call) -> Expr:
        if not isinstance(node.func, ast.Name):
            raise ParseError(f"{_describe(node.func, self.text)} is not a function name")
        name = node.func.id
        if node.keywords:
            raise ParseError(f"keyword arguments are not allowed in {_describe(node, self.text)}")
        if name == "Piecewise":
            return self._piecewise(node)
        if name == "Symbol":  # symderiv prints Symbol('beta') where the bare name clashes in SymPy
            arg = node.args[0] if len(node.args) == 1 else None
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and arg.value in self.symbols:
                return self.symbols[arg.value]
            raise ParseError(f"{_describe(node, self.text)}: Symbol('name') takes a known name")
        if name in _LOGIC:
            func, lo, hi = _LOGIC[name]
            if not lo <= len(node.args) <= hi:
                raise ParseError(f"{name}() takes {lo} to {hi} arguments, got {len(node.args)}")
            if name in ("Eq", "Ne"):
                return func(*(self.expr(arg) for arg in node.args))
            return func(*(self.condition(arg) for arg in node.args))
        if name not in FUNCTIONS and name not in self.functions:
            allowed = sorted({*FUNCTIONS, *self.functions, "Piecewise"})
            hint = closest(name, allowed) or " (allowed: " + ", ".join(allowed[:3]) + ", ...)"
            raise ParseError(f"function {_short(name, 30)!r} is not allowed{hint}")
        args = [self.expr(arg) for arg in node.args]
        if name in self.functions:
            if len(args) != 1:
                raise ParseError(f"{name}() takes exactly one argument, got {len(args)}")
            func = self.functions[name]
            if _has_kinks(func):
                self._count_kinks(1, node)
                self._record_kinks(func, args[0])
            return self._build(func, args, node)
        func, lo, hi = FUNCTIONS[name]
        if not lo <= len(args) <= hi:
            want = str(lo) if lo == hi else f"{lo} to {hi}"
            raise ParseError(f"{name}() takes {want} arguments, got {len(args)}")
        if name in _KINKED:
            self._count_kinks(max(1, len(args) - 1), node)
        if name in ("log", "ln"):
            self.need("positive", args[0])
        elif name == "log1p":
            self.need("positive", 1 + args[0])
        elif name == "sqrt":
            self.need("nonnegative", args[0])
        elif name == "Heaviside" and len(args) == 2 and args[1].free_symbols:
            raise ParseError("Heaviside(x, h0): h0 must be a number")
        if name in _EXPONENTIAL and not args[0].free_symbols:
            x = _numeric(args[0], self.memo)
            if abs(x) > LIMITS["exponent"] * _LN10:
                raise InputTooLarge(
                    f"{_describe(node, self.text)} is too large (limit 10**{LIMITS['exponent']})"
                )
        return self._build(func, args, node)

    def _build(self, func: Callable[..., Expr], args: list[Expr], node: ast.AST) -> Expr:
        """``func(*args)``; SymPy refusing to build it (``Max`` of constants it cannot
        compare, such as ``tanh(1000) - 1``, which cancels to about 10**-869) is bad input."""
        try:
            return func(*args)
        except (ValueError, TypeError, ArithmeticError) as exc:
            why = " ".join(str(exc).split())
            if "not comparable" in why:
                why = "its arguments cannot be compared (a constant that cancels to nearly 0?)"
            why = _short(why, 100) or type(exc).__name__
            raise ParseError(f"{_describe(node, self.text)} cannot be built: {why}") from None

    def _count_kinks(self, n: int, node: ast.AST) -> None:
        self.kinks += n
        if self.kinks > LIMITS["kinks"]:
            raise InputTooLarge(
                f"too many kinks (Abs, sign, Max, Min, piecewise activations) at "
                f"{_describe(node, self.text)} (limit {LIMITS['kinks']})"
            )


    def _record_kinks(self, func: object, arg: Expr) -> None:
        """The zeros of ``arg - k`` for each kink ``k`` of a called activation are its kinks."""
        from .calculus import breakpoints

        try:
            points = breakpoints(func.expr)  # type: ignore[attr-defined]
        except SymderivError:
            return
        self.kink_args.extend(arg - k for k in points)


def _has_kinks(func: object) -> bool:
    expr = getattr(func, "expr", None)
    return isinstance(expr, Expr) and expr.has(sympy.Piecewise, sympy.Max, sympy.Min, sympy.Abs, sympy.sign)
