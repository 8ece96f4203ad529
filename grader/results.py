"""What grading produced, as plain data: the supervisor builds it, renderers only read it.

A step is graded, not started, unusable (its code cannot be run), or hit a grader error; a
check passed, failed or was skipped. Points follow from the statuses alone, so a score can
never contradict a verdict: an ungraded step scores 0, and "all passed" means every check did.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

SCHEMA_VERSION = 3  # of the JSON report (grader/schema/report.schema.json)


class CheckStatus(str, Enum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


class StepStatus(str, Enum):
    GRADED = "graded"  # its checks ran; each has a verdict
    NOT_STARTED = "not_started"  # every TODO still raises NotImplementedError
    UNUSABLE = "unusable"  # the code cannot be run (syntax error, missing, crashes at import)
    GRADER_ERROR = "grader_error"  # the grader failed, not the student


PASSED, FAILED, SKIPPED = CheckStatus.PASSED, CheckStatus.FAILED, CheckStatus.SKIPPED


@dataclass
class CheckResult:
    step: str
    name: str  # the check function's name: stable, English, for machines
    description: str  # the student-facing line, in the chosen language
    max_points: int
    status: CheckStatus
    message: str = ""  # why it failed or was skipped: one line
    details: list[tuple[str, str]] = field(default_factory=list)  # (label, value) pairs
    hint: str = ""
    seconds: float = 0.0  # how long the check ran

    @property
    def points(self) -> int:
        return self.max_points if self.status == PASSED else 0


@dataclass
class StepResult:
    id: str
    title: str
    max_points: int
    file: str = ""  # the student's file, as the student would type it
    status: StepStatus = StepStatus.GRADED
    problem: str = ""  # why the step is not graded: said once, not per check
    checks: list[CheckResult] = field(default_factory=list)  # empty unless graded
    notes: list[str] = field(default_factory=list)  # e.g. which TODOs still raise
    # How a server that speaks no known protocol behaves (checks/behaviour.py): no points,
    # shown apart; empty when it speaks the protocol
    behaviour: list[CheckResult] = field(default_factory=list)
    seconds: float = 0.0
    bonus: bool = False  # a bonus step's points are counted apart (Report.bonus_points)

    @property
    def not_started(self) -> bool:
        return self.status == StepStatus.NOT_STARTED

    @property
    def points(self) -> int:
        if self.status != StepStatus.GRADED:
            return 0
        return sum(check.points for check in self.checks)

    @property
    def passed(self) -> bool:
        return self.status == StepStatus.GRADED and bool(self.checks) and all(
            check.status == PASSED for check in self.checks)


@dataclass
class Report:
    steps: list[StepResult]
    folder: str = ""  # the folder graded (absolute)

    @property
    def points(self) -> int:
        return sum(step.points for step in self.steps if not step.bonus)

    @property
    def max_points(self) -> int:
        return sum(step.max_points for step in self.steps if not step.bonus)

    @property
    def bonus_points(self) -> int:
        return sum(step.points for step in self.steps if step.bonus)

    @property
    def bonus_max_points(self) -> int:
        return sum(step.max_points for step in self.steps if step.bonus)

    @property
    def required(self) -> list[StepResult]:
        """The steps that decide `passed`: all but the bonus ones, unless only those ran."""
        return [step for step in self.steps if not step.bonus] or self.steps

    @property
    def passed(self) -> bool:
        return bool(self.steps) and all(step.passed for step in self.required)
