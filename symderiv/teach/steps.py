"""A derivation written as a textbook writes it: named rules, one at a time, every step checked.

:func:`steps` starts from ``Derivative(g(z), z)`` and rewrites one
unevaluated derivative per step with a named rule (sum rule, constant
multiple, product rule, quotient rule, chain rule, power rule, derivative of
exp/log/tanh/erf, piecewise differentiation), then tidies the result into
``derive(...).derivative``, substitutes ``a = g(z)`` where an a-form exists,
and finally states each kink: the one-sided derivatives and the value the
chosen convention takes there. Every step's ``before = after`` is established
by :func:`symderiv.teach.verify.check` (symbolically and at 50 digits with
mpmath, off the breakpoints) before it is returned.

>>> import sympy
>>> s = steps("sigmoid")
>>> [st.rule for st in s.steps][:2]
['chain rule', 'power rule']
>>> s.result
exp(-z)/(1 + exp(-z))**2
>>> sympy.expand(s.aform)
-a**2 + a
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import sympy
from sympy import (
    Derivative,
    Expr,
    Function,
    Limit,
    Max,
    Min,
    Piecewise,
    Pow,
    Subs,
    Symbol,
    exp,
)

from .. import calculus
from ..catalogue import Activation, a, z
from ..derivation import Derivation, derive
from ..errors import SymderivError
from ..printing import to_text
from .verify import Check, check

__all__ = ["Derivation", "Step", "Steps", "steps"]

#: The inner variable of the chain rule, bound inside ``Subs``.
u = Symbol("u", real=True)
_MAX_STEPS = 200


@dataclass(frozen=True)
class Step:
    """One rewrite: ``before = after`` by ``rule`` (``note`` says how)."""

    rule: str
    before: Expr
    after: Expr
    note: str
    check: Check | None = field(default=None, compare=False)

    @property
    def full_note(self) -> str:
        """The note, marked when the step's symbolic proof was undecided (numeric check only)."""
        if self.check is not None and self.check.status == "numeric":
            return f"{self.note} [checked numerically at 50 digits only; symbolic proof undecided]"
        if self.check is not None and self.check.status == "symbolic":
            return f"{self.note} [proved symbolically; the 50-digit numeric check is inconclusive here]"
        return self.note

    def as_json(self) -> dict:
        """``{"rule", "before", "after", "note"}`` with SymPy strings."""
        return {"rule": self.rule, "before": to_text(self.before), "after": to_text(self.after),
                "note": self.full_note}


@dataclass(frozen=True)
class Steps:
    """A checked derivation of g'(z): the steps, the result and the a-form (or None)."""

    name: str
    definition: Expr
    steps: list[Step]
    result: Expr
    aform: Expr | None
    derivation: Derivation = field(repr=False, compare=False)

    def as_json(self) -> dict:
        """``{"name", "definition", "steps": [...], "result", "aform"}``."""
        return {"name": self.name, "definition": to_text(self.definition),
                "steps": [s.as_json() for s in self.steps],
                "result": to_text(self.result), "aform": to_text(self.aform)}

    def numeric_only(self) -> list[int]:
        """Indices of steps whose symbolic proof was undecided (checked numerically only)."""
        return [i for i, s in enumerate(self.steps) if s.check and s.check.status == "numeric"]

    def as_text(self) -> str:
        """Plain text: one numbered step per rule."""
        lines = [f"{self.name}:  g(z) = {self.definition}", ""]
        for i, s in enumerate(self.steps, 1):
            lines.append(f"{i:2d}. {s.rule}: {s.full_note}")
            lines.append(f"      {s.before}")
            lines.append(f"    = {s.after}")
        lines.append("")
        lines.append(f"g'(z) = {self.result}")
        if self.aform is not None:
            lines.append(f"g'(z) = {self.aform}   with a = g(z)")
        return "\n".join(lines)

    def as_markdown(self) -> str:
        """Markdown: a numbered list, math in ``$...$``."""
        lt = sympy.latex
        lines = [f"**{self.name}**: $g(z) = {lt(self.definition)}$", ""]
        for i, s in enumerate(self.steps, 1):
            lines.append(f"{i}. **{s.rule}** — {s.full_note}  ")
            lines.append(f"   ${lt(s.before)} = {lt(s.after)}$")
        lines.append("")
        lines.append(f"$g'(z) = {lt(self.result)}$" + (
            f", and with $a = g(z)$: $g'(z) = {lt(self.aform)}$" if self.aform is not None else ""))
        return "\n".join(lines)

    def as_latex(self) -> str:
        """A LaTeX ``align*`` block, the rule of each step as a ``\\text`` tag."""
        lt = sympy.latex
        rows = [f"g(z) &= {lt(self.definition)}"]
        for s in self.steps:
            rows.append(f"{lt(s.before)} &= {lt(s.after)} && \\text{{{_tex_escape(s.rule)}}}")
        if self.aform is not None:
            rows.append(f"g'(z) &= {lt(self.aform)} && \\text{{with }} a = g(z)")
        return "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}"

    def render(self, fmt: str = "text") -> str:
        """``text``, ``markdown`` or ``latex``."""
        return {"text": self.as_text, "markdown": self.as_markdown, "latex": self.as_latex}[fmt]()


def _tex_escape(text: str) -> str:
    return text.replace("\\", "\\textbackslash{}").replace("_", "\\_").replace("&", "\\&").replace("%", "\\%")


# ---- the rules ---------------------------------------------------------------------------------

def _is_trivial(d: Derivative) -> bool:
    return not d.expr.has(z) or d.expr == z


def _outer_name(f: Expr) -> str:
    return f"derivative of {type(f).__name__}" if isinstance(f, Function) else "power rule"


def _split_quotient(expr: Expr) -> tuple[Expr, Expr] | None:
    """``(numerator, denominator)`` when ``expr`` is a z-dependent product over a z-dependent Pow(., -1)."""
    if not isinstance(expr, sympy.Mul):
        return None
    den = [f for f in expr.args if isinstance(f, Pow) and f.exp == -1 and f.base.has(z)]
    num = [f for f in expr.args if f not in den]
    if len(den) != 1 or not any(f.has(z) for f in num):
        return None
    return sympy.Mul(*num), den[0].base


def _rule(d: Derivative, values: Mapping) -> tuple[str, Expr, str]:
    """The rule that rewrites the derivative ``d`` one level down: ``(name, replacement, note)``."""
    f = d.expr
    D = lambda e: Derivative(e, z)  # noqa: E731
    if isinstance(f, Piecewise):
        ps = calculus.pieces(f, values)
        cuts = ", ".join(str(p.hi) for p in ps[:-1])
        return ("piecewise differentiation",
                Piecewise(*[(D(p.expr), p.condition()) for p in ps]),
                f"differentiate each formula on the open intervals between the breakpoints ({cuts}); "
                "at the breakpoints themselves see the kink steps below")
    if isinstance(f, sympy.Add):
        return "sum rule", sympy.Add(*[D(t) for t in f.args]), "the derivative of a sum is the sum of the derivatives"
    if isinstance(f, sympy.Mul):
        coeff, rest = f.as_independent(z, as_Add=False)
        if coeff != 1:
            return "constant multiple", coeff * D(rest), f"(c*f)' = c*f' with c = {coeff}"
        q = _split_quotient(f)
        if q is not None:
            n, v = q
            return ("quotient rule", (D(n) * v - n * D(v)) / v**2,
                    f"(n/d)' = (n'*d - n*d')/d**2 with n = {n}, d = {v}")
        factors = list(f.args)
        terms = [sympy.Mul(*[D(x) if j == i else x for j, x in enumerate(factors)]) for i in range(len(factors))]
        return "product rule", sympy.Add(*terms), "(f*h)' = f'*h + f*h'"
    if isinstance(f, Pow):
        base, e = f.args
        if not e.has(z):
            if base == z:
                return "power rule", e * z ** (e - 1), f"d/dz z**n = n*z**(n-1) with n = {e}"
            return ("chain rule", Subs(Derivative(u**e, u), u, base) * D(base),
                    f"d/dz f(h(z)) = f'(h(z))*h'(z) with f(u) = u**{e}, h(z) = {base}")
        if not base.has(z):
            return ("exponential rule", f * sympy.log(base) * D(e),
                    f"d/dz c**h = c**h*log(c)*h' with c = {base}")
        return "write as exp", D(exp(e * sympy.log(base))), "f**h = exp(h*log(f))"
    if isinstance(f, (Max, Min, sympy.Abs, sympy.sign, sympy.Heaviside)):
        pw = calculus.to_piecewise(f)
        return "rewrite by cases", D(pw), f"{f} = {pw}"
    if isinstance(f, Function) and len(f.args) == 1:
        inner = f.args[0]
        if inner == z:
            return _outer_name(f), f.diff(z), f"d/dz {f} = {f.diff(z)}"
        outer = f.func(u)
        return ("chain rule", Subs(Derivative(outer, u), u, inner) * D(inner),
                f"d/dz f(h(z)) = f'(h(z))*h'(z) with f(u) = {outer}, h(z) = {inner}")
    # anything else: SymPy's derivative, named honestly
    return "differentiate", f.diff(z), f"d/dz {f}"


def _subs_rule(s: Subs) -> tuple[str, Expr, str]:
    outer = s.expr.expr
    value = s.doit()
    return _outer_name(outer), value, f"d/du {outer} = {outer.diff(u)}, at u = {s.point[0]}"


def _next(expr: Expr, values: Mapping) -> tuple[str, dict, str] | None:
    """The next rewrite of ``expr``: ``(rule, {node: replacement}, note)``, or None when done."""
    nodes = [n for n in sympy.preorder_traversal(expr)
             if isinstance(n, Subs) or (isinstance(n, Derivative) and n.variables == (z,))]
    if not nodes:
        return None
    trivial = [n for n in nodes if isinstance(n, Derivative) and _is_trivial(n)]
    if trivial:
        repl = {n: n.doit() for n in trivial}
        consts = [n for n in trivial if not n.expr.has(z)]
        if consts and len(consts) == len(trivial):
            rule, note = "constant rule", "the derivative of a constant is 0"
        elif not consts:
            rule, note = "derivative of z", "dz/dz = 1"
        else:
            rule, note = "constant rule and derivative of z", "a constant's derivative is 0; dz/dz = 1"
        return rule, repl, note
    # one rule per step, applied wherever it applies
    subs = [n for n in nodes if isinstance(n, Subs)]
    found = [(n, *_subs_rule(n)) for n in subs] if subs else [(n, *_rule(n, values)) for n in nodes]
    rule = found[0][1]
    chosen = [f for f in found if f[1] == rule]
    notes = list(dict.fromkeys(f[3] for f in chosen))
    return rule, {f[0]: f[2] for f in chosen}, "; ".join(notes)


# ---- the derivation ----------------------------------------------------------------------------

def _textbook_form(g: Expr) -> tuple[Expr, str | None]:
    """The definition as the lesson writes it: tanh(z) as a quotient of exponentials."""
    if isinstance(g, (sympy.tanh, sympy.sinh, sympy.cosh)) and g.args[0] == z:
        return g.rewrite(exp), f"{g} = {g.rewrite(exp)} by definition"
    return g, None


def _kink_steps(d: Derivation, result: Expr) -> list[tuple[str, Expr, Expr, str]]:
    out = []
    for k in d.kinks:
        left, right = Limit(result, z, k.z, "-"), Limit(result, z, k.z, "+")
        if k.differentiable:
            out.append(("differentiable at the breakpoint", left, k.left,
                        f"left and right derivatives at z = {k.z} agree: g'({k.z}) = {k.left}"))
            continue
        if not k.continuous:
            out.append(("jump at the breakpoint", left, k.left,
                        f"g jumps at z = {k.z}, so g'({k.z}) does not exist; the left derivative is {k.left}"))
        else:
            out.append(("left derivative at the kink", left, k.left,
                        f"approaching z = {k.z} from the left"))
        out.append(("right derivative at the kink", right, k.right,
                    f"approaching z = {k.z} from the right; "
                    + (f"{k.left} != {k.right}, so g'({k.z}) is undefined" if k.differentiable is False
                       else f"g is differentiable at z = {k.z} iff {k.differentiable_if}")))
        value = k.values.get(d.convention)
        if value is None:
            continue
        if sympy.simplify(value - k.left) == 0:
            source, before = "the left derivative", left
        elif sympy.simplify(value - k.right) == 0:
            source, before = "the right derivative", right
        elif sympy.simplify(value - (k.left + k.right) / 2) == 0:
            source, before = "the mean of the two sides", (left + right) / 2
        else:
            source, before = "a fixed value", value
        sub = ("" if k.subdifferential is None else
               f"; any value in [{k.subdifferential[0]}, {k.subdifferential[1]}] is a subgradient, "
               "and the choice has negligible effect on training")
        out.append((f"convention at the kink ({d.convention})", before, value,
                    f"{d.convention} sets g'({k.z}) = {value}, {source}{sub}"))
    return out


def _aform_fallback(g: Expr, gprime: Expr) -> Expr | None:
    """g' in terms of a = g(z) by inverting g, used only until :mod:`symderiv.aform` exists."""
    try:
        import symderiv.aform  # noqa: F401  (the real engine: derive() already asked it)

        return None
    except ImportError:
        pass
    if g.has(Piecewise, Max, Min, sympy.Abs) or sympy.count_ops(g) > 12:
        return None
    from ._budget import attempt

    def work() -> Expr | None:
        direct = gprime.subs(g, a)
        tries = [direct] if not direct.has(z) else []
        tries += [sympy.factor(sympy.simplify(gprime.subs(z, inverse)))
                  for inverse in sympy.solve(sympy.Eq(a, g), z)]
        for form in tries:
            if not form.has(z) and sympy.simplify(form.subs(a, g) - gprime) == 0:
                return _fewer_minus(form)
        return None

    return attempt(work, 2.0, None)


def _fewer_minus(form: Expr) -> Expr:
    """``a*(1 - a)`` rather than ``-a*(a - 1)``."""
    if isinstance(form, sympy.Mul) and form.could_extract_minus_sign():
        adds = [f for f in form.args if isinstance(f, sympy.Add)]
        if len(adds) == 1:
            rest = [f for f in (-form).args if f is not adds[0]] if isinstance(-form, sympy.Mul) else []
            flipped = sympy.Mul(*rest, -adds[0])
            if sympy.expand(flipped - form) == 0:
                return flipped
    return form


def _require_real(g: Expr, values: Mapping, bps: list[float]) -> None:
    """Refuse (as bad input) an expression that is not real at enough points to check anything."""
    import mpmath

    from .verify import evaluate, sample_points

    nums = {s: values.get(s, sympy.Rational(1, 2)) for s in g.free_symbols - {z}}
    real = sum(1 for t in sample_points(bps) if mpmath.isfinite(evaluate(g, {**nums, z: t})))
    if real < 3:
        raise SymderivError("g(z) is not real and finite at enough points of [-4.3, 4.1] to check a derivation")


def steps(
    name: str | Activation,
    params: Mapping[str, object] | None = None,
    *,
    defaults: bool = False,
    convention: str = "torch",
    timeout: float = 10.0,
) -> Steps:
    """The checked step-by-step derivation of g'(z), its a-form and its kinks.

    Args:
        name: catalogue name or alias, or an :class:`Activation` (e.g. from
            :func:`symderiv.custom`).
        params, defaults, convention: as for :func:`symderiv.derive`.
        timeout: seconds allowed for each step's symbolic proof; a step whose
            proof is undecided in that time is kept only if the 50-digit numeric
            check passes, and is listed by :meth:`Steps.numeric_only`.

    Raises:
        symderiv.teach.verify.CheckFailed: a step failed its check (a bug).

    >>> rules = [s.rule for s in steps("relu").steps]
    >>> rules[:3]
    ['rewrite by cases', 'piecewise differentiation', 'constant rule and derivative of z']
    >>> rules[-3:]
    ['left derivative at the kink', 'right derivative at the kink', 'convention at the kink (torch)']
    """
    d = derive(name, params, defaults=defaults, convention=convention)
    act = d.activation
    values = {p.symbol: p.default for p in act.params if p.default is not None}
    values.update({act.param(k).symbol: v for k, v in d.params.items() if v is not None})
    g = d.definition
    for sym in g.free_symbols - {z} - set(values):  # a parameter without a default: a sample value
        values[sym] = -sympy.Rational(1, 2) if sym.is_negative or sym.is_nonpositive else sympy.Rational(1, 2)
    bps = []
    exact = tuple(calculus.breakpoints(g, values)) if g.has(Piecewise, Max, Min, sympy.Abs, sympy.sign,
                                                              sympy.Heaviside) else ()
    for b in exact:
        bps.append(float(b.subs(values)))
    _require_real(g, values, bps)
    out: list[Step] = []

    def add(rule: str, before: Expr, after: Expr, note: str) -> None:
        c = check(before, after, values=values, breakpoints=bps, timeout=timeout, excluded=exact)
        out.append(Step(rule, before, after, note, c))

    current: Expr = Derivative(g, z)
    start, why = _textbook_form(g)
    if why:
        add("definition", current, Derivative(start, z), why)
        current = Derivative(start, z)
    if start.has(Piecewise, Max, Min, sympy.Abs) and not isinstance(start, Piecewise):
        pw = calculus.to_piecewise(start)
        if not pw.has(Max, Min, sympy.Abs) and pw != start:
            add("rewrite by cases", current, Derivative(pw, z), f"{start} = {pw}")
            current = Derivative(pw, z)
    for _ in range(_MAX_STEPS):
        nxt = _next(current, values)
        if nxt is None:
            break
        rule, repl, note = nxt
        after = current.xreplace(repl)
        add(rule, current, after, note)
        current = after
    result = d.derivative
    if current != result:
        add("simplify", current, result, "collect and simplify")
    aform = d.aform if d.aform is not None else _aform_fallback(g, result)
    if aform is not None:
        in_g = aform.subs(a, g)
        if in_g != result:
            add("write in terms of g(z)", result, in_g, f"g'(z) = {aform.subs(a, Symbol('g(z)'))}")
        c = check(in_g, aform.subs(a, g), values=values, breakpoints=bps, timeout=timeout, excluded=exact)
        out.append(Step("substitution a = g(z)", in_g, aform,
                        f"with a = g(z) = {g}, computed once in the forward pass", c))
    for rule, before, after, note in _kink_steps(d, result):
        if after in (sympy.oo, -sympy.oo) and isinstance(before, Limit):  # a pole, not a kink
            out.append(Step(rule, before, after, note, _check_infinite_limit(before, after, values)))
        else:
            add(rule, before, after, note)
    return Steps(d.name, g, out, result, aform, d)


def _check_infinite_limit(lim: Limit, value: Expr, values: Mapping) -> Check:
    """``lim = value`` (±oo), numerically: beside the point, g' grows without bound, with
    that sign (at distances 10**-8, 10**-16, 10**-32). No sample points: the limit is at one."""
    import mpmath

    from .verify import CheckFailed, evaluate

    f, var, b, direction = lim.args
    side = -1 if str(direction) == "-" else 1
    nums = {s: values.get(s, sympy.Rational(1, 2)) for s in f.free_symbols - {var}}
    seen = []
    with mpmath.workdps(80):  # the points beside b must not round onto it
        at = evaluate(b.subs(nums), {})
        for k in (8, 16, 32):
            seen.append(evaluate(f, {**nums, var: at + side * mpmath.mpf(10) ** -k}))
    sign = 1 if value == sympy.oo else -1
    grows = all(mpmath.isfinite(v) and sign * v > 0 for v in seen) and \
        abs(seen[0]) < abs(seen[1]) < abs(seen[2])
    if not grows:
        raise CheckFailed(f"{lim} = {value} fails: beside the point g' is {[mpmath.nstr(v, 8) for v in seen]}")
    return Check("numeric", len(seen))
