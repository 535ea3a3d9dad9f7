"""One bounded attempt at a SymPy call that may run for minutes (``solveset``, ``limit``, ``solve``).

The alarm is the project's one mechanism, :func:`symderiv.budget.time_limit`:
it nests inside the CLI's ``--timeout``, and when the outer budget is the one
spent it propagates instead of being taken for a local give-up.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from ..budget import time_limit
from ..errors import BudgetExceeded, SymderivError

T = TypeVar("T")


def attempt(fn: Callable[[], T], seconds: float, default: T) -> T:
    """``fn()``, or ``default`` when it takes longer than ``seconds`` or SymPy gives up."""
    try:
        with time_limit(seconds, "local budget"):
            return fn()
    except BudgetExceeded:
        return default  # our own budget (an outer one spent propagates as its own alarm)
    except SymderivError:
        raise  # a real input error
    except (NotImplementedError, RecursionError, TypeError, ValueError):
        return default
