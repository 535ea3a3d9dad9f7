"""How accurate the generated kernels are: worst ULP error against mpmath, beside PyTorch's and JAX's.

The reference is independent of the kernels: the textbook formulas of
:func:`symderiv.derivation.derive` (default parameters) evaluated by mpmath at
>= 50 significant digits, with the precision doubled until two evaluations
agree (so ``1 - tanh(z)**2`` at z = 300 is computed with enough digits to
survive its cancellation). At a breakpoint the reference is the value of the
default (PyTorch) convention.

Errors are in units in the last place (ULP) of the exact value; where that is
subnormal, an absolute error up to the smallest normal number counts as
exact. Each worst error is reported with the condition number
``|z f'(z) / f(z)|`` of the function f that kernel computes, at that point,
and with the bound the issue sets: 8 ULP (16 for ``grad2``) + 4 x cond, and
4 ULP for sigmoid, tanh, relu and leaky_relu (value and grad).

>>> with mpmath.workdps(50):  # the double nearest 0.1 is 0.4 ULP from 1/10
...     ulp_error(0.1, mpmath.mpf(1) / 10)
0.4
>>> with mpmath.workdps(50):  # 0.1 + 0.2 in doubles lands 0.8 ULP above 3/10
...     ulp_error(0.1 + 0.2, mpmath.mpf(3) / 10)
0.8
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass

import mpmath
import numpy as np
import sympy

from . import calculus, memo
from .catalogue import Activation, a, all_activations, get, z
from .mpeval import stable_eval

__all__ = [
    "KINDS",
    "STRICT",
    "Result",
    "allowed",
    "custom_key",
    "float32_grid",
    "grid",
    "measure",
    "measured_name",
    "reference",
    "references",
    "rows_for",
    "run",
    "ulp_error",
]

#: Kernel kinds measured, by suffix of the generated function.
KINDS = ("value", "grad", "grad2")
#: Activations held to 4 ULP (value and grad) whatever their condition number.
STRICT = ("sigmoid", "tanh", "relu", "leaky_relu")
_TINY = 2.2250738585072014e-308
_SUBNORMAL_ULP = mpmath.mpf(2) ** -1074


def grid(size: str = "full") -> np.ndarray:
    """Test points: [-745, 745] with extra density near 0 and in the tails, +-1e300 up to the largest
    float, subnormals, +-0.

    ``size`` is ``"full"`` (the accuracy command, ~3000 points) or ``"test"`` (~400, the test suite).
    The breakpoints of every catalogue entry (default parameters) and their float neighbours are in.
    """
    n = {"full": 10, "test": 80}[size]
    parts = [
        np.linspace(-745, 745, 6001 // n),
        np.linspace(-40, 40, 4001 // n),
        np.linspace(-2, 2, 2001 // n),
        np.logspace(-323, np.log10(745), 1500 // n),
        np.logspace(1, np.log10(745), 400 // n),  # tails: where the lesson's and the frameworks' lose
        np.array([1e300, 1e308, np.finfo(np.float64).max, 5e-324, 1e-310, _TINY, 0.0, 1e-8, 1e-4, 0.6, 0.6000000000000001,
                  0.5999999999999999, 36.7, 709.78, 710.5, 744.4]),
    ]
    pos = np.concatenate(parts)
    pts = np.concatenate([pos, -pos])
    bps = []
    for act in all_activations():
        for b in calculus.breakpoints(act.expr, act.defaults()):
            v = float(b.subs(act.defaults()))
            bps += [v, np.nextafter(v, -np.inf), np.nextafter(v, np.inf), v - 1e-9, v + 1e-9]
    rng = np.random.default_rng(5)
    jitter = rng.normal(0, 5, 2000 // n)
    return np.unique(np.concatenate([pts, np.array(bps), jitter]))


#: Where float64 rounding gives inf: the largest float plus half its ULP.
_OVERFLOW = mpmath.mpf(2) ** 1024 - mpmath.mpf(2) ** 970
#: Per float type measured in: (bits after the point, smallest normal, smallest subnormal,
#: where rounding gives inf).
_FORMATS = {
    "float64": (52, _TINY, _SUBNORMAL_ULP, _OVERFLOW),
    "float32": (23, 2.0**-126, mpmath.mpf(2) ** -149, mpmath.mpf(2) ** 128 - mpmath.mpf(2) ** 103),
}


def float32_grid(size: str = "full") -> np.ndarray:
    """:func:`grid` for float32 kernels: its points rounded to float32 (beyond float32's range they
    become +-inf), and the float32 points that matter there: the largest, smallest normal and
    subnormal floats, where exp over- and underflows, every breakpoint's float32 neighbours."""
    f = np.float32
    extra = [np.finfo(f).max, np.finfo(f).tiny, f(1e-45), f(1e-40), f(88.72), f(88.73), f(103.9), f(104.0),
             f(3e38), f(1e30), f(1e20), f(1e19), f(1e10)]
    bps = []
    for act in all_activations():
        for b in calculus.breakpoints(act.expr, act.defaults()):
            v = f(float(b.subs(act.defaults())))
            bps += [v, np.nextafter(v, f(-np.inf)), np.nextafter(v, f(np.inf))]
    pos = np.abs(np.array(extra, dtype=f))
    with np.errstate(over="ignore"):
        pts = np.concatenate([grid(size).astype(f), pos, -pos, np.array(bps, dtype=f)])
    return np.unique(pts)


def ulp_error(got: float, want: mpmath.mpf, dtype: str = "float64") -> float:
    """|got - want| in ULP of ``want`` (NaN and infinities must match exactly, else inf), the ULP
    of ``dtype`` (``"float64"`` or ``"float32"``: a float32 kernel's result against the same
    exact value)."""
    bits, tiny, subnormal_ulp, overflow = _FORMATS[dtype]
    got = float(got)
    if mpmath.isnan(want):
        return 0.0 if math.isnan(got) else math.inf
    if mpmath.isinf(want):
        return 0.0 if got == float(want) else math.inf
    if math.isinf(got):
        # the float nearest to a value beyond the largest float (by half an ULP and more) is inf
        return 0.0 if abs(want) >= overflow and (got > 0) == (want > 0) else math.inf
    if math.isnan(got):
        return math.inf
    diff = abs(mpmath.mpf(got) - want)
    if abs(want) < tiny:
        return 0.0 if diff <= tiny else float(diff / subnormal_ulp)
    exponent = int(mpmath.floor(mpmath.log(abs(want), 2)))
    # guard log2 rounding at exact powers of two
    if mpmath.mpf(2) ** exponent > abs(want):
        exponent -= 1
    elif mpmath.mpf(2) ** (exponent + 1) <= abs(want):
        exponent += 1
    return float(diff / mpmath.mpf(2) ** (exponent - bits))


def _mp(expr: sympy.Expr, var: sympy.Symbol = z):
    # erf(x) = erfc(-x) - 1 (kept unevaluated): mpmath's erfc has full relative precision in the tail,
    # where 1 + erf(x) would need ~x^2/2.3 digits to survive its cancellation
    expr = expr.replace(sympy.erf, lambda x: sympy.erfc(-x, evaluate=False) - 1)
    return sympy.lambdify(var, expr, modules=[{"erfc": _erfc}, "mpmath"])


def _erfc(x):
    """mpmath's erfc, which overflows internally beyond ~1e15: there e^(-x^2)/(x sqrt(pi)) is exact
    to a relative 1/(2x^2) (and underflows any float anyway)."""
    if abs(x) < 1e8:
        return mpmath.erfc(x)
    if x < 0:
        return mpmath.mpf(2)
    return mpmath.exp(-x * x) / (x * mpmath.sqrt(mpmath.pi))


#: Custom activations being measured (:func:`custom_key`), by key.
_CUSTOM: dict[str, Activation] = {}


def custom_key(act: Activation) -> str:
    """A name under which this module's functions measure the custom activation ``act`` (not in
    the catalogue): ``NAME=EXPR``, so two definitions under one name are two references."""
    key = f"{act.name}={act.expr}"
    _CUSTOM[key] = act
    return key


def measured_name(key: str) -> str:
    """The activation's own name for a key (a catalogue name or alias, or a :func:`custom_key`):
    the prefix of its kernels' names."""
    return _act(key).name


def _act(name: str) -> Activation:
    return _CUSTOM[name] if name in _CUSTOM else get(name)


def _key(name: str) -> str:
    """The canonical key: a custom key as it is, a catalogue alias as its entry's name."""
    return name if name in _CUSTOM else get(name).name


@dataclass(frozen=True)
class _Reference:
    funcs: tuple  # f, f' (mpmath callables) for the cond number
    quadratic: bool  # erf in the formula: cancellations as deep as z^2/4 digits
    points: tuple  # ((breakpoint float, value mpf), ...)


@functools.cache
def _reference_parts(name: str, kind: str) -> _Reference:
    from .derivation import derive

    act = _act(name)
    d = derive(act, defaults=True)
    fixed = act.defaults()
    order = KINDS.index(kind)
    exprs = [d.definition, d.derivative, d.second_derivative,
             calculus.derivative(act.expr.subs(fixed), 3, fixed)]
    f, fprime = exprs[order], exprs[order + 1]
    points = []
    pieces = calculus.pieces(act.expr.subs(fixed), fixed)
    conv = {sympy.sympify(k).subs(fixed): v for k, v in act.conventions.get("torch", {}).items()}
    for j, kink in enumerate(d.kinks):
        b = kink.z
        if order == 0:
            value = d.definition.subs(z, b)
        elif order == 1:
            value = kink.values["torch"]
        else:
            left = calculus.one_sided_limit(sympy.diff(pieces[j].expr, z, 2), b, "-")
            right = calculus.one_sided_limit(sympy.diff(pieces[j + 1].expr, z, 2), b, "+")
            rule = next((v for k, v in conv.items() if sympy.simplify(k - b) == 0), "mid")
            value = {"left": left, "right": right}.get(rule, (left + right) / 2)
        points.append((float(b), sympy.Float(value, 60)))
    return _Reference((_mp(f), _mp(fprime)), False, tuple(points))


@functools.lru_cache(maxsize=1 << 16)
def reference(name: str, kind: str, x: float) -> mpmath.mpf:
    """The exact value (to >= 50 digits) of kernel ``kind`` of ``name`` at the float ``x``
    (remembered: the NumPy kernels and the drop-ins are measured on the same points)."""
    ref = _reference_parts(name, kind)
    if math.isnan(x):
        return mpmath.nan
    for b, v in ref.points:
        if x == b:
            return mpmath.mpf(str(v))
    if math.isinf(x):
        act = _act(name)
        order = KINDS.index(kind)
        expr = act.expr.subs(act.defaults())
        piece = calculus.pieces(expr, act.defaults())[-1 if x > 0 else 0].expr
        lim = sympy.limit(sympy.diff(piece, z, order), z, sympy.oo if x > 0 else -sympy.oo)
        return mpmath.mpf(float(lim)) if lim.is_finite else (mpmath.inf if lim == sympy.oo else -mpmath.inf)
    return stable_eval(ref.funcs[0], x, ref.quadratic)


def references(name: str, kind: str, points) -> list[mpmath.mpf]:
    """:func:`reference` at each of ``points``, shared with other processes through
    :mod:`symderiv.memo` when a cache directory is set (the test suite's workers, the
    ``accuracy`` command and the notebooks measure the same grids)."""
    text = f"{name}|{kind}|{sympy.srepr(_act(name).expr)}"
    known = memo.load("references", text)
    known = {} if known is memo.MISSING else known
    new = {}
    out = []
    for x in map(float, points):
        if math.isnan(x):
            out.append(mpmath.nan)
            continue
        v = known.get(x)
        if v is None:
            v = new[x] = reference(name, kind, x)
        out.append(v)
    if new:
        again = memo.load("references", text)  # another process may have added its own meanwhile
        memo.store("references", text, {**({} if again is memo.MISSING else again), **known, **new})
    return out


def condition(name: str, kind: str, x: float, value: mpmath.mpf | None = None) -> float:
    """|x f'(x) / f(x)| for the function f that kernel ``kind`` computes."""
    if not math.isfinite(x):
        return 0.0
    ref = _reference_parts(name, kind)
    f = value if value is not None else reference(name, kind, x)
    if any(x == b for b, _ in ref.points):
        return 0.0
    fp = stable_eval(ref.funcs[1], x, ref.quadratic)
    num = abs(mpmath.mpf(x) * fp)
    if num == 0:
        return 0.0
    if f == 0 or mpmath.isnan(f):
        return math.inf
    return float(num / abs(f))


def allowed(name: str, kind: str, cond: float) -> float:
    """The bound on the error at a point with condition number ``cond``."""
    if name in STRICT and kind in ("value", "grad"):
        return 4.0
    return (16.0 if kind == "grad2" else 8.0) + 4.0 * cond


@dataclass
class Result:
    """Worst error of one kernel on a grid (and the peers' worst on the same points)."""

    kernel: str
    worst_ulp: float
    at: float
    cond: float
    allowed: float
    over_bound: int  # points where the error exceeds the bound
    torch_ulp: float | None = None
    torch_at: float | None = None
    jax_ulp: float | None = None
    jax_at: float | None = None
    variable: str = "z"  # what ``at`` is: the input z, or the output a (``_grad_from_output``)

    def as_json(self) -> dict:
        """The fields; ``at`` is null when the kernel is exact everywhere (worst 0 ULP)."""
        out = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(self).items()}
        if self.worst_ulp == 0:
            out["at"] = None
        return out


def _kernel(name: str, kind: str, module=None):
    if module is None:
        from symderiv import kernels as module

    suffix = {"value": "", "grad": "_grad", "grad2": "_grad2"}[kind]
    return getattr(module, name + suffix)


def measure(name: str, kinds: Sequence[str] = KINDS, points: np.ndarray | None = None,
            peers: bool = True, using: str = "numpy", module=None, dtype: str = "float64") -> list[Result]:
    """Measure each kernel of ``name`` on ``points`` (default: :func:`grid`).

    ``dtype="float32"`` measures the kernels on float32 input (default points:
    :func:`float32_grid`), their float32 results in float32 ULP, against the same exact values
    and bounds (no peers).

    ``using`` picks whose: ``"numpy"`` (:mod:`symderiv.kernels`, or the kernels package
    ``module``: ``name`` is then a :func:`custom_key`), or the drop-ins
    ``"torch"`` / ``"jax"`` (:mod:`symderiv.kernels.torch`, :mod:`symderiv.kernels.jax`, float64,
    PyTorch's kink convention, derivatives by the framework's autograd through their rules).
    """
    act, key = _act(name), _key(name)
    if dtype == "float32":
        pts = float32_grid() if points is None else np.asarray(points, dtype=np.float32)
        peers = False
    else:
        pts = grid() if points is None else np.asarray(points, dtype=float)
    out = []
    for kind in kinds:
        got = (_kernel(act.name, kind, module)(pts) if using == "numpy"
               else dropin_values(using, act, kind, pts))
        refs = references(key, kind, pts)
        errs = np.array([ulp_error(g, r, dtype) for g, r in zip(got, refs, strict=True)])
        # the bound at every point: only computed where the error is not already tiny
        over = 0
        for i in np.nonzero(errs > 4)[0]:
            c = condition(key, kind, float(pts[i]), refs[i])
            if errs[i] > allowed(key, kind, c):
                over += 1
        i = int(np.argmax(errs))
        c = condition(key, kind, float(pts[i]), refs[i])
        res = Result(f"{act.name}{'' if kind == 'value' else '_' + kind}", float(errs[i]), float(pts[i]),
                     c, allowed(key, kind, c), over)
        if peers:
            for peer in ("torch", "jax"):
                try:
                    vals = peer_values(peer, act, kind, pts)
                except Exception:  # e.g. torch has no double backward for hardsigmoid
                    vals = None
                if vals is not None:
                    perr = np.array([ulp_error(g, r) for g, r in zip(vals, refs, strict=True)])
                    j = int(np.argmax(perr))
                    setattr(res, f"{peer}_ulp", float(perr[j]))
                    setattr(res, f"{peer}_at", float(pts[j]))
        out.append(res)
    return out


def aform_errors(name: str, points: np.ndarray | None = None, module=None,
                 dtype: str = "float64") -> Result | None:
    """Worst error of ``NAME_grad_from_output(a)`` against the exact a-form at the same float a and
    the catalogue's exact defaults (SELU's alpha*scale is no float; the kernels of ``module``, as
    in :func:`measure`; ``dtype="float32"``: on float32 a, in float32 ULP). The bound is 4 ULP."""
    if module is None:
        from symderiv import kernels as module

    act = _act(name)
    fn = getattr(module, f"{act.name}_grad_from_output", None)
    if fn is None:
        return None
    from .derivation import derive

    form = derive(act, defaults=True).aform
    if form is None:
        return None
    if points is None:
        points = float32_grid("test") if dtype == "float32" else grid("test")
    pts = np.asarray(points, dtype=dtype)
    avals = np.unique(_kernel(act.name, "value", module)(pts))
    avals = avals[np.isfinite(avals)]
    f = _mp(form, a)
    refs = [stable_eval(f, float(x)) for x in avals]
    # the a-form is a formula over open intervals: where it has no value (a at a kink's image), the
    # kernel follows the convention, measured by the grad tests instead
    keep = [i for i, r in enumerate(refs) if not mpmath.isnan(r)]
    avals, refs = avals[keep], [refs[i] for i in keep]
    got = fn(avals)
    errs = np.array([ulp_error(g, r, dtype) for g, r in zip(got, refs, strict=True)])
    # 4 ULP, whatever the condition number (reported, in a): the a-form is a formula in a and the
    # parameters, and a kernel given a and the parameters can compute it to 4 ULP even where it
    # cancels (selu's a + alpha*scale next to a = -alpha*scale: the product in two terms)
    fprime = _mp(sympy.diff(form, a), a)
    i = int(np.argmax(errs))
    c = 0.0 if refs[i] == 0 or errs[i] == 0 else float(abs(mpmath.mpf(float(avals[i])) * stable_eval(
        fprime, float(avals[i])) / refs[i]))
    return Result(f"{act.name}_grad_from_output", float(errs[i]), float(avals[i]), c, 4.0, int((errs > 4).sum()),
                  variable="a")


# ---------------------------------------------------------------------------- peers


def _candidates(act: Activation, aliases: bool = True) -> list[str]:
    names = [act.name, *(act.aliases if aliases else ())]
    return [n for x in names for n in (x, x.replace("_", ""))]


def _torch_fn(act: Activation):
    try:
        import torch
        import torch.nn.functional as F
    except ImportError:
        return None
    special = {
        "gelu_tanh": lambda x: F.gelu(x, approximate="tanh"),
        "tanh": torch.tanh,
        "threshold": lambda x: F.threshold(x, float(act.defaults().get(act.param("threshold").symbol)),
                                           float(act.defaults().get(act.param("value").symbol))),
    }
    if act.name in special:
        return special[act.name]
    for c in _candidates(act, aliases=False):  # torch's 'linear', 'prelu' are other functions
        if hasattr(F, c):
            return getattr(F, c)
    return None


def _jax_fn(act: Activation):
    try:
        import jax

        jax.config.update("jax_enable_x64", True)
        import jax.nn as jnn
        import jax.numpy as jnp
    except ImportError:
        return None
    special = {
        "gelu": lambda x: jnn.gelu(x, approximate=False),
        "gelu_tanh": lambda x: jnn.gelu(x, approximate=True),
        "tanh": jnp.tanh,
    }
    if act.name in special:
        return special[act.name]
    for c in _candidates(act):
        if hasattr(jnn, c):
            return getattr(jnn, c)
    return None


def dropin_values(framework: str, act: Activation, kind: str, pts: np.ndarray,
                  convention: str = "torch") -> np.ndarray:
    """symderiv's PyTorch or JAX drop-in for ``act`` (value, or derivative by the framework's
    autograd through the drop-in's rules) at ``pts``, in float64."""
    import importlib

    module = importlib.import_module(f"symderiv.kernels.{framework}")
    fn = functools.partial(getattr(module, act.name), convention=convention)
    if framework == "jax":
        import jax

        jax.config.update("jax_enable_x64", True)
    return _autograd_values(framework, fn, kind, pts)


def _autograd_values(framework: str, fn, kind: str, pts: np.ndarray) -> np.ndarray:
    order = KINDS.index(kind)
    if framework == "torch":
        import torch

        x = torch.tensor(pts, dtype=torch.float64, requires_grad=True)
        y = fn(x)
        for _ in range(order):
            (y,) = torch.autograd.grad(y.sum(), x, create_graph=True, allow_unused=False)
        return y.detach().numpy().copy()
    import jax
    import jax.numpy as jnp

    f = fn
    for _ in range(order):
        f = jax.grad(f)
    return np.asarray(jax.vmap(f)(jnp.asarray(pts, dtype=jnp.float64)))


def peer_values(peer: str, act: Activation, kind: str, pts: np.ndarray) -> np.ndarray | None:
    """PyTorch's or JAX's value / autograd derivative (float64) at ``pts``; None if unavailable."""
    fn = _torch_fn(act) if peer == "torch" else _jax_fn(act)
    if fn is None:
        return None
    return _autograd_values(peer, fn, kind, pts)


def rows_for(name: str, pts: np.ndarray, peers: bool = True, module=None) -> list[dict]:
    """Every kernel of one activation on ``pts``, as JSON-ready dicts (see :func:`run`); with
    ``module`` (a kernels package), ``name`` is a :func:`custom_key` and no peer runs."""
    rows = [r.as_json() for r in measure(name, points=pts, peers=peers and module is None, module=module)]
    af = aform_errors(name, pts, module)
    if af is not None:
        rows.append(af.as_json())
    return rows


def run(names: Iterable[str] | None = None, size: str = "full", peers: bool = True, module=None) -> list[dict]:
    """Every kernel of the named activations (default: all), as JSON-ready dicts; with ``module``
    (a kernels package), ``names`` are :func:`custom_key` s of its activations and no peer runs."""
    keys = [act.name for act in all_activations()] if names is None else list(names)
    pts = grid(size)
    return [row for key in keys for row in rows_for(key, pts, peers, module)]
