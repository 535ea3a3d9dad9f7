"""Hypothesis strategies shared by the tests (seeds are fixed by the profile in conftest.py).

* :func:`perturbed_claims`: true identities changed so that they are false somewhere (proofs).
* :func:`expression_texts`: well-formed text in the parser's grammar (numbers, ``z``,
  parameters, ``+ - * / **``, the allowed functions and the catalogue's activations).
* :func:`token_soups`: the same tokens and hostile ones, in any order: mostly garbage.
"""

from __future__ import annotations

import random

import mpmath
import sympy
from hypothesis import strategies as st
from sympy import Abs, Max, Min, Rational, exp, sign

from symderiv.catalogue import a, get, names, z


def _p(name: str, param: str) -> sympy.Symbol:
    return get(name).param(param).symbol


#: True claims g'(z) = CLAIM (with a = g(z)), each a textbook one-liner; the proof engine proves them.
TRUE_CLAIMS: tuple[tuple[str, sympy.Expr], ...] = (
    ("sigmoid", a * (1 - a)),
    ("tanh", 1 - a**2),
    ("softsign", (1 - Abs(a)) ** 2),
    ("softplus", 1 - exp(-_p("softplus", "beta") * a)),
    ("log_sigmoid", 1 - exp(a)),
    ("relu", Max(0, sign(z))),
    ("leaky_relu", Max(0, sign(z)) + _p("leaky_relu", "alpha") * Max(0, -sign(z))),
    ("elu", Max(0, sign(z)) - Min(0, sign(z)) * (a + _p("elu", "alpha"))),
    ("squareplus", 4 * a**2 / (4 * a**2 + _p("squareplus", "b"))),
)


def _numbers(expr: sympy.Expr) -> list[sympy.Expr]:
    return sorted({n for n in expr.atoms(sympy.Number)}, key=str)


def _terms(expr: sympy.Expr) -> list[sympy.Expr]:
    """Sub-expressions that are terms of a sum (their sign can be swapped)."""
    return sorted({t for add in expr.atoms(sympy.Add) for t in add.args}, key=str)


@st.composite
def perturbed_claims(draw):
    """``(name, true_claim, wrong_claim, kind)``: a true claim changed so it is false somewhere.

    Kinds: ``tiny`` (plus 10**-k, k up to 70: below the numeric search's reach for large k),
    ``coefficient`` (a number in the claim changed), ``sign`` (a term's sign swapped),
    ``piece`` (the claim kept on one side of a random point only), ``param`` (true only for
    one parameter value after the change).
    """
    name, claim = draw(st.sampled_from(TRUE_CLAIMS))
    kinds = ["tiny", "coefficient", "sign", "piece"]
    params = sorted(claim.free_symbols - {a, z}, key=lambda s: s.name)
    if params:
        kinds.append("param")
    kind = draw(st.sampled_from(kinds))
    if kind == "tiny":
        k = draw(st.integers(min_value=1, max_value=70))
        s = draw(st.sampled_from([1, -1]))
        return name, claim, claim + s * Rational(1, 10**k), kind
    if kind == "coefficient" and _numbers(claim):
        n = draw(st.sampled_from(_numbers(claim)))
        delta = draw(st.sampled_from([Rational(1, 3), Rational(-1, 2), Rational(1, 1000), Rational(2)]))
        return name, claim, claim.xreplace({n: n + delta}), kind
    if kind == "sign" and _terms(claim):
        t = draw(st.sampled_from(_terms(claim)))
        return name, claim, claim.xreplace({t: -t}), kind
    if kind == "param":
        p = draw(st.sampled_from(params))
        new = draw(st.sampled_from([p + 1, 2 * p, p**2, p / 3]))
        return name, claim, claim.xreplace({p: new}), kind
    cut = Rational(draw(st.integers(min_value=-30, max_value=30)), 10)
    bump = draw(st.sampled_from([Rational(1, 7), Rational(-2), Rational(1, 10**6)]))
    wrong = sympy.Piecewise((claim, z > cut), (claim + bump, True))
    return name, claim, wrong, "piece"


def differs(name: str, claim: sympy.Expr, wrong: sympy.Expr, seed: int = 0) -> bool:
    """Whether ``wrong`` differs from ``claim`` at some z (with a = g(z)) by > 1e-40, at 60 digits.

    Used to discard a perturbation that happens to leave the claim true (e.g. a changed number
    inside a Max that never wins).
    """
    act = get(name)
    values = {p.symbol: p.default for p in act.params}
    g = act.expr.subs(values)
    d = (claim - wrong).subs(a, g).subs(values)
    for s in d.free_symbols - {z}:
        d = d.subs(s, Rational(3, 2))
    f = sympy.lambdify(z, d, "mpmath")
    rng = random.Random(seed)
    with mpmath.workdps(60):
        for x in [*range(-6, 7), *(rng.uniform(-8, 8) for _ in range(20))]:
            try:
                v = f(mpmath.mpf(x) + mpmath.mpf(1) / 7)
            except (ZeroDivisionError, ValueError, TypeError):
                continue
            if v is not None and mpmath.isfinite(v) and abs(v) > mpmath.mpf(10) ** -40:
                return True
    return False


#: One-argument functions of the parser's allow-list (symderiv.parse.FUNCTIONS).
UNARY = ("exp", "log", "sqrt", "sin", "cos", "tan", "atan", "sinh", "cosh", "tanh", "asinh",
         "erf", "erfc", "Abs", "abs", "sign")
BINARY = ("Max", "Min", "max", "min")
PARAMS = ("alpha", "beta", "k")


def numbers() -> st.SearchStrategy[str]:
    """Numeric literals as a user would type them."""
    return st.one_of(
        st.integers(-20, 20).map(str),
        st.decimals(-100, 100, places=3, allow_nan=False, allow_infinity=False).map(str),
        st.sampled_from(["0.5", "1e-3", "2.5e2", "1/3", "pi", "E", "1_000", "0.044715"]),
    )


def expression_texts(max_leaves: int = 6, activations: bool = True) -> st.SearchStrategy[str]:
    """Well-formed expressions in z (and a few parameters) from the allowed grammar."""
    leaves = st.one_of(st.just("z"), st.just("z"), numbers(), st.sampled_from(PARAMS))
    functions = UNARY + (tuple(names()) if activations else ())

    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(inner, st.sampled_from(["+", "-", "*", "/"]), inner).map(
                lambda t: f"({t[0]} {t[1]} {t[2]})"),
            st.tuples(inner, st.integers(-3, 4)).map(lambda t: f"({t[0]})**{t[1]}"),
            st.tuples(inner, st.sampled_from(["^2", "**0.5"])).map(lambda t: f"({t[0]}){t[1]}"),
            inner.map(lambda x: f"-{x}"),
            st.tuples(st.sampled_from(functions), inner).map(lambda t: f"{t[0]}({t[1]})"),
            st.tuples(st.sampled_from(BINARY), inner, inner).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
        )

    return st.recursive(leaves, extend, max_leaves=max_leaves)


#: Tokens a hostile or clumsy user might type.
HOSTILE_TOKENS = (
    "__import__", "os", "system", "open", "eval", "exec", "lambda", "for", "in", "if", "else",
    "not", "and", "or", "yield", "await", "import", "class", "def", ".", ",", ":", ";", "=", ":=",
    "[", "]", "{", "}", "'", '"', "f'", "b'", "\\", "#", "@", "%", "//", "<<", "~", "|", "&", "<",
    "==", "...", "*", "**", "9" * 70, "1e999999", "1e-999999", "10**(10**12)", "9**9**9", "1j",
    "nan", "oo", "I", "zoo", "inf", "None", "True", "\x00", "ｚ", "\u200b", "\n", "\t", "_",
    "__class__", "__subclasses__", "Symbol", "sympify",
)


def token_soups() -> st.SearchStrategy[str]:
    """Random sequences of grammar tokens and hostile tokens: mostly not expressions."""
    grammar = ("z", "a", "alpha", "(", ")", "+", "-", "*", "/", "^", "**", "1", "0", "2.5", "1e-3",
               *UNARY, *BINARY, "relu", "sigmoid", " ")
    token = st.sampled_from(grammar + HOSTILE_TOKENS)
    return st.lists(token, min_size=0, max_size=30).map(lambda ts: "".join(ts))


def argv_soups() -> st.SearchStrategy[list[str]]:
    """Command lines assembled from real subcommands, flags and garbage values."""
    words = st.sampled_from([
        "list", "derive", "verify", "--json", "--param", "--expr", "--defaults", "--convention",
        "--claims", "--", "-", "-z", "relu", "sigmoid", "sigmod", "leaky_relu", "elu", "softplus",
        "alpha=0.2", "alpha=nan", "alpha=", "=", "beta=1e999", "alpha=-1", "torch", "tf", "a*(1 - a)",
        "z.real", "exp(z", "", " ", "-h", "--version", "--timeout", "0", "ΣLU", "\x00", "/nonexistent.toml", "x" * 300, "9" * 80,
    ])
    return st.lists(st.one_of(words, st.text(max_size=12)), max_size=8)
