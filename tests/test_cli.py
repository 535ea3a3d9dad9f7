"""The CLI contract: JSON keys, exit statuses, one-line errors."""

from __future__ import annotations

import json

import pytest
import sympy

from symderiv.catalogue import all_activations, names


def test_list_json(run_cli):
    r = run_cli("list", "--json")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert [row["name"] for row in rows] == names()
    for row in rows:
        assert set(row) >= {"name", "aliases", "params", "definition"}
        sympy.sympify(row["definition"])
    assert {"alpha": "1/100"} == next(r for r in rows if r["name"] == "leaky_relu")["params"]


def test_derive_json_round_trips(run_cli):
    r = run_cli("derive", "sigmoid", "--json")
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert set(d) >= {"name", "params", "definition", "derivative", "second_derivative", "aform",
                      "aform_note", "kinks"}
    zz = sympy.Symbol("z")
    g = sympy.sympify(d["definition"])
    assert sympy.simplify(sympy.sympify(d["derivative"]) - sympy.diff(g, zz)) == 0


def test_derive_params(run_cli):
    d = json.loads(run_cli("derive", "leaky_relu", "--json").stdout)
    assert d["params"] == {"alpha": None}
    d = json.loads(run_cli("derive", "prelu", "--param", "alpha=0.2", "--json").stdout)
    assert d["params"] == {"alpha": "1/5"}
    d = json.loads(run_cli("derive", "selu", "--defaults", "--json").stdout)
    assert d["params"]["alpha"] == "16732632423543772848170429916717/10000000000000000000000000000000"


def test_derive_human_and_module_entry(run_cli):
    r = run_cli("derive", "sigmoid")
    assert r.returncode == 0 and "exp(-z)/(1 + exp(-z))**2" in r.stdout


def test_derive_expr(run_cli):
    d = json.loads(run_cli("derive", "--expr", "z*sigmoid(z)", "--json").stdout)
    zz = sympy.Symbol("z")
    assert sympy.simplify(sympy.sympify(d["derivative"]) - sympy.diff(zz / (1 + sympy.exp(-zz)), zz)) == 0


@pytest.mark.parametrize("args,fragment", [
    (("derive", "sigmod"), "did you mean 'sigmoid'"),
    (("derive", "relu", "--param", "alpha=1"), "no parameter"),
    (("derive", "elu", "--param", "alpha=-1"), "positive"),
    (("derive", "elu", "--param", "alpha=abc"), "alpha"),
    (("derive", "elu", "--param", "alpha"), "K=V"),
    (("derive", "--expr", "__import__('os')"), "not"),
    (("derive", "--expr", "exp(z"), "never closed"),
    (("derive",), "exactly one"),
    (("derive", "relu", "--convention", "tf"), "convention"),
    (("frobnicate",), "invalid choice"),
])
def test_bad_input_exit_2_one_line(run_cli, args, fragment):
    r = run_cli(*args)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and fragment in lines[0], r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("name", [a.name for a in all_activations()][:0] or ["relu"])
def test_kinks_in_json(run_cli, name):
    d = json.loads(run_cli("derive", name, "--json").stdout)
    (k,) = d["kinks"]
    assert set(k) >= {"z", "left", "right", "value", "subdifferential", "differentiable"}
    assert (k["z"], k["left"], k["right"], k["value"], k["subdifferential"]) == ("0", "0", "1", "0", ["0", "1"])
