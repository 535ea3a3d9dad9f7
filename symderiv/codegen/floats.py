"""Float64 samples and bit equality: what the generator's checks run the printed code on.

A pass (:mod:`.passes`) that changes the printed code must not change its floats; where that is
decided by running the code at generation time, it runs on :func:`finite_grid` (with ±inf and
the neighbours of a breakpoint, :func:`near`) and compares with :func:`same_float`.

>>> same_float(0.0, -0.0), same_float(float("nan"), -float("nan")), same_float(1.0, 1.0)
(False, True, True)
>>> near(0.0)[:3]
[0.0, 5e-324, -5e-324]
"""

from __future__ import annotations

import functools
import math

__all__ = ["finite_grid", "near", "same_float"]


@functools.cache
def finite_grid() -> tuple[float, ...]:
    """Finite float64 samples: 0, subnormals, every decade to the largest float, and [-60, 60] densely."""
    import numpy

    mags = [0.0, 5e-324, 1e-320, 2.2250738585072014e-308, 1.7976931348623157e308]
    mags += [float(v) for v in numpy.logspace(-307, 308, 616)]
    mags += [float(v) for v in numpy.linspace(0, 60, 2401)]
    return tuple(sorted({s * m for m in mags for s in (1.0, -1.0)}))


def near(b: float) -> list[float]:
    """``b`` and its neighbours: the next floats either side, ``b*(1 + 1e-12)``, ``b -+ 1e-9``,
    and the other zero when ``b`` is 0."""
    near = [b, math.nextafter(b, math.inf), math.nextafter(b, -math.inf), b * (1 + 1e-12), b - 1e-9, b + 1e-9]
    return near + [-x for x in near if x == 0]


def same_float(x: float, y: float) -> bool:
    """Bit-for-bit equal up to NaN payloads (so -0.0 differs from 0.0)."""
    return (x != x and y != y) or (x == y and math.copysign(1.0, x) == math.copysign(1.0, y))
