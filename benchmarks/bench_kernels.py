"""Speed of the generated kernels, as ratios to one ``np.exp`` pass over the same array.

Run by hand (not a timed test)::

    python benchmarks/bench_kernels.py            # sigmoid, tanh + every value_and_grad
    python benchmarks/bench_kernels.py --n 1000000 sigmoid tanh

The array is 10^7 float64 draws from N(0, 5) (seed 0). Each figure is the best of
``--repeat`` (9) runs over the best of as many ``np.exp`` passes timed alternately with them,
measured twice: with fresh outputs, and with ``out=`` buffers allocated once. Also reported: the lesson's NumPy code and PyTorch CPU forward +
backward (when torch is installed) on the same data.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from symderiv import kernels
from symderiv.catalogue import names as catalogue_names


def best(fn, repeat: int) -> float:
    fn()  # warm up (page faults of a first touch are not the kernel's)
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def ratio(fn, baseline, repeat: int) -> float:
    """best time of ``fn`` over best time of ``baseline``, the two timed alternately.

    Timing them in turn, not the baseline once at the start, keeps a slow spell of this shared
    machine from shrinking or inflating every ratio after it."""
    fn()
    baseline()
    t_fn, t_base = [], []
    for _ in range(repeat):
        for f, times in ((baseline, t_base), (fn, t_fn)):
            t = time.perf_counter()
            f()
            times.append(time.perf_counter() - t)
    return min(t_fn) / min(t_base)


def lesson_sigmoid_derivative(z):
    a = 1 / (1 + np.exp(-z))
    return a * (1 - a)


def lesson_tanh_derivative(z):
    return 1 - np.tanh(z) ** 2


def torch_forward_backward(name):
    try:
        import torch
    except ImportError:
        return None
    from symderiv.accuracy import _torch_fn
    from symderiv.catalogue import get

    fn = _torch_fn(get(name))  # the same PyTorch function the accuracy report compares with
    if fn is None:
        return None

    def run(x):
        t = torch.from_numpy(x).requires_grad_(True)
        y = fn(t)
        y.backward(torch.ones_like(y))
        return y.detach(), t.grad

    return run


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("names", nargs="*", help="activations (default: all)")
    p.add_argument("--n", type=int, default=10_000_000)
    p.add_argument("--repeat", type=int, default=9)
    args = p.parse_args(argv)
    z = np.random.default_rng(0).normal(0, 5, args.n)
    out1, out2 = np.empty_like(z), np.empty_like(z)
    t_exp = best(lambda: np.exp(z), args.repeat)
    t_exp_out = best(lambda: np.exp(z, out=out1), args.repeat)
    print(f"n = {args.n}, one np.exp pass: {t_exp * 1e3:.1f} ms fresh, {t_exp_out * 1e3:.1f} ms with out=")
    print("ratios to that np.exp pass (fresh | out=)")

    def base():
        np.exp(z)

    def row(label, fresh, out=None):
        r = f"{ratio(fresh, base, args.repeat):6.2f}x"
        if out is not None:
            r += f" | {ratio(out, base, args.repeat):6.2f}x"
        print(f"  {label:40} {r}")

    row("sigmoid_grad", lambda: kernels.sigmoid_grad(z), lambda: kernels.sigmoid_grad(z, out=out1))
    row("lesson sigmoid_derivative", lambda: lesson_sigmoid_derivative(z))
    row("tanh_grad", lambda: kernels.tanh_grad(z), lambda: kernels.tanh_grad(z, out=out1))
    row("lesson 1 - np.tanh(z)**2", lambda: lesson_tanh_derivative(z))
    for name in args.names or catalogue_names():
        vg = getattr(kernels, f"{name}_value_and_grad")
        row(f"{name}_value_and_grad", lambda vg=vg: vg(z), lambda vg=vg: vg(z, out=(out1, out2)))
        tfb = torch_forward_backward(name)
        if tfb is not None:
            row(f"  torch {name} forward+backward", lambda tfb=tfb: tfb(z))
    return 0


if __name__ == "__main__":
    sys.exit(main())
