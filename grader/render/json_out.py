"""A Report as JSON: keys in English for machines, human text in the chosen language."""

from __future__ import annotations

import json

from ..results import PASSED, Report


def to_data(report: Report) -> dict:
    return {
        "score": report.points,
        "max_score": report.max_points,
        "passed": report.passed,
        "steps": [
            {"id": step.id, "title": step.title, "points": step.points,
             "max_points": step.max_points, "file": step.file, "not_started": step.not_started,
             "problem": step.problem, "notes": step.notes}
            for step in report.steps
        ],
        "checks": [
            {"name": check.name, "step": check.step, "description": check.description,
             "status": check.status, "passed": check.status == PASSED,
             "points": check.points, "max_points": check.max_points,
             "message": check.message,
             "details": [{"label": label, "value": value} for label, value in check.details],
             "hint": check.hint, "seconds": check.seconds}
            for step in report.steps for check in step.checks
        ],
    }


def render(report: Report) -> str:
    return json.dumps(to_data(report), ensure_ascii=False, indent=2) + "\n"
