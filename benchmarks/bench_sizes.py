"""Speed of the generated kernels by size: ours against PyTorch, the lesson's code and the floor.

Run by hand (not a timed test), on a quiet machine; the CPU is printed first::

    python benchmarks/bench_sizes.py                         # everything: takes a while
    python benchmarks/bench_sizes.py --sizes 1e3 1e6 --names sigmoid tanh --dtypes float32 --repeat 5

For each n (default 10^3 ... 10^7), float type (float64, float32) and activation, on N(0, 5)
draws (seed 0), each figure is the best of ``--repeat`` runs, every contender timed alternately
with the others in the same loop (a slow spell of a shared machine then slows them all); a run is
as many back-to-back calls as take 0.3 ms (a single call from about 10^5 elements up), timed per call:

- ``ours``: ``NAME_value_and_grad(z)``, fresh outputs;
- ``floor``: the bare sequence of ufunc calls that kernel makes (its chunk function, the float32
  one where float32 input is computed in float32; where it is widened, the casts to float64 and
  back and the float64 one), called once on the whole array with preallocated outputs and
  scratch: no dtype handling, no chunks, no threads around it;
- ``torch``: PyTorch CPU ``y = f(x); y.backward(ones)`` on the same data, where torch has the
  activation (the function the accuracy report compares with);
- for the lesson's four, ``NAME_grad(z)`` against the lesson's NumPy code for the derivative
  (``a = 1/(1+np.exp(-z)); a*(1-a)``, ``1 - np.tanh(z)**2``, ``(z > 0).astype(float)``,
  ``np.where(z > 0, 1, alpha)``).

The table gives the times of ours and the ratios ``ours/floor``, ``ours/torch`` (below 1: ours is
faster) and ``lesson/grad`` (above 1: ours is faster); with both float types, a second table gives
``float64/float32`` for ``ours`` per n.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_dropins import _best_alternating, _cpu
from bench_kernels import lesson_sigmoid_derivative, lesson_tanh_derivative, torch_forward_backward

from symderiv import kernels
from symderiv.catalogue import names as catalogue_names

SIZES = (10**3, 10**4, 10**5, 10**6, 10**7)

#: The lesson's NumPy code for the derivative of its four activations.
LESSON = {
    "sigmoid": lesson_sigmoid_derivative,
    "tanh": lesson_tanh_derivative,
    "relu": lambda z: (z > 0).astype(float),
    "leaky_relu": lambda z, alpha=0.01: np.where(z > 0, 1, alpha),
}


def floor(name: str, z: np.ndarray):
    """The bare ufunc sequence of ``NAME_value_and_grad`` on ``z``: its chunk function called on
    the whole array, outputs and scratch allocated (and touched) once, here."""
    import importlib

    module = importlib.import_module(f"symderiv.kernels.{name}")
    runtime = importlib.import_module("symderiv.kernels._runtime")
    body = getattr(module, f"_{name}_value_and_grad")
    params = {p: v.default for p, v in _defaults(getattr(kernels, f"{name}_value_and_grad")).items()}
    outs = [np.empty(z.size, z.dtype), np.empty(z.size, z.dtype)]
    ws = runtime._Workspace(z.size)
    flat = z.reshape(-1)
    if z.dtype == np.float32:
        if hasattr(module, f"_{name}_value_and_grad_f32"):
            body = getattr(module, f"_{name}_value_and_grad_f32")
        else:  # widened: the casts to float64 and back are calls of that sequence too
            wide, results = np.empty(z.size), [np.empty(z.size), np.empty(z.size)]

            def run():
                with np.errstate(all="ignore"):
                    np.copyto(wide, flat)
                    body(wide, results, ws, **params)
                    for o, r in zip(outs, results, strict=True):
                        np.copyto(o, r, casting="same_kind")

            run()
            return run

    def run():
        with np.errstate(all="ignore"):
            body(flat, outs, ws, **params)

    run()
    return run


def _defaults(fn) -> dict:
    import inspect

    return {k: p for k, p in inspect.signature(fn).parameters.items()
            if p.kind is inspect.Parameter.KEYWORD_ONLY and k != "out"}


def measure(name: str, z: np.ndarray, repeat: int) -> dict[str, float]:
    """Best times (s) of the contenders for one activation on ``z``."""
    vg = getattr(kernels, f"{name}_value_and_grad")
    contenders = {"ours": lambda: vg(z), "floor": floor(name, z)}
    tfb = torch_forward_backward(name)
    if tfb is not None:
        contenders["torch"] = lambda: tfb(z)
    if name in LESSON:
        grad, lesson = getattr(kernels, f"{name}_grad"), LESSON[name]
        contenders["grad"] = lambda: grad(z)
        contenders["lesson"] = lambda: lesson(z)
    with np.errstate(all="ignore"):  # the lesson's sigmoid overflows in the tail
        for fn in contenders.values():
            fn()  # warm up: first touches are not the kernel's
        batches = _batched(list(contenders.values()))
        times = [t / calls for t, (_, calls) in
                 zip(_best_alternating([run for run, _ in batches], repeat), batches, strict=True)]
    return dict(zip(contenders, times, strict=True))


def _batched(fns, at_least: float = 300e-6):
    """Each of ``fns`` as a run of as many calls as last ``at_least`` seconds, timed per call: a
    single call of a few microseconds is mostly the timer's own cost and its jitter."""
    import time

    out = []
    for fn in fns:
        t = time.perf_counter()
        fn()
        calls = max(1, int(at_least / max(time.perf_counter() - t, 1e-7)))

        def run(fn=fn, calls=calls):
            for _ in range(calls):
                fn()

        out.append((run, calls))
    return out


def _us(t: float | None) -> str:
    return "" if t is None else f"{t * 1e6:.1f}"


def _ratio(a: float | None, b: float | None) -> str:
    return "" if a is None or b is None else f"{a / b:.2f}"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", nargs="+", type=float, default=SIZES, help="n (e.g. 1e3 1e6)")
    p.add_argument("--names", nargs="+", default=None, help="activations (default: all)")
    p.add_argument("--dtypes", nargs="+", default=["float64", "float32"], choices=["float64", "float32"])
    p.add_argument("--repeat", type=int, default=15, help="runs per contender (best of)")
    args = p.parse_args(argv)
    names = args.names or catalogue_names()
    sizes = [int(n) for n in args.sizes]
    print(f"CPU: {_cpu()}")
    try:
        import torch

        print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    except ImportError:
        print("torch not installed: no torch column")
    print(f"numpy {np.__version__}; best of {args.repeat} runs of >= 0.3 ms, timed alternately; N(0, 5) data")
    print()
    print("| kernel | dtype | n | ours µs | floor µs | ours/floor | torch µs | ours/torch | grad µs | lesson µs"
          " | lesson/grad |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    ours: dict[tuple[str, str, int], float] = {}
    rng = np.random.default_rng(0)
    data = {n: rng.normal(0, 5, n) for n in sizes}
    for name in names:
        for dtype in args.dtypes:
            for n in sizes:
                z = data[n].astype(dtype)
                t = measure(name, z, args.repeat)
                ours[name, dtype, n] = t["ours"]
                print(f"| {name} | {dtype} | {n:.0e} | {_us(t['ours'])} | {_us(t['floor'])} | "
                      f"{_ratio(t['ours'], t['floor'])} | {_us(t.get('torch'))} | {_ratio(t['ours'], t.get('torch'))} | "
                      f"{_us(t.get('grad'))} | {_us(t.get('lesson'))} | {_ratio(t.get('lesson'), t.get('grad'))} |",
                      flush=True)
    if {"float64", "float32"} <= set(args.dtypes):
        print()
        print("float64 / float32 time of NAME_value_and_grad (above 1: float32 is faster)")
        print()
        print("| kernel | " + " | ".join(f"{n:.0e}" for n in sizes) + " |")
        print("|---|" + "---|" * len(sizes))
        for name in names:
            cells = [_ratio(ours[name, "float64", n], ours[name, "float32", n]) for n in sizes]
            print(f"| {name} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
