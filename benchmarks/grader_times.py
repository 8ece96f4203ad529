"""How long grading takes, and whether verdicts hold still. Prints figures; asserts none.

    python benchmarks/grader_times.py                  wall times, median of 10 runs each
    python benchmarks/grader_times.py --stability 50   also: solutions and every fixture graded
                                                       50 times under two CPU hogs; any check
                                                       whose verdict changed is named
    python benchmarks/grader_times.py --suite-runs 20  also: the test suite 20 times

Goals (issue 14, on a 2-core machine): solutions <= 1.5 s, untouched lessons <= 0.5 s, the
GIL-hog fixture's step 04 <= 30 s, one verdict per fixture however often and however loaded.
The machine is shared and noisy: compare within one run.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fixtures.bugs import BUGS  # noqa: E402

FIXTURES = ROOT / "tests" / "fixtures"
STEP_OF = {"01_echo": "01", "02_lines": "02", "03_two_user": "03", "04_multi_user": "04",
           "05_client": "05"}


def run(*args: str) -> tuple[float, dict | None]:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "grader", *args], cwd=ROOT, capture_output=True,
                          check=False, stdin=subprocess.DEVNULL)
    seconds = time.monotonic() - started
    try:
        return seconds, json.loads(done.stdout) if "--json" in args else None
    except ValueError:
        return seconds, None


def hog(stop: multiprocessing.Event) -> None:  # type: ignore[valid-type]
    while not stop.is_set():  # type: ignore[attr-defined]
        sum(range(10_000))


def cases(tmp: Path) -> dict[str, list[str]]:
    """Every fixture that the suite grades, as grader arguments."""
    found: dict[str, list[str]] = {"solutions": ["--solutions"]}
    for name, bug in BUGS.items():
        found[f"bug {name}"] = ["--dir", str(bug.write(tmp / "bugs" / name)),
                                STEP_OF[bug.step_folder]]
    for kind in ("bounded", "hostile"):
        for folder in sorted((FIXTURES / kind).glob("*")) if (FIXTURES / kind).is_dir() else []:
            steps = [STEP_OF[p.name] for p in folder.iterdir() if p.name in STEP_OF]
            copy = tmp / kind / folder.name
            shutil.copytree(folder, copy)
            copy.chmod(0o777)
            for sub in copy.iterdir():
                sub.chmod(0o777)  # a host run as nobody may write beside its file
            found[f"{kind} {folder.name}"] = ["--dir", str(copy), *steps]
    return found


def verdicts(data: dict | None) -> dict[str, str]:
    if data is None:
        return {"(report)": "missing"}
    found = {f"{c['step']}::{c['name']}": c["status"] for c in data["checks"]}
    found.update({f"{s['id']} step": s["status"] for s in data["steps"]})
    return found


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--stability", type=int, default=0, metavar="N")
    parser.add_argument("--hogs", type=int, default=2)
    parser.add_argument("--suite-runs", type=int, default=0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        all_cases = cases(Path(tmp))
        timed = {"grader --solutions": ["--solutions"],
                 "grader (untouched lessons)": ["--dir", str(ROOT / "lessons")]}
        for name in ("bounded never_answers", "hostile gil_hog", "hostile fixed_port_at_import"):
            if name in all_cases:
                timed[f"grader {' '.join(all_cases[name][2:])} ({name})"] = all_cases[name]
        for label, grader_args in timed.items():
            times = [run(*grader_args)[0] for _ in range(args.runs)]
            print(f"{label:52} median {statistics.median(times):5.2f} s   "
                  f"min {min(times):5.2f}   max {max(times):5.2f}   ({args.runs} runs)",
                  flush=True)
        if args.stability:
            stop = multiprocessing.Event()
            hogs = [multiprocessing.Process(target=hog, args=(stop,), daemon=True)
                    for _ in range(args.hogs)]
            for process in hogs:
                process.start()
            started = time.monotonic()
            try:
                changed = 0
                for label, grader_args in all_cases.items():
                    seen: dict[str, set[str]] = defaultdict(set)
                    scores = set()
                    for _ in range(args.stability):
                        _seconds, data = run(*grader_args, "--json", "-")
                        scores.add(data["score"] if data else None)
                        for check, status in verdicts(data).items():
                            seen[check].add(status)
                    moving = sorted(check for check, statuses in seen.items()
                                    if len(statuses) > 1)
                    changed += bool(moving)
                    print(f"{label:44} {args.stability} runs, scores {sorted(scores, key=str)}"
                          + (f"   CHANGED: {', '.join(moving)}" if moving else ""), flush=True)
            finally:
                stop.set()
                for process in hogs:
                    process.join()
            print(f"stability: {changed} of {len(all_cases)} cases changed a verdict "
                  f"({args.stability} runs each, {args.hogs} CPU hogs, "
                  f"{time.monotonic() - started:.0f} s)")
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
