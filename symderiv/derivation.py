"""``derive``: an activation (or a custom expression) and its first two derivatives.

>>> d = derive("sigmoid")
>>> d.derivative
exp(-z)/(1 + exp(-z))**2
>>> derive("leaky_relu", params={"alpha": "0.2"}).derivative
Piecewise((1/5, z < 0), (1, z > 0))
>>> derive("leaky_relu").params
{'alpha': None}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from numbers import Number

import sympy
from sympy import Expr, Integer, Rational

from . import calculus
from .catalogue import Activation, Param, _shown, get, z
from .errors import BadParameterValue, ParseError, UnknownConvention
from .parse import check_constant, parse_expr_safe, parse_number
from .printing import to_text

__all__ = ["Derivation", "activation_functions", "custom", "derive", "resolve"]


@dataclass(frozen=True)
class Derivation:
    """What :func:`derive` found. Expressions are SymPy, in ``z`` (and ``a``) and the parameters.

    Attributes:
        name: canonical name, or ``"custom"``.
        params: ``{name: value used}``; None where the parameter stayed symbolic.
        definition, derivative, second_derivative: g, g', g'' (off the kinks).
        aform: g' in terms of ``a = g(z)`` where one exists, else None.
        aform_note: why there is no a-form, or a caveat; None when nothing to say.
        kinks: the breakpoints, see :class:`symderiv.calculus.Kink`.
        convention: the profile used for ``Kink`` values in :meth:`as_json`.
    """

    name: str
    params: dict[str, Expr | None]
    definition: Expr
    derivative: Expr
    second_derivative: Expr
    aform: Expr | None = None
    aform_note: str | None = None
    kinks: list[calculus.Kink] = field(default_factory=list)
    convention: str = "torch"
    activation: Activation | None = field(default=None, repr=False, compare=False)

    def as_json(self) -> dict:
        """The CLI's JSON object: SymPy strings that ``sympy.sympify`` reads back."""
        return {
            "name": self.name,
            "params": {k: to_text(v) for k, v in self.params.items()},
            "definition": to_text(self.definition),
            "derivative": to_text(self.derivative),
            "second_derivative": to_text(self.second_derivative),
            "aform": to_text(self.aform),
            "aform_note": self.aform_note,
            "convention": self.convention,
            "kinks": [kink_json(k, self.convention) for k in self.kinks],
        }


def kink_json(k: calculus.Kink, convention: str) -> dict:
    """One kink as the CLI prints it."""
    value = k.values.get(convention)
    return {
        "z": to_text(k.z),
        "left": to_text(k.left),
        "right": to_text(k.right),
        "value": to_text(value),
        "subdifferential": None if k.subdifferential is None else [to_text(s) for s in k.subdifferential],
        "differentiable": k.differentiable,
        "differentiable_if": to_text(k.differentiable_if),
        "continuous": k.continuous,
    }


def activation_functions() -> dict[str, object]:
    """The catalogue's activations as one-argument functions for the parser (params symbolic)."""
    from .catalogue import _BY_NAME

    return {n: rec for n, rec in _BY_NAME.items()}


def custom(text: str) -> Activation:
    """An :class:`Activation` from user text in ``z``; other names become real parameters.

    >>> custom("z*sigmoid(z)").expr
    z/(1 + exp(-z))
    """
    expr = parse_expr_safe(text, {"z": z}, functions=activation_functions(), free_symbols=True)
    if "a" in {s.name for s in expr.free_symbols}:
        raise ParseError("a custom activation is a function of z; 'a' is reserved for a = g(z)")
    params = tuple(
        Param(s.name, s, None, "custom parameter")  # type: ignore[arg-type]
        for s in sorted(expr.free_symbols - {z}, key=lambda s: s.name)
    )
    return Activation("custom", expr, params=params, family="other", description=text)


def _value(param: Param, raw: object) -> Expr:
    if isinstance(raw, Expr):
        value = raw
    elif isinstance(raw, bool):
        raise BadParameterValue(f"parameter {param.name} must be a number, got {raw!r}")
    elif isinstance(raw, int):
        value = Integer(raw)
    elif isinstance(raw, Number):
        try:
            value = Rational(str(raw))
        except (TypeError, ValueError):
            raise BadParameterValue(
                f"parameter {param.name} must be a finite real number, got {raw!r}"
            ) from None
    elif isinstance(raw, str):
        try:
            value = parse_number(raw)
        except ParseError as exc:
            raise BadParameterValue(f"bad value for parameter {param.name}: {exc}") from None
    else:
        raise BadParameterValue(f"parameter {param.name} must be a number, got {type(raw).__name__}")
    if not value.is_number or not value.is_real or not value.is_finite:
        raise BadParameterValue(f"parameter {param.name} must be a finite real number, got {raw!r}")
    try:
        check_constant(value, f"parameter {param.name}")
    except ParseError as exc:
        raise BadParameterValue(str(exc)) from None
    value = param.check(value)
    _in_range(param.name, value)
    return value


#: Magnitudes a parameter value may have, besides 0: the float64 range with room to spare
#: (the kernels, PyTorch and JAX compute in floats; a breakpoint at 10**309 is no float).
PARAM_MAGNITUDE = (Rational(1, 10**300), Integer(10) ** 300)


def _in_range(name: str, value: Expr) -> None:
    from .ball import certify

    lo, hi = PARAM_MAGNITUDE
    x = abs(certify(value))  # decided already by Param.check
    if x.is_zero():
        return
    if x > certify(hi):
        raise BadParameterValue(f"parameter {name} is too large: {_shown(value)} (limit 10**300 in magnitude)")
    if x < certify(lo):
        raise BadParameterValue(f"parameter {name} is too small: {_shown(value)} is nonzero but below "
                                "10**-300 in magnitude")


def check_constraints(
    act: Activation, fixed: Mapping[sympy.Symbol, Expr], defaults: Mapping[sympy.Symbol, Expr] | None = None
) -> None:
    """Refuse parameter values that break a constraint of ``act`` (``act.constraints``).

    A constraint is checked where every parameter in it has a value: from ``fixed``, or else
    from ``defaults`` (the values a derivation orders its cases at when a parameter stays
    symbolic). The one place where relations between parameters are checked.
    """
    from .ball import Uncertain, Undefined, Unsupported, holds

    values = {**(defaults or {}), **fixed}
    for relation, why in act.constraints:
        if not relation.free_symbols <= set(values):
            continue
        try:
            ok = holds(relation, values, 4096)
        except (Uncertain, Undefined, Unsupported):
            ok = False
        if not ok:
            given = ", ".join(
                f"{s.name} = {_shown(values[s], 30)}" + ("" if s in fixed else " (its default: fix it too)")
                for s in sorted(relation.free_symbols, key=lambda s: s.name)
            )
            raise BadParameterValue(f"{act.name} needs {relation} ({why}), got {given}")


def resolve(
    name: str | Activation,
    params: Mapping[str, object] | None = None,
    defaults: bool = False,
) -> tuple[Activation, dict[sympy.Symbol, Expr]]:
    """The record and ``{symbol: value}`` for the fixed parameters."""
    act = name if isinstance(name, Activation) else get(name)
    fixed: dict[sympy.Symbol, Expr] = {}
    if defaults:
        fixed.update({p.symbol: p.default for p in act.params if p.default is not None})
    for key, raw in (params or {}).items():
        p = act.param(key)
        fixed[p.symbol] = _value(p, raw)
    check_constraints(act, fixed, {p.symbol: p.default for p in act.params if p.default is not None})
    return act, fixed


def derive(
    name: str | Activation,
    params: Mapping[str, object] | None = None,
    *,
    defaults: bool = False,
    convention: str = "torch",
) -> Derivation:
    """g, g' and g'' of a catalogue activation, valid for every real z off the kinks.

    Args:
        name: canonical name or alias, or an :class:`Activation` (e.g. from :func:`custom`).
        params: ``{name: value}`` fixing some parameters (numbers or decimal text).
        defaults: fix every parameter not in ``params`` to the catalogue's default.
        convention: the kink profile for values at breakpoints: one of
            ``torch``, ``jax``, ``left``, ``right``, ``mid``.

    >>> derive("tanh").derivative
    1 - tanh(z)**2
    >>> derive("relu").kinks[0].values["torch"]
    0
    """
    if convention not in calculus.CONVENTIONS:
        raise UnknownConvention(
            f"unknown convention {convention!r} (choose from {', '.join(calculus.CONVENTIONS)})"
        )
    act, fixed = resolve(name, params, defaults)
    expr = act.expr.subs(fixed)
    order_at = {p.symbol: p.default for p in act.params if p.default is not None}
    order_at.update(fixed)
    conventions = {fw: {sympy.sympify(k).subs(fixed): v for k, v in table.items()}
                   for fw, table in act.conventions.items()}
    first = calculus.derivative(expr, 1, order_at)
    second = calculus.derivative(expr, 2, order_at)
    kinks = calculus.kinks(expr, conventions, order_at)
    aform, note = _aform(act, expr, fixed)
    return Derivation(
        name=act.name,
        params={p.name: fixed.get(p.symbol) for p in act.params},
        definition=expr,
        derivative=first,
        second_derivative=second,
        aform=aform,
        aform_note=note,
        kinks=kinks,
        convention=convention,
        activation=act,
    )


def _aform(act: Activation, expr: Expr, fixed: Mapping) -> tuple[Expr | None, str | None]:
    """The a-form, when the a-form engine is available (see :mod:`symderiv.aform`)."""
    try:
        from . import aform as aform_module
    except ImportError:
        return None, None
    return aform_module.aform(expr, fixed)
