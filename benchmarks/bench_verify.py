"""Wall time of ``symderiv verify`` from the command line (issue 13's speed targets).

Run by hand on a quiet machine: ``python benchmarks/bench_verify.py [--runs N]``.

1. One claim per catalogue entry, each a fresh process: ``symderiv verify NAME CLAIM`` where
   CLAIM is what ``derive`` prints as the a-form (or g' itself where there is none). Target:
   median <= 1.5 s. The baseline ``python -c "import sympy"`` is measured in the same run, so
   the figures compare across machines as ratios.
2. The test suite's adversarial corpus (``tests/test_verdicts_corpus.py``, 80+ claims) written
   as one claims file and checked by one ``symderiv verify --claims FILE`` with the default
   budget. Target: under 2 minutes, no claim left "not attempted".
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def wall(cmd: list[str], runs: int) -> tuple[float, subprocess.CompletedProcess]:
    times, proc = [], None
    for _ in range(runs):
        t = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        times.append(time.perf_counter() - t)
    return statistics.median(times), proc


def catalogue_claims() -> list[tuple[str, str]]:
    from symderiv.catalogue import names
    from symderiv.derivation import derive
    from symderiv.printing import to_text

    out = []
    for name in names():
        d = derive(name)
        out.append((name, to_text(d.aform if d.aform is not None else d.derivative)))
    return out


def toml_string(s: str) -> str:
    return json.dumps(s)  # a JSON string is a valid TOML basic string


def corpus_file(path: Path) -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.test_verdicts_corpus import CORPUS

    lines = []
    for name, claim, given, _truth in CORPUS:
        lines += ["[[claim]]", f"activation = {toml_string(name)}", f"derivative = {toml_string(claim)}"]
        if given:
            lines.append("params = {" + ", ".join(f"{k} = {toml_string(str(v))}" for k, v in given.items()) + "}")
        lines.append("")
    path.write_text("\n".join(lines))
    return len(CORPUS)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--skip-corpus", action="store_true")
    args = ap.parse_args()
    py = sys.executable
    base, _ = wall([py, "-c", "import sympy"], args.runs)
    print(f"baseline import sympy  {base:6.3f} s")
    times = []
    for name, claim in catalogue_claims():
        t, proc = wall([py, "-m", "symderiv", "verify", name, claim], args.runs)
        verdict = proc.stdout.split()[0] if proc.stdout else f"rc={proc.returncode}"
        times.append(t)
        print(f"{name:<14} {t:6.3f} s  {verdict:<9}  {claim}")
    med = statistics.median(times)
    print(f"median {med:.3f} s ({med / base:.2f}x import sympy), max {max(times):.3f} s; target median <= 1.5 s")
    failed = med > 1.5
    if not args.skip_corpus:
        with tempfile.TemporaryDirectory() as tmp:
            f = Path(tmp) / "corpus.toml"
            n = corpus_file(f)
            t, proc = wall([py, "-m", "symderiv", "verify", "--claims", str(f), "--json"], 1)
            results = json.loads(proc.stdout)
            counts: dict[str, int] = {}
            for r in results:
                counts[r["status"]] = counts.get(r["status"], 0) + 1
            print(f"claims file: {n} claims in {t:.1f} s (target < 120 s): {counts}")
            failed |= t >= 120
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
