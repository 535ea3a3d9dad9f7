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

import dataclasses
import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from numbers import Number

import sympy
from sympy import Expr, Integer, Rational

from . import calculus, memo
from .catalogue import Activation, Param, get, shorten, z
from .errors import BadParameterValue, ParseError, SymderivError, UnknownConvention
from .parse import check_constant, parse_expr_safe, parse_number
from .printing import decimal, to_text

__all__ = ["Derivation", "activation_functions", "aform_of", "custom", "derive", "param_value", "resolve"]


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
        """The CLI's JSON object: SymPy strings that ``sympy.sympify`` reads back.

        ``params`` are exact; ``params_decimal`` gives each fixed one as the shortest decimal
        that rounds to the same float64 (null where symbolic).
        """
        return {
            "name": self.name,
            "params": {k: to_text(v) for k, v in self.params.items()},
            "params_decimal": {k: None if v is None else decimal(v) for k, v in self.params.items()},
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
    from .catalogue import by_name

    return by_name()


def custom(text: str) -> Activation:
    """An :class:`Activation` from user text in ``z``; other names become real parameters.

    A catalogue parameter reached through a catalogue call (``lambd`` in ``softshrink(z)``)
    keeps its assumptions, its default (when the activations called agree on one value) and its
    activation's constraints, and is *implicit*: :func:`derive` fixes it to that default unless
    a value is given (``z*tanh(softplus(z))`` is mish with beta = 1). A name the text spells out
    (``k`` in ``z*sigmoid(k*z)``) is a parameter that stays symbolic. Refused (:class:`~symderiv.errors.ParseError`):

    * text in which ``z`` does not occur but another name does (``x**2``: the derivative in
      z would silently be 0);
    * text that is not real for real z: a negative number to a power in z (``(-2)**z``), a
      power whose base and exponent both vary and whose base is negative somewhere
      (``sign(z)**z``), or an expression real at none of the probe points
      (``log(-exp(z))``, ``sqrt(-z**2 - 1)``); the message names the point.

    >>> custom("z*sigmoid(z)").expr
    z/(1 + exp(-z))
    >>> [(p.name, p.default, p.implicit) for p in custom("z*tanh(softplus(z))").params]
    [('beta', 1, True)]
    >>> custom("x**2")
    Traceback (most recent call last):
    ...
    symderiv.errors.ParseError: the variable is z, and 'x**2' does not contain it ('x' would be a parameter): write the activation in z
    """
    called: set[str] = set()
    functions = {n: _Recorded(rec, called) for n, rec in activation_functions().items()}
    expr = parse_expr_safe(text, {"z": z}, functions=functions, free_symbols=True)
    if "a" in {s.name for s in expr.free_symbols}:
        raise ParseError("a custom activation is a function of z; 'a' is reserved for a = g(z)")
    others = sorted(expr.free_symbols - {z}, key=lambda s: s.name)
    if z not in expr.free_symbols and others:
        names = ", ".join(repr(s.name) for s in others)
        raise ParseError(
            f"the variable is z, and {shorten(text.strip(), 40)!r} does not contain it ({names} would be "
            f"{'a parameter' if len(others) == 1 else 'parameters'}): write the activation in z"
        )
    from .catalogue import all_activations

    params = []
    for s in others:
        default = _catalogue_default(s, called)
        params.append(Param(s.name, s, default, "custom parameter",  # type: ignore[arg-type]
                            implicit=default is not None))
    params = tuple(params)
    constraints = tuple(c for act in all_activations() for c in act.constraints
                        if c[0].free_symbols <= set(others))
    _require_real(expr, {p.symbol: _probe_value(p) for p in params})
    return Activation("custom", expr, params=params, family="other", description=text,
                      constraints=constraints)


class _Recorded:
    """A catalogue activation for the parser that notes its name in ``called`` when called."""

    def __init__(self, rec: Activation, called: set[str]) -> None:
        self.rec, self.called, self.expr = rec, called, rec.expr

    def __call__(self, arg: Expr) -> Expr:
        self.called.add(self.rec.name)
        return self.rec(arg)


def _catalogue_default(symbol: sympy.Symbol, called: set[str]) -> Expr | None:
    """The default of a parameter symbol, when every activation ``called`` having it agrees."""
    from .catalogue import all_activations

    found = {p.default for act in all_activations() if act.name in called
             for p in act.params if p.symbol == symbol}
    return found.pop() if len(found) == 1 else None


def _probe_value(p: Param) -> Expr:
    if p.default is not None:
        return p.default
    return -Rational(1, 2) if p.symbol.is_negative or p.symbol.is_nonpositive else Rational(1, 2)


#: Where a custom activation is probed for being real (exact points, a few non-integers).
PROBES = tuple(Rational(t) for t in ("-100", "-30", "-10", "-4", "-5/2", "-1", "-1/3", "0", "1/4",
                                     "1", "5/2", "4", "10", "30", "100"))


def _require_real(expr: Expr, values: Mapping[sympy.Symbol, Expr]) -> None:
    """Refuse an expression that is not real for real z (see :func:`custom`)."""
    from .ball import Uncertain, Undefined, Unsupported, certify, evaluate

    def at(e: Expr, t: Expr):
        try:
            return evaluate(e, {**values, z: t}, 128)
        except (Uncertain, Unsupported, Undefined):
            return None

    def undefined(t: Expr) -> bool:
        try:
            evaluate(expr, {**values, z: t}, 128)
        except Undefined:
            return True
        except (Uncertain, Unsupported):
            return False
        return False

    for node in sympy.preorder_traversal(expr):
        if not (isinstance(node, sympy.Pow) and node.exp.has(z)) or node.base is sympy.E:
            continue
        base = node.base
        if not base.free_symbols:
            try:
                positive = certify(base) > 0
            except (Uncertain, Undefined, Unsupported):
                positive = False
            if not positive:
                raise ParseError(f"{shorten(node, 40)} is not real for real z (a base <= 0 to a power in z, "
                                 "e.g. at z = 1/2)")
        elif base.has(z):
            for t in sorted(PROBES, key=lambda t: t.is_Integer):  # non-integers first: there it is complex
                b = at(base, t)
                if b is not None and b < 0:
                    where = "at" if not t.is_Integer else "near"
                    raise ParseError(
                        f"{shorten(node, 40)} is not real {where} z = {t}: its base is negative there and its "
                        "exponent varies (write exp(exponent*log(base)) for where the base is positive)")
    if all(undefined(t) for t in PROBES):  # certainly not real anywhere probed
        raise ParseError(f"{shorten(expr, 40)} is not real (or not defined) at any of z = "
                         f"{', '.join(str(t) for t in PROBES[:4])}, ..., {PROBES[-1]}: "
                         "an activation must be real for real z")


def param_value(param: Param, raw: object) -> Expr:
    """The value ``raw`` given for ``param`` (a number, a string or an expression) as an exact SymPy
    number, checked against the parameter's assumption."""
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
        raise BadParameterValue(f"parameter {name} is too large: {shorten(value)} (limit 10**300 in magnitude)")
    if x < certify(lo):
        raise BadParameterValue(f"parameter {name} is too small: {shorten(value)} is nonzero but below "
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
                f"{s.name} = {shorten(values[s], 30)}" + ("" if s in fixed else " (its default: fix it too)")
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
    fixed.update({p.symbol: p.default for p in act.params
                  if p.default is not None and (defaults or p.implicit)})
    for key, raw in (params or {}).items():
        p = act.param(key)
        fixed[p.symbol] = param_value(p, raw)
    check_constraints(act, fixed, {p.symbol: p.default for p in act.params if p.default is not None})
    return act, fixed


_AFORM_OUT_OF_TIME = "no a-form: the search ran out of its"


def _once(fn):
    """Remember each derivation for the life of the process (they are pure and cost seconds,
    the a-form being proved; tables, plots, steps and notebooks ask again for the same ones).
    Each caller gets its own copy of the mutable parts (``params``, ``kinks``)."""
    remembered_here: dict[tuple, Derivation] = {}

    @functools.wraps(fn)
    def remembered(name, params=None, *, defaults=False, convention="torch"):
        try:
            act = name if isinstance(name, Activation) else get(name)
            key = (act.name, act.expr, act.params, act.constraints, act.family,
                   tuple((fw, tuple(m.items())) for fw, m in act.conventions.items()),
                   tuple(sorted((str(k), str(v)) for k, v in (params or {}).items())), defaults, convention)
            hash(key)
        except (SymderivError, TypeError):  # unknown names fail in fn, with its message
            return fn(name, params, defaults=defaults, convention=convention)
        d = remembered_here.get(key)
        if d is None:
            text = sympy.srepr(key)  # the same in every process (symderiv.memo, when a cache is set)
            d = memo.load("derive", text)
            if d is memo.MISSING:
                d = fn(name, params, defaults=defaults, convention=convention)
                if out_of_time(d.aform_note):  # running out is no fact
                    return d
                memo.store("derive", text, d)
            remembered_here[key] = d
        return dataclasses.replace(d, params=dict(d.params),
                                   kinks=[dataclasses.replace(k, values=dict(k.values)) for k in d.kinks])

    remembered.cache_clear = remembered_here.clear
    return remembered


@_once
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
        defaults: fix every parameter not in ``params`` to the catalogue's default (the
            implicit parameters of a custom expression, see :func:`custom`, always are).
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
    if first.has(sympy.I) or second.has(sympy.I):  # a last guard: never print a complex derivative
        raise ParseError(f"{shorten(expr, 40)} is not real for real z (its derivative {shorten(first, 40)} "
                         "is complex)")
    kinks = calculus.kinks(expr, conventions, order_at)
    aform, note = aform_of(expr, fixed)
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


def out_of_time(note: str | None) -> bool:
    """Whether an a-form ``note`` says the search ran out of its time (a fact about the machine's
    load, not about the activation: never to be remembered)."""
    return (note or "").startswith(_AFORM_OUT_OF_TIME)


def aform_of(expr: Expr, fixed: Mapping, timeout: float | None = None) -> tuple[Expr | None, str | None]:
    """(g'(a), note) for g = ``expr`` with the parameters ``fixed`` (the others symbolic), when the
    a-form engine is available (see :mod:`symderiv.aform`); else (None, None)."""
    try:
        from . import aform as aform_module
    except ImportError:
        return None, None
    return aform_module.aform(expr, fixed, timeout)
