"""`grader doctor`: what it finds on a good setup, and what it says when a part is missing."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import pytest
from conftest import ROOT

from grader import doctor, i18n
from grader.results import FAILED, PASSED

pytestmark = pytest.mark.timeout(60)


def run_doctor(*args: str, cwd: Path = ROOT, **env: str) -> subprocess.CompletedProcess:
    """`python -m grader.doctor ARGS` in a child process, as a student would run it."""
    return subprocess.run(
        [sys.executable, "-m", "grader.doctor", *args], cwd=cwd, capture_output=True,
        timeout=60, stdin=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT), "GRADER_LANG": "en", "NO_COLOR": "1",
             **env})


def marked(out: str, status: str) -> list[str]:
    """The lines of `out` that start with the mark of `status` (either set of marks)."""
    marks = {PASSED: ("✓", "+"), FAILED: ("✗", "x"), doctor.ADVICE: ("!",)}[status]
    return [line for line in out.splitlines() if line.startswith(tuple(m + " " for m in marks))]


@pytest.fixture
def russian(monkeypatch):
    monkeypatch.setenv("GRADER_LANG", "en")  # set_language writes these; restored afterwards
    monkeypatch.setenv("LANGUAGE", "en")
    i18n.set_language("ru")
    yield
    i18n.set_language("en")


def test_all_is_well_here(capsys, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    assert doctor.main([]) == 0
    out = capsys.readouterr().out
    assert not marked(out, FAILED), out
    for text in (f"Python {sys.version_info[0]}.{sys.version_info[1]}", sys.executable,
                 "the grader's packages: ", "127.0.0.1 works", str(ROOT / "lessons"),
                 "All set"):
        assert text in out, out
    assert "steps 01 02 03 04 05" in out
    assert all(len(line) <= doctor.WIDTH for line in out.splitlines()), out


def test_in_a_child_process() -> None:
    done = run_doctor()
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.decode().splitlines()
    assert len(marked(done.stdout.decode(), PASSED)) >= 5, lines
    assert lines[-1] == "All set: nothing to fix.", lines
    assert not done.stderr


def test_a_missing_package_is_named_with_the_pip_command(capsys, monkeypatch) -> None:
    real = metadata.version

    def version(name: str) -> str:
        if name == "psutil":
            raise metadata.PackageNotFoundError(name)
        return real(name)

    monkeypatch.setattr(metadata, "version", version)
    assert doctor.missing_dependencies() == ["psutil"]
    assert doctor.main([]) == 1
    out = capsys.readouterr().out
    (line,) = marked(out, FAILED)
    assert "psutil" in line and "pytest" not in line, out
    advice = out.splitlines()[out.splitlines().index(line) + 1]
    assert "-m pip install -e ." in advice, out
    assert "To fix" in out.splitlines()[-1]


def test_an_uninstalled_kit_is_a_problem_but_does_not_stop_grading(capsys, monkeypatch) -> None:
    def requires(name: str) -> list[str]:
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "requires", requires)
    assert doctor.missing_dependencies() == []  # nothing to compare with: grade anyway
    assert doctor.main([]) == 1
    assert "the kit is not installed" in capsys.readouterr().out


def test_an_uninstalled_kit_still_names_what_is_missing(monkeypatch) -> None:
    """Run from its folder by a Python it was never installed in: pyproject.toml says what
    the grader needs, so a missing psutil is named instead of a traceback."""
    def requires(name: str) -> list[str]:
        raise metadata.PackageNotFoundError(name)

    installed = doctor._installed
    monkeypatch.setattr(metadata, "requires", requires)
    monkeypatch.setattr(doctor, "_installed",
                        lambda name: None if name == "psutil" else installed(name))
    assert doctor.missing_dependencies() == ["psutil"]


def test_requirements_leave_out_extras_and_other_pythons() -> None:
    names = doctor.requirements()
    assert names is not None
    assert {"pytest", "pytest-timeout", "psutil"} <= set(names)
    assert not {"jupyter", "ruff", "babel", "nbformat"} & set(names)
    assert ("tomli" in names) == (sys.version_info < (3, 11))


@pytest.mark.parametrize(("marker", "holds"), [
    ('python_version >= "3.9"', True),
    ('python_version < "3.9"', False),
    ('python_version < "99"', True),
    ('python_full_version >= "3.9.0" and os_name != "no-such-os"', True),
    ('sys_platform == "no-such-os" or python_version >= "3"', True),
    ('extra == "test"', False),
    ('(python_version >= "3")', False),  # more than it reads: left out, not asked for
    ('no_such_name == "1"', False),
])
def test_markers(marker: str, holds: bool) -> None:
    assert doctor.marker_applies(marker) is holds


def test_needed_python_is_pyprojects() -> None:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    needed = re.search(r'requires-python = ">=(\d+)\.(\d+)"', text)
    assert needed and tuple(map(int, needed.groups())) == doctor.NEEDED_PYTHON


def test_an_old_python_must_be_replaced(monkeypatch) -> None:
    monkeypatch.setattr(doctor, "NEEDED_PYTHON", (99, 0))
    version = doctor.python_findings()[0]
    assert version.status == FAILED and "99.0" in version.text and "python.org" in version.fix


def test_no_virtual_environment_is_advice(monkeypatch) -> None:
    monkeypatch.setattr(sys, "base_prefix", sys.prefix)
    monkeypatch.setattr(doctor, "refuses_pip", lambda: True)
    environment = doctor.python_findings()[1]
    assert environment.status == doctor.ADVICE
    assert "externally managed" in environment.text and "-m venv .venv" in environment.fix
    assert "virtual environment" in doctor.install_advice()


def test_loopback_works_here_within_its_deadline() -> None:
    started = time.monotonic()
    (finding,) = doctor.loopback_findings()
    assert finding.status == PASSED, finding
    assert time.monotonic() - started < 3 * doctor.TIMEOUT


def test_loopback_failure_says_what_to_do(monkeypatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(doctor.socket, "create_connection", refuse)
    (finding,) = doctor.loopback_findings()
    assert finding.status == FAILED and "Connection refused" in finding.text
    assert "firewall" in finding.fix


def test_from_another_folder_it_finds_the_kits_own_lessons(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (finding,) = doctor.lessons_findings()
    assert finding.status == doctor.ADVICE and str(ROOT / "lessons") in finding.text
    assert doctor.main([]) == 0
    assert "the kit's own" in capsys.readouterr().out


def test_a_dir_without_steps_says_where_it_looked(tmp_path, capsys) -> None:
    assert doctor.main(["--dir", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "lessons folder: no step folders (01_echo" in out
    assert str(tmp_path) in out and "--dir" in out


def test_a_missing_step_file_is_named(tmp_path) -> None:
    (tmp_path / "01_echo").mkdir()
    (tmp_path / "01_echo" / "server.py").write_text("", encoding="utf-8")
    (finding,) = doctor.lessons_findings(tmp_path)
    assert finding.status == doctor.ADVICE
    assert "02_lines/server.py" in finding.text and "01_echo" not in finding.text


def test_a_console_without_cyrillic_gets_advice() -> None:
    (finding,) = doctor.console_findings(io.TextIOWrapper(io.BytesIO(), encoding="ascii"))
    assert finding.status == doctor.ADVICE and "ascii" in finding.text
    assert "PYTHONIOENCODING=utf-8" in finding.fix


def test_without_the_grader_command_it_suggests_python_m_grader(monkeypatch) -> None:
    monkeypatch.setattr(doctor.shutil, "which", lambda name: None)
    (finding,) = doctor.command_findings()
    assert finding.status == doctor.ADVICE and "-m grader" in finding.fix
    monkeypatch.setattr(doctor.shutil, "which", lambda name: "/elsewhere/bin/grader")
    (finding,) = doctor.command_findings()
    assert finding.status == doctor.ADVICE and "/elsewhere/bin/grader" in finding.text


def test_a_check_that_crashes_is_reported_not_raised(capsys, monkeypatch) -> None:
    def broken() -> list:
        raise RuntimeError("boom")

    monkeypatch.setattr(doctor, "command_findings", broken)
    assert doctor.main([]) == 1
    (line,) = marked(capsys.readouterr().out, FAILED)
    assert "RuntimeError: boom" in line


def test_russian_does_not_crash(russian, capsys, monkeypatch) -> None:
    monkeypatch.chdir(ROOT)
    assert doctor.main([]) == 0
    assert capsys.readouterr().out


@pytest.mark.parametrize("encoding", ["ascii", "cp866", "cp1251"])
def test_russian_on_any_console_in_a_child_process(encoding: str) -> None:
    done = run_doctor("--lang", "ru", PYTHONIOENCODING=encoding)
    assert done.returncode == 0 and not done.stderr, done.stderr
    assert done.stdout.decode(encoding)


def test_long_lines_wrap_but_commands_stay_whole() -> None:
    command = "`python -m pip install -e .`"
    finding = doctor.Finding(FAILED, "word " * 30, "see " * 14 + f"then run {command} there")
    lines = doctor.render(finding, doctor.Style(io.StringIO()))
    assert all(len(line) <= doctor.WIDTH for line in lines), lines
    assert any(command in line for line in lines), lines
    assert lines[0].startswith(("✗ ", "x ")) and lines[1].startswith("  w")
