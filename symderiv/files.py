"""Reading the user's files: regular files only, with a size limit, refused at once otherwise.

Every path symderiv reads (a claims file, a generated file it compares or may replace) goes
through :func:`read_regular`. A FIFO, a device (``/dev/zero``), a socket or a directory
is refused before a single byte is read, so nothing can make a read wait or grow without
bound; so is a file larger than the limit.

>>> read_regular("/dev/null", 10, what="claims file")
Traceback (most recent call last):
...
symderiv.errors.SymderivError: claims file '/dev/null' is not a regular file (a character device)
"""

from __future__ import annotations

import errno
import os
import stat

from .errors import SymderivError

__all__ = ["read_regular", "short_path"]

_KINDS = (
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def short_path(path: os.PathLike | str, n: int = 80) -> str:
    """``path`` for a one-line message: whole, or its start and its end (the file's name)."""
    text = os.fsdecode(path)
    if len(text) <= n:
        return text
    tail = n * 2 // 3
    return text[: n - tail - 3] + "..." + text[-tail:]


def _shown(path: os.PathLike | str) -> str:
    return repr(short_path(path))


def read_regular(
    path: os.PathLike | str,
    limit: int,
    *,
    what: str = "file",
    error: type[SymderivError] = SymderivError,
) -> bytes:
    """The bytes of the regular file at ``path``, at most ``limit`` of them.

    Raises ``error`` (a :class:`~symderiv.errors.SymderivError`) with a one-line message
    when the file cannot be opened, is not a regular file, or holds more than ``limit``
    bytes. The open never blocks (``O_NONBLOCK``: a FIFO without a writer is refused, not
    waited for).
    """
    shown = _shown(path)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise error(f"cannot read {what} {shown}: {exc.strerror or exc}") from None
    except ValueError as exc:  # an embedded NUL
        raise error(f"cannot read {what} {shown}: {exc}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise error(f"cannot read {what} {shown}: {os.strerror(errno.EISDIR)}")
        if not stat.S_ISREG(info.st_mode):
            kind = next((name for test, name in _KINDS if test(info.st_mode)), "a special file")
            raise error(f"{what} {shown} is not a regular file ({kind})")
        if info.st_size > limit:
            raise error(f"{what} {shown} too large (limit {limit} bytes)")
        chunks, size = [], 0
        while size <= limit:  # the size may have changed since fstat: never read past the limit
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise error(f"{what} {shown} too large (limit {limit} bytes)")
        return b"".join(chunks)
    except OSError as exc:
        raise error(f"cannot read {what} {shown}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
