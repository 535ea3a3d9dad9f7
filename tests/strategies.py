"""Hypothesis strategies shared by the tests.

* :func:`expression_texts`: well-formed text in the parser's grammar (numbers, ``z``,
  parameters, ``+ - * / **``, the allowed functions and the catalogue's activations).
* :func:`token_soups`: the same tokens and hostile ones, in any order: mostly garbage.
"""

from __future__ import annotations

from hypothesis import strategies as st

from symderiv.catalogue import names

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
