"""Pictures like the lesson's infographic: one panel per activation with g and g', kinks marked.

Each panel draws g (solid) and g' (dashed), every smooth piece separately so
that a jump is never drawn as a vertical line. At each kink, g' gets an open
circle at each one-sided limit and a filled dot at the value the chosen
convention takes there (PyTorch's by default); where g itself jumps, g gets the
same treatment. The a-form, when there is one, is in the panel's title (wrapped, so a
long one never runs into the next panel); a box under the axes, where it cannot cover
a curve, gives the maximum slope (``max g' → 1 as z → ∞`` when it is only approached)
and the gradient-flow verdicts of :func:`symderiv.teach.table.table_row` (vanishing
gradient, dead zone) and the convention's value at each kink. A piece of g' that is a
nonzero constant too small to see at the panel's scale (Leaky ReLU's α = 0.01) gets an
inset zoomed on that piece. Numbers whose exact rational is long (SELU's constants) are
shown as the decimals that round-trip to their float.
Matplotlib is an optional dependency (``pip install 'symderiv[plot]'``); the
figure is drawn without pyplot, on the Agg canvas, and saved as PNG, SVG or
PDF according to the file's extension.
"""

from __future__ import annotations

import math
import stat
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import sympy

from .. import calculus
from ..catalogue import z
from ..derivation import derive
from ..errors import SymderivError
from ..printing import decimal, to_display
from .steps import aform_fallback
from .table import table_row

__all__ = ["FORMATS", "figure", "matplotlib_parts", "plot"]

FORMATS = ("png", "svg", "pdf")
_G, _D = "#1f5fbf", "#d9480f"  # g blue (as in the lesson), g' orange


def matplotlib_parts():
    """(matplotlib, Figure, FigureCanvasAgg), imported on first use; a clear error when matplotlib is absent."""
    try:
        import matplotlib
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise SymderivError("plotting needs matplotlib: pip install 'symderiv[plot]'") from None
    return matplotlib, Figure, FigureCanvasAgg


def _window(points: Sequence[float], z_range: tuple[float, float] | None = None) -> tuple[float, float]:
    if z_range is not None:
        return z_range
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
    if where in ("oo", "-oo"):  # a supremum approached, never attained
        out = [f"max g' → {_short(top)} as z → {'-' if where == '-oo' else ''}∞"]
    else:
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
        return decimal(expr)
    return to_display(expr).replace("**", "^").replace("*", "·")


def _title(name: str, form) -> str:
    """The panel's title: the name, and the a-form wrapped under it (never wider than a panel)."""
    if form is None:
        return name
    lines = textwrap.wrap(f"g' = {_short(form)}", 46, subsequent_indent="    ", break_on_hyphens=False)
    return "\n".join([name, *lines])


def _tiny_slopes(derivative, lo: float, hi: float, span: float) -> list[tuple[float, float, float]]:
    """Pieces of g' in [lo, hi] that are a nonzero constant under 3% of the panel's height."""
    out = []
    for p in calculus.pieces(derivative):
        if p.expr.free_symbols:
            continue
        c = float(p.expr)
        a = lo if p.lo == -sympy.oo else max(lo, float(p.lo))
        b = hi if p.hi == sympy.oo else min(hi, float(p.hi))
        if a < b and c != 0 and abs(c) < 0.03 * span:
            out.append((a, b, c))
    return out


def _inset(ax, d, piece: tuple[float, float, float], derivative_only: bool) -> None:
    """Zoom on one piece where g' is a small constant, so its slope can be seen."""
    a, b, c = piece
    left = b <= 0  # the corner away from the curves: upper left for a piece at z < 0
    box = ax.inset_axes([0.17, 0.52, 0.38, 0.36] if left else [0.58, 0.12, 0.38, 0.36])
    t = np.linspace(a, b, 50)
    box.plot(t, np.full_like(t, c), color=_D, lw=1.5, ls="--")
    if not derivative_only:
        f = sympy.lambdify(z, d.definition, "numpy")
        box.plot(t, np.broadcast_to(np.asarray(f(t), dtype=float), t.shape), color=_G, lw=1.5)
    box.axhline(0, color="0.75", lw=0.8, zorder=0)
    ys = [y for line in box.lines[:2] for y in line.get_ydata()] + [0.0]
    pad = 0.15 * (max(ys) - min(ys) or abs(c))
    box.set_ylim(min(ys) - pad, max(ys) + pad)
    box.set_xlim(a, b)
    box.set_title(f"zoom on z {'<' if left else '>'} {_short(sympy.nsimplify(b if left else a))}: "
                  f"slope {_short(sympy.nsimplify(c))}", fontsize=7)
    box.tick_params(labelsize=6)
    box.grid(alpha=0.3)


def figure(
    names: Sequence,
    *,
    derivative_only: bool = False,
    convention: str = "torch",
    params: Mapping[str, object] | None = None,
    z_range: tuple[float, float] | None = None,
):
    """A matplotlib ``Figure`` with one panel per activation (parameters at their defaults).

    ``names`` are catalogue names or :class:`~symderiv.catalogue.Activation` records
    (e.g. from :func:`symderiv.custom`). ``params`` fixes parameters (``{"alpha": "0.2"}``) in
    every panel whose activation has them; ``z_range`` is the z axis (default: [-5, 5], wider
    to show every kink).
    """
    from ..catalogue import Activation, get
    from ..progress import progress

    _, Figure, FigureCanvasAgg = matplotlib_parts()
    n = len(names)
    if n == 0:
        raise SymderivError("plot: give at least one activation")
    if z_range is not None and not (math.isfinite(z_range[0]) and math.isfinite(z_range[1])
                                    and z_range[0] < z_range[1]):
        raise SymderivError(f"plot: the z range must be two finite numbers LO < HI, got {z_range[0]:g} {z_range[1]:g}")
    acts = [name if isinstance(name, Activation) else get(name) for name in names]
    given = dict(params or {})
    for key in given:
        if not any(_has_param(act, key) for act in acts):
            acts[0].param(key)  # raises, naming the valid parameters
    cols = 2 if n == 4 else min(n, 3)
    rows = math.ceil(n / cols)
    fig = Figure(figsize=(4.8 * cols, 4.6 * rows), layout="constrained")
    FigureCanvasAgg(fig)
    with progress(list(enumerate(acts)), "plot", unit="panel") as bar:
        for i, act in bar:
            bar.set_postfix(act.name)
            mine = {k: v for k, v in given.items() if _has_param(act, k)}
            _panel(fig.add_subplot(rows, cols, i + 1), act, mine, derivative_only, convention, z_range)
    return fig


def _has_param(act, key: str) -> bool:
    return any(key == p.name or key in p.aliases for p in act.params)


def _panel(ax, act, params, derivative_only: bool, convention: str, z_range) -> None:
    d = derive(act, params, defaults=True, convention=convention)
    points = [float(k.z) for k in d.kinks]
    lo, hi = _window(points, z_range)
    if not derivative_only:
        _curve(ax, calculus.to_piecewise(d.definition), lo, hi, color=_G, lw=2, label="g(z)")
    _curve(ax, d.derivative, lo, hi, color=_D, lw=2, ls="--", label="g'(z)")
    notes = _verdicts(table_row(act, params, convention=convention))
    for k in d.kinks:
        x = float(k.z)
        value = k.values.get(convention)
        if not lo <= x <= hi:
            continue
        _dots(ax, x, float(k.left), float(k.right), None if value is None else float(value), _D)
        if not k.continuous and not derivative_only:
            pcs = calculus.pieces(d.definition)
            left_piece = next(p for p in pcs if p.hi == k.z)
            right_piece = next(p for p in pcs if p.lo == k.z)
            g_left = float(calculus.one_sided_limit(left_piece.expr, k.z, "-"))
            g_right = float(calculus.one_sided_limit(right_piece.expr, k.z, "+"))
            _dots(ax, x, g_left, g_right, float(d.definition.subs(z, k.z)), _G)
        if value is not None:
            notes.append(f"g'({_short(k.z)}) = {_short(value)} ({convention})")
    ax.axhline(0, color="0.75", lw=0.8, zorder=0)
    ax.axvline(0, color="0.75", lw=0.8, zorder=0)
    ax.set_xlim(lo, hi)
    ax.grid(alpha=0.3)
    form = d.aform if d.aform is not None or d.aform_note else aform_fallback(d.definition, d.derivative)
    fixed = ", ".join(f"{k} = {_short(v)}" for k, v in d.params.items() if v is not None)
    ax.set_title(_title(d.name if d.name != "custom" else act.description, form)
                 + (f"\n({fixed})" if fixed and params else ""), fontsize=10)
    ax.set_xlabel("z")
    ylo, yhi = ax.get_ylim()
    tiny = _tiny_slopes(d.derivative, lo, hi, yhi - ylo)[:1]
    for piece in tiny:
        _inset(ax, d, piece, derivative_only)
    # with an inset in the upper left (a piece at z < 0), the legend goes to the lower right
    ax.legend(loc=("lower right" if tiny[0][1] <= 0 else "upper left") if tiny else "best", fontsize=8)
    if notes:  # under the axes: it never covers a curve
        ax.text(0.0, -0.16, "\n".join(notes), transform=ax.transAxes, va="top", ha="left", fontsize=8,
                bbox={"boxstyle": "round", "fc": "white", "ec": "0.8"})


def plot(
    names: Sequence[str],
    path: str | Path,
    *,
    derivative_only: bool = False,
    convention: str = "torch",
    params: Mapping[str, object] | None = None,
    z_range: tuple[float, float] | None = None,
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
    fig = figure(names, derivative_only=derivative_only, convention=convention, params=params, z_range=z_range)
    try:
        fig.savefig(path, format=ext, dpi=120)
    except OSError as exc:
        raise SymderivError(f"plot: cannot write {path}: {exc.strerror or exc}") from None
    return path
