"""Honest inputs: the folder graded is the one named, relative or not; files read as Python
reads them; a mistake in the command line is one plain line, before anything runs."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from conftest import ROOT, STUBS, grader, landlock

from grader.review import Unusable, read_source


def solution_copy(tmp_path: Path, step_folder: str = "01_echo") -> Path:
    shutil.copytree(ROOT / "solutions" / step_folder, tmp_path / "work" / step_folder)
    return tmp_path / "work"


def solution_with(tmp_path: Path, step_folder: str, code: str, before: str) -> Path:
    """A copy of the solution with `code` (module-level lines) put before its first `before`."""
    work = solution_copy(tmp_path, step_folder)
    source = work / step_folder / "server.py"
    text = source.read_text(encoding="utf-8")
    assert before in text
    source.write_text(text.replace(before, code + "\n\n" + before, 1), encoding="utf-8")
    return work


def test_relative_dir_and_the_first_line_names_it(tmp_path: Path) -> None:
    solution_copy(tmp_path)
    run = grader("--dir", "work", "01", cwd=tmp_path)
    assert run.code == 0, run.stdout + run.stderr
    first = run.stdout.splitlines()[0]
    assert first.startswith("Grading ") and "work" in first


def test_repository_checkout_with_lessons_inside(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(ROOT / "solutions" / "01_echo", repo / "lessons" / "01_echo")
    run = grader("--dir", str(repo), "01", "--json", "-")
    assert run.data["score"] == 10
    assert run.data["folder"].endswith("lessons")


def test_a_folder_without_steps_is_an_error_naming_where_it_looked(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    run = grader("--dir", str(tmp_path / "empty"))
    assert run.code == 2
    assert str(tmp_path / "empty") in run.stderr and "lessons" in run.stderr
    assert run.stdout == "" and "Traceback" not in run.stderr


def test_file_saved_with_a_bom_is_read_as_python_reads_it(tmp_path: Path) -> None:
    work = solution_copy(tmp_path)
    server = work / "01_echo" / "server.py"
    server.write_bytes(b"\xef\xbb\xbf" + server.read_bytes())
    assert grader("--dir", str(work), "01").code == 0


def test_file_with_a_coding_line_is_read_as_python_reads_it(tmp_path: Path) -> None:
    work = solution_copy(tmp_path)
    server = work / "01_echo" / "server.py"
    text = "# -*- coding: cp1251 -*-\n# привет\n" + server.read_text(encoding="utf-8")
    server.write_bytes(text.encode("cp1251"))
    assert grader("--dir", str(work), "01").code == 0


def test_rerun_advice_keeps_the_folder(tmp_path: Path) -> None:
    run = grader("--dir", str(STUBS), "02")
    assert f"grader 02 --dir {STUBS}" in run.stdout


def test_json_into_a_missing_folder_is_one_line_before_grading(tmp_path: Path) -> None:
    run = grader("--solutions", "01", "--json", str(tmp_path / "nowhere" / "r.json"))
    assert run.code == 2
    assert run.stderr.count("\n") == 1 and "nowhere" in run.stderr
    assert run.seconds < 5


def test_ctrl_c_stops_at_once_and_leaves_nothing_running() -> None:
    if sys.platform == "win32":
        return  # a console's Ctrl-C cannot be sent to a child here; the job object holds
    process = subprocess.Popen([sys.executable, "-m", "grader", "--solutions"], cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 10
    found: list[psutil.Process] = []
    while time.monotonic() < deadline and not any(
            "host.py" in " ".join(p.cmdline()) for p in found):
        time.sleep(0.05)
        try:
            found = psutil.Process(process.pid).children(recursive=True)
        except psutil.Error:
            break
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=20)
    assert process.returncode == 130, (out.decode()[-300:], err.decode()[-2000:])
    assert err.decode().count("\n") == 1 and "Ctrl-C" in err.decode()
    gone, alive = psutil.wait_procs(found, timeout=3)
    assert not [p for p in alive if p.status() != psutil.STATUS_ZOMBIE]


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="links and pipes as POSIX makes them")
@pytest.mark.parametrize("kind", ["link to /dev/zero", "link to a root-only file", "pipe",
                                  "folder", "2 MB file"])
def test_a_server_py_that_is_no_plain_file_is_refused_at_once(kind: str, tmp_path: Path) -> None:
    """Read by the grader itself: never followed out of the submission, never read without
    bound, never waited on (a submission's repository may hold any of these)."""
    target = tmp_path / "01_echo" / "server.py"
    target.parent.mkdir()
    if kind.startswith("link"):
        target.symlink_to("/dev/zero" if "zero" in kind else "/etc/shadow")
    elif kind == "pipe":
        os.mkfifo(target)
    elif kind == "folder":
        target.mkdir()
    else:
        target.write_text("#" * 2_000_000)
    started = time.monotonic()
    with pytest.raises(Unusable) as refused:
        read_source(target)
    assert time.monotonic() - started < 2
    said = str(refused.value)
    assert ("link" in said) if kind.startswith("link") else ("1 MB" in said or "missing" in said)
    assert "root:" not in said


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="links as POSIX makes them")
@pytest.mark.parametrize("linked", ["04_multi_user", "lessons"])
def test_a_step_folder_that_links_to_another_is_refused(linked: str, tmp_path: Path) -> None:
    """A repository may link a classmate's step folder (or lessons/): the file inside is a
    plain file, and would be graded as the student's own (red team: 40/40 with no code)."""
    classmate = tmp_path / "classmate" / "lessons"
    shutil.copytree(ROOT / "solutions" / "04_multi_user", classmate / "04_multi_user")
    student = tmp_path / "student"
    if linked == "lessons":
        student.mkdir()
        (student / "lessons").symlink_to(classmate)
    else:
        (student / "lessons").mkdir(parents=True)
        (student / "lessons" / "04_multi_user").symlink_to(classmate / "04_multi_user")
    with pytest.raises(Unusable) as refused:
        read_source(student / "lessons" / "04_multi_user" / "server.py")
    assert f"{linked} is a link to another folder" in str(refused.value)


def test_a_server_that_keeps_a_log_beside_itself_gets_full_marks(tmp_path: Path) -> None:
    """Opened for appending when the module is imported: each worker's hosts run as a user of
    their own (as root), and the log the first one made was not the others' to open (0/40)."""
    folder = solution_with(tmp_path, "04_multi_user", (
        "import os as _os\n"
        "LOG = _os.path.join(_os.path.dirname(_os.path.abspath(__file__)), 'chat.log')\n"
        "with open(LOG, 'a', encoding='utf-8') as _log:\n"
        "    _log.write('started\\n')\n"), before="class LineReader:")
    (folder / "04_multi_user").chmod(0o777)  # a host running as another user writes there
    run = grader("--dir", str(folder), "04", "--json", "-")
    assert run.data["score"] == 40, [c["message"] for c in run.data["checks"]] + [
        s.get("problem") for s in run.data["steps"]]
    assert (folder / "04_multi_user" / "chat.log").read_text().count("started") >= 2


def test_a_server_that_uses_temporary_files_gets_full_marks(tmp_path: Path) -> None:
    """tempfile and multiprocessing's Manager need a temp folder the host may write to and
    read back: a private one ($TMPDIR), which the grader removes; /tmp itself is shared."""
    folder = solution_with(tmp_path, "01_echo", (
        "import tempfile as _tempfile\n"
        "with _tempfile.TemporaryFile() as _scratch:\n"
        "    _scratch.write(b'x')\n"
        "    _scratch.seek(0)\n"
        "    assert _scratch.read() == b'x'\n"), before="def handle_client(")
    run = grader("--dir", str(folder), "01", "--json", "-")
    assert run.data["score"] == 10, [s.get("problem") for s in run.data["steps"]]


@pytest.mark.skipif(not landlock(), reason="hosts are confined to their folder with Landlock")
def test_a_file_read_outside_the_folder_is_refused_and_said_why(tmp_path: Path) -> None:
    folder = solution_with(tmp_path, "01_echo", (
        "import os as _os\n"
        "CONFIG = open(_os.path.join(_os.path.dirname(_os.path.abspath(__file__)), '..',"
        " 'config.txt')).read()\n"), before="def handle_client(")
    (folder / "config.txt").write_text("port = 8080\n")
    run = grader("--dir", str(folder), "01", "--json", "-")
    (step,) = run.data["steps"]
    assert run.data["score"] == 0 and "PermissionError" in step["problem"]
    assert "only beside server.py" in step["problem"]


def test_a_signal_handler_set_at_import_is_fine(tmp_path: Path) -> None:
    """`python server.py` takes signal.signal() at import: so does the grader, which imports
    the file on a thread of its host."""
    work = solution_copy(tmp_path)
    server = work / "01_echo" / "server.py"
    server.write_text("import signal\nsignal.signal(signal.SIGINT, signal.default_int_handler)\n"
                      + server.read_text(encoding="utf-8"), encoding="utf-8")
    run = grader("--dir", str(work), "01")
    assert run.code == 0, run.stdout


@pytest.mark.parametrize("where", ["import", "serve"])
def test_a_server_that_closes_every_file_it_did_not_open_works_as_on_its_own(
        where: str, tmp_path: Path) -> None:
    """Some servers close every inherited descriptor, as daemons do. On their own that is
    harmless; here it used to cut the host's channel, and the score varied between runs."""
    work = solution_copy(tmp_path)
    server = work / "01_echo" / "server.py"
    text = server.read_text(encoding="utf-8")
    if where == "import":
        text = "import os\nos.closerange(3, 4096)\n" + text
    else:
        text = text.replace("def serve(listener", "def _serve(listener") + (
            "\n\ndef serve(listener):\n    import os\n"
            "    for fd in range(3, listener.fileno()):\n"
            "        try:\n            os.close(fd)\n        except OSError:\n"
            "            pass\n"
            "    os.closerange(listener.fileno() + 1, 4096)\n    _serve(listener)\n")
    server.write_text(text, encoding="utf-8")
    for _run in range(2):
        run = grader("--dir", str(work), "01")
        assert run.code == 0, run.stdout
