"""Runs a plan: for each step, worker processes (one pytest session each) over its checks, all
steps at once, and turns what they report into results.

Student code never runs in this process or in a worker: workers start a host per check. The
supervisor trusts no record it reads: each must carry the run's token, name a check it asked
for, and have the right shape; points come from the registry, never from a record. Deadlines
are kept from out here: a worker that runs past a check's limit is ended with all it started,
that check fails with what was awaited, and a new worker goes on with the rest.
"""

from __future__ import annotations

import json
import os
import queue
import secrets
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from . import processes
from .checks import Check, checks_for, find, skipped_because
from .i18n import _
from .manifest import Step
from .plan import Plan
from .results import (
    FAILED,
    PASSED,
    SKIPPED,
    CheckResult,
    CheckStatus,
    Report,
    StepResult,
    StepStatus,
)
from .review import Unusable, read_source, unfinished
from .worker import RECORD_MARK

STEP_DEADLINE = 90.0  # seconds for all of one step's checks; each check also has its own limit
GRACE = 3.0  # beyond a check's own limit, before its worker is ended from outside
GRADER_HOME = Path(__file__).resolve().parent.parent
MAX_TEXT = 2000  # a record's text fields are cut to this


def grade(plan: Plan) -> Report:
    """Grade every step of the plan, in parallel."""
    processes.become_subreaper()
    try:
        with ThreadPoolExecutor(max_workers=max(1, len(plan.steps))) as pool:
            steps = list(pool.map(lambda pair: grade_step(*pair), plan.steps))
    finally:
        processes.sweep()
    return Report(steps, folder=str(plan.root))


def grade_step(step: Step, student_file: Path) -> StepResult:
    started = time.monotonic()
    result = StepResult(id=step.id, title=_(step.title), max_points=step.points,
                        file=_display(student_file))
    try:
        still = unfinished(read_source(student_file), step.todos)
    except Unusable as problem:
        result.status, result.problem = StepStatus.UNUSABLE, str(problem)
        return result
    if still and len(still) == len(step.todos):
        first = "serve()" if "serve" in still else f"{still[0]}()"
        result.status = StepStatus.NOT_STARTED
        result.problem = _("not started yet ({first} raises NotImplementedError)").format(
            first=first)
        return result
    if still:
        result.notes.append(_("still to do: {functions} (they raise NotImplementedError)").format(
            functions=", ".join(f"{name}()" for name in still)))
    checks = checks_for(step.id)
    # The step's checks in one worker; a slow `alone` check in a worker of its own meanwhile.
    shards = [[c for c in checks if not c.alone]] + [[c] for c in checks if c.alone]
    with ThreadPoolExecutor(max_workers=len(shards)) as pool:
        runs = list(pool.map(lambda shard: Shard(step, student_file, shard).run(), shards))
    problem = next((run.problem for run in runs if run.problem), "")
    if problem:
        result.status, result.problem = runs[0].status or StepStatus.UNUSABLE, problem
        return result
    verdicts = {name: check for run in runs for name, check in run.results.items()}
    result.checks = _settle(step, checks, verdicts)
    result.seconds = round(time.monotonic() - started, 3)
    return result


def _settle(step: Step, checks: list[Check], verdicts: dict[str, CheckResult]) -> list[CheckResult]:
    """Every check once, in order; a check whose `after` did not pass is skipped, whatever it
    did on its own in another worker (so a verdict never depends on which worker was first)."""
    settled: dict[str, CheckResult] = {}
    for check in checks:
        result = verdicts.get(check.name) or _result(
            check, FAILED, _("not run: the grader ran out of time for this step"))
        missing = [name for name in check.after if settled[name].status != PASSED]
        if missing:
            result = _result(check, SKIPPED, skipped_because(find(step.id, missing[0])))
        settled[check.name] = result
    return list(settled.values())


def _result(check: Check, status: CheckStatus, message: str = "",
            details: list[tuple[str, str]] | None = None, hint: str = "",
            seconds: float = 0.0) -> CheckResult:
    return CheckResult(step=check.step, name=check.name, description=_(check.description),
                       max_points=check.points, status=status, message=message,
                       details=details or [], hint=hint, seconds=seconds)


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


@dataclass
class Shard:
    """Some checks of one step, run by a worker (and by another if that one dies)."""

    step: Step
    student_file: Path
    checks: list[Check]
    results: dict[str, CheckResult] = field(default_factory=dict)
    problem: str = ""
    status: StepStatus | None = None

    def run(self) -> Shard:
        deadline = time.monotonic() + STEP_DEADLINE
        with tempfile.TemporaryDirectory(prefix="grader-") as scratch:
            for attempt in range(len(self.checks) + 1):
                remaining = [c for c in self.checks if c.name not in self.results]
                if not remaining or self.problem or time.monotonic() >= deadline:
                    break
                Worker(self, remaining, Path(scratch, f"worker-{attempt}.log"), deadline).run()
        return self

    def known(self) -> str:
        return ",".join(f"{self.step.id}::{name}={result.status.value}"
                        for name, result in self.results.items())


class Worker:
    """One worker process: started, read, held to its deadlines, ended."""

    def __init__(self, shard: Shard, checks: list[Check], log: Path, deadline: float) -> None:
        self.shard = shard
        self.checks = {c.name: c for c in checks}
        self.log = log
        self.step_deadline = deadline
        self.token = secrets.token_hex(16)
        self.records: queue.Queue[dict | None] = queue.Queue()
        self.running: Check | None = None
        self.running_since = 0.0

    def command(self) -> list[str]:
        step = self.shard.step
        return [sys.executable, "-m", "grader.worker", "--student", str(self.shard.student_file),
                "--step", step.id, "--only", ",".join(c.id for c in self.checks.values()),
                "--known", self.shard.known()]

    def run(self) -> None:
        env = dict(os.environ, PYTHONIOENCODING="utf-8", PYTHONDONTWRITEBYTECODE="1",
                   PYTHONPATH=os.pathsep.join(filter(None, [str(GRADER_HOME),
                                                            os.environ.get("PYTHONPATH")])))
        with self.log.open("wb") as log:
            process = processes.start(self.command(), stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, stderr=log, env=env,
                                      cwd=self.log.parent)
        assert process.stdin and process.stdout
        try:
            process.stdin.write((self.token + "\n").encode())
            process.stdin.close()
        except OSError:
            pass
        threading.Thread(target=self._read, args=(process.stdout,), daemon=True).start()
        ended = self._follow()
        processes.end_tree(process.pid)
        process.wait()
        process.stdout.close()
        if ended == "done":
            return
        if self.running is None:  # it ended outside any check: said once, for the step
            self.shard.problem = self._trouble(ended, process.returncode)
            self.shard.status = StepStatus.GRADER_ERROR
            return
        check, self.running = self.running, None
        self.shard.results[check.name] = _result(check, FAILED, self._trouble(ended,
                                                                              process.returncode))

    def _read(self, stream) -> None:
        for raw in stream:
            record = parse_record(raw, self.token)
            if record is not None:
                self.records.put(record)
        self.records.put(None)

    def _follow(self) -> str:
        """Take records until the worker is done ('done'), gone ('exit') or late ('timeout')."""
        while True:
            limit = self.step_deadline
            if self.running is not None:
                limit = min(limit, self.running_since + self.running.timeout + GRACE)
            try:
                record = self.records.get(timeout=max(0.0, limit - time.monotonic()))
            except queue.Empty:
                return "timeout"
            if record is None:
                return "exit"
            if self._take(record):
                return "done"

    def _take(self, record: dict) -> bool:
        """Use one record; True when the worker says it is done."""
        kind = record["kind"]
        if kind == "done":
            code = record.get("exit")
            if code not in (0, 1, 5) and not self.shard.problem:
                self.shard.problem = _("the grader could not run the checks (pytest exit code "
                                       "{code})").format(code=code)
                self.shard.status = StepStatus.GRADER_ERROR
            return True
        if kind == "problem":
            self.shard.problem = _clip(record.get("message"))
            self.shard.status = StepStatus.UNUSABLE
            return False
        check = self._check(record.get("check"))
        if check is None:
            return False  # not one we asked for: ignored
        if kind == "start":
            self.running, self.running_since = check, time.monotonic()
        elif kind == "result" and check.name not in self.shard.results:
            status = record.get("status")
            if status not in ("passed", "failed", "skipped"):
                return False
            details = record.get("details")
            pairs = [(_clip(pair[0], 200), _clip(pair[1]))
                     for pair in (details if isinstance(details, list) else [])[:20]
                     if isinstance(pair, list) and len(pair) == 2]
            seconds = record.get("seconds")
            self.shard.results[check.name] = _result(
                check, CheckStatus(status), _clip(record.get("message")), pairs,
                _clip(record.get("hint")),
                float(seconds) if isinstance(seconds, (int, float)) else 0.0)
            self.running = None
        return False

    def _check(self, check_id: object) -> Check | None:
        if not isinstance(check_id, str) or "::" not in check_id:
            return None
        step, name = check_id.split("::", 1)
        return self.checks.get(name) if step == self.shard.step.id else None

    def _trouble(self, ended: str, code: int | None) -> str:
        if ended == "timeout":
            if self.running is not None:
                return _("no verdict after {s:g} s: the grader stopped your code").format(
                    s=self.running.timeout)
            return _("no verdict after {s:g} s: the grader stopped your code").format(
                s=STEP_DEADLINE)
        last = [line for line in self.log.read_text("utf-8", errors="replace").splitlines()
                if line.strip()][-1:]
        reason = _("your code ended the grader's process ({code})").format(code=f"exit {code}")
        return f"{reason}: {_clip(last[0].strip(), 200)}" if last else reason


def parse_record(raw: bytes, token: str) -> dict | None:
    """A worker's record, if the line is one: marked, with this run's token, a JSON object."""
    mark = (RECORD_MARK + token).encode()
    if not raw.startswith(mark):
        return None
    try:
        record = json.loads(raw[len(mark):].decode("utf-8", errors="replace"))
    except ValueError:
        return None
    if not isinstance(record, dict) or record.get("kind") not in (
            "start", "result", "problem", "done"):
        return None
    return record


def _clip(value: object, limit: int = MAX_TEXT) -> str:
    text = value if isinstance(value, str) else ""
    return text if len(text) <= limit else text[: limit - 1] + "…"

