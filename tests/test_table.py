"""The summary table: the lesson's claims, and the calculus facts checked against mpmath."""

from __future__ import annotations

import json

import mpmath
import pytest
import sympy
from sympy import Rational, Symbol, erf, exp, pi, sqrt, sympify

from symderiv import all_activations, derive
from symderiv.catalogue import z
from symderiv.teach.table import COLUMNS, render, table, table_row

# one worker computes this module's expensive fixture (--dist loadgroup), not both; it is
# session-scoped: a module-scoped one is torn down and made again when xdist interleaves modules
pytestmark = pytest.mark.xdist_group("table")

A = Symbol("a")


def _val(text):
    return sympify(text, locals={"Symbol": Symbol})


@pytest.fixture(scope="session")
def rows():
    return {r["name"]: r for r in table()}


# ---- the lesson's own table ------------------------------------------------------------------

def test_lesson_max_slopes(rows):
    # "max g'(z) = 0.25 sigmoid, 1 tanh, 1 ReLU, 1 Leaky ReLU"
    assert _val(rows["sigmoid"]["max_derivative"]) == Rational(1, 4)
    assert _val(rows["sigmoid"]["max_derivative_at"]) == 0
    assert _val(rows["tanh"]["max_derivative"]) == 1
    assert _val(rows["tanh"]["max_derivative_at"]) == 0
    assert _val(rows["relu"]["max_derivative"]) == 1
    assert rows["relu"]["max_derivative_at"] is None  # attained on all of z > 0
    assert _val(rows["leaky_relu"]["max_derivative"]) == 1  # alpha = 0.01 < 1


@pytest.mark.parametrize(("alpha", "expected"), [("0.01", 1), ("0.5", 1), ("2", 2)])
def test_leaky_relu_max_slope_is_max_of_one_and_alpha(alpha, expected):
    row = table_row("leaky_relu", {"alpha": alpha})
    assert _val(row["max_derivative"]) == expected
    assert _val(row["min_derivative"]) == min(Rational(alpha), 1)


def test_lesson_vanishing_gradient_and_dead_zone(rows):
    # "Affected: Sigmoid, Tanh. Not affected: ReLU, Leaky ReLU"; "dying ReLU"; Leaky fixes it
    assert rows["sigmoid"]["vanishing_gradient"] and rows["tanh"]["vanishing_gradient"]
    assert not rows["relu"]["vanishing_gradient"] and not rows["leaky_relu"]["vanishing_gradient"]
    assert rows["relu"]["dead_zone"] and not rows["leaky_relu"]["dead_zone"]
    assert not rows["sigmoid"]["dead_zone"] and not rows["tanh"]["dead_zone"]
    for name in ("sigmoid", "tanh"):  # flat for large |z|: g'(+-10) ~ 0
        assert _val(rows[name]["limit_neg_inf"]) == 0 and _val(rows[name]["limit_pos_inf"]) == 0
    assert _val(rows["relu"]["limit_pos_inf"]) == 1  # "gradient = 1 for z > 0"


def test_lesson_a_forms_values_at_zero_and_ranges(rows):
    assert sympy.expand(_val(rows["sigmoid"]["aform"]) - A * (1 - A)) == 0
    assert sympy.expand(_val(rows["tanh"]["aform"]) - (1 - A**2)) == 0
    # the lesson writes "N/A"; a piecewise a-form exists all the same: relu' = 1 where a > 0, 0 where a = 0
    # (the torch convention at z = 0), leaky_relu' = 1 where a > 0 and alpha where a < 0
    relu_a, leaky_a = _val(rows["relu"]["aform"]), _val(rows["leaky_relu"]["aform"])
    assert (relu_a.subs(A, 2), relu_a.subs(A, 0)) == (1, 0)
    assert (leaky_a.subs(A, 2), leaky_a.subs(A, -1)) == (1, Rational(1, 100))
    # "At z = 0": 0.25, 1, then a convention for ReLU (PyTorch: 0) and Leaky ReLU (PyTorch: alpha)
    assert _val(rows["sigmoid"]["derivative_at_0"]) == Rational(1, 4)
    assert _val(rows["tanh"]["derivative_at_0"]) == 1
    assert _val(rows["relu"]["derivative_at_0"]) == 0
    assert _val(rows["leaky_relu"]["derivative_at_0"]) == Rational(1, 100)
    assert _val(rows["sigmoid"]["range"]) == sympy.Interval.open(0, 1)
    assert _val(rows["tanh"]["range"]) == sympy.Interval.open(-1, 1)  # "Range: (-1, 1)"
    assert _val(rows["relu"]["range"]) == sympy.Interval(0, sympy.oo)
    # "Zero-centered outputs": tanh yes, sigmoid no; ReLU no, and Leaky ReLU (outputs of both signs,
    # the negative ones 100 times smaller) is not what the lesson calls zero-centred either
    assert [rows[n]["zero_centred"] for n in ("sigmoid", "tanh", "relu", "leaky_relu")] == [False, True, False, False]
    kink = rows["relu"]["kinks"][0]
    assert (_val(kink["z"]), _val(kink["left"]), _val(kink["right"])) == (0, 0, 1)


# ---- beyond the lesson: facts worked out by hand ---------------------------------------------

def test_gelu_max_slope_exact(rows):
    # gelu'' = phi(z) (2 - z^2): the max of gelu' = Phi(z) + z phi(z) is at sqrt(2)
    want = Rational(1, 2) + erf(1) / 2 + exp(-1) / sqrt(pi)
    assert sympy.simplify(_val(rows["gelu"]["max_derivative"]) - want) == 0
    assert _val(rows["gelu"]["max_derivative_at"]) == sqrt(2)
    assert not rows["gelu"]["monotonic"]


def test_silu_max_slope_falls_back_to_numerics(rows):
    row = rows["silu"]
    assert "max_derivative" in row["numeric"]
    silu = lambda t: t / (1 + mpmath.exp(-t))  # noqa: E731
    with mpmath.workdps(30):
        t = mpmath.findroot(lambda s: mpmath.diff(silu, s, 2), 2.4)
        assert abs(_val(row["max_derivative_at"]) - t) < 1e-20
        assert abs(_val(row["max_derivative"]) - mpmath.diff(silu, t)) < 1e-20


@pytest.mark.parametrize(("name", "k"), [
    ("sigmoid", "inf"), ("relu", 0), ("leaky_relu", 0), ("softsign", 1), ("sparse_plus", 1),
    ("elu", 1), ("celu", 1), ("selu", 0), ("hardswish", 0), ("hardshrink", -1),
])
def test_continuity_class(rows, name, k):
    # softsign: g'' jumps from 2 to -2 at 0; sparse_plus: g'' jumps 0 -> 1/2 at -1;
    # elu (alpha = 1): g'' = e^z -> 1 on the left, 0 on the right; selu: g' jumps (scale*alpha vs scale)
    assert rows[name]["continuity"] == k


def test_hardswish_max_slope(rows):
    # g' = z/3 + 1/2 on (-3, 3): 3/2 as z -> 3
    assert _val(rows["hardswish"]["max_derivative"]) == Rational(3, 2)
    assert _val(rows["hardswish"]["min_derivative"]) == Rational(-1, 2)


@pytest.mark.parametrize("act", all_activations(), ids=lambda x: x.name)
def test_row_against_mpmath(rows, act):
    row = rows[act.name]
    assert tuple(row) == COLUMNS
    json.dumps(row)
    d = derive(act, defaults=True)
    f = sympy.lambdify(z, d.derivative, "mpmath")
    top, bottom = _val(row["max_derivative"]), _val(row["min_derivative"])
    bps = [float(k.z) for k in d.kinks]
    with mpmath.workdps(30):
        top, bottom = mpmath.mpf(sympy.N(top, 30)), mpmath.mpf(sympy.N(bottom, 30))
        samples = []
        for i in range(-300, 301):
            t = mpmath.mpf(i) / 25 + mpmath.mpf("0.0013")
            if all(abs(t - b) > 1e-6 for b in bps):
                samples.append(f(t))
        assert max(samples) <= top + 1e-20 and min(samples) >= bottom - 1e-20
        where = row["max_derivative_at"]
        if where not in (None, "oo", "-oo"):
            w = mpmath.mpf(sympy.N(_val(where), 30))
            side = [f(w + s * mpmath.mpf(10) ** -12) for s in (-1, 1)]
            assert min(abs(v - top) for v in side) < 1e-9
        for end, key in ((-50, "limit_neg_inf"), (50, "limit_pos_inf")):
            assert abs(f(mpmath.mpf(end)) - mpmath.mpf(sympy.N(_val(row[key]), 30))) < 1e-3
    assert row["vanishing_gradient"] == (_val(row["limit_neg_inf"]) == 0 == _val(row["limit_pos_inf"]))


@pytest.mark.parametrize("act", all_activations(), ids=lambda a: a.name)
def test_zero_centred_is_odd_checked_with_mpmath(rows, act):
    """zero_centred == (g(-t) = -g(t) at 50 digits on points of both signs, breakpoints included)."""
    g = act.expr.subs(act.defaults())
    f = sympy.lambdify(z, g, "mpmath")
    points = ["0", "0.3", "0.5", "1", "1.7", "2.5", "3", "6", "7.25", "-0.3", "-1"]
    with mpmath.workdps(50):
        odd = all(abs(f(mpmath.mpf(t)) + f(-mpmath.mpf(t))) < mpmath.mpf(10) ** -40 for t in points)
    assert rows[act.name]["zero_centred"] == odd


def test_columns(rows):
    from symderiv.errors import SymderivError
    from symderiv.teach.table import select

    some = [rows["sigmoid"], rows["softplus"], rows["selu"]]
    tex = render(some, "latex", columns="name,range,derivative")
    lines = tex.splitlines()
    assert lines[0] == "\\begin{tabular}{lll}" and lines[2] == "Activation & range & g'(z) \\\\"
    assert len(lines) == 9 and [line.split(" & ")[0] for line in lines[4:7]] == ["sigmoid", "softplus", "selu"]
    md = render(some, "markdown", columns=["name", "max_derivative", "max_derivative_at"])
    # softplus' slope tends to 1 and never reaches it; SELU's constants as round-trip decimals
    assert "| softplus | $1$ | approached as $z \\to +\\infty$ |" in md
    import re

    assert "$1.7580993408473768$" in md and not re.search(r"\d{18,}", md)
    assert json.loads(render(some, "json", columns="name,zero_centred")) == [
        {"name": "sigmoid", "zero_centred": False}, {"name": "softplus", "zero_centred": False},
        {"name": "selu", "zero_centred": False}]
    with pytest.raises(SymderivError, match="did you mean 'range'"):
        select("name,rang")
    with pytest.raises(SymderivError, match="twice"):
        select("name,name")


def test_render_formats(rows):
    some = [rows["sigmoid"], rows["relu"]]
    md = render(some, "markdown")
    assert md.count("\n") == 3 and "$\\frac{1}{4}$" in md
    tex = render(some, "latex")
    assert tex.startswith("\\begin{tabular}") and tex.rstrip().endswith("\\end{tabular}")
    assert json.loads(render(some, "json"))[0]["name"] == "sigmoid"


def test_cli_table(run_cli):
    r = run_cli("table", "sigmoid", "relu", "--format", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert [x["name"] for x in data] == ["sigmoid", "relu"]
    assert _val(data[0]["max_derivative"]) == Rational(1, 4)
    r = run_cli("table", "tanh")
    assert r.returncode == 0 and r.stdout.startswith("| Activation")
    r = run_cli("table", "sigmod")
    assert r.returncode == 2 and "sigmoid" in r.stderr and r.stderr.count("\n") == 1
