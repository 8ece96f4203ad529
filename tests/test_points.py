"""An instructor's points in a TOML file: applied to every check and step, checked first."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import grader


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "class.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_points_and_totals_change_the_score_and_nothing_else(tmp_path: Path) -> None:
    points = write(tmp_path, "[points.01]\nechoes_a_line = 5\n[totals]\n01 = 13\n")
    run = grader("--solutions", "01", "02", "--points", str(points), "--json", "-")
    assert run.code == 0, run.stderr
    steps = {step["id"]: step for step in run.data["steps"]}
    assert steps["01"]["max_points"] == steps["01"]["points"] == 13
    assert steps["02"]["max_points"] == 15  # a step not named keeps the kit's points
    check = next(c for c in run.data["checks"] if c["step"] == "01" and c["name"] ==
                 "echoes_a_line")
    assert check["max_points"] == check["points"] == 5
    assert run.data["score"] == 28


@pytest.mark.parametrize("text, says", [
    ("[points.01]\nechoes_a_lin = 5\n", "step 01 has no check echoes_a_lin"),
    ("[points.01]\nechoes_a_line = 5\n[totals]\n01 = 10\n",
     "step 01's checks add up to 13 points, but [totals] says 10"),
    ("[points.01]\nechoes_a_line = -1\n", "points.01.echoes_a_line must be a whole number"),
    ("[points.07]\nx = 1\n", "there is no step 07"),
    ("[scores]\n", "and [totals] only"),
    ("[points.01\n", "class.toml:"),
])
def test_a_file_that_does_not_add_up_is_an_error_before_grading(tmp_path: Path, text: str,
                                                                 says: str) -> None:
    run = grader("--solutions", "01", "--points", str(write(tmp_path, text)))
    assert run.code == 2 and says in run.stderr, run.stderr
    assert "Grading" not in run.stdout
