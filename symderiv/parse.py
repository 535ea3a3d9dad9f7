"""Safe text → SymPy: the only way user text becomes an expression.

SymPy's ``sympify``/``parse_expr`` call ``eval``; this module never does. It
parses with Python's :mod:`ast` and walks the tree with an allow-list: numbers,
known names, ``+ - * / ** ^``, unary signs, and calls of listed functions with
positional arguments. Anything else (attributes, subscripts, lambdas,
comprehensions, strings, keywords, comparisons, …) is refused with a message
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
symderiv.errors.ParseError: function '__import__' is not allowed (allowed: Abs, Max, Min, ...)
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping

import sympy
from sympy import Expr, Integer, Rational, Symbol

from .errors import InputTooLarge, ParseError, closest

__all__ = ["FUNCTIONS", "LIMITS", "parse_expr_safe", "parse_number"]

#: Bounds checked before any SymPy work.
LIMITS = {
    "length": 2000,  # characters of text
    "nodes": 400,  # AST nodes
    "literal_digits": 60,  # characters of one numeric literal
    "exponent": 1000,  # |p| in b**p when b and p are both numbers
    "power": 64,  # |p| in expr**p when expr contains a symbol
    "magnitude": 10**1000,  # |b**p| when both are numbers
}


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
    "Max": (_max, 2, 8),
    "max": (_max, 2, 8),
    "Min": (_min, 2, 8),
    "min": (_min, 2, 8),
}

_CONSTANTS: dict[str, Expr] = {"pi": sympy.pi, "E": sympy.E}

_BINOPS: dict[type, Callable[[Expr, Expr], Expr]] = {
    ast.Add: lambda x, y: x + y,
    ast.Sub: lambda x, y: x - y,
    ast.Mult: lambda x, y: x * y,
    ast.Div: lambda x, y: x / y,
}

_NODE_NAMES = {
    ast.Attribute: "attribute access", ast.Subscript: "subscript", ast.Lambda: "lambda",
    ast.ListComp: "comprehension", ast.SetComp: "comprehension", ast.DictComp: "comprehension",
    ast.GeneratorExp: "comprehension", ast.Compare: "comparison", ast.BoolOp: "boolean operator",
    ast.IfExp: "conditional expression", ast.List: "list", ast.Tuple: "tuple", ast.Dict: "dict",
    ast.Set: "set", ast.Starred: "starred argument", ast.NamedExpr: "assignment expression",
    ast.JoinedStr: "f-string", ast.BinOp: "expression", ast.Await: "await", ast.Yield: "yield", ast.Slice: "slice",
}


def _describe(node: ast.AST, text: str) -> str:
    kind = _NODE_NAMES.get(type(node), type(node).__name__)
    segment = ast.get_source_segment(text, node) or ""
    if len(segment) > 40:
        segment = segment[:37] + "..."
    return f"{kind} {segment!r}" if segment else kind


def parse_number(text: str) -> Expr:
    """An exact SymPy number from a decimal literal such as ``0.01``, ``-2``, ``1e-3``, ``1/3``.

    >>> parse_number("0.01")
    1/100
    >>> parse_number("-1/3")
    -1/3
    """
    expr = parse_expr_safe(text, {})
    if not expr.is_number or expr.has(sympy.nan, sympy.zoo) or not expr.is_finite:
        raise ParseError(f"not a finite number: {text!r}")
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
        InputTooLarge: when a size limit is exceeded.
    """
    if not isinstance(text, str):
        raise ParseError(f"expression must be text, got {type(text).__name__}")
    if len(text) > LIMITS["length"]:
        raise InputTooLarge(f"expression too long ({len(text)} characters, limit {LIMITS['length']})")
    if not text.strip():
        raise ParseError("empty expression")
    if "\x00" in text:
        raise ParseError("expression contains a NUL character")
    # ``^`` means power; replaced in the text so that it also binds like ``**``
    source = text.strip().replace("^", "**")
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError as exc:
        raise ParseError(f"cannot parse expression {_short(source)!r}: {_syntax_reason(exc)}") from None
    except (RecursionError, MemoryError, ValueError):
        raise InputTooLarge("expression nested too deeply") from None
    count = sum(1 for _ in ast.walk(tree))
    if count > LIMITS["nodes"]:
        raise InputTooLarge(f"expression too large ({count} nodes, limit {LIMITS['nodes']})")
    walker = _Walker(source, dict(symbols), dict(functions or {}), free_symbols)
    try:
        result = walker.visit(tree.body)
    except RecursionError:
        raise InputTooLarge("expression nested too deeply") from None
    if not isinstance(result, Expr):
        raise ParseError(f"not an expression: {_short(source)!r}")
    if result.has(sympy.zoo, sympy.nan):
        raise ParseError(f"expression is undefined (division by zero?): {_short(source)!r}")
    return result


def _short(text: str) -> str:
    return text if len(text) <= 60 else text[:57] + "..."


def _syntax_reason(exc: SyntaxError) -> str:
    msg = (exc.msg or "invalid syntax").strip()
    if exc.offset:
        msg += f" at column {exc.offset}"
    return msg


class _Walker:
    def __init__(self, text: str, symbols: dict, functions: dict, free: bool) -> None:
        self.text = text
        self.symbols = symbols
        self.functions = functions
        self.free = free

    def visit(self, node: ast.AST) -> Expr:
        method = getattr(self, "visit_" + type(node).__name__, None)
        if method is None:
            raise ParseError(f"{_describe(node, self.text)} is not allowed in an expression")
        return method(node)

    def visit_Constant(self, node: ast.Constant) -> Expr:
        value = node.value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ParseError(f"{_describe(node, self.text)} is not allowed: only numbers")
        literal = ast.get_source_segment(self.text, node) or repr(value)
        literal = literal.replace("_", "")
        if len(literal) > LIMITS["literal_digits"]:
            raise InputTooLarge(f"number literal too long ({len(literal)} characters)")
        if isinstance(value, int):
            return Integer(value)
        if not math.isfinite(value):
            raise InputTooLarge(f"number {literal!r} is out of range")
        _, _, exponent = literal.lower().partition("e")
        if exponent and abs(int(exponent)) > LIMITS["exponent"]:
            raise InputTooLarge(f"exponent of {literal!r} too large")
        return Rational(literal)

    def visit_Name(self, node: ast.Name) -> Expr:
        name = node.id
        if name in self.symbols:
            return self.symbols[name]
        if name in _CONSTANTS:
            return _CONSTANTS[name]
        if name in FUNCTIONS or name in self.functions:
            raise ParseError(f"function {name!r} used without arguments")
        if self.free and name.isidentifier() and not name.startswith("_") and len(name) <= 20:
            sym = Symbol(name, real=True)
            self.symbols[name] = sym
            return sym
        known = sorted(self.symbols) + sorted(_CONSTANTS)
        raise ParseError(
            f"unknown name {name!r} (allowed: {', '.join(known)})" + closest(name, known)
        )

    def visit_UnaryOp(self, node: ast.UnaryOp) -> Expr:
        operand = self.visit(node.operand)
        if isinstance(node.op, ast.USub):
            return -operand
        if isinstance(node.op, ast.UAdd):
            return operand
        raise ParseError(f"operator in {_describe(node, self.text)} is not allowed")

    def visit_BinOp(self, node: ast.BinOp) -> Expr:
        if isinstance(node.op, (ast.Pow, ast.BitXor)):
            return self._power(node)
        op = _BINOPS.get(type(node.op))
        if op is None:
            raise ParseError(f"operator in {_describe(node, self.text)} is not allowed")
        left, right = self.visit(node.left), self.visit(node.right)
        self._check_magnitude(left, node)
        self._check_magnitude(right, node)
        return op(left, right)

    def _power(self, node: ast.BinOp) -> Expr:
        base = self.visit(node.left)
        power = self.visit(node.right)
        if power.is_number:
            try:
                size = abs(float(power))
            except (TypeError, OverflowError):
                size = math.inf
            if base.free_symbols and size > LIMITS["power"]:
                raise InputTooLarge(
                    f"power too large in {_describe(node, self.text)} (limit {LIMITS['power']})"
                )
            if base.is_number:
                if size > LIMITS["exponent"]:
                    raise InputTooLarge(f"exponent too large in {_describe(node, self.text)}")
                try:
                    b = abs(float(base))
                except (TypeError, OverflowError):
                    b = math.inf
                if b > 1 and size * math.log10(b) > math.log10(LIMITS["magnitude"]):
                    raise InputTooLarge(f"number too large in {_describe(node, self.text)}")
        elif power.free_symbols and base.is_number:
            pass  # e.g. 2**z: fine
        result = base**power
        return result

    def _check_magnitude(self, value: Expr, node: ast.AST) -> None:
        if value.is_Integer and abs(value) > LIMITS["magnitude"]:
            raise InputTooLarge(f"number too large in {_describe(node, self.text)}")

    def visit_Call(self, node: ast.Call) -> Expr:
        if not isinstance(node.func, ast.Name):
            raise ParseError(f"{_describe(node.func, self.text)} is not a function name")
        name = node.func.id
        if node.keywords:
            raise ParseError(f"keyword arguments are not allowed in {_describe(node, self.text)}")
        if name not in FUNCTIONS and name not in self.functions:
            allowed = sorted({*FUNCTIONS, *self.functions})
            hint = closest(name, allowed) or " (allowed: " + ", ".join(allowed[:3]) + ", ...)"
            raise ParseError(f"function {name!r} is not allowed{hint}")
        args = [self.visit(arg) for arg in node.args]
        if name in self.functions:
            if len(args) != 1:
                raise ParseError(f"{name}() takes exactly one argument, got {len(args)}")
            return self.functions[name](args[0])
        func, lo, hi = FUNCTIONS[name]
        if not lo <= len(args) <= hi:
            want = str(lo) if lo == hi else f"{lo} to {hi}"
            raise ParseError(f"{name}() takes {want} arguments, got {len(args)}")
        return func(*args)
