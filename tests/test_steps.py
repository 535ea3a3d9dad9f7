"""Step-by-step derivations: the lesson's four read like the lesson; every catalogue entry works."""

from __future__ import annotations

import functools
import json
import random
import re

import mpmath
import pytest
import sympy
from sympy import Derivative, Limit, Piecewise, Rational, Subs, Symbol, UnevaluatedExpr, exp, sympify

from symderiv import all_activations, custom, derive
from symderiv.catalogue import a, z
from symderiv.teach import steps as steps_module
from symderiv.teach.steps import steps
from symderiv.teach.verify import CheckFailed, check, evaluate

ALPHA = Symbol("alpha")
#: What a student must never see: SymPy's internal spellings.
INTERNALS = ("Subs(", "Derivative(", "ITE(", "Symbol(", "Piecewise(", "Limit(", "Eq(", "\\partial")


@functools.cache
def _catalogue_steps(name: str):
    """One derivation per catalogue entry (defaults fixed), shared by the tests of this module."""
    return steps(name, defaults=True)


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


def _in_order(text: str, parts: list[str]) -> None:
    at = 0
    for part in parts:
        found = text.find(part, at)
        assert found >= 0, f"{part!r} missing after position {at}:\n{text}"
        at = found + len(part)


def test_sigmoid_text_is_the_lesson_with_u_and_a_times_one_minus_a():
    out = steps("sigmoid").render("text")
    _in_order(out, [
        # the chain rule with u = 1 + e^{-z}, d/du (1/u) = -1/u^2
        "= d/du[1/u] * d/dz[1 + exp(-z)],  with u = 1 + exp(-z)",
        "d/du[1/u] = -1/u**2",
        "= -1/(1 + exp(-z))**2 * d/dz[1 + exp(-z)]",
        # the lesson's e^{-z}/(1+e^{-z})^2, split as 1/(1+e^{-z}) * e^{-z}/(1+e^{-z})
        "= exp(-z)/(1 + exp(-z))**2",
        "= 1/(1 + exp(-z)) * exp(-z)/(1 + exp(-z))",
        # the intermediate 1 - a = e^{-z}/(1+e^{-z})
        "1 - a = 1 - 1/(1 + exp(-z))",
        "= exp(-z)/(1 + exp(-z))",
        "= 1/(1 + exp(-z)) * (1 - 1/(1 + exp(-z)))",
        "= a*(1 - a)",
    ])
    assert "write in terms of g(z)" not in out  # the opaque step is gone


def test_tanh_text_goes_through_one_minus_tanh_squared():
    s = steps("tanh")
    out = s.render("text")
    _in_order(out, [
        "tanh(z) = (exp(z) - exp(-z))/(exp(z) + exp(-z))",
        "quotient rule",
        "= 1 - ((exp(z) - exp(-z))/(exp(z) + exp(-z)))**2",
        "= 1 - tanh(z)**2",
        "= 1 - a**2",
    ])
    rules = [st.rule for st in s.steps]
    assert "simplify" not in rules and rules.index("split the fraction") < rules.index("definition of tanh")


def test_sigmoid_latex_aligns_on_one_equals_per_line():
    latex = steps("sigmoid").render("latex")
    _assert_latex_ok(latex)
    lines = latex.splitlines()[1:-1]
    # the left side is written once per equation, never repeated: continuation lines start with &=
    heads = [line.split("&=")[0].strip() for line in lines if not line.startswith("&=")]
    assert heads == ["g(z)", "g'(z)", "1 - a", "g'(z)", "g'(z)"], heads
    assert "\\partial" not in latex and latex.count("\\frac{d}{dz}") >= 5
    assert "\\text{with } u = 1 + e^{- z}" in latex


def test_kink_closing_line_states_what_is_known():
    note = steps("relu").steps[-1].note
    assert "negligible" not in note and "Bertoin" in note and "16-bit" in note
    assert "any value in [0, 1] is a subgradient" in note


def test_chain_rule_names_each_inner_function():
    # two chain rules in one step get two letters, each bound once beside the line
    s = steps(custom("exp(-z) + log(1 + z**2)"))
    chain = next(st for st in s.steps if st.rule == "chain rule")
    text = chain.as_json()["text"]
    named = re.findall(r"d/d([uv])\[(exp|log)\(\1\)\]", text)
    assert sorted(named) == [("u", "exp"), ("v", "log")] or sorted(named) == [("u", "log"), ("v", "exp")], text
    bound = dict(re.findall(r"([uv]) = ([^,]+)", text.split(",  with ")[1]))
    assert {bound[v] for v, f in named} == {"-z", "z**2 + 1"}, text
    # and each outer derivative is evaluated under the name it was shown with
    after = s.steps[s.steps.index(chain) + 1].note + s.steps[s.steps.index(chain) + 2].note
    assert all(f"then put back {v} = {bound[v]}" in after for v, _ in named), after


def test_piecewise_conditions_read_as_intervals():
    out = _catalogue_steps("relu6").render("text")
    assert "if 0 < z < 6" in out and "Piecewise" not in out
    assert "\\frac{d}{dz}" in _catalogue_steps("leaky_relu").render("latex")  # alpha*z: still d, not partial


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


def _ev(e, env: dict) -> mpmath.mpf:
    """``e`` at ``env`` with mpmath, written apart from symderiv.teach.verify: lambdify for plain
    expressions, mpmath.diff for a derivative, the point beside b for a one-sided limit."""
    if isinstance(e, Derivative):
        (var, n), = e.variable_count
        return mpmath.diff(lambda t: _ev(e.expr, {**env, var: t}), env[var], n)
    if isinstance(e, Subs):
        inner = {**env, **{v: _ev(p, env) for v, p in zip(e.variables, e.point, strict=True)}}
        return _ev(e.expr, inner)
    if isinstance(e, Limit):
        f, var, b, side = e.args
        return _ev(f, {**env, var: _ev(b, env) + (-1 if str(side) == "-" else 1) * mpmath.mpf(10) ** -45})
    if isinstance(e, UnevaluatedExpr):
        return _ev(e.args[0], env)
    if isinstance(e, Piecewise):
        at = {k: sympy.Float(mpmath.nstr(v, 70), 70) for k, v in env.items()}
        for value, cond in e.args:
            if bool(cond.subs(at)):
                return _ev(value, env)
        return mpmath.nan
    if not e.has(Derivative, Subs, Limit, UnevaluatedExpr, Piecewise):
        syms = sorted(e.free_symbols, key=str)
        try:
            value = sympy.lambdify(syms, e, "mpmath")(*[env[x] for x in syms])
        except (ZeroDivisionError, ValueError, TypeError):
            return mpmath.nan
        return value if isinstance(value, mpmath.mpf) else mpmath.mpmathify(value)
    args = [_ev(x, env) for x in e.args]
    if e.is_Add:
        return mpmath.fsum(args)
    if e.is_Mul:
        return mpmath.fprod(args)
    if e.is_Pow:
        return args[0] ** args[1]
    x = Symbol("x")
    return sympy.lambdify(x, e.func(x), "mpmath")(args[0])


@pytest.mark.parametrize("act", all_activations(), ids=lambda x: x.name)
def test_every_catalogue_entry(act):
    """Checked steps, the JSON schema, g' right, no internals shown, every step true at random points."""
    s = _catalogue_steps(act.name)
    assert s.steps, "no steps"
    # every step went through the checker; JSON keeps its schema and round-trips through sympify
    assert all(st.check is not None for st in s.steps)
    data = json.loads(json.dumps(s.as_json()))
    assert set(data) >= {"steps", "result", "aform"}
    for st in data["steps"]:
        assert set(st) >= {"rule", "before", "after", "note"}
        assert isinstance(st["text"], str) and isinstance(st["latex"], str)
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
    # one derivation per entry, three independent checks (xdist would otherwise redo it per test)
    _assert_no_internals(s)
    _assert_steps_hold(s)


def _assert_no_internals(s) -> None:
    """No SymPy internals in text, markdown, LaTeX or the JSON's readable fields; valid LaTeX."""
    shown = {fmt: s.render(fmt) for fmt in ("text", "markdown", "latex")}
    shown["json text"] = "\n".join(st["text"] + st["latex"] for st in s.as_json()["steps"])
    for fmt, out in shown.items():
        leaked = [w for w in INTERNALS if w in out]
        assert not leaked, (fmt, leaked)
        assert "negligible" not in out, fmt  # Bertoin et al. 2021: the kink's value can matter
    latex = shown["latex"]
    assert "\\frac{d}{dz}" in latex or not any(isinstance(st.before, Derivative) for st in s.steps)
    _assert_latex_ok(latex)


def _assert_latex_ok(latex: str) -> None:
    """An align* block, one ``&=`` per line, braces and \\left/\\right balanced."""
    lines = latex.splitlines()
    assert lines[0] == "\\begin{align*}" and lines[-1] == "\\end{align*}"
    for line in lines[1:-1]:
        assert line.count("&=") == 1, line
        assert not line.startswith("&") or line.startswith("&= "), line
    body = re.sub(r"\\[{}]", "", latex)
    depth = 0
    for ch in body:
        depth += {"{": 1, "}": -1}.get(ch, 0)
        assert depth >= 0, "a } closes nothing"
    assert depth == 0, "unbalanced braces"
    assert len(re.findall(r"\\left\b", latex)) == len(re.findall(r"\\right\b", latex))


def _assert_steps_hold(s) -> None:
    """Each step's before = after at seeded random points, at 50 digits, by the evaluator above
    (not the module's own check); the a-form steps with a replaced by g(z)."""
    g = s.definition
    bps = [float(k.z) for k in s.derivation.kinks]
    rng = random.Random(s.name)
    points = []
    while len(points) < 3:
        t = round(rng.uniform(-3.9, 3.9), 3)
        if all(abs(t - b) > 0.05 for b in bps):
            points.append(mpmath.mpf(str(t)))
    for st in s.steps:
        before, after = st.before.subs(a, g), st.after.subs(a, g)
        if after.has(sympy.oo, -sympy.oo, sympy.zoo):
            continue  # a pole beside a kink: the module checks the growth; no finite value to compare
        used = 0
        for t in points if before.has(z) or after.has(z) else points[:1]:
            with mpmath.workdps(60):
                x, y = _ev(before, {z: t}), _ev(after, {z: t})
                if not (mpmath.isfinite(x) and mpmath.isfinite(y)):
                    continue
                assert abs(x - y) <= mpmath.mpf(10) ** -40 * max(1, abs(x)), (st.rule, t, x, y)
                used += 1
        assert used, f"{st.rule}: no point where both sides are real"


def test_custom_expression():
    s = steps(custom("z*tanh(log(1 + exp(z)))"))
    rules = {st.rule for st in s.steps}
    assert {"product rule", "chain rule", "derivative of tanh", "derivative of log"} <= rules


def test_custom_expression_with_a_half_line_domain():
    # log(z) is real only for z > 0: the checks use the sample points there
    s = steps(custom("log(z)"))
    assert s.result == 1 / z and s.steps[0].rule == "derivative of log"


def test_nested_abs_rewritten_into_intervals_and_checked():
    # |log|z||: rewriting the Abs left conditions such as log(z) >= 0, which a comparison of a
    # non-real number (log(z) at z < 0) made impossible to evaluate: every step check failed and
    # `steps` exited 70 ("internal error"). By hand: log(-z) for z < -1, -log(-z) on (-1, 0),
    # -log(z) on (0, 1), log(z) for z > 1; g' = 1/z outside [-1, 1] and -1/z inside, off 0
    s = steps(custom("Abs(log(Abs(z)))"))
    first = s.steps[0]
    assert first.rule == "rewrite by cases"
    pw = first.after.args[0]
    assert isinstance(pw, Piecewise)
    assert all(not r.has(sympy.log) for r in pw.atoms(sympy.core.relational.Relational))
    for t, want in ((-3, sympy.log(3)), (Rational(-1, 2), -sympy.log(Rational(1, 2))),
                    (Rational(1, 2), -sympy.log(Rational(1, 2))), (3, sympy.log(3))):
        assert sympy.simplify(pw.subs(z, t) - want) == 0, t
    for t, want in ((-3, Rational(-1, 3)), (Rational(-1, 2), 2), (Rational(1, 2), -2), (3, Rational(1, 3))):
        assert s.result.subs(z, t) == want, t
    middle = [c for e, c in s.result.args if e == -1 / z]
    assert len(middle) == 1
    assert middle[0].as_set() == sympy.Union(sympy.Interval.open(-1, 0), sympy.Interval.open(0, 1))
    assert "-log(-z) if -1 < z < 0" in s.render("text")  # what `symderiv steps --expr ...` prints


def test_piecewise_conditions_are_decided_as_and_and_or_decide():
    from symderiv.teach.verify import _holds

    x = {z: sympy.Float(-2)}
    assert _holds((z < 0) | (sympy.log(z) >= 0), x) is True  # log(-2) is not real: not needed
    assert _holds((z >= 0) & (sympy.log(z) >= 0), x) is False
    assert _holds((z < 0) & (sympy.log(z) >= 0), x) is None  # needed, and undecidable
    assert _holds(sympy.Not(z > 0), x) is True
    assert evaluate(Piecewise((z, (z < 0) | (sympy.log(z) >= 0)), (-z, True)), {z: -2}) == -2


def test_a_wrong_rule_is_caught(monkeypatch):
    real = steps_module._rule

    def broken(d, values, *args):
        rule, value, note = real(d, values, *args)
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
    assert all("numeric check only" in st["note"] for st in s.as_json()["steps"])
    for fmt in ("text", "markdown", "latex"):  # nothing claims a proof the engine did not give
        assert "proved" not in s.render(fmt), fmt


def test_public_api():
    import symderiv

    assert symderiv.steps is steps
    assert [r["name"] for r in symderiv.table(["relu"])] == ["relu"]
