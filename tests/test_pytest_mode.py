"""The checks are ordinary pytest tests: `python -m pytest --pyargs grader.checks --student X`."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from conftest import ROOT, STUBS

from grader.checks import checks_for


def pytest_run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--pyargs", "grader.checks",
         *args], cwd=cwd, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT), "GRADER_LANG": "en"})


def test_solutions_pass_as_plain_tests_with_junit(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    done = pytest_run("--student", str(ROOT / "solutions"), "--step", "01", "--step", "03",
                      f"--junitxml={junit}", cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-2000:]
    cases = ET.parse(junit).getroot().iter("testcase")
    names = sorted(case.get("name") for case in cases)
    expected = sorted(f"{c.name}[{c.step}]" for step in ("01", "03") for c in checks_for(step))
    assert names == expected


def test_a_failure_reads_like_the_grader_and_dependents_are_skipped(tmp_path: Path) -> None:
    done = pytest_run("--student", str(ROOT / "tests/fixtures/bounded/never_answers"),
                      "--step", "04", "-q", cwd=tmp_path)
    assert done.returncode == 1
    assert "nothing within 1 s" in done.stdout and "hint:" in done.stdout
    assert "skipped" in done.stdout


def test_k_selects_checks_and_x_stops_at_the_first_failure(tmp_path: Path) -> None:
    done = pytest_run("--student", str(ROOT / "solutions"), "--step", "04", "-k",
                      "relays_to_others", "-q", cwd=tmp_path)
    assert done.returncode == 0 and "1 passed" in done.stdout, done.stdout[-2000:]
    done = pytest_run("--student", str(STUBS), "--step", "01", "-x", "-q",
                      cwd=tmp_path)
    assert done.returncode == 1 and "1 failed" in done.stdout, done.stdout[-2000:]


def test_the_students_file_is_never_collected(tmp_path: Path) -> None:
    lesson = tmp_path / "01_echo"
    lesson.mkdir()
    source = (ROOT / "solutions/01_echo/server.py").read_text(encoding="utf-8")
    (lesson / "server.py").write_text(source + "\n\ndef test_helper():\n    raise SystemExit(3)\n",
                                      encoding="utf-8")
    done = pytest_run("--student", str(lesson), "-q", cwd=tmp_path)
    assert done.returncode == 0, done.stdout[-2000:]
    assert f"{len(checks_for('01'))} passed" in done.stdout


def test_an_instructors_folder_of_extra_checks(tmp_path: Path) -> None:
    extra = tmp_path / "course_checks"
    extra.mkdir()
    (extra / "more.py").write_text('''
from grader.checks.registry import check


@check("01", points=1, after="echoes_a_line")
def echoes_a_blank_line(server):
    """sends an empty line back too"""
    ann = server.connect("ann")
    ann.send("")
    ann.expect("")
''', encoding="utf-8")
    done = pytest_run(str(extra), "--student", str(ROOT / "solutions"), "--step", "01", "-q",
                      "-k", "blank", cwd=tmp_path)
    assert done.returncode == 0 and "1 passed" in done.stdout, done.stdout[-2000:]
