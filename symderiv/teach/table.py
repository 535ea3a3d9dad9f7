"""The lesson's summary tables, computed: one row of calculus facts per activation.

Every entry is derived from the catalogue definition (parameters at their
defaults unless given), never typed in:

* ``g``, ``derivative`` (g', off the kinks), ``aform`` (g' in terms of a = g(z), or null);
* ``range``: the image of g over the reals, a SymPy set;
* ``max_derivative``, ``min_derivative``: the supremum / infimum of g' off the
  kinks, exact where SymPy finds the critical points; ``max_derivative_at``:
  the point where the supremum is attained, ``"oo"``/``"-oo"`` when it is only
  approached at infinity, a breakpoint when it is a one-sided limit there, and
  null when it is attained on a whole interval;
* ``limit_neg_inf``, ``limit_pos_inf``: the limits of g' as z -> -oo, +oo;
* ``derivative_at_0``: g'(0), the convention's value if 0 is a kink (the lesson's "At z = 0");
* ``continuity``: k when g is C^k but not C^(k+1) (-1 when g jumps), or ``"inf"``;
* ``monotonic``: g is non-decreasing or non-increasing on the whole line;
* ``zero_centred``: g is odd, g(-z) = -g(z) for every z (so g(0) = 0 and the outputs are
  symmetric around 0): what the lesson means when it calls tanh zero-centred and sigmoid not.
  Leaky ReLU takes both signs but is not: its negative outputs are alpha times smaller;
  nor are ELU, GELU, SiLU, whose outputs are bounded below and unbounded above;
* ``saturating``: g is bounded (it levels off at both ends);
* ``vanishing_gradient``: g' -> 0 at both ends (the lesson's problem with sigmoid and tanh);
* ``dead_zone``: g' = 0 on a whole interval (the "dying ReLU" condition);
* ``kinks``: as in ``derive --json``, values from ``convention`` (default torch);
* ``numeric``: the keys that came from certified numerics (50-digit mpmath root
  finding and sampling) because SymPy could not finish in its budget — a clear
  marker; their values are decimal strings.

Critical points come from ``solveset``, limits from ``sympy.limit``; each
extremum and limit is confirmed numerically with mpmath (a dense sample of g'
never exceeds the claimed supremum, and g' far out agrees with the limits).

>>> row = table_row("sigmoid")
>>> row["max_derivative"], row["max_derivative_at"], row["vanishing_gradient"]
('1/4', '0', True)
"""

from __future__ import annotations

import copy
import functools
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import mpmath
import sympy
from sympy import Expr, Interval, S, oo

from .. import calculus, memo
from ..catalogue import Activation, all_activations, get, z
from ..derivation import derive, kink_json
from ..errors import SymderivError
from ..printing import to_display_latex, to_text
from ._budget import attempt

__all__ = ["COLUMNS", "SHOWN", "render", "render_foot", "render_head", "render_row", "select", "table",
           "table_row"]

COLUMNS = (
    "name", "params", "g", "derivative", "aform", "range", "max_derivative", "max_derivative_at",
    "min_derivative", "limit_neg_inf", "limit_pos_inf", "derivative_at_0", "continuity", "monotonic",
    "zero_centred", "saturating", "vanishing_gradient", "dead_zone", "kinks", "convention", "numeric",
)
_BUDGET = 3.0  # seconds for one solveset / limit before falling back to numerics
_DPS = 50
_FAR = 60  # where "z -> oo" is checked numerically


@dataclass(frozen=True)
class _Ext:
    """A candidate extremum: the value, where (a point, +-oo, or "interval"), whether attained."""

    value: Expr
    where: Expr | str
    attained: bool
    numeric: bool = False


def _num(e: Expr) -> mpmath.mpf:
    if e == oo:
        return mpmath.inf
    if e == -oo:
        return -mpmath.inf
    with mpmath.workdps(_DPS):
        return mpmath.mpf(sympy.N(e, _DPS))


def _equal(x: Expr, y: Expr) -> bool:
    if x in (oo, -oo) or y in (oo, -oo):
        return x == y
    return abs(_num(x) - _num(y)) <= mpmath.mpf(10) ** -40 * max(1, abs(_num(x)))


def _limit(f: Expr, point: Expr, side: str, marks: set, key: str) -> Expr:
    """``lim f`` at ``point`` from ``side``; mpmath's extrapolation when SymPy runs out of budget."""
    value, numeric = _limit_cached(f, point, side)
    if numeric:
        marks.add(key)
    return value


@functools.lru_cache(maxsize=512)
def _limit_cached(f: Expr, point: Expr, side: str) -> tuple[Expr, bool]:
    if point in (oo, -oo):
        exact = attempt(lambda: sympy.limit(f, z, point), _BUDGET, None)
        if exact is not None and not exact.has(sympy.Limit, sympy.AccumBounds) and exact.is_number:
            _confirm_limit(f, point, exact)
            return exact, False
        return _numeric_limit(f, point), True
    return calculus.one_sided_limit(f, point, side), False


_COMPILED: dict[Expr, object] = {}


def _at(f: Expr, t) -> mpmath.mpf:
    """f(t) at 50 digits (``nan`` where undefined), through mpmath."""
    fn = _COMPILED.get(f)
    if fn is None:
        fn = _COMPILED[f] = sympy.lambdify(z, f, "mpmath")
    with mpmath.workdps(_DPS):
        try:
            v = fn(mpmath.mpf(t) if not isinstance(t, Expr) else mpmath.mpf(sympy.N(t, _DPS)))
        except (TypeError, ValueError, ZeroDivisionError, OverflowError):
            return mpmath.nan
        return v if isinstance(v, mpmath.mpf) else (mpmath.mpf(v) if not isinstance(v, mpmath.mpc) else mpmath.nan)


def _numeric_limit(f: Expr, point: Expr) -> Expr:
    sign = 1 if point == oo else -1
    with mpmath.workdps(_DPS):
        far, farther = _at(f, sign * 200), _at(f, sign * 400)
        if abs(far - farther) > mpmath.mpf(10) ** -20 * max(1, abs(far)):
            return oo if far > 0 else -oo  # still moving: taken as unbounded
        value = sympy.nsimplify(sympy.Float(farther, 30), tolerance=1e-25, rational=True)
        return value


def _confirm_limit(f: Expr, point: Expr, exact: Expr) -> None:
    """f far out approaches the claimed limit (the gap shrinks from z = 60 to z = 600)."""
    sign = 1 if point == oo else -1
    with mpmath.workdps(_DPS):
        near, far = _at(f, sign * _FAR), _at(f, sign * 10 * _FAR)
        if mpmath.isnan(near) or mpmath.isnan(far):
            return
        if exact in (oo, -oo):
            ok = (far > near) if exact == oo else (far < near)
        else:
            target = _num(exact)
            gap_near, gap_far = abs(near - target), abs(far - target)
            # a true limit: the gap shrinks at least twofold from z = 60 to 600 (a wrong one stays put)
            ok = gap_far <= gap_near / 2 or gap_far < mpmath.mpf(10) ** -30
    if not ok:
        raise AssertionError(f"limit of {f} at {point} is {exact} but f({sign * _FAR}) = {near}, "
                             f"f({sign * 10 * _FAR}) = {far}")


def _critical_points(f: Expr, lo: Expr, hi: Expr, marks: set, key: str) -> list[tuple[Expr, bool]]:
    """Zeros of f' in (lo, hi): exact from solveset, else 50-digit roots from sign changes."""
    df = sympy.diff(f, z)
    if df == 0:
        return []
    domain = Interval.open(lo, hi)
    found = attempt(lambda: sympy.solveset(df, z, domain), _BUDGET, None)
    if isinstance(found, sympy.FiniteSet) and all(r.is_real for r in found):
        return [(r, False) for r in found]
    if found is S.EmptySet:
        return []
    marks.add(key)
    a = -30 if lo == -oo else float(lo)
    b = 30 if hi == oo else float(hi)
    grid = [a + (b - a) * i / 600 for i in range(1, 600)]
    out = []
    with mpmath.workdps(_DPS):
        vals = [_at(df, t) for t in grid]
        for (t0, v0), (t1, v1) in itertools.pairwise(zip(grid, vals, strict=True)):
            if mpmath.isnan(v0) or mpmath.isnan(v1) or v0 * v1 > 0:
                continue
            root = mpmath.findroot(lambda s: _at(df, s), (t0, t1), solver="anderson")
            out.append((sympy.Float(root, 30), True))
    return out


def _extrema(f: Expr, lo: Expr, hi: Expr, marks: set, key: str) -> list[_Ext]:
    """Candidates for inf and sup of f on the open interval (lo, hi)."""
    if not f.has(z):
        return [_Ext(f, "interval", True)]
    out = []
    for point, numeric in _critical_points(f, lo, hi, marks, key):
        value = sympy.Float(_at(f, point), 30) if numeric else sympy.nsimplify(sympy.simplify(f.subs(z, point)))
        out.append(_Ext(value, point, True, numeric))
    for end, side in ((lo, "+"), (hi, "-")):
        out.append(_Ext(_limit(f, end, side, marks, key), end, False))
    return out


def _best(cands: list[_Ext], biggest: bool) -> _Ext:
    order = sorted(cands, key=lambda c: _num(c.value), reverse=biggest)
    top = order[0]
    ties = [c for c in order if _equal(c.value, top.value)]
    for c in ties:  # prefer attained, then exact
        if c.where == "interval":
            return c
    attained = [c for c in ties if c.attained]
    return attained[0] if attained else top


def _confirm_sup(f: Expr, sup: Expr, biggest: bool, bps: list[float]) -> None:
    """No sample of f on [-20, 20] (off the breakpoints) beats the claimed sup/inf."""
    if sup in (oo, -oo):
        return
    with mpmath.workdps(_DPS):
        bound = _num(sup)
        slack = mpmath.mpf(10) ** -20 * max(1, abs(bound))
        for i in range(-400, 401):
            t = i / 20 + 0.00731
            if any(abs(t - b) < 1e-9 for b in bps):
                continue
            v = _at(f, t)
            if mpmath.isnan(v):
                continue
            if (biggest and v > bound + slack) or (not biggest and v < bound - slack):
                raise AssertionError(f"sample g'({t}) = {v} beats the claimed bound {sup}")


def _text(e: object) -> object:
    if e is None or (isinstance(e, (bool, int, str)) and not isinstance(e, Expr)):
        return e
    return to_text(e)


def _continuity(pieces: list[calculus.Piece], g: Expr, values: Mapping) -> object:
    worst: int | None = None
    for left, right in itertools.pairwise(pieces):
        b = left.hi
        for n in range(0, 8):
            lo = calculus.one_sided_limit(sympy.diff(left.expr, z, n), b, "-")
            hi = calculus.one_sided_limit(sympy.diff(right.expr, z, n), b, "+")
            value_ok = True
            if n == 0:
                at = g.subs(z, b)
                value_ok = at.is_finite is not False and sympy.simplify(at.subs(values) - lo.subs(values)) == 0
            if sympy.simplify((lo - hi).subs(values)) != 0 or not value_ok:
                worst = n - 1 if worst is None else min(worst, n - 1)
                break
    return "inf" if worst is None else worst


def table_row(
    name: str | Activation,
    params: Mapping[str, object] | None = None,
    *,
    convention: str = "torch",
) -> dict:
    """One row: the facts in the module docstring, with every parameter at its default unless given.

    Values are SymPy strings (``sympy.sympify`` reads them back), numbers, booleans or null.
    Rows are cached per activation, parameters and convention (a copy is returned).
    """
    act = name if isinstance(name, Activation) else get(name)
    given = tuple(sorted((str(k), str(v)) for k, v in (params or {}).items()))
    key = (act.name, act.expr, given, convention)
    if key not in _ROWS:
        # shared with other processes through symderiv.memo when a cache directory is set; a row
        # that fell back to numerics (SymPy ran out of its budget) is this process's only
        text = sympy.srepr((act.name, act.expr, tuple((p.name, p.default) for p in act.params), given,
                            convention, tuple((fw, tuple(m.items())) for fw, m in act.conventions.items())))
        row = memo.load("table-row", text)
        if row is memo.MISSING:
            row = _row(act, params, convention)
            if not row["numeric"]:
                memo.store("table-row", text, row)
        _ROWS[key] = row
    return copy.deepcopy(_ROWS[key])


_ROWS: dict[tuple, dict] = {}


def _row(name: Activation, params: Mapping[str, object] | None, convention: str) -> dict:
    d = derive(name, params, defaults=True, convention=convention)
    act = d.activation
    values = {p.symbol: v for p in act.params if (v := d.params.get(p.name)) is not None}
    g, gp = d.definition, d.derivative
    marks: set[str] = set()
    gpieces = calculus.pieces(g, values)
    # g' on open intervals, from derive's tidied g' (pieces already merged where g' is continuous)
    dpieces = calculus.pieces(gp, values) if gp.has(sympy.Piecewise) else [calculus.Piece(-oo, oo, gp)]
    bps = [float(p.hi.subs(values)) for p in gpieces[:-1]]

    # g' : sup, inf, limits
    dcands = [c for p in dpieces for c in _extrema(p.expr, p.lo, p.hi, marks, "max_derivative")]
    sup, inf = _best(dcands, True), _best(dcands, False)
    gp_values = gp.subs(values)
    _confirm_sup(gp_values, sup.value, True, bps)
    _confirm_sup(gp_values, inf.value, False, bps)
    lim_neg = _limit(dpieces[0].expr, -oo, "+", marks, "limit_neg_inf")
    lim_pos = _limit(dpieces[-1].expr, oo, "-", marks, "limit_pos_inf")
    if sup.numeric:
        marks.add("max_derivative")
    if inf.numeric:
        marks.add("min_derivative")

    # g : range (union of the image of every piece and the values at the breakpoints)
    image: sympy.Set = S.EmptySet
    for p in gpieces:
        cands = _extrema(p.expr, p.lo, p.hi, marks, "range")
        hi_c, lo_c = _best(cands, True), _best(cands, False)
        if _equal(hi_c.value, lo_c.value) and hi_c.where == "interval":
            image = image | sympy.FiniteSet(hi_c.value)
        else:
            image = image | Interval(lo_c.value, hi_c.value, not lo_c.attained, not hi_c.attained)
    for p in gpieces[:-1]:
        at = g.subs(z, p.hi)
        if at.is_finite:
            image = image | sympy.FiniteSet(sympy.simplify(at))
    g_neg, g_pos = _limit(gpieces[0].expr, -oo, "+", marks, "range"), _limit(gpieces[-1].expr, oo, "-", marks, "range")

    jumps_ok_up = jumps_ok_down = True
    for left, right in itertools.pairwise(gpieces):
        b = left.hi
        jump = sympy.simplify(calculus.one_sided_limit(right.expr, b, "+") - calculus.one_sided_limit(left.expr, b, "-"))
        jumps_ok_up &= bool(_num(jump) >= 0)
        jumps_ok_down &= bool(_num(jump) <= 0)
    monotonic = (_num(inf.value) >= 0 and jumps_ok_up) or (_num(sup.value) <= 0 and jumps_ok_down)

    zero_kink = [k for k in d.kinks if k.z == 0]
    at0 = zero_kink[0].values.get(convention) if zero_kink else gp.subs(z, 0)
    if at0 is not None and at0.has(sympy.Function):
        at0 = min([at0, sympy.simplify(at0.rewrite(sympy.exp))], key=sympy.count_ops)
    g0 = g.subs(z, 0)
    lo_img, hi_img = image.inf, image.sup
    aform = d.aform
    if aform is None and d.aform_note is None:
        from .steps import aform_fallback

        aform = aform_fallback(g, gp)

    where = None if sup.where == "interval" else sup.where
    zero_centred = g0 == 0 and _odd(g, values, [p.hi for p in gpieces[:-1]])
    return {
        "name": d.name,
        "params": {k: _text(v) for k, v in d.params.items()},
        "g": to_text(g),
        "derivative": to_text(gp),
        "aform": to_text(aform),
        "range": to_text(image),
        "max_derivative": to_text(sup.value),
        "max_derivative_at": None if where is None else to_text(where),
        "min_derivative": to_text(inf.value),
        "limit_neg_inf": to_text(lim_neg),
        "limit_pos_inf": to_text(lim_pos),
        "derivative_at_0": to_text(at0),
        "continuity": _continuity(gpieces, g, values),
        "monotonic": bool(monotonic),
        "zero_centred": bool(zero_centred and _num(lo_img) < 0 < _num(hi_img)),
        "saturating": bool(g_neg not in (oo, -oo) and g_pos not in (oo, -oo)),
        "vanishing_gradient": bool(lim_neg == 0 and lim_pos == 0),
        "dead_zone": any(p.expr == 0 for p in dpieces),
        "kinks": [kink_json(k, convention) for k in d.kinks],
        "convention": convention,
        "numeric": sorted(marks),
    }


def _odd(g: Expr, values: Mapping, breakpoints: list[Expr]) -> bool:
    """g(-z) = -g(z) for every real z: proved (:func:`symderiv.prove.prove_identity`) off the
    breakpoints, and exactly at each breakpoint and its mirror image."""
    from ..prove import prove_identity

    g = g.subs(values)
    verdict = prove_identity(g.subs(z, -z), -g, breakpoints=[b.subs(values) for b in breakpoints]
                             + [-b.subs(values) for b in breakpoints], timeout=_BUDGET)
    if verdict.status != "proved":
        return False
    for b in breakpoints:
        b = b.subs(values)
        if sympy.simplify(g.subs(z, -b) + g.subs(z, b)) != 0:
            return False
    return True


def table(names: Iterable[str] | None = None, *, convention: str = "torch") -> list[dict]:
    """Rows for ``names`` (default: the whole catalogue, in catalogue order)."""
    acts = [get(n) for n in names] if names else list(all_activations())
    return [table_row(act, convention=convention) for act in acts]


# ---- rendering --------------------------------------------------------------------------------

#: The rendered columns: (heading, row key), in the default order.
SHOWN = (
    ("Activation", "name"), ("g(z)", "g"), ("g'(z)", "derivative"), ("g' in terms of a", "aform"),
    ("range", "range"), ("max g'", "max_derivative"), ("at", "max_derivative_at"),
    ("g'(-∞)", "limit_neg_inf"), ("g'(+∞)", "limit_pos_inf"), ("g'(0)", "derivative_at_0"),
    ("C^k", "continuity"), ("monotonic", "monotonic"), ("zero-centred", "zero_centred"),
    ("saturating", "saturating"), ("vanishing gradient", "vanishing_gradient"),
    ("dead zone", "dead_zone"), ("kinks", "kinks"),
)
#: Columns that may be asked for besides the default ones.
_EXTRA = (("params", "params"), ("min g'", "min_derivative"), ("convention", "convention"),
          ("numeric", "numeric"))
_HEADING = {key: head for head, key in SHOWN + _EXTRA}
_MATH = {"g", "derivative", "aform", "range", "max_derivative", "max_derivative_at", "limit_neg_inf",
         "limit_pos_inf", "derivative_at_0", "min_derivative"}


def _latex(text: str | None) -> str:
    from ..catalogue import a as a_sym

    if text is None:
        return "N/A"
    locals_ = {"z": z, "a": a_sym, "Symbol": sympy.Symbol}
    return to_display_latex(sympy.sympify(text, locals=locals_))


def _cell(row: dict, key: str, math: str) -> str:
    value = row[key]
    if key == "kinks":
        if not value:
            return "none"
        return "; ".join(
            f"{math}z={_latex(k['z'])}{math}: {math}{_latex(k['left'])}{math} | {math}{_latex(k['right'])}{math}"
            + (f" ({row['convention']} {math}{_latex(k['value'])}{math})" if k["value"] is not None else "")
            for k in value)
    if key == "max_derivative_at" and value in ("oo", "-oo"):  # a supremum only approached
        return f"approached as {math}z \\to {'-' if value == '-oo' else '+'}\\infty{math}"
    if key == "params":
        return ", ".join(f"{k} = {math}{_latex(v)}{math}" if v is not None else f"{k} symbolic"
                         for k, v in value.items()) or "none"
    if key == "numeric":
        return ", ".join(value).replace("_", "\\_") or "none"
    if key in _MATH:
        if value is None:
            return "N/A" if key == "aform" else ("interval" if key == "max_derivative_at" else "")
        cell = f"{math}{_latex(value)}{math}"
        if key in row.get("numeric", ()) or (key == "max_derivative_at" and "max_derivative" in row.get("numeric", ())):
            cell += " (numeric)"
        return cell
    if isinstance(value, bool):
        return "yes" if value else "no"
    if key == "continuity":
        return f"{math}C^{{\\infty}}{math}" if value == "inf" else ("discontinuous" if value == -1 else f"{math}C^{{{value}}}{math}")
    return str(value)


def select(columns: Iterable[str] | str | None) -> tuple[str, ...]:
    """Row keys to render: ``columns`` (names or one comma-separated string) checked, or the default.

    >>> select("name, range,derivative")
    ('name', 'range', 'derivative')
    """
    if columns is None:
        return tuple(key for _, key in SHOWN)
    if isinstance(columns, str):
        columns = columns.split(",")
    keys = tuple(c.strip() for c in columns if c.strip())
    if not keys:
        raise SymderivError("give at least one column (e.g. --columns name,range,derivative)")
    from ..errors import closest

    for key in keys:
        if key not in _HEADING:
            raise SymderivError(f"unknown column {key!r} (columns: {', '.join(_HEADING)})"
                                + closest(key, list(_HEADING)))
    if len(set(keys)) != len(keys):
        raise SymderivError(f"a column is named twice in {', '.join(keys)}")
    return keys


def render_head(fmt: str = "markdown", columns: Iterable[str] | str | None = None) -> str:
    """The lines before the first row of :func:`render` (``markdown`` or ``latex``)."""
    keys = select(columns)
    if fmt == "markdown":
        return "| " + " | ".join(_HEADING[k] for k in keys) + " |\n" + "|" + "---|" * len(keys)
    if fmt == "latex":
        head = " & ".join(_HEADING[k].replace("∞", "$\\infty$").replace("^", "\\^{}") for k in keys) + r" \\"
        return "\n".join([f"\\begin{{tabular}}{{{'l' * len(keys)}}}", "\\hline", head, "\\hline"])
    raise ValueError(f"unknown format {fmt!r}")


def render_row(row: dict, fmt: str = "markdown", columns: Iterable[str] | str | None = None) -> str:
    """One row of :func:`render`, so that a long table can be printed as its rows are computed."""
    keys = select(columns)
    if fmt == "markdown":
        return "| " + " | ".join(_cell(row, k, "$").replace("|", "\\|") if k == "kinks" else _cell(row, k, "$")
                                 for k in keys) + " |"
    if fmt == "latex":
        return " & ".join(_cell(row, k, "$").replace("_", "\\_") if k == "name" else _cell(row, k, "$")
                          for k in keys) + r" \\"
    raise ValueError(f"unknown format {fmt!r}")


def render_foot(fmt: str = "markdown") -> str | None:
    """The lines after the last row (None for markdown)."""
    if fmt == "markdown":
        return None
    if fmt == "latex":
        return "\\hline\n\\end{tabular}"
    raise ValueError(f"unknown format {fmt!r}")


def render(rows: list[dict], fmt: str = "markdown", columns: Iterable[str] | str | None = None) -> str:
    """The rows as a ``markdown`` table (math in ``$...$``), a ``latex`` tabular, or ``json`` text.

    ``columns``: the row keys to show, in order (default :data:`SHOWN`'s; the LaTeX table of all
    17 does not fit a page: ``("name", "derivative", "aform", "range")`` does). Numbers whose exact
    rational is long (SELU's constants) are shown as round-trip decimals; JSON keeps them exact.
    """
    if fmt == "json":
        import json

        if columns is not None:
            keys = select(columns)
            rows = [{k: r[k] for k in keys} for r in rows]
        return json.dumps(rows, indent=2, ensure_ascii=False)
    if fmt not in ("markdown", "latex"):
        raise ValueError(f"unknown format {fmt!r}")
    keys = select(columns)
    foot = render_foot(fmt)
    return "\n".join([render_head(fmt, keys), *(render_row(r, fmt, keys) for r in rows),
                       *([foot] if foot else [])])
