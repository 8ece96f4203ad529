"""Runs each selected step in a worker process of its own, all steps at once, and collects
their results. A worker that dies or hangs costs only the check it was running: the runner
records that check as failed, says why, and starts a new worker for the rest.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .checks import checks_for, skipped_because
from .i18n import _
from .manifest import Step
from .results import FAILED, PASSED, SKIPPED, CheckResult, Report, StepResult

STEP_DEADLINE = 90.0  # seconds for all of one step's checks; each check also has its own limit
GRADER_HOME = Path(__file__).resolve().parent.parent


def grade(root: Path, steps: list[Step]) -> Report:
    """Grade `steps` of the lessons-like folder `root`, in parallel."""
    with ThreadPoolExecutor(max_workers=max(1, len(steps))) as pool:
        return Report(list(pool.map(lambda step: grade_step(step, step.path_in(root)), steps)))


def grade_step(step: Step, student_file: Path) -> StepResult:
    """One step: its checks in one worker, and each check marked `alone` in a worker of its own
    at the same time (a check that measures the whole process needs the process to itself).
    An `alone` check runs at once; if what it needs fails in the main worker, it counts as
    skipped."""
    checks = checks_for(step.id)
    alone = [c for c in checks if c.alone]
    with ThreadPoolExecutor(max_workers=1 + len(alone)) as pool:
        main_run = pool.submit(run_part, step, student_file, [c.name for c in checks
                                                              if not c.alone])
        alone_runs = [pool.submit(run_part, step, student_file, [c.name], set(c.after))
                      for c in alone]
        main = main_run.result()
        for check, run in zip(alone, alone_runs):
            if main.problem:
                break  # the step's one problem is said once, and every check fails with it
            other = run.result()
            passed = {c.name for c in main.checks if c.status == PASSED}
            missing = [name for name in check.after if name not in passed]
            if missing:
                needed = next(c for c in checks if c.name == missing[0])
                other.checks = [_result(step, check.name, SKIPPED, skipped_because(needed))]
            elif other.problem and not other.checks:
                other.checks = [_result(step, check.name, FAILED, other.problem)]
            main.checks += other.checks
    _fill_missing(step, main)
    return main


def run_part(step: Step, student_file: Path, names: list[str],
             assume_passed: frozenset[str] | set[str] = frozenset()) -> StepResult:
    """Run the checks `names` of a step, starting a new worker after any that kills one."""
    result = StepResult(id=step.id, title=_(step.title), max_points=step.points,
                        file=_display(student_file))
    known = [CheckResult(step.id, name, "", 0, PASSED) for name in assume_passed]
    deadline = time.monotonic() + STEP_DEADLINE
    with tempfile.TemporaryDirectory(prefix="grader-") as tmp:
        for attempt in range(len(names) + 1):
            remaining = [n for n in names if n not in {c.name for c in result.checks}]
            if not remaining or time.monotonic() >= deadline:
                break
            results_file = Path(tmp, f"results-{attempt}.jsonl")
            log_file = Path(tmp, f"worker-{attempt}.log")
            ended = _run_worker(step, student_file, results_file, log_file,
                                known + result.checks, remaining,
                                first_run=attempt == 0, deadline=deadline)
            running = _read_records(results_file, result)
            if ended == "done" or result.problem:
                break
            if running not in names:  # died outside any check of ours: say so, once
                result.problem = _worker_trouble(ended, log_file)
                break
            result.checks.append(_failed(step, running, _worker_trouble(ended, log_file)))
    return result


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _run_worker(step: Step, student_file: Path, results_file: Path, log_file: Path,
                known: list[CheckResult], names: list[str], first_run: bool,
                deadline: float) -> str:
    """Run one worker to its end; 'done', 'timeout', or its exit code as text."""
    command = [sys.executable, "-m", "grader.worker", step.id, str(student_file),
               str(results_file), "--checks", ",".join(names),
               "--passed", ",".join(c.name for c in known if c.status == PASSED),
               "--failed", ",".join(c.name for c in known if c.status != PASSED)]
    if not first_run:
        command.append("--again")
    env = dict(os.environ, PYTHONIOENCODING="utf-8", PYTHONDONTWRITEBYTECODE="1",
               PYTHONPATH=os.pathsep.join(filter(None, [str(GRADER_HOME),
                                                        os.environ.get("PYTHONPATH")])))
    isolation: dict = ({"start_new_session": True} if os.name == "posix"
                       else {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP})
    with log_file.open("wb") as log:
        process = subprocess.Popen(command, cwd=student_file.parent if student_file.parent.is_dir()
                                   else None, stdin=subprocess.DEVNULL, stdout=log,
                                   stderr=subprocess.STDOUT, env=env, **isolation)
        try:
            code = process.wait(max(0.1, deadline - time.monotonic()))
            outcome = "done" if code == 0 and _finished(results_file) else f"exit {code}"
        except subprocess.TimeoutExpired:
            outcome = "timeout"
        _kill_tree(process)
    return outcome


def _kill_tree(process: subprocess.Popen) -> None:
    """Stop the worker and anything it started (a student's client, a forgotten server)."""
    if os.name == "posix":
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except OSError:
            pass  # already gone
    else:
        subprocess.run(["taskkill", "/F", "/T", "/PID", str(process.pid)],
                       capture_output=True, check=False)
    process.kill()
    process.wait()


def _finished(results_file: Path) -> bool:
    return results_file.exists() and '"event": "done"' in results_file.read_text("utf-8")


def _read_records(results_file: Path, result: StepResult) -> str | None:
    """Add the worker's records to `result`; the name of a check it started and never ended."""
    running = None
    if not results_file.exists():
        return None
    for line in results_file.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut short when the worker died
        event = record.pop("event")
        if event == "start":
            running = record["name"]
        elif event == "result":
            result.checks.append(CheckResult.from_dict(record))
            running = None
        elif event == "problem":
            result.problem = record["message"]
            result.not_started = record.get("not_started", False)
        elif event == "note":
            result.notes.append(record["message"])
    return running


def _worker_trouble(ended: str, log_file: Path) -> str:
    if ended == "timeout":
        return _("no verdict after {s:g} s: the grader stopped your code").format(s=STEP_DEADLINE)
    log = log_file.read_text("utf-8", errors="replace")
    if "Timeout (>" in log:  # pytest-timeout's thread method (Windows) ends the process
        return _("no verdict in time: the check was stopped")
    last = [line for line in log.splitlines() if line.strip()][-1:]
    reason = _("your code ended the grader's process ({code})").format(code=ended)
    return f"{reason}: {last[0].strip()}" if last else reason


def _failed(step: Step, name: str, message: str) -> CheckResult:
    return _result(step, name, FAILED, message)


def _result(step: Step, name: str, status: str, message: str) -> CheckResult:
    check = next(c for c in checks_for(step.id) if c.name == name)
    return CheckResult(step=step.id, name=name, description=_(check.description),
                       max_points=check.points, status=status, message=message)


def _fill_missing(step: Step, result: StepResult) -> None:
    """Every check of the step appears in the result, even those that never ran."""
    done = {check.name for check in result.checks}
    reason = result.problem or _("not run: the grader ran out of time for this step")
    for check in checks_for(step.id):
        if check.name not in done:
            result.checks.append(_failed(step, check.name, reason))
    order = [check.name for check in checks_for(step.id)]
    result.checks.sort(key=lambda c: order.index(c.name))
