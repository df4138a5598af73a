"""Startup of every `ngk` command, whole process as a user runs it (`ngk CMD --help`: the command
module and everything it imports at load time, no work), beside a bare interpreter start in the
same run. Also a few real commands that read the reference topology. Target: <= 0.3 s each.

Run: python benchmarks/bench_startup.py [--runs 5]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

from controller.cli.main import COMMANDS

NGK = Path(sys.executable).with_name("ngk")  # the installed entry point, as users run it
REAL = [["topology", "validate"], ["failures", "--json"], ["paths", "osl", "trd", "--json"]]


def timed(argv: list[str], runs: int) -> float:
    """Median wall seconds of `argv` (output discarded; a failure is an error)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    base = timed([sys.executable, "-c", "pass"], runs)
    print(f"baseline: python -c pass {base:6.3f} s (median of {runs})")
    rows = [("--help", timed([str(NGK), "--help"], runs))]
    rows += [(f"{name} --help", timed([str(NGK), name, "--help"], runs)) for name in COMMANDS]
    rows += [(" ".join(argv), timed([str(NGK), *argv], runs)) for argv in REAL]
    worst = max(t for _, t in rows)
    for what, t in rows:
        flag = "" if t <= 0.3 else "  OVER 0.3 s"
        print(f"ngk {what:32s} {t:6.3f} s  {t / base:5.1f}x bare python{flag}")
    print(f"worst {worst:.3f} s (target <= 0.3 s): {'OK' if worst <= 0.3 else 'MISSED'}")


if __name__ == "__main__":
    main()
