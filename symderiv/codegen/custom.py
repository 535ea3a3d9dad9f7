"""Kernels for a custom activation: ``symderiv generate --expr TEXT --name NAME``.

1. The text becomes an :class:`~symderiv.catalogue.Activation` through
   :func:`symderiv.derivation.custom` (the safe parser; never ``eval``), named ``NAME``
   (:func:`check_name`: a Python identifier that is not a keyword, not a catalogue name or alias,
   and not a name the generated modules use themselves).
2. :func:`symderiv.codegen.emit.render_custom` builds its kernels exactly as the catalogue's (the
   same stable rewrites, clips, patches, runtime): a package with ``NAME.py``, ``torch/`` and
   ``jax/``.
3. The package is imported from a temporary directory and measured against mpmath
   (:mod:`symderiv.accuracy`, the catalogue's bound: 8 ULP, 16 for g'', + 4 x the condition
   number) on the test grid (381 points: dense near 0, the tails, ±1e300, subnormals, ±0, ±inf,
   NaN). A kernel over its bound anywhere is refused (:class:`~symderiv.errors.UnstableKernel`):
   what the rewrites could not make stable is never written.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib.util
import keyword
import re
import sys
import tempfile
from pathlib import Path

from ..catalogue import Activation
from ..errors import SymderivError, UnknownActivation, UnstableKernel

__all__ = ["activation", "check_name", "check_stable", "loaded", "measure", "other_package", "render"]

#: Names the generated modules and packages use for themselves (a kernel of that name would
#: shadow them).
RESERVED = frozenset({"torch", "jax", "jnp", "numpy", "scipy", "math", "functools", "importlib", "apply", "fix",
                      "patch", "product_hi", "product_lo", "select", "xp_special", "xp_tanh", "Activation", "CONVENTIONS"})

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")


def check_name(name: str) -> str:
    """``name`` if a custom activation may be called so, else :class:`SymderivError`.

    >>> check_name("quick_gelu")
    'quick_gelu'
    >>> check_name("swish")
    Traceback (most recent call last):
    ...
    symderiv.errors.SymderivError: --name 'swish' is the catalogue's silu: choose another name
    """
    from ..catalogue import get

    shown = name if len(name) <= 40 else name[:40] + "..."
    if not _NAME.fullmatch(name):
        raise SymderivError(f"--name {shown!r} is not a name for a kernel: a letter, then letters, digits or _ "
                            "(at most 64)")
    if keyword.iskeyword(name) or name in RESERVED:
        raise SymderivError(f"--name {name!r} is reserved (a Python keyword or a name the generated code uses)")
    try:
        entry = get(name)
    except UnknownActivation:
        return name
    raise SymderivError(f"--name {name!r} is the catalogue's {entry.name}: choose another name")


def activation(text: str, name: str) -> Activation:
    """The custom activation of ``text`` (in z), called ``name`` (:func:`check_name`)."""
    from ..derivation import custom

    check_name(name)
    act = custom(text)
    return dataclasses.replace(act, name=name, description=" ".join(text.split()))


def render(act: Activation) -> dict[str, str]:
    """``{filename: text}`` of the kernels package of ``act``; :class:`SymderivError` when the
    generator cannot make them (a function it has no stable form or printer for)."""
    from .emit import render_custom

    try:
        return render_custom(act)
    except SymderivError:
        raise
    except Exception as exc:  # the generator's own limits, said in one line
        raise SymderivError(f"cannot generate kernels for {act.name} = {act.expr}: "
                            f"{type(exc).__name__}: {exc}"[:300]) from None


@contextlib.contextmanager
def loaded(files: dict[str, str]):
    """The package made of ``files``, imported from a temporary directory under a private name."""
    with tempfile.TemporaryDirectory(prefix="symderiv-custom-") as tmp:
        for rel, text in files.items():
            path = Path(tmp) / rel
            path.parent.mkdir(exist_ok=True)
            path.write_text(text)
        name = f"_symderiv_custom_{abs(hash(tuple(files.values()))):x}"
        spec = importlib.util.spec_from_file_location(name, Path(tmp) / "__init__.py",
                                                      submodule_search_locations=[tmp])
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
            yield module
        finally:
            for key in [k for k in sys.modules if k == name or k.startswith(name + ".")]:
                del sys.modules[key]


def measure(act: Activation, module, size: str = "test") -> list[dict]:
    """The accuracy rows (as ``symderiv accuracy --json``) of the kernels in ``module``."""
    from .. import accuracy

    return accuracy.run([accuracy.custom_key(act)], size, peers=False, module=module)


def check_stable(act: Activation, files: dict[str, str]) -> list[dict]:
    """The accuracy rows of the kernels in ``files``; :class:`UnstableKernel` when one is over
    its bound at some point of the test grid."""
    with loaded(files) as module:
        rows = measure(act, module)
    bad = [r for r in rows if r["over_bound"]]
    if bad:
        r = bad[0]
        raise UnstableKernel(
            f"{r['kernel']} of {act.expr} is {r['worst_ulp']:.3g} ULP off at "
            f"{'a' if r['kernel'].endswith('_from_output') else 'z'} = {r['at']:.6g} against a bound of "
            f"{r['allowed']:.3g} ({r['over_bound']} point(s) over it): the stable rewrites do not cover this "
            "expression; kernels not written")
    return rows


def other_package(out: Path, act: Activation) -> str | None:
    """The source line of the kernels package already in ``out`` when it is another one (the
    catalogue's, another custom activation's), else None: writing there would replace its
    ``__init__.py``. Said before any rendering."""
    from .output import HEADER_MARK, MAX_FILE_BYTES

    init = out / "__init__.py"
    try:
        if init.is_symlink() or not init.is_file() or init.stat().st_size > MAX_FILE_BYTES:
            return None  # missing, or not ours: write() says what it refuses
        lines = init.read_bytes().decode("utf-8", errors="replace").split("\n", 2)
    except OSError:
        return None
    if len(lines) < 2 or lines[0] != HEADER_MARK:
        return None
    theirs = lines[1].removeprefix("# source: ").split("; generator:")[0]
    return None if theirs == f"custom activation {act.name!r} = {act.expr}" else theirs
