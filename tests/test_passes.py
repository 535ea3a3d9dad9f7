"""The peephole passes of :data:`symderiv.codegen.passes.PASSES`: what each does to the bits, and
that each fires.

For every pass and every catalogue kernel it changes, the module printed with it and the module
printed without it (``render_module(kernel, skip={name})``) are run on a grid of ±0, subnormals,
every decade to the largest float, [-60, 60] densely, ±inf and NaN (``NAME_grad_from_output`` on
the values of ``NAME`` there; NaN input aside, whose NaN out is patched by assembly for the
code with every pass): NaN where the other gives NaN, and the same float64 bits, or as
many ULP apart as the pass's record says (``ulps``; a zero of the other sign only where it says
``zero_sign``). Every pass changes at least one catalogue module, else it is dead.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from symderiv.catalogue import all_activations
from symderiv.codegen.assemble import kernels_for
from symderiv.codegen.emit import exported, render_module
from symderiv.codegen.floats import finite_grid
from symderiv.codegen.passes import PASSES, STAGES

pytestmark = pytest.mark.xdist_group("passes")  # one worker builds the kernels once

GRID = np.array([*finite_grid(), 0.0, -0.0, math.inf, -math.inf, math.nan, 1e308, -1e308, 5e-324, -5e-324])
assert np.signbit(GRID[GRID == 0]).any() and (~np.signbit(GRID[GRID == 0])).any()  # both zeros


@pytest.fixture(scope="module", autouse=True)
def float64_only():
    """No float32 bodies: the passes are compared in float64, and a kernel printed without a pass
    may have a float32 body the runtime does not support (gelu without compute_apart: erfc into a
    float32 output), whose accuracy the generator would measure."""
    from symderiv.codegen import single

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(single, "decide", lambda act, text, singles: dict.fromkeys(singles, "float64 only (tests)"))
        yield


@pytest.fixture(scope="module")
def printed(float64_only):
    """``{name: (kernel, module text with every pass)}`` for the whole catalogue."""
    out = {}
    for act in all_activations():
        kernel = kernels_for(act)
        out[act.name] = (kernel, render_module(kernel))
    return out


def _load(text: str, name: str) -> dict:
    namespace: dict = {"__name__": f"_passes_{name}"}
    exec(compile(text.replace("from ._runtime import", "from symderiv.codegen.runtime import"), name, "exec"),
         namespace)
    return namespace


def _results(values) -> list[np.ndarray]:
    return [np.asarray(v, dtype=np.float64) for v in (values if isinstance(values, tuple) else (values,))]


def _ordered(v: np.ndarray) -> np.ndarray:
    """The floats as integers in their order, one ULP apart (both zeros 0)."""
    i = v.view(np.int64)
    return np.where(i < 0, -(i & 0x7FFFFFFFFFFFFFFF), i)


def test_the_table_is_well_formed():
    names = [p.name for p in PASSES]
    assert len(set(names)) == len(names)
    assert [p.stage for p in PASSES] == sorted((p.stage for p in PASSES), key=STAGES.index)
    for p in PASSES:
        assert p.why and callable(p.apply) and p.example in {a.name for a in all_activations()}


@pytest.mark.parametrize("pas", PASSES, ids=lambda p: p.name)
def test_pass_keeps_the_bits_and_fires(pas, printed):
    fired = []
    for name, (kernel, text) in printed.items():
        without = render_module(kernel, skip={pas.name})
        if without == text:
            continue
        fired.append(name)
        mine, other = _load(text, name), _load(without, name)
        for fn in exported(kernel):
            z = mine[name](GRID) if fn.endswith("_grad_from_output") else GRID
            # NaN in gives NaN out by a patch assembly decides on the code with every pass
            z = z[~np.isnan(z)]
            for got, want in zip(_results(mine[fn](z)), _results(other[fn](z)), strict=True):
                nan = np.isnan(got)
                assert (nan == np.isnan(want)).all(), f"{pas.name} changes where {fn} is NaN"
                ulps = np.abs(_ordered(got) - _ordered(want))
                ulps[nan] = 0
                k = int(ulps.argmax())
                assert ulps[k] <= pas.ulps, (f"{pas.name} moves {fn}({z[k]!r}) by {ulps[k]} ULP "
                                             f"({got[k]!r} against {want[k]!r}); its record says {pas.ulps}")
                flipped = (got == 0) & (want == 0) & (np.signbit(got) != np.signbit(want))
                assert pas.zero_sign or not flipped.any(), \
                    f"{pas.name} flips the sign of {fn}'s zero at {z[flipped][:5].tolist()}"
    assert fired, f"{pas.name} changes no catalogue kernel: dead"
    assert pas.example in fired, f"{pas.name}: its example {pas.example} is not among {fired}"
