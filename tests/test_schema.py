"""The JSON report is what grader/schema/report.schema.json says, and adds up.

The schema holds the shape (keys, types, statuses, per-object rules); what it cannot say, that
numbers in different places agree, is checked here by `assert_consistent`. Every report a test
reads through `Run.data` is validated against the schema too (tests/conftest.py).
"""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import pytest
from conftest import REPORT, ROOT, SCHEMA, STUBS, Run, grader
from fixtures.bugs import BUGS
from jsonschema import Draft202012Validator, ValidationError
from test_render import sample

from grader.checks import checks_for
from grader.render import json_out
from grader.results import SCHEMA_VERSION, CheckStatus, StepStatus

GOLDEN = Path(__file__).with_name("golden") / "report.json"


def golden() -> dict:
    return json.loads(GOLDEN.read_text(encoding="utf-8"))


def assert_consistent(data: dict, registered: bool = False) -> None:
    """What JSON Schema cannot express: the numbers and verdicts of a report agree.

    registered: the report comes from a real run, so a graded step lists exactly its
    registered checks (a hand-made sample may list only some)."""
    steps, checks = data["steps"], data["checks"]
    ids = [step["id"] for step in steps]
    assert len(ids) == len(set(ids)), f"a step is listed twice: {ids}"
    assert {check["step"] for check in checks} <= set(ids), "a check of a step not listed"
    assert [c["step"] for c in checks] == sorted((c["step"] for c in checks), key=ids.index), \
        "checks are not listed step by step, in the order of the steps"
    keys = [(check["step"], check["name"]) for check in checks]
    assert len(keys) == len(set(keys)), "a check is listed twice"

    core = [step for step in steps if not step["bonus"]]
    bonus = [step for step in steps if step["bonus"]]
    assert data["score"] == sum(step["points"] for step in core)
    assert data["max_score"] == sum(step["max_points"] for step in core)
    assert data["bonus_score"] == sum(step["points"] for step in bonus)
    assert data["bonus_max_score"] == sum(step["max_points"] for step in bonus)
    for check in checks:
        expected = check["max_points"] if check["status"] == "passed" else 0
        assert check["points"] == expected, check
    for step in steps:
        mine = [check for check in checks if check["step"] == step["id"]]
        if step["status"] != "graded":
            assert step["points"] == 0, step
            assert mine == [], f"step {step['id']} is {step['status']} but lists checks"
        else:
            assert step["points"] == sum(check["points"] for check in mine), step
        assert step["points"] <= step["max_points"], step
        if registered and step["status"] == "graded":
            assert [c["name"] for c in mine] == [c.name for c in checks_for(step["id"])]
            assert step["max_points"] == sum(check["max_points"] for check in mine), step

    required = core or steps  # a bonus step decides only when it ran alone
    every_check_passed = bool(steps) and all(
        step["status"] == "graded" and any(check["step"] == step["id"] for check in checks)
        for step in required) and all(check["status"] == "passed" for check in checks
                                      if check["step"] in {step["id"] for step in required})
    assert data["passed"] == every_check_passed, "passed says otherwise than the verdicts"


def assert_real_report(run: Run) -> dict:
    """A report the grader wrote on stdout: valid, consistent, and its exit code agrees."""
    data = json.loads(run.stdout)
    REPORT.validate(data)
    assert_consistent(data, registered=True)
    assert run.code == (0 if data["passed"] else 1), (run.code, data["passed"])
    return data


# The schema itself


def test_schema_is_valid_draft_2020_12() -> None:
    Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert SCHEMA["$id"] and SCHEMA["title"] and SCHEMA["description"]


def test_schema_version_is_the_graders() -> None:
    assert SCHEMA["properties"]["schema_version"]["const"] == SCHEMA_VERSION
    assert SCHEMA["$id"].endswith(f":{SCHEMA_VERSION}")


def test_schema_ships_with_the_package() -> None:
    shipped = resources.files("grader") / "schema" / "report.schema.json"
    assert json.loads(shipped.read_text(encoding="utf-8")) == SCHEMA


def test_every_property_is_described() -> None:
    """Instructors read the schema: each key says what it means."""
    undescribed = []

    def walk(schema: object, where: str) -> None:
        if isinstance(schema, dict):
            for name, sub in schema.get("properties", {}).items():
                target = sub
                if "$ref" in sub:
                    target = SCHEMA["$defs"][sub["$ref"].removeprefix("#/$defs/")]
                if not target.get("description"):
                    undescribed.append(f"{where}/{name}")
            for key, sub in schema.items():
                if key != "allOf":  # conditions, not declarations
                    walk(sub, f"{where}/{key}")
        elif isinstance(schema, list):
            for n, sub in enumerate(schema):
                walk(sub, f"{where}/{n}")

    walk(SCHEMA, "#")
    assert undescribed == []


def test_statuses_are_the_result_models() -> None:
    defs = SCHEMA["$defs"]
    assert defs["step"]["properties"]["status"]["enum"] == [s.value for s in StepStatus]
    assert defs["check"]["properties"]["status"]["enum"] == [s.value for s in CheckStatus]


def test_required_keys_are_what_json_out_makes() -> None:
    data = json_out.to_data(sample())
    defs = SCHEMA["$defs"]
    assert SCHEMA["required"] == list(data)
    assert defs["step"]["required"] == list(data["steps"][0])
    assert defs["check"]["required"] == list(data["checks"][0])
    detail = data["checks"][1]["details"][0]
    assert defs["check"]["properties"]["details"]["items"]["required"] == list(detail)
    for schema in (SCHEMA, defs["step"], defs["check"]):
        assert list(schema["properties"]) == schema["required"]


# The golden report, and broken copies of it


def test_golden_report_is_valid_and_consistent() -> None:
    data = golden()
    REPORT.validate(data)
    assert_consistent(data)
    assert data == json_out.to_data(sample())


def _set(path: str, value: object) -> Callable[[dict], None]:
    """A change to one key: 'steps.1.status' sets data['steps'][1]['status']."""
    *parents, last = path.split(".")

    def change(data: dict) -> None:
        for part in parents:
            data = data[int(part)] if part.isdigit() else data[part]
        data[int(last) if last.isdigit() else last] = value
    return change


def _delete(path: str) -> Callable[[dict], None]:
    *parents, last = path.split(".")

    def change(data: dict) -> None:
        for part in parents:
            data = data[int(part)] if part.isdigit() else data[part]
        del data[last]
    return change


BROKEN = {
    "unknown step status": _set("steps.1.status", "skipped"),
    "unknown check status": _set("checks.0.status", "ok"),
    "status in capitals": _set("checks.0.status", "PASSED"),
    "missing top-level key": _delete("max_score"),
    "missing step key": _delete("steps.0.problem"),
    "missing check key": _delete("checks.1.hint"),
    "extra top-level key": _set("grade", "A"),
    "extra step key": _set("steps.0.score", 1),
    "extra check key": _set("checks.0.step_title", "multi-user chat"),
    "extra detail key": _set("checks.1.details.0.kind", "expected"),
    "detail as a pair": _set("checks.1.details.0", ["alice expected:", "'bob: yo'"]),
    "old schema version": _set("schema_version", 1),
    "score as text": _set("score", "1"),
    "fractional points": _set("checks.0.points", 0.5),
    "negative max points": _set("checks.1.max_points", -2),
    "points on a failed check": _set("checks.1.points", 2),
    "passed flag disagrees with status": _set("checks.1.passed", True),
    "not_started flag disagrees with status": _set("steps.1.not_started", False),
    "points for a step not started": _set("steps.1.points", 3),
    "a graded step with a problem": _set("steps.0.problem", "something"),
    "a step not graded that does not say why": _set("steps.1.problem", ""),
    "a failure that does not say why": _set("checks.1.message", ""),
    "passed with a check failed": _set("passed", True),
    "step id not two digits": _set("steps.0.id", "4"),
    "no steps": lambda data: data.update(steps=[], checks=[]),
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_copy_is_invalid(name: str) -> None:
    data = golden()
    BROKEN[name](data)
    with pytest.raises(ValidationError):
        REPORT.validate(data)


INCONSISTENT = {
    "score is not the sum": _set("score", 2),
    "max_score is not the sum": _set("max_score", 50),
    "step points are not its checks'": _set("steps.0.points", 3),
    "passed check without its points": _set("checks.0.points", 0),
    "checks of a step not graded": _set("steps.0.status", "grader_error"),
    "check of a step not listed": _set("checks.2.step", "03"),
}


@pytest.mark.parametrize("name", sorted(INCONSISTENT))
def test_inconsistent_copy_is_caught(name: str) -> None:
    """Valid by the schema, but the numbers disagree: assert_consistent is not vacuous."""
    data = golden()
    INCONSISTENT[name](data)
    if name == "checks of a step not graded":  # keep it valid by the schema
        data["steps"][0].update(points=0, problem="the grader failed")
        data["score"] = 0
    REPORT.validate(data)
    with pytest.raises(AssertionError):
        assert_consistent(data)


# Reports of real runs


def test_solutions_report_is_valid(solutions_run: Run) -> None:
    data = assert_real_report(solutions_run)
    assert {step["status"] for step in data["steps"]} == {"graded"}


def test_untouched_lessons_report_is_valid(stubs_run: Run) -> None:
    data = assert_real_report(stubs_run)
    assert {step["status"] for step in data["steps"]} == {"not_started"}
    assert data["checks"] == []


@pytest.fixture(scope="module")
def mixed_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """One run with every kind of step: 01 solved, 02 broken, 03 and 05 untouched, 04 buggy
    (so its checks pass, fail and are skipped)."""
    folder = tmp_path_factory.mktemp("mixed") / "lessons"
    shutil.copytree(STUBS, folder)
    shutil.copy(ROOT / "solutions" / "01_echo" / "server.py", folder / "01_echo" / "server.py")
    broken = folder / "02_lines" / "server.py"
    broken.write_text(broken.read_text(encoding="utf-8") + "\ndef oops(:\n", encoding="utf-8")
    BUGS["no_framing"].write(folder)
    return grader("--dir", str(folder), "--json", "-")


def test_report_with_every_status_is_valid(mixed_run: Run) -> None:
    data = assert_real_report(mixed_run)
    steps = {step["id"]: step["status"] for step in data["steps"]}
    assert steps == {"01": "graded", "02": "unusable", "03": "not_started", "04": "graded",
                     "05": "not_started", "06": "not_started"}
    assert {check["status"] for check in data["checks"]} == {"passed", "failed", "skipped"}


def test_report_written_to_a_file_is_valid(tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    run = grader("--solutions", "01", "--json", str(out))
    data = json.loads(out.read_text(encoding="utf-8"))
    REPORT.validate(data)
    assert_consistent(data, registered=True)
    assert run.code == (0 if data["passed"] else 1)


def test_changing_a_real_report_breaks_it(stubs_run: Run) -> None:
    """The schema is no rubber stamp on real output either."""
    data = copy.deepcopy(stubs_run.data)
    data["steps"][0]["status"] = "started"
    with pytest.raises(ValidationError):
        REPORT.validate(data)
