"""Certified evaluation: a SymPy expression at an exact point, as an Arb ball.

:func:`evaluate` computes an expression in ``z`` and parameters at exact rational
values with python-flint's ``arb`` (midpoint–radius interval arithmetic): the true
value is guaranteed to lie in the returned ball. It is the only numeric evidence
:mod:`symderiv.prove` accepts for a counterexample — a difference whose ball
excludes 0 is nonzero, whatever rounding happened on the way.

Conditions (``Piecewise``, ``sign``, ``Heaviside``, relations) are decided only
when the ball decides them; a division by a ball that contains 0, or a condition
the ball straddles, raises :class:`Uncertain` (retry at a higher precision). A
point where the expression is certainly undefined — a division by an exact 0, the
log of a number certainly ≤ 0, no ``Piecewise`` branch true — raises
:class:`Undefined`.

>>> from sympy import Rational, exp
>>> from symderiv.catalogue import z
>>> d = evaluate(exp(-z) + Rational(1, 10**50) - exp(-z), {z: Rational(1, 2)}, 256)
>>> d > 0
True
>>> evaluate(1 / z, {z: 0}, 64)
Traceback (most recent call last):
...
symderiv.ball.Undefined: division by zero
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import sympy
from flint import arb, ctx, fmpq
from sympy import Expr, Symbol

__all__ = ["Uncertain", "Undefined", "Unsupported", "certify", "evaluate", "radius_text", "text"]


class Uncertain(Exception):
    """The ball is too wide to decide a condition or a division: raise the precision."""


class Undefined(Exception):
    """The expression is certainly undefined at the point (division by zero, log of x ≤ 0, …)."""


class Unsupported(Exception):
    """A function this module cannot evaluate with balls."""


def _decide_sign(x: arb) -> int:
    """-1, 0 or 1 when the ball decides it, else :class:`Uncertain`."""
    if x > 0:
        return 1
    if x < 0:
        return -1
    if x.is_exact() and x.is_zero():
        return 0
    raise Uncertain("a condition is too close to call")


def _log(x: arb) -> arb:
    if x > 0:
        return x.log()
    if x <= 0:
        raise Undefined("log of a number <= 0")
    raise Uncertain("log of a ball containing 0")


def _sqrt(x: arb) -> arb:
    if x >= 0:
        return x.sqrt() if not x.is_zero() else arb(0)
    if x < 0:
        raise Undefined("square root of a negative number")
    raise Uncertain("square root of a ball containing 0")


def _log1p(x: arb) -> arb:
    if x > -1:
        return x.log1p()
    if x <= -1:
        raise Undefined("log1p of a number <= -1")
    raise Uncertain("log1p near -1")


def _inverse(x: arb) -> arb:
    if x.is_exact() and x.is_zero():
        raise Undefined("division by zero")
    if x.contains(0):
        raise Uncertain("division by a ball containing 0")
    return 1 / x


_UNARY = {
    sympy.exp: arb.exp,
    sympy.log: _log,
    sympy.tanh: arb.tanh,
    sympy.sinh: arb.sinh,
    sympy.cosh: arb.cosh,
    sympy.sin: arb.sin,
    sympy.cos: arb.cos,
    sympy.tan: arb.tan,
    sympy.atan: arb.atan,
    sympy.asinh: arb.asinh,
    sympy.erf: arb.erf,
    sympy.erfc: arb.erfc,
    sympy.Abs: abs,
}


_CFUNCTIONS = {"log1p": _log1p, "expm1": arb.expm1}


def evaluate(expr: Expr, values: Mapping[Symbol, Expr], prec: int) -> arb:
    """``expr`` at ``values`` (exact SymPy numbers for its free symbols) as a ball, ``prec`` bits.

    Raises:
        Undefined: certainly undefined at the point.
        Uncertain: the precision does not decide a condition or a division.
        Unsupported: a function without a ball implementation.
    """
    with ctx.workprec(prec):
        return _Evaluator(values).value(expr)


#: Precisions tried by :func:`certify`, in bits (4096 bits separate numbers 10**-1200 apart).
CERTIFY_PRECISIONS = (64, 256, 1024, 4096)


def certify(value: Expr) -> arb:
    """A ball for the constant ``value`` whose sign it decides: it excludes 0 or is exactly 0.

    The precision rises through :data:`CERTIFY_PRECISIONS` until the sign is decided, so a
    value such as ``atan(10**999) - pi/2`` (about ``-10**-999``) is known to be negative.

    Raises:
        Uncertain: no precision tried decides the sign (and SymPy does not reduce it to 0).
        Undefined, Unsupported: as :func:`evaluate`.

    >>> from sympy import atan, pi, Integer
    >>> certify(atan(Integer(10)**999) - pi/2) < 0
    True
    """
    if value.is_zero:
        return arb(0)
    for prec in CERTIFY_PRECISIONS:
        try:
            x = evaluate(value, {}, prec)
        except Uncertain:
            continue
        if x > 0 or x < 0 or (x.is_exact() and x.is_zero()):
            return x
    raise Uncertain(f"the sign of {value} is not decided at {CERTIFY_PRECISIONS[-1]} bits")


def holds(cond, values: Mapping[Symbol, Expr], prec: int) -> bool:
    """Whether the condition ``cond`` (relations, ``And``/``Or``/``Not``) holds at ``values``.

    Raises :class:`Uncertain` when ``prec`` bits do not decide it. (Never test a ball's
    truth with ``bool``: ``bool(arb(0))`` is True in python-flint.)
    """
    with ctx.workprec(prec):
        return _Evaluator(values).truth(cond)


class _Evaluator:
    def __init__(self, values: Mapping[Symbol, Expr]) -> None:
        self.values = values
        self.memo: dict[Expr, arb] = {}

    def value(self, e: Expr) -> arb:
        got = self.memo.get(e)
        if got is None:
            got = self._value(e)
            if got.is_nan():
                raise Uncertain("not a finite ball")
            self.memo[e] = got
        return got

    def _value(self, e: Expr) -> arb:
        if e.is_Rational:
            return arb(fmpq(int(e.p), int(e.q)))
        if isinstance(e, Symbol):
            if e not in self.values:
                raise Unsupported(f"no value for {e}")
            return self.value(sympy.sympify(self.values[e]))
        if e is sympy.pi:
            return arb.pi()
        if e is sympy.E:
            return arb.const_e()
        if e.is_Float:
            return self.value(sympy.Rational(e))
        if e.is_Add:
            total = arb(0)
            for t in e.args:
                total += self.value(t)
            return total
        if e.is_Mul:
            total = arb(1)
            for t in e.args:
                total *= self.value(t)
            return total
        if e.is_Pow:
            return self._power(e.base, e.exp)
        if isinstance(e, sympy.Piecewise):
            for value, cond in e.args:
                if self.truth(cond):
                    return self.value(value)
            raise Undefined("no branch of a Piecewise applies")
        if isinstance(e, sympy.sign):
            return arb(_decide_sign(self.value(e.args[0])))
        if isinstance(e, sympy.Heaviside):
            s = _decide_sign(self.value(e.args[0]))
            if s == 0:
                h0 = e.args[1] if len(e.args) > 1 else sympy.S.Half
                if h0 is sympy.nan:
                    raise Undefined("Heaviside(0) undefined")
                return self.value(h0)
            return arb(1 if s > 0 else 0)
        if isinstance(e, (sympy.Max, sympy.Min)):
            vals = [self.value(t) for t in e.args]
            out = vals[0]
            for v in vals[1:]:
                out = out.max(v) if isinstance(e, sympy.Max) else out.min(v)
            return out
        if isinstance(e, sympy.Function):
            func = _UNARY.get(e.func)
            if func is None:
                func = _CFUNCTIONS.get(type(e).__name__)
            if func is not None and len(e.args) == 1:
                return func(self.value(e.args[0]))
            sqrt = e.func is sympy.sqrt
            if sqrt:
                return _sqrt(self.value(e.args[0]))
        raise Unsupported(f"no ball evaluation for {type(e).__name__}")

    def _power(self, base: Expr, exp: Expr) -> arb:
        b = self.value(base)
        if exp.is_Integer:
            n = int(exp)
            if n < 0:
                return _inverse(b) ** (-n)
            return b**n
        if exp.is_Rational and exp.q == 2:
            root = _sqrt(b)
            return root ** int(exp.p) if exp.p > 0 else _inverse(root) ** int(-exp.p)
        if base is sympy.E:
            return self.value(exp).exp()
        e = self.value(exp)
        if b > 0:
            return (e * b.log()).exp()
        if b.is_exact() and b.is_zero():
            if e > 0:
                return arb(0)
            if e <= 0:
                raise Undefined("0 to a power <= 0")
            raise Uncertain("0 to a power near 0")
        if b < 0:
            if exp.is_Rational and exp.q % 2 == 1:  # real odd root: SymPy takes the principal (complex) one
                raise Undefined("a negative number to a fractional power is not real")
            raise Undefined("a negative number to a non-integer power is not real")
        raise Uncertain("a power of a ball containing 0")

    def truth(self, cond) -> bool:
        if cond is sympy.true:
            return True
        if cond is sympy.false:
            return False
        if isinstance(cond, sympy.core.relational.Relational):
            s = _decide_sign(self.value(cond.lhs - cond.rhs))
            return {
                sympy.StrictGreaterThan: s > 0,
                sympy.GreaterThan: s >= 0,
                sympy.StrictLessThan: s < 0,
                sympy.LessThan: s <= 0,
                sympy.Eq: s == 0,
                sympy.Ne: s != 0,
            }[type(cond)]
        if isinstance(cond, (sympy.And, sympy.Or)):  # Kleene: one decisive argument decides
            decisive = isinstance(cond, sympy.Or)
            error = None
            for c in cond.args:
                try:
                    if self.truth(c) == decisive:
                        return decisive
                except (Undefined, Uncertain) as exc:
                    error = error or exc
            if error is not None:
                raise error
            return not decisive
        if isinstance(cond, sympy.Not):
            return not self.truth(cond.args[0])
        if isinstance(cond, sympy.ITE):
            c, x, y = cond.args
            return self.truth(x) if self.truth(c) else self.truth(y)
        raise Unsupported(f"cannot decide {type(cond).__name__}")


def text(x: arb, digits: int) -> str:
    """The midpoint of ``x`` to ``digits`` significant digits (no radius)."""
    if x.is_exact() and x.is_zero():
        return "0"
    return x.str(digits, radius=False)


def radius_text(x: arb, max_digits: int = 25) -> str:
    """``"mid ± rad"``, an enclosure of ``x`` as printed: the midpoint to as many digits as the
    radius justifies (at most ``max_digits``), the radius rounded up to 2 digits and widened
    by what rounding the midpoint lost, e.g. ``"5.08e-435 ± 4.1e-450"``.

    >>> radius_text(arb(1) / 3)  # at the default 53 bits
    '0.333333333333333315 ± 5.6e-17'
    >>> radius_text(arb(5))
    '5'
    """
    if x.is_exact() and x.is_zero():
        return "0"
    with ctx.workprec(max(ctx.prec, 128)):  # reading the printed midpoint back must not add its own error
        return _radius_text(x, max_digits)


def _radius_text(x: arb, max_digits: int) -> str:
    m, r = arb(x.mid()), arb(x.rad())
    if m.is_zero():
        return f"0 ± {_up(r)}"
    digits = max_digits
    if not r.is_zero():
        digits = min(max_digits, 3 + max(0, int(float((abs(m) / r).log() / math.log(10)))))
    mid = m.str(digits, radius=False)
    err = r + abs(m - arb(mid)).upper()
    if err.is_zero():
        mantissa, e, exponent = mid.partition("e")
        if "." in mantissa:
            mantissa = mantissa.rstrip("0").rstrip(".")
        return mantissa + e + exponent
    return f"{mid} ± {_up(err)}"


def _up(r: arb) -> str:
    """A positive number to 2 significant digits, rounded up (never below ``r``)."""
    text = arb(r.upper() * 1.01).str(2, radius=False)
    return text if arb(text) >= r else arb(r.upper() * 1.1).str(2, radius=False)
