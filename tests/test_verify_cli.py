"""``symderiv verify``: exit statuses, JSON, claims files, and bad input."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest

from symderiv.cli import main


@pytest.fixture
def cli(capsys):
    """Run the CLI in this process (fast); same exit statuses and streams as the console script."""

    def run(*args):
        code = main(list(args))
        out = capsys.readouterr()
        return SimpleNamespace(returncode=code, stdout=out.out, stderr=out.err)

    return run


def _write(tmp_path, text, name="claims.toml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_single_claim_statuses(run_cli):
    r = run_cli("verify", "sigmoid", "a*(1 - a)")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("proved")
    r = run_cli("verify", "softsign", "1 - a**2")
    assert r.returncode == 1 and "counterexample: z = " in r.stdout
    r = run_cli("verify", "sigmoid", "a*(1 - a) + 10**-70")  # certified at a few hundred bits
    assert r.returncode == 1 and "difference = -1.0" in r.stdout and "e-70 ±" in r.stdout
    # true (the Gudermannian: 2 atan(e^z) - pi/2 = atan(sinh z)), beyond the symbolic step
    r = run_cli("verify", "sigmoid", "a*(1 - a) + 2*atan(exp(z)) - pi/2 - atan(sinh(z))")
    assert r.returncode == 3 and r.stdout.startswith("undecided")


def test_param_and_convention(cli):
    r = cli("verify", "softplus", "1 - exp(-a)", "--param", "beta=1", "--json")
    assert r.returncode == 0, r.stderr
    (row,) = json.loads(r.stdout)
    assert row["status"] == "proved" and row["params"] == {"beta": "1"}
    r = cli("verify", "leaky_relu", "Max(0, sign(z)) + alpha*(1 - Max(0, sign(z)))",
                "--param", "alpha=0.2", "--convention", "jax", "--json")
    (row,) = json.loads(r.stdout)
    assert row["status"] == "proved" and "jax uses 1" in row["kink_note"]


def test_claims_file_json_in_order(cli, tmp_path):
    path = _write(tmp_path, """
[[claim]]
activation = "tanh"
derivative = "1 - a**2"

[[claim]]
activation = "silu"
derivative = "a*(1 - a)"
comment = "other keys are ignored"

[[claim]]
lhs = "tanh(z)"
rhs = "2*sigmoid(2*z) - 1"

[[claim]]
activation = "elu"
derivative = "Max(0, sign(z)) - Min(0, sign(z))*(a + 1)"
params = {alpha = 1}
""")
    r = cli("verify", "--claims", path, "--json")
    assert r.returncode == 1, r.stderr
    rows = json.loads(r.stdout)
    assert [row["status"] for row in rows] == ["proved", "refuted", "proved", "proved"]
    assert set(rows[1]["counterexample"]) >= {"z", "lhs", "rhs"}
    assert rows[3]["params"] == {"alpha": "1"}
    for row in rows:
        assert set(row) >= {"status", "method", "counterexample", "kink_note"}


def test_claims_file_undecided_without_refutation_exits_3(cli, tmp_path):
    path = _write(tmp_path, """
[[claim]]
activation = "sigmoid"
derivative = "a*(1 - a)"
[[claim]]
lhs = "2*atan(exp(z)) - pi/2"
rhs = "atan(sinh(z))"
""")
    r = cli("verify", "--claims", path)
    assert r.returncode == 3, (r.stdout, r.stderr)


@pytest.mark.parametrize(("args", "text", "fragment"), [
    (("relu", "b*z"), None, "unknown name 'b'"),
    (("relu", "__import__('os')"), None, "not allowed"),
    (("relu",), None, "give NAME CLAIM"),
    (("sigmod", "a"), None, "did you mean 'sigmoid'"),
    (("relu", "1", "--convention", "tf"), None, "unknown convention"),
    (("relu", "1", "--param", "alpha=2"), None, "no parameter 'alpha'"),
    (("--claims",), "[[claim]]\nactivation = 'relu'\n", "needs both activation and derivative"),
    (("--claims",), "[[claim]\n", "not valid TOML"),
    (("--claims",), "x = 1\n", "no [[claim]] tables"),
    (("--claims",), "[[claim]]\nlhs = 'z'\n", "needs activation + derivative, or lhs + rhs"),
    (("--claims",), "[[claim]]\nactivation = 'relu'\nderivative = 3\n", "derivative must be a string"),
    (("--claims",), "[[claim]]\nactivation = 'relu'\nderivative = '1'\nparams = 3\n", "params must be a table"),
    (("--claims",), "[[claim]]\nactivation = 'relu'\nderivative = '1'\n[[claim]]\nactivation = 'nope'\n"
                    "derivative = '1'\n", "claim 2 (line 4): unknown activation"),
    (("--claims",), "[[claim]]\nlhs = 'z'\nrhs = 'q'\n", "unknown name 'q'"),
])
def test_bad_input_is_one_line_exit_2(cli, tmp_path, args, text, fragment):
    if text is not None:
        args = (*args, _write(tmp_path, text))
    r = cli("verify", *args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert fragment in r.stderr, r.stderr


def test_missing_claims_file(cli, tmp_path):
    r = cli("verify", "--claims", str(tmp_path / "absent.toml"))
    assert r.returncode == 2 and "cannot read claims file" in r.stderr


CLAIM = "1 - (1 - alpha)*Max(0, -sign(z))"


@pytest.mark.parametrize("params", [("alpha=0.1", "alpha=0.2"), ("alpha=0.1", "negative_slope=0.2"),
                                    ("alpha=0.1", "alpha=0.1")])
def test_a_parameter_given_twice_is_refused(cli, params):
    r = cli("verify", "leaky_relu", CLAIM, *(x for p in params for x in ("--param", p)))
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.count("\n") == 1 and "given twice" in r.stderr


@pytest.mark.parametrize("table, code", [("{alpha = 0.1, negative_slope = 0.2}", 2),
                                         ("{negative_slope = 0.2}", 0)])
def test_a_name_and_its_alias_in_a_claims_file(cli, tmp_path, table, code):
    path = _write(tmp_path, f'[[claim]]\nactivation = "leaky_relu"\nderivative = "{CLAIM}"\nparams = {table}\n')
    r = cli("verify", "--claims", path)
    assert r.returncode == code, r.stderr
    assert ("given twice" in r.stderr) == (code == 2)
