"""`grader batch SUBMISSIONS`: a whole class, one student per entry, graded in parallel.

An entry is a folder laid out like lessons/ (or a repository with lessons/ inside), one .py file
(graded as the step its name gives, e.g. ivanov_04.py, or --step), or a .zip of either. Each
student is one `grader` run in a process of its own, bounded in time: a broken, hanging or
hostile submission costs its own row, never the batch. Writes, in --out:
grades.csv (a row per student), students/NAME.json (the versioned report), report.html.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from . import i18n, processes
from .i18n import _
from .manifest import steps
from .plan import MODES, select_steps
from .results import FAILED

STUDENT_DEADLINE = 300.0  # seconds for one student's run, all steps; then it is ended
# a run waits on sockets and timers a third of its time or more (a step's checks run in one
# worker here): three per core keep the CPUs busy (30 passing students on 2 cores, in turns:
# 58-60 s with 4 at a time, CPUs 28 % idle; 49-50 s with 6, 10 % idle; 54 s with 8)
JOBS_PER_CORE = 3
MAX_UNZIPPED = 50 << 20  # bytes a submission's .zip may hold
STEP_IN_NAME = re.compile(r"(?<!\d)(0?)([1-9])(?!\d)")


@dataclass
class Entry:
    """One student's submission, and what grading it gave."""

    name: str
    path: Path
    problem: str = ""  # why it could not be graded at all
    reports: list[dict] = field(default_factory=list)  # one per run (--repeat)
    seconds: float = 0.0

    @property
    def report(self) -> dict | None:
        return self.reports[0] if self.reports else None

    def unstable(self) -> list[str]:
        """Checks whose verdict changed between runs: 'step::name'."""
        seen: dict[str, set[str]] = {}
        for report in self.reports:
            for check in report.get("checks", []):
                seen.setdefault(f"{check['step']}::{check['name']}", set()).add(check["status"])
        return sorted(name for name, statuses in seen.items() if len(statuses) > 1)


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    try:
        wanted = select_steps(args.step)
        if args.points:  # said once, before anyone is graded
            from .points import load

            load(args.points)
    except LookupError as error:
        print(f"grader batch: {error}", file=sys.stderr)
        return 2
    entries = find_entries(args.submissions)
    if not entries:
        print(_("grader batch: no submissions in {path}").format(path=args.submissions),
              file=sys.stderr)
        return 2
    out = Path(args.out)
    (out / "students").mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="grader-batch-") as scratch:
        started = time.monotonic()
        progress = Progress(len(entries) * args.repeat, sys.stderr)
        grade_all(entries, wanted, args, Path(scratch), progress,
                  jobs=args.jobs or JOBS_PER_CORE * (os.cpu_count() or 1))
        progress.finish()
        seconds = time.monotonic() - started
    for entry in entries:
        if entry.report is not None:
            (out / "students" / f"{entry.name}.json").write_text(
                json.dumps(entry.report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    write_csv(out / "grades.csv", entries, wanted)
    from .render import class_report

    (out / "report.html").write_text(class_report.render(entries, wanted, seconds),
                                     encoding="utf-8")
    print(summary(entries, seconds, out))
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="grader batch",
        description=_("Grade a whole class: each entry of SUBMISSIONS is one student (a folder "
                      "like lessons/, a repository with lessons/ inside, one .py file, or a "
                      ".zip of these)."))
    p.add_argument("submissions", type=Path, metavar="SUBMISSIONS")
    p.add_argument("--out", default="grades", metavar="DIR",
                   help=_("where to write grades.csv, students/*.json and report.html "
                          "(default: ./grades)"))
    p.add_argument("--step", action="append", default=[], metavar="ID",
                   help=_("grade only this step (repeat for more); a single .py file needs "
                          "it unless its name says which step it is"))
    p.add_argument("--jobs", type=int, default=0, metavar="N",
                   help=_("students graded at the same time (default: three per core)"))
    p.add_argument("--repeat", type=int, default=1, metavar="N",
                   help=_("grade each student N times and name any check whose verdict "
                          "changed"))
    p.add_argument("--mode", choices=MODES, default="auto",
                   metavar="MODE", help=_("how to run a server, as for grader"))
    p.add_argument("--lang", type=str.lower, choices=i18n.LANGUAGES, default=None,
                   help=_("language of the feedback in the reports"))
    from .cli import add_course_options

    add_course_options(p)
    return p


# -- finding the students --------------------------------------------------------------------
def find_entries(folder: Path) -> list[Entry]:
    """One entry per visible item of `folder`, sorted by name."""
    if not folder.is_dir():
        return []
    return [Entry(_safe_name(path), path) for path in sorted(folder.iterdir())
            if not path.name.startswith(".") and (path.is_dir() or path.suffix in (".py", ".zip"))]


def _safe_name(path: Path) -> str:
    name = path.stem if path.is_file() else path.name
    return re.sub(r"[^\w.-]+", "_", name).strip("._") or "student"


def grader_args(entry: Entry, wanted: list, scratch: Path, step_given: list[str]) -> list[str]:
    """What to pass `grader` for this entry; raises LookupError when it cannot be graded."""
    path = entry.path
    if path.suffix == ".zip":
        path = unzip(path, scratch / entry.name)
    if path.is_dir():
        files = [p for p in path.iterdir() if not p.name.startswith(".")]
        if len(files) == 1 and files[0].is_dir() and not _has_steps(path):
            path = files[0]  # a .zip with one folder inside
        elif len(files) == 1 and files[0].suffix == ".py":
            path = files[0]
    if path.is_dir():
        return ["--dir", str(path), *[step.id for step in wanted]]
    if path.suffix != ".py":
        raise LookupError(_("not a folder, a .py file or a .zip"))
    chosen = [s.zfill(2) for s in step_given] or steps_named(path.stem)
    if len(chosen) != 1:
        raise LookupError(_("which step is {file}? Name it like ivanov_04.py, or give "
                            "--step").format(file=path.name))
    return [chosen[0], "--file", str(path)]


def steps_named(stem: str) -> list[str]:
    """The steps a file's name gives: 'ivanov_04' and 'lab4' give 04. A written '04' outweighs a
    bare digit, so 'sa1_04' (a group or a variant, then the step) is 04 too."""
    found = [(m.group(1), m.group(2).zfill(2)) for m in STEP_IN_NAME.finditer(stem)]
    padded = {step for zero, step in found if zero}
    named = padded if len(padded) == 1 else {step for _, step in found}
    return [step.id for step in steps() if step.id in named]


def _has_steps(folder: Path) -> bool:
    return any((folder / step.folder).is_dir() or (folder / "lessons" / step.folder).is_dir()
               for step in steps())


def unzip(archive: Path, target: Path) -> Path:
    """Extract a submission's .zip, refusing paths that leave `target` and oversized ones."""
    try:
        with zipfile.ZipFile(archive) as zipped:
            members = zipped.infolist()
            if sum(member.file_size for member in members) > MAX_UNZIPPED:
                raise LookupError(_("the .zip holds more than {n} MB").format(
                    n=MAX_UNZIPPED >> 20))
            root = target.resolve()
            for member in members:
                where = (target / member.filename).resolve()
                if root not in (where, *where.parents):
                    raise LookupError(_("the .zip has a path outside itself: {name}").format(
                        name=member.filename))
            zipped.extractall(target)
    except zipfile.BadZipFile:
        raise LookupError(_("not a .zip file that can be opened")) from None
    return target


# -- grading ---------------------------------------------------------------------------------
@dataclass
class Run:
    """One `grader` run of one student, in a process tree of its own."""

    entry: Entry
    options: list[str]
    json_file: Path
    log: Path
    process: subprocess.Popen | processes.Forked | None = None
    started: float = 0.0


def grade_all(entries: list[Entry], wanted: list, args: argparse.Namespace, scratch: Path,
              progress: Progress, jobs: int) -> None:
    """Every entry, args.repeat times, `jobs` runs at a time, followed from this one thread.
    Where we can fork (Linux), each run is forked from here, where the grader is already
    imported, instead of a new interpreter importing it again for every student."""
    shared = [f"--{name}={os.path.abspath(value)}" for name in ("points", "protocol")
              if (value := getattr(args, name))]
    waiting: list[Run] = []
    for entry in entries:
        try:
            options = grader_args(entry, wanted, scratch, args.step)
        except LookupError as problem:
            entry.problem = str(problem)
            progress.advance(args.repeat, failed=True)
            continue
        for number in range(args.repeat):
            json_file = scratch / f"{entry.name}-{number}.json"
            waiting.append(Run(entry, [*options, "--mode", args.mode, *shared,
                                       "--one-worker-per-step", "--json", str(json_file)],
                               json_file, scratch / f"{entry.name}-{number}.log"))
    env = {"NO_COLOR": "1", "GRADER_LANG": args.lang or os.environ.get("GRADER_LANG", "en")}
    if waiting and processes.CAN_FORK:
        _preload()
    running: list[Run] = []
    try:
        while waiting or running:
            while waiting and len(running) < jobs:
                run = waiting.pop(0)
                _start(run, env)
                running.append(run)
            time.sleep(0.02)
            for run in [run for run in running if _ended(run)]:
                running.remove(run)
                _take(run, progress, args.repeat)
    except BaseException:  # Ctrl-C: nothing of ours is left running
        for run in running:
            assert run.process
            processes.end_tree(run.process.pid)
            run.process.wait()
        raise


def _preload() -> None:
    """What each forked run would import: imported once, here."""
    from . import cli, supervisor  # noqa: F401
    from .render import gradescope, json_out, terminal  # noqa: F401
    from .worker import preload

    preload()


def _start(run: Run, env: dict[str, str]) -> None:
    run.started = time.monotonic()
    if processes.CAN_FORK:
        with processes.ctrl_c_held():
            run.process = processes.fork(lambda channel: _graded_here(run.options, env, channel),
                                         log=run.log, cwd=Path.cwd())
        run.process.stdout.close()  # no records: the report is its --json file
        return
    with run.log.open("wb") as log:
        run.process = processes.start([sys.executable, "-m", "grader", *run.options],
                                      stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                      stderr=log, env=dict(os.environ, **env))


def _graded_here(options: list[str], env: dict[str, str], channel: int) -> int:
    """In the forked child: `grader OPTIONS`, its text report thrown away."""
    os.close(channel)
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    os.environ.update(env)
    from .cli import main

    return main(options)


def _ended(run: Run) -> bool:
    """Has it ended? One that runs past STUDENT_DEADLINE is ended here, with all it started."""
    assert run.process
    if run.process.poll() is not None:
        return True
    if time.monotonic() - run.started < STUDENT_DEADLINE:
        return False
    processes.end_tree(run.process.pid)
    run.process.wait()
    run.process.returncode = None  # had to be ended: no code
    return True


def _take(run: Run, progress: Progress, repeat: int) -> None:
    entry = run.entry
    report, problem = read_report(run.process.returncode if run.process else None,
                                  run.json_file, _last_line(run.log))
    if report is not None:
        report["folder"] = str(entry.path)  # not the scratch copy it was unpacked into
        entry.reports.append(report)
    else:
        entry.problem = problem
    entry.seconds = round(entry.seconds + (time.monotonic() - run.started) / repeat, 2)
    progress.advance(1, failed=report is None or not report.get("passed"))


def _last_line(log: Path) -> str:
    try:
        lines = log.read_text("utf-8", errors="replace").strip().splitlines()
    except OSError:
        return ""
    return lines[-1] if lines else ""


def read_report(code: int | None, json_file: Path, last: str) -> tuple[dict | None, str]:
    """A run's report, or why there is none."""
    if code is None:
        return None, too_long()
    try:
        return json.loads(json_file.read_text(encoding="utf-8")), ""
    except (OSError, ValueError):
        return None, last or _("the grader gave no report (exit code {code})").format(code=code)


def run_bounded(options: list[str], stdout: int | None = subprocess.DEVNULL,
                **env: str) -> tuple[int | None, str]:
    """`grader OPTIONS` in a process tree of its own, ended after STUDENT_DEADLINE: its exit
    code (None when it had to be ended) and the last line it wrote on stderr."""
    process = processes.start([sys.executable, "-m", "grader", *options],
                              stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.PIPE,
                              env=dict(os.environ, NO_COLOR="1", **env))
    try:
        _out, err = process.communicate(timeout=STUDENT_DEADLINE)
    except subprocess.TimeoutExpired:
        processes.end_tree(process.pid)
        process.wait()
        return None, ""
    last = err.decode("utf-8", errors="replace").strip().splitlines()[-1:]
    return process.returncode, last[0] if last else ""


def too_long() -> str:
    return _("grading did not end within {s:g} s").format(s=STUDENT_DEADLINE)


class Progress:
    """'graded 12/30, 3 failing, about 8 s left' on one line of a terminal; silent elsewhere."""

    def __init__(self, total: int, stream) -> None:
        self.total, self.done, self.failed = total, 0, 0
        self.stream = stream
        self.shown = hasattr(stream, "isatty") and stream.isatty()
        self.started = time.monotonic()

    def advance(self, runs: int, failed: bool) -> None:
        self.done += runs
        self.failed += failed
        if self.shown:
            spent = time.monotonic() - self.started
            left = spent / self.done * (self.total - self.done) if self.done else 0
            self.stream.write("\r" + _("graded {done}/{total}, {failed} not passing, about "
                                       "{left:.0f} s left").format(
                done=self.done, total=self.total, failed=self.failed, left=left) + "   ")
            self.stream.flush()

    def finish(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()


# -- writing ---------------------------------------------------------------------------------
def points_by_step(entry: Entry) -> dict[str, int]:
    report = entry.report
    return {step["id"]: step["points"] for step in report["steps"]} if report else {}


def failed_checks(entry: Entry) -> list[str]:
    """The checks the student's code failed; not those skipped because one they need failed:
    one misunderstanding is one failed check, not a cascade."""
    report = entry.report
    return [f"{check['step']}::{check['name']}" for check in report["checks"]
            if check["status"] == FAILED] if report else []


def write_csv(path: Path, entries: list[Entry], wanted: list) -> None:
    """A row per student; the same columns in the same order every time."""
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["student", *[step.id for step in wanted], "total", "max", "bonus",
                         "failed", "problem", "unstable", "seconds"])
        for entry in entries:
            points = points_by_step(entry)
            report = entry.report or {}
            writer.writerow([entry.name, *[points.get(step.id, 0) for step in wanted],
                             report.get("score", 0),
                             report.get("max_score", sum(step.points for step in wanted
                                                         if not step.bonus)),
                             report.get("bonus_score", 0),
                             " ".join(failed_checks(entry)), entry.problem or _problems(report),
                             " ".join(entry.unstable()), entry.seconds])


def _problems(report: dict) -> str:
    return " / ".join(f"{step['id']}: {step['problem']}" for step in report.get("steps", [])
                      if step.get("problem"))


def summary(entries: list[Entry], seconds: float, out: Path) -> str:
    graded = [entry for entry in entries if entry.report is not None]
    passing = sum(1 for entry in graded if entry.report and entry.report.get("passed"))
    lines = [_("{n} students in {s:.1f} s: {passing} passing everything, {failing} not, {bad} "
               "not graded").format(n=len(entries), s=seconds, passing=passing,
                                    failing=len(graded) - passing,
                                    bad=len(entries) - len(graded))]
    common = Counter(name for entry in graded for name in failed_checks(entry)).most_common(3)
    if common:
        lines.append(_("failed most: {checks}").format(
            checks=", ".join(f"{name} ({n})" for name, n in common)))
    for entry in entries:
        changed = entry.unstable()
        if changed:
            lines.append(_("{student}: verdict changed between runs: {checks}").format(
                student=entry.name, checks=", ".join(changed)))
    lines.append(_("written: {csv}, {json}, {html}").format(
        csv=out / "grades.csv", json=out / "students", html=out / "report.html"))
    return "\n".join(lines)

