"""The PyTorch and JAX drop-ins against the frameworks' built-ins: forward + backward, as ratios.

    python benchmarks/bench_dropins.py [--n 1000000] [--k 15] [--dtype float64 float32] [--compile]

For every activation the framework has, ``ours / theirs`` for one forward and one backward
(``y = f(x); y.backward(ones)`` in PyTorch; ``jax.jit(jax.vjp ...)`` in JAX), best of ``k``
runs timed alternately in the same process on the same N(0, 5) data. ``--compile`` adds, for
PyTorch, both under ``torch.compile`` (inductor; compiled before timing): there the drop-ins run
their torch forms, traced and fused. Run it on a quiet machine and report the CPU with the
figures (printed first).
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np

from symderiv import accuracy
from symderiv.catalogue import all_activations


def _cpu() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _best_alternating(fns, k: int) -> list[float]:
    best = [float("inf")] * len(fns)
    for _ in range(k):
        for i, fn in enumerate(fns):
            t = time.perf_counter()
            fn()
            best[i] = min(best[i], time.perf_counter() - t)
    return best


def bench_torch(n: int, k: int, dtypes, compiled: bool = False) -> None:
    import torch
    from symderiv.kernels import torch as st

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    for dtype_name in dtypes:
        dtype = getattr(torch, dtype_name)
        x = (torch.randn(n, generator=torch.Generator().manual_seed(0), dtype=torch.float64) * 5).to(dtype)
        ones = torch.ones_like(x)
        for act in all_activations():
            theirs = accuracy._torch_fn(act)
            if theirs is None:
                continue
            ours = getattr(st, act.name)

            def step(f, x=x, ones=ones):
                def run():
                    xx = x.detach().requires_grad_()
                    f(xx).backward(ones)
                return run

            runs = [step(ours), step(theirs)]
            if compiled:
                runs += [step(torch.compile(ours)), step(torch.compile(theirs))]
                for warm in runs[2:]:
                    warm()  # compile
            a, b, *c = _best_alternating(runs, k)
            line = (f"  {dtype_name:8s} {act.name:14s} ours {a * 1e3:8.3f} ms  torch {b * 1e3:8.3f} ms  "
                    f"ratio {a / b:5.2f}")
            if c:
                line += (f"  | compiled: ours {c[0] * 1e3:8.3f} ms  torch {c[1] * 1e3:8.3f} ms  "
                         f"ratio {c[0] / c[1]:5.2f}  ours compiled / torch eager {c[0] / b:5.2f}")
            print(line, flush=True)


def bench_jax(n: int, k: int, dtypes) -> None:
    import jax

    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp
    from symderiv.kernels import jax as sj

    print(f"jax {jax.__version__} (float64 with x64; float32 without, as float32 users run it)")
    for dtype_name in dtypes:
        jax.config.update("jax_enable_x64", dtype_name == "float64")
        x = jnp.asarray(np.random.default_rng(0).normal(0, 5, n), dtype=getattr(jnp, dtype_name))
        for act in all_activations():
            theirs = accuracy._jax_fn(act)
            if theirs is None:
                continue
            ours = getattr(sj, act.name)

            def step(f, x=x):
                @jax.jit
                def fwd_bwd(v):
                    y, pull = jax.vjp(f, v)
                    return y, pull(jnp.ones_like(y))[0]

                fwd_bwd(x)[1].block_until_ready()  # compile
                return lambda: fwd_bwd(x)[1].block_until_ready()

            a, b = _best_alternating([step(ours), step(theirs)], k)
            print(f"  {dtype_name:8s} {act.name:14s} ours {a * 1e3:8.3f} ms  jax   {b * 1e3:8.3f} ms  "
                  f"ratio {a / b:5.2f}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=10**6)
    p.add_argument("--k", type=int, default=15)
    p.add_argument("--dtype", nargs="+", default=["float64", "float32"])
    p.add_argument("--framework", nargs="+", default=["torch", "jax"])
    p.add_argument("--compile", action="store_true", help="PyTorch: also both under torch.compile")
    args = p.parse_args()
    print(f"{_cpu()}; n = {args.n}, best of {args.k}, timed alternately")
    if "torch" in args.framework:
        bench_torch(args.n, args.k, args.dtype, args.compile)
    if "jax" in args.framework:
        bench_jax(args.n, args.k, args.dtype)


if __name__ == "__main__":
    main()
