"""The pytest plugin that turns a step's registered checks into test items and records results.

Loaded only inside a worker process (grader/worker.py), never in the grader's own process.
"""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import pytest

from .checks import Check, checks_for, skipped_because
from .client_lab import ClientLab
from .driver import CheckFailed
from .harness import Session
from .i18n import _
from .manifest import Step
from .results import FAILED, PASSED, SKIPPED, CheckResult

TIMEOUT_METHOD = "signal" if hasattr(signal, "SIGALRM") else "thread"


class CheckItem(pytest.Item):
    def __init__(self, *, check: Check, plugin: GraderPlugin, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check
        self.plugin = plugin

    def runtest(self) -> None:
        self.plugin.run(self.check)

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, self.check.name


class StepFile(pytest.File):
    plugin: GraderPlugin

    def collect(self) -> Iterator[CheckItem]:
        for check in self.plugin.todo:
            item = CheckItem.from_parent(self, name=check.name, check=check, plugin=self.plugin)
            item.add_marker(pytest.mark.timeout(check.timeout, method=TIMEOUT_METHOD))
            yield item


class GraderPlugin:
    """Runs each check with a fresh server (or client lab) and writes one JSON line per event."""

    def __init__(self, step: Step, student_file: Path, serve: Callable | None, out: IO[str],
                 report: list[str], passed: set[str], failed: set[str]) -> None:
        self.step = step
        self.student_file = student_file
        self.serve = serve
        self.out = out
        self.report = set(report or [check.name for check in checks_for(step.id)])
        self.passed = set(passed)
        self.started = time.monotonic()
        by_name = {check.name: check for check in checks_for(step.id)}
        needed: set[str] = set()

        def need(name: str) -> None:  # a check, and what it depends on that we don't know
            if name in needed or (name not in self.report and name in passed | failed):
                return
            needed.add(name)
            for dependency in by_name[name].after:
                need(dependency)

        for name in self.report:
            need(name)
        self.todo = [check for check in checks_for(step.id) if check.name in needed]

    def write(self, record: dict) -> None:
        self.out.write(json.dumps(record, ensure_ascii=False) + "\n")
        self.out.flush()  # the runner reads what we got so far if this process dies

    # -- pytest hooks -----------------------------------------------------------------------
    def pytest_collect_file(self, file_path: Path, parent: pytest.Collector) -> Any:
        if file_path.resolve() == self.student_file.resolve():
            node = StepFile.from_parent(parent, path=file_path)
            node.plugin = self
            return node
        return None

    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        check: Check = item.check  # type: ignore[attr-defined]
        if check.name in self.report:
            self.write({"event": "start", "name": check.name})
        missing = [name for name in check.after if name not in self.passed]
        if missing:
            needed = next(c for c in checks_for(self.step.id) if c.name == missing[0])
            pytest.skip(skipped_because(needed))

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo) -> Iterator:
        outcome = yield
        report = outcome.get_result()
        check: Check = item.check  # type: ignore[attr-defined]
        if report.when == "setup":
            self.started = time.monotonic()
        if report.when == "setup" and report.skipped:
            reason = call.excinfo.value.msg if call.excinfo else ""
            self.record(check, SKIPPED, message=reason)
        elif report.when == "call":
            if report.passed:
                self.passed.add(check.name)
                self.record(check, PASSED)
            else:
                error = call.excinfo.value if call.excinfo else None
                if isinstance(error, CheckFailed):
                    self.record(check, FAILED, error.message, error.details, error.hint)
                else:  # not a verdict: a bug in a check, reported as plainly as we can
                    self.record(check, FAILED, _("the check itself broke: {error}").format(
                        error=f"{type(error).__name__}: {error}"))

    def record(self, check: Check, status: str, message: str = "",
               details: list | None = None, hint: str = "") -> None:
        if check.name not in self.report:
            return  # run only because a check of ours depends on it
        result = CheckResult(
            step=check.step, name=check.name, description=_(check.description),
            max_points=check.points, status=status, message=message,
            details=details or [], hint=hint,
            seconds=round(time.monotonic() - self.started, 3))
        self.write({"event": "result", **result.to_dict()})

    # -- running one check ------------------------------------------------------------------
    def run(self, check: Check) -> None:
        fixture = (ClientLab(self.student_file) if self.step.is_client
                   else Session(self.serve, self.student_file))  # type: ignore[arg-type]
        with fixture:
            try:
                check.function(fixture)
            except CheckFailed as failure:
                raise fixture.explain(failure) from None
            except pytest.fail.Exception as error:
                if "Timeout" not in str(error):
                    raise
                raise fixture.explain(CheckFailed(
                    _("no verdict after {s:g} s: the check was stopped").format(s=check.timeout),
                    hint=_("something in your code waits forever: every recv() and accept() "
                           "needs a client that will answer."))) from None
