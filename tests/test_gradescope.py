"""Gradescope: results.json in its schema, always written; the autograder .zip, run against a
fake /autograder tree."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from conftest import ROOT, STUBS, grader
from fixtures.bugs import BUGS
from jsonschema import Draft202012Validator

SCHEMA = Draft202012Validator(json.loads(
    (ROOT / "tests" / "schemas" / "gradescope-results.schema.json").read_text(encoding="utf-8")))


def results(path: Path) -> dict:
    data = json.loads(path.read_text(encoding="utf-8"))
    SCHEMA.validate(data)
    return data


def test_without_json_it_writes_results_json_here_and_says_so(tmp_path: Path) -> None:
    run = grader("--solutions", "01", "--format", "gradescope", cwd=tmp_path)
    assert run.code == 0
    assert results(tmp_path / "results.json")["score"] == 10
    assert run.stdout.rstrip().endswith("Gradescope's results.json: results.json")


def test_results_hold_a_test_per_check_and_add_up(tmp_path: Path) -> None:
    root = BUGS["echo_to_sender"].write(tmp_path)
    run = grader("--dir", str(root), "04", "--format", "gradescope", "--json",
                 str(tmp_path / "results.json"), "--lang", "ru")
    data = results(tmp_path / "results.json")
    assert run.code == 1
    assert data["score"] == sum(test["score"] for test in data["tests"]) == 39
    assert sum(test["max_score"] for test in data["tests"]) == 40
    failed = [test for test in data["tests"] if test["status"] == "failed"]
    assert [test["tags"][1] for test in failed] == ["no_echo_to_sender"]
    assert "подсказка:" in failed[0]["output"]  # the student's language


def test_a_step_that_cannot_run_is_one_failed_test_saying_why(tmp_path: Path) -> None:
    folder = tmp_path / "04_multi_user"
    folder.mkdir()
    (folder / "server.py").write_text("def serve(listener)\n", encoding="utf-8")
    grader("--dir", str(tmp_path), "04", "--format", "gradescope", "--json",
           str(tmp_path / "r.json"))
    (test,) = results(tmp_path / "r.json")["tests"]
    assert test["status"] == "failed" and test["max_score"] == 40 and "line 1" in test["output"]


def test_results_are_written_when_the_grader_itself_fails(tmp_path: Path) -> None:
    code = ("import sys, grader.cli as cli\n"
            "def broken(plan): raise RuntimeError('disk full')\n"
            "cli.grade = broken\n"
            "sys.exit(cli.main(sys.argv[1:]))\n")
    done = subprocess.run([sys.executable, "-c", code, "--solutions", "01", "--format",
                           "gradescope", "--json", str(tmp_path / "r.json")],
                          capture_output=True, text=True, cwd=ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "GRADER_LANG": "en"})
    assert done.returncode != 0
    data = results(tmp_path / "r.json")
    assert data["score"] == 0 and "disk full" in data["tests"][0]["output"]


def test_the_autograder_zip_grades_a_fake_autograder_tree(tmp_path: Path) -> None:
    run = grader("gradescope", "build", str(tmp_path / "autograder.zip"), "--step", "01")
    assert run.code == 0, run.stderr
    source = tmp_path / "source"
    with zipfile.ZipFile(tmp_path / "autograder.zip") as zipped:
        names = zipped.namelist()
        assert {"setup.sh", "run_autograder", "kit/pyproject.toml",
                "kit/grader/cli.py"} <= set(names)
        assert zipped.getinfo("run_autograder").external_attr >> 16 & 0o111  # executable
        zipped.extractall(source)
    (source / "run_autograder").chmod(0o755)
    fake = tmp_path / "autograder"
    for name, submission in (("good", ROOT / "solutions"), ("stub", STUBS)):
        shutil.rmtree(fake, ignore_errors=True)
        shutil.copytree(submission / "01_echo", fake / "submission" / "01_echo")
        subprocess.run([str(source / "run_autograder")], check=True, timeout=120,
                       env={**os.environ, "AUTOGRADER_ROOT": str(fake),
                            "AUTOGRADER_PYTHON": sys.executable, "PYTHONPATH": str(ROOT)},
                       stdout=subprocess.DEVNULL)
        data = results(fake / "results" / "results.json")
        assert data["score"] == (10 if name == "good" else 0)


def test_an_empty_submission_still_gets_results(tmp_path: Path) -> None:
    (tmp_path / "submission").mkdir()
    grader("gradescope", "run", "--root", str(tmp_path), "--step", "04")
    data = results(tmp_path / "results" / "results.json")
    assert data["score"] == 0 and data["tests"][0]["status"] == "failed"
    assert "no step folders" in data["tests"][0]["output"]


def test_the_golden_results_match_the_schema() -> None:
    """The golden file of test_render is what Gradescope is given: it must be valid too."""
    golden = json.loads((ROOT / "tests" / "golden" / "gradescope.json").read_text(encoding="utf-8"))
    SCHEMA.validate(golden)
