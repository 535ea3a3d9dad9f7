"""Cold-start wall time of the CLI (issue 3's targets: derive sigmoid < 1.5 s, list < 1 s).

Run by hand: ``python benchmarks/bench_startup.py [--runs N]``. Each command is run N times
as a fresh process; the median is reported, beside the baselines ``python -c pass`` and
``python -c "import sympy"`` measured in the same run, so the figures can be compared across
machines as ratios.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

TARGETS = {"derive sigmoid": 1.5, "list": 1.0, "list --json": 1.0}


def wall(cmd: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=7)
    args = ap.parse_args()
    py = sys.executable
    wall([py, "-m", "symderiv", "list"], 1)  # warm the file cache once
    base = wall([py, "-c", "pass"], args.runs)
    sympy_import = wall([py, "-c", "import sympy"], args.runs)
    print(f"baseline python -c pass      {base:6.3f} s")
    print(f"baseline import sympy        {sympy_import:6.3f} s")
    failed = 0
    for sub, target in TARGETS.items():
        t = wall([py, "-m", "symderiv", *sub.split()], args.runs)
        ok = t < target
        failed += not ok
        print(f"symderiv {sub:<19} {t:6.3f} s  target < {target} s  "
              f"({t / sympy_import:.2f}x import sympy)  {'ok' if ok else 'TOO SLOW'}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
