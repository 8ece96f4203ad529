"""How long grading takes, and how often the kit's own suite flakes. Prints figures; asserts none.

    python benchmarks/grader_times.py                 wall times, median of 5 runs each
    python benchmarks/grader_times.py --suite-runs 20 also run the test suite 20 times

Goals (issue 3, on a 2-core machine): solutions <= 2 s, untouched stubs <= 1.5 s, a server that
accepts and never answers <= 15 s. The machine is shared and noisy: compare within one run.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def wall(*args: str) -> float:
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "grader", *args], cwd=ROOT, capture_output=True,
                   check=False, stdin=subprocess.DEVNULL)
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--suite-runs", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        silent = Path(tmp, "never_answers")
        shutil.copytree(ROOT / "tests/fixtures/bounded/never_answers", silent)
        cases = {
            "grader --solutions": ["--solutions"],
            "grader (untouched stubs)": ["--dir", str(ROOT / "lessons")],
            "grader 04 (accepts, never answers)": ["--dir", str(silent), "04"],
        }
        for label, grader_args in cases.items():
            times = [wall(*grader_args) for _ in range(args.runs)]
            print(f"{label:40} median {statistics.median(times):5.2f} s   "
                  f"min {min(times):5.2f}   max {max(times):5.2f}   ({args.runs} runs)")
    if args.suite_runs:
        failures = 0
        started = time.monotonic()
        for n in range(args.suite_runs):
            done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x"], cwd=ROOT,
                                  capture_output=True, text=True, check=False)
            if done.returncode != 0:
                failures += 1
                print(f"run {n + 1}: FAILED\n{done.stdout[-3000:]}")
        print(f"test suite: {failures} failing runs of {args.suite_runs} "
              f"({(time.monotonic() - started) / args.suite_runs:.0f} s per run)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
