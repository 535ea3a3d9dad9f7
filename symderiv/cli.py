"""The ``symderiv`` command line: argparse subcommands over the public API.

Each subcommand lives in ``symderiv/commands/<name>.py`` with a
``register(subparsers)`` that adds its parser and sets ``func``. Exit status:
0 success; 1 a negative answer (a refuted claim, a stale file); 2 bad input
(one line on stderr, never a traceback); 3 undecided (``verify``).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import sys
from collections.abc import Sequence

from .errors import SymderivError

#: Subcommand modules, in the order ``--help`` lists them.
COMMANDS = ("list", "derive", "verify", "steps", "table", "plot", "generate", "accuracy")

#: Seconds a command may run unless it sets its own default (``p.set_defaults(budget=...)``,
#: for commands that go over the whole catalogue: :data:`CATALOGUE_BUDGET`) or the user gives
#: ``--timeout``.
DEFAULT_TIMEOUT = 60.0
CATALOGUE_BUDGET = 600.0
#: Extra seconds after --timeout before a command that manages its own budget is stopped.
_BACKSTOP = 10.0


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are one line and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        prefix = "" if self.prog == "symderiv" else f"{self.prog.removeprefix('symderiv ')}: "
        raise SymderivError(prefix + message)


def build_parser() -> argparse.ArgumentParser:
    """The full parser, with every subcommand registered."""
    parser = _Parser(
        prog="symderiv",
        description="Derivatives of neural-network activation functions, symbolic and exact.",
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"symderiv {__version__}")
    parser.add_argument(
        "--timeout", type=float, default=None, metavar="SECONDS",
        help=f"time budget for the command (default {DEFAULT_TIMEOUT:g} s, more for some commands);"
        " when it is spent: exit 2 ('verify': undecided)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMANDS:
        module = f"symderiv.commands.{name.replace('-', '_')}"
        try:
            importlib.import_module(module).register(sub)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise
            # a command listed before its module landed: the others must still work
            # ('symderiv NAME' then says "invalid choice"); tests of that command catch it
    return parser


def print_json(obj: object) -> None:
    """JSON on stdout, the contract other tools rely on."""
    json.dump(obj, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit status (0, 1, 2 bad input or budget spent, 3, 70 a bug)."""
    from .budget import _Expired, time_limit

    try:
        for item in sys.argv[1:] if argv is None else argv:
            if "\x00" in str(item):  # only possible in-process: a shell cannot pass one
                raise SymderivError(f"argument {str(item)[:40]!r} contains a NUL character")
        args = build_parser().parse_args(argv)
        if args.timeout is None:
            args.timeout = float(getattr(args, "budget", DEFAULT_TIMEOUT))
        if not (0 < args.timeout <= 86400):
            raise SymderivError(f"--timeout must be between 0 and 86400 seconds, got {args.timeout:g}")
        # a command that answers within its budget itself (verify: undecided) gets a backstop
        backstop = _BACKSTOP if getattr(args, "own_budget", False) else 0.0
        with time_limit(args.timeout + backstop):
            return int(args.func(args) or 0)
    except SymderivError as exc:
        print(f"symderiv: error: {exc}", file=sys.stderr)
        return 2
    except _Expired:  # an alarm that escaped its block (e.g. while unwinding): still one line
        print("symderiv: error: time budget exceeded (raise it with --timeout SECONDS)", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("symderiv: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except RecursionError:
        print("symderiv: error: input too complex (nested too deeply)", file=sys.stderr)
        return 2
    except MemoryError:
        print("symderiv: error: input too complex (out of memory; "
              "SYMDERIV_MAX_MEMORY_MB sets the cap)", file=sys.stderr)
        return 2
    except Exception as exc:
        if os.environ.get("SYMDERIV_DEBUG"):
            raise
        msg = " ".join(str(exc).split())[:200]
        print(f"symderiv: internal error: {type(exc).__name__}: {msg} "
              "(a bug: SYMDERIV_DEBUG=1 shows the traceback)", file=sys.stderr)
        return 70


def run() -> None:
    """Console-script entry point: caps memory, never prints a traceback."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
    try:
        from .budget import limit_memory

        limit_memory()
        status = main()
        sys.stdout.flush()
    except BrokenPipeError:
        # the reader went away (``symderiv list | head -1``): not an error, and no noise at exit
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        status = 0
    except BaseException as exc:  # the last line of defence: one line, never a traceback
        if isinstance(exc, SystemExit):
            raise
        if os.environ.get("SYMDERIV_DEBUG"):
            raise
        print(f"symderiv: internal error: {type(exc).__name__}", file=sys.stderr)
        status = 70
    sys.exit(status)
