"""The proof engine: expected verdicts written from mathematics, never from our output."""

from __future__ import annotations

import mpmath
import pytest
import sympy
from sympy import Piecewise, Rational, exp, tanh

from symderiv.catalogue import get, z
from symderiv.claims import verify_claim
from symderiv.prove import Verdict, prove_identity

S = 1 / (1 + exp(-z))


def test_verdict_json_shape():
    v = prove_identity(S.diff(z), S * (1 - S))
    assert isinstance(v, Verdict)
    assert set(v.as_json()) == {"status", "method", "counterexample", "kink_note", "assumptions"}
    assert v.status == "proved" and v.counterexample is None


def test_refutation_carries_a_checkable_counterexample():
    v = prove_identity(tanh(z).diff(z), 1 - tanh(z))
    assert v.status == "refuted"
    ce = v.counterexample
    mpmath.mp.dps = 50
    x = mpmath.mpf(ce["z"])
    lhs = 1 - mpmath.tanh(x) ** 2
    rhs = 1 - mpmath.tanh(x)
    # the sides are printed to as many digits as show the difference, correctly rounded
    for key, exact in (("lhs", lhs), ("rhs", rhs)):
        digits = len(ce[key].lstrip("-0.").replace(".", "").split("e")[0])
        assert digits >= 15
        assert abs(mpmath.mpf(ce[key]) - exact) <= abs(exact) * mpmath.mpf(10) ** (1 - digits)
    assert abs(lhs - rhs) > mpmath.mpf(10) ** -3
    assert mpmath.mpf(ce["lhs"]) != mpmath.mpf(ce["rhs"])


def test_tiny_constant_is_refuted_not_proved():
    v = prove_identity(S.diff(z), S * (1 - S) + Rational(1, 10**30))
    assert v.status == "refuted"
    mpmath.mp.dps = 60
    diff = mpmath.mpf(v.counterexample["rhs"]) - mpmath.mpf(v.counterexample["lhs"])
    assert abs(diff - mpmath.mpf(10) ** -30) < mpmath.mpf(10) ** -36


def test_too_tiny_constant_is_never_proved():
    # off by 1e-60 everywhere: a few hundred bits certify it
    v = prove_identity(S.diff(z), S * (1 - S) + Rational(1, 10**60))
    assert v.status == "refuted"
    mid, rad = _difference(v.counterexample)
    assert abs(mid + mpmath.mpf(10) ** -60) <= rad + mpmath.mpf(10) ** -70


def test_true_on_one_piece_only_is_refuted():
    alpha = get("elu").param("alpha").symbol
    g = get("elu").expr
    v = prove_identity(Piecewise((1, z > 0), (alpha * exp(z), True)), alpha * exp(z), breakpoints=[0])
    assert v.status == "refuted" and sympy.Rational(v.counterexample["z"]) > 0
    del g


def test_true_for_one_parameter_value_only_is_refuted():
    v = verify_claim("elu", Piecewise((1, z > 0), (sympy.Symbol("a", real=True) + 1, True)))
    assert v.status == "refuted"
    assert v.counterexample["alpha"] != "1"
    assert verify_claim("elu", Piecewise((1, z > 0), (sympy.Symbol("a", real=True) + 1, True)),
                        params={"alpha": 1}).status == "proved"


@pytest.mark.parametrize(("name", "claim", "param", "true_for"), [
    # false only for a large parameter, or a tiny one: the far ends of the admissible range
    ("leaky_relu", "Piecewise((Min(alpha, 1000), z < 0), (1, z > 0))", "alpha", lambda p: p <= 1000),
    ("elu", "Piecewise((a + Min(alpha, 50), z < 0), (1, z > 0))", "alpha", lambda p: p <= 50),
    ("softplus", "1/(1 + exp(-Max(beta, 10**-5)*z))", "beta", lambda p: p >= mpmath.mpf(10) ** -5),
])
def test_false_only_at_a_far_parameter_value_is_refuted(name, claim, param, true_for):
    v = verify_claim(name, claim)
    assert v.status == "refuted", v
    assert not true_for(mpmath.mpf(v.counterexample[param]))  # checked here, not by the engine


def test_parameter_conditions_are_decided_for_all_values():
    # Max(alpha, 1) = 1 only when alpha <= 1: leaky_relu' = Max(alpha, sign(z)) is false for alpha > 1
    v = verify_claim("leaky_relu", "Max(alpha, sign(z))")
    assert v.status == "refuted" and Rational(v.counterexample["alpha"]) > 1
    assert verify_claim("leaky_relu", "Max(alpha, sign(z))", params={"alpha": "0.2"}).status == "proved"


@pytest.mark.parametrize(("name", "claim", "status"), [
    ("sigmoid", "a*(1 - a)", "proved"),
    ("tanh", "1 - a**2", "proved"),
    ("softsign", "1 - a**2", "refuted"),
    ("silu", "a*(1 - a)", "refuted"),
    ("relu", "1", "refuted"),
])
def test_small_corpus(name, claim, status):
    assert verify_claim(name, claim).status == status


# ---- the corpus: claims that circulate, with their verdicts -----------------------------------
# (activation, claim, params, expected status, what the kink note must say or None)
CORPUS = [
    # the lesson's identities
    ("sigmoid", "a*(1 - a)", {}, "proved", None),
    ("tanh", "1 - a**2", {}, "proved", None),
    ("relu", "Max(0, sign(z))", {}, "proved", None),  # lesson code: (z > 0).astype(float)
    ("relu", "1 - Max(0, -sign(z))", {}, "proved", "gives 1, torch uses 0"),  # "g'(0) = 1 is common"
    ("leaky_relu", "Max(0, sign(z)) + alpha*(1 - Max(0, sign(z)))", {}, "proved", None),
    ("leaky_relu", "Max(0, sign(z)) + alpha*(1 - Max(0, sign(z)))", {"alpha": "0.01"}, "proved", None),
    # other true forms
    ("sigmoid", "exp(-z)/(1 + exp(-z))**2", {}, "proved", None),
    ("tanh", "1/cosh(z)**2", {}, "proved", None),
    ("softsign", "(1 - abs(a))**2", {}, "proved", None),
    ("softsign", "1/(1 + abs(z))**2", {}, "proved", None),
    ("softplus", "1 - exp(-beta*a)", {}, "proved", None),
    ("softplus", "1 - exp(-a)", {"beta": 1}, "proved", None),
    ("softplus", "1/(1 + exp(-beta*z))", {}, "proved", None),
    ("log_sigmoid", "1 - exp(a)", {}, "proved", None),
    ("squareplus", "4*a**2/(4*a**2 + b)", {}, "proved", None),
    ("squareplus", "(1 + z/sqrt(z**2 + b))/2", {}, "proved", None),
    ("identity", "1", {}, "proved", None),
    ("elu", "Max(0, sign(z)) - Min(0, sign(z))*(a + alpha)", {}, "proved", "gives 0, torch uses alpha"),
    ("celu", "Max(0, sign(z)) - Min(0, sign(z))*(a/alpha + 1)", {}, "proved", "gives 0, torch uses 1"),
    ("selu", "scale*Max(0, sign(z)) - Min(0, sign(z))*(a + alpha*scale)", {}, "proved",
     "gives 0, torch uses alpha*scale"),
    ("relu", "sign(a)", {}, "proved", None),
    ("relu", "(1 + sign(z))/2", {}, "proved", "gives 1/2, torch uses 0"),
    ("softshrink", "abs(sign(a))", {}, "proved", None),
    ("hardsigmoid", "Max(0, sign(3 - abs(z)))/6", {}, "proved", None),
    ("hardtanh", "Max(0, sign(z - min_val)*sign(max_val - z))", {}, "proved", None),
    # wrong claims that circulate
    ("softsign", "1 - a**2", {}, "refuted", None),
    ("silu", "a*(1 - a)", {}, "refuted", None),
    ("gelu", "a*(1 - a)", {}, "refuted", None),
    ("mish", "1 - a**2", {}, "refuted", None),
    ("relu", "1", {}, "refuted", None),
    ("relu", "sign(z)", {}, "refuted", None),
    ("tanh", "1 - a", {}, "refuted", None),
    ("tanh", "(1 - a)**2", {}, "refuted", None),
    ("sigmoid", "a*(1 + a)", {}, "refuted", None),
    ("sigmoid", "1 - a**2", {}, "refuted", None),
    ("softplus", "1 - exp(-a)", {}, "refuted", None),  # true for beta = 1 only
    ("softplus", "a*(1 - a)", {}, "refuted", None),
    ("elu", "a + alpha", {}, "refuted", None),  # true for z < 0 only
    ("elu", "Max(0, sign(z)) - Min(0, sign(z))*(a + 1)", {}, "refuted", None),  # alpha = 1 only
    ("leaky_relu", "Max(alpha, sign(z))", {}, "refuted", None),  # alpha <= 1 only
    ("hardtanh", "1", {}, "refuted", None),
    ("log_sigmoid", "exp(a)", {}, "refuted", None),
    # near misses: a tiny constant
    ("sigmoid", "a*(1 - a) + 10**-30", {}, "refuted", None),
    ("tanh", "1 - a**2 - 10**-12", {}, "refuted", None),
    ("sigmoid", "a*(1 - a) + 10**-70", {}, "refuted", None),
]


@pytest.mark.parametrize(("name", "claim", "params", "status", "note"), CORPUS,
                         ids=[f"{c[0]}:{c[1]}:{c[3]}" for c in CORPUS])
def test_corpus(name, claim, params, status, note):
    v = verify_claim(name, claim, params)
    assert v.status == status, v
    if note is None:
        assert v.kink_note is None, v.kink_note
    else:
        assert note in v.kink_note
    if status == "refuted":
        _check_counterexample(name, claim, params, v.counterexample)


def _check_counterexample(name, claim, params, ce):
    """Re-evaluate the counterexample independently: mpmath derivative of the definition, 50 digits."""
    from symderiv.parse import parse_expr_safe

    act = get(name)
    values = {p.symbol: Rational(ce[p.name]) for p in act.params if p.name in ce}
    values.update({act.param(k).symbol: Rational(str(v)) for k, v in params.items()})
    g = act.expr.subs(values)
    rhs = parse_expr_safe(claim, act.symbols).subs(values)
    mpmath.mp.dps = 120
    x = mpmath.mpf(ce["z"])
    gm = sympy.lambdify(z, g, "mpmath")
    lhs_ref = mpmath.diff(gm, x)
    rhs_ref = sympy.lambdify([z, sympy.Symbol("a", real=True)], rhs, "mpmath")(x, gm(x))
    for key, ref in (("lhs", lhs_ref), ("rhs", rhs_ref)):  # correct to the digits printed
        digits = len(ce[key].lstrip("-0.").replace(".", "").split("e")[0])
        assert abs(mpmath.mpf(ce[key]) - ref) <= abs(ref) * mpmath.mpf(10) ** (1 - digits)
    mid, rad = _difference(ce)  # the certified difference holds the independent one, not 0
    assert abs(mid) > rad
    assert abs((lhs_ref - rhs_ref) - mid) <= rad * 1.01 + abs(mid) * mpmath.mpf(10) ** -80


def _difference(ce):
    """The printed certified difference lhs - rhs, "mid ± rad", as two mpf."""
    mid, _, rad = ce["difference"].partition("±")
    return mpmath.mpf(mid.strip()), mpmath.mpf(rad.strip() or 0)


def test_kink_note_follows_the_convention():
    lesson = "Max(0, sign(z)) + alpha*(1 - Max(0, sign(z)))"  # leaky_relu' with alpha at 0
    assert verify_claim("leaky_relu", lesson, {"alpha": "0.2"}, convention="torch").kink_note is None
    note = verify_claim("leaky_relu", lesson, {"alpha": "0.2"}, convention="jax").kink_note
    assert "z = 0" in note and "1/5" in note and "jax uses 1" in note
    assert verify_claim("relu", "1 - Max(0, -sign(z))", convention="right").kink_note is None


# ---- perturbations of true identities are never proved -------------------------------------------

from hypothesis import HealthCheck, assume, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tests.strategies import TRUE_CLAIMS, differs, perturbed_claims  # noqa: E402


@pytest.mark.parametrize(("name", "claim"), TRUE_CLAIMS, ids=[c[0] for c in TRUE_CLAIMS])
def test_true_claims_are_proved(name, claim):
    assert verify_claim(name, claim).status == "proved"


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(perturbed_claims())
def test_perturbed_identities_are_never_proved(case):
    name, claim, wrong, kind = case
    if kind != "tiny":
        assume(differs(name, claim, wrong))
    v = verify_claim(name, wrong)
    assert v.status != "proved", (name, wrong, kind, v)
    if kind == "tiny" and "10**-" not in str(wrong) and v.status == "refuted":
        assert v.counterexample is not None


def test_floats_are_taken_exactly():
    # Float(0.1) is 3602879701896397/2**55, not 1/10: a claim resting on the rounding is refuted
    v = prove_identity(0.1 * z, z / 10)
    assert v.status == "refuted"
    assert prove_identity(0.5 * z, z / 2).status == "proved"


def test_claim_wrong_on_a_tiny_interval_is_refuted():
    eps = Rational(1, 10**9)
    claim = sympy.Max(0, sympy.sign(z)) + sympy.Max(0, sympy.sign(z - eps) * sympy.sign(2 * eps - z))
    v = verify_claim("relu", claim)
    assert v.status == "refuted" and eps < Rational(v.counterexample["z"]) < 2 * eps


def test_claim_with_a_parameter_dependent_breakpoint():
    alpha = get("elu").param("alpha").symbol
    # relu' = [z > alpha] is false on (0, alpha) for every alpha > 0
    v = prove_identity(sympy.Piecewise((0, z < 0), (1, z > 0)), sympy.Max(0, sympy.sign(z - alpha)),
                       breakpoints=[0])
    assert v.status == "refuted"
    # anywhere on (0, alpha], z = alpha included: there sign(0) = 0 and the claim is 0
    assert 0 < Rational(v.counterexample["z"]) <= Rational(v.counterexample["alpha"])


def test_proof_needing_an_order_of_the_claims_own_breakpoints_is_not_a_proof():
    # threshold's a-form found at the defaults holds only when value <= threshold
    th, val = get("threshold").param("threshold").symbol, get("threshold").param("value").symbol
    a_ = sympy.Symbol("a", real=True)
    claim = sympy.Piecewise((0, a_ <= val), (1, True))
    assert verify_claim("threshold", claim).status != "proved"
    assert verify_claim("threshold", claim, {"threshold": 0, "value": 0}).status == "proved"
    del th


def test_numerically_safer_spellings_are_proved():
    # the rewrite rules of the kernels: log1p/expm1 spellings equal the textbook forms
    from sympy.codegen.cfunctions import expm1, log1p

    assert prove_identity(log1p(exp(-abs(z))) + sympy.Max(z, 0), sympy.log(1 + exp(z))).status == "proved"
    assert prove_identity(expm1(z), exp(z) - 1).status == "proved"
    assert prove_identity(log1p(exp(-abs(z))) + sympy.Max(z, 0),
                          sympy.log(1 + exp(z)) + Rational(1, 10**20)).status == "refuted"


@st.composite
def _point_perturbations(draw):
    """A true claim made false at one point c only: times sign(z - c)**2 (0 at c), or times
    (z - c)/(z - c) as text (undefined at c, which SymPy would cancel). c is never a kink
    (a multiple of 1/7 plus 1/100), and the claim is nonzero there."""
    name, claim = draw(st.sampled_from(TRUE_CLAIMS))
    c = Rational(draw(st.integers(min_value=-20, max_value=20)), 7) + Rational(1, 100)
    kind = draw(st.sampled_from(["sign squared", "removable"]))
    return name, claim, c, kind


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much], max_examples=20)
@given(_point_perturbations())
def test_claims_false_at_one_point_are_refuted_there(case):
    from symderiv.printing import to_text

    name, claim, c, kind = case
    act = get(name)
    defaults = {p.symbol: p.default for p in act.params}
    at_c = claim.subs(act.symbols["a"], act.expr).subs(defaults).subs(z, c)
    assume(abs(sympy.N(at_c, 30)) > 1e-20)  # g'(c) = 0 would make the change invisible
    if kind == "sign squared":
        wrong: object = claim * sympy.sign(z - c) ** 2
    else:
        wrong = f"({to_text(claim)})*(z - {c})/(z - {c})"
    params = {p.name: str(p.default) for p in act.params}  # fixed: the point must be where it fails
    v = verify_claim(name, wrong, params)
    assert v.status == "refuted", (name, wrong, v)
    assert Rational(v.counterexample["z"]) == c
