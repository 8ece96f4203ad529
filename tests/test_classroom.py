"""GitHub Classroom: the workflow (a grader step per lesson, worth its points) and the template
repository students get."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from conftest import grader

from grader.manifest import steps


def test_the_workflow_has_a_step_per_lesson_worth_its_points(tmp_path: Path) -> None:
    run = grader("classroom", "init", "--repo", str(tmp_path))
    assert run.code == 0, run.stderr
    text = (tmp_path / ".github" / "workflows" / "classroom.yml").read_text(encoding="utf-8")
    assert text.count("classroom-resources/autograding-command-grader@v1") == len(steps())
    commands = re.findall(r"command: grader (\d\d)\n", text)
    scores = [int(n) for n in re.findall(r"max-score: (\d+)\n", text)]
    assert commands == [step.id for step in steps()]
    assert scores == [step.points for step in steps()]
    assert sum(step.points for step in steps() if not step.bonus) == 100
    runners = re.search(r"runners: (\S+)\n", text).group(1).split(",")
    assert runners == [f"step-{step.id}" for step in steps()]
    for runner in runners:
        assert f'{runner.upper()}_RESULTS: "${{{{steps.{runner}.outputs.result}}}}"' in text
    assert "100 points" in run.stdout


def test_the_template_repository_has_lessons_and_no_solutions(tmp_path: Path) -> None:
    out = tmp_path / "template"
    assert grader("dist", str(out)).code == 0
    assert (out / "lessons" / "04_multi_user" / "server.py").is_file()
    assert (out / ".github" / "workflows" / "classroom.yml").is_file()
    assert not (out / "solutions").exists() and not (out / "tests").exists()
    # What a student's push runs there: the template's own grader on its own lessons.
    done = subprocess.run([sys.executable, "-m", "grader", "01"], cwd=out, capture_output=True,
                          text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(out), "GRADER_LANG": "en"})
    assert done.returncode == 1 and "0/10" in done.stdout
    assert grader("dist", str(out)).code == 2  # never over an existing folder
