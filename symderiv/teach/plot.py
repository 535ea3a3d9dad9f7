"""Pictures like the lesson's infographic: one panel per activation with g and g', kinks marked.

Each panel draws g (solid) and g' (dashed), every smooth piece separately so
that a jump is never drawn as a vertical line. At each kink, g' gets an open
circle at each one-sided limit and a filled dot at the value the chosen
convention takes there (PyTorch's by default); where g itself jumps, g gets the
same treatment. The a-form, when there is one, is in the panel's title; a corner
box gives the maximum slope and the gradient-flow verdicts of
:func:`symderiv.teach.table.table_row` (vanishing gradient, dead zone) and the
convention's value at each kink.
Matplotlib is an optional dependency (``pip install 'symderiv[plot]'``); the
figure is drawn without pyplot, on the Agg canvas, and saved as PNG, SVG or
PDF according to the file's extension.
"""

from __future__ import annotations

import math
import stat
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import sympy

from .. import calculus
from ..catalogue import z
from ..derivation import derive
from ..errors import SymderivError
from .steps import _aform_fallback
from .table import table_row

__all__ = ["FORMATS", "figure", "plot"]

FORMATS = ("png", "svg", "pdf")
_G, _D = "#1f5fbf", "#d9480f"  # g blue (as in the lesson), g' orange


def _matplotlib():
    try:
        import matplotlib
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise SymderivError("plotting needs matplotlib: pip install 'symderiv[plot]'") from None
    return matplotlib, Figure, FigureCanvasAgg


def _window(points: Sequence[float]) -> tuple[float, float]:
    lo, hi = -5.0, 5.0
    if points:
        lo, hi = min(lo, min(points) - 2), max(hi, max(points) + 2)
    return lo, hi


def _curve(ax, expr, lo: float, hi: float, **style) -> None:
    """Plot each piece of ``expr`` on its own open interval (no line across a jump)."""
    for p in calculus.pieces(expr):
        a = lo if p.lo == -sympy.oo else max(lo, float(p.lo))
        b = hi if p.hi == sympy.oo else min(hi, float(p.hi))
        if a >= b:
            continue
        t = np.linspace(a, b, 400)
        f = sympy.lambdify(z, p.expr, [{"erf": _erf}, "numpy"])
        y = np.broadcast_to(np.asarray(f(t), dtype=float), t.shape)
        ax.plot(t, y, **style)
        style.pop("label", None)


_erf = np.vectorize(math.erf, otypes=[float])


def _dots(ax, x: float, left: float, right: float, value: float | None, color: str) -> None:
    for y in {left, right}:
        ax.plot([x], [y], "o", markersize=7, markerfacecolor="white", markeredgecolor=color, zorder=5)
    if value is not None:
        ax.plot([x], [value], "o", markersize=6, color=color, zorder=6)


def _verdicts(row: dict) -> list[str]:
    """The infographic's marks: the maximum slope and the gradient-flow verdicts, from the table."""
    top = sympy.sympify(row["max_derivative"], locals={"Symbol": sympy.Symbol})
    where = row["max_derivative_at"]
    at = " (on an interval)" if where is None else f" at z = {_short(sympy.sympify(where))}"
    out = [f"max g' = {_short(top)}{at}"]
    out.append("✗ vanishing gradient" if row["vanishing_gradient"] else "✓ no vanishing gradient")
    if row["dead_zone"]:
        out.append("✗ dead zone (g' = 0 on an interval)")
    return out


def _short(expr) -> str:
    if isinstance(expr, sympy.Piecewise):  # "1 if a > 0, alpha otherwise", as the lesson writes it
        return ", ".join(f"{_short(v)} otherwise" if c == sympy.true else f"{_short(v)} if {c}"
                         for v, c in expr.args)
    if expr.is_number and (not expr.is_Rational or len(str(expr)) > 8):
        return f"{float(expr):.6g}"
    return str(expr).replace("**", "^").replace("*", "·")


def figure(
    names: Sequence[str],
    *,
    derivative_only: bool = False,
    convention: str = "torch",
):
    """A matplotlib ``Figure`` with one panel per activation (parameters at their defaults).

    ``names`` are catalogue names or :class:`~symderiv.catalogue.Activation` records
    (e.g. from :func:`symderiv.custom`).
    """
    _, Figure, FigureCanvasAgg = _matplotlib()
    n = len(names)
    if n == 0:
        raise SymderivError("plot: give at least one activation")
    cols = 2 if n == 4 else min(n, 3)
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(4.6 * cols, 3.6 * rows), layout="constrained")
    FigureCanvasAgg(fig)
    for i, name in enumerate(names):
        d = derive(name, defaults=True, convention=convention)
        ax = fig.add_subplot(rows, cols, i + 1)
        points = [float(k.z) for k in d.kinks]
        lo, hi = _window(points)
        if not derivative_only:
            _curve(ax, calculus.to_piecewise(d.definition), lo, hi, color=_G, lw=2, label="g(z)")
        _curve(ax, d.derivative, lo, hi, color=_D, lw=2, ls="--", label="g'(z)")
        notes = _verdicts(table_row(name, convention=convention))
        for k in d.kinks:
            x = float(k.z)
            value = k.values.get(convention)
            _dots(ax, x, float(k.left), float(k.right), None if value is None else float(value), _D)
            if not k.continuous and not derivative_only:
                pcs = calculus.pieces(d.definition)
                left_piece = next(p for p in pcs if p.hi == k.z)
                right_piece = next(p for p in pcs if p.lo == k.z)
                g_left = float(calculus._limit(left_piece.expr, k.z, "-"))
                g_right = float(calculus._limit(right_piece.expr, k.z, "+"))
                _dots(ax, x, g_left, g_right, float(d.definition.subs(z, k.z)), _G)
            if value is not None:
                notes.append(f"g'({_short(k.z)}) = {_short(value)} ({convention})")
        ax.axhline(0, color="0.75", lw=0.8, zorder=0)
        ax.axvline(0, color="0.75", lw=0.8, zorder=0)
        ax.set_xlim(lo, hi)
        ax.grid(alpha=0.3)
        title = d.name
        form = d.aform if d.aform is not None or d.aform_note else _aform_fallback(d.definition, d.derivative)
        if form is not None:
            title += f"   g' = {_short(form)}"
        ax.set_title(title, fontsize=11)
        ax.set_xlabel("z")
        if notes:
            ax.text(0.02, 0.97, "\n".join(notes), transform=ax.transAxes, va="top", fontsize=8,
                    bbox={"boxstyle": "round", "fc": "white", "ec": "0.8"})
        ax.legend(loc="best", fontsize=8)
    return fig


def plot(
    names: Sequence[str],
    path: str | Path,
    *,
    derivative_only: bool = False,
    convention: str = "torch",
) -> Path:
    """Draw :func:`figure` and save it; the format (PNG, SVG, PDF) follows the extension."""
    path = Path(path)
    ext = path.suffix.lower().lstrip(".")
    if ext not in FORMATS:
        raise SymderivError(f"plot: output file must end in .png, .svg or .pdf, got {path.name!r}")
    if not path.parent.is_dir():
        raise SymderivError(f"plot: no such directory: {path.parent}")
    try:  # a FIFO or a device would make the write wait or go nowhere: a regular file or nothing
        mode = path.stat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as exc:
        raise SymderivError(f"plot: cannot write {path}: {exc.strerror or exc}") from None
    if mode is not None and not stat.S_ISREG(mode):
        raise SymderivError(f"plot: {path} exists and is not a regular file")
    fig = figure(names, derivative_only=derivative_only, convention=convention)
    try:
        fig.savefig(path, format=ext, dpi=120)
    except OSError as exc:
        raise SymderivError(f"plot: cannot write {path}: {exc.strerror or exc}") from None
    return path
