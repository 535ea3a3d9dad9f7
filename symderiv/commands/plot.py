"""``symderiv plot NAMES... [--expr EXPR]... -o FILE``: g and g' per activation, kinks marked (needs matplotlib)."""

from __future__ import annotations

from ..errors import SymderivError


def register(sub) -> None:
    from ..calculus import CONVENTIONS

    p = sub.add_parser("plot", help="plot g and g' with the kinks marked (PNG, SVG or PDF)")
    p.add_argument("names", nargs="*", metavar="NAME", help="activations, one panel each")
    p.add_argument("--expr", action="append", default=[], metavar="EXPR",
                   help="a custom activation in z, one more panel (repeatable)")
    p.add_argument("--param", action="append", default=[], metavar="K=V",
                   help="fix a parameter in every panel that has it (repeatable); others take their defaults")
    p.add_argument("--z-range", nargs=2, type=float, metavar=("LO", "HI"),
                   help="the z axis (default -5 5, wider to show every kink)")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="output file: .png, .svg or .pdf")
    p.add_argument("--derivative-only", action="store_true", help="draw g' only")
    p.add_argument("--convention", default="torch", choices=CONVENTIONS, metavar="|".join(CONVENTIONS),
                   help="value marked at kinks (default torch)")
    p.set_defaults(func=run, budget=300.0)  # many panels: each derives and tables its activation


def run(args) -> int:
    from ..catalogue import get
    from ..derivation import custom
    from ..teach.plot import plot

    panels = [get(n) for n in args.names] + [custom(e) for e in args.expr]
    if not panels:
        raise SymderivError("give at least one NAME or --expr EXPR")
    params = {}
    for item in args.param:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise SymderivError(f"--param expects K=V, got {item!r}")
        if key.strip() in params:
            raise SymderivError(f"--param {key.strip()} given twice")
        params[key.strip()] = value.strip()
    z_range = tuple(args.z_range) if args.z_range else None
    path = plot(panels, args.output, derivative_only=args.derivative_only, convention=args.convention,
                params=params, z_range=z_range)
    print(path)
    return 0
