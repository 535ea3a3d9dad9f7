"""Text for people: long rationals as round-trip decimals, plain symbol names; JSON stays exact."""

from __future__ import annotations

import re

import mpmath
import sympy
from sympy import Rational, Symbol

from symderiv import derive
from symderiv.catalogue import get
from symderiv.printing import decimal, to_display, to_display_latex, to_text

# SELU's constants as published (Klambauer et al. 2017; torch.nn.SELU), read independently of the catalogue
SELU_ALPHA = "1.6732632423543772848170429916717"
SELU_SCALE = "1.0507009873554804934193349852946"


def test_decimal_round_trips_to_the_float_of_the_exact_rational():
    for exact in (SELU_ALPHA, SELU_SCALE):
        shown = decimal(Rational(exact))
        assert float(shown) == float(mpmath.mpf(exact))  # mpmath rounds the 32 digits itself
        assert len(shown.replace(".", "").lstrip("0")) <= 17  # and it is short
    product = Rational(SELU_ALPHA) * Rational(SELU_SCALE)
    with mpmath.workdps(80):
        assert float(decimal(product)) == float(mpmath.mpf(SELU_ALPHA) * mpmath.mpf(SELU_SCALE))


def test_selu_text_has_no_long_numbers_and_json_stays_exact():
    d = derive("selu", defaults=True)
    for expr in (d.definition, d.derivative, d.second_derivative, d.aform):
        text = to_display(expr)
        assert not re.search(r"\d{18,}", text), text
        assert re.search(r"1\.75809934084737\d*", to_display(d.derivative))
    assert "16732632423543772848170429916717" in to_text(d.definition)  # exact where it is the point
    assert "\\frac" not in to_display_latex(d.derivative) and "1.7580993408473768" in to_display_latex(d.derivative)


def test_short_rationals_stay_exact_and_symbols_are_plain():
    beta = get("softplus").param("beta").symbol
    assert to_display(Rational(1, 4) * beta) == "beta/4"
    assert to_display(Rational(3, 2)) == "3/2"
    assert "Symbol(" in to_text(beta) and sympy.sympify(to_text(beta)) == Symbol("beta")
    assert to_display(get("softplus").expr) == "log(exp(beta*z) + 1)/beta"
