"""Claims a user writes: ``g'(z) = CLAIM`` about an activation, and identities ``lhs = rhs``.

This module turns text into what :func:`symderiv.prove.prove_identity` decides, and
nothing else decides it. **The semantics, exactly:**

* ``verify_claim(g, CLAIM)``: ``g'(z) = CLAIM`` (with ``a = g(z)``) must hold at every
  real ``z`` except the activation's own kinks, for every admissible value of each
  parameter left symbolic. A claim that is undefined at any other point (0/0, a division
  by zero, the log of a number ≤ 0, …, as written, even where SymPy would cancel it) or
  takes another value there — including at the claim's own breakpoints and removable
  singularities — is false there, and the counterexample is that point.
* ``verify_identity(lhs, rhs)``: ``lhs = rhs`` must hold at every real ``z`` where the
  catalogue activations called inside them (``relu(z)``, ``hardtanh(2*z)``, …) are
  smooth; the sides' own breakpoints are checked exactly, and a side undefined where the
  other is defined is a counterexample.

At a kink, a claim that holds off the kinks but gives another value than the chosen
convention keeps its verdict and gets a ``kink_note``.

>>> verify_claim("tanh", "1 - a**2").status
'proved'
>>> verify_claim("relu", "Max(0, sign(z))").kink_note is None
True
>>> verify_claim("sigmoid", "a*(1 - a)*sign(z)**2").counterexample["z"]
'0'
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Mapping

import mpmath
import sympy
from sympy import Expr, Rational, S, Symbol

from . import calculus
from .catalogue import Activation, a, all_activations, z
from .errors import ParseError, UnknownConvention, closest
from .errors import UnknownParameter as UnknownParameterError
from .printing import to_text
from .prove import Verdict, prove_identity

__all__ = ["identity_symbols", "verify_claim", "verify_identity"]


def verify_claim(
    activation: str | Activation,
    claim: str | Expr,
    params: Mapping[str, object] | None = None,
    convention: str = "torch",
    *,
    timeout: float | None = None,
) -> Verdict:
    """Check ``g'(z) = claim`` at every real z but the activation's kinks, with ``a = g(z)``.

    Args:
        activation: a catalogue name or an :class:`~symderiv.catalogue.Activation`.
        claim: text in ``z``, ``a`` and the activation's parameter names (parsed by
            :func:`~symderiv.parse.parse_claim`; unknown names are errors), or a SymPy
            expression in the same symbols.
        params: ``{name: value}`` fixing parameters; the others stay symbolic and the claim
            must hold for all their admissible values.
        convention: the kink profile the claim's values at kinks are compared with
            (``torch``, ``jax``, ``left``, ``right``, ``mid``).

    >>> verify_claim("sigmoid", "a*(1 - a)").status
    'proved'
    >>> verify_claim("softsign", "1 - a**2").status
    'refuted'
    >>> verify_claim("elu", "a + alpha", params={"alpha": 1}).status  # only true for z < 0
    'refuted'
    """
    from .derivation import activation_functions, resolve
    from .parse import parse_claim

    if convention not in calculus.CONVENTIONS:
        raise UnknownConvention(
            f"unknown convention {convention!r} (choose from {', '.join(calculus.CONVENTIONS)})"
        )
    act, fixed = resolve(activation, params)
    conditions: tuple = ()
    if isinstance(claim, str):
        funcs = activation_functions()
        parsed = parse_claim(claim, act.symbols, functions=funcs)
        claim_expr, conditions = parsed.expr, parsed.conditions
        # in a claim about act only act's own parameters are symbolic: one that a called
        # activation brings in (beta of softplus(z) in a claim about mish) takes its default
        fixed = {**fixed, **_implicit_defaults((claim,), (claim_expr,), set(act.symbols.values()), funcs)}
    else:
        from .prove import as_expr

        claim_expr = as_expr(claim)
        allowed = set(act.symbols.values())
        unknown = claim_expr.free_symbols - allowed
        if unknown:
            raise ParseError(f"unknown names in the claim: {', '.join(sorted(s.name for s in unknown))}")
    expr = act.expr.subs(fixed)
    order_at = {p.symbol: p.default for p in act.params if p.default is not None}
    order_at.update(fixed)
    claim_expr = claim_expr.subs(fixed)
    kinks = calculus.kinks(expr, _conventions(act, fixed), order_at)
    lhs = calculus.derivative(expr, 1, order_at)
    rhs = claim_expr.subs(a, expr)
    domain = [(kind, f.subs(fixed).subs(a, expr), sympy.sympify(w).subs(fixed).subs(a, expr))
              for kind, f, w in conditions]
    verdict = prove_identity(lhs, rhs, breakpoints=[k.z for k in kinks], timeout=timeout,
                             order_at=order_at, rhs_domain=domain)
    if verdict.status == "proved" and not _derivative_agrees(expr, lhs, [k.z for k in kinks], order_at):
        # never prove against a g' that an independent numerical derivative contradicts
        return Verdict("undecided", "internal check failed: g' disagrees with mpmath.diff of g")
    if verdict.status == "refuted":
        return verdict
    note = _kink_note(kinks, claim_expr, expr, convention)
    if note is None:
        return verdict
    return Verdict(verdict.status, verdict.method, verdict.counterexample, note, verdict.assumptions)


def _implicit_defaults(texts, exprs, keep, funcs) -> dict[Symbol, Expr]:
    """Defaults for the parameters the texts only bring in through a call: ``softplus(z)``
    means softplus with beta = 1 unless ``beta`` is written (or is in ``keep``). A parameter
    shared by called activations with different defaults (``elu(z) + leaky_relu(z)``) stays
    symbolic: the claim must then hold for all its values."""
    import ast

    written: set[str] = set()
    called: dict[str, Activation] = {}
    for text in texts:
        for node in ast.walk(ast.parse(text.strip().replace("^", "**"), mode="eval")):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in funcs:
                called[funcs[node.func.id].name] = funcs[node.func.id]
            elif isinstance(node, ast.Name):
                written.add(node.id)
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                written.add(node.value)  # Symbol('beta')
    out: dict[Symbol, Expr] = {}
    free = set().union(*(e.free_symbols for e in exprs)) - {z, a} - set(keep)
    for sym in free:
        if sym.name in written:
            continue
        defaults = {p.default for act in called.values() for p in act.params if p.symbol == sym}
        if len(defaults) == 1 and None not in defaults:
            out[sym] = defaults.pop()
    return out


def _derivative_agrees(g: Expr, dg: Expr, kinks: list[Expr], order_at: Mapping[Symbol, Expr]) -> bool:
    """g' from :mod:`symderiv.calculus` against mpmath's numerical derivative of g, 30 digits."""
    values = {s: order_at.get(s, Rational(1, 2)) for s in (g.free_symbols | dg.free_symbols) - {z}}
    gf = sympy.lambdify([z], g.subs(values), modules="mpmath")
    df = sympy.lambdify([z], dg.subs(values), modules="mpmath")
    located = sorted(float(k.subs(values)) for k in kinks)
    edges: list[float | None] = [None, *located, None]
    rng = random.Random(5)
    with mpmath.workdps(40):
        for lo, hi in itertools.pairwise(edges):
            if lo is None and hi is None:
                xs = [-1.3, 0.4, 2.2]
            elif lo is None:
                xs = [hi - 0.5, hi - 2.0, hi - 0.01]
            elif hi is None:
                xs = [lo + 0.5, lo + 2.0, lo + 0.01]
            else:
                xs = [lo + (hi - lo) * f for f in (0.5, 0.25, 0.75)]
            for x in xs:
                xm = mpmath.mpf(x) + mpmath.mpf(rng.random()) * 1e-9
                try:
                    ref, got = mpmath.diff(gf, xm), df(xm)
                except (ZeroDivisionError, ValueError, TypeError):
                    continue
                if abs(ref - got) > mpmath.mpf(10) ** -25 * (1 + abs(ref)):
                    return False
    return True


def identity_symbols() -> dict[str, Symbol]:
    """Names usable in a general identity: ``z`` and every catalogue parameter name."""
    out: dict[str, Symbol] = {"z": z}
    for act in all_activations():
        for p in act.params:
            out.setdefault(p.name, p.symbol)
    return out


def verify_identity(
    lhs: str,
    rhs: str,
    params: Mapping[str, object] | None = None,
    *,
    timeout: float | None = None,
) -> Verdict:
    """Check the identity ``lhs = rhs``, text in ``z``, wherever the activations in it are smooth.

    The catalogue's activations may be called (``sigmoid(z)``) and the catalogue's parameter
    names (``alpha``, ``beta``, ...) stand for those parameters: a parameter written in the
    text is symbolic (the identity must hold for all its admissible values) unless ``params``
    fixes it; one that only a call brings in takes the called activation's default
    (``softplus(z)`` is softplus with beta = 1). Any other name is an error.

    >>> verify_identity("sigmoid(z)*(1 - sigmoid(z))", "exp(-z)/(1 + exp(-z))**2").status
    'proved'
    >>> verify_identity("softplus(z)", "log(1 + exp(z))").status
    'proved'
    >>> verify_identity("softplus(z)", "log(1 + exp(z))", {"beta": 2}).status
    'refuted'
    >>> verify_identity("softplus(z)", "log(1 + exp(beta*z))/beta").status
    'proved'
    >>> verify_identity("asinh(sinh(z))", "z").status
    'proved'
    """
    from .catalogue import Param
    from .derivation import activation_functions, check_constraints, param_value
    from .parse import parse_claim

    symbols = identity_symbols()
    funcs = activation_functions()
    left = parse_claim(lhs, symbols, functions=funcs)
    right = parse_claim(rhs, symbols, functions=funcs)
    fixed: dict[Symbol, Expr] = {}
    for name, raw in (params or {}).items():
        if name not in symbols or name == "z":
            raise UnknownParameterError(f"unknown parameter {name!r}" + closest(name, symbols))
        sym = symbols[name]
        fixed[sym] = param_value(Param(name, sym, None), raw)  # type: ignore[arg-type]
    fixed.update(_implicit_defaults((lhs, rhs), (left.expr, right.expr), fixed, funcs))
    for act in all_activations():  # relations between parameters (hardtanh: min_val < max_val)
        check_constraints(act, fixed)
    kinks = []
    for f in (*left.kinks, *right.kinks):
        found = sympy.solveset(f.subs(fixed), z, S.Reals)
        if isinstance(found, sympy.FiniteSet):
            kinks += [p for p in found if not any(sympy.simplify(p - q) == 0 for q in kinks)]
    return prove_identity(left.expr, right.expr, params=fixed, timeout=timeout, breakpoints=kinks,
                          lhs_domain=left.conditions, rhs_domain=right.conditions)


def _conventions(act: Activation, fixed: Mapping[Symbol, Expr]):
    return {fw: {sympy.sympify(k).subs(fixed): v for k, v in table.items()}
            for fw, table in act.conventions.items()}


def _kink_note(kinks, claim_expr: Expr, expr: Expr, convention: str) -> str | None:
    notes = []
    for k in kinks:
        expected = k.values.get(convention)
        if expected is None:
            continue
        at = claim_expr.subs(a, calculus.to_piecewise(expr).subs(z, k.z)).subs(z, k.z)
        at = sympy.simplify(calculus.to_piecewise(at))
        if at.has(sympy.nan, sympy.zoo) or at.is_finite is False:
            continue
        if sympy.simplify(at - expected) != 0:
            notes.append(f"at the kink z = {to_text(k.z)} the claim gives {to_text(at)}, "
                         f"{convention} uses {to_text(expected)}")
    return "; ".join(notes) or None


