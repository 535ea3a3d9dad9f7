"""``symderiv generate [NAMES] [--out DIR] [--check] [--force]``: write the ``generated`` package;
``symderiv generate --expr TEXT --name NAME [--out DIR]``: the package of one custom activation."""

from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser("generate", help="write the NumPy kernels package generated/ from the catalogue")
    p.add_argument("names", nargs="*", metavar="NAME", help="activations to (re)generate (default: all)")
    p.add_argument("--out", metavar="DIR", help="target directory (default: generated/ at the project root; "
                   "with --expr, ./NAME)")
    p.add_argument("--check", action="store_true",
                   help="write nothing; exit 1 naming every file that is stale or missing")
    p.add_argument("--force", action="store_true", help="overwrite generated files that were edited by hand")
    p.add_argument("--expr", metavar="TEXT",
                   help="a custom activation in z (e.g. 'z*sigmoid(1.702*z)'): its kernels, checked against "
                        "mpmath, in a package of their own (needs --name)")
    p.add_argument("--name", metavar="NAME", help="the custom activation's name (e.g. quick_gelu)")
    p.set_defaults(func=run, budget=900)


def run(args) -> int:
    from ..catalogue import get
    from ..codegen.emit import render_all
    from ..codegen.output import default_out
    from ..errors import GeneratedFileError

    if args.expr is not None:
        return _custom(args)
    if args.name is not None:
        raise GeneratedFileError("--name names a custom activation: give it with --expr")
    names = [get(n).name for n in args.names] if args.names else None
    out = Path(args.out) if args.out else default_out()
    _usable(out)
    from ..catalogue import all_activations
    from ..progress import progress

    count = len(set(names)) if names else len(all_activations())
    with progress(None, "check" if args.check else "generate", total=count, unit="activation") as bar:
        files = render_all(names, on_done=bar.advance)
    return _write(args, files, out)


def _usable(out: Path) -> None:
    """An unusable --out is said before minutes of rendering."""
    from ..errors import GeneratedFileError

    try:
        is_dir = out.is_dir()
        exists = is_dir or out.exists()
    except OSError as exc:
        raise GeneratedFileError(f"cannot use output {_short(out)}: {exc.strerror or exc}") from None
    if exists and not is_dir:
        raise GeneratedFileError(f"output {_short(out)} exists and is not a directory")


def _custom(args) -> int:
    """``--expr TEXT --name NAME``: the package of one custom activation, written only when
    every kernel is within its accuracy bound (:mod:`symderiv.codegen.custom`)."""
    from ..codegen import custom
    from ..codegen.output import default_out
    from ..errors import GeneratedFileError

    if args.names:
        raise GeneratedFileError("give catalogue names or --expr, not both")
    if not args.name:
        raise GeneratedFileError("--expr needs --name NAME, the kernels' name (e.g. --name quick_gelu)")
    act = custom.activation(args.expr, args.name)
    out = Path(args.out) if args.out else Path.cwd() / act.name
    if out.resolve() == default_out().resolve():
        raise GeneratedFileError(f"{_short(out)} is the catalogue's kernels package: a custom activation's "
                                 "kernels go to a package of their own (choose another --out)")
    _usable(out)
    other = custom.other_package(out, act)
    if other is not None and not args.force and not args.check:
        raise GeneratedFileError(f"{_short(out)} holds the kernels of {other}; use another --out, or --force "
                                 "to replace its __init__.py")
    files = custom.render(act)
    if args.check:
        return _write(args, files, out)
    rows = custom.check_stable(act, files)
    worst = max(rows, key=lambda r: (r["worst_ulp"] or 0) / r["allowed"])
    status = _write(args, files, out)
    print(f"accuracy (test grid, against mpmath): every kernel within its bound; closest to it "
          f"{worst['kernel']}, {worst['worst_ulp']:.3g} ULP at z = {worst['at']:.6g} (bound {worst['allowed']:.3g})")
    return status


def _write(args, files: dict[str, str], out: Path) -> int:
    from ..cli import report
    from ..codegen.output import check, write

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
