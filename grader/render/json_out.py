"""A Report as JSON: keys in English for machines, human text in the chosen language."""

from __future__ import annotations

import json

from ..results import PASSED, SCHEMA_VERSION, CheckResult, Report


def to_data(report: Report) -> dict:
    """The report as grader/schema/report.schema.json describes it."""
    return {
        "schema_version": SCHEMA_VERSION,
        "folder": report.folder,
        "score": report.points,
        "max_score": report.max_points,
        "bonus_score": report.bonus_points,
        "bonus_max_score": report.bonus_max_points,
        "passed": report.passed,
        "steps": [
            {"id": step.id, "title": step.title, "status": step.status.value,
             "points": step.points, "max_points": step.max_points, "file": step.file,
             "not_started": step.not_started, "bonus": step.bonus, "problem": step.problem,
             "notes": step.notes,
             "seconds": step.seconds}
            for step in report.steps
        ],
        "checks": [_check(check) for step in report.steps for check in step.checks],
        "behaviour": [_check(check) for step in report.steps for check in step.behaviour],
    }


def _check(check: CheckResult) -> dict:
    return {"name": check.name, "step": check.step, "description": check.description,
            "status": check.status.value, "passed": check.status == PASSED,
            "points": check.points, "max_points": check.max_points,
            "message": check.message,
            "details": [{"label": label, "value": value} for label, value in check.details],
            "hint": check.hint, "seconds": check.seconds}


def render(report: Report) -> str:
    return json.dumps(to_data(report), ensure_ascii=False, indent=2) + "\n"
