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
    UnevaluatedExpr,
    exp,
)

from .. import calculus
from ..catalogue import Activation, a, z
from ..derivation import Derivation, derive
from ..errors import SymderivError
from ..printing import to_text
from . import notation
from .verify import Check, check

__all__ = ["Derivation", "Step", "Steps", "aform_fallback", "steps"]

#: The inner variable of the chain rule, bound inside ``Subs``.
u = Symbol("u", real=True)
_MAX_STEPS = 200


#: ``g'`` as a name for the left side of an equation (``g'(z)``, ``g'(0)``).
GPRIME = Function("g'")


@dataclass(frozen=True)
class Step:
    """One rewrite: ``before = after`` by ``rule`` (``note`` says how).

    ``label``, when set, names what is being computed (``g'(z)``, ``1 - a``): a step whose
    ``before`` is not the previous step's ``after`` starts a new equation, shown as
    ``label = before = after``; otherwise the step continues the chain, ``= after``.
    """

    rule: str
    before: Expr
    after: Expr
    note: str
    check: Check | None = field(default=None, compare=False)
    label: Expr | None = None
    #: ``((h(z), u), ...)``: the letter shown for each inner function of the chain rule on this line.
    names: tuple = field(default=(), compare=False)

    @property
    def full_note(self) -> str:
        """The note, marked when the step's symbolic proof was undecided (numeric check only)."""
        if self.check is not None and self.check.status == "numeric":
            return (f"{self.note} [numeric check only: equal to 50 digits at {self.check.points} points; "
                    "the symbolic proof is undecided]")
        if self.check is not None and self.check.status == "symbolic":
            return f"{self.note} [proved symbolically; the 50-digit numeric check is inconclusive here]"
        return self.note

    def as_json(self) -> dict:
        """``{"rule", "before", "after", "note", "text", "latex"}``: ``before`` and ``after`` are
        SymPy strings (they read back), ``text`` and ``latex`` the equation in textbook notation."""
        eq = [self.before, self.after]
        tx, lt = self.shown(notation.text), self.shown(notation.latex)
        return {"rule": self.rule, "before": to_text(self.before), "after": to_text(self.after),
                "note": self.full_note,
                "text": " = ".join(tx(e) for e in eq) + _where(eq, tx, "text", self.names),
                "latex": " = ".join(lt(e) for e in eq) + _where(eq, lt, "latex", self.names)}

    def shown(self, printer):
        """``printer`` (:func:`notation.text` or :func:`notation.latex`) with this line's letters."""
        names = dict(self.names)
        return lambda e: printer(e, names=names)


def _where(exprs: list[Expr], show, fmt: str, names: tuple = ()) -> str:
    """``,  with u = h(z)`` for the chain rule's inner functions in ``exprs``."""
    bound = notation.bindings(*exprs, names=dict(names))
    if not bound:
        return ""
    eqs = ", ".join(f"{show(v)} = {show(h)}" for v, h in bound)
    return {"text": f",  with {eqs}", "markdown": f", with ${eqs}$",
            "latex": rf" \quad \text{{with }} {eqs}"}[fmt]


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

    def _chain(self):
        """``(number, step, head)``: ``head`` is the left side of a new equation (``[label,
        before]`` or ``[before]``), None when the step continues the previous one."""
        prev_after, label = None, None
        for i, s in enumerate(self.steps, 1):
            new = prev_after is None or s.before != prev_after or (s.label is not None and s.label != label)
            head = None
            if new:
                label = s.label
                head = ([s.label] if s.label is not None else []) + [s.before]
            prev_after = s.after
            yield i, s, head

    def _summary(self) -> str:
        numeric = self.numeric_only()
        if numeric and len(numeric) == len(self.steps):
            return "Every step: numeric check only (50 digits with mpmath); no symbolic proof was found."
        if not numeric:
            return "Every step above is proved symbolically and checked at 50 digits with mpmath."
        shown = ", ".join(str(i + 1) for i in numeric)
        return (f"Steps {shown}: numeric check only (50 digits with mpmath); the others are proved "
                "symbolically and checked at 50 digits.")

    def as_text(self) -> str:
        """Plain text in textbook notation: each equation, then one numbered line per rule."""
        tx = notation.text
        lines = [f"{self.name}:  g(z) = {tx(self.definition)}", ""]
        for i, s, head in self._chain():
            show = s.shown(tx)
            if head is not None:
                lines.append(" = ".join(show(e) for e in head) + _where(head, show, "text", s.names))
            lines.append(f"{i:2d}. {s.rule}: {s.full_note}")
            lines.append(f"      = {show(s.after)}" + _where([s.after], show, "text", s.names))
        lines.append("")
        lines.append(f"g'(z) = {tx(self.result)}")
        if self.aform is not None:
            lines.append(f"g'(z) = {tx(self.aform)}   with a = g(z)")
        lines.append(self._summary())
        return "\n".join(lines)

    def as_markdown(self) -> str:
        """Markdown: each equation in ``$...$``, then one numbered item per rule."""
        lt = notation.latex
        lines = [f"**{self.name}**: $g(z) = {lt(self.definition)}$", ""]
        for i, s, head in self._chain():
            show = s.shown(lt)
            if head is not None:
                lines += ([""] if lines[-1] else []) + [
                    "$" + " = ".join(show(e) for e in head) + "$" + _where(head, show, "markdown", s.names), ""]
            lines.append(f"{i}. **{_md_escape(s.rule)}** — {_md_escape(s.full_note)}  ")
            lines.append(f"   $= {show(s.after)}$" + _where([s.after], show, "markdown", s.names))
        lines.append("")
        lines.append(f"$g'(z) = {lt(self.result)}$" + (
            f", and with $a = g(z)$: $g'(z) = {lt(self.aform)}$" if self.aform is not None else ""))
        lines += ["", _md_escape(self._summary())]
        return "\n".join(lines)

    def as_latex(self) -> str:
        """A LaTeX ``align*`` block aligned on ``&=``, each step's number and rule as a ``\\text`` tag."""
        lt = notation.latex
        rows = [f"g(z) &= {lt(self.definition)}"]
        for i, s, head in self._chain():
            show = s.shown(lt)
            tag = rf"\text{{({i}) {_tex_escape(s.rule)}}}" + _where([s.after], show, "latex", s.names)
            if head is not None and len(head) == 2:
                rows.append(f"{show(head[0])} &= {show(head[1])}" + _where(head, show, "latex", s.names))
                head = None
            if head is not None:
                rows.append(f"{show(head[0])} &= {show(s.after)} && {tag}")
            else:
                rows.append(f"&= {show(s.after)} && {tag}")
        if self.aform is not None:
            rows.append(f"g'(z) &= {lt(self.aform)} && \\text{{with }} a = g(z)")
        return "\\begin{align*}\n" + " \\\\\n".join(rows) + "\n\\end{align*}"

    def render(self, fmt: str = "text") -> str:
        """``text``, ``markdown`` or ``latex``."""
        return {"text": self.as_text, "markdown": self.as_markdown, "latex": self.as_latex}[fmt]()


def _tex_escape(text: str) -> str:
    return (text.replace("\\", "\\textbackslash{}").replace("_", "\\_").replace("&", "\\&")
            .replace("%", "\\%").replace("#", "\\#").replace("{", "\\{").replace("}", "\\}"))


def _md_escape(text: str) -> str:
    """Keep Markdown from reading ``*`` and ``_`` in a note as emphasis."""
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("_", "\\_").replace("`", "\\`")


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


def _rule(d: Derivative, values: Mapping, var: Symbol = u) -> tuple[str, Expr, str]:
    """The rule that rewrites the derivative ``d`` one level down: ``(name, replacement, note)``.
    ``var`` is the chain rule's inner variable."""
    f = d.expr
    tx = notation.text
    D = lambda e: Derivative(e, z)  # noqa: E731
    if isinstance(f, Piecewise):
        ps = calculus.pieces(f, values)
        cuts = ", ".join(tx(p.hi) for p in ps[:-1])
        return ("piecewise differentiation",
                Piecewise(*[(D(p.expr), p.condition()) for p in ps]),
                f"differentiate each formula on the open intervals between the breakpoints ({cuts}); "
                "at the breakpoints themselves see the kink steps below")
    if isinstance(f, sympy.Add):
        return "sum rule", sympy.Add(*[D(t) for t in f.args]), "d/dz[f + h] = d/dz[f] + d/dz[h]"
    if isinstance(f, sympy.Mul):
        coeff, rest = f.as_independent(z, as_Add=False)
        if coeff != 1:
            return "constant multiple", coeff * D(rest), f"d/dz[c*f] = c * d/dz[f] with c = {tx(coeff)}"
        q = _split_quotient(f)
        if q is not None:
            n, v = q
            return ("quotient rule", (D(n) * v - n * D(v)) / v**2,
                    f"d/dz[f/h] = (h * d/dz[f] - f * d/dz[h])/h**2 with f = {tx(n)}, h = {tx(v)}")
        factors = list(f.args)
        terms = [sympy.Mul(*[D(x) if j == i else x for j, x in enumerate(factors)]) for i in range(len(factors))]
        return "product rule", sympy.Add(*terms), "d/dz[f*h] = d/dz[f] * h + f * d/dz[h]"
    if isinstance(f, Pow):
        base, e = f.args
        if not e.has(z):
            if base == z:
                return "power rule", e * z ** (e - 1), f"d/dz[z**n] = n*z**(n - 1) with n = {tx(e)}"
            return ("chain rule", Subs(Derivative(var**e, var), var, base) * D(base),
                    _chain_note(var**e, var, base))
        if not base.has(z):
            return ("exponential rule", f * sympy.log(base) * D(e),
                    f"d/dz[c**h] = c**h * log(c) * d/dz[h] with c = {tx(base)}")
        return "write as exp", D(exp(e * sympy.log(base))), "f**h = exp(h*log(f))"
    if isinstance(f, (Max, Min, sympy.Abs, sympy.sign, sympy.Heaviside)):
        pw = calculus.to_piecewise(f)
        return "rewrite by cases", D(pw), f"{tx(f)} = {tx(pw)}"
    if isinstance(f, Function) and len(f.args) == 1:
        inner = f.args[0]
        if inner == z:
            return _outer_name(f), f.diff(z), f"d/dz[{tx(f)}] = {tx(f.diff(z))}"
        outer = f.func(var)
        return ("chain rule", Subs(Derivative(outer, var), var, inner) * D(inner), _chain_note(outer, var, inner))
    # anything else: SymPy's derivative, named honestly
    return "differentiate", f.diff(z), f"d/dz[{tx(f)}]"


def _chain_note(outer: Expr, var: Symbol, inner: Expr) -> str:
    tx, v = notation.text, var.name
    return f"with {v} = {tx(inner)}, d/dz[{tx(outer)}] = d/d{v}[{tx(outer)}] * d/dz[{v}]"


def _subs_rule(s: Subs, var: Symbol = u) -> tuple[str, Expr, str]:
    """The outer derivative of a chain rule, evaluated; ``var`` is the inner variable's display name."""
    tx = notation.text
    outer, point = s.expr.expr.xreplace({s.variables[0]: var}), s.point[0]
    return (_outer_name(outer), s.doit(),
            f"d/d{var}[{tx(outer)}] = {tx(outer.diff(var))}, then put back {var} = {tx(point)}")


def _next(expr: Expr, values: Mapping, names: Mapping) -> tuple[str, dict, str] | None:
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
            rule, note = "derivative of z", "d/dz[z] = 1"
        else:
            rule, note = "constant rule and derivative of z", "a constant's derivative is 0; d/dz[z] = 1"
        return rule, repl, note
    # one rule per step, applied wherever it applies; each inner function named as it is shown
    # (u, v, ... by notation.name_inner, from line to line: the Subs objects themselves all bind u)
    subs = [n for n in nodes if isinstance(n, Subs)]
    if subs:
        shown = notation.name_inner(names, expr)
        found = [(n, *_subs_rule(n, shown.get(n.point[0], u))) for n in subs]
    else:
        found = [(n, *_rule(n, values)) for n in nodes]
    rule = found[0][1]
    chosen = [f for f in found if f[1] == rule]
    repl = {f[0]: f[2] for f in chosen}
    if rule == "chain rule":
        shown = notation.name_inner(names, expr, expr.xreplace(repl))
        chosen = [(n, *_rule(n, values, shown.get(_inner(n), u))) for n, *_ in chosen]
    notes = list(dict.fromkeys(f[3] for f in chosen))
    return rule, repl, "; ".join(notes)


def _inner(d: Derivative) -> Expr:
    f = d.expr
    return f.args[0] if isinstance(f, Function) else f.base


# ---- the derivation ----------------------------------------------------------------------------

def _textbook_form(g: Expr) -> tuple[Expr, str | None]:
    """The definition as the lesson writes it: tanh(z) as a quotient of exponentials."""
    if isinstance(g, (sympy.tanh, sympy.sinh, sympy.cosh)) and g.args[0] == z:
        return g.rewrite(exp), f"{notation.text(g)} = {notation.text(g.rewrite(exp))} by definition"
    return g, None


def _evaluated(expr: Expr) -> Expr:
    """``expr`` with its display-only grouping (``UnevaluatedExpr``) removed, for checking."""
    return expr.replace(lambda e: isinstance(e, UnevaluatedExpr), lambda e: e.args[0])


def _sigmoid_algebra(gprime: Expr) -> list[tuple]:
    """The lesson's sigmoid: e^{-z}/(1 + e^{-z})^2 = 1/(1 + e^{-z}) * e^{-z}/(1 + e^{-z}) = a(1 - a)."""
    tx = notation.text
    h = 1 + exp(-z)
    g, rest = 1 / h, exp(-z) / h
    split = UnevaluatedExpr(g) * UnevaluatedExpr(rest)
    return [
        ("split the square", GPRIME(z), gprime, split,
         f"1/({tx(h)})**2 = 1/({tx(h)}) * 1/({tx(h)}); the first factor is g(z)"),
        ("common denominator", 1 - a, 1 - g, rest,
         f"1 - 1/({tx(h)}) = ({tx(h)} - 1)/({tx(h)}): the second factor is 1 - g(z) = 1 - a"),
        ("substitute 1 - g(z)", GPRIME(z), split, UnevaluatedExpr(g) * UnevaluatedExpr(1 - g),
         f"by the previous step, {tx(rest)} = {tx(1 - g)}"),
    ]


def _tanh_algebra(gprime: Expr) -> list[tuple]:
    """The lesson's tanh, from its exponential definition: the quotient rule's
    (C**2 - S**2)/C**2 = 1 - (S/C)**2 = 1 - tanh(z)**2 = 1 - a**2 with S = e^z - e^{-z}, C = e^z + e^{-z}."""
    tx = notation.text
    S, C = exp(z) - exp(-z), exp(z) + exp(-z)
    ratio = 1 - UnevaluatedExpr(S / C) ** 2
    return [
        ("split the fraction", GPRIME(z), gprime, ratio,
         f"(C**2 - S**2)/C**2 = 1 - (S/C)**2 with C = {tx(C)}, S = {tx(S)}"),
        ("definition of tanh", GPRIME(z), ratio, 1 - sympy.tanh(z) ** 2,
         f"{tx(S / C)} = tanh(z) = g(z)"),
    ]


#: g(z) as the lesson writes it -> the lesson's algebra from g'(z) to the a-form, one checked step each.
_LESSON_ALGEBRA = {
    1 / (1 + exp(-z)): _sigmoid_algebra,   # sigmoid: a(1 - a)
    sympy.tanh(z): _tanh_algebra,           # tanh: 1 - a**2
}


#: What is known about the value taken at a kink, stated on each convention step.
_KINK_EVIDENCE = (
    "Inputs exactly at a kink are rare in exact arithmetic but common in floating point, and the choice "
    "can change training: Bertoin et al. (NeurIPS 2021) found that ReLU'(0) altered the backpropagated "
    "gradient in about half of their 32-bit runs and in all 16-bit runs (not at 64 bits), and that "
    "batch normalisation and Adam lessen the effect")


def _kink_steps(d: Derivation, result: Expr) -> list[tuple]:
    """``(rule, before, after, note[, label])`` for each kink: one-sided limits, then the convention."""
    tx = notation.text
    out = []
    for k in d.kinks:
        left, right = Limit(result, z, k.z, "-"), Limit(result, z, k.z, "+")
        if k.differentiable:
            out.append(("differentiable at the breakpoint", left, k.left,
                        f"left and right derivatives at z = {tx(k.z)} agree: g'({tx(k.z)}) = {tx(k.left)}"))
            continue
        if not k.continuous:
            out.append(("jump at the breakpoint", left, k.left,
                        f"g jumps at z = {tx(k.z)}, so g'({tx(k.z)}) does not exist; "
                        f"the left derivative is {tx(k.left)}"))
        else:
            out.append(("left derivative at the kink", left, k.left,
                        f"approaching z = {tx(k.z)} from the left"))
        out.append(("right derivative at the kink", right, k.right,
                    f"approaching z = {tx(k.z)} from the right; "
                    + (f"{tx(k.left)} != {tx(k.right)}, so g'({tx(k.z)}) is undefined" if k.differentiable is False
                       else f"g is differentiable at z = {tx(k.z)} iff {tx(k.differentiable_if)}")))
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
               f"; any value in [{tx(k.subdifferential[0])}, {tx(k.subdifferential[1])}] is a subgradient. "
               + _KINK_EVIDENCE)
        out.append((f"convention at the kink ({d.convention})", before, value,
                    f"{d.convention} sets g'({tx(k.z)}) = {tx(value)}, {source}{sub}", GPRIME(k.z)))
    return out


def aform_fallback(g: Expr, gprime: Expr) -> Expr | None:
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


def _by_intervals(pw: Expr, values: dict) -> Expr:
    """``pw`` as a teacher writes it: where a condition compares more than z with a number
    (``log(z) >= 0``, left by rewriting ``Abs(log(Abs(z)))``), one formula per open interval
    between the breakpoints instead (the step is claimed off them)."""
    rels = pw.atoms(sympy.core.relational.Relational)
    if all((r.lhs == z and not r.rhs.has(z)) or (r.rhs == z and not r.lhs.has(z)) for r in rels):
        return pw
    try:
        parts = calculus.pieces(pw, values)
    except SymderivError:
        return pw
    return Piecewise(*[(p.expr, p.condition()) for p in parts])


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

    names: dict = {}  # the letter of each inner function of the chain rule, carried line to line

    def add(rule: str, before: Expr, after: Expr, note: str, label: Expr | None = None) -> None:
        nonlocal names
        c = check(_evaluated(before), _evaluated(after), values=values, breakpoints=bps, timeout=timeout,
                  excluded=exact)
        names = notation.name_inner(names, before, after)
        out.append(Step(rule, before, after, note, c, label, tuple(names.items())))

    tx = notation.text
    gz = GPRIME(z)
    current: Expr = Derivative(g, z)
    start, why = _textbook_form(g)
    if why:
        add("definition", current, Derivative(start, z), why, gz)
        current = Derivative(start, z)
    if start.has(Piecewise, Max, Min, sympy.Abs) and not isinstance(start, Piecewise):
        pw = _by_intervals(calculus.to_piecewise(start), values)
        if not pw.has(Max, Min, sympy.Abs) and pw != start:
            add("rewrite by cases", current, Derivative(pw, z), f"{tx(start)} = {tx(pw)}", gz)
            current = Derivative(pw, z)
    for _ in range(_MAX_STEPS):
        nxt = _next(current, values, names)
        if nxt is None:
            break
        rule, repl, note = nxt
        after = current.xreplace(repl)
        add(rule, current, after, note, gz)
        current = after
    result = d.derivative
    aform = d.aform if d.aform is not None else aform_fallback(g, result)
    algebra = _LESSON_ALGEBRA.get(g) if aform is not None else None
    if algebra is not None:  # the lesson's own way from g' to the a-form
        for rule, label, before, after, note in algebra(current):
            add(rule, before, after, note, label)
        current = out[-1].after
    elif current != result:
        add("simplify", current, result, "collect and simplify", gz)
        current = result
    if aform is not None:
        in_g = aform.subs(a, g)
        if aform.has(Piecewise):  # conditions on z become conditions on a: show them on a directly
            c = check(current, in_g, values=values, breakpoints=bps, timeout=timeout, excluded=exact)
            out.append(Step("substitution a = g(z)", current, aform,
                            f"with a = g(z) = {tx(g)}, each condition on z is written as the condition "
                            "on a that selects the same piece; a is computed once in the forward pass", c, gz))
        else:
            if algebra is None and in_g != current:
                add("write in terms of g(z)", current, in_g,
                    f"g'(z) = {tx(aform.subs(a, Symbol('g(z)')))}", gz)
                current = in_g
            c = check(_evaluated(current), in_g, values=values, breakpoints=bps, timeout=timeout,
                      excluded=exact)
            out.append(Step("substitution a = g(z)", current, aform,
                            f"with a = g(z) = {tx(g)}, computed once in the forward pass", c, gz))
    for rule, before, after, note, *label in _kink_steps(d, result):
        if after in (sympy.oo, -sympy.oo) and isinstance(before, Limit):  # a pole, not a kink
            out.append(Step(rule, before, after, note, _check_infinite_limit(before, after, values), *label))
        else:
            add(rule, before, after, note, *label)
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
