"""One chunk function: a list of expressions in the primitive algebra -> the source of a function
that computes them in place, on one cache-sized chunk of the input.

The pipeline, for ``chunk_source(name, exprs, var, params, act)``:

1. the single points are peeled off (the ``Where(IsNan(var), ...)`` and ``Where(Equal(var, ±oo), ...)``
   layers :func:`.assemble.kernels_for` adds, and a kink's own value);
2. the ``results`` passes of :data:`.passes.PASSES` run on all results together;
3. each result is lowered to elementary functions (:func:`.rewrites.stable`, in the stable forms
   ``variant``), and the ``expr`` passes run on it;
4. ``sympy.cse`` shares common subexpressions, the conditions it named go back where they are
   used (the printer needs them there), and the ``temporaries`` passes run on its output;
5. SymPy's printer writes each temporary and result (:class:`.printer.KernelPrinter`), and
   :func:`.lower.lower` turns them into in-place ufunc calls.

:func:`evaluate` runs such a function at generation time (at the activation's default
parameters): the passes that decide by measuring, and :func:`.assemble.kernels_for`, use it.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

import sympy
from sympy import Expr, Symbol, oo

from ..catalogue import Activation, z
from . import single
from .lower import lower
from .passes import PASSES, Context
from .printer import Equal, IsNan, KernelPrinter, Where
from .rewrites import stable

__all__ = ["PRINTER_SETTINGS", "chunk_source", "evaluate", "runtime_namespace"]


#: Settings of the :class:`.printer.KernelPrinter` every chunk function is printed with.
PRINTER_SETTINGS: dict = {}


def chunk_source(name: str, exprs: Sequence[Expr], var: Symbol, params: Sequence[Symbol],
                 act: Activation | None = None, keep: Sequence[int] | None = None,
                 parts_made: dict | None = None, *, variant: str | None = None,
                 skip: Collection[str] = (), also32: list | None = None) -> list[str]:
    """The source of one chunk function ``name(var, _o, _w, *params)`` (see :mod:`.lower`).

    ``also32``, a list, gets the same code lowered for float32 (``name + "_f32"``, see
    :mod:`.single`) appended, or, where it has no float32 body, why: it computes a costly branch
    apart (the runtime's ``patch``), or calls scipy (gelu's erfc).

    Single points are handled apart: the outer ``Where(IsNan(var), ...)`` and
    ``Where(Equal(var, ±oo), ...)`` layers that :func:`.assemble.kernels_for` adds are peeled
    off, and the function patches those entries (``fix`` from the runtime) only when the chunk
    holds a non-finite input (one ``sum`` tells: it is finite otherwise, or overflowed, which
    merely costs the check); a kink's own value (``Where(Equal(var, b), ...)``) is written where
    one comparison finds ``var == b``. With ``act``, the ``needs_act`` passes of
    :data:`.passes.PASSES` run too: every ``Where`` on an order relation is made branch-free,
    clips are shared, a costly branch is computed apart.

    ``keep`` (indices into ``exprs``) computes those results only, with the very operations the
    function of all of them would use: ``g(z)`` gives the bits of ``value_and_grad(z)[0]``.
    A costly branch computed apart is a chunk function of its own, written here unless
    ``parts_made`` (``(branch, variant)`` -> function name, filled in) already has it.
    ``variant`` names the primitives' stable forms (:data:`.rewrites.VARIANTS`; None: the
    default); ``skip`` names passes to leave out (the tests print each kernel without each pass).
    """
    parts: list[str] = []
    made = {} if parts_made is None else parts_made

    def part(costly: Expr) -> Symbol:
        key = (costly, variant)
        if key not in made:
            made[key] = f"_{act.name}_part{len(made)}"
            parts.extend([*chunk_source(made[key], [costly], var, params, act, variant=variant, skip=skip),
                          "", ""])
        return sympy.Symbol(made[key])

    def run(expr: Expr, points, blends: bool = True) -> list[float]:
        return evaluate(expr, act, points, var, blends, variant=variant, skip=skip)

    symbols = sympy.numbered_symbols("_t")
    ctx = Context(act, var, params, variant, run, part, symbols, len(exprs))
    passes = [p for p in PASSES if p.name not in skip and (act is not None or not p.needs_act)]
    peeled = [_peel(e, var) for e in exprs]
    for p in passes:
        if p.stage == "results":
            peeled = p.apply(peeled, ctx)
    exprs = []
    for e, _ in peeled:
        # a branch inside a stable form (erfc's series in gelu' = Phi + z phi) is lifted to the
        # top, where a costly one runs only on the entries that take it (costly_branch)
        e = sympy.piecewise_fold(stable(e, variant))
        for p in passes:
            if p.stage == "expr":
                e = p.apply(e, ctx)
        exprs.append(e)  # every result, kept or not: cse must see what value_and_grad's sees
    keep = range(len(exprs)) if keep is None else keep
    kept = [peeled[k] for k in keep]

    def printed(exprs):
        """(assignments, results, fixes, points) of the printed code for ``exprs``, as
        :func:`.lower.lower` takes them."""
        ctx.symbols = sympy.numbered_symbols("_t")
        repl, reduced = _conditions_in_place(*sympy.cse(exprs, symbols=ctx.symbols, order="canonical"))
        for p in passes:
            if p.stage == "temporaries":
                repl, reduced = p.apply(repl, reduced, ctx)
        reduced = [reduced[k] for k in keep]
        needed = set().union(*(e.free_symbols for e in reduced))
        live = []
        for sym, e in reversed(repl):  # the temporaries the kept results use
            if sym in needed:
                live.append((sym, e))
                needed |= e.free_symbols
        repl = live[::-1]
        arrays = {var}
        for sym, e in repl:
            if e.free_symbols & arrays:
                arrays.add(sym)
        printer = KernelPrinter(PRINTER_SETTINGS, arrays)
        fixes, points = [], []
        for k, (_, specials) in enumerate(kept):
            far = [(p, v) for p, v in specials if p in (oo, -oo, sympy.nan)]
            if far:
                fixes.append((k, "(" + ", ".join(f"({printer.doprint(p)}, {printer.doprint(v)})" for p, v in far) + ",)"))
            points += [(k, printer.doprint(p), printer.doprint(v)) for p, v in specials if (p, v) not in far]
        return ([(str(sym), printer.doprint(e)) for sym, e in repl], [printer.doprint(e) for e in reduced],
                fixes, points)

    lowered = printed(exprs)
    lines = lower(name, var.name, [p.name for p in params], *lowered)
    if also32 is not None:
        why = next((reason for mark, reason in (("patch(", "computes a costly branch apart"),
                                                 ("scipy.", "calls scipy"))
                    if any(mark in line for line in lines)), None)
        if why is None:
            exprs32 = [single.float32_form(e) for e in exprs]
            if exprs32 != exprs:
                lowered = printed(exprs32)
        also32.append(why or lower(f"{name}_f32", var.name, [p.name for p in params], *lowered, dtype="float32"))
    return parts + lines


def _conditions_in_place(repl, reduced):
    """Put shared conditions (``z > 0``) back where they are used: the printer turns a
    ``Where`` on a relation into arithmetic, which it cannot do on a precomputed boolean."""
    conds = {}
    out = []
    for sym, e in repl:
        e = e.xreplace(conds)
        if isinstance(e, sympy.core.relational.Relational):
            conds[sym] = e
            continue
        out.append((sym, e))
    return out, [e.xreplace(conds) for e in reduced]


def _peel(expr: Expr, var: Symbol) -> tuple[Expr, list[tuple[Expr, Expr]]]:
    """``expr`` without its outer layers for non-finite ``var``, and those as (point, value) pairs."""
    specials: list[tuple[Expr, Expr]] = []
    while isinstance(expr, Where):
        cond, value, rest = expr.args
        if isinstance(cond, IsNan) and cond.args[0] == var:
            point, value = sympy.nan, sympy.nan
        elif isinstance(cond, Equal) and cond.args[0] == var and not cond.args[1].has(var):
            point = cond.args[1]  # ±oo, or a kink whose value is neither one-sided limit
        else:
            break
        if all(p is not point for p, _ in specials):  # an outer layer wins
            specials.append((point, value))
        expr = rest
    return expr, specials


def evaluate(expr: Expr, act: Activation, values, var: Symbol = z, blends: bool = True, *,
             variant: str | None = None, skip: Collection[str] = ()) -> list[float]:
    """The printed kernel of ``expr`` (in ``var``) at default parameters, on ``values`` (float64):
    printed for ``act`` (all passes) or, with ``blends=False``, without the ``needs_act`` passes;
    ``variant`` and ``skip`` as for :func:`chunk_source`."""
    import numpy

    lines = chunk_source("_probe", [expr], var, [p.symbol for p in act.params], act if blends else None,
                         variant=variant, skip=skip)
    runtime = runtime_namespace()
    namespace = {"numpy": numpy, **{h: runtime[h] for h in ("fix", "select", "patch", "erfc", "product_hi", "product_lo")}}
    exec("\n".join(lines), namespace)
    kwargs = {p.name: float(p.default) for p in act.params}
    r = runtime["apply"](namespace["_probe"], numpy.array(values, dtype=float), None, 1, kwargs)
    return [float(v) for v in r]


def runtime_namespace() -> dict:
    """The namespace of :mod:`symderiv.codegen.runtime` (what generated code imports from ``_runtime``)."""
    from . import runtime

    return vars(runtime)
