"""Progress of long work on stderr, only when stderr is a terminal (a tqdm bar).

When stderr is not a terminal (a pipe, a file, a test), nothing is shown and nothing is
imported. Results printed while a bar runs go through :meth:`Progress.print`, which writes the
line to stdout above the bar, so a streamed table row never tears the bar.

>>> with progress(["a", "b"], "working") as items:   # stderr is not a terminal under doctest
...     for item in items:
...         items.print(item)
a
b
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

__all__ = ["Progress", "progress", "stderr_is_terminal"]

T = TypeVar("T")


def stderr_is_terminal() -> bool:
    """Whether ``sys.stderr`` is an open terminal."""
    stream = sys.stderr
    if stream is None:
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, OSError, ValueError):
        return False


class Progress:
    """Iterate over ``items``; a bar on stderr when it is a terminal (see :func:`progress`)."""

    def __init__(self, items: Iterable[T] | None, desc: str, total: int | None = None,
                 unit: str = "item") -> None:
        self._items = () if items is None else items
        self._bar = None
        if stderr_is_terminal():
            import shutil

            from tqdm import tqdm

            # a terminal that reports no size (0 x 0: some pseudo-terminals) counts as 80 x 24
            # (tqdm would hide a bar on a screen of 0 rows)
            size = shutil.get_terminal_size((80, 24))
            self._bar = tqdm(items, desc=desc, total=total, unit=unit, file=sys.stderr, leave=False,
                             ncols=min(size.columns, 120), nrows=max(size.lines, 2))

    def __iter__(self) -> Iterator[T]:
        return iter(self._bar if self._bar is not None else self._items)

    def advance(self, text: str = "") -> None:
        """One item done (for work not driven by iterating: ``progress(None, desc, total=n)``)."""
        if self._bar is not None:
            if text:
                self._bar.set_postfix_str(text, refresh=False)
            self._bar.update(1)

    def set_postfix(self, text: str) -> None:
        """What is being worked on now (shown after the bar)."""
        if self._bar is not None:
            self._bar.set_postfix_str(text, refresh=True)

    def print(self, text: str) -> None:
        """``text`` and a newline on stdout, flushed (above the bar while one is shown)."""
        if self._bar is not None:
            with self._bar.external_write_mode(file=sys.stdout):
                sys.stdout.write(text + "\n")
                sys.stdout.flush()
        else:
            sys.stdout.write(text + "\n")
            sys.stdout.flush()

    def close(self) -> None:
        if self._bar is not None:
            with contextlib.suppress(OSError, ValueError):
                self._bar.close()
            self._bar = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def progress(items: Iterable[T] | None, desc: str, total: int | None = None, unit: str = "item") -> Progress:
    """A :class:`Progress` over ``items`` (use it as a context manager so the bar is cleared);
    ``items=None`` with ``total`` for work reported by :meth:`Progress.advance`."""
    return Progress(items, desc, total=total, unit=unit)
