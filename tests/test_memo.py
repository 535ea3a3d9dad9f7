"""symderiv.memo: results shared between processes, only from a directory that is the user's own,
never across a change of the code; and the two users of it (table rows, reference values)."""

from __future__ import annotations

import os
import subprocess
import sys

import mpmath
import pytest

from symderiv import accuracy, memo
from symderiv.teach import table


@pytest.fixture
def cache(tmp_path, monkeypatch):
    d = tmp_path / "cache"
    d.mkdir(mode=0o700)
    monkeypatch.setenv("SYMDERIV_CACHE_DIR", str(d))
    return d


def test_an_entry_is_read_back_by_another_process(cache):
    memo.store("example", "k", {"x": [1, 2.5]})
    code = "from symderiv import memo; print(memo.load('example', 'k'), memo.load('example', 'other') is memo.MISSING)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONHASHSEED": "7"})
    assert out.stdout.split() == ["{'x':", "[1,", "2.5]}", "True"]


def test_nothing_without_a_directory_or_from_one_others_can_write(cache, monkeypatch):
    memo.store("example", "k", 1)
    assert memo.load("example", "k") == 1
    cache.chmod(0o770)  # group-writable: someone else could have put a pickle there
    assert memo.load("example", "k") is memo.MISSING
    memo.store("example", "k2", 2)
    cache.chmod(0o700)
    assert memo.load("example", "k2") is memo.MISSING
    monkeypatch.delenv("SYMDERIV_CACHE_DIR")
    assert memo.load("example", "k") is memo.MISSING
    monkeypatch.setenv("SYMDERIV_CACHE_DIR", str(cache / "absent"))
    memo.store("example", "k", 3)  # nothing raised, nothing written
    assert not (cache / "absent").exists()


def test_a_change_of_the_code_is_a_new_key(cache, monkeypatch):
    memo.store("example", "k", 1)
    monkeypatch.setattr(memo, "_fingerprint", lambda: "another version of symderiv")
    assert memo.load("example", "k") is memo.MISSING


def test_a_truncated_entry_is_missing_not_an_error(cache):
    memo.store("example", "k", list(range(1000)))
    (entry,) = cache.glob("example-*.pickle")
    entry.write_bytes(entry.read_bytes()[:20])
    assert memo.load("example", "k") is memo.MISSING


def test_table_rows_come_back_from_the_cache(cache, monkeypatch):
    monkeypatch.setattr(table, "_ROWS", {})
    row = table.table_row("relu")
    monkeypatch.setattr(table, "_ROWS", {})  # a new process: only the directory remembers

    def fail(*args):
        raise AssertionError("computed again")

    monkeypatch.setattr(table, "_row", fail)
    assert table.table_row("relu") == row
    with pytest.raises(AssertionError, match="computed again"):
        table.table_row("relu", convention="jax")  # another row is computed


def test_reference_values_come_back_from_the_cache(cache, monkeypatch):
    points = [-30.0, 0.5, 2.0, float("nan")]
    first = accuracy.references("sigmoid", "grad", points)
    with mpmath.workdps(60):
        want = [mpmath.exp(-abs(mpmath.mpf(x))) / (1 + mpmath.exp(-abs(mpmath.mpf(x)))) ** 2 for x in points[:3]]
    assert all(abs(f - w) <= abs(w) * 2.0**-52 for f, w in zip(first, want, strict=False))
    assert mpmath.isnan(first[3])

    def fail(*args):
        raise AssertionError("computed again")

    monkeypatch.setattr(accuracy, "reference", fail)
    assert accuracy.references("sigmoid", "grad", points[:3]) == first[:3]
    with pytest.raises(AssertionError, match="computed again"):
        accuracy.references("sigmoid", "grad", [3.0])


def test_a_derivation_made_by_another_process_is_read_back(cache, monkeypatch):
    from symderiv import derivation

    code = "from symderiv import derive; d = derive('selu'); print(d.aform)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    derivation.derive.cache_clear()
    monkeypatch.setattr(derivation.calculus, "derivative", lambda *a: (_ for _ in ()).throw(AssertionError("derived")))
    d = derivation.derive("selu")  # from the directory: the pickled Activation keeps its read-only conventions
    assert str(d.aform) == out.stdout.strip() and d.activation.conventions["torch"]
    with pytest.raises(TypeError):
        d.activation.conventions["torch"][0] = "left"
    with pytest.raises(AssertionError, match="derived"):
        derivation.derive("selu", defaults=True)
    derivation.derive.cache_clear()


@pytest.mark.parametrize("name", ["hardsigmoid", "sparse_plus"])
def test_a_kernel_read_back_renders_the_same_module(cache, monkeypatch, name):
    # SymPy's unpickling calls each class on its arguments, which evaluates: hardsigmoid's
    # unevaluated (z + 3)/6 came back as z/6 + 1/2 and printed other operations
    from sympy import srepr

    from symderiv.catalogue import get
    from symderiv.codegen import assemble
    from symderiv.codegen.emit import render_module

    monkeypatch.setattr(assemble, "_BUILT", {})
    built = assemble.kernels_for(get(name))
    assert len(list(cache.glob("kernel-*.pickle"))) == 1
    monkeypatch.setattr(assemble, "_BUILT", {})  # another process: only the directory remembers
    monkeypatch.setattr(assemble, "_build", lambda act: (_ for _ in ()).throw(AssertionError("built")))
    read = assemble.kernels_for(get(name))
    assert read is not built and srepr(read.orders) == srepr(built.orders) and read.aform == built.aform
    assert render_module(read) == render_module(built)


@pytest.mark.parametrize("name", ["squareplus", "gelu", "sparse_plus"])
def test_a_derivation_read_back_is_the_one_stored(cache, name):
    # unpickled as SymPy does by default, squareplus' g' (z/sqrt(b + z**2) + 1)/2 came back
    # as z/(2*sqrt(b + z**2)) + 1/2: a user with a cache saw another formula
    from sympy import srepr

    from symderiv import derivation

    derivation.derive.cache_clear()
    fresh = derivation.derive(name)
    derivation.derive.cache_clear()  # another process: only the directory remembers
    read = derivation.derive(name)
    assert read is not fresh
    assert srepr(read.derivative) == srepr(fresh.derivative) and str(read.derivative) == str(fresh.derivative)
    assert srepr(read.second_derivative) == srepr(fresh.second_derivative)
