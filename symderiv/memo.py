"""Results shared between processes: an opt-in cache on disk for pure, costly computations.

Some facts cost seconds of SymPy or thousands of mpmath digits and are asked for again by
other processes: a property-table row (the CLI, a notebook's kernel, the lesson page), the
exact reference values the accuracy measurements compare against. With the environment
variable ``SYMDERIV_CACHE_DIR`` set to a directory, each is computed once and read back by
every later process; without it, nothing is written or read. The test suite sets it to a
fresh directory for each session, so every value is still computed there, once.

An entry is keyed by what it is, its arguments (as text, so equal across processes and hash
seeds), the source of the whole ``symderiv`` package and the versions of SymPy, mpmath and
NumPy: any change to the code is a new key, never a stale answer. Entries are pickles, and
reading a pickle can run code, so a directory that someone else could have written (not
owned by this user, or writable by group or others) is not used.

>>> import os
>>> "SYMDERIV_CACHE_DIR" in os.environ or load("example", "key") is MISSING
True
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import stat
import tempfile
from pathlib import Path

__all__ = ["MISSING", "load", "store"]

#: What :func:`load` returns for an entry that is not there (or no cache is in use).
MISSING = object()

_ENV = "SYMDERIV_CACHE_DIR"


@functools.cache
def _fingerprint() -> str:
    """sha256 of the package's source files and of the numeric libraries' versions."""
    import mpmath
    import numpy
    import sympy

    h = hashlib.sha256(f"{sympy.__version__} {mpmath.__version__} {numpy.__version__}".encode())
    root = Path(__file__).resolve().parent
    for path in sorted(root.rglob("*.py")):
        h.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def _directory() -> Path | None:
    raw = os.environ.get(_ENV)
    if not raw:
        return None
    path = Path(raw)
    try:
        st = path.stat()
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return None
    return path


def _path(directory: Path, what: str, key: str) -> Path:
    digest = hashlib.sha256(f"{_fingerprint()}\0{what}\0{key}".encode()).hexdigest()
    return directory / f"{what}-{digest[:40]}.pickle"


def load(what: str, key: str) -> object:
    """The value stored for ``(what, key)`` by this code, or :data:`MISSING`; SymPy expressions
    come back as they were stored, unevaluated."""
    directory = _directory()
    if directory is None:
        return MISSING
    import sympy

    try:
        with open(_path(directory, what, key), "rb") as f, sympy.evaluate(False):
            # SymPy's unpickling calls each class on its arguments, which evaluates: squareplus'
            # derivative (z/sqrt(b + z**2) + 1)/2 would come back as z/(2*sqrt(b + z**2)) + 1/2
            return pickle.load(f)
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, ImportError):
        return MISSING


def store(what: str, key: str, value: object) -> None:
    """Keep ``value`` for ``(what, key)`` (atomically: a reader sees the old entry or the new)."""
    directory = _directory()
    if directory is None:
        return
    target = _path(directory, what, key)
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
        with os.fdopen(fd, "wb") as f:
            pickle.dump(value, f, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, target)
    except OSError:  # a full disk or a vanished directory loses an entry, nothing else
        try:
            os.unlink(tmp)
        except (OSError, UnboundLocalError):
            pass
