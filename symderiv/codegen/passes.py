"""The peephole passes: small rewrites of a kernel that give it fewer or cheaper operations.

:data:`PASSES` is the table, applied in its order by :func:`.chunk.chunk_source`. Each
:class:`Pass` has a ``name``, the ``stage`` of the pipeline it works on, the function that
applies it, ``why`` it exists (what it saves, and why the floats stay), ``example``, a catalogue
entry whose kernels it changes, and what it does to the bits: ``ulps`` (0: the very same bits; else
the most units in the last place it moves a result by) and ``zero_sign`` (whether a zero may come
out with the other sign). Those two are measured: the tests print every catalogue module with and
without each pass and compare them on a grid of ±0, ±inf, NaN, subnormals and huge values, and
check that every pass changes at least one module (else it is dead). The passes that move bits
do so where a formula is ill-conditioned or the result subnormal (e.g. gelu_tanh' deep in its
tail, from an exp argument rounded once instead of twice); the kernels' accuracy against mpmath
is measured on the code with every pass (:mod:`symderiv.accuracy`). The stages:

* ``results``: all results of one chunk function together, each with its peeled single points,
  before they are lowered to elementary functions (``share_clips``);
* ``expr``: one result, lowered (:func:`.rewrites.stable`);
* ``temporaries``: ``sympy.cse``'s output, the temporaries ``[(symbol, expr)]`` and the results.

A pass marked ``needs_act`` runs only when the chunk function is printed for an activation (a
kernel, or a probe of a whole kernel): it decides by running printed code at the activation's
default parameters (:attr:`Context.run`).

>>> [p.name for p in PASSES if p.stage == "temporaries"]
['inline_numbers', 'hoist_power_bases', 'abs_of_temporaries']
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import sympy
from sympy import Abs, Expr, Symbol
from sympy.codegen.cfunctions import hypot

from ..catalogue import Activation
from .floats import finite_grid, near, same_float
from .printer import ORDER, Ind, Patch, Select, Shifted, Where

__all__ = ["COSTLY", "PASSES", "STAGES", "Context", "Pass", "outer_functions", "subs_in_functions"]

#: The stages of :func:`.chunk.chunk_source` a pass can work on, in the order they run.
STAGES = ("results", "expr", "temporaries")


@dataclass
class Context:
    """What a pass knows of the chunk function being printed."""

    #: the activation (its default parameters decide the checks); None in the probes that the
    #: ``needs_act`` passes themselves run (then those passes do not run)
    act: Activation | None
    #: the variable (``z``, or ``a`` for the a-form) and the parameters' symbols
    var: Symbol
    params: Sequence[Symbol]
    #: the primitives' stable forms in use (one of :data:`.rewrites.VARIANTS`, None: the default)
    variant: str | None
    #: ``run(expr, points, blends=True)``: the printed ``expr`` at those float64 points (default
    #: parameters; with ``blends=False``, as printed without an activation: no ``needs_act`` pass)
    run: Callable[..., list[float]]
    #: ``part(expr)``: the name of a chunk function of its own that computes ``expr`` (printed once)
    part: Callable[[Expr], Symbol]
    #: the names ``sympy.cse`` gives temporaries, for a pass that adds one
    symbols: Iterator[Symbol]
    #: the number of results (``share_clips`` needs two)
    results: int = 1


@dataclass(frozen=True)
class Pass:
    """One bit-preserving peephole pass (see the module docstring)."""

    name: str
    stage: str
    apply: Callable
    why: str
    example: str
    needs_act: bool = False
    #: what it does to the floats, measured on every catalogue kernel it changes (the tests hold it):
    #: 0, the very same bits; else the most units in the last place by which it moves a result
    ulps: int = 0
    #: whether it may give a zero the other sign
    zero_sign: bool = False


def _share_clips(peeled, ctx: Context):
    """Where one kernel is evaluated at a clipped argument (``Max(z, -1024)``, see
    :func:`.assemble.kernels_for`) and another gives the very same floats at that argument (it has
    saturated too: mish(z) underflows to -0 either way), evaluate both there, so that ``cse``
    shares everything (written for mish's value_and_grad, one softplus and one tanh instead of two,
    before mish had a fused primitive; today it changes gelu_tanh's)."""
    if ctx.results < 2:
        return peeled
    var = ctx.var

    def saturation_clip(c):  # Max/Min of var (or of such a clip) and +-2^k, as assembly writes
        if not isinstance(c, (sympy.Max, sympy.Min)) or len(c.args) != 2:
            return False
        inner = [x for x in c.args if not x.is_number]
        bound = [x for x in c.args if x.is_number]
        return (len(bound) == 1 and bound[0].is_Integer and abs(int(bound[0])) >= 8
                and (abs(int(bound[0])) & (abs(int(bound[0])) - 1)) == 0
                and len(inner) == 1 and (inner[0] == var or saturation_clip(inner[0])))

    clips = set()
    for e, _ in peeled:
        found = {c for c in e.atoms(sympy.Max, sympy.Min) if saturation_clip(c)}
        clips |= {c for c in found if not any(c in d.args for d in found)}  # the outermost
    out = list(peeled)
    points = list(finite_grid())
    for clip in sorted(clips, key=sympy.default_sort_key):
        for i, (e, specials) in enumerate(out):
            if e.has(clip) or not e.has(var):
                continue
            before = ctx.run(e, points)
            # everywhere, else only inside function applications (gelu_tanh = z*S(u(z)): the
            # sigmoid has saturated beyond the clip, the factor z has not)
            for candidate in (e.subs(var, clip), subs_in_functions(e, var, clip)):
                after = ctx.run(candidate, points)
                if all(same_float(x, y) for x, y in zip(before, after, strict=True)):
                    out[i] = (candidate, specials)
                    break
    return out


def _hypot_by_sqrt(expr: Expr, ctx: Context) -> Expr:
    """``hypot(x, k)`` with ``k`` free of ``var`` as ``max(sqrt(min(|x|, K)^2 + k^2), |x|)``, K = 2^30 k.

    Within 1 ULP like ``numpy.hypot`` and 5 times cheaper (measured: ``numpy.hypot`` costs 17
    ``exp`` passes). For |x| <= K, x^2 + k^2 cannot overflow (for k^2 < 1e290); for |x| > K the
    true hypot is |x| (1 + delta) with delta < k^2/(2 K^2) = 2^-61, which rounds to |x|.
    """
    var = ctx.var
    def fast(x, k):
        ax = sympy.Abs(x)
        return sympy.Max(sympy.sqrt(sympy.Min(ax, 2**30 * k) ** 2 + k**2), ax)

    return expr.replace(lambda e: isinstance(e, hypot) and not e.args[1].has(var), lambda e: fast(*e.args))


def _negations_outside(expr: Expr, ctx: Context) -> Expr:
    """``Max(c, -x)`` as ``-Min(-c, x)`` and ``Min(c, -x)`` as ``-Max(-c, x)``, the same floats:
    log_sigmoid's ``-log1p(e) - max(0, -z)`` becomes ``min(0, z) - log1p(e)``, two operations
    instead of four."""

    def flip(e):
        args = e.args
        if len(args) == 2 and any(a.is_number for a in args):
            c = next(a for a in args if a.is_number)
            x = next(a for a in args if a is not c)
            if x.could_extract_minus_sign():
                other = sympy.Min if isinstance(e, sympy.Max) else sympy.Max
                return -other(-c, -x)
        return e

    return expr.replace(lambda e: isinstance(e, (sympy.Max, sympy.Min)), flip)


def _distribute_numbers(expr: Expr, ctx: Context) -> Expr:
    """``c*(a*x + b)*y`` with numbers c, a, b as ``((c*a)*x + c*b)*y``: the constants fold, one
    multiplication fewer (gelu_tanh's ``-2 sqrt(2/pi) (1 + 0.044715 z^2) |z|``). Not where that
    loses what the sum keeps: a sum of exact terms (its numbers exact doubles) that may cancel,
    scaled by a c that is no power of two, for (c*a)*x is rounded before it cancels against c*b
    (hardswish' = (2z + 3)/6 is 1/2 ULP off; z/3 + 1/2 was 171 ULP off at z = -1.504)."""

    def exact(n):
        return n.is_Rational and n.q & (n.q - 1) == 0 and abs(n.p) < 2**53

    def numeric_terms(add):
        return all(t.is_number or (isinstance(t, sympy.Mul) and t.args[0].is_number) for t in add.args)

    def keeps_digits(c, add):
        one_sign = all(t.is_nonnegative for t in add.args) or all(t.is_nonpositive for t in add.args)
        power_of_two = exact(c) and c != 0 and abs(c.p) & (abs(c.p) - 1) == 0
        return one_sign or power_of_two or not all(exact(t if t.is_number else t.args[0]) for t in add.args)

    def spread(m):
        c = sympy.Mul(*[f for f in m.args if f.is_number])
        rest = [f for f in m.args if not f.is_number]
        sums = [f for f in rest if isinstance(f, sympy.Add) and numeric_terms(f) and keeps_digits(c, f)]
        if c in (1, -1) or not sums:
            return m
        inner = sympy.Add(*[c * t for t in sums[0].args])  # c*(a*x + b)*y: (c*a*x + c*b)*y
        return sympy.Mul(inner, *[f for f in rest if f is not sums[0]])

    return expr.replace(lambda e: isinstance(e, sympy.Mul), spread)


def _mark_blends(expr: Expr, ctx: Context) -> Expr:
    """Every ``Where`` (or ``Piecewise``) on an order relation, made branch-free.

    Measured on 16384-element chunks of random data, ``numpy.where`` over a random mask costs
    4.2 ``exp`` passes (branch mispredictions). Between values free of ``var``, and where one
    branch is 0 and the other finite wherever it is not selected, the select becomes arithmetic
    with 0/1 indicators (``A*Ind(c) + B*(1 - Ind(c))``: exact, and ``cse`` shares the
    indicators); anything else becomes a :class:`Select` (1.5 passes).
    """
    var = ctx.var

    def visit(e):
        if isinstance(e, sympy.Piecewise) and any(isinstance(c, ORDER) for _, c in e.args[:-1]):
            # the printer's reading: the conditions in turn, the last branch the fallback
            *pairs, (rest, _) = e.args
            for value, c in reversed(pairs):
                rest = Where(c, value, rest)
            e = rest
        if isinstance(e, Where) and isinstance(e.args[0], ORDER):
            cond, a_, b_ = (visit(x) for x in e.args)
            if isinstance(cond, (sympy.StrictLessThan, sympy.LessThan)):
                cond, a_, b_ = ~cond, b_, a_
            if not a_.has(var) and not b_.has(var) and a_.is_finite is not False and b_.is_finite is not False:
                ind = Ind(cond)  # one spelling per test (z > b, z >= b): cse shares them
                return a_ * ind + b_ * (1 - ind)
            clamped = _clamped(cond, a_, b_, ctx)
            if clamped is not None:
                return clamped
            if b_ == 0 and _finite_where(a_, cond, False, ctx):
                return a_ * Ind(cond)
            if a_ == 0 and _finite_where(b_, cond, True, ctx):
                return b_ * (1 - Ind(cond))
            return Select(cond, a_, b_)
        if e.is_Atom or not e.args:
            return e
        return _with_args(e, [visit(x) for x in e.args])

    return visit(expr)


def _clamped(cond, a_: Expr, b_: Expr, ctx: Context) -> Expr | None:
    """``Where(var > b, a_, b_)`` (or ``>=``) without a select, by clamping the argument, or None.

    Each branch is evaluated at its side of ``b`` only: ``a_(max(var, b))`` is constant below
    ``b`` and ``b_(min(var, b))`` above it. When one branch is that constant of the other, the
    other alone is the function (celu' = ``exp(min(z, 0)/alpha)``, hardtanh = a clip); when both
    are 0 at ``b``, their sum is (celu = ``max(z, 0) + alpha*expm1(min(z, 0)/alpha)``). A clip
    costs 0.31 ``exp`` passes, a select 1.0 to 1.5. Taken only when the identity holds with the
    parameters symbolic (SymPy evaluates both sides at ``b`` to the very same expression, so
    the floats are exact too: ``expm1(0)``, ``exp(0)``) and the printed code gives the bits of the
    select at every sample of :func:`finite_grid`, at ±inf, and around ``b``; at ``var == b``
    itself a zero may take the other sign (relu(-0) = -0, as PyTorch's), and a zero may anyway
    (hardswish(-4) = (-3 + 3)(-3)/6 = -0, as PyTorch's and JAX's). (NaN is patched afterwards
    where the final form needs it, :func:`_nan_to_nan`.)
    """
    var = ctx.var
    if not (isinstance(cond, (sympy.StrictGreaterThan, sympy.GreaterThan)) and cond.lhs == var
            and not cond.rhs.has(var)):
        return None
    b = cond.rhs

    def clamp(e, clip):  # var -> clip, but (z + 3)/6 stays so, not z/6 + 1/2 (other roundings);
        # clips of var merge with the new one (SymPy evaluates max/min of max/min)
        merged = {m: m.xreplace({var: clip}) for m in e.atoms(sympy.Max, sympy.Min) if m.has(var)}
        held = {m: sympy.Dummy() for m in merged}
        with sympy.evaluate(False):
            e = e.xreplace(held).xreplace({var: clip})
            return e.xreplace({d: merged[m] for m, d in held.items()})

    upper = clamp(a_, sympy.Max(var, b))
    lower = clamp(b_, sympy.Min(var, b))
    at = a_.subs(var, b)
    if b_.subs(var, b) != at:  # the branches meet at b (SymPy evaluates both to the same c)
        return None
    candidate, loose = None, None
    if not a_.has(var):
        candidate = lower
    elif not b_.has(var):
        candidate = upper
    elif at == 0:
        candidate = upper + lower
    else:
        # c subtracted on a side where the branch is at least |c| in size (there it costs at
        # most 1 ULP, (z - 3) + 3), the other side exact (hardswish for z > 3)
        for side, branch in ((True, a_), (False, b_)):
            if _at_least(branch, at, cond, side, ctx):
                candidate = Shifted(upper, at) + lower if side else upper + Shifted(lower, at)
                loose = side
                break
    if candidate is None:
        return None
    return candidate if _same_bits(candidate, Where(cond, a_, b_), ctx, b, loose) else None


def _at_least(branch: Expr, c: Expr, cond, holds: bool, ctx: Context) -> bool:
    """Whether |branch| >= |c| > 0 at the samples of :func:`finite_grid` where ``cond`` is ``holds``
    (at the default parameters)."""
    act = ctx.act
    cf = c.subs(act.defaults())
    if not (cf.is_number and cf.is_finite and cf != 0):
        return False
    return all(abs(v) >= abs(float(cf)) for v in _on_side(branch, cond, holds, ctx, list(finite_grid()))
               if not math.isnan(v))


def _same_bits(expr: Expr, reference: Expr, ctx: Context, b: Expr,
               loose: bool | None = None) -> bool:
    """Whether the printed ``expr`` gives the bits of ``reference`` (at the default parameters)
    at :func:`finite_grid`, ±inf and around ``b``, a zero of either sign counting as the same
    (which sign a constant-zero piece gives is tested on the kernels themselves); with ``loose``,
    within 1 ULP where the reference's condition is ``loose``."""
    act = ctx.act
    points = [*finite_grid(), math.inf, -math.inf]  # NaN: _nan_to_nan, on the final form
    at = b.subs(act.defaults())
    if not (at.is_number and at.is_finite):
        return False
    points += near(float(at))
    got = ctx.run(expr, points, blends=False)
    want = ctx.run(reference, points, blends=False)
    if loose is None:
        return all(same_float(x, y) or x == y == 0 for x, y in zip(got, want, strict=True))
    side = ctx.run(reference.func(reference.args[0], 1, 0), points, blends=False)
    return all(same_float(x, y) or x == y == 0
               or (bool(s) == loose and math.isfinite(y) and abs(x - y) <= math.ulp(y))
               for x, y, s in zip(got, want, side, strict=True))


def _finite_where(expr: Expr, cond, holds: bool, ctx: Context) -> bool:
    """Whether the printed ``expr`` is finite at the samples of :func:`finite_grid` (and near
    each breakpoint) where ``cond`` is ``holds``: there it gets weight 0 in a blend, and 0 times
    a finite number is 0. Decided at the default parameters."""
    var, act = ctx.var, ctx.act
    if expr.is_number:
        return bool(expr.is_finite)
    if not expr.has(var):
        return expr.is_finite is not False
    points = list(finite_grid())
    defaults = act.defaults()
    for rel in (expr.atoms(*ORDER) | {cond}):
        for side in (rel.lhs, rel.rhs):
            b = side.subs(defaults)
            if b.is_number and b.is_finite:
                points += near(float(b))
    return all(math.isfinite(v) for v in _on_side(expr, cond, holds, ctx, points))


def _on_side(expr: Expr, cond, holds: bool, ctx: Context, points) -> list[float]:
    """The printed ``expr`` (at the default parameters) at those ``points`` where ``cond`` is ``holds``."""
    got = ctx.run(expr, points, blends=False)
    mask = ctx.run(Where(cond, 1, 0), points, blends=False)
    return [v for v, m in zip(got, mask, strict=True) if bool(m) == holds]


#: Operations (``sympy.count_ops``) from which a select's branch is computed only where selected.
COSTLY = 10


def _costly_branch(expr: Expr, var: Symbol, params: Sequence[Symbol]):
    """(relation, cheap branch, costly branch) of a result that is a :class:`Select` with one
    branch of at least :data:`COSTLY` operations (more than the other), in ``var`` and parameters
    alone; else None. The costly branch then runs on the entries that need it only
    (:class:`Patch`), the other everywhere, as a select would: tanhshrink's 18-operation
    continued fraction on |z| < 0.6, erfc's series where scipy's erfc flushes to 0 (gelu')."""
    if not isinstance(expr, Select):
        return None
    cond, a_, b_ = expr.args
    cost_a, cost_b = sympy.count_ops(a_), sympy.count_ops(b_)
    cond, cheap, costly, cost, other = (cond, b_, a_, cost_a, cost_b) if cost_a > cost_b else \
        (~cond, a_, b_, cost_b, cost_a)
    if cost < COSTLY or other >= cost or not costly.free_symbols <= {var, *params}:
        return None
    if costly.has(Select, Where, Ind, Patch, sympy.Piecewise):
        return None
    return cond, cheap, costly


def _compute_apart(expr: Expr, ctx: Context) -> Expr:
    """A result that is a select with a costly branch (:func:`_costly_branch`) as a :class:`Patch`:
    the cheap branch everywhere, the costly one (a chunk function of its own, :attr:`Context.part`)
    only on the entries that take it."""
    split = _costly_branch(expr, ctx.var, ctx.params)
    if split is None:
        return expr
    cond, cheap, costly = split
    return Patch(cond, cheap, ctx.part(costly))


def _inline_numbers(repl, reduced, ctx: Context):
    """Put constants ``cse`` named (``sqrt(2)/sqrt(pi)``) back: printed, they are one float literal,
    and next to another number they fold (``0.17886*sqrt(2/pi)*x``: one multiplication, not two).
    A temporary that is a number times something, where every use multiplies it by another
    number, loses its factor to the uses (gelu_tanh's ``t = sqrt(2/pi) z^2``, used as
    ``-0.089*t`` and ``0.268*t``, becomes ``t = z^2``)."""
    numbers = {}
    out = []
    for sym, e in repl:
        e = e.xreplace(numbers)
        if e.is_number:
            numbers[sym] = e
            continue
        out.append((sym, e))
    repl, reduced = out, [e.xreplace(numbers) for e in reduced]
    for i in range(len(repl) - 1, -1, -1):
        sym, e = repl[i]
        if not e.free_symbols:
            continue
        c, x = e.as_independent(*e.free_symbols, as_Add=False)
        later = [f for _, f in repl[i + 1:]] + reduced
        if c in (1, -1) or not c.is_number or not all(_scaled_uses(f, sym) for f in later):
            continue
        # t = c*x, used only as k*t: t = x, used as (k*c)*t
        repl = repl[:i] + [(sym, x)] + [(s, f.xreplace({sym: c * sym})) for s, f in repl[i + 1:]]
        reduced = [f.xreplace({sym: c * sym}) for f in reduced]
    return repl, reduced


def _scaled_uses(expr: Expr, sym: Symbol) -> bool:
    """Whether every occurrence of ``sym`` in ``expr`` is a factor of a product with a number."""
    if expr == sym:
        return False
    if expr.is_Atom:
        return True
    if isinstance(expr, sympy.Mul) and sym in expr.args and any(a.is_number for a in expr.args):
        return all(_scaled_uses(a, sym) for a in expr.args if a != sym)
    return all(_scaled_uses(a, sym) for a in expr.args)


def _hoist_power_bases(repl, reduced, ctx: Context):
    """Give the base of each small integer power its own temporary: ``(e + 1)**2`` prints as
    ``t*t`` with ``t = e + 1`` computed once, not as ``(e + 1)*(e + 1)``."""
    symbols = ctx.symbols
    out = []
    names: dict[Expr, Symbol] = {}

    def visit(e):
        def hoist(p):
            base = p.base
            if base not in names:
                names[base] = next(symbols)
                out.append((names[base], base))
            return names[base] ** p.exp

        return e.replace(lambda x: isinstance(x, sympy.Pow) and x.exp.is_Integer
                         and 2 <= abs(int(x.exp)) <= 4 and not x.base.is_Atom, hoist)

    for sym, e in repl:
        e = visit(e)
        out.append((sym, e))
    reduced = [visit(e) for e in reduced]
    # x**3 and x**4 from a temporary x**2: one multiplication, not two or three
    squares = {e.base: sym for sym, e in out if isinstance(e, sympy.Pow) and e.exp == 2}

    def from_square(p):
        sq = squares[p.base]
        return sq * p.base if p.exp == 3 else sympy.Pow(sq, 2, evaluate=False)

    def reuse(e):
        return e.replace(lambda x: isinstance(x, sympy.Pow) and x.base in squares and x.exp in (3, 4), from_square)

    out = [(sym, e if squares.get(getattr(e, "base", None)) is sym else reuse(e)) for sym, e in out]
    reduced = [reuse(e) for e in reduced]
    return out, reduced


def _abs_of_temporaries(repl, reduced, ctx: Context):
    """``c*Abs(y)`` as ``Abs(t)`` where a temporary ``t = c*y`` with ``c > 0`` exists (SymPy writes
    |beta z| as beta |z|): softplus's -beta |z| is then one sign-bit OR of beta z (see
    :mod:`.lower`), not an abs and a multiplication. The same bits: c|y| = |cy| in IEEE arithmetic."""
    scaled = []
    out = []
    for sym, e in repl:
        for t, c, y in scaled:
            e = e.subs(c * Abs(y), Abs(t))
        out.append((sym, e))
        if e.is_Mul:
            c, y = e.as_independent(*(e.free_symbols - {s for s in e.free_symbols if s.is_positive}))
            if c.is_positive and c != 1 and not y.is_number:
                scaled.append((sym, c, y))
    for t, c, y in scaled:
        reduced = [e.subs(c * Abs(y), Abs(t)) for e in reduced]
    return out, reduced


def outer_functions(expr: Expr) -> list[Expr]:
    """The outermost function applications in ``expr`` other than Max/Min (which are walked into)."""
    if isinstance(expr, sympy.Function) and not isinstance(expr, (sympy.Max, sympy.Min)):
        return [expr]
    if expr.is_Atom:
        return []
    return [f for x in expr.args for f in outer_functions(x)]


def subs_in_functions(expr: Expr, var: Symbol, value: Expr) -> Expr:
    """``expr`` with ``var`` replaced by ``value`` inside every outermost function application
    other than Max/Min (which are walked into): those of :func:`outer_functions`."""
    return expr.xreplace({f: f.subs(var, value) for f in outer_functions(expr)})


def _with_args(expr: Expr, args: list[Expr]) -> Expr:
    """``expr`` with ``args``; ``expr`` itself when none changed (rebuilding lets SymPy re-evaluate)."""
    if all(x is y for x, y in zip(args, expr.args, strict=True)):
        return expr
    return expr.func(*args)


#: The passes, in the order :func:`.chunk.chunk_source` applies them (stage by stage, see
#: :data:`STAGES`; within a stage, in this order).
PASSES: tuple[Pass, ...] = (
    Pass("share_clips", "results", _share_clips,
         "a kernel evaluated at a saturation clip (Max(z, -1024)) and another that gives the very same "
         "floats there (checked on the grid) are both evaluated there, so that cse shares their work",
         "gelu_tanh", needs_act=True),
    Pass("hypot_by_sqrt", "expr", _hypot_by_sqrt,
         "hypot(x, k) for constant k as max(sqrt(min(|x|, 2^30 k)^2 + k^2), |x|): numpy.hypot costs 17 exp "
         "passes; below 2^30 k the square cannot overflow, above it hypot rounds to |x|; within 1 ULP of "
         "numpy.hypot, 7 in squareplus''",
         "squareplus", ulps=7),
    Pass("negations_outside", "expr", _negations_outside,
         "Max(c, -x) as -Min(-c, x) (and Min likewise): negation is exact and commutes with max/min, and "
         "the outer minus folds into the sum around it; a zero may change sign (log_sigmoid(z) for z >= 1000: "
         "+0, where the exact value is negative)",
         "log_sigmoid", zero_sign=True),
    Pass("distribute_numbers", "expr", _distribute_numbers,
         "c*(a*x + b)*y with numbers c, a, b as ((c*a)*x + c*b)*y: the constants fold, one multiplication "
         "fewer; the products round differently (1891 ULP in gelu_tanh' at z = -21, where an exp argument "
         "near -700 amplifies its last bit; 17 in mish'')",
         "gelu_tanh", ulps=1891, zero_sign=True),
    Pass("mark_blends", "expr", _mark_blends,
         "a Where on an order relation as 0/1-indicator arithmetic, a clamp of the argument, or a bit blend "
         "(numpy.where over a random mask costs 4.2 exp passes); each form checked on the grid against the "
         "select, a zero of either sign counting as the same (relu(-0), hardswish(-4)); gelu moves by "
         "compute_apart's, which needs its selects",
         "celu", needs_act=True, ulps=1539, zero_sign=True),
    Pass("compute_apart", "expr", _compute_apart,
         "a select with a costly branch (>= COSTLY operations) computes that branch only on the entries "
         "that take it, in a chunk function of its own (tanhshrink's continued fraction on |z| < 0.6); "
         "cse there sees that branch alone, so gelu (erfc's series, z < -26) moves by up to 1539 ULP at "
         "z = -36.4 (a result near 1e-288)",
         "tanhshrink", needs_act=True, ulps=1539),
    Pass("inline_numbers", "temporaries", _inline_numbers,
         "a constant cse named is one float literal again, and folds with the number beside it; a "
         "temporary c*x used only as k*t becomes x, used as (k*c)*t; the products round differently "
         "(1723 ULP in gelu_tanh at z = -21, an exp argument near -700 again; 16 in gelu')",
         "gelu_tanh", ulps=1723),
    Pass("hoist_power_bases", "temporaries", _hoist_power_bases,
         "the base of a small integer power gets a temporary ((e + 1)**2 is t*t, not (e + 1)*(e + 1)), and "
         "x**3, x**4 come from a temporary x**2",
         "softsign"),
    Pass("abs_of_temporaries", "temporaries", _abs_of_temporaries,
         "c*Abs(y) as Abs(t) where a temporary t = c*y with c > 0 exists: one sign-bit operation instead "
         "of an abs and a multiplication, and c|y| = |cy| in IEEE arithmetic",
         "softplus"),
)
