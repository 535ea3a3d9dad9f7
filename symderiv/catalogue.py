"""The catalogue: one record per activation, the single source of truth.

Every other part of symderiv (derivation, proofs, kernels, tables, the CLI and
the parametrized tests) reads this table and never lists activations itself.
Adding an activation means adding one :class:`Activation` record to
``_RECORDS`` below.

Definitions follow ``torch.nn.functional`` where PyTorch has the function and
``jax.nn`` otherwise, written in the real symbol ``z``. Parameters are SymPy
symbols carrying their assumptions, with exact defaults (``Rational``, never a
float). Where the formula changes, the definition is a ``Piecewise`` (or a
``Max``/``Min``/``Abs`` that the calculus rewrites into one).

Kink conventions are data too: for each framework, a map from breakpoint to
the value its autograd returns there, written as ``"left"``/``"right"`` (the
one-sided derivative from that side), ``"mid"`` (their mean) or an explicit
SymPy number. The default framework is ``torch``. Every entry was read from
the frameworks' sources (PyTorch 2.13 ATen backward kernels, JAX 0.10.2
``jax/_src/nn/functions.py`` and the max/min JVP that splits ties 1/2 : 1/2)
and confirmed by running their autograd (``tests/test_conventions.py``); the
evidence is in the README's "Kinks and conventions". Where PyTorch lacks an
activation (squareplus, sparse_plus, sparse_sigmoid) ``torch`` takes JAX's
value; where JAX lacks one (softshrink, hardshrink, threshold, and hardtanh
with other bounds than -1, 1) ``jax`` takes PyTorch's value, except hardtanh,
whose ``jax`` entry extends ``jax.nn.hard_tanh``'s rule (the identity branch
holds at both bounds) to any bounds.

>>> get("swish").name
'silu'
>>> get("prelu").params[0].name
'alpha'
>>> get("selu").param("scale").default == Rational("1.0507009873554804934193349852946")
True
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from sympy import (
    Abs,
    Expr,
    Max,
    Min,
    Piecewise,
    Rational,
    Symbol,
    erf,
    exp,
    log,
    pi,
    sqrt,
    tanh,
)

from .errors import BadParameterValue, UnknownActivation, UnknownParameter, closest

__all__ = ["FAMILIES", "Activation", "Param", "a", "all_activations", "by_name", "get", "names", "shorten", "z"]

#: The input variable: a real number.
z = Symbol("z", real=True)
#: The activation's output a = g(z), used by a-forms.
a = Symbol("a", real=True)

FAMILIES = ("smooth", "piecewise-linear", "exponential-linear", "gated", "other")


@dataclass(frozen=True)
class Param:
    """A parameter: its SymPy symbol (with assumptions), exact default and aliases.

    ``implicit``: the parameter of a catalogue call inside a custom expression (``beta`` in
    ``z*tanh(softplus(z))``), which takes its default unless a value is given.
    """

    name: str
    symbol: Symbol
    default: Expr
    description: str = ""
    aliases: tuple[str, ...] = ()
    implicit: bool = False

    def check(self, value: Expr) -> Expr:
        """Return ``value`` if it satisfies the symbol's assumptions, else raise.

        The sign is decided exactly (:func:`symderiv.ball.certify`), not by SymPy's quick
        assumptions: ``atan(10**999) - pi/2`` is negative, ``tanh(1000) - 1`` too, and 0 is
        not positive. A value whose sign cannot be decided is refused.
        """
        from .ball import Uncertain, Undefined, Unsupported, certify

        wanted = [n for n in ("positive", "nonnegative", "negative", "nonpositive", "nonzero")
                  if getattr(self.symbol, f"is_{n}")]
        shown = shorten(value)
        try:
            ball = certify(value)
        except Uncertain:
            raise BadParameterValue(f"parameter {self.name}: cannot decide the sign of {shown} "
                                    "(write the value more simply)") from None
        except (Undefined, Unsupported):
            raise BadParameterValue(f"parameter {self.name} must be a finite real number, got {shown}") from None
        sign = 0 if ball.is_zero() else (1 if ball > 0 else -1)
        holds = {"positive": sign > 0, "nonnegative": sign >= 0, "negative": sign < 0,
                 "nonpositive": sign <= 0, "nonzero": sign != 0}
        for assumption in wanted:
            if not holds[assumption]:
                approx = "" if value.is_Rational or "(about" in shown else f" (about {ball.str(3, radius=False)})"
                raise BadParameterValue(f"parameter {self.name} must be {assumption}, got {shown}{approx}")
        return value


def shorten(value: object, n: int = 60) -> str:
    """``value`` for a message: its text, or when that is long a 3-digit approximation."""
    text = str(value)
    if len(text) <= n:
        return text
    if isinstance(value, Expr) and value.is_number:
        from .ball import Uncertain, Undefined, Unsupported, certify

        try:
            return f"{text[:20]}... (about {certify(value).str(3, radius=False)})"
        except (Uncertain, Undefined, Unsupported):
            pass
    return text[: n - 3] + "..."


#: A constraint between parameters: the relation that must hold and how to say it.
Constraint = tuple[Expr, str]


@dataclass(frozen=True)
class Activation:
    """One activation function g(z) with everything known about it.

    Attributes:
        name: canonical name (``torch.nn.functional`` spelling where it exists).
        expr: the definition, a SymPy expression in :data:`z` and the parameters.
        params: parameters in signature order.
        family: one of :data:`FAMILIES`.
        aliases: other names that resolve to this record.
        description: one line.
        reference: where the definition comes from.
        conventions: ``{framework: {breakpoint: "left"|"right"|"mid"|value}}``.
        constraints: relations between parameters that every admissible set of values
            satisfies (hardtanh: ``min_val < max_val``), each with its reason; checked in
            one place, :func:`symderiv.derivation.check_constraints`.
    """

    name: str
    expr: Expr
    params: tuple[Param, ...] = ()
    family: str = "smooth"
    aliases: tuple[str, ...] = ()
    description: str = ""
    reference: str = ""
    conventions: Mapping[str, Mapping[Expr, object]] = field(
        default_factory=lambda: MappingProxyType({})
    )
    constraints: tuple[Constraint, ...] = ()

    @property
    def symbols(self) -> dict[str, Symbol]:
        """Names usable in expressions about this activation: z, a and the params."""
        out = {"z": z, "a": a}
        out.update((p.name, p.symbol) for p in self.params)
        return out

    def param(self, name: str) -> Param:
        """The parameter called ``name`` (or one of its aliases)."""
        for p in self.params:
            if name == p.name or name in p.aliases:
                return p
        valid = ", ".join(p.name for p in self.params) or "none"
        raise UnknownParameter(
            f"{self.name} has no parameter {name!r} (valid: {valid})"
            + closest(name, [p.name for p in self.params])
        )

    def defaults(self) -> dict[Symbol, Expr]:
        """``{symbol: default}`` for every parameter."""
        return {p.symbol: p.default for p in self.params}

    def __call__(self, arg: Expr) -> Expr:
        """The definition with ``z`` replaced by ``arg`` (parameters stay symbolic)."""
        return self.expr.subs(z, arg)

    def __reduce__(self):
        # pickled (symderiv.memo) with the read-only views of the conventions as plain dicts
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        fields["conventions"] = {fw: dict(m) for fw, m in self.conventions.items()}
        return _unpickle_activation, (fields,)


def _unpickle_activation(fields: dict) -> Activation:
    fields["conventions"] = MappingProxyType({fw: MappingProxyType(m) for fw, m in fields["conventions"].items()})
    return Activation(**fields)


def _p(name: str, default: object, assumption: str = "positive", description: str = "", aliases=()) -> Param:
    sym = Symbol(name, **{assumption: True})
    return Param(name, sym, Rational(str(default)) if not isinstance(default, Expr) else default,
                 description, tuple(aliases))


# Parameters (names follow PyTorch; exact defaults).
_ALPHA_LEAKY = _p("alpha", "0.01", description="slope for z < 0", aliases=("negative_slope", "weight"))
_ALPHA = _p("alpha", 1, description="scale of the negative saturation")
_SELU_ALPHA = _p("alpha", "1.6732632423543772848170429916717", description="SELU's alpha")
_SELU_SCALE = _p("scale", "1.0507009873554804934193349852946", description="SELU's scale (lambda)")
_BETA = _p("beta", 1, description="sharpness")
_MIN_VAL = _p("min_val", -1, "real", "lower clip value")
_MAX_VAL = _p("max_val", 1, "real", "upper clip value")
_LAMBD = _p("lambd", "0.5", description="half-width of the zero band")
_THRESHOLD = _p("threshold", 0, "real", "the threshold")
_VALUE = _p("value", 0, "real", "value below the threshold")
_B = _p("b", 4, description="smoothness near zero")

_alpha, _beta, _lambd, _b = _ALPHA.symbol, _BETA.symbol, _LAMBD.symbol, _B.symbol
_half = Rational(1, 2)

TORCH = "https://pytorch.org/docs/stable/nn.functional.html"
JAX = "https://jax.readthedocs.io/en/latest/jax.nn.html"


def _conv(**per_framework: Mapping[object, object]) -> Mapping[str, Mapping[Expr, object]]:
    return MappingProxyType(
        {fw: MappingProxyType({Rational(k) if isinstance(k, int) else k: v for k, v in m.items()})
         for fw, m in per_framework.items()}
    )


_RECORDS: tuple[Activation, ...] = (
    # ---- smooth, saturating -------------------------------------------------
    Activation("sigmoid", 1 / (1 + exp(-z)), aliases=("logistic",),
               description="logistic function, range (0, 1)", reference=f"{TORCH}#sigmoid"),
    Activation("tanh", tanh(z), description="hyperbolic tangent, range (-1, 1)",
               reference=f"{TORCH}#tanh"),
    Activation("softsign", z / (1 + Abs(z)), aliases=("soft_sign",),
               description="z / (1 + |z|), range (-1, 1)", reference=f"{TORCH}#softsign",
               conventions=_conv(torch={0: "left"}, jax={0: "left"})),
    Activation("log_sigmoid", -log(1 + exp(-z)), aliases=("logsigmoid",),
               description="log of the sigmoid, range (-oo, 0)", reference=f"{TORCH}#logsigmoid"),
    Activation("softplus", log(1 + exp(_beta * z)) / _beta, params=(_BETA,),
               description="smooth ReLU, log(1 + e^(beta z)) / beta",
               reference=f"{TORCH}#softplus (the threshold=20 linear switch is numerical only)"),
    Activation("squareplus", (z + sqrt(z**2 + _b)) / 2, params=(_B,),
               description="algebraic smooth ReLU, (z + sqrt(z^2 + b)) / 2",
               reference=f"{JAX}#jax.nn.squareplus"),
    Activation("tanhshrink", z - tanh(z), description="z - tanh(z)", reference=f"{TORCH}#tanhshrink"),
    Activation("identity", z, aliases=("linear",), description="g(z) = z",
               reference=f"{JAX}#jax.nn.identity"),
    # ---- gated ----------------------------------------------------------------
    Activation("gelu", z * (1 + erf(z / sqrt(2))) / 2, family="gated",
               description="z * Phi(z) with the exact normal CDF",
               reference=f"{TORCH}#gelu (approximate='none')"),
    Activation("gelu_tanh",
               z * (1 + tanh(sqrt(2 / pi) * (z + Rational("0.044715") * z**3))) / 2,
               family="gated", aliases=("gelu_approx",),
               description="GELU with the tanh approximation of Phi",
               reference=f"{TORCH}#gelu (approximate='tanh')"),
    Activation("silu", z / (1 + exp(-z)), family="gated", aliases=("swish",),
               description="z * sigmoid(z)", reference=f"{TORCH}#silu"),
    Activation("mish", z * tanh(log(1 + exp(z))), family="gated",
               description="z * tanh(softplus(z))", reference=f"{TORCH}#mish"),
    # ---- piecewise linear -----------------------------------------------------
    Activation("relu", Max(0, z), family="piecewise-linear",
               description="max(0, z)", reference=f"{TORCH}#relu",
               conventions=_conv(torch={0: "left"}, jax={0: "left"})),
    Activation("leaky_relu", Piecewise((z, z >= 0), (_ALPHA_LEAKY.symbol * z, True)),
               params=(_ALPHA_LEAKY,), family="piecewise-linear", aliases=("prelu",),
               description="z for z >= 0, alpha z otherwise", reference=f"{TORCH}#leaky_relu",
               conventions=_conv(torch={0: "left"}, jax={0: "right"})),
    Activation("relu6", Min(Max(0, z), 6), family="piecewise-linear",
               description="min(max(0, z), 6)", reference=f"{TORCH}#relu6",
               conventions=_conv(torch={0: "left", 6: "right"}, jax={0: "left", 6: "right"})),
    Activation("hardtanh",
               Piecewise((_MIN_VAL.symbol, z < _MIN_VAL.symbol), (_MAX_VAL.symbol, z > _MAX_VAL.symbol),
                         (z, True)),
               params=(_MIN_VAL, _MAX_VAL), family="piecewise-linear", aliases=("hard_tanh",),
               description="z clipped to [min_val, max_val]", reference=f"{TORCH}#hardtanh",
               conventions=_conv(torch={_MIN_VAL.symbol: "left", _MAX_VAL.symbol: "right"},
                                 jax={_MIN_VAL.symbol: "right", _MAX_VAL.symbol: "left"}),
               constraints=((_MIN_VAL.symbol < _MAX_VAL.symbol,
                             "torch.nn.Hardtanh refuses max_val <= min_val"),)),
    Activation("hardsigmoid", Piecewise((0, z <= -3), (1, z >= 3), (z / 6 + _half, True)),
               family="piecewise-linear", aliases=("hard_sigmoid",),
               description="piecewise-linear sigmoid, z/6 + 1/2 clipped to [0, 1]",
               reference=f"{TORCH}#hardsigmoid",
               conventions=_conv(torch={-3: "left", 3: "right"}, jax={-3: "left", 3: "right"})),
    Activation("sparse_sigmoid", Piecewise((0, z <= -1), (1, z >= 1), ((z + 1) / 2, True)),
               family="piecewise-linear",
               description="(z + 1)/2 clipped to [0, 1]", reference=f"{JAX}#jax.nn.sparse_sigmoid",
               conventions=_conv(torch={-1: "mid", 1: "mid"}, jax={-1: "mid", 1: "mid"})),
    Activation("softshrink",
               Piecewise((z - _lambd, z > _lambd), (z + _lambd, z < -_lambd), (0, True)),
               params=(_LAMBD,), family="piecewise-linear", aliases=("soft_shrink",),
               description="shrink towards 0 by lambd", reference=f"{TORCH}#softshrink",
               conventions=_conv(torch={-_lambd: "right", _lambd: "left"},
                                 jax={-_lambd: "right", _lambd: "left"})),
    Activation("hardshrink", Piecewise((z, z > _lambd), (z, z < -_lambd), (0, True)),
               params=(_LAMBD,), family="piecewise-linear", aliases=("hard_shrink",),
               description="z where |z| > lambd, else 0 (discontinuous)",
               reference=f"{TORCH}#hardshrink",
               conventions=_conv(torch={-_lambd: "right", _lambd: "left"},
                                 jax={-_lambd: "right", _lambd: "left"})),
    Activation("threshold", Piecewise((z, z > _THRESHOLD.symbol), (_VALUE.symbol, True)),
               params=(_THRESHOLD, _VALUE), family="piecewise-linear",
               description="z above the threshold, value at or below it",
               reference=f"{TORCH}#threshold",
               conventions=_conv(torch={_THRESHOLD.symbol: "left"}, jax={_THRESHOLD.symbol: "left"})),
    # ---- piecewise smooth -----------------------------------------------------
    Activation("hardswish", Piecewise((0, z <= -3), (z, z >= 3), (z * (z + 3) / 6, True)),
               family="gated", aliases=("hard_swish", "hard_silu", "hardsilu"),
               description="z * hardsigmoid(z)", reference=f"{TORCH}#hardswish",
               # PyTorch 2.13 hardswish_backward: x <= -3 -> 0, x < 3 -> x/3 + 1/2, else 1
               # (older kernels used x < -3 / x <= 3, i.e. right/left; run it to see 0 and 1)
               conventions=_conv(torch={-3: "left", 3: "right"}, jax={-3: "left", 3: "right"})),
    Activation("sparse_plus", Piecewise((0, z <= -1), (z, z >= 1), ((z + 1) ** 2 / 4, True)),
               family="other", description="C^1 piecewise-quadratic smooth ReLU",
               reference=f"{JAX}#jax.nn.sparse_plus",
               conventions=_conv(torch={-1: "left", 1: "right"}, jax={-1: "left", 1: "right"})),
    # ---- exponential linear ---------------------------------------------------
    Activation("elu", Piecewise((z, z > 0), (_alpha * (exp(z) - 1), True)), params=(_ALPHA,),
               family="exponential-linear", description="exponential linear unit",
               reference=f"{TORCH}#elu",
               conventions=_conv(torch={0: "left"}, jax={0: "left"})),
    Activation("selu",
               _SELU_SCALE.symbol
               * Piecewise((z, z > 0), (_SELU_ALPHA.symbol * (exp(z) - 1), True)),
               params=(_SELU_ALPHA, _SELU_SCALE), family="exponential-linear",
               description="self-normalizing ELU, scale * elu(z, alpha)", reference=f"{TORCH}#selu",
               conventions=_conv(torch={0: "left"}, jax={0: "left"})),
    Activation("celu", Piecewise((z, z > 0), (_alpha * (exp(z / _alpha) - 1), True)),
               params=(_ALPHA,), family="exponential-linear",
               description="continuously differentiable ELU", reference=f"{TORCH}#celu",
               conventions=_conv(torch={0: "left"}, jax={0: "left"})),
)

_BY_NAME: dict[str, Activation] = {}
for _rec in _RECORDS:
    for _key in (_rec.name, *_rec.aliases):
        if _key in _BY_NAME:  # pragma: no cover - a catalogue bug
            raise RuntimeError(f"duplicate catalogue name {_key!r}")
        _BY_NAME[_key] = _rec


def by_name() -> dict[str, Activation]:
    """Every name and alias of the catalogue -> its record (a new dict).

    >>> by_name()["swish"].name
    'silu'
    """
    return dict(_BY_NAME)


def _normalize(name: str) -> str:
    return name.strip().lower().replace("-", "_")


def names() -> list[str]:
    """Canonical names in catalogue order.

    >>> names()[:4]
    ['sigmoid', 'tanh', 'softsign', 'log_sigmoid']
    """
    return [r.name for r in _RECORDS]


def all_activations() -> tuple[Activation, ...]:
    """Every record, in catalogue order."""
    return _RECORDS


def get(name: str) -> Activation:
    """The record for a canonical name or alias (case-insensitive, ``-`` = ``_``).

    >>> get("Hard-Tanh").name
    'hardtanh'
    >>> get("sigmod")
    Traceback (most recent call last):
    ...
    symderiv.errors.UnknownActivation: unknown activation 'sigmod'; did you mean 'sigmoid' or ...?
    """
    if not isinstance(name, str):
        raise UnknownActivation(f"activation name must be a string, got {type(name).__name__}")
    key = _normalize(name)
    if key in _BY_NAME:
        return _BY_NAME[key]
    shown = name if len(name) <= 40 else name[:40] + "..."
    raise UnknownActivation(f"unknown activation {shown!r}" + (closest(key, _BY_NAME) or
                            "; run 'symderiv list' for the catalogue"))
