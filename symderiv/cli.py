"""The ``symderiv`` command line: argparse subcommands over the public API.

Each subcommand lives in ``symderiv/commands/<name>.py`` with a
``register(subparsers)`` that adds its parser and sets ``func``. Exit status:
0 success; 1 a negative answer (a refuted claim, a stale file); 2 bad input
(one line on stderr, never a traceback); 3 undecided (``verify``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import signal
import sys
from collections.abc import Sequence

from .errors import BudgetExceeded, SymderivError

#: Subcommand modules, in the order ``--help`` lists them.
COMMANDS = ("list", "derive", "verify", "steps", "table", "plot")

DEFAULT_TIMEOUT = 120.0


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
        "--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
        help=f"time budget for the command (default {DEFAULT_TIMEOUT:g} s)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMANDS:
        importlib.import_module(f"symderiv.commands.{name.replace('-', '_')}").register(sub)
    return parser


def print_json(obj: object) -> None:
    """JSON on stdout, the contract other tools rely on."""
    json.dump(obj, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


def _alarm(signum, frame):
    raise BudgetExceeded("time budget exceeded (raise it with --timeout SECONDS)")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit status."""
    try:
        args = build_parser().parse_args(argv)
        if not (0 < args.timeout <= 86400):
            raise SymderivError("--timeout must be between 0 and 86400 seconds")
        if hasattr(signal, "SIGALRM"):
            signal.signal(signal.SIGALRM, _alarm)
            signal.setitimer(signal.ITIMER_REAL, args.timeout)
        try:
            return int(args.func(args) or 0)
        finally:
            if hasattr(signal, "SIGALRM"):
                signal.setitimer(signal.ITIMER_REAL, 0)
    except SymderivError as exc:
        print(f"symderiv: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("symderiv: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except (RecursionError, MemoryError) as exc:
        print(f"symderiv: error: input too complex ({type(exc).__name__})", file=sys.stderr)
        return 2
    except Exception as exc:
        if os.environ.get("SYMDERIV_DEBUG"):
            raise
        msg = " ".join(str(exc).split())[:200]
        print(f"symderiv: internal error: {type(exc).__name__}: {msg}", file=sys.stderr)
        return 70


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
