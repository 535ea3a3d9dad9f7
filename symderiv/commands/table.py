"""``symderiv table [NAMES...]``: the lesson's summary table, computed for any activations."""

from __future__ import annotations

FORMATS = ("markdown", "latex", "json")


def register(sub) -> None:
    from ..calculus import CONVENTIONS

    p = sub.add_parser("table", help="summary table: g', a-form, range, max slope, limits, flags, kinks")
    p.add_argument("names", nargs="*", metavar="NAME", help="activations (default: the whole catalogue)")
    p.add_argument("--format", default="markdown", choices=FORMATS, metavar="|".join(FORMATS),
                   help="output format (default markdown; json is an array of row objects)")
    p.add_argument("--json", action="store_true", help="the same as --format json")
    p.add_argument("--columns", metavar="KEY,...",
                   help="the columns to show, in order, e.g. name,range,derivative (default: all 17; "
                        "keys as in the JSON rows)")
    p.add_argument("--convention", default="torch", choices=CONVENTIONS, metavar="|".join(CONVENTIONS),
                   help="value taken at kinks (default torch)")
    p.set_defaults(func=run, budget=300.0)  # the whole catalogue: ~20 s, more on a slow machine


def run(args) -> int:
    from ..catalogue import all_activations, get
    from ..cli import print_json
    from ..progress import progress
    from ..teach.table import render_foot, render_head, render_row, select, table_row

    acts = [get(n) for n in args.names] if args.names else list(all_activations())  # unknown names fail first
    fmt = "json" if args.json else args.format
    keys = select(args.columns)
    rows = []
    with progress(acts, "table", unit="activation") as bar:
        if fmt != "json":
            bar.print(render_head(fmt, keys))
        for act in bar:
            bar.set_postfix(act.name)
            row = table_row(act, convention=args.convention)
            if fmt == "json":
                rows.append({k: row[k] for k in keys} if args.columns else row)
            else:  # a row as soon as it is known
                bar.print(render_row(row, fmt, keys))
    if fmt == "json":
        print_json(rows)
    elif (foot := render_foot(fmt)) is not None:
        print(foot)
    return 0
