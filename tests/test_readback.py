"""What the tool prints is valid input: every expression `derive` prints for every catalogue
entry (g, g', g'', the a-form, the kink values) parses back, through the same allow-listed
parser users go through, and is proved equal to the SymPy object it was printed from."""

from __future__ import annotations

import pytest
import sympy

from symderiv.catalogue import names
from symderiv.claims import verify_claim
from symderiv.derivation import derive, resolve
from symderiv.parse import parse_claim
from symderiv.prove import prove_identity


@pytest.mark.parametrize("name", names())
def test_printed_expressions_read_back_and_are_proved_equal(name):
    d = derive(name)
    act, _ = resolve(name, None)
    printed = d.as_json()
    kinks = [k.z for k in d.kinks]
    g = act.expr
    pairs = [("definition", d.definition), ("derivative", d.derivative),
             ("second_derivative", d.second_derivative)]
    if d.aform is not None:
        pairs.append(("aform", d.aform))
    checked = 0
    for key, original in pairs:
        text = printed[key]
        back = parse_claim(text, act.symbols).expr
        if key == "aform":
            back, original = back.subs(act.symbols["a"], g), original.subs(act.symbols["a"], g)
        v = prove_identity(back, original, breakpoints=kinks, timeout=20)
        assert v.status == "proved", (key, text, v)
        checked += 1
    for k, shown in zip(d.kinks, printed["kinks"], strict=True):
        for side in ("left", "right", "value"):
            back = parse_claim(shown[side], act.symbols).expr
            expected = k.values["torch"] if side == "value" else getattr(k, side)
            assert sympy.simplify(back - expected) == 0, (side, shown[side], expected)
    assert checked >= 3


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "hardtanh", "elu", "sparse_plus", "hardswish"])
def test_printed_derivative_verifies_as_a_claim(name):
    """`derive`'s g' fed back to `verify` as the user would paste it: proved."""
    d = derive(name)
    assert verify_claim(name, d.as_json()["derivative"]).status == "proved"
