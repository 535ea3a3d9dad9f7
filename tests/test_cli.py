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


# ---- one grammar (issue 17) -------------------------------------------------------------------

def test_bare_symderiv_prints_usage_and_exits_2(run_cli):
    r = run_cli()
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith("usage: symderiv") and "derive" in r.stderr and "Traceback" not in r.stderr


def test_dash_capital_v_is_version(run_cli):
    import symderiv

    for flag in ("-V", "--version"):
        r = run_cli(flag)
        assert r.returncode == 0 and r.stdout.strip() == f"symderiv {symderiv.__version__}"


def test_timeout_after_the_subcommand(capsys):
    from symderiv.cli import main

    assert main(["verify", "sigmoid", "a*(1-a)", "--timeout", "5"]) == 0
    assert capsys.readouterr().out.startswith("proved")
    # it is honoured, not just accepted: a budget too small for any verdict leaves it undecided
    assert main(["verify", "sigmoid", "a*(1-a)", "--timeout", "0.001"]) == 3
    assert "time budget" in capsys.readouterr().out
    # before the subcommand as ever; bad values are one line, exit 2
    assert main(["--timeout", "5", "derive", "relu"]) == 0
    capsys.readouterr()
    assert main(["derive", "relu", "--timeout", "-1"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_every_json_command_takes_json(capsys):
    from symderiv.cli import main

    assert main(["table", "relu", "--json"]) == 0
    via_json = json.loads(capsys.readouterr().out)
    assert main(["table", "relu", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == via_json and via_json[0]["name"] == "relu"
    for argv in (["list", "--json"], ["derive", "relu", "--json"], ["steps", "relu", "--json"],
                 ["verify", "relu", "0", "--json"]):
        assert main(argv) in (0, 1), argv
        json.loads(capsys.readouterr().out)


def test_list_text_has_no_symbol_calls_and_decimals_round_trip(capsys):
    from symderiv.cli import main

    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "Symbol(" not in out
    assert "g(z) = log(exp(beta*z) + 1)/beta   [beta=1]" in out
    selu = next(line for line in out.splitlines() if "[alpha=" in line and "scale=" in line)
    alpha = selu.split("alpha=")[1].split(",")[0]
    assert float(alpha) == float(sympy.Rational("1.6732632423543772848170429916717"))


def test_derive_defaults_text_shows_decimals(capsys):
    from symderiv.cli import main

    assert main(["derive", "selu", "--defaults"]) == 0
    out = capsys.readouterr().out
    head = out.splitlines()[0]
    assert head == "selu  (alpha=1.6732632423543772, scale=1.0507009873554805)"
    import re

    assert not re.search(r"\d{18,}", out)  # no 63-digit rationals
    # alpha * scale, the left slope at the kink, as the float of the exact product
    product = sympy.Rational("1.6732632423543772848170429916717") * sympy.Rational("1.0507009873554804934193349852946")
    assert f"left {float(product)!r}" in out
    d = json.loads((main(["derive", "selu", "--defaults", "--json"]), capsys.readouterr().out)[1])
    assert sympy.Rational(d["params"]["alpha"]) == sympy.Rational("1.6732632423543772848170429916717")
    assert float(d["params_decimal"]["alpha"]) == float(sympy.Rational(d["params"]["alpha"]))


def test_catalogue_calls_in_an_expression_take_their_defaults(capsys):
    from symderiv import derive
    from symderiv.cli import main

    assert main(["derive", "--expr", "z*tanh(softplus(z))", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["params"] == {"beta": "1"}
    # that is mish: the same derivative as the catalogue's
    zz = sympy.Symbol("z")
    assert sympy.simplify(sympy.sympify(d["derivative"]).subs(zz, derive("mish").activation.symbols["z"])
                          - derive("mish").derivative) == 0
    assert main(["derive", "--expr", "z*tanh(softplus(z))", "--param", "beta=2", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["params"] == {"beta": "2"}
    # a name the user spells out stays symbolic, and --defaults has nothing to fix for it
    assert main(["derive", "--expr", "z*sigmoid(k*z)", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["params"] == {"k": None}


# ---- accuracy's text ----------------------------------------------------------------------------

def test_accuracy_text_rows():
    import numpy as np

    from symderiv.accuracy import rows_for
    from symderiv.commands.accuracy import line, note

    pts = np.array([-40.0, -20.0, -1.0, 0.0, 1.0, 5.0])
    for r in rows_for("relu", pts, peers=False):  # exact everywhere: no point to name
        assert r["worst_ulp"] == 0 and r["at"] is None
        assert "exact everywhere" in line(r) and "e+308" not in line(r)
    (af,) = [r for r in rows_for("selu", pts, peers=False) if r["kernel"] == "selu_grad_from_output"]
    # a = selu(-40) is next to -alpha*scale, where the a-form a + alpha*scale cancels: 4 ULP all the
    # same (the kernel carries alpha*scale in two terms), so no note
    assert af["variable"] == "a" and af["worst_ulp"] <= 4 and af["allowed"] == 4 and note(af) is None
    row = {**af, "worst_ulp": 3.0, "at": -1.7580993408473766, "cond": 1.0}
    assert " a = -1.7581" in line(row) and "z =" not in line(row)
    # a huge error within a bound that grows with cond (the result cancels) is explained
    row = {"kernel": "tanhshrink_grad", "worst_ulp": 2e9, "at": 1e-8, "cond": 2e9, "allowed": 8e9,
           "over_bound": 0, "torch_ulp": None, "torch_at": None, "jax_ulp": None, "jax_at": None, "variable": "z"}
    text = note(row)
    assert text is not None and "cancels" in text and "z = 1e-08" in text
    assert note({**row, "worst_ulp": 2.0}) is None


def test_accuracy_names_where_a_peer_fails():
    from symderiv.commands.accuracy import line

    row = {"kernel": "sigmoid_grad", "worst_ulp": 2.0, "at": -30.2, "cond": 30.2, "allowed": 4.0,
           "over_bound": 0, "torch_ulp": 8.85e15, "torch_at": 422.838, "jax_ulp": 1.0, "jax_at": 3.0,
           "variable": "z"}
    text = line(row)
    assert "8.85e+15 at z=422.838" in text and "at z=3" not in text
