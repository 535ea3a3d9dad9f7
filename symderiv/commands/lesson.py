"""``symderiv lesson [NAMES...] [--expr EXPR]... [-o FILE]``: the lesson as one self-contained web page."""

from __future__ import annotations


def register(sub) -> None:
    from ..calculus import CONVENTIONS

    p = sub.add_parser("lesson", help="write the lesson as one self-contained HTML page (MathML, inline SVG)")
    p.add_argument("names", nargs="*", metavar="NAME",
                   help="activations, one section each (default: sigmoid tanh relu leaky_relu)")
    p.add_argument("--expr", action="append", default=[], metavar="EXPR",
                   help="a custom activation, an expression in z (repeatable)")
    p.add_argument("-o", "--output", default="lesson.html", metavar="FILE",
                   help="the page to write (default lesson.html)")
    p.add_argument("--convention", default="torch", choices=CONVENTIONS, metavar="|".join(CONVENTIONS),
                   help="value marked at kinks in the plots and used for g'(0) (default torch)")
    p.add_argument("--force", action="store_true",
                   help="overwrite a file symderiv did not write, or one edited since")
    p.set_defaults(func=run, budget=600.0)  # the a-form search may take the generator's 300 s


def run(args) -> int:
    from ..catalogue import get
    from ..derivation import custom
    from ..errors import SymderivError
    from ..teach import lesson

    if not args.output.lower().endswith((".html", ".htm")):
        raise SymderivError(f"lesson: output file must end in .html, got {args.output!r}")
    lesson.check_target(args.output, force=args.force)  # refuse before the work, not after
    targets = [get(n) for n in args.names] + [custom(e) for e in args.expr]
    lesson.write(lesson.page(targets, convention=args.convention), args.output, force=args.force)
    print(args.output)
    return 0
