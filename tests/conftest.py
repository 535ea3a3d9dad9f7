"""Shared test settings: fixed Hypothesis seeds, a CLI runner, one result cache per session."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parents[1]

settings.register_profile("ci", derandomize=True, deadline=None, max_examples=60)
settings.load_profile("ci")


def pytest_configure(config):
    """A fresh symderiv.memo directory for the session (not a user's own: every value is computed
    here), set before the xdist workers start, so they, the CLI subprocesses and the notebooks'
    kernels compute each table row and reference value once between them."""
    if hasattr(config, "workerinput"):  # an xdist worker: the controller's directory is inherited
        return
    config.symderiv_cache = tempfile.mkdtemp(prefix="symderiv-cache-")
    os.environ["SYMDERIV_CACHE_DIR"] = config.symderiv_cache


def pytest_unconfigure(config):
    cache = getattr(config, "symderiv_cache", None)
    if cache:
        shutil.rmtree(cache, ignore_errors=True)
        os.environ.pop("SYMDERIV_CACHE_DIR", None)


@pytest.fixture(autouse=True)
def _restore_mpmath_precision():
    """Tests that raise ``mpmath.mp.dps`` must not change what later tests and doctests see."""
    import mpmath

    dps = mpmath.mp.dps
    yield
    mpmath.mp.dps = dps


@pytest.fixture
def run_cli():
    """Run ``python -m symderiv ARGS`` in a subprocess; return the CompletedProcess."""

    def run(*args: str, timeout: float = 120, cwd: Path | None = None, input: str | None = None):
        return subprocess.run(
            [sys.executable, "-m", "symderiv", *args],
            capture_output=True, text=True, timeout=timeout, cwd=cwd or ROOT, input=input,
        )

    return run
