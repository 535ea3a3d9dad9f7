"""float32 bodies: which kernels compute float32 input in float32, decided at generation time.

Every chunk function is also lowered for float32 (:func:`symderiv.codegen.lower.lower` with
``dtype="float32"``: float32 scratch, int32 views, the printed literals rounded to float32 by
NumPy). That body is kept, and the runtime's ``apply`` runs float32 input through it, only where
it meets the kernel's accuracy bound in float32 ULP against mpmath (:mod:`symderiv.accuracy`,
the same bounds as float64: 4 ULP for the lesson's four, 8 + 4 x cond, 16 + 4 x cond for g'');
elsewhere float32 input keeps being widened to float64 and rounded once.

The measurement is on :func:`symderiv.accuracy.float32_grid` at the default parameters. The
float64 kernel, within its float64 bound (which the tests prove), is far inside any float32 ULP:
a float32 result within half its bound of the float64 result is within the bound (half, as the
ULP of the float64 result may be half the exact value's at a power of two), and only the other
points are evaluated by mpmath, the worst first (a miss ends the measurement). So generating
stays about as fast, and every point that could break the bound is measured exactly.
"""

from __future__ import annotations

import functools
import textwrap
import types
from collections.abc import Mapping, Sequence

import numpy

from .. import accuracy
from ..catalogue import Activation, get, names

__all__ = ["decide", "docstring"]

#: What each chunk function computes, by suffix: the accuracy kinds of its outputs.
KINDS = {"": ("value",), "_grad": ("grad",), "_grad2": ("grad2",), "_value_and_grad": ("value", "grad"),
         "_grad_from_output": ("aform",)}
#: Points per mpmath batch (the worst first: a kernel over its bound is refused after one batch).
_BATCH = 24


@functools.cache
def _points() -> numpy.ndarray:
    return accuracy.float32_grid("full")


def _key(act: Activation) -> str:
    """The name :mod:`symderiv.accuracy` measures ``act`` under (a custom key off the catalogue)."""
    if act.name in names() and get(act.name).expr == act.expr:
        return act.name
    return accuracy.custom_key(act)


def _apart(got: numpy.ndarray, want: numpy.ndarray) -> numpy.ndarray:
    """|got - want| in float32 ULP of ``want`` (float64), 0 where ``got`` is ``want`` rounded to
    float32 or both are NaN, inf for any other non-finite mismatch; a subnormal difference up to
    the smallest normal float32 counts as 0, as :func:`accuracy.ulp_error` counts it."""
    with numpy.errstate(all="ignore"):
        same = (got == want.astype(numpy.float32)) | (numpy.isnan(got) & numpy.isnan(want))
        _, e = numpy.frexp(want)
        ulp = numpy.maximum(numpy.ldexp(1.0, e - 24), 2.0**-149)
        diff = numpy.abs(got.astype(numpy.float64) - want)
        d = diff / ulp
        tiny = 2.0**-126
        d[(numpy.abs(want) < tiny) & (diff <= tiny)] = 0.0
        d[~numpy.isfinite(d)] = numpy.inf
        d[same] = 0.0
    return d


def _threshold(key: str, kind: str) -> float:
    """Half the smallest bound the kind has (see the module's docstring)."""
    if kind == "aform":
        return 2.0
    return accuracy.allowed(key, kind, 0.0) / 2


def _over_bound(key: str, kind: str, fn, pts: numpy.ndarray, apart: numpy.ndarray) -> bool:
    """Whether ``fn`` (a float32 kernel of that kind) is over its bound at one of ``pts``, measured
    by mpmath where it is more than the threshold from the float64 kernel, the worst first."""
    act_name = accuracy.measured_name(key)
    suspects = numpy.argsort(-apart, kind="stable")[: int(numpy.count_nonzero(apart > _threshold(key, kind)))]
    for lo in range(0, suspects.size, _BATCH):
        at = pts[numpy.sort(suspects[lo:lo + _BATCH])]
        if kind == "aform":
            module = types.SimpleNamespace(**{act_name: numpy.asarray, f"{act_name}_grad_from_output": fn})
            res = accuracy.aform_errors(key, at, module=module, dtype="float32")
        else:
            suffix = "" if kind == "value" else f"_{kind}"
            module = types.SimpleNamespace(**{f"{act_name}{suffix}": fn})
            res, = accuracy.measure(key, (kind,), at, peers=False, module=module, dtype="float32")
        if res.over_bound:
            return True
    return False


def decide(act: Activation, text64: str, singles: Mapping[str, Sequence[str] | str]) -> dict[str, str | None]:
    """For each kernel suffix, None where its float32 body (``singles[suffix]``, the source lines
    of ``_NAME{suffix}_f32``, or why there is none) is kept, else why float32 input is widened to
    float64.

    ``text64`` is the source of every float64 chunk function of the module (the reference).
    """
    from . import runtime

    n = act.name
    ns: dict = {"numpy": numpy, **{h: getattr(runtime, h) for h in ("fix", "select", "patch", "erfc", "product_hi", "product_lo")}}
    exec(text64, ns)
    for lines in singles.values():
        if not isinstance(lines, str):
            exec("\n".join(lines), ns)
    kwargs = {p.name: float(p.default) for p in act.params}
    key = _key(act)
    pts = _points()
    verdicts: dict[str, str | None] = {}
    for suffix, lines in singles.items():
        if isinstance(lines, str):  # no float32 body, and why
            verdicts[suffix] = lines
            continue
        b64, b32 = ns[f"_{n}{suffix}"], ns[f"_{n}{suffix}_f32"]
        kinds = KINDS[suffix]
        nout = len(kinds)
        x = pts
        if suffix == "_grad_from_output":  # on the outputs a = g(z) of float32 input
            a32 = runtime.apply(ns[f"_{n}"], pts, None, 1, kwargs, None, ns.get(f"_{n}_f32"))
            x = numpy.unique(a32[numpy.isfinite(a32)])
        want = runtime.apply(b64, x.astype(numpy.float64), None, nout, kwargs)
        got = runtime.apply(b64, x, None, nout, kwargs, None, b32)
        want, got = (want, got) if nout > 1 else ((want,), (got,))
        verdicts[suffix] = None
        for k, kind in enumerate(kinds):
            def fn(v, k=k, b64=b64, b32=b32, nout=nout):
                r = runtime.apply(b64, v, None, nout, kwargs, None, b32)
                return r[k] if nout > 1 else r

            if _over_bound(key, kind, fn, x, _apart(got[k], want[k])):
                verdicts[suffix] = "over its accuracy bound when computed in float32"
                break
    # value_and_grad gives the bits of g and g' (the same code): all three in float32, or none
    trio = ("", "_grad", "_value_and_grad")
    why = next((verdicts[s] for s in trio if verdicts.get(s) is not None), None)
    if why is not None:
        for s in trio:
            verdicts[s] = verdicts[s] or "as value_and_grad, which must give the bits of g and g'"
    return verdicts


def docstring(name: str, verdicts: Mapping[str, str | None]) -> str:
    """The lines of a kernel module's docstring saying how float32 input is computed."""
    native = [f"{name}{s}" for s, why in verdicts.items() if why is None]
    widened = [f"{name}{s}" for s, why in verdicts.items() if why is not None]
    parts = []
    if native:
        parts.append(f"float32 input is computed in float32 (within the float32 ULP bound) by {', '.join(native)}")
    if widened:
        reasons = sorted({why for why in verdicts.values() if why is not None})
        parts.append(f"widened to float64 and rounded once by {', '.join(widened)} ({'; '.join(reasons)})")
    text = "; ".join(parts) + "."
    text = text[0].upper() + text[1:]
    return "\n" + "\n".join(textwrap.wrap(text, 96)) + "\n"


def float32_form(expr):
    """``expr`` with the forms that lose accuracy in float32 rewritten (the same value): a square
    in a denominator, ``1/(1 + x)**2``, as ``1/(1 + x*(x + 2))``, which rounds three times where
    the square of a rounded ``1 + x`` doubles its rounding error (sigmoid' = t/(1 + t)^2 with
    t = exp(-|z|): 4.6 float32 ULP as a square, 3.2 so; float32's exp is itself up to 2.4 ULP
    off). Applied to float32 bodies only: in float64 the square costs one operation less."""
    import sympy

    def square_of_one_plus(e):
        if not (isinstance(e, sympy.Pow) and e.exp == -2 and isinstance(e.base, sympy.Add)):
            return False
        return len(e.base.args) == 2 and sympy.S.One in e.base.args

    def rewrite(e):
        x = e.base - 1
        return 1 / (1 + sympy.Mul(x, sympy.Add(x, 2, evaluate=False), evaluate=False))

    return expr.replace(square_of_one_plus, rewrite)
