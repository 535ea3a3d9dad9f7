"""``symderiv table [NAMES...]``: the lesson's summary table, computed for any activations."""

from __future__ import annotations

FORMATS = ("markdown", "latex", "json")


def register(sub) -> None:
    from ..calculus import CONVENTIONS

    p = sub.add_parser("table", help="summary table: g', a-form, range, max slope, limits, flags, kinks")
    p.add_argument("names", nargs="*", metavar="NAME", help="activations (default: the whole catalogue)")
    p.add_argument("--format", default="markdown", choices=FORMATS, metavar="|".join(FORMATS),
                   help="output format (default markdown; json is an array of row objects)")
    p.add_argument("--convention", default="torch", choices=CONVENTIONS, metavar="|".join(CONVENTIONS),
                   help="value taken at kinks (default torch)")
    p.set_defaults(func=run, budget=300.0)  # the whole catalogue: ~20 s, more on a slow machine


def run(args) -> int:
    from ..catalogue import get
    from ..cli import print_json
    from ..teach.table import render, table

    names = [get(n).name for n in args.names]  # unknown names fail before any work
    rows = table(names or None, convention=args.convention)
    if args.format == "json":
        print_json(rows)
    else:
        print(render(rows, args.format))
    return 0
