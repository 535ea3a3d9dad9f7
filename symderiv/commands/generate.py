"""``symderiv generate [NAMES] [--out DIR] [--check] [--force]``: write the ``generated`` package."""

from __future__ import annotations

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
    from ..cli import report
    from ..codegen.emit import check, default_out, render_all, write
    from ..errors import GeneratedFileError

    names = [get(n).name for n in args.names] if args.names else None
    out = Path(args.out) if args.out else default_out()
    try:  # an unusable --out is said before minutes of rendering
        is_dir = out.is_dir()
        exists = is_dir or out.exists()
    except OSError as exc:
        raise GeneratedFileError(f"cannot use output {_short(out)}: {exc.strerror or exc}") from None
    if exists and not is_dir:
        raise GeneratedFileError(f"output {_short(out)} exists and is not a directory")
    from ..catalogue import all_activations
    from ..progress import progress

    count = len(set(names)) if names else len(all_activations())
    with progress(None, "check" if args.check else "generate", total=count, unit="activation") as bar:
        files = render_all(names, on_done=bar.advance)
    if args.check:
        stale = check(files, out)
        for path in stale:
            report(f"stale: {path}")
        if stale:
            report(f"symderiv: {len(stale)} generated file(s) out of date; run 'symderiv generate'")
            return 1
        print(f"{len(files)} generated file(s) up to date in {out}")
        return 0
    written = write(files, out, force=args.force)
    for path in written:
        print(f"wrote {path}")
    print(f"{len(written)} file(s) written, {len(files) - len(written)} already up to date in {out}")
    return 0


def _short(path: Path) -> str:
    from ..files import short_path

    return short_path(path)
