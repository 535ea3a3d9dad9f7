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
import signal
import sys
from collections.abc import Sequence

from .errors import SymderivError

#: Subcommand modules, in the order ``--help`` lists them.
COMMANDS = ("list", "derive", "verify", "steps", "table", "plot", "lesson", "generate", "accuracy")

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

    parser.add_argument("-V", "--version", action="version", version=f"symderiv {__version__}")
    timeout_help = (f"time budget for the command (default {DEFAULT_TIMEOUT:g} s, more for some commands);"
                    " when it is spent: exit 2 ('verify': undecided)")
    parser.add_argument("--timeout", type=float, default=None, metavar="SECONDS", help=timeout_help)
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
    # global options are accepted after the subcommand too ('symderiv verify ... --timeout 5');
    # SUPPRESS: given only there, they never overwrite the value given before the subcommand
    for command in sub.choices.values():
        command.add_argument("--timeout", type=float, default=argparse.SUPPRESS, metavar="SECONDS",
                             help=timeout_help)
    return parser


def print_json(obj: object) -> None:
    """JSON on stdout, the contract other tools rely on."""
    json.dump(obj, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")


class _Signalled(BaseException):
    """A termination signal (SIGTERM, SIGHUP) as an exception: ``finally`` blocks still run."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


class _OutputFailed(SymderivError):
    """Standard output cannot be written (``/dev/full``, a closed descriptor, an I/O error)."""


def report(line: str) -> None:
    """Write one line to stderr, or nowhere when stderr is closed: never into the output."""
    stream = sys.stderr
    if stream is None:
        return
    with contextlib.suppress(OSError, ValueError):
        stream.write(line + "\n")
        stream.flush()


def _os_message(exc: OSError) -> str:
    """One line for an error of the operating system: what failed, on which path."""
    why = exc.strerror or str(exc) or type(exc).__name__
    name = exc.filename
    if name is None:
        return why
    from .files import short_path

    return f"{short_path(name if isinstance(name, (str, bytes)) else str(name))}: {why}"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return the exit status (0, 1, 2 bad input or budget spent, 3, 70 a bug,
    128 + N on signal N).

    Messages go to stderr only, one line each; an error of the operating system caused by the
    user's paths or environment (a name too long, a directory where a file should be, a full
    disk under standard output) is bad input, exit 2.
    """
    from .budget import Expired, time_limit

    try:
        for item in sys.argv[1:] if argv is None else argv:
            if "\x00" in str(item):  # only possible in-process: a shell cannot pass one
                raise SymderivError(f"argument {str(item)[:40]!r} contains a NUL character")
        parser = build_parser()
        if not (sys.argv[1:] if argv is None else argv):  # a bare 'symderiv': what can I do?
            stream = sys.stderr
            if stream is not None:
                with contextlib.suppress(OSError, ValueError):
                    stream.write(parser.format_help())
            return 2
        args = parser.parse_args(argv)
        if args.timeout is None:
            args.timeout = float(getattr(args, "budget", DEFAULT_TIMEOUT))
        if not (0 < args.timeout <= 86400):
            raise SymderivError(f"--timeout must be between 0 and 86400 seconds, got {args.timeout:g}")
        # a command that answers within its budget itself (verify: undecided) gets a backstop
        backstop = _BACKSTOP if getattr(args, "own_budget", False) else 0.0
        with time_limit(args.timeout + backstop):
            return int(args.func(args) or 0)
    except SymderivError as exc:
        report(f"symderiv: error: {exc}")
        return 2
    except Expired:  # an alarm that escaped its block (e.g. while unwinding): still one line
        report("symderiv: error: time budget exceeded (raise it with --timeout SECONDS)")
        return 2
    except KeyboardInterrupt:
        report("symderiv: interrupted")
        return 130
    except _Signalled as exc:
        report(f"symderiv: terminated by {signal.Signals(exc.signum).name}")
        return 128 + exc.signum
    except BrokenPipeError:
        return 0
    except OSError as exc:
        report(f"symderiv: error: {_os_message(exc)}")
        return 2
    except RecursionError:
        report("symderiv: error: input too complex (nested too deeply)")
        return 2
    except MemoryError:
        report("symderiv: error: input too complex (out of memory; SYMDERIV_MAX_MEMORY_MB sets the cap)")
        return 2
    except Exception as exc:
        if os.environ.get("SYMDERIV_DEBUG"):
            raise
        msg = " ".join(str(exc).split())[:200]
        report(f"symderiv: internal error: {type(exc).__name__}: {msg} "
               "(a bug: SYMDERIV_DEBUG=1 shows the traceback)")
        return 70


class _Output:
    """Standard output whose write errors are bad input (one line, exit 2), not a bug.

    A reader that went away (``BrokenPipeError``) stays what it is: quiet, exit 0.
    """

    def __init__(self, stream) -> None:
        self._stream = stream

    def _guard(self, call, *args):
        try:
            return call(*args)
        except BrokenPipeError:
            raise
        except (OSError, ValueError) as exc:
            why = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            raise _OutputFailed(f"cannot write to standard output: {why}") from None

    def write(self, text: str) -> int:
        return self._guard(self._stream.write, text)

    def flush(self) -> None:
        self._guard(self._stream.flush)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def _standard_descriptors() -> set[int]:
    """Reopen closed descriptors 0, 1, 2 on ``/dev/null``; return the ones that were closed.

    A file opened later must never become descriptor 1 or 2: the output or an error
    message would be written into it.
    """
    closed = set()
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            closed.add(fd)
    for fd in sorted(closed):
        with contextlib.suppress(OSError):
            null = os.open(os.devnull, os.O_RDWR)
            if null != fd:
                os.dup2(null, fd)
                os.close(null)
    return closed


def _on_signal(signum, frame):
    raise _Signalled(signum)


def _quiet_stdout() -> None:
    """Point descriptor 1 at /dev/null so the interpreter's final flush cannot fail again."""
    with contextlib.suppress(OSError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def run() -> None:
    """Console-script entry point: caps memory, never prints a traceback.

    SIGTERM and SIGHUP unwind like an exception (temporary files are removed, worker
    processes ended) and exit with 128 + the signal's number after one line on stderr.
    """
    closed = _standard_descriptors()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(errors="backslashreplace")  # type: ignore[union-attr]
    for signame in ("SIGTERM", "SIGHUP"):
        if hasattr(signal, signame):
            signal.signal(getattr(signal, signame), _on_signal)
    real_stdout = sys.stdout
    try:
        from .budget import limit_memory

        if 1 in closed or sys.stdout is None:
            raise _OutputFailed("standard output is closed (redirect it, e.g. >/dev/null, to discard it)")
        sys.stdout = _Output(sys.stdout)
        limit_memory()
        status = main()
        sys.stdout.flush()
    except BrokenPipeError:
        # the reader went away (``symderiv list | head -1``): not an error, and no noise at exit
        _quiet_stdout()
        status = 0
    except SymderivError as exc:
        report(f"symderiv: error: {exc}")
        if isinstance(exc, _OutputFailed) and real_stdout is not None:
            _quiet_stdout()
        status = 2
    except _Signalled as exc:
        report(f"symderiv: terminated by {signal.Signals(exc.signum).name}")
        status = 128 + exc.signum
    except BaseException as exc:  # the last line of defence: one line, never a traceback
        if isinstance(exc, SystemExit):
            raise
        if os.environ.get("SYMDERIV_DEBUG"):
            raise
        report(f"symderiv: internal error: {type(exc).__name__}")
        status = 70
    finally:
        if real_stdout is not None:
            sys.stdout = real_stdout
    sys.exit(status)
