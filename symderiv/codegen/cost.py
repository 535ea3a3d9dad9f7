"""The cost model: what a chunk function costs per element, from the ufunc calls its source makes.

Used to choose between equally accurate stable forms (:data:`.rewrites.VARIANTS`): the generator
keeps, per activation, the one its ``value_and_grad`` computes most cheaply
(:func:`symderiv.codegen.assemble.kernels_for`).

>>> cost(["    numpy.exp(z, out=_t0)", "    numpy.multiply(_t0, z, out=_o)"])
4.6
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["COST", "cost"]


#: Cost of one call on a cache-sized chunk, in multiplications (measured here on 65536 elements:
#: a multiplication 0.235 ns per element, exp 0.84, expm1 1.2, log1p 1.05, sqrt 1.17, tanh 1.66,
#: a division 0.34, scipy.special.erfc 15.6, which the runtime's erfc about matches). Anything not listed
#: costs 1.
COST = {"exp": 3.6, "expm1": 5.1, "log1p": 4.5, "sqrt": 5.0, "tanh": 7.1, "divide": 1.4, "erfc": 66.0}


def cost(lines: Sequence[str]) -> float:
    """The cost of a chunk function's source, per element (see :data:`COST`)."""
    total = 0.0
    for line in lines:
        call = re.match(r"\s*(?:numpy\.|(?=erfc\())(\w+)\(", line)
        if call:
            total += COST.get(call.group(1), 1.0)
    return total
