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
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from . import processes
from .checks import Check, checks_for, every_check_of, find, skipped_because
from .i18n import _
from .manifest import Step
from .plan import Plan, shown
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
from .safe_text import visible
from .worker import RECORD_MARK

STEP_DEADLINE = 90.0  # seconds for all of one step's checks; each check also has its own limit
GRACE = 3.0  # beyond a check's own limit, before its worker is ended from outside
GRADER_HOME = Path(__file__).resolve().parent.parent
MAX_TEXT = 2000  # a record's text fields are cut to this
MAX_NOTES = 5  # a step's notes from one worker: more would be a forged flood


def grade(plan: Plan) -> Report:
    """Grade every step of the plan, in parallel."""
    processes.become_subreaper()
    processes.private_memory()  # forked workers inherit it
    results = [review(step, path) for step, path in plan.steps]
    shards = [Shard(step, path, part, plan.mode)
              for (step, path), result in zip(plan.steps, results)
              if result.status == StepStatus.GRADED
              for part in _parts(every_check_of(step.id), PART_SIZE if plan.spread else 0)]
    try:
        if shards and processes.CAN_FORK:  # one process's imports, shared by every worker
            from .worker import preload

            preload()
        # All first workers now, while this process has one thread; the slow ones first.
        with processes.ctrl_c_held():
            for shard in sorted(shards, key=lambda shard: -max(c.timeout for c in shard.checks)):
                shard.launch()
        pool = ThreadPoolExecutor(max_workers=max(1, len(shards)))
        try:
            list(pool.map(Shard.run, shards))
        except BaseException:  # Ctrl-C: end every worker first, so that no thread waits on one
            for shard in shards:
                shard.stop()
            raise
        finally:
            pool.shutdown(wait=True)
    finally:
        processes.sweep()
        submission = (plan.root, *(path.parent for _step, path in plan.steps))
        for shard in shards:
            shard.clean()
            for user in shard.users:  # their processes are gone: what they left in /tmp
                processes.remove_what_was_left(user, keep=submission)
    for result in results:
        if result.status == StepStatus.GRADED:
            _collect(result, [shard for shard in shards if shard.step.id == result.id])
    return Report(results, folder=str(plan.root))


PART_SIZE = 12  # checks per worker: a longer step is shared by several, at the same time


def _parts(checks: list[Check], size: int = PART_SIZE) -> list[list[Check]]:
    """A step's checks in workers of up to `size` (dealt in turn, so that each gets quick and
    slow ones), a slow `alone` check in a worker of its own; 0: all in one worker (grading a
    class: a worker costs more CPU than the wait it saves). A check whose `after` is in another
    worker runs anyway; _settle() skips it if that one did not pass."""
    if not size:
        return [checks]
    shared = [c for c in checks if not c.alone]
    # behaviour checks skip at once for most servers: they make no worker of their own
    count = max(1, -(-sum(not c.behaviour for c in shared) // size))
    return [shared[n::count] for n in range(count)] + [[c] for c in checks if c.alone]


def review(step: Step, student_file: Path) -> StepResult:
    """The step as far as reading its file tells (no code runs): graded unless it is missing,
    broken or not started."""
    result = StepResult(id=step.id, title=_(step.title), max_points=step.points,
                        file=shown(student_file), bonus=step.bonus)
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
    elif still:
        result.notes.append(_("still to do: {functions} (they raise NotImplementedError)").format(
            functions=", ".join(f"{name}()" for name in still)))
    return result


def _collect(result: StepResult, shards: list[Shard]) -> None:
    result.seconds = round(max((shard.seconds for shard in shards), default=0.0), 3)
    problem = next((shard for shard in shards if shard.problem), None)
    if problem is not None:
        result.status = problem.status or StepStatus.UNUSABLE
        result.problem = problem.problem
        return
    result.notes += list(dict.fromkeys(note for shard in shards for note in shard.notes))
    verdicts = {name: check for shard in shards for name, check in shard.results.items()}
    result.checks = _settle(result.id, checks_for(result.id), verdicts)
    behaviour = _settle(result.id, checks_for(result.id, behaviour=True), verdicts)
    if any(check.status != SKIPPED for check in behaviour):  # else: not needed
        result.behaviour = behaviour


def _settle(step: str, checks: list[Check], verdicts: dict[str, CheckResult]) -> list[CheckResult]:
    """Every check once, in order; a check whose `after` did not pass, or one of whose
    `same_cause` failed, is skipped, whatever it did on its own in another worker (so a verdict
    never depends on which worker was first)."""
    settled: dict[str, CheckResult] = {}
    for check in checks:
        result = verdicts.get(check.name) or _result(
            check, FAILED, _("not run: the grader ran out of time for this step"))
        missing = [settled[name] for name in check.after if settled[name].status != PASSED]
        missing += [settled[name] for name in check.same_cause
                    if settled[name].status == FAILED]
        if missing:  # named: the check that failed, not one skipped in its turn
            result = _result(check, SKIPPED, missing[0].message
                             if missing[0].status == SKIPPED else
                             skipped_because(find(step, missing[0].name)))
        elif _against(result, step, settled):
            from .labs.chat_session import PROMPT_CHECK

            result = _result(check, FAILED, _(
                "its first client got no prompt, though “{check}” passed on a start of its "
                "own: your server does not answer the same way each time it starts").format(
                    check=_(find(step, PROMPT_CHECK).description)), hint=_(
                "look for what your code keeps from one start to the next (a file, another "
                "process) or does at random when it starts."))
        settled[check.name] = result
    return list(settled.values())


def _against(result: CheckResult, step: str, settled: dict[str, CheckResult]) -> bool:
    """Was the check skipped in its worker for want of a prompt (pytest_plugin), though the
    prompt's own check passed? Then the server answered one start and not another."""
    from .labs.chat_session import PROMPT_CHECK

    prompt = settled.get(PROMPT_CHECK)
    return (result.status == SKIPPED and prompt is not None and prompt.status == PASSED
            and result.message == skipped_because(find(step, PROMPT_CHECK)))


def _result(check: Check, status: CheckStatus, message: str = "",
            details: list[tuple[str, str]] | None = None, hint: str = "",
            seconds: float = 0.0) -> CheckResult:
    return CheckResult(step=check.step, name=check.name, description=_(check.description),
                       max_points=check.points, status=status, message=message,
                       details=details or [], hint=hint, seconds=seconds)


@dataclass
class Shard:
    """Some checks of one step, run by a worker (and by another if that one dies)."""

    step: Step
    student_file: Path
    checks: list[Check]
    mode: str = "auto"  # how a server is run: see StudentServer
    results: dict[str, CheckResult] = field(default_factory=dict)
    problem: str = ""
    notes: list[str] = field(default_factory=list)
    status: StepStatus | None = None
    users: list[str] = field(default_factory=list)  # of its workers' hosts

    def __post_init__(self) -> None:
        self.scratch = Path(tempfile.mkdtemp(prefix="grader-"))
        # as long for each check as when a step is shared by workers of PART_SIZE checks
        self.budget = STEP_DEADLINE * -(-len(self.checks) // PART_SIZE)
        self.deadline = time.monotonic() + self.budget
        self.first: Worker | None = None
        self.seconds = 0.0

    def launch(self) -> None:
        """Start the first worker (forked where we can: see grade())."""
        self.first = Worker(self, self.checks, self.scratch / "worker-0.log", self.deadline)
        self.first.start(fork=processes.CAN_FORK)

    def run(self) -> None:
        """Follow the first worker, and start another for what is left each time one dies."""
        started = time.monotonic()
        worker = self.first
        for attempt in range(1, len(self.checks) + 2):
            if worker is not None:
                worker.finish()
            remaining = [c for c in self.checks if c.name not in self.results]
            if not remaining or self.problem or time.monotonic() >= self.deadline:
                break
            worker = Worker(self, remaining, self.scratch / f"worker-{attempt}.log",
                            self.deadline)
            worker.start(fork=False)
        self.seconds = time.monotonic() - started

    def stop(self) -> None:
        self.deadline = 0.0  # no new worker after this one
        processes.sweep()

    def clean(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)

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
        # who its hosts run as, when we are root: a user of its own, cleared up after at the end
        self.user = processes.new_user()
        shard.users.append(self.user)
        self.records: queue.Queue[dict | None] = queue.Queue()
        self.running: Check | None = None
        self.running_since = 0.0

    def command(self) -> list[str]:
        step = self.shard.step
        return [sys.executable, "-m", "grader.worker", "--student", str(self.shard.student_file),
                "--step", step.id, "--mode", self.shard.mode, "--only", self._only(),
                "--known", self.shard.known()]

    def _only(self) -> str:
        return ",".join(c.id for c in self.checks.values())

    def start(self, fork: bool) -> None:
        if fork:
            self.process: subprocess.Popen | processes.Forked = processes.fork(
                self._forked, log=self.log, cwd=self.log.parent)
        else:
            self.process = self._spawn()
        assert self.process.stdout
        threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True).start()

    def _forked(self, channel: int) -> int:
        """In the forked child: the worker's session, with the supervisor's imports."""
        from .worker import run_session

        os.environ["GRADER_HOST_USER"] = self.user
        return run_session(str(self.shard.student_file), self.shard.step.id, self._only(),
                           self.shard.known(), self.token, channel, self.shard.mode)

    def _spawn(self) -> subprocess.Popen:
        env = dict(os.environ, PYTHONIOENCODING="utf-8", PYTHONDONTWRITEBYTECODE="1",
                   GRADER_HOST_USER=self.user,
                   PYTHONPATH=os.pathsep.join(filter(None, [str(GRADER_HOME),
                                                            os.environ.get("PYTHONPATH")])))
        with self.log.open("wb") as log:
            process = processes.start(self.command(), stdin=subprocess.PIPE,
                                      stdout=subprocess.PIPE, stderr=log, env=env,
                                      cwd=self.log.parent)
        assert process.stdin
        try:
            process.stdin.write((self.token + "\n").encode())
            process.stdin.close()
        except OSError:
            pass
        return process

    def finish(self) -> None:
        ended = self._follow()
        code = None
        if ended != "timeout":
            try:
                code = self.process.wait(5)  # it is ending: its code tells why
            except subprocess.TimeoutExpired:
                pass
        if code is None:  # still running: end it with all it started (its pid is still its)
            processes.end_tree(self.process.pid)
            code = self.process.wait()
        self.process.stdout.close()  # type: ignore[union-attr]
        if ended == "done":
            return
        if self.running is None:  # it ended outside any check: said once, for the step
            self.shard.problem = self._trouble(ended, code)
            self.shard.status = StepStatus.GRADER_ERROR
            return
        check, self.running = self.running, None
        self.shard.results[check.name] = _result(check, FAILED, self._trouble(ended, code))

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
        if kind == "note":
            if len(self.shard.notes) < MAX_NOTES:
                self.shard.notes.append(_clip(record.get("message")))
            return False
        check = self._check(record.get("check"))
        if check is None:
            return False  # not one we asked for: ignored
        if kind == "start":
            self.running, self.running_since = check, time.monotonic()
        elif kind == "result" and check is self.running:  # a verdict only for what runs now
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
                s=self.shard.budget)
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
    except (ValueError, RecursionError):  # [[[[... nested too deep is malformed too
        return None
    if not isinstance(record, dict) or record.get("kind") not in (
            "start", "result", "problem", "note", "done"):
        return None
    return record


def _clip(value: object, limit: int = MAX_TEXT) -> str:
    """A record's text, cut to `limit`, its control characters shown (it may quote the
    student's code, and what that printed)."""
    text = visible(value if isinstance(value, str) else "")
    return text if len(text) <= limit else text[: limit - 1] + "…"

