"""A local time limit for one SymPy call that may run for minutes (SIGALRM, main thread only).

It nests inside the CLI's global ``--timeout``: the outer timer is restored,
less the time spent, and fires first when it is the shorter.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

T = TypeVar("T")


class LocalTimeout(BaseException):
    """The local limit ran out (never escapes :func:`attempt`).

    A ``BaseException`` so that SymPy's internal ``except Exception`` blocks cannot swallow it.
    """


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`LocalTimeout` inside the block after ``seconds`` (no-op off the main thread)."""
    if not hasattr(signal, "SIGALRM") or threading.current_thread() is not threading.main_thread():
        yield
        return
    outer_handler = signal.getsignal(signal.SIGALRM)
    outer_left, _ = signal.getitimer(signal.ITIMER_REAL)
    if outer_left and outer_left <= seconds:
        yield  # the outer budget is the tighter one: let it fire
        return
    start = time.monotonic()

    def _fire(signum, frame):
        raise LocalTimeout

    signal.signal(signal.SIGALRM, _fire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, outer_handler)
        if outer_left:
            signal.setitimer(signal.ITIMER_REAL, max(outer_left - (time.monotonic() - start), 1e-3))


def attempt(fn: Callable[[], T], seconds: float, default: T) -> T:
    """``fn()``, or ``default`` when it takes longer than ``seconds`` or SymPy gives up."""
    from ..errors import SymderivError

    try:
        with time_limit(seconds):
            return fn()
    except SymderivError:
        raise  # the user's budget (BudgetExceeded) or a real input error
    except (LocalTimeout, NotImplementedError, RecursionError, TypeError, ValueError):
        return default
