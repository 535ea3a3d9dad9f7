"""Bounded work: a time budget for any block of code, and the CLI's memory cap.

:func:`time_limit` raises :class:`~symderiv.errors.BudgetExceeded` when a block
runs too long. It uses ``SIGALRM``, which interrupts Python code between two
bytecodes, so also SymPy and mpmath (pure Python over big integers). The
alarm is raised as a ``BaseException`` that ``except Exception`` inside SymPy
cannot swallow, and it repeats every 0.1 s until the block has unwound, so even a
handler that swallows it once cannot keep the budget from holding (an exception raised in a
``gc`` callback, such as Hypothesis's, is printed and dropped by Python itself).
Only a single C call (one multiplication of huge integers) delays it; the parser's
limits (:data:`symderiv.parse.LIMITS`) keep those small.

Budgets nest: an inner budget never outlives the outer one. Outside the main
thread, or where ``SIGALRM`` does not exist, there is no limit.

>>> with time_limit(5):
...     sum(range(10))
45
>>> with time_limit(0.05):
...     while True:
...         pass
Traceback (most recent call last):
...
symderiv.errors.BudgetExceeded: time budget of 0.05 s exceeded (raise it with --timeout SECONDS)
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator

from .errors import BudgetExceeded, SymderivError

__all__ = ["MAX_MEMORY_MB", "Expired", "default_memory_limit", "limit_memory", "time_limit"]

#: Seconds between repeated alarms once the budget is spent: what a swallowed alarm costs. At
#: 0.5 s, one swallowed by a gc callback let a 1.5 s share run to 2 s, and the next claim of
#: ``verify --timeout 2`` was "not attempted" (a flaky test).
_REPEAT = 0.1


class Expired(BaseException):
    """The alarm, as a BaseException: ``except Exception`` in library code does not catch it."""


def _on_alarm(signum, frame):
    raise Expired


@contextlib.contextmanager
def time_limit(seconds: float | None, what: str = "time budget") -> Iterator[None]:
    """Run the block within ``seconds`` of wall time, else raise ``BudgetExceeded``.

    ``None`` means no limit (but an enclosing budget still holds).
    """
    usable = (
        seconds is not None
        and hasattr(signal, "SIGALRM")
        and threading.current_thread() is threading.main_thread()
    )
    if not usable:
        yield
        return
    if not seconds > 0:
        raise BudgetExceeded(f"{what} must be positive, got {seconds}")
    outer_left, _ = signal.getitimer(signal.ITIMER_REAL)
    precision = _mp_precision()
    ours = seconds if not outer_left else min(seconds, outer_left)
    started = time.monotonic()
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    expired = False
    signal.setitimer(signal.ITIMER_REAL, ours, _REPEAT)
    try:
        yield
    except Expired:
        expired = True
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer_left:
            left = outer_left - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(left, 1e-3), _REPEAT)
    if expired:
        # an alarm between ``mp.prec += n`` and its undoing (mpmath does not always use
        # try/finally) would leave the process computing at another precision: put it back
        _restore_mp_precision(precision)
        if outer_left and outer_left <= seconds:
            raise Expired  # the outer budget is the one spent: let it report
        raise BudgetExceeded(f"{what} of {seconds:g} s exceeded (raise it with --timeout SECONDS)")


def _mp_precision() -> int:
    mpmath = sys.modules.get("mpmath")
    return mpmath.mp.prec if mpmath is not None else 53


def _restore_mp_precision(prec: int) -> None:
    mpmath = sys.modules.get("mpmath")
    if mpmath is not None:
        mpmath.mp.prec = prec


#: The largest ``SYMDERIV_MAX_MEMORY_MB`` accepted (1 EiB: more than any address space).
MAX_MEMORY_MB = 2**40


def default_memory_limit() -> int:
    """Bytes of address space the CLI allows itself: 3/4 of RAM, between 2 and 16 GiB.

    ``SYMDERIV_MAX_MEMORY_MB`` overrides it: a whole number of megabytes from 1 to
    :data:`MAX_MEMORY_MB`, or 0 for no cap. Anything else (``abc``, ``-5``, ``1e3``, a value
    beyond the range) is refused with :class:`~symderiv.errors.SymderivError`: a mistyped
    setting never silently removes the cap.
    """
    raw = os.environ.get("SYMDERIV_MAX_MEMORY_MB")
    if raw is not None and raw.strip():
        text = raw.strip()
        shown = text if len(text) <= 30 else text[:27] + "..."
        if not (text.isascii() and text.isdigit()) or len(text) > 20 or int(text) > MAX_MEMORY_MB:
            raise SymderivError(
                f"SYMDERIV_MAX_MEMORY_MB must be a whole number of megabytes from 1 to {MAX_MEMORY_MB}"
                f" (0: no cap), got {shown!r}"
            )
        return int(text) * 2**20
    try:
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        ram = 8 * 2**30
    return int(min(max(ram * 3 // 4, 2 * 2**30), 16 * 2**30))


def limit_memory(nbytes: int | None = None) -> int:
    """Cap this process's address space (``RLIMIT_AS``) so a blow-up is a ``MemoryError``.

    Never raises the current limit; returns the cap in force (0: none). Meant for the CLI
    process only, not for a library caller's process.
    """
    try:
        import resource
    except ImportError:  # not on this platform
        return 0
    want = default_memory_limit() if nbytes is None else nbytes
    if not want:
        return 0
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    caps = [c for c in (soft, hard, want) if c != resource.RLIM_INFINITY and c > 0]
    cap = min(caps)
    try:
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    except (ValueError, OSError, OverflowError):
        return 0
    return cap
