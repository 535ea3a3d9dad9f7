"""``symderiv plot NAMES... -o FILE``: g and g' per activation, kinks marked (needs matplotlib)."""

from __future__ import annotations


def register(sub) -> None:
    from ..calculus import CONVENTIONS

    p = sub.add_parser("plot", help="plot g and g' with the kinks marked (PNG, SVG or PDF)")
    p.add_argument("names", nargs="+", metavar="NAME", help="activations, one panel each")
    p.add_argument("-o", "--output", required=True, metavar="FILE", help="output file: .png, .svg or .pdf")
    p.add_argument("--derivative-only", action="store_true", help="draw g' only")
    p.add_argument("--convention", default="torch", choices=CONVENTIONS, metavar="|".join(CONVENTIONS),
                   help="value marked at kinks (default torch)")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..catalogue import get
    from ..teach.plot import plot

    names = [get(n).name for n in args.names]
    path = plot(names, args.output, derivative_only=args.derivative_only, convention=args.convention)
    print(path)
    return 0
