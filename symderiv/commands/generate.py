"""``symderiv generate [NAMES] [--out DIR] [--check] [--force]``: write the ``generated`` package."""

from __future__ import annotations

import sys
from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("generate", help="write the NumPy kernels package generated/ from the catalogue")
    p.add_argument("names", nargs="*", metavar="NAME", help="activations to (re)generate (default: all)")
    p.add_argument("--out", metavar="DIR", help="target directory (default: generated/ at the project root)")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 naming every file that is stale or missing")
    p.add_argument("--force", action="store_true", help="overwrite generated files that were edited by hand")
    p.set_defaults(func=run, budget=900)


def run(args) -> int:
    from ..catalogue import get
    from ..codegen.emit import check, default_out, render_all, write

    names = [get(n).name for n in args.names] if args.names else None
    out = Path(args.out) if args.out else default_out()
    files = render_all(names)
    if args.check:
        stale = check(files, out)
        for path in stale:
            print(f"stale: {path}", file=sys.stderr)
        if stale:
            print(f"symderiv: {len(stale)} generated file(s) out of date; run 'symderiv generate'",
                  file=sys.stderr)
            return 1
        print(f"{len(files)} generated file(s) up to date in {out}")
        return 0
    written = write(files, out, force=args.force)
    for path in written:
        print(f"wrote {path}")
    print(f"{len(written)} file(s) written, {len(files) - len(written)} already up to date in {out}")
    return 0
