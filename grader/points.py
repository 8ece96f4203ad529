"""An instructor's points: `grader --points class.toml` (and `grader batch --points`).

    [points.04]            # a step's checks worth other points than the kit's
    no_busy_loop = 4
    relays_to_others = 3
    [totals]               # optional: what a step's checks must add up to
    04 = 43

A check not named keeps the kit's points. Everything is checked before grading starts: a
name that is no check, a negative number, or a total its checks do not add up to is an
error, never a silent "11/10".
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from .i18n import _
from .manifest import steps
from .results import Report

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on older Pythons only
    import tomli as tomllib


@dataclass(frozen=True)
class Points:
    checks: dict[str, int] = field(default_factory=dict)  # "04::no_busy_loop" -> 4
    totals: dict[str, int] = field(default_factory=dict)  # "04" -> 43, for every step named


def load(path: Path) -> Points:
    """The file's points, checked against the kit's steps and checks (LookupError: why not)."""
    from .checks import checks_for

    def wrong(message: str) -> LookupError:
        return LookupError(f"{path.name}: {message}")

    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise wrong(error.strerror or str(error)) from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise wrong(str(error)) from None
    unknown = set(data) - {"points", "totals"}
    if unknown:
        raise wrong(_("it may hold [points.04] (and so on for each step) and [totals] "
                      "only, not {keys}").format(keys=", ".join(sorted(unknown))))
    known = {step.id: step for step in steps()}
    given, totals = data.get("points", {}), data.get("totals", {})
    for step_id in [*given, *totals]:
        if step_id not in known:
            raise wrong(_("there is no step {name}; the steps are {ids}").format(
                name=step_id, ids=", ".join(known)))
    checks: dict[str, int] = {}
    result_totals: dict[str, int] = {}
    for step_id in dict.fromkeys([*given, *totals]):
        registered = {check.name: check.points for check in checks_for(step_id)}
        for name, value in given.get(step_id, {}).items():
            if name not in registered:
                raise wrong(_("step {step} has no check {name} (`grader --list` names "
                              "them)").format(step=step_id, name=name))
            _count(value, f"points.{step_id}.{name}", wrong)
            checks[f"{step_id}::{name}"] = value
        added = sum(checks.get(f"{step_id}::{name}", points)
                    for name, points in registered.items())
        if step_id in totals:
            _count(totals[step_id], f"totals.{step_id}", wrong)
            if totals[step_id] != added:
                raise wrong(_("step {step}'s checks add up to {added} points, but [totals] "
                              "says {total}").format(step=step_id, added=added,
                                                     total=totals[step_id]))
        result_totals[step_id] = added
    return Points(checks, result_totals)


def _count(value: object, key: str, wrong) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise wrong(_("{key} must be a whole number of points, 0 or more").format(key=key))


def apply(report: Report, points: Points) -> None:
    """Give the report's checks and steps the instructor's points (statuses stay as graded)."""
    for step in report.steps:
        step.max_points = points.totals.get(step.id, step.max_points)
        for check in step.checks:
            check.max_points = points.checks.get(f"{step.id}::{check.name}", check.max_points)
