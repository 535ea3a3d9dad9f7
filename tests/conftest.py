"""Shared test settings: fixed Hypothesis seeds, a CLI runner."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parents[1]

settings.register_profile("ci", derandomize=True, deadline=None, max_examples=60)
settings.load_profile("ci")


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
