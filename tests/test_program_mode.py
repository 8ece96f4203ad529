"""Servers and clients written as plain scripts, as the assignment's own are, graded as they are
(tests/fixtures/scripts: written for these tests in the assignment's style, none copied)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from conftest import ROOT, Run, grader

SCRIPTS = ROOT / "tests" / "fixtures" / "scripts"


def submit(tmp_path: Path, script: str, step_folder: str = "04_multi_user") -> Path:
    """A lessons-like folder holding one script as the step's file."""
    folder = tmp_path / step_folder
    folder.mkdir(parents=True, exist_ok=True)
    name = "client.py" if "client" in step_folder else "server.py"
    shutil.copy(SCRIPTS / script, folder / name)
    return tmp_path


def grade(root: Path, step: str = "04", *options: str) -> Run:
    return grader("--dir", str(root), step, "--json", "-", *options)


def test_a_correct_script_scores_full_marks_and_is_told_how_it_was_graded(tmp_path) -> None:
    run = grade(submit(tmp_path, "guarded_server.py"))  # 0.0.0.0:9090, accept loop in __main__
    assert run.code == 0, run.statuses()
    step = run.data["steps"][0]
    assert step["points"] == step["max_points"] == 40
    (note,) = step["notes"]  # 0.0.0.0 and 9090 are fine: nothing to say of its address
    assert note.startswith("graded as a program")
    assert "no serve(listener)" in note and "line 71" in note  # where its accept() is


def test_an_address_that_would_fail_on_its_own_is_noted_and_graded_anyway(tmp_path) -> None:
    source = (SCRIPTS / "guarded_server.py").read_text(encoding="utf-8")
    assert source.count('("0.0.0.0", 9090)') == 1
    folder = tmp_path / "04_multi_user"
    folder.mkdir()
    (folder / "server.py").write_text(source.replace('("0.0.0.0", 9090)', '("192.0.2.10", 80)'),
                                      encoding="utf-8")  # an address of no machine here
    run = grade(tmp_path)
    assert run.code == 0, run.statuses()
    notes = run.data["steps"][0]["notes"]
    assert any("192.0.2.10" in n and "not an address of this computer" in n for n in notes)
    assert any("port 80" in n and "PermissionError" in n for n in notes), notes


SEED_STYLE_LOSES = {
    # framing: one recv() is one message, decoded on its own
    "two_lines_in_one_recv", "line_in_pieces", "split_utf8_character", "long_line",
    "survives_invalid_utf8",
    # a hang-up: recv() returns b'' forever, and the handler spins
    "tells_others_who_vanished", "tells_others_after_reset", "no_busy_loop",
    # a dead socket stops the broadcast, and then the accept loop
    "broadcast_survives_dead_client", "joins_after_dead_client",
    # the name is read in the accept loop: a silent client blocks every join
    "silent_client_blocks_nobody", "uses_threads",
    # the name is read once, and whatever comes is the name: 'leave', or b'' from a hang-up
    "asks_again_after_blank_name", "unnamed_leaves_unannounced",
    # each message is strip()ped before it is relayed
    "relays_text_as_sent",
}


def test_an_assignment_style_server_gets_the_verdicts_its_bugs_deserve(tmp_path) -> None:
    run = grade(submit(tmp_path, "seed_style_server.py"))  # at import, on port 8080
    statuses = run.statuses()
    failed = {name for name, status in statuses.items() if status == "failed"}
    assert failed == SEED_STYLE_LOSES
    assert statuses["survives_churn"] == "skipped"  # it needs the notice of a hang-up
    for what_it_does_right in ("asks_for_name", "tells_others_who_joined", "relays_to_others",
                               "no_echo_to_sender", "tells_others_who_left",
                               "closes_after_leave"):
        assert statuses[what_it_does_right] == "passed"
    checks = {check["name"]: check for check in run.data["checks"]}
    assert "recv() is not one message" in checks["two_lines_in_one_recv"]["hint"]
    assert "b''" in checks["no_busy_loop"]["hint"]
    assert "accept loop" in checks["silent_client_blocks_nobody"]["hint"]
    crash = " ".join(pair["value"] for pair in checks["joins_after_dead_client"]["details"])
    assert "main thread stopped: server.py:" in crash  # the student's own line, and error:
    assert "BrokenPipeError" in crash or "ConnectionResetError" in crash
    note = run.data["steps"][0]["notes"][0]
    assert "starts its server when imported" in note and "__main__" in note


def test_a_main_thread_that_sleeps_to_keep_the_server_alive_is_not_blamed(tmp_path) -> None:
    # The same server, its accept loop in a thread and its main thread in `while True:
    # sleep(1)` (so that Ctrl+C works): the same verdicts, and no "take the sleep out".
    root = submit(tmp_path, "seed_style_server.py")
    server = root / "04_multi_user" / "server.py"
    head, loop = server.read_text(encoding="utf-8").split('print("listening on 8080")\n')
    loop = "".join("    " + line for line in loop.splitlines(keepends=True))
    server.write_text(f"import time\n{head}\n\ndef accept_all():\n{loop}\n\n"
                      "threading.Thread(target=accept_all, daemon=True).start()\n"
                      "while True:\n    time.sleep(1)\n", encoding="utf-8")
    run = grade(root)
    assert {name for name, status in run.statuses().items() if status == "failed"} == (
        SEED_STYLE_LOSES)
    words = str(run.data["checks"])
    assert "sleep" not in words and "stands still" not in words


UNFRAMED_RIGHT = ("asks_for_name", "relays_to_others", "prefixes_sender_name",
                  "no_echo_to_sender", "no_notice_to_newcomer")
UNFRAMED_BUGS = ("ends_lines_with_newline", "two_lines_in_one_recv", "split_utf8_character",
                 "no_busy_loop", "silent_client_blocks_nobody")


def test_a_server_that_ends_no_line_with_newline_is_judged_on_the_rest(tmp_path) -> None:
    # The assignment-style server, but ending no line it sends with "\n", as the sample does.
    # Its every check takes a pause per line: these ten, as plain pytest tests, say enough.
    root = submit(tmp_path, "seed_style_server.py")
    server = root / "04_multi_user" / "server.py"
    server.write_text(server.read_text(encoding="utf-8").replace('\\n"', '"'), encoding="utf-8")
    assert "\\n" not in server.read_text(encoding="utf-8")
    junit = tmp_path / "junit.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--pyargs", "grader.checks",
         "--student", str(root), "--step", "04", "-k", " or ".join(UNFRAMED_RIGHT + UNFRAMED_BUGS),
         f"--junitxml={junit}"], cwd=tmp_path, capture_output=True, timeout=120,
        stdin=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(ROOT), "GRADER_LANG": "en"})
    cases = {case.get("name"): case for case in ET.parse(junit).getroot().iter("testcase")}
    failed = {name.split("[")[0] for name, case in cases.items()
              if case.find("failure") is not None}
    assert len(cases) == 10 and failed == set(UNFRAMED_BUGS)
    message = cases["ends_lines_with_newline[04]"].find("failure").get("message", "")
    message += cases["ends_lines_with_newline[04]"].find("failure").text or ""
    assert "no '\\n' at its end" in message


@pytest.mark.parametrize("script, says", [
    ("asks_for_port.py", ["input()", "line 4", "sys.argv"]),
    ("waits_before_listening.py", ["line 5", "time.sleep(30)", "before anything that waits"]),
    ("exits_at_once.py", ["code 2", "usage: server.py PORT"]),
    ("needs_sibling.py", ["chat_helpers", "hand in chat_helpers.py"]),
    ("udp_server.py", ["UDP", "SOCK_STREAM"]),
    ("syntax_error.py", ["server.py line 8", "expected ':'", "while True"]),
])
def test_a_script_that_cannot_serve_gets_one_line_saying_why(script, says, tmp_path) -> None:
    run = grade(submit(tmp_path, script))
    step = run.data["steps"][0]
    assert run.code == 1 and step["status"] == "unusable" and run.data["checks"] == []
    for words in says:
        assert words in step["problem"], step["problem"]


def test_a_client_with_its_address_hard_coded_talks_to_the_checks_server(tmp_path) -> None:
    run = grade(submit(tmp_path, "hardcoded_client.py", "05_client"), "05")
    assert run.code == 0, run.failures()


def test_a_client_that_forgets_to_flush_loses_only_the_check_about_it(tmp_path) -> None:
    """Found by an audit: it ends by os._exit(), so through a pipe its lines were never written,
    and it lost 5 to 9 points, different ones each run, most with hints about other bugs."""
    run = grade(submit(tmp_path, "client_exits_without_flush.py", "05_client"), "05")
    lost = {check["name"] for check in run.data["checks"] if check["status"] != "passed"}
    assert lost == {"prints_what_arrives"}, run.failures()
    failed = next(check for check in run.data["checks"] if check["status"] == "failed")
    assert "flush=True" in failed["hint"]


def test_mode_serve_insists_on_serve_and_mode_program_runs_the_solution(tmp_path) -> None:
    strict = grade(submit(tmp_path, "guarded_server.py"), "04", "--mode", "serve")
    assert "no serve(listener)" in strict.data["steps"][0]["problem"]
    as_program = grader("--solutions", "04", "--mode", "program", "--json", "-")
    assert as_program.code == 0, as_program.statuses()  # its main() on DEFAULT_PORT, redirected
    assert not as_program.data["steps"][0]["notes"]  # asked for: nothing to explain


def test_scripts_on_one_fixed_port_graded_at_the_same_time_do_not_meet(tmp_path) -> None:
    roots = [submit(tmp_path / str(n), "seed_style_server.py") for n in range(2)]
    with ThreadPoolExecutor(2) as pool:
        runs = list(pool.map(grade, roots))
    for run in runs:
        failed = {name for name, status in run.statuses().items() if status == "failed"}
        assert failed == SEED_STYLE_LOSES


def test_one_file_of_any_name_is_graded_as_the_step_given(tmp_path) -> None:
    shutil.copy(SCRIPTS / "guarded_server.py", tmp_path / "my_chat.py")
    run = grader("04", "--file", str(tmp_path / "my_chat.py"), cwd=tmp_path)
    assert run.code == 0 and run.stdout.startswith("Grading my_chat.py"), run.stdout
    assert "40/40" in run.stdout
    for wrong, says in ([("--file", "my_chat.py"), "which step is"],
                        [("03", "04", "--file", "my_chat.py"), "one file is one step"],
                        [("04", "--file", "missing.py"), "is not a file"]):
        run = grader(*wrong, cwd=tmp_path)
        assert run.code == 2 and says in run.stderr, run.stderr


def test_a_programs_exit_code_is_the_one_it_said_though_it_is_read_after_its_end() -> None:
    """A forked program's code comes as its last event; its process may be seen gone before
    that event is read (CI saw 'exited with code -1' so, from a client that exited with 0)."""
    import io

    from grader.labs.server_host import EventReader
    from grader.labs.student_program import ProgramProcess

    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()  # reaped: its pid names no process now
    read_end, write_end = os.pipe()
    program = ProgramProcess(ended.pid, io.BytesIO(), io.BytesIO(), io.BytesIO(),
                             EventReader(os.fdopen(read_end, "rb")))

    def say_late() -> None:
        time.sleep(0.2)
        os.write(write_end, b'{"e": "exit", "code": 0}\n')
        os.close(write_end)

    threading.Thread(target=say_late).start()
    assert program.poll() == 0



ENDINGS = {  # a program's last lines -> its exit code, and what it prints where
    "sys.exit('no server given')": (1, "", "no server given"),
    "sys.exit(3)": (3, "", ""),
    "raise ValueError('bad port')": (1, "", "ValueError: bad port"),
    # Python joins its other threads and runs atexit before it ends
    "atexit.register(lambda: print('atexit ran'))\n"
    "threading.Thread(target=lambda: (time.sleep(0.2), print('thread done'))).start()":
        (0, "thread done\natexit ran", ""),
    # what it wrote and never flushed is flushed, as freeing the file at the end would
    "server = socket.create_connection(('localhost', 8080)).makefile('w')\n"
    "server.write('leave\\n')": (0, "", ""),
    # a stdout it closed itself is no error at the end
    "print('bye')\nsys.stdout.close()": (0, "bye", ""),
    # a daemon thread printing as the main thread returns does not keep it from ending
    "threading.Thread(target=lambda: [print('spam') for _ in iter(int, 1)], daemon=True)"
    ".start()\ntime.sleep(0.1)": (0, "spam", ""),
}


@pytest.mark.parametrize("fork", [True, False], ids=["forked", "spawned"])
@pytest.mark.parametrize("ending", ENDINGS, ids=range(len(ENDINGS)))
def test_a_program_ends_as_python_would_end_it(tmp_path, ending: str, fork: bool) -> None:
    import socket

    from grader.labs import launcher
    from grader.labs.student_program import StudentProgram

    if fork and not launcher.CAN_FORK:
        pytest.skip("no fork here")
    code, out, err = ENDINGS[ending]
    script = tmp_path / "client.py"
    script.write_text(f"import atexit, socket, sys, threading, time\n{ending}\n",
                      encoding="utf-8")
    program = StudentProgram(script)
    if not fork and program.zygote is not None:
        program.zygote.close()
        program.zygote = None
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(5)
        process = program.start([], connect=listener.getsockname()[1])
        output: dict[str, bytes] = {}
        readers = [threading.Thread(target=lambda name=name: output.update(
                       {name: getattr(process, name).read()})) for name in ("stdout", "stderr")]
        for reader in readers:
            reader.start()
        try:
            assert process.wait(5) == code
            if "socket" in ending:
                conn, _address = listener.accept()
                with conn:
                    conn.settimeout(5)
                    assert conn.recv(100) == b"leave\n"
            for reader in readers:
                reader.join(5)
        finally:
            process.end()
            program.close()
    stdout, stderr = (output.get(name, b"").decode() for name in ("stdout", "stderr"))
    assert out in stdout.replace("\r\n", "\n") and err in stderr
    if "Error" in err:  # the traceback starts in the student's file, as `python FILE` prints it
        assert "client.py" in stderr and "runpy" not in stderr and "host" not in stderr
