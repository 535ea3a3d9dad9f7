"""Printed NumPy expressions -> in-place code over preallocated scratch buffers.

:class:`~symderiv.codegen.printer.KernelPrinter` prints each common subexpression as one
NumPy expression, which allocates a fresh array for every operation. On cache-sized chunks
that is costly: every temporary is new memory, the working set outgrows L2, and glibc's heap
is trimmed and regrown chunk after chunk (page faults). This module rewrites that code, by
walking Python's ``ast`` of it, into one ufunc call per operation with ``out=`` a buffer from a
small pool (reused as soon as its value is dead, and an operand's own buffer where the operation
is elementwise), and the last operation of each result writing straight into the output.
The values are bit for bit those of the allocating code: the same operations in the same order,
or cheaper ones with the same bits (``max``/``min`` with a scalar as ``numpy.clip``, ``-x + y``
as one subtraction, ``-|x|`` by setting the sign bit).

>>> print("\\n".join(lower("f", "z", [], [("_t0", "numpy.exp(-z*z)")], ["_t0/(_t0 + 1)"], [])))
def f(z, _o, _w):
    _o0, = _o
    _f0, _f1 = _w.floats(2)
    numpy.negative(z, out=_f0)
    numpy.multiply(_f0, z, out=_f0)
    numpy.exp(_f0, out=_f0)
    _t0 = _f0
    numpy.add(_t0, 1, out=_f1)
    numpy.divide(_t0, _f1, out=_o0)
<BLANKLINE>
<BLANKLINE>
f.passes = 9

The last line is for the runtime's choice of threads (see :func:`_passes`).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Sequence

__all__ = ["DTYPES", "lower"]

#: NumPy ufuncs with a float result, called as ``numpy.NAME``.
_FLOAT_UFUNCS = frozenset({
    "absolute", "add", "arctan", "copysign", "cos", "cosh", "divide", "exp", "exp2", "expm1", "fmax",
    "fmin", "hypot", "log", "log1p", "log2", "logaddexp", "maximum", "minimum", "multiply", "negative",
    "power", "reciprocal", "sign", "sin", "sinh", "sqrt", "square", "subtract", "tan", "tanh",
    "true_divide",
})
#: NumPy ufuncs with a boolean result.
_BOOL_UFUNCS = frozenset({"equal", "greater", "greater_equal", "isfinite", "isinf", "isnan", "less",
                          "less_equal", "not_equal", "signbit"})
#: ``scipy.special`` ufuncs (float result).
_SPECIAL_UFUNCS = frozenset({"erf", "erfc", "expit", "log_expit", "log_ndtr", "ndtr"})
#: The runtime's functions called like ufuncs, ``f(x, out=...)`` (float result; in place allowed).
_RUNTIME_UFUNCS = frozenset({"erfc"})
#: Per float type computed in: (integer view of the same width, its sign bit, the scratch call).
#: float32 bodies (see :mod:`symderiv.codegen.single`) compute on float32 scratch, in float32.
DTYPES = {
    "float64": ("numpy.int64", -(1 << 63), "_w.floats"),
    "float32": ("numpy.int32", -(1 << 31), "_w.floats32"),
}
_BINOPS = {ast.Add: "add", ast.Sub: "subtract", ast.Mult: "multiply", ast.Div: "divide", ast.Pow: "power"}


def _dotted(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = _dotted(node.value)
        return None if head is None else f"{head}.{node.attr}"
    return None


class _Lowering:
    def __init__(self, arrays: set[str], var: str = "z", params: Sequence[str] = (), dtype: str = "float64"):
        self.var, self.params = var, list(params)
        self.ints, self.sign_bit, self.floats = DTYPES[dtype]
        self.arrays = set(arrays)
        self.lines: list[str] = []
        self.free: dict[str, list[str]] = {"f": [], "b": []}
        self.count = {"f": 0, "b": 0}
        self.scratch: set[str] = set()  # buffers holding a value nobody has named: free once used
        self.masks: dict[str, str] = {}  # printed comparison -> the bool buffer holding it (kept)
        self.fresh = 0

    def is_array(self, node: ast.AST) -> bool:
        return any(isinstance(n, ast.Name) and n.id in self.arrays for n in ast.walk(node))

    def take(self, kind: str) -> str:
        if self.free[kind]:
            return self.free[kind].pop()
        name = f"_{kind}{self.count[kind]}"
        self.count[kind] += 1
        return name

    def release(self, name: str) -> None:
        if name in self.scratch:
            self.scratch.discard(name)
            self.free[name[1]].append(name)

    def target(self, dest: str | None, operands: Sequence[str], kind: str, reuse: bool = True) -> str:
        if dest is not None:
            return dest
        if reuse:
            for o in operands:
                if o in self.scratch and o[1] == kind:
                    return o  # elementwise: the result may overwrite its operand
        name = self.take(kind)
        self.scratch.add(name)
        return name

    def emit_call(self, func: str, args: list[str], dest: str | None, kind: str, extra: str = "",
                  reuse: bool = True) -> str:
        out = self.target(dest, args, kind, reuse)
        self.lines.append(f"{func}({', '.join(args)}, out={out}{extra})")
        for a in args:
            if a != out:
                self.release(a)
        return out

    def value(self, node: ast.AST, dest: str | None = None) -> str:
        """Code for ``node``'s value: a name (of a buffer, an input, or a fresh array) or a scalar."""
        if not self.is_array(node):
            text = ast.unparse(node)
            return text if isinstance(node, (ast.Name, ast.Constant, ast.Attribute)) else f"({text})"
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
            if isinstance(node.op, ast.Add):  # -x + y and y + -x: one subtract, the same bits
                for x, y in ((node.left, node.right), (node.right, node.left)):
                    if isinstance(x, ast.UnaryOp) and isinstance(x.op, ast.USub) and self.is_array(x.operand):
                        args = [self.value(y), self.value(x.operand)]
                        return self.emit_call("numpy.subtract", args, dest, "f")
            args = [self.value(node.left), self.value(node.right)]
            return self.emit_call(f"numpy.{_BINOPS[type(node.op)]}", args, dest, "f")
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            if isinstance(node.op, ast.UAdd):
                return self.value(node.operand, dest)
            inner = node.operand
            if (isinstance(inner, ast.Call) and _dotted(inner.func) in ("abs", "numpy.absolute")
                    and len(inner.args) == 1 and not inner.keywords):
                # -|x|: the sign bit set, one integer op (0.23 exp passes) instead of two (0.36);
                # the same bits, NaN payloads included
                x = self.value(inner.args[0])
                out = self.target(dest, [x], "f")
                self.lines.append(f"numpy.bitwise_or({x}.view({self.ints}), {self.sign_bit}, "
                                  f"out={out}.view({self.ints}))")
                if x != out:
                    self.release(x)
                return out
            return self.emit_call("numpy.negative", [self.value(node.operand)], dest, "f")
        if isinstance(node, ast.Call) and not node.keywords:
            lowered = self.call(node, dest)
            if lowered is not None:
                return lowered
        # anything else (numpy.where, ...) allocates, as printed, on lowered operands
        name = f"_a{self.fresh}"
        self.fresh += 1
        self.arrays.add(name)
        self.lines.append(f"{name} = {ast.unparse(node)}")
        return name

    def extremum(self, node: ast.Call, dest: str | None) -> str | None:
        """max/min with a scalar, as ``numpy.clip``: the same bits, at 0.31 exp passes against
        0.55 (``maximum(x, -32)``) to 0.78 (``maximum(0, x)``) on 65536-element chunks.

        ``numpy.clip(x, lo, hi)`` gives ``x`` where ``x`` equals a bound (+-0 and NaN payloads
        included), as ``numpy.minimum(c, x)`` and ``numpy.maximum(c, x)`` do, with the scalar first
        (they return their second operand on a tie). With the scalar second that differs only for
        a bound of 0 (or a parameter, which may be 0), whose other sign it would return: such
        calls stay as printed. A clip ``min(hi, max(lo, x))`` becomes one call when both bounds
        can (and, for literal bounds, ``lo <= hi``).
        """
        outer = _extremum_parts(node, self.is_array)
        if outer is None:
            return None
        kind, c_out, inner_node = outer
        if c_out is None:
            return None
        inner = _extremum_parts(inner_node, self.is_array)
        if inner is not None and inner[0] != kind and inner[1] is not None:
            lo, hi = (inner[1], c_out) if kind == "minimum" else (c_out, inner[1])
            if _ordered(lo, hi):
                x = self.value(inner[2])
                return self.emit_call("numpy.clip", [x, lo, hi], dest, "f")
        bounds = [c_out, "numpy.inf"] if kind == "maximum" else ["-numpy.inf", c_out]
        return self.emit_call("numpy.clip", [self.value(inner_node), *bounds], dest, "f")

    def call(self, node: ast.Call, dest: str | None) -> str | None:
        func = _dotted(node.func)
        if (isinstance(node.func, ast.Attribute) and node.func.attr == "astype" and not node.args[1:]
                and node.args and _dotted(node.args[0]) == "numpy.float64"
                and isinstance(node.func.value, ast.Call) and not node.func.value.keywords
                and _dotted(node.func.value.func) in {f"numpy.{n}" for n in _BOOL_UFUNCS}):
            # a comparison cast to 0.0/1.0: written straight into a float buffer
            inner = node.func.value
            args = [self.value(a) for a in inner.args]
            return self.emit_call(_dotted(inner.func), args, dest, "f", ', casting="unsafe"')
        if func == "abs" and len(node.args) == 1:
            return self.emit_call("numpy.absolute", [self.value(node.args[0])], dest, "f")
        if func is not None and func.startswith("numpy.") and func[6:] in _BOOL_UFUNCS:
            if dest is not None:
                return None
            # a comparison of values that never change (the input, named temporaries): computed
            # once into its own mask, however often the printed code repeats it
            key = ast.unparse(node)
            if key not in self.masks:
                args = [self.value(a) for a in node.args]
                mask = self.take("b")
                self.lines.append(f"{func}({', '.join(args)}, out={mask})")
                for a in args:
                    self.release(a)
                self.masks[key] = mask
            return self.masks[key]
        lowered = self.extremum(node, dest)
        if lowered is not None:
            return lowered
        if func is not None and func.startswith("numpy.") and func[6:] in _FLOAT_UFUNCS:
            return self.emit_call(func, [self.value(a) for a in node.args], dest, "f")
        if func in _RUNTIME_UFUNCS or (func is not None and func.startswith("scipy.special.")
                                       and func[14:] in _SPECIAL_UFUNCS):
            return self.emit_call(func, [self.value(a) for a in node.args], dest, "f")
        if func == "patch" and len(node.args) == 3 and isinstance(node.args[2], ast.Name):
            # a, overwritten in place where the mask holds by the chunk function named third
            mask = self.value(node.args[0])
            got = self.value(node.args[1], dest)
            if got != dest and got not in self.scratch:  # the input or a named temporary: copy
                src, got = got, self.target(dest, [], "f", reuse=False)
                self.lines.append(f"numpy.copyto({got}, {src})")
            params = "".join(f"{p}, " for p in self.params)
            self.lines.append(f"patch({mask}, {got}, {self.var}, {node.args[2].id}, _w, ({params}))")
            return got
        if func == "select" and len(node.args) == 3:
            # the runtime's bit blend writes its out before reading every operand: never in place
            return self.emit_call("select", [self.value(a) for a in node.args], dest, "f", reuse=False)
        return None


def _literal(text: str) -> float | None:
    """The value of a printed literal number (``3``, ``-32.0``), else None."""
    try:
        value = ast.literal_eval(text)
    except (ValueError, TypeError, SyntaxError, RecursionError):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value == value:
        return float(value)
    return None


def _ordered(lo: str, hi: str) -> bool:
    """Whether the bounds are known to satisfy ``lo <= hi`` (literal numbers)."""
    a, b = _literal(lo), _literal(hi)
    return a is not None and b is not None and a <= b


def _extremum_parts(node: ast.AST, is_array) -> tuple[str, str | None, ast.AST] | None:
    """(``maximum``/``minimum``, the scalar's text, the array operand) of such a call between an
    array and a scalar; the text is None where ``numpy.clip`` would not give the same bits (the
    scalar second, and 0 or a parameter)."""
    if not (isinstance(node, ast.Call) and not node.keywords and len(node.args) == 2):
        return None
    func = _dotted(node.func)
    if func not in ("numpy.maximum", "numpy.minimum"):
        return None
    first, second = node.args
    if not is_array(first) and is_array(second):
        return func[6:], ast.unparse(first), second
    if is_array(first) and not is_array(second):
        c = ast.unparse(second)
        value = _literal(c)
        return func[6:], (c if value is not None and value != 0 else None), first
    return None


def _non_finite_test(var: str, tables: Sequence[str]) -> str:
    """A cheap test for a chunk that may hold one of the points the ``fix`` tables patch.

    A single extremum tells when only -inf (or only +inf), with or without NaN, is patched: ``min``
    is -inf or NaN exactly when the chunk holds -inf or NaN (0.12 ``exp`` passes; NumPy's
    reductions propagate NaN), ``max`` likewise for +inf (relu' patches NaN alone: its test cost
    as much as its comparison, 0.19 against 0.09 ns an element for 65536); otherwise the ``sum`` is not
    finite when the chunk holds an inf or NaN (0.21 passes; it may also overflow, which merely
    costs the patch), told by a chained comparison of the scalar (False for NaN), which costs a
    tenth of ``numpy.isfinite`` on a scalar (0.07 against 0.7 us)."""
    points = {ast.unparse(row.elts[0]) for t in tables for row in ast.parse(t, mode="eval").body.elts}
    if points <= {"-numpy.inf", "numpy.nan"}:
        return f"not {var}.min() > -numpy.inf"
    if points <= {"numpy.inf", "numpy.nan"}:
        return f"not {var}.max() < numpy.inf"
    return f"not -numpy.inf < {var}.sum() < numpy.inf"


def lower(name: str, var: str, params: Sequence[str], assignments: Sequence[tuple[str, str]],
          results: Sequence[str], fixes: Sequence[tuple[int, str]],
          points: Sequence[tuple[int, str, str]] = (), dtype: str = "float64") -> list[str]:
    """The source of ``name(var, _o, _w, *params)``, computing ``results`` into the arrays ``_o``.

    ``dtype`` is the float type of ``var``, the outputs and the scratch (a key of :data:`DTYPES`):
    the same operations, on float32 views and scratch for ``"float32"`` (NumPy rounds the printed
    float64 literals to float32 when the other operand is a float32 array).

    ``assignments`` are (temporary, printed expression) in order, ``results`` one printed
    expression per output; ``fixes`` are (output index, printed table) for the runtime's ``fix``,
    applied when the chunk holds a non-finite input; ``points`` are (output index, point, value)
    written where ``var`` equals the (finite) point. ``_w.floats(n)`` and ``_w.bools(n)`` give n
    scratch arrays of the chunk's length.
    """
    steps = [ast.parse(code, mode="eval").body for code in [*(c for _, c in assignments), *results]]
    last_use: dict[str, int] = {}
    for i, step in enumerate(steps):
        for n in ast.walk(step):
            if isinstance(n, ast.Name):
                last_use[n.id] = i
    low = _Lowering({var}, var, params, dtype)
    held: dict[str, str] = {}  # temporary -> the buffer holding it
    # a temporary that is itself a result (squareplus' = g/h reads g) is computed straight into
    # that output, which later steps read: no copy (the outputs are written once each)
    temps = {tmp for tmp, _ in assignments}
    into: dict[str, str] = {}
    for k, node in enumerate(steps[len(assignments):]):
        if isinstance(node, ast.Name) and node.id in temps:
            into.setdefault(node.id, f"_o{k}")
    in_output: set[str] = set()  # the temporaries that were computed into their output

    def retire(i: int) -> None:
        for tmp, buf in list(held.items()):
            if last_use.get(tmp, -1) <= i:
                del held[tmp]
                low.free[buf[1]].append(buf)

    for i, ((tmp, _), node) in enumerate(zip(assignments, steps[:len(assignments)], strict=True)):
        dest = into.get(tmp) if low.is_array(node) else None
        got = low.value(node, dest)
        if dest is not None and got == dest:
            in_output.add(tmp)
        if got in held:  # an alias of an earlier temporary: that one lives as long as this one
            last_use[got] = max(last_use.get(got, -1), last_use.get(tmp, -1))
        if got in low.scratch:
            low.scratch.discard(got)
            held[tmp] = got
        if low.is_array(node):
            low.arrays.add(tmp)
        low.lines.append(f"{tmp} = {got}")
        retire(i)
    base = len(assignments)
    for k, node in enumerate(steps[base:]):
        dest = f"_o{k}"
        got = low.value(node, dest)
        if isinstance(node, ast.Name) and node.id in in_output and into[node.id] == dest:
            got = dest  # computed there already
        if got != dest:
            if not low.is_array(node):  # a scalar (identity's g' = 1)
                low.lines.append(f"{dest}[...] = {got}")
            else:
                low.lines.append(f"numpy.copyto({dest}, {got})")
        low.release(got)
        retire(base + k)
    body = low.lines
    by_point: dict[str, list[tuple[int, str]]] = {}
    for k, point, value in points:
        by_point.setdefault(point, []).append((k, value))
    for point, writes in by_point.items():
        hit = low.take("b")
        body.append(f"numpy.equal({var}, {point}, out={hit})")
        body.append(f"if {hit}.any():")
        body += [f"    _o{k}[{hit}] = {value}" for k, value in writes]
    if fixes:
        body.append(f"if {_non_finite_test(var, [table for _, table in fixes])}:")
        body += [f"    _o{k}[...] = fix({var}, _o{k}, {table})" for k, table in fixes]
    prologue = [f"{', '.join(f'_o{k}' for k in range(len(results)))}{',' if len(results) == 1 else ''} = _o"]
    if low.count["f"]:
        names = ", ".join(f"_f{j}" for j in range(low.count["f"]))
        prologue.append(f"{names}{',' if low.count['f'] == 1 else ''} = {low.floats}({low.count['f']})")
    if low.count["b"]:
        names = ", ".join(f"_b{j}" for j in range(low.count["b"]))
        prologue.append(f"{names}{',' if low.count['b'] == 1 else ''} = _w.bools({low.count['b']})")
    sig = ", ".join([var, "_o", "_w", *params])
    attributes = [f"{name}.passes = {_passes(body)}"]
    if any("erfc(" in line for line in body):
        # measured here (2-vCPU Xeon), gelu's kernels at 10^5..10^7: two threads took 1.03-1.25x
        # the time of one (and the runtime's erfc alone, on two halves, 1.4x)
        attributes.append(f"{name}.threads = False")
    return [f"def {name}({sig}):", *(f"    {line}" for line in prologue + body), "", "", *attributes]


#: The cost of a ufunc call in passes of a simple one (an add, a compare), for :func:`_passes`:
#: the threads pay for computing, not for streaming memory (measured here: two threads broke even
#: at ~300000 elements for leaky_relu's value_and_grad, nine cheap calls, and under 100000 for
#: silu's, whose exp and divisions cost the most).
_UFUNC_COST = {"exp": 4, "expm1": 4, "log": 4, "log1p": 4, "tanh": 4, "cosh": 4, "sinh": 4, "power": 4,
               "divide": 2, "sqrt": 2}


def _passes(body: Sequence[str]) -> int:
    """About how many simple passes over the chunk ``body`` costs, for the runtime's choice of
    threads (:data:`~symderiv.codegen.runtime.THREADED_WORK`): a ufunc call by :data:`_UFUNC_COST`
    (one otherwise), a reduction one, the runtime's erfc forty, a ``patch`` four."""
    total = 0
    for line in body:
        code = line.strip()
        if code.startswith("_o") and "fix(" in code:
            continue  # only when the chunk holds inf or NaN
        for name in re.findall(r"numpy\.([a-z_0-9]+)\(", code):
            total += _UFUNC_COST.get(name, 1)
        total += code.count(".sum()") + code.count(".min()") + code.count(".max()")
        total += 40 * code.count("erfc(") + 4 * code.count("patch(")
    return max(total, 1)
