"""``symderiv accuracy [NAMES | --expr TEXT [--name NAME]] [--json]``: worst ULP error of each generated kernel, beside PyTorch's and JAX's."""

from __future__ import annotations

#: A condition number above this gets a note under the table: the bound is then mostly the
#: rounding of the input, not the kernel's error.
ILL_CONDITIONED = 1e6

BOUNDS = (
    "bound: 8 ULP (16 for grad2) + 4 x cond ULP, where cond = |x f'(x) / f(x)| at that point is how much "
    "f magnifies the input's own rounding (4 ULP for sigmoid, tanh, relu, leaky_relu value and grad); "
    "NAME_grad_from_output: 4 ULP against the exact a-form at the given a, whatever cond. "
    "'over': points of the grid beyond the bound."
)


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


def _peer(r: dict, peer: str) -> str:
    """The peer's worst error, and where when it is beyond our bound (where it fails)."""
    ulp, at = r[f"{peer}_ulp"], r[f"{peer}_at"]
    if ulp is None:
        return "-"
    if ulp > r["allowed"] and at is not None:
        return f"{_fmt(ulp)} at {r['variable']}={at:.6g}"
    return _fmt(ulp)


def line(r: dict) -> str:
    """One row of the text table."""
    at = "exact everywhere" if r["worst_ulp"] == 0 else f"{r['variable']} = {r['at']:.6g}"
    cond = "-" if r["cond"] is None or r["worst_ulp"] == 0 else _fmt(r["cond"])
    return (f"{r['kernel']:32} {_fmt(r['worst_ulp']):>10}  {at:<18} {cond:>9} {_fmt(r['allowed']):>9} "
            f"{r['over_bound']:>5}  {_peer(r, 'torch'):<22} {_peer(r, 'jax')}")


HEAD = (f"{'kernel':32} {'worst ULP':>10}  {'at':<18} {'cond':>9} {'bound':>9} {'over':>5}  "
        f"{'torch ULP':<22} jax ULP")


def note(r: dict) -> str | None:
    """Why a huge error is within its bound: the kernel's answer cancels there."""
    if r["cond"] is None or r["worst_ulp"] <= 8 or r["cond"] < ILL_CONDITIONED or r["over_bound"]:
        return None
    v = r["variable"]
    return (f"{r['kernel']}: {_fmt(r['worst_ulp'])} ULP at {v} = {r['at']:.6g} is within its bound "
            f"{_fmt(r['allowed'])}, which grows with cond, because the result cancels there (cond = "
            f"{_fmt(r['cond'])}): the rounding of {v} to a float alone leaves no correct digit, whatever the "
            f"kernel does")


def run(args) -> int:
    from ..accuracy import grid, rows_for
    from ..catalogue import all_activations, get
    from ..cli import print_json
    from ..progress import progress

    size = "test" if args.quick else "full"
    module = None
    if args.expr is not None:
        from ..codegen import custom
        from ..errors import SymderivError

        if args.names:
            raise SymderivError("give catalogue names or --expr, not both")
        act = custom.activation(args.expr, args.name)
        with custom.loaded(custom.render(act)) as module:
            rows = custom.measure(act, module, size)
        notes = [n for r in rows if (n := note(r))]
        if not args.json:
            print(HEAD)
            print("\n".join(line(r) for r in rows))
    else:
        acts = [get(n) for n in args.names] if args.names else list(all_activations())
        pts = grid(size)
        rows, notes = [], []
        with progress(acts, "accuracy", unit="activation") as bar:
            if not args.json:
                bar.print(HEAD)
            for act in bar:
                bar.set_postfix(act.name)
                found = rows_for(act.name, pts, peers=not args.no_peers)
                rows.extend(found)
                if not args.json:  # each activation's rows as soon as they are measured
                    bar.print("\n".join(line(r) for r in found))
                    notes.extend(n for r in found if (n := note(r)))
    if args.json:
        print_json(rows)
        return 0
    import textwrap

    print()
    for text in (BOUNDS, *notes):
        print(textwrap.fill(text, 100, subsequent_indent="  "))
    return 0
