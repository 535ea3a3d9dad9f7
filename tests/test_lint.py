"""ruff is part of the test suite: the code stays lint-clean."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from .conftest import ROOT


def test_ruff_clean():
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff not installed")
    r = subprocess.run([ruff, "check", "."], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_no_private_name_is_used_across_modules():
    """No ``from .x import _name`` and no ``module._name`` between symderiv's own modules: what one
    module takes from another is public (named without an underscore, in its docstring)."""
    import ast

    root = ROOT / "symderiv"
    modules = {p.stem for p in root.rglob("*.py")}
    found = []
    for path in root.rglob("*.py"):
        if "templates" in path.parts:  # the drop-ins' runtimes: copied into generated/, not imported
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        # the names this file binds to one of symderiv's modules (``from .. import calculus``)
        imported = {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level
                    for a in n.names if a.name in modules}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level:
                found += [f"{path.relative_to(ROOT)}:{node.lineno}: from {'.' * node.level}{node.module or ''} "
                          f"import {a.name}" for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
            if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in imported
                    and node.attr.startswith("_") and not node.attr.startswith("__")):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value.id}.{node.attr}")
    assert not found, "\n".join(found)
