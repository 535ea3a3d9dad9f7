"""``symderiv steps NAME | --expr EXPR``: the derivation step by step, every step checked."""

from __future__ import annotations

from .derive import add_target, target

FORMATS = ("text", "markdown", "latex")


def register(sub) -> None:
    from ..calculus import CONVENTIONS

    p = sub.add_parser("steps", help="derive g'(z) step by step with named rules, each step checked")
    add_target(p, "derive step by step")
    p.add_argument("--convention", default="torch", choices=CONVENTIONS, metavar="|".join(CONVENTIONS),
                   help="value taken at kinks (default torch)")
    p.add_argument("--format", default="text", choices=FORMATS, metavar="|".join(FORMATS),
                   help="output format (default text)")
    p.add_argument("--json", action="store_true",
                   help='print {"steps": [{"rule", "before", "after", "note"}, ...], "result", "aform"}')
    p.set_defaults(func=run)


def run(args) -> int:
    from ..cli import print_json
    from ..teach.steps import steps

    act, params = target(args)
    s = steps(act, params, defaults=args.defaults, convention=args.convention)
    if args.json:
        print_json(s.as_json())
    else:
        print(s.render(args.format))
    return 0
