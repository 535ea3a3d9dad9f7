"""From the catalogue to the files of the ``generated`` package: the NumPy module of each
activation, its PyTorch and JAX drop-ins (:mod:`.frameworks`), the runtimes, the package
``__init__``; with the header of :mod:`.output`.

The pipeline, one module each:

* :mod:`.assemble`: a catalogue entry -> a :class:`~.assemble.Kernel` (g, g', g'' blended from the
  pieces in the stable primitive algebra of :mod:`.rewrites`, ±inf and NaN patched, the stable
  forms chosen by :mod:`.cost`);
* :mod:`.chunk`: expressions -> the source of one chunk function, through the peephole
  passes of :data:`.passes.PASSES`, ``sympy.cse``, :mod:`.printer` and :mod:`.lower`;
* here: the chunk functions of one activation (``NAME``, ``NAME_grad``, ``NAME_grad2``,
  ``NAME_value_and_grad``, ``NAME_grad_from_output``) and the public wrappers that call them
  through the runtime :mod:`.runtime` (copied into ``generated/_runtime.py``);
* :mod:`.output`: the header, the check and the atomic write.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Collection, Iterable
from pathlib import Path

from sympy import Expr

from ..catalogue import Activation, a, all_activations, get, z
from . import frameworks, single
from .assemble import Kernel, kernels_for
from .chunk import chunk_source
from .output import with_header

__all__ = ["RUNTIME", "SUFFIXES", "exported", "render_all", "render_custom", "render_module"]


#: What each kernel computes, by suffix.
SUFFIXES = ("", "_grad", "_grad2")


def _pyfloat(v: Expr) -> str:
    return repr(float(v))


def _param_sig(act: Activation) -> tuple[str, str]:
    sig = "".join(f", {p.name}={_pyfloat(p.default)}" for p in act.params)
    call = ", ".join(f"float({p.name})" for p in act.params)
    return sig, call


_DOC = {
    "": "g(z)",
    "_grad": "g'(z) (PyTorch's value at kinks)",
    "_grad2": "g''(z) (at a kink: the side PyTorch's g' takes)",
}


def render_module(kernel: Kernel, skip: Collection[str] = ()) -> str:
    """The source of ``generated/<name>.py`` (without the header); without the passes named in
    ``skip`` (:data:`.passes.PASSES`; the tests compare the bits)."""
    act = kernel.activation
    params = [p.symbol for p in act.params]
    sig, call = _param_sig(act)
    n = act.name
    pdoc = "".join(f"\n    {p.name}: {p.description} (default {p.default})." for p in act.params)
    out = [
        f'"""Kernels for {n}: {act.description}.',
        "",
        f"g(z) = {act.expr}",
        "",
        "Generated from the symbolic catalogue; see symderiv.codegen. Every function takes an array-like",
        "(float32 stays float32, other input becomes float64) and keyword parameters, and an optional",
        "``out=`` buffer (a pair for ``value_and_grad``).",
        '"""',
        "",
        "import numpy",
    ]
    bodies = []
    parts_made: dict = {}  # one chunk function per costly branch, shared by the kernels
    pair = [kernel.orders[0], kernel.orders[1]]
    singles: list = []  # the float32 lowering of each body, in the same order (or None)
    vg32: list = []
    # first: g and g' name its costly branches as it does
    vg = chunk_source(f"_{n}_value_and_grad", pair, z, params, act, parts_made=parts_made,
                      variant=kernel.variant, skip=skip, also32=vg32)
    for k, suffix in enumerate(SUFFIXES):
        # g and g' from value_and_grad's code (the same bits), g'' on its own
        exprs, keep = (pair, [k]) if k < 2 else ([kernel.orders[k]], None)
        bodies.append(chunk_source(f"_{n}{suffix}", exprs, z, params, act, keep, parts_made,
                                   variant=kernel.variant if k < 2 else None, skip=skip, also32=singles))
    bodies.append(vg)
    singles += vg32
    suffixes = [*SUFFIXES, "_value_and_grad"]
    if kernel.aform is not None:
        bodies.append(chunk_source(f"_{n}_grad_from_output", [kernel.aform], a, params, act, skip=skip,
                                   also32=singles))
        suffixes.append("_grad_from_output")
    text = "\n".join(line for b in bodies for line in b)
    # float32 input computed in float32 where that keeps the accuracy bound (measured now)
    widen = single.decide(act, text, dict(zip(suffixes, singles, strict=True)))
    native = [s for s in suffixes if widen[s] is None]
    bodies += [singles[suffixes.index(s)] for s in native]
    out[out.index('"""')] = single.docstring(n, widen) + '"""'
    portable = frameworks.render_portable(kernel)  # the same kernels for other array libraries
    ptext = "\n".join(portable)
    if "math." in ptext:
        out.insert(out.index("import numpy"), "import math\n")
    helpers = ["apply"] + [h for h in ("erfc", "fix", "patch", "product_hi", "product_lo", "select", "xp_special",
                                       "xp_tanh")
                           if f"{h}(" in text + ptext]
    out += ["", f"from ._runtime import {', '.join(helpers)}", "", f"__all__ = {exported(kernel)!r}", "", ""]
    for b in bodies:
        out += [*b, "", ""]
    out += portable
    call_args = f"{{{', '.join(f'{p.name!r}: float({p.name})' for p in act.params)}}}"

    def f32(suffix: str) -> str:
        return f", _{n}{suffix}_f32" if suffix in native else ""

    for suffix in SUFFIXES:
        out += [
            f"def {n}{suffix}(z, *{sig}, out=None):",
            f'    """{_DOC[suffix]} for {n}, elementwise.{pdoc}"""',
            f"    return apply(_{n}{suffix}, z, out, 1, {call_args}, _{n}{suffix}_xp{f32(suffix)})",
            "",
            "",
        ]
    out += [
        f"def {n}_value_and_grad(z, *{sig}, out=None):",
        f'    """(g(z), g\'(z)) for {n}, sharing work; ``out`` is a pair of arrays or None.{pdoc}"""',
        f"    return apply(_{n}_value_and_grad, z, out, 2, {call_args}, _{n}_value_and_grad_xp"
        f"{f32('_value_and_grad')})",
        "",
        "",
    ]
    if kernel.aform is not None:
        out += [
            f"def {n}_grad_from_output(a, *{sig}, out=None):",
            f'    """g\' from the output a = g(z) (the a-form {kernel.aform}).{pdoc}"""',
            f"    return apply(_{n}_grad_from_output, a, out, 1, {call_args}, _{n}_grad_from_output_xp"
            f"{f32('_grad_from_output')})",
            "",
            "",
        ]
    del call
    return "\n".join(out).rstrip() + "\n"


def exported(kernel: Kernel) -> list[str]:
    n = kernel.activation.name
    names = [f"{n}{s}" for s in SUFFIXES] + [f"{n}_value_and_grad"]
    if kernel.aform is not None:
        names.append(f"{n}_grad_from_output")
    return names


#: The runtime the generated modules import (``generated/runtime_namespace.py``): the text of the real,
#: linted and tested module :mod:`symderiv.codegen.runtime`, copied under a header.
RUNTIME = (Path(__file__).with_name("runtime.py")).read_text(encoding="utf-8")


def render_all(names: Iterable[str] | None = None, on_done=None) -> dict[str, str]:
    """``{filename: full text with header}`` for the shared files and the named activations.

    ``on_done(name)``, if given, is called as each activation's modules are rendered (in the
    order they finish; the result does not depend on it).
    """
    acts = all_activations() if names is None else [get(n) for n in names]
    everything = list(all_activations())
    wanted = [act.name for act in everything if names is None or act in acts]
    rendered = dict(_map(_render_one, wanted, on_done))
    return _package(rendered, [act.name for act in everything], lambda n: f"catalogue entry {n!r}",
                    "the whole catalogue")


def render_custom(act: Activation) -> dict[str, str]:
    """The files of a package holding the kernels of one custom activation ``act`` (NumPy module,
    ``torch/`` and ``jax/`` drop-ins, their runtimes), as :func:`render_all` writes the catalogue's:
    the same stable rewrites, the same runtime; the header names the expression."""
    kernel = kernels_for(act)
    rendered = {act.name: (render_module(kernel), frameworks.render_torch(kernel), frameworks.render_jax(kernel))}
    source = f"custom activation {act.name!r} = {act.expr}"
    return _package(rendered, [act.name], lambda n: source, source, origin="")


def _package(rendered: dict[str, tuple[str, str, str]], modules: list[str], source_of, package_source: str,
             origin: str = "symderiv.catalogue, ") -> dict[str, str]:
    from .. import __version__

    files: dict[str, str] = {}
    init = frameworks.package_init(
        "Kernels generated from the symderiv catalogue: import and call, e.g. ``sigmoid_grad(z)``."
        if len(modules) > 1 else f"Kernels of {modules[0]} generated by symderiv: import and call, "
        f"e.g. ``{modules[0]}_grad(z)``.", modules)
    files["__init__.py"] = with_header(init, package_source, __version__, origin)
    files["_runtime.py"] = with_header(RUNTIME, "symderiv.codegen.runtime", __version__)
    for name, (module, _, _) in rendered.items():
        files[f"{name}.py"] = with_header(module, source_of(name), __version__, origin)
    for k, framework in enumerate(("torch", "jax"), start=1):
        runtime = frameworks.TORCH_RUNTIME if framework == "torch" else frameworks.JAX_RUNTIME
        files[f"{framework}/__init__.py"] = with_header(frameworks.render_init(framework, modules),
                                                         package_source, __version__, origin)
        files[f"{framework}/_runtime.py"] = with_header(
            runtime, f"symderiv/codegen/templates/{framework}_runtime.py", __version__)
        for name, sources in rendered.items():
            files[f"{framework}/{name}.py"] = with_header(sources[k], source_of(name), __version__, origin)
    return files


def _render_one(name: str) -> tuple[str, tuple[str, str, str]]:
    """The NumPy, PyTorch and JAX modules of one activation, from one :class:`Kernel`."""
    kernel = kernels_for(get(name))
    return name, (render_module(kernel), frameworks.render_torch(kernel), frameworks.render_jax(kernel))


def _map(fn, items: list[str], on_done=None):
    """``map`` over worker processes when there is enough work (the output does not depend on it);
    ``on_done(item)`` as each one finishes."""
    workers = min(len(items), os.cpu_count() or 1)
    if workers < 2 or len(items) < 4:
        out = []
        for x in items:
            out.append(fn(x))
            if on_done is not None:
                on_done(x)
        return out
    import multiprocessing

    # heaviest first, so the two workers finish together
    order = sorted(items, key=lambda n: -len(str(get(n).expr)))
    ctx = multiprocessing.get_context("spawn")
    # multiprocessing.Pool, not ProcessPoolExecutor: leaving the block by an exception (the
    # --timeout alarm, Ctrl-C) terminates the workers at once; the executor's exit waited for
    # every queued task, so an expired budget hung for minutes (measured: > 10 min)
    # a signal (Ctrl-C, SIGTERM, SIGHUP) is the parent's to handle: it ends the workers
    # itself (Pool.terminate), quietly; a worker never prints a traceback of its own
    with ctx.Pool(workers, initializer=_worker_init) as pool:
        done = {}
        for name, value in pool.imap_unordered(fn, order, chunksize=1):
            done[name] = value
            if on_done is not None:
                on_done(name)
    return [(n, done[n]) for n in items]


def _worker_init() -> None:
    """In a rendering worker: Ctrl-C is ignored (the parent terminates the pool)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
