"""``symderiv derive NAME | --expr EXPR``: g, g', g'', a-form and kinks."""

from __future__ import annotations

from ..errors import SymderivError


def add_target(p, verb: str = "derive") -> None:
    """NAME or --expr EXPR, --param k=v..., --defaults: shared by every per-activation command."""
    p.add_argument("name", nargs="?", metavar="NAME", help=f"activation to {verb} (see 'symderiv list')")
    p.add_argument("--expr", metavar="EXPR", help="a custom activation: an expression in z")
    p.add_argument("--param", action="append", default=[], metavar="K=V",
                   help="fix a parameter (repeatable); others stay symbolic")
    p.add_argument("--defaults", action="store_true", help="fix every parameter to its default")


def target(args):
    """``(activation, params)`` from the arguments of :func:`add_target`."""
    from ..catalogue import get
    from ..derivation import custom

    if (args.name is None) == (args.expr is None):
        raise SymderivError("give exactly one of NAME or --expr EXPR")
    act = custom(args.expr) if args.expr is not None else get(args.name)
    params = {}
    for item in args.param:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise SymderivError(f"--param expects K=V, got {item!r}")
        name = act.param(key.strip()).name
        if name in params:
            raise SymderivError(f"--param {name} given twice")
        params[name] = value.strip()
    return act, params


def register(sub) -> None:
    from ..calculus import CONVENTIONS

    p = sub.add_parser("derive", help="derive g'(z) and g''(z)")
    add_target(p)
    p.add_argument("--convention", default="torch", metavar="|".join(CONVENTIONS),
                   help="value taken at kinks (default torch)")
    p.add_argument("--json", action="store_true", help="print a JSON object")
    p.set_defaults(func=run)


def run(args) -> int:
    from ..cli import print_json
    from ..derivation import derive

    act, params = target(args)
    d = derive(act, params, defaults=args.defaults, convention=args.convention)
    if args.json:
        print_json(d.as_json())
        return 0
    from ..printing import to_display as show

    fixed = ", ".join(f"{k}={'symbolic' if v is None else show(v)}" for k, v in d.params.items())
    print(f"{d.name}" + (f"  ({fixed})" if fixed else ""))
    print(f"  g(z)   = {show(d.definition)}")
    print(f"  g'(z)  = {show(d.derivative)}")
    print(f"  g''(z) = {show(d.second_derivative)}")
    if d.aform is not None:
        print(f"  g'(z)  = {show(d.aform)}   with a = g(z)")
    if d.aform_note:
        print(f"  a-form: {d.aform_note}")
    for k in d.kinks:
        value = k.values.get(d.convention)
        state = "differentiable" if k.differentiable else (
            "not differentiable" if k.differentiable is False else f"differentiable iff {show(k.differentiable_if)}")
        sub = ("" if k.subdifferential is None
               else f", subdifferential [{show(k.subdifferential[0])}, {show(k.subdifferential[1])}]")
        print(f"  kink at z = {show(k.z)}: left {show(k.left)}, right {show(k.right)}{sub}; {state}; "
              f"{d.convention}: " + (show(value) if value is not None else "no convention data (custom expression)"))
    return 0
