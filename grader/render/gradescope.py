"""A Report as Gradescope's results.json (its autograder specification): a test per check, a
test per step that could not be graded, and the feedback in the student's language."""

from __future__ import annotations

import json

from ..i18n import _
from ..results import PASSED, Report, StepStatus


def to_data(report: Report | None, seconds: float, error: str = "") -> dict:
    """Gradescope's results; with no report, one visible failed test that says `error`."""
    tests: list[dict] = []
    if report is None:
        tests.append({"name": _("the grader"), "number": "0", "score": 0, "max_score": 0,
                      "status": "failed", "output": error, "output_format": "text",
                      "visibility": "visible", "tags": ["grader"]})
    for n, step in enumerate(report.steps if report else [], start=1):
        if step.status != StepStatus.GRADED:
            tests.append({"name": f"{step.id} {step.title}", "number": f"{n}",
                          "score": 0, "max_score": step.max_points, "status": "failed",
                          "output": step.problem, "output_format": "text",
                          "visibility": "visible", "tags": [step.id]})
            continue
        for m, check in enumerate(step.checks, start=1):
            lines = [check.message] if check.message else []
            lines += [f"{label} {value}".strip() for label, value in check.details]
            if check.hint:
                lines.append(_("hint: {hint}").format(hint=check.hint))
            tests.append({"name": f"{step.id} {check.description}", "number": f"{n}.{m}",
                          "score": check.points, "max_score": check.max_points,
                          "status": "passed" if check.status == PASSED else "failed",
                          "output": "\n".join(lines), "output_format": "text",
                          "visibility": "visible", "tags": [step.id, check.name]})
    notes = [f"{step.id}: {note}" for step in (report.steps if report else [])
             for note in step.notes]
    return {
        "score": report.points if report else 0,
        "execution_time": max(0, round(seconds)),
        "output": "\n".join([error, *notes] if error else notes),
        "output_format": "text",
        "test_output_format": "text",
        "test_name_format": "text",
        "visibility": "visible",
        "stdout_visibility": "hidden",
        "tests": tests,
    }


def render(report: Report | None, seconds: float, error: str = "") -> str:
    return json.dumps(to_data(report, seconds, error), ensure_ascii=False, indent=2) + "\n"
