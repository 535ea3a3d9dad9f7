"""Per-call overhead of the kernels: ``NAME_value_and_grad(z)`` against its floor, in a loop.

    python benchmarks/bench_overhead.py [--n 1000] [--repeat 7]

For every kernel and float type, on N(0, 5) draws (seed 0): the best of ``--repeat`` loops of
2000 calls of ``NAME_value_and_grad(z)`` (fresh outputs) and of its floor (the bare ufunc
sequence of its chunk function on preallocated outputs and scratch: ``bench_sizes.floor``),
each loop timing one of them alone, so both run with warm caches. The difference is what the
runtime adds to a call (dtype and ``out=`` handling, ``numpy.errstate``, fresh outputs).
``bench_sizes.py`` times the contenders alternately instead, so there the other contenders'
calls also evict the kernel's data between its runs. Run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import sys
import timeit
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_dropins import _cpu
from bench_sizes import floor

from symderiv import kernels
from symderiv.catalogue import names


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--repeat", type=int, default=7)
    args = p.parse_args(argv)
    print(f"CPU: {_cpu()}; numpy {np.__version__}; n = {args.n}, best of {args.repeat} loops of 2000 calls")
    print("| kernel | dtype | ours µs | floor µs | over µs |\n|---|---|---|---|---|")
    over = []
    for dtype in (np.float64, np.float32):
        z = np.random.default_rng(0).normal(0, 5, args.n).astype(dtype)
        for name in names():
            f = getattr(kernels, f"{name}_value_and_grad")
            bare = floor(name, z)
            with np.errstate(all="ignore"):
                ours = min(timeit.repeat(lambda f=f, z=z: f(z), number=2000, repeat=args.repeat)) / 2000
                base = min(timeit.repeat(bare, number=2000, repeat=args.repeat)) / 2000
            over.append(ours - base)
            print(f"| {name} | {np.dtype(dtype).name} | {ours * 1e6:.2f} | {base * 1e6:.2f} | {(ours - base) * 1e6:.2f} |")
    over.sort()
    print(f"\nover the floor: {over[0] * 1e6:.2f} to {over[-1] * 1e6:.2f} µs, median {over[len(over) // 2] * 1e6:.2f} µs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
