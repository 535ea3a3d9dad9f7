"""Fuzzing: the parser on random text and token soups, derive on random well-formed expressions.

Whatever comes in, the answer is an expression (a Derivation) or a SymderivError, never another
exception, and never after the budget. Example counts are kept small for the suite's time budget
(the Hypothesis profile is derandomized, so the examples are the same on every run).
"""

from __future__ import annotations

import time

import mpmath
import pytest
import sympy
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from symderiv.budget import time_limit
from symderiv.catalogue import z
from symderiv.derivation import activation_functions, custom, derive
from symderiv.errors import BudgetExceeded, SymderivError
from symderiv.parse import parse_expr_safe, parse_number

from .strategies import argv_soups, expression_texts, token_soups

SYMS = {"z": z}


def _parse_or_refuse(text: str) -> None:
    start = time.perf_counter()
    try:
        result = parse_expr_safe(text, SYMS, functions=activation_functions(), free_symbols=True)
    except SymderivError as exc:
        message = str(exc)
        assert message and "\n" not in message
    else:
        assert isinstance(result, sympy.Expr)
        assert not result.has(sympy.I, sympy.nan, sympy.zoo, sympy.oo)
    assert time.perf_counter() - start < 2.0


@settings(max_examples=300)
@given(st.text(max_size=60))
def test_parser_on_random_text(text):
    _parse_or_refuse(text)


@settings(max_examples=300)
@given(token_soups())
def test_parser_on_token_soups(text):
    _parse_or_refuse(text)


@settings(max_examples=100)
@given(st.text(alphabet="0123456789.eE+-/*()_ xj", max_size=25))
def test_parse_number_on_numeric_garbage(text):
    try:
        value = parse_number(text)
    except SymderivError:
        return
    assert value.is_number and value.is_real and value.is_finite


@settings(max_examples=150)
@given(expression_texts(max_leaves=8))
def test_parser_on_well_formed_expressions(text):
    _parse_or_refuse(text)


BUDGET = 4.0  # seconds per derive: a result or a clean error within it


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(expression_texts(max_leaves=5), st.sampled_from([sympy.Rational(3, 7), sympy.Rational(-5, 2)]))
def test_derive_on_random_expressions(text, at):
    """A Derivation or a clean error within the budget; a Derivation is right at a sample point."""
    start = time.perf_counter()
    try:
        act = custom(text)
        with time_limit(BUDGET):
            d = derive(act)
    except BudgetExceeded:
        event("budget spent")
        assert time.perf_counter() - start < BUDGET + 1.0
        return
    except SymderivError as exc:
        event(f"refused: {type(exc).__name__}")
        assert str(exc) and "\n" not in str(exc)
        return
    assert time.perf_counter() - start < BUDGET + 1.0
    # independent check: mpmath's numerical derivative of g at 50 digits, parameters at 1/3
    values = {s: sympy.Rational(1, 3) for s in d.definition.free_symbols - {z}}
    g = d.definition.subs(values)
    dg = d.derivative.subs(values)
    assume(not any(sympy.simplify(at - k.z.subs(values)) == 0 for k in d.kinks))

    try:
        with time_limit(BUDGET):
            expected = _numeric_derivative(g, at)
            got = sympy.N(dg.subs(z, at), 50)
    except (TypeError, ValueError, ZeroDivisionError, BudgetExceeded):
        return  # g is not real or not finite near the point, or too slow to evaluate: nothing to compare
    assume(got.is_real and got.is_finite and mpmath.isfinite(expected))
    event("derived and checked against mpmath")
    assert _close(got, expected), (text, d.derivative)


def _numeric_derivative(g: sympy.Expr, at: sympy.Rational) -> mpmath.mpf:
    """mpmath's numerical derivative of g at ``at``, g evaluated by SymPy at 60 digits."""

    def f(x):
        value = sympy.N(g.subs(z, sympy.Float(mpmath.nstr(x, 70), 70)), 60)
        if not (value.is_real and value.is_finite):
            raise ValueError("not a finite real")
        return mpmath.mpf(str(value))

    with mpmath.workdps(50):
        # central difference with a fixed step: error ~ h**2 = 1e-30, rounding 1e-60 / h = 1e-45
        return mpmath.diff(f, mpmath.mpf(at.p) / at.q, h=mpmath.mpf(10) ** -15)


def _close(got: sympy.Expr, expected: mpmath.mpf) -> bool:
    with mpmath.workdps(50):
        tol = mpmath.mpf(10) ** -25
        return bool(mpmath.almosteq(mpmath.mpf(str(got)), expected, rel_eps=tol, abs_eps=tol))


@pytest.mark.parametrize("text", ["z*sigmoid(z)", "Max(0, z)^2", "log(1 + exp(alpha*z))", "erf(z)*z"])
def test_derive_examples_are_checked_the_same_way(text):
    # the oracle of the fuzz test, on known answers (so that it can fail)
    d = derive(custom(text))
    values = {s: sympy.Rational(1, 3) for s in d.definition.free_symbols - {z}}
    at = sympy.Rational(3, 7)
    expected = _numeric_derivative(d.definition.subs(values), at)
    assert _close(sympy.N(d.derivative.subs(values).subs(z, at), 50), expected)
    # and the oracle does notice a wrong derivative
    assert not _close(sympy.N((d.derivative.subs(values) * (1 + sympy.Rational(1, 10**20))).subs(z, at), 50),
                      expected)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(argv_soups())
def test_cli_on_random_command_lines(argv):
    """Any command line: a documented exit status; on 2, one line on stderr; never a traceback."""
    import contextlib
    import io

    from symderiv.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main(["--timeout", "5", *argv])
        except SystemExit as exc:  # --help and --version print and exit 0
            assert exc.code == 0 and out.getvalue(), argv
            return
    assert status in (0, 1, 2, 3), (argv, err.getvalue())
    assert "Traceback" not in err.getvalue()
    if status == 2:
        lines = err.getvalue().splitlines()
        assert len(lines) == 1 and lines[0].startswith("symderiv: error: "), err.getvalue()
