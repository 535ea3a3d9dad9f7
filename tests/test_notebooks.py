"""The notebooks are committed executed; each runs from a clean kernel, top to bottom, and gives
the committed outputs (text exactly, images as ``notebooks/make_notebooks.py`` says)."""

from __future__ import annotations

import copy
import importlib.util
import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
_SPENT: list[float] = []


def _script():
    spec = importlib.util.spec_from_file_location("make_notebooks", ROOT / "notebooks" / "make_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make = _script()


def test_notebooks_are_committed_executed_and_deterministic():
    assert [p.name for p in NOTEBOOKS] == list(make.NOTEBOOKS)
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        built = make.build(path.name)
        assert [(c.id, c.cell_type, c.source) for c in nb.cells] == \
            [(c.id, c.cell_type, c.source) for c in built.cells], f"{path.name}: run make_notebooks.py"
        counts = [c.execution_count for c in nb.cells if c.cell_type == "code"]
        assert counts == list(range(1, len(counts) + 1)), f"{path.name} is not executed from a clean kernel"
        assert all("execution" not in c.metadata for c in nb.cells)  # no timestamps
        assert set(nb.metadata.language_info) == {"name"}  # no interpreter version
        assert nb.metadata.symderiv.matplotlib
        outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
        assert not [o for o in outputs if o.output_type == "error"]
        pngs = [o for o in outputs if "image/png" in o.get("data", {})]
        assert pngs, f"{path.name} shows no plot"
        assert path.stat().st_size < 400_000


@pytest.fixture(scope="module")
def kernel():
    with make.this_python_kernel() as name:
        yield name


def test_stale_outputs_are_caught():
    """The comparison itself: a changed text output or image is stale, a changed stderr is not."""
    nb = nbformat.read(NOTEBOOKS[0], as_version=4)
    assert make.stale(nb, copy.deepcopy(nb)) == []
    text = copy.deepcopy(nb)
    cell = next(c for c in text.cells if c.cell_type == "code" and c.outputs and c.outputs[0].output_type == "stream")
    cell.outputs[0].text += "x"
    assert make.stale(nb, text)
    image = copy.deepcopy(nb)
    out = next(o for c in image.cells if c.cell_type == "code" for o in c.outputs if "image/png" in o.get("data", {}))
    out.data["image/png"] = out.data["image/png"][:-8] + "AAAAAAA="
    assert make.stale(nb, image)
    noisy = copy.deepcopy(nb)
    next(c for c in noisy.cells if c.cell_type == "code").outputs.append(
        nbformat.v4.new_output("stream", name="stderr", text="a warning\n"))
    assert make.stale(nb, noisy) == []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_executes_and_matches_its_committed_outputs(path, kernel):
    committed = nbformat.read(path, as_version=4)
    start = time.monotonic()
    fresh = make.execute(copy.deepcopy(committed), kernel)  # raises CellExecutionError on a failing cell
    _SPENT.append(time.monotonic() - start)
    problems = make.stale(committed, fresh)
    assert problems == [], f"{path.name}: {problems}; refresh with: python notebooks/make_notebooks.py"
    assert sum(_SPENT) < 120, f"notebooks took {sum(_SPENT):.0f} s in total"
