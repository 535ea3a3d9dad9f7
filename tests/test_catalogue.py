"""The catalogue: required entries, aliases, parameters, exact defaults."""

from __future__ import annotations

import pytest
from sympy import Rational, Symbol

import symderiv
from symderiv.catalogue import FAMILIES, all_activations, get, names, z
from symderiv.errors import UnknownActivation, UnknownParameter

REQUIRED = {
    "sigmoid": {}, "tanh": {}, "relu": {}, "leaky_relu": {"alpha": Rational(1, 100)},
    "elu": {"alpha": 1}, "celu": {"alpha": 1}, "gelu": {}, "gelu_tanh": {}, "silu": {}, "mish": {},
    "selu": {"alpha": Rational("1.6732632423543772848170429916717"),
             "scale": Rational("1.0507009873554804934193349852946")},
    "softplus": {"beta": 1}, "softsign": {}, "hardtanh": {"min_val": -1, "max_val": 1},
    "hardsigmoid": {}, "hardswish": {}, "relu6": {}, "log_sigmoid": {},
    "softshrink": {"lambd": Rational(1, 2)}, "hardshrink": {"lambd": Rational(1, 2)}, "tanhshrink": {},
    "threshold": {"threshold": 0, "value": 0}, "squareplus": {"b": 4}, "sparse_plus": {},
    "sparse_sigmoid": {}, "identity": {},
}
ALIASES = {
    "swish": "silu", "logsigmoid": "log_sigmoid", "hard_tanh": "hardtanh", "hard_sigmoid": "hardsigmoid",
    "hard_swish": "hardswish", "hard_silu": "hardswish", "soft_sign": "softsign", "prelu": "leaky_relu",
}


def test_required_names_and_exact_defaults():
    assert set(REQUIRED) <= set(names())
    for name, params in REQUIRED.items():
        act = get(name)
        got = {p.name: p.default for p in act.params}
        assert got == params, name
        for p in act.params:
            assert isinstance(p.symbol, Symbol) and p.symbol.is_real
            assert p.default.is_Rational or p.default.is_Integer  # exact, never a float


@pytest.mark.parametrize("alias,canonical", sorted(ALIASES.items()))
def test_aliases(alias, canonical):
    assert get(alias).name == canonical


@pytest.mark.parametrize("act", all_activations(), ids=lambda a: a.name)
def test_every_alias_resolves_and_record_is_complete(act):
    for alias in act.aliases:
        assert get(alias) is act
    assert act.family in FAMILIES
    assert act.description and act.reference
    assert act.expr.free_symbols <= {z, *(p.symbol for p in act.params)}
    assert z in act.expr.free_symbols or act.name == "threshold"


def test_prelu_slope_is_its_parameter():
    assert [p.name for p in get("prelu").params] == ["alpha"]
    assert get("leaky_relu").param("negative_slope").name == "alpha"


def test_positive_parameters_where_they_must_be():
    for name, pname in [("elu", "alpha"), ("celu", "alpha"), ("softplus", "beta"), ("squareplus", "b"),
                        ("softshrink", "lambd"), ("selu", "scale")]:
        assert get(name).param(pname).symbol.is_positive


def test_unknown_names_suggest_the_closest():
    with pytest.raises(UnknownActivation, match=r"did you mean .*'relu6'"):
        get("relu7")
    with pytest.raises(UnknownParameter, match="valid: alpha"):
        get("elu").param("beta")


def test_definitions_follow_torch_numerically():
    # values at a few points, from the PyTorch documentation formulas, computed independently
    import math
    cases = {
        "sigmoid": (0.5, 1 / (1 + math.exp(-0.5))),
        "hardswish": (1.0, 1.0 * (1.0 + 3) / 6),
        "relu6": (7.0, 6.0),
        "softshrink": (0.7, 0.2),
        "hardshrink": (0.4, 0.0),
        "log_sigmoid": (-1.0, -math.log1p(math.exp(1.0))),
        "squareplus": (0.0, 1.0),
        "sparse_plus": (0.0, 0.25),
        "mish": (1.0, 1.0 * math.tanh(math.log1p(math.e))),
        "gelu": (1.0, 0.5 * (1 + math.erf(1 / math.sqrt(2)))),
    }
    for name, (x, want) in cases.items():
        act = get(name)
        got = float(act.expr.subs(act.defaults()).subs(z, x))
        assert got == pytest.approx(want, rel=1e-14), name


def test_public_surface():
    assert set(symderiv.__all__) >= {"get", "names", "derive", "custom", "Activation", "SymderivError"}
