"""The exceptions symderiv raises.

Every error a user can cause is a :class:`SymderivError`; its message is one
line, fit to print after ``symderiv: error:``. The CLI maps each of them to
exit status 2; anything else escaping is a bug.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = [
    "BadParameterValue",
    "BudgetExceeded",
    "ClaimsFileError",
    "GeneratedFileError",
    "InputTooLarge",
    "ParseError",
    "SymderivError",
    "UnknownActivation",
    "UnknownConvention",
    "UnknownParameter",
    "UnstableKernel",
]


class SymderivError(ValueError):
    """Base class: bad input from the user, with a one-line message."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


class UnknownActivation(SymderivError, LookupError):
    """A name that is neither a canonical activation name nor an alias."""


class UnknownParameter(SymderivError, LookupError):
    """A parameter name the activation does not have."""


class BadParameterValue(SymderivError):
    """A parameter value that is not a number, or violates its assumptions."""


class UnknownConvention(SymderivError, LookupError):
    """A kink convention that is not one of the known profiles."""


class ParseError(SymderivError):
    """Text that is not an allowed expression."""


class InputTooLarge(ParseError):
    """An expression whose size, integers or exponents exceed the limits."""


class UnstableKernel(SymderivError):
    """A custom activation whose generated kernel is over its accuracy bound: not written."""


class BudgetExceeded(SymderivError):
    """A computation that did not finish within its time budget."""


class ClaimsFileError(SymderivError):
    """A claims file that is missing, malformed, or has a claim missing fields."""


class GeneratedFileError(SymderivError):
    """A generated file that would be lost or is not ours to write."""


def closest(word: str, candidates: Iterable[str], n: int = 3) -> str:
    """Return ``"; did you mean X or Y?"`` for the closest candidates, or ``""``."""
    found = difflib.get_close_matches(word, sorted(set(candidates)), n=n, cutoff=0.5)
    if not found:
        return ""
    return "; did you mean " + " or ".join(repr(f) for f in found) + "?"
