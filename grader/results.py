"""What grading produced, as plain data: the runner builds it, renderers only read it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"


@dataclass
class CheckResult:
    step: str
    name: str  # the check function's name: stable, English, for machines
    description: str  # the student-facing line, in the chosen language
    max_points: int
    status: str  # PASSED, FAILED or SKIPPED
    message: str = ""  # why it failed or was skipped: one line
    details: list[tuple[str, str]] = field(default_factory=list)  # (label, value) pairs
    hint: str = ""
    seconds: float = 0.0  # how long the check ran

    @property
    def points(self) -> int:
        return self.max_points if self.status == PASSED else 0

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> CheckResult:
        data = dict(data)
        data["details"] = [tuple(pair) for pair in data.get("details", [])]
        return cls(**data)


@dataclass
class StepResult:
    id: str
    title: str
    max_points: int
    file: str = ""  # the student's file, as the student would type it
    checks: list[CheckResult] = field(default_factory=list)
    problem: str = ""  # set when the step could not be graded at all (or only in part)
    not_started: bool = False
    notes: list[str] = field(default_factory=list)  # e.g. which TODOs still raise

    @property
    def points(self) -> int:
        return sum(check.points for check in self.checks)

    @property
    def passed(self) -> bool:
        return not self.problem and bool(self.checks) and all(
            check.status == PASSED for check in self.checks
        )


@dataclass
class Report:
    steps: list[StepResult]

    @property
    def points(self) -> int:
        return sum(step.points for step in self.steps)

    @property
    def max_points(self) -> int:
        return sum(step.max_points for step in self.steps)

    @property
    def passed(self) -> bool:
        return all(step.passed for step in self.steps)
