"""Buggy submissions lose exactly the checks named for their bug, and keep every other one."""

from __future__ import annotations

import pytest
from conftest import grader
from fixtures.bugs import BUGS, Bug

from grader.manifest import steps

STEP_OF = {step.folder: step.id for step in steps()}


@pytest.mark.parametrize("name", sorted(BUGS))
def test_bug_loses_its_checks(name: str, tmp_path) -> None:
    bug: Bug = BUGS[name]
    run = grader("--dir", str(bug.write(tmp_path)), STEP_OF[bug.step_folder], "--json", "-")
    statuses = run.statuses()
    lost = {check for check, status in statuses.items() if status != "passed"}
    if not bug.loses:  # a correct variant: full marks
        assert run.code == 0 and lost == set(), [(c["name"], c["message"], c["details"])
                                                 for c in run.data["checks"] if c["name"] in lost]
        return
    assert run.code == 1
    assert bug.loses <= lost, f"should have lost {sorted(bug.loses - lost)}"
    unrelated = lost - bug.loses
    assert unrelated == set(), ("lost checks unrelated to the bug", [  # what they said, to tell
        (c["name"], c["message"], c["details"]) for c in run.data["checks"]  # a flake from a bug
        if c["name"] in unrelated])
    # a failure always says why
    for check in run.data["checks"]:
        if check["status"] != "passed":
            assert check["message"], check
    hints = [c["hint"] for c in run.data["checks"] if c["status"] == "failed"]
    assert bug.says and any(bug.says in hint for hint in hints), (
        f"no hint says {bug.says!r}: {hints}")
