"""Hostile or broken student code: the grader stays bounded, says what happened, and goes on."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import grader

from grader.labs.server_host import ServerHost

BOUNDED = Path(__file__).with_name("fixtures") / "bounded"


def grade(name: str, step: str, tmp_path: Path, *options: str):
    shutil.copytree(BOUNDED / name, tmp_path / name)
    return grader("--dir", str(tmp_path / name), step, "--json", "-", *options, timeout=60)


@pytest.mark.parametrize(("name", "says"), [
    ("server_at_import", ["move the code that starts the server under if __name__"]),  # serve
    ("exit_at_import", ["calls sys.exit() when it is imported"]),
    ("crash_at_import", ["importing your server.py failed: server.py:"]),
    # Python's own words for the error vary by version ("invalid syntax" on 3.9): not pinned.
    ("syntax_error", ["server.py line 4: ", "def serve(listener: socket.socket) -> None"]),
])
def test_unusable_module_is_explained_once(name: str, says: list[str], tmp_path: Path) -> None:
    run = grade(name, "04", tmp_path, *(["--mode", "serve"] if name == "server_at_import" else []))
    step = run.data["steps"][0]
    for words in says:
        assert words in step["problem"]
    assert run.data["score"] == 0 and run.code == 1
    assert run.seconds < 30


def test_server_at_import_is_graded_as_a_program_by_default(tmp_path: Path) -> None:
    run = grade("server_at_import", "04", tmp_path)  # it accepts, and drops every client
    assert "graded as a program: it starts its server when imported" in run.data["steps"][0][
        "notes"][0]
    assert set(run.statuses().values()) <= {"failed", "skipped"} and run.code == 1
    assert run.seconds < 30


def test_serve_that_never_accepts_fails_fast(tmp_path: Path) -> None:
    run = grade("never_accepts", "04", tmp_path)
    statuses = run.statuses()
    assert statuses["asks_for_name"] == "failed"
    assert set(statuses.values()) <= {"failed", "skipped"}
    assert run.seconds < 30


def test_server_that_accepts_and_never_answers(tmp_path: Path) -> None:
    run = grade("never_answers", "04", tmp_path)
    check = next(c for c in run.data["checks"] if c["name"] == "asks_for_name")
    assert check["status"] == "failed"
    assert any("nothing within 1 s" in d["value"] for d in check["details"])
    assert run.seconds < 30


def test_server_that_ends_its_process_costs_its_checks_only(tmp_path: Path) -> None:
    run = grade("exits_process", "01", tmp_path)
    first = run.data["checks"][0]
    assert first["status"] == "failed"
    assert "your server's process ended: os._exit(3) at server.py line 6" in first["message"]
    assert run.data["score"] == 0
    assert run.seconds < 30


def test_crashing_thread_is_shown_with_the_students_line(tmp_path: Path) -> None:
    run = grade("handler_raises", "04", tmp_path)
    check = next(c for c in run.data["checks"] if c["name"] == "asks_again_after_blank_name")
    meanwhile = [d["value"] for d in check["details"] if d["label"] == "meanwhile:"]
    assert meanwhile and "server.py:" in meanwhile[0] and "ZeroDivisionError" in meanwhile[0]


class _Told:
    """What a host said, in the order a busy machine may deliver it."""

    def __init__(self, *events: dict) -> None:
        self.events = iter(events)

    def next(self, deadline: float) -> dict | None:
        return next(self.events, None)


def test_a_crash_reported_before_the_host_is_ready_is_kept(tmp_path: Path) -> None:
    """serve() runs as soon as its thread starts: its crash may come before "ready" (a CI run
    lost it and showed 'nothing within 1 s' with no cause)."""
    crash = {"e": "serve_crash", "error": "RuntimeError: early",
             "frames": [{"file": "server.py", "line": 2, "function": "serve", "code": "raise"}]}
    host = ServerHost(os.getpid(), _Told(crash, {"e": "ready", "port": 1}),  # type: ignore[arg-type]
                      tmp_path / "out", "server.py")
    host.wait_ready(1)
    assert host.crashes and "RuntimeError: early" in host.crashes[0]


def test_non_daemon_threads_do_not_keep_the_grader_alive(tmp_path: Path) -> None:
    run = grade("non_daemon_threads", "01", tmp_path)
    assert run.data["score"] == 10
    assert run.seconds < 30


def test_untrusted_output_is_read_in_bounded_lines() -> None:
    """A line longer than the limit costs no more memory than the limit; the last words of a
    program, without a newline, are kept."""
    import io

    from grader.labs.server_host import bounded_lines

    said = b"a" * 3000 + b"\nshort\n" + b"b" * 1000 + b"\nlast words"
    assert list(bounded_lines(io.BytesIO(said), 1000)) == [b"short\n", b"last words"]
    assert list(bounded_lines(io.BytesIO(said), 1000, cut=True)) == [
        b"a" * 1000, b"short\n", b"b" * 1000, b"last words"]
    stream = io.BytesIO(said)
    assert list(bounded_lines(stream, 1000, cut=True, total=1010)) == [b"a" * 1000, b"short\n"]
    assert stream.read() == b""  # read to its end all the same: the writer is never blocked


def test_an_event_nested_too_deep_is_dropped_and_the_next_one_read() -> None:
    """json.loads raises RecursionError, not ValueError, for '[' * 8000: a host whose code
    wrote that line once stopped every later event (a spinning server's report with them)."""
    import io
    import time

    from grader.labs.server_host import EventReader
    from grader.supervisor import parse_record

    reader = EventReader(io.BytesIO(b"[" * 8000 + b"\n" + b'{"e": "spin"}\n'))
    assert reader.next(time.monotonic() + 2) == {"e": "spin"}
    assert reader.next(time.monotonic() + 2) == {"e": "closed"}
    assert parse_record(b"\x1etoken" + b"[" * 8000 + b"\n", "token") is None


def test_a_client_crash_names_its_line_and_its_exception_each_on_a_line() -> None:
    """The exception's own line, not the last line of a message that holds a newline."""
    from types import SimpleNamespace

    from grader.labs.client_lab import ClientLab

    lab = SimpleNamespace(student_file=Path("client.py"), errors=[
        "Traceback (most recent call last):",
        '  File "/x/client.py", line 78, in boom',
        "    raise ValueError('first\\nsecond')",
        "ValueError: first", "second"])
    assert ClientLab.crash_summary(lab) == (  # type: ignore[arg-type]
        "client.py:78 in boom: raise ValueError('first\\nsecond')\nValueError: first")
