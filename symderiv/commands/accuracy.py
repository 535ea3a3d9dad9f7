"""``symderiv accuracy [NAMES | --expr TEXT [--name NAME]] [--json]``: worst ULP error of each generated kernel, beside PyTorch's and JAX's."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("accuracy", help="measure the generated kernels against mpmath (and PyTorch, JAX)")
    p.add_argument("names", nargs="*", metavar="NAME", help="activations to measure (default: all)")
    p.add_argument("--json", action="store_true", help="print a JSON array")
    p.add_argument("--quick", action="store_true", help="the smaller grid the test suite uses")
    p.add_argument("--no-peers", action="store_true", help="do not run PyTorch or JAX even if installed")
    p.add_argument("--expr", metavar="TEXT", help="a custom activation in z: its kernels, generated in memory")
    p.add_argument("--name", metavar="NAME", default="custom", help="the custom activation's name (default: custom)")
    p.set_defaults(func=run, budget=7200)


def _fmt(v) -> str:
    if v is None:
        return "-"
    return f"{v:.3g}" if v < 1e6 else f"{v:.2e}"


def run(args) -> int:
    from ..accuracy import run as measure_all
    from ..catalogue import get
    from ..cli import print_json

    size = "test" if args.quick else "full"
    if args.expr is not None:
        from ..codegen import custom
        from ..errors import SymderivError

        if args.names:
            raise SymderivError("give catalogue names or --expr, not both")
        act = custom.activation(args.expr, args.name)
        with custom.loaded(custom.render(act)) as module:
            rows = custom.measure(act, module, size)
    else:
        names = [get(n).name for n in args.names] if args.names else None
        rows = measure_all(names, size, peers=not args.no_peers)
    if args.json:
        print_json(rows)
        return 0
    print(f"{'kernel':32} {'worst ULP':>10} {'at z':>12} {'cond':>9} {'bound':>9} {'over':>5} "
          f"{'torch ULP':>10} {'jax ULP':>10}")
    for r in rows:
        cond = "-" if r["cond"] is None else _fmt(r["cond"])
        print(f"{r['kernel']:32} {_fmt(r['worst_ulp']):>10} {r['at']:>12.6g} {cond:>9} "
              f"{_fmt(r['allowed']):>9} {r['over_bound']:>5} {_fmt(r['torch_ulp']):>10} {_fmt(r['jax_ulp']):>10}")
    return 0
