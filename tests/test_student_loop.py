"""The student's loop, each command as a subprocess: progress first, hints one at a time, a
reset that keeps the student's file, --list, --version, doctor; and one whole session."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import ROOT, STUBS, grader

from grader.manifest import step


@pytest.fixture
def lessons(tmp_path: Path) -> Path:
    """A student's lessons folder, fresh from the stubs (never the kit's own lessons/)."""
    folder = tmp_path / "lessons"
    shutil.copytree(STUBS, folder)
    return folder


def loop(*args: str, cwd: Path, cache: Path) -> tuple[int, str]:
    run = grader(*args, cwd=cwd, GRADER_CACHE=str(cache))
    return run.code, run.stdout + run.stderr


def test_a_whole_session(lessons: Path, tmp_path: Path) -> None:
    cache, here = tmp_path / "cache", lessons.parent
    code, out = loop(cwd=here, cache=cache)  # start: the progress, and what to do next
    assert code == 1 and "01 echo server" in out and "not started" in out
    assert "Next: 01 echo server" in out and "02 line framing" not in out.split("Next:")[1]
    code, out = loop("hint", "01", cwd=here, cache=cache)
    assert code == 0 and "1 of 4" in out and step("01").hints[0] in out
    assert step("01").hints[1] not in out
    code, out = loop("hint", "01", cwd=here, cache=cache)  # one more each time
    assert "2 of 4" in out and step("01").hints[1] in out
    shutil.copy(ROOT / "solutions" / "01_echo" / "server.py", lessons / "01_echo" / "server.py")
    code, out = loop("01", cwd=here, cache=cache)
    assert code == 0 and "10/10" in out
    assert f"Next: 02 line framing, in {Path('lessons', '02_lines', 'server.py')}." in out
    code, out = loop(cwd=here, cache=cache)
    assert "done" in out and "Next: 02 line framing" in out
    code, out = loop("reset", "01", "--yes", cwd=here, cache=cache)
    assert code == 0
    assert (lessons / "01_echo" / "server.py").read_bytes() == (
        STUBS / "01_echo" / "server.py").read_bytes()
    (backup,) = (lessons / "01_echo").glob("server.py.*.bak")
    assert backup.read_bytes() == (ROOT / "solutions" / "01_echo" / "server.py").read_bytes()
    assert backup.name in out
    code, out = loop("01", cwd=here, cache=cache)
    assert code == 1 and "not started" in out


def test_hints_all_and_their_end(lessons: Path, tmp_path: Path) -> None:
    code, out = loop("hint", "04", "--all", cwd=lessons.parent, cache=tmp_path)
    assert code == 0 and all(hint in out for hint in step("04").hints)
    assert "solutions/04_multi_user/" in out
    code, out = loop("hint", "99", cwd=lessons.parent, cache=tmp_path)
    assert code == 2 and "there is no step 99" in out


def test_reset_asks_first_and_changes_nothing_unasked(lessons: Path, tmp_path: Path) -> None:
    mine = lessons / "02_lines" / "server.py"
    mine.write_text("# my work\n", encoding="utf-8")
    code, out = loop("reset", "02", cwd=lessons.parent, cache=tmp_path)  # stdin is not a tty
    assert code == 2 and "--yes" in out
    assert mine.read_text(encoding="utf-8") == "# my work\n"
    code, out = loop("reset", "02", "--dir", str(lessons), "--yes", cwd=tmp_path, cache=tmp_path)
    assert code == 0 and mine.read_bytes() == (STUBS / "02_lines" / "server.py").read_bytes()
    code, out = loop("reset", "02", "--dir", str(lessons), "--yes", cwd=tmp_path, cache=tmp_path)
    assert code == 0 and "nothing to do" in out
    assert len(list(mine.parent.glob("server.py.*.bak"))) == 1


def test_list_version_and_names_of_steps(lessons: Path, tmp_path: Path) -> None:
    code, out = loop("--list", cwd=tmp_path, cache=tmp_path)
    assert code == 0 and "04 multi-user chat: 40 points" in out
    assert "relays a message to every other client" in out and "not scored" in out
    code, out = loop("--version", cwd=tmp_path, cache=tmp_path)
    assert code == 0 and out.startswith("grader (socket-chat-kit) ")
    for name in ("01_echo", "lessons/01_echo", "1"):
        code, out = loop(name, "--lang", "EN", cwd=lessons.parent, cache=tmp_path)
        assert code == 1 and "01 echo server" in out and "02 line" not in out, name


def test_doctor_through_the_grader(tmp_path: Path) -> None:
    code, out = loop("doctor", cwd=ROOT, cache=tmp_path)
    assert code == 0 and "127.0.0.1" in out


def test_a_long_run_of_skipped_checks_is_one_line(tmp_path: Path) -> None:
    folder = tmp_path / "04_multi_user"
    folder.mkdir()
    source = (ROOT / "solutions" / "04_multi_user" / "server.py").read_text(encoding="utf-8")
    (folder / "server.py").write_text(source.replace('PROMPT = "what\'s your name:"',
                                                     'PROMPT = "Name?"'), encoding="utf-8")
    code, out = loop("04", "--dir", str(tmp_path), cwd=tmp_path, cache=tmp_path)
    assert 'skipped: needs “asks a new client for its name” (' in out, out
    assert max(len(line) for line in out.splitlines()) <= 80
