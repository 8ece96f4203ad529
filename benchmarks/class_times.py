"""How long `grader batch` takes for a class of 30. Prints figures; asserts none.

    python benchmarks/class_times.py               passing, core, untouched and mixed classes
                                                   of 30 (core: 01-05 done, the bonus not begun)
    python benchmarks/class_times.py --pairs       also: the same passing class graded the
                                                   naive way, one `grader` after another, two
                                                   at a time (the ratio is the figure to watch)
    python benchmarks/class_times.py --repeat 20   also: the mixed class graded 20 times over,
                                                   with the number of verdicts that changed

Goal (issue 17, on a 2-core machine): 30 passing submissions in <= 20 s; 0 verdicts changed.
Mixed: 25 copies of solutions/ and 5 hostile fixtures of tests/fixtures/hostile.
The machine is shared and noisy: compare within one run.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("passing", "core", "untouched", "mixed")
HOSTILE = ["fork_bomb", "gil_hog", "kill_parent", "patch_grader", "setsid_escape"]


def make_class(folder: Path, kind: str, size: int = 30) -> Path:
    folder.mkdir(parents=True)
    for n in range(size):
        source = ROOT / ("grader/stubs" if kind == "untouched" else "solutions")
        if kind == "mixed" and n < len(HOSTILE):
            source = ROOT / "tests/fixtures/hostile" / HOSTILE[n]
        copy = folder / f"student{n:02}"
        shutil.copytree(source, copy, ignore=shutil.ignore_patterns("__pycache__"))
        if kind == "core":  # the bonus step as a student gets it: not started, not graded
            shutil.rmtree(copy / "06_bonus")
            shutil.copytree(ROOT / "grader/stubs/06_bonus", copy / "06_bonus",
                            ignore=shutil.ignore_patterns("__pycache__"))
        for path in [copy, *copy.rglob("*")]:
            path.chmod(0o777)  # a host run as nobody may write beside its file
    return folder


def batch(room: Path, out: Path, *extra: str) -> tuple[float, list[dict]]:
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "grader", "batch", str(room), "--out", str(out),
                    *extra], cwd=ROOT, capture_output=True, check=False,
                   stdin=subprocess.DEVNULL)
    seconds = time.monotonic() - started
    with (out / "grades.csv").open(encoding="utf-8") as f:
        return seconds, list(csv.DictReader(f))


def pairs(room: Path) -> float:
    """One plain `grader --dir` per student, two at a time."""
    def one(student: Path) -> None:
        subprocess.run([sys.executable, "-m", "grader", "--dir", str(student), "--json", "-"],
                       cwd=ROOT, capture_output=True, check=False, stdin=subprocess.DEVNULL)

    started = time.monotonic()
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(one, sorted(room.iterdir())))
    return time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pairs", action="store_true")
    parser.add_argument("--repeat", type=int, default=0, metavar="N")
    parser.add_argument("--jobs", default="", help="passed to grader batch --jobs")
    parser.add_argument("--only", choices=KINDS, action="append", help="these classes only")
    args = parser.parse_args()
    jobs = ["--jobs", args.jobs] if args.jobs else []
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        scratch.chmod(0o755)
        for kind in args.only or KINDS:
            room = make_class(scratch / kind, kind)
            seconds, rows = batch(room, scratch / f"{kind}-out", *jobs)
            totals = sorted({row["total"] for row in rows})
            print(f"batch of 30 {kind:10} {seconds:6.1f} s   {seconds / 30:5.2f} s per student"
                  f"   totals {', '.join(totals)}", flush=True)
            if kind in ("passing", "core"):  # a check that did not pass is a flake
                for row in rows:
                    if row["failed"] or row["problem"] and kind == "passing":
                        print(f"  {row['student']}: {row['failed']} {row['problem']}", flush=True)
            if kind == "passing" and args.pairs:
                naive = pairs(room)
                print(f"  naive pairs           {naive:6.1f} s   batch/naive "
                      f"{seconds / naive:4.2f}", flush=True)
        if args.repeat:
            if not (scratch / "mixed").exists():
                make_class(scratch / "mixed", "mixed")
            seconds, rows = batch(scratch / "mixed", scratch / "repeat-out", "--repeat",
                                  str(args.repeat), *jobs)
            changed = [f"{row['student']}: {row['unstable']}" for row in rows if row["unstable"]]
            print(f"mixed --repeat {args.repeat}: {seconds:.1f} s, {len(changed)} students with "
                  f"a verdict that changed" + "".join(f"\n  {line}" for line in changed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
