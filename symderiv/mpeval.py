"""mpmath evaluation of a textbook formula with enough digits to survive its cancellations.

Both the generator (:mod:`symderiv.codegen.assemble`, where a kernel saturates) and the tool
that measures the kernels (:mod:`symderiv.accuracy`, the reference values) need it; it lives
here, below both, so that neither depends on the other.

>>> import mpmath
>>> float(stable_eval(lambda x: 1 - mpmath.tanh(x) ** 2, 300.0))  # 1 - tanh^2 cancels to 0 in doubles
1.06...e-260
"""

from __future__ import annotations

import math

import mpmath

__all__ = ["MAX_DPS", "stable_eval"]

#: The most digits :func:`stable_eval` works with.
MAX_DPS = 1600


def stable_eval(fn, x: float, quadratic: bool = False) -> mpmath.mpf:
    """fn(x) with mpmath at enough digits to survive the formula's cancellations.

    Textbook formulas cancel terms as large as e^|x| (1 - tanh(x)^2, log(1 + e^x)), so the
    first precision is 60 + 1.3 |x| digits (capped); it is raised until two evaluations at
    precisions d and 2d agree to 2^-80.
    """
    if math.isfinite(x) and x != 0:
        depth = 1.3 * abs(x) + max(0.0, -math.log10(abs(x))) + (0.25 * x * x if quadratic else 0.0)
        dps = 60 + int(min(depth, 1600))
    else:
        dps = 60
    prev = None
    while True:
        with mpmath.workdps(dps):
            try:
                val = fn(mpmath.mpf(x))
                if val is None:  # a Piecewise over open intervals, at a breakpoint
                    return mpmath.nan
                val = mpmath.mpf(val) if not isinstance(val, mpmath.mpc) else mpmath.mpf(val.real)
            except (ZeroDivisionError, ValueError, OverflowError):
                val = mpmath.nan
        if prev is not None:
            if (mpmath.isnan(val) and mpmath.isnan(prev)) or (val == prev == 0 and dps >= MAX_DPS):
                return val
            if val != 0 and not mpmath.isnan(val) and not mpmath.isnan(prev) and \
                    abs(val - prev) <= abs(val) * mpmath.mpf(2) ** -80:
                return +val
            if dps >= MAX_DPS:
                return val
        prev = val
        dps *= 2
