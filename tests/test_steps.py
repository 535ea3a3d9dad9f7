"""Step-by-step derivations: the lesson's four read like the lesson; every catalogue entry works."""

from __future__ import annotations

import json

import mpmath
import pytest
import sympy
from sympy import Rational, Symbol, exp, sympify

from symderiv import all_activations, custom, derive
from symderiv.catalogue import a, z
from symderiv.teach import steps as steps_module
from symderiv.teach.steps import steps
from symderiv.teach.verify import CheckFailed, check, evaluate

ALPHA = Symbol("alpha")


def _read(text: str) -> sympy.Expr:
    # the JSON contract: strings sympify reads back; compare with plain (assumption-free) symbols
    return sympify(text)


def _plain(expr):
    return expr.xreplace({s: Symbol(s.name) for s in expr.free_symbols})


def _same(x, y) -> bool:
    return sympy.simplify(_plain(sympify(x)) - _plain(sympify(y))) == 0


def test_sigmoid_reads_like_the_lesson():
    s = steps("sigmoid").as_json()
    rules = [st["rule"] for st in s["steps"]]
    assert {"chain rule", "quotient rule"} & set(rules)
    assert "derivative of exp" in rules
    # the lesson's intermediate form e^{-z}/(1+e^{-z})^2 appears, then a(1-a)
    afters = [_read(st["after"]) for st in s["steps"]]
    zz = Symbol("z")
    target = exp(-zz) / (1 + exp(-zz)) ** 2
    hit = [i for i, e in enumerate(afters) if _plain(e) == target]
    assert hit, "exp(-z)/(1 + exp(-z))**2 never appears"
    assert rules[-1] == "substitution a = g(z)" and hit[0] < len(rules) - 1
    A = Symbol("a")
    assert sympy.expand(_plain(_read(s["aform"])) - A * (1 - A)) == 0
    assert sympy.expand(_plain(_read(s["steps"][-1]["after"])) - A * (1 - A)) == 0


def test_tanh_ends_at_one_minus_a_squared():
    s = steps("tanh")
    assert sympy.expand(s.aform - (1 - a**2)) == 0
    assert sympy.simplify(s.result - (1 - sympy.tanh(z) ** 2)) == 0
    assert "quotient rule" in [st.rule for st in s.steps]  # from tanh = (e^z - e^-z)/(e^z + e^-z)


@pytest.mark.parametrize(("name", "left", "right", "torch_value"), [
    # the lesson: ReLU' is 0 for z < 0 and 1 for z > 0; PyTorch's relu backward uses (z > 0), so 0 at 0
    ("relu", 0, 1, 0),
    # Leaky ReLU' is alpha for z < 0, 1 for z > 0; PyTorch's backward uses (z > 0) ? 1 : alpha
    ("leaky_relu", ALPHA, 1, ALPHA),
])
def test_piecewise_lesson_entries_by_pieces_then_kink(name, left, right, torch_value):
    s = steps(name)
    rules = [st.rule for st in s.steps]
    assert "piecewise differentiation" in rules
    assert rules.index("piecewise differentiation") < rules.index("left derivative at the kink")
    by_rule = {st.rule: st for st in s.steps}
    assert _same(by_rule["left derivative at the kink"].after, left)
    assert _same(by_rule["right derivative at the kink"].after, right)
    assert _same(by_rule["convention at the kink (torch)"].after, torch_value)
    if s.aform is not None:  # piecewise in a: the slope right of the kink, where a > 0, is 1
        assert s.aform.subs(a, 2) == 1


def test_jax_convention_at_leaky_relu_kink_is_the_right_derivative():
    # jax.nn.leaky_relu is where(x >= 0, x, alpha*x): its gradient at 0 is 1
    s = steps("leaky_relu", convention="jax")
    assert s.steps[-1].rule == "convention at the kink (jax)" and s.steps[-1].after == 1


def _numeric_derivative(expr, t, values):
    f = sympy.lambdify(z, expr.subs(values), "mpmath")
    with mpmath.workdps(40):
        return mpmath.diff(f, mpmath.mpf(t))


@pytest.mark.parametrize("act", all_activations(), ids=lambda x: x.name)
def test_every_catalogue_entry(act):
    s = steps(act, defaults=True)
    assert s.steps, "no steps"
    # every step went through the checker; JSON round-trips through sympify
    assert all(st.check is not None for st in s.steps)
    data = json.loads(json.dumps(s.as_json()))
    assert set(data) >= {"steps", "result", "aform"}
    for st in data["steps"]:
        assert set(st) == {"rule", "before", "after", "note"}
        _read(st["before"]), _read(st["after"])
    # the result is g' (independently: mpmath's numerical derivative of g at 40 digits)
    g = derive(act, defaults=True)
    assert sympy.simplify(s.result - g.derivative) == 0
    bps = [float(k.z) for k in g.kinks]
    for t in ("-2.35", "-0.4", "0.7", "3.3"):
        if any(abs(float(t) - b) < 0.1 for b in bps):
            continue
        with mpmath.workdps(40):
            got = evaluate(s.result, {z: mpmath.mpf(t)})
            want = _numeric_derivative(g.definition, t, {})
            assert abs(got - want) < mpmath.mpf(10) ** -30 * max(1, abs(want))
    if s.aform is not None:  # the a-form agrees with g' at a point
        with mpmath.workdps(40):
            value = evaluate(s.aform.subs(a, g.definition), {z: mpmath.mpf("0.3")})
            assert abs(value - _numeric_derivative(g.definition, "0.3", {})) < mpmath.mpf(10) ** -30


def test_custom_expression():
    s = steps(custom("z*tanh(log(1 + exp(z)))"))
    rules = {st.rule for st in s.steps}
    assert {"product rule", "chain rule", "derivative of tanh", "derivative of log"} <= rules


def test_custom_expression_with_a_half_line_domain():
    # log(z) is real only for z > 0: the checks use the sample points there
    s = steps(custom("log(z)"))
    assert s.result == 1 / z and s.steps[0].rule == "derivative of log"


def test_a_wrong_rule_is_caught(monkeypatch):
    real = steps_module._rule

    def broken(d, values):
        rule, value, note = real(d, values)
        return (rule, 2 * value, note) if rule == "sum rule" else (rule, value, note)

    monkeypatch.setattr(steps_module, "_rule", broken)
    with pytest.raises(CheckFailed):
        steps("sigmoid")


def test_check_refutes_and_proves():
    assert check(sympy.Derivative(z**3, z), 3 * z**2).status == "proved"
    with pytest.raises(CheckFailed):
        check(sympy.Derivative(z**3, z), 3 * z**2 + Rational(1, 10**20))


def test_cli_steps_json_and_formats(run_cli):
    r = run_cli("steps", "sigmoid", "--json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert sympy.expand(_plain(_read(data["aform"])) - Symbol("a") * (1 - Symbol("a"))) == 0
    r = run_cli("steps", "relu", "--format", "markdown")
    assert r.returncode == 0 and "$" in r.stdout and "piecewise differentiation" in r.stdout
    r = run_cli("steps", "--expr", "z*sigmoid(z)", "--format", "latex")
    assert r.returncode == 0 and r.stdout.startswith("\\begin{align*}")


@pytest.mark.parametrize("args", [("steps", "nope"), ("steps",), ("steps", "--expr", "__import__('os')"),
                                  ("steps", "relu", "--format", "html"),
                                  ("steps", "--expr", "sqrt(-z**2 - 1)")])  # nowhere real
def test_cli_steps_bad_input(run_cli, args):
    r = run_cli(*args)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr


def test_undecided_symbolic_proof_is_marked(monkeypatch):
    from symderiv.teach import verify

    monkeypatch.setattr(verify, "_symbolic", lambda *args, **kwargs: None)
    s = steps("sigmoid")
    assert s.numeric_only() == list(range(len(s.steps)))
    assert all("checked numerically at 50 digits only" in st["note"] for st in s.as_json()["steps"])


def test_public_api():
    import symderiv

    assert symderiv.steps is steps
    assert [r["name"] for r in symderiv.table(["relu"])] == ["relu"]
