"""The grader on the reference solutions, the untouched stubs, and plain text output."""

from __future__ import annotations

import shutil

from conftest import STUBS, Run, grader

from grader.checks import checks_for
from grader.manifest import steps


def test_solutions_score_full_marks(solutions_run: Run) -> None:
    data = solutions_run.data
    failed = [c["name"] for c in data["checks"] if not c["passed"]]
    assert failed == []
    assert (data["score"], data["max_score"]) == (100, 100)
    assert solutions_run.code == 0


def test_every_check_is_reported_once(solutions_run: Run) -> None:
    reported = [(c["step"], c["name"]) for c in solutions_run.data["checks"]]
    expected = [(s.id, c.name) for s in steps() for c in checks_for(s.id)]
    assert reported == expected


def test_untouched_stubs_score_zero_and_say_not_started(stubs_run: Run) -> None:
    data = stubs_run.data
    assert data["score"] == 0
    assert stubs_run.code == 1
    for step in data["steps"]:
        assert step["not_started"], step
        assert "NotImplementedError" in step["problem"]


def test_untouched_stubs_are_quick_and_calm(tmp_path) -> None:
    shutil.copytree(STUBS, tmp_path / "lessons")
    run = grader(cwd=tmp_path)  # plain `grader` grades ./lessons: a line per step, then
    assert run.code == 1  # the first step's details (the next thing to do)
    assert "Traceback" not in run.stdout + run.stderr
    assert run.stdout.count(" not started\n") == len(steps())
    assert run.stdout.count("not started yet") == 1 and "Next: 01 echo server" in run.stdout
    assert run.seconds < 10  # a hang guard; benchmarks/grader_times.py reports the real figure


def test_text_output_fits_80_columns(solutions_run: Run) -> None:
    run = grader("--dir", str(STUBS))
    for line in run.stdout.splitlines():
        assert len(line) <= 80, line


def test_one_step_and_json_file(tmp_path) -> None:
    out = tmp_path / "r.json"
    run = grader("--solutions", "01", "--json", str(out))
    assert run.code == 0
    assert "01 echo server" in run.stdout and "02 " not in run.stdout
    assert '"score": 10' in out.read_text(encoding="utf-8")


def test_unknown_step_is_a_usage_error() -> None:
    run = grader("09")
    assert run.code == 2
    assert "there is no step 09" in run.stderr


def test_a_line_that_came_in_time_counts_though_the_checker_ran_late() -> None:
    """On a crowded CPU the checking thread may run again only after its deadline: what
    arrived meanwhile is still read (a passing 06 lost a check so, in a busy batch)."""
    import select
    import socket

    from grader.labs.driver import Client

    with socket.create_server(("127.0.0.1", 0)) as listener:
        ours = socket.create_connection(listener.getsockname(), timeout=1)
        theirs, _address = listener.accept()
    with ours, theirs:
        client = Client("alice", ours)
        theirs.sendall(b"hello\n")
        select.select([ours], [], [], 1.0)  # it has arrived; we look only after the deadline
        assert client.read_line(within=0) == "hello"
        assert client.read_line(within=0) is None  # nothing more: no wait, no verdict change
        assert ours.gettimeout() != 0  # still blocking: a later sendall() must not fail
        theirs.close()
        assert client.read_line(within=0) is None and client.closed_by_server


def test_only_a_wait_in_vain_asks_where_the_server_stands_still() -> None:
    """A line that never came (or a connection left open) is worth a look at what holds the
    server up; a wrong line is not: its own hint is the right one."""
    import socket

    from grader.labs.driver import CheckFailed, Client

    with socket.create_server(("127.0.0.1", 0)) as listener:
        ours = socket.create_connection(listener.getsockname(), timeout=1)
        theirs, _address = listener.accept()
    with ours, theirs:
        client = Client("alice", ours)
        waits = []
        for sent in (b"", b"goodbye\n", b"half a li"):
            theirs.sendall(sent) if sent else None
            try:
                client.expect("hello", within=0.1)
            except CheckFailed as failure:
                waits.append(failure.waited)
            client.buffer, client.unread = b"", []
        try:
            client.expect_closed(within=0.1)
        except CheckFailed as failure:
            waits.append(failure.waited)
        assert waits == [True, False, False, True]


def test_a_check_of_the_same_cause_is_skipped_only_when_that_one_failed() -> None:
    """05's prints_what_arrives types nothing: it is judged on its own when the typing checks
    before it were skipped, and skipped (not failed twice) when the check it shares its cause
    with failed."""
    from grader.checks import find
    from grader.results import FAILED, PASSED, SKIPPED
    from grader.supervisor import _result, _settle

    checks = checks_for("05")
    shares = find("05", "prints_what_arrives")
    assert shares.same_cause == ("prints_while_waiting_for_input",)

    def settled(**statuses: str) -> dict[str, str]:
        verdicts = {c.name: _result(c, statuses.get(c.name, PASSED)) for c in checks}
        return {r.name: r.status for r in _settle("05", checks, verdicts)}

    typing_broken = settled(sends_typed_lines=FAILED)
    assert typing_broken["prints_while_waiting_for_input"] == SKIPPED
    assert typing_broken["prints_what_arrives"] == PASSED
    no_receiver = settled(prints_while_waiting_for_input=FAILED, prints_what_arrives=FAILED)
    assert no_receiver["prints_what_arrives"] == SKIPPED


def test_a_check_skipped_for_want_of_a_prompt_fails_when_the_prompt_check_passed() -> None:
    """A worker skips a check when a first client got no prompt there (pytest_plugin). If the
    prompt's own check passed in another host, the server answered one start and not the next:
    a skip 'because that check failed' beside its tick would contradict itself."""
    from grader.checks import find, skipped_because
    from grader.results import FAILED, PASSED, SKIPPED
    from grader.supervisor import _result, _settle

    checks = checks_for("04")
    no_prompt = skipped_because(find("04", "asks_for_name"))

    def settled(prompt: str) -> dict:
        verdicts = {c.name: _result(c, PASSED) for c in checks}
        verdicts["asks_for_name"] = _result(find("04", "asks_for_name"), prompt)
        verdicts["closes_after_leave"] = _result(find("04", "closes_after_leave"), SKIPPED,
                                                 no_prompt)
        return {r.name: r for r in _settle("04", checks, verdicts)}

    contradicted = settled(PASSED)["closes_after_leave"]
    assert contradicted.status == FAILED
    assert "each time it starts" in contradicted.message and contradicted.hint
    assert settled(FAILED)["closes_after_leave"].status == SKIPPED


def test_a_check_out_of_time_says_so_in_a_worker_without_a_terminal() -> None:
    """pytest-timeout's own handler dumps stacks to the terminal writer, which a worker does
    not load: there every late check read 'the check itself broke: AssertionError'."""
    import signal
    import threading
    import time
    from types import SimpleNamespace

    import pytest

    from grader.checks import find
    from grader.pytest_plugin import _as_failure, pytest_timeout_set_timer

    if not hasattr(signal, "setitimer") or threading.current_thread() != threading.main_thread():
        pytest.skip("the signal way needs a POSIX main thread")
    item = SimpleNamespace()
    assert pytest_timeout_set_timer(item, SimpleNamespace(timeout=0.1)) is True
    try:
        with pytest.raises(pytest.fail.Exception) as stopped:
            time.sleep(2)
    finally:
        item.cancel_timeout()
    failure = _as_failure(stopped.value, find("04", "asks_for_name"))
    assert failure.message == "no verdict after 10 s: the check was stopped"
