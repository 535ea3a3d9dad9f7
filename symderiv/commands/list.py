"""``symderiv list [--json]``: the catalogue."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("list", help="list the catalogue of activations")
    p.add_argument("--json", action="store_true", help="JSON array of {name, aliases, params, params_decimal, definition, family, description}")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..catalogue import all_activations
    from ..cli import print_json
    from ..printing import decimal, to_text

    rows = [
        {
            "name": act.name,
            "aliases": list(act.aliases),
            "params": {p.name: to_text(p.default) for p in act.params},
            "params_decimal": {p.name: decimal(p.default) for p in act.params},
            "definition": to_text(act.expr),
            "family": act.family,
            "description": act.description,
        }
        for act in all_activations()
    ]
    if args.json:
        print_json(rows)
        return 0
    from ..printing import to_display

    width = max(len(r["name"]) for r in rows)
    for act, r in zip(all_activations(), rows, strict=True):
        params = ", ".join(f"{p.name}={to_display(p.default)}" for p in act.params)
        aliases = f"  (aliases: {', '.join(r['aliases'])})" if r["aliases"] else ""
        print(f"{r['name']:<{width}}  {r['description']}{aliases}")
        print(f"{'':<{width}}  g(z) = {to_display(act.expr)}" + (f"   [{params}]" if params else ""))
    return 0
