"""The safe parser: allowed syntax, refused syntax, bounds."""

from __future__ import annotations

import pytest
from sympy import Max, Rational, Symbol, exp

from symderiv.errors import InputTooLarge, ParseError
from symderiv.parse import parse_expr_safe, parse_number

z = Symbol("z", real=True)
SYMS = {"z": z}


def test_allowed():
    assert parse_expr_safe("1/(1+exp(-z))", SYMS) == 1 / (1 + exp(-z))
    assert parse_expr_safe("max(0, z)", SYMS) == Max(0, z)
    assert parse_expr_safe("z^2", SYMS) == z**2
    assert parse_expr_safe("0.1*z", SYMS) == Rational(1, 10) * z  # exact decimal, not binary


@pytest.mark.parametrize("text,fragment", [
    ("__import__('os').system('touch /tmp/x')", "not"),
    ("z.real", "attribute"),
    ("[z][0]", "not allowed"),
    ("lambda: 1", "lambda"),
    ("'abc'", "only numbers"),
    ("exp(z", "never closed"),
    ("", "empty"),
    ("foo(z)", "not allowed"),
    ("y + z", "unknown name 'y'"),
    ("exp(z, z)", "takes 1"),
    ("exp(x=z)", "keyword"),
    ("z if z else 0", "is not a condition"),
    ("z < 1", "a condition, not an expression"),
    ("(z > 0) + 1", "is a condition, used as a number"),
    ("Piecewise(1, z > 0)", "pairs"),
    ("Symbol('os')", "known name"),
    ("Heaviside(z, z)", "h0 must be a number"),
])
def test_refused(text, fragment):
    with pytest.raises(ParseError, match=fragment):
        parse_expr_safe(text, SYMS)


@pytest.mark.parametrize("text", ["z**(9**9**9)", "10**(10**12)", "z**100000", "9" * 100, "z+" * 1500 + "z"])
def test_too_large_refused_at_once(text):
    with pytest.raises(InputTooLarge):
        parse_expr_safe(text, SYMS)


def test_parse_number():
    assert parse_number("1e-3") == Rational(1, 1000)
    with pytest.raises(ParseError):
        parse_number("z")
