"""A course with its own wire strings is graded on its own terms (--protocol FILE.toml)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import ROOT, grader

OURS = {  # the solution's strings, and a course's own
    'PROMPT = "what\'s your name:"': 'PROMPT = "Name?"',
    'LEAVE = "leave"': 'LEAVE = "/quit"',
    'JOINED = "{name} is amongst you now"': 'JOINED = "*** {name} joined"',
    'LEFT = "{name} has abandoned y\'all"': 'LEFT = "*** {name} left"',
    'MESSAGE = "{name}: {text}"': 'MESSAGE = "[{name}] {text}"',
}
PROFILE = '''prompt = "Name?"
leave = "/quit"
joined = "*** {name} joined"
left = "*** {name} left"
message = "[{name}] {text}"
'''


def course_server(tmp_path: Path) -> Path:
    text = (ROOT / "solutions" / "04_multi_user" / "server.py").read_text(encoding="utf-8")
    for old, new in OURS.items():
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    folder = tmp_path / "04_multi_user"
    folder.mkdir()
    (folder / "server.py").write_text(text, encoding="utf-8")
    (tmp_path / "course.toml").write_text(PROFILE, encoding="utf-8")
    return tmp_path


def test_a_server_with_its_courses_strings_scores_full_marks_on_them(tmp_path: Path) -> None:
    root = course_server(tmp_path)
    run = grader("--dir", str(root), "04", "--protocol", str(root / "course.toml"),
                 "--json", "-")
    assert run.code == 0, run.failures()


def test_without_the_profile_the_same_server_fails_on_the_kits_strings(tmp_path: Path) -> None:
    root = course_server(tmp_path)
    done = subprocess.run(  # two checks, as plain pytest tests: each waits out its deadline
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--pyargs", "grader.checks",
         "--student", str(root), "--step", "04", "-k", "asks_for_name or tells_others_who_joined",
         "-q"], cwd=tmp_path, capture_output=True, text=True, timeout=120,
        stdin=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(ROOT), "GRADER_LANG": "en"})
    assert "1 failed, 1 skipped" in done.stdout, done.stdout[-1500:]
    assert "\"what's your name:\"" in done.stdout and "'Name?'" in done.stdout


def test_a_profile_that_is_not_one_is_said_in_a_line(tmp_path: Path) -> None:
    for text, says in (('joined = "someone joined"\n', "joined must hold {name}"),
                       ('greeting = "hi"\n', "unknown keys greeting"),
                       ("prompt = \n", "course.toml")):
        (tmp_path / "course.toml").write_text(text, encoding="utf-8")
        run = grader("--solutions", "04", "--protocol", str(tmp_path / "course.toml"))
        assert run.code == 2 and says in run.stderr, run.stderr
