"""A kernel on a Dask array of 10^8 float64 elements on a ``distributed`` LocalCluster.

    python benchmarks/bench_dask.py [--n 100000000] [--chunk 2500000] [--workers 2] [--kernel mish]

The input is made lazily on the workers (a hashed index spread over [-60, 60), as in
tests/test_dask.py), ``NAME_value_and_grad`` runs block by block, and each block is compared bit
for bit with the NumPy kernel on the same block recomputed inside the comparing task; only the
count of mismatches reaches the client. Printed: the chunk size, the wall time of the run, each
worker's peak resident memory (``getrusage`` maximum RSS, and its RSS before the run) and the
client's, and the mismatches (0). Run it on a quiet machine and report the CPU with the figures.
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np
from bench_dropins import _cpu  # benchmarks/ is sys.path[0] when run as a script


def inputs(lo: int, hi: int, xp=np, **chunks):
    """Elements lo..hi of the input: the index hashed (integer operations: the same bits in NumPy
    and Dask) and spread over [-60, 60)."""
    i = xp.arange(lo, hi, dtype=np.uint64, **chunks)
    u = (i * np.uint64(0x9E3779B97F4A7C15)) >> np.uint64(40)
    return u.astype(np.float64) * (120.0 / 2**24) - 60.0


def mismatches(v, g, kernel, block_info=None):
    """Entries of one block of (g, g') whose bits differ from the NumPy kernel's on the same
    input, recomputed here from the block's element indices."""
    lo, hi = block_info[0]["array-location"][0]
    rv, rg = kernel(inputs(lo, hi))
    return np.array([np.count_nonzero(v.view(np.int64) != rv.view(np.int64))
                     + np.count_nonzero(g.view(np.int64) != rg.view(np.int64))])


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_mib() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def _warm() -> None:
    import symderiv.kernels  # noqa: F401  (imported before the run: not part of its memory)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=10**8)
    p.add_argument("--chunk", type=int, default=2_500_000)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--kernel", default="mish")
    args = p.parse_args()

    import dask.array as da
    import distributed

    from symderiv import kernels

    kernel = getattr(kernels, f"{args.kernel}_value_and_grad")
    print(f"CPU: {_cpu()}; {args.workers} worker processes, 1 thread each; kernel {kernel.__name__}")
    with distributed.LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        client.run(_warm)
        before = client.run(_rss_mib)
        x = inputs(0, args.n, da, chunks=args.chunk)
        v, g = kernel(x)
        counts = da.map_blocks(mismatches, v, g, kernel, chunks=((1,) * x.numblocks[0],), dtype=np.int64)
        t = time.perf_counter()
        total = int(counts.sum().compute())
        wall = time.perf_counter() - t
        peaks = client.run(_peak_mib)
    print(f"elements {args.n:.3g} float64 ({args.n * 8 / 2**20:.0f} MiB per array), chunk {args.chunk:.3g} "
          f"elements ({args.chunk * 8 / 2**20:.1f} MiB), {x.numblocks[0]} blocks")
    print(f"wall time {wall:.2f} s, mismatches {total}")
    for k, (addr, peak) in enumerate(sorted(peaks.items())):
        print(f"worker {k}: peak RSS {peak:.0f} MiB (RSS before the run {before[addr]:.0f} MiB)")
    print(f"client: peak RSS {_peak_mib():.0f} MiB")


if __name__ == "__main__":
    main()
