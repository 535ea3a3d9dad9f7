"""PyTorch and JAX drop-ins from the same :class:`~symderiv.codegen.assemble.Kernel` as the NumPy kernels.

For each activation the stable g, g' and g'' the NumPy kernels are built from (the primitives'
stable forms, the saturation clips and the ±inf/NaN patches of :func:`.assemble.kernels_for`) are
printed once more, by SymPy's printer with ``torch.`` or ``jax.numpy.`` functions
(:class:`FrameworkPrinter`), common subexpressions shared by ``sympy.cse``. The runtime
modules :data:`TORCH_RUNTIME` and :data:`JAX_RUNTIME` (the files of ``codegen/templates/``) wrap them:

* PyTorch: ``NAME(x, *, convention="torch", **params)`` applies a ``torch.autograd.Function``
  whose backward is ``grad * g'(x)`` from the stable g' (never ``a*(1 - a)`` from a rounded a),
  itself a Function whose backward is ``grad * g''(x)``; ``nn.Module`` classes named as
  ``torch.nn``'s wrap them.
* JAX: ``NAME(x, *, convention="jax", **params)`` is a ``jax.custom_jvp`` function whose
  tangent is g' (again a ``custom_jvp``, with g'' as its tangent): jit, vmap and second order.

Both compute in float64 (where the device or JAX's x64 mode has it) and round once to the input's
dtype, as the NumPy kernels do, so float32, float16 and bfloat16 get the float64 result rounded.
The value at a kink follows ``convention`` (``torch``, ``jax``, ``left``, ``right``, ``mid``): the
forms carry PyTorch's values, and the others are written where ``x`` equals the breakpoint,
from :func:`symderiv.calculus.kinks` (g') and the one-sided limits of g'' (the side the
convention's g' takes; the mean where it takes neither).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from pathlib import Path

import sympy
from sympy import Expr
from sympy.printing.numpy import _known_functions_numpy
from sympy.printing.precedence import PRECEDENCE

from .. import calculus
from ..catalogue import Activation, a, z
from .printer import COMPARE, KernelPrinter
from .rewrites import stable

__all__ = ["CONVENTIONS", "JAX_RUNTIME", "MODULE_NAMES", "TORCH_RUNTIME", "FrameworkPrinter", "kink_table",
           "module_name", "render_init", "render_jax", "render_portable", "render_torch"]

#: The conventions every drop-in takes (``convention=``), each giving the value at kinks.
CONVENTIONS = ("torch", "jax", "left", "right", "mid")

#: ``torch.nn`` class names; the other entries get their name in CamelCase.
MODULE_NAMES = {
    "relu": "ReLU", "relu6": "ReLU6", "leaky_relu": "LeakyReLU", "elu": "ELU", "celu": "CELU",
    "selu": "SELU", "gelu": "GELU", "gelu_tanh": "GELUTanh", "silu": "SiLU", "log_sigmoid": "LogSigmoid",
    "hardtanh": "Hardtanh", "hardsigmoid": "Hardsigmoid", "hardswish": "Hardswish",
    "hardshrink": "Hardshrink", "softshrink": "Softshrink", "tanhshrink": "Tanhshrink",
}


def module_name(name: str) -> str:
    """The ``nn.Module`` class name for catalogue entry ``name`` (``torch.nn``'s where it has one)."""
    return MODULE_NAMES.get(name) or "".join(part.capitalize() for part in name.split("_"))


class FrameworkPrinter(KernelPrinter):
    """:class:`~symderiv.codegen.printer.KernelPrinter`'s numbers and powers, with the functions
    of ``torch`` or ``jax.numpy`` (``framework``), elementwise and NaN-propagating."""

    def __init__(self, framework: str, arrays=()):
        self.framework = framework
        self._module = {"torch": "torch", "jax": "jnp", "xp": "xp"}[framework]
        self._kf = {k: f"{self._module}.{v}" for k, v in _known_functions_numpy.items()}
        super().__init__({"fully_qualified_modules": False}, arrays)

    def _print(self, expr, **kwargs):
        # a number is a literal, never a framework call on a Python number (torch.sqrt(2) fails)
        if isinstance(expr, Expr) and expr.is_number and not expr.is_Integer and expr.is_finite:
            return repr(float(expr))
        return super()._print(expr, **kwargs)

    def _module_format(self, fqn, register=True):
        return fqn

    def _where(self, cond: str, a: str, b: str, numbers: bool = False) -> str:
        if numbers and self.framework == "torch":
            # torch.where of two Python numbers is of the default dtype (float32): make one a
            # 0-dimensional tensor of the input's dtype and device
            a = f"z.new_tensor({a})"
        elif numbers and self.framework == "xp":  # the standard's where needs one array
            a = f"xp.full_like(z, {a})"
        return f"{self._module}.where({cond}, {a}, {b})"

    def _print_Where(self, expr):
        cond, a, b = expr.args
        return self._where(self._print(cond), self._print(a), self._print(b), self._scalar(a) and self._scalar(b))

    def _scalar(self, e: Expr) -> bool:
        """Whether ``e`` prints as a Python number (numbers and parameters, no array)."""
        return not (e.free_symbols & self.arrays)

    _print_Select = _print_Where

    def _print_Patch(self, expr):  # pragma: no cover - only the NumPy kernels split costly branches
        raise NotImplementedError("Patch")

    def _print_Ind(self, expr):
        return self._where(self._compare(expr.args[0]), "1.0", "0.0", True)

    def _compare(self, cond) -> str:
        op = {"greater": ">", "greater_equal": ">=", "less": "<", "less_equal": "<="}[COMPARE[type(cond)]]
        lhs, rhs = (self.parenthesize(s, PRECEDENCE["Relational"] + 1) for s in (cond.lhs, cond.rhs))
        return f"({lhs} {op} {rhs})"

    def _print_Relational(self, expr):
        if type(expr) in COMPARE:
            return self._compare(expr)
        return super()._print_Relational(expr)

    def _print_Equal(self, expr):
        return f"({self._print(expr.args[0])} == {self._print(expr.args[1])})"

    def _print_IsNan(self, expr):
        return f"{self._module}.isnan({self._print(expr.args[0])})"

    def _print_Piecewise(self, expr):
        *pairs, (last, _cond) = expr.args
        out, scalar = self._print(last), self._scalar(last)
        for value, c in reversed(pairs):
            out = self._where(self._print(c), self._print(value), out, scalar and self._scalar(value))
            scalar = False
        return out

    def _print_Infinity(self, expr):
        return "float('inf')"

    def _print_NegativeInfinity(self, expr):
        return "-float('inf')"

    def _print_NaN(self, expr):
        return "float('nan')"

    def _print_Abs(self, expr):
        return f"{self._module}.abs({self._print(expr.args[0])})"

    def _minmax(self, expr, fn):
        arrays = [e for e in expr.args if not self._scalar(e)]
        numbers = [e for e in expr.args if self._scalar(e)]
        out = self._print(arrays[0])
        for e in arrays[1:]:
            out = f"{self._module}.{fn}({out}, {self._print(e)})"
        for c in numbers:
            if self.framework == "torch":
                out = f"torch.clamp({out}, {'min' if fn == 'maximum' else 'max'}={self._print(c)})"
            else:
                out = f"{self._module}.{fn}({self._print(c)}, {out})"
        return out

    def _print_Heaviside(self, expr):
        x, h0 = expr.args
        if h0 not in (0, 1):  # pragma: no cover - the kernels' steps take h0 in {0, 1}
            raise NotImplementedError(f"Heaviside(x, {h0})")
        return self._where(f"({self._print(x)} {'>=' if h0 else '>'} 0)", "1.0", "0.0", True)

    def _print_sign(self, expr):
        return f"{self._module}.sign({self._print(expr.args[0])})"

    def _print_tanh(self, expr):
        # XLA's tanh is a fast approximation: 6.5 ULP near |x| = 19 in float64 (measured); the
        # runtime's tanh, from expm1, is within 2.5
        fn = {"torch": "torch.tanh", "jax": "_runtime.tanh", "xp": "xp_tanh(xp)"}[self.framework]
        return f"{fn}({self._print(expr.args[0])})"

    def _print_hypot(self, expr):
        x, y = expr.args
        args = [f"z.new_tensor({self._print(e)})" if self.framework == "torch" and self._scalar(e)
                else self._print(e) for e in (x, y)]
        return f"{self._module}.hypot({args[0]}, {args[1]})"

    def _print_Erfc(self, expr):
        fn = {"torch": "torch.special.erfc", "jax": "jax.scipy.special.erfc",
              "xp": "xp_special(xp, 'erfc')"}[self.framework]
        return f"{fn}({self._print(expr.args[0])})"

    _print_erfc = _print_Erfc

    def _print_Pow(self, expr, rational=False):
        base, e = expr.args
        if expr.is_number:
            return repr(float(expr))
        if e == sympy.Rational(1, 2) and self._scalar(base):  # a parameter's: a Python float
            return f"math.sqrt({self._print(base)})"
        if e == sympy.Rational(1, 2):
            return f"{self._module}.sqrt({self._print(base)})"
        if e == -sympy.Rational(1, 2):
            return f"(1/{self._module}.sqrt({self._print(base)}))"
        return super()._print_Pow(expr, rational=rational)


def _function(name: str, expr: Expr, args: list[str], printer_for, var: sympy.Symbol = z) -> list[str]:
    """``def name(*args): ...`` computing ``expr`` with common subexpressions shared."""
    exprs = list(expr) if isinstance(expr, sympy.Tuple) else [expr]
    if var != z:  # the a-form: printed in the array argument, named z
        exprs = [e.subs(var, z) for e in exprs]
    repl, reduced = sympy.cse(exprs, symbols=sympy.numbered_symbols("_t"), order="canonical")
    arrays = {z}
    for sym, e in repl:
        if e.free_symbols & arrays:
            arrays.add(sym)
    printer = printer_for(arrays)
    lines = [f"def {name}({', '.join(args)}):"]
    lines += [f"    {sym} = {printer.doprint(e)}" for sym, e in repl]
    lines.append(f"    return {', '.join(printer.doprint(e) for e in reduced)}")
    text = "\n".join(lines)
    foreign = re.search(r"(?<![\w.])(numpy|scipy|select|patch|fix)\b", text)
    if not foreign and printer.framework == "xp":
        foreign = re.search(r"(?<![\w.])(torch|jnp|jax|math\.(?!sqrt))\b", text)
    if foreign:  # a printer gap: the NumPy printer's fallback reached a framework's code
        raise AssertionError(f"{name}: {foreign.group(0)!r} printed for a framework")
    return lines


def _order2_limit(pieces, j: int, side: str) -> Expr:
    piece = pieces[j] if side == "left" else pieces[j + 1]
    return calculus.one_sided_limit(sympy.diff(piece.expr, z, 2), pieces[j].hi, "-" if side == "left" else "+")


def kink_table(act: Activation) -> list[tuple[Expr, dict[str, tuple[Expr, Expr]]]]:
    """``[(b, {convention: (g'(b), g''(b))})]`` for each breakpoint b of ``act`` (params symbolic).

    g'(b) is :func:`symderiv.calculus.kinks`' value of the convention; g''(b) is the one-sided
    limit of g'' on the side whose g' the convention takes, the mean of both where it takes
    neither. A convention without a value of its own (a framework lacking the function, at a
    point where g is not differentiable) takes PyTorch's.
    """
    order_at = act.defaults()
    pieces = calculus.pieces(act.expr, order_at)
    conventions = {fw: dict(table) for fw, table in act.conventions.items()}
    kinks = {k.z: k for k in calculus.kinks(act.expr, conventions, order_at)}
    out = []
    for j in range(len(pieces) - 1):
        b = pieces[j].hi
        kink = kinks.get(b)
        if kink is None:
            continue
        left2, right2 = _order2_limit(pieces, j, "left"), _order2_limit(pieces, j, "right")
        table = {}
        for conv in CONVENTIONS:
            v1 = kink.values.get(conv)
            if v1 is None:
                v1 = kink.values.get("torch")
            if v1 is None:
                v1 = kink.values["left"]
            if sympy.simplify(v1 - kink.values["left"]) == 0:
                v2 = left2
            elif sympy.simplify(v1 - kink.values["right"]) == 0:
                v2 = right2
            else:
                v2 = (left2 + right2) / 2
            table[conv] = (sympy.simplify(v1), sympy.simplify(v2))
        out.append((b, table))
    return out


def _forms(kernel) -> list[Expr]:
    """g, g', g'' of ``kernel`` with the primitives in their stable forms (as the NumPy kernels)."""
    out = []
    for k, e in enumerate(kernel.orders):
        out.append(sympy.piecewise_fold(stable(e, kernel.variant if k < 2 else None)))
    return out


def _check_params(act: Activation) -> list[str]:
    lines = []
    for p in act.params:
        kind = next((k for k in ("positive", "nonnegative", "negative") if getattr(p.symbol, f"is_{k}")), "real")
        lines.append(f"    {p.name} = _param({act.name!r}, {p.name!r}, {p.name}, {kind!r})")
    printer = FrameworkPrinter("torch")  # relations of Python floats print alike for both
    for relation, why in act.constraints:  # the catalogue's (derivation.check_constraints)
        lines += [f"    if not {printer.doprint(relation)}:",
                  f"        raise ValueError(f\"{act.name} needs {relation} ({why}), got "
                  + ", ".join(f"{s.name} = {{{s.name}!r}}" for s in sorted(relation.free_symbols, key=str))
                  + '")']
    return lines


def _render(kernel, framework: str) -> str:
    act = kernel.activation
    n, params = act.name, [p.name for p in act.params]
    printer_for = functools.partial(FrameworkPrinter, framework)
    pdefault = "".join(f", {p.name}={float(p.default)!r}" for p in act.params)
    pdoc = "".join(f"\n        {p.name}: {p.description} (default {p.default})." for p in act.params)
    g, g1, g2 = _forms(kernel)
    args = ["z", *params]
    out = [
        f'"""{"PyTorch" if framework == "torch" else "JAX"} drop-in for {n}: {act.description}.',
        "",
        f"g(z) = {act.expr}",
        "",
        "Generated from the symbolic catalogue; see symderiv.codegen.frameworks.",
        '"""',
        "",
    ]
    functions = [_function(f"_{n}{suffix}", expr, args, printer_for)
                 for suffix, expr in (("", g), ("_grad", g1), ("_grad2", g2))]
    if framework == "torch":
        # g and g' sharing their work (one exp for sigmoid's both): what a training step's forward
        # takes (JAX's jit shares it by itself)
        functions.append(_function(f"_{n}_value_and_grad", sympy.Tuple(g, g1), args, printer_for))
    if any("math." in line for lines in functions for line in lines):
        out += ["import math", ""]
    out += ["import torch", ""] if framework == "torch" else ["import jax", "import jax.numpy as jnp", ""]
    if any("_runtime.tanh(" in line for lines in functions for line in lines):
        out += ["from . import _runtime"]
    out += ["from ._runtime import Activation, _param", ""]
    if framework == "torch":  # CPU float32/float64 tensors: the NumPy kernels (see the runtime)
        out[-1:-1] = [f"from ..{n} import {n} as _numpy, {n}_grad as _numpy_grad, "
                      f"{n}_value_and_grad as _numpy_value_and_grad"]
    cls = module_name(n)
    out += [f"__all__ = {[n, cls] if framework == 'torch' else [n]!r}", "", ""]
    for lines in functions:
        out += [*lines, "", ""]
    printer = printer_for(set())
    table = kink_table(act)
    out.append(f"def _{n}_kinks({', '.join(params)}):")
    out.append('    """((b, {convention: (g\'(b), g\'\'(b))}), ...) at each breakpoint b."""')
    if not table:
        out.append("    return ()")
    else:
        out.append("    return (")
        for b, values in table:
            entries = ", ".join(f"{c!r}: ({printer.doprint(v1)}, {printer.doprint(v2)})"
                                for c, (v1, v2) in values.items())
            out.append(f"        ({printer.doprint(b)}, {{{entries}}}),")
        out.append("    )")
    out += ["", ""]
    extra = f", _{n}_value_and_grad, numpy=(_numpy, _numpy_grad, _numpy_value_and_grad), " \
        f"params={tuple(params)!r}" if framework == "torch" else ""
    out.append(f"_{n.upper()} = Activation({n!r}, _{n}, _{n}_grad, _{n}_grad2, _{n}_kinks{extra})")
    out += ["", ""]
    what = ("a torch.autograd.Function: backward is grad * g'(x) from the stable g', itself differentiable\n"
            "    (double backward gives g'' from its stable form)" if framework == "torch" else
            "a jax.custom_jvp function: its tangent is g'(x) from the stable g', itself a custom_jvp\n"
            "    with g''(x) as tangent (jit, vmap, second order)")
    out += [
        f'def {n}(x, *, convention="{framework}"{pdefault}):',
        f'    """{n}(x), {what}.',
        "",
        ("    CPU float64 and float32 tensors are computed by the NumPy kernels (float32 in float32 where\n"
         "    the kernel keeps its float32 ULP bound); others in float64 and rounded once to x's dtype.\n    "
         if framework == "torch" else "    Computed in float64 and rounded once to x's dtype. ")
        + f"``convention`` ({', '.join(CONVENTIONS)})",
        "    gives the derivatives' values at kinks." + (f"\n\n    Parameters:{pdoc}" if pdoc else ""),
        '    """',
        *_check_params(act),
        f"    return _{n.upper()}.apply(x, convention, ({', '.join(params)}{',' if params else ''}))",
        "",
        "",
    ]
    if framework == "torch":  # the module's own name for it: a parameter may be called as the function
        out += [f"_{n}_function = {n}", "", ""]
    if framework == "torch":
        init_args = "".join(f", {p}={p}" for p in params)
        out += [
            f"class {cls}(torch.nn.Module):",
            f'    """``torch.nn`` module applying :func:`{n}` (exact-tail gradients).{pdoc}"""',
            "",
            f'    def __init__(self, *, convention="torch"{pdefault}):',
            "        super().__init__()",
            f"        _{n}_function(torch.zeros(1, dtype=torch.float64), convention=convention{init_args})  # checks",
            "        self.convention = convention",
            *[f"        self.{p} = float({p})" for p in params],
            "",
            "    def forward(self, x):",
            f"        return _{n}_function(x, convention=self.convention"
            + "".join(f", {p}=self.{p}" for p in params) + ")",
            "",
            "    def extra_repr(self):",
            "        return " + " + ".join(["f\"convention={self.convention!r}\"",
                                            *[f"f\", {p}={{self.{p}!r}}\"" for p in params]]),
            "",
            "",
        ]
    return "\n".join(out).rstrip() + "\n"


def render_torch(kernel) -> str:
    """The source of ``generated/torch/<name>.py`` (without the header)."""
    return _render(kernel, "torch")


def render_jax(kernel) -> str:
    """The source of ``generated/jax/<name>.py`` (without the header)."""
    return _render(kernel, "jax")


def render_portable(kernel) -> list[str]:
    """The array-API forms of a NumPy module (``_NAME_xp(z, xp, *params)``, one per public kernel):
    the torch/JAX forms' stable g, g', g'' (and (g, g'), the a-form) printed with the functions of
    an array-API namespace ``xp`` (:func:`array_api_compat.array_namespace`), for the runtime to
    call on arrays of other libraries. Where the standard has no such function (erfc), the
    library's own (``xp_special``); tanh through ``xp_tanh`` (XLA's own is 6.5 ULP off)."""
    act = kernel.activation
    n, args = act.name, ["z", "xp", *[p.name for p in act.params]]
    printer_for = functools.partial(FrameworkPrinter, "xp")
    g, g1, g2 = _forms(kernel)
    lines: list[str] = []
    for suffix, expr in (("", g), ("_grad", g1), ("_grad2", g2), ("_value_and_grad", sympy.Tuple(g, g1))):
        lines += [*_function(f"_{n}{suffix}_xp", expr, args, printer_for), "", ""]
    if kernel.aform is not None:
        lines += [*_function(f"_{n}_grad_from_output_xp", stable(kernel.aform), args, printer_for, a), "", ""]
    return lines


def package_init(doc: str, names: Sequence[str], first: Sequence[str] = ()) -> str:
    """An ``__init__.py`` exporting every module of ``names`` that is there.

    The same text whatever was generated: a package written for a subset
    (``symderiv generate relu --out DIR``) imports the modules it holds and skips the others.
    ``first`` are names of ``_runtime`` exported too.
    """
    lines = [f'"""{doc}"""', "", "import importlib", "import importlib.util", ""]
    if first:
        lines += [f"from ._runtime import {', '.join(first)}", ""]
    lines += [f"__all__ = {list(first)!r}", f"_MODULES = {tuple(names)!r}", "", "_name = _module = None",
              "for _name in _MODULES:",
              "    if importlib.util.find_spec(f\"{__name__}.{_name}\") is None:  # generated for a subset",
              "        continue",
              "    _module = importlib.import_module(f\"{__name__}.{_name}\")",
              "    globals().update({n: getattr(_module, n) for n in _module.__all__})",
              "    __all__ += _module.__all__",
              "del _name, _module"]
    return "\n".join(lines) + "\n"


def render_init(framework: str, names: list[str]) -> str:
    """``generated/<framework>/__init__.py``: every drop-in of ``names`` (those generated)."""
    what = "PyTorch autograd Functions and nn.Modules" if framework == "torch" else "JAX custom_jvp functions"
    return package_init(f"{what} with exact-tail derivatives, generated from the symderiv catalogue.",
                        names, ("CONVENTIONS",))


#: The folder of the drop-ins' runtimes: real modules, linted, read here as text and copied into
#: ``generated/torch/_runtime.py`` and ``generated/jax/_runtime.py``. Not a package: importing
#: symderiv (or collecting its doctests) must not import torch or JAX.
TEMPLATES = Path(__file__).with_name("templates")

#: The runtime the PyTorch drop-ins import (:file:`templates/torch_runtime.py`).
TORCH_RUNTIME = (TEMPLATES / "torch_runtime.py").read_text(encoding="utf-8")

#: The runtime the JAX drop-ins import (:file:`templates/jax_runtime.py`); it shares with
#: :data:`TORCH_RUNTIME` the parameter and convention checks, word for word (tested).
JAX_RUNTIME = (TEMPLATES / "jax_runtime.py").read_text(encoding="utf-8")
