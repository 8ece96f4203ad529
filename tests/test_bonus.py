"""Bonus step 06: its points are counted apart and never required; it is step 04's chat, so
04's checks are its own too (worth nothing there), and its new checks judge what it adds."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import ROOT, STUBS, grader

NEW_IN_06 = {"refuses_a_taken_name", "refused_client_leaves_owner_alone", "one_winner_for_one_name",
             "reader_that_never_reads_stalls_nobody", "drops_a_client_that_never_reads",
             "ends_when_the_listener_closes"}


def test_the_04_solution_as_06_loses_exactly_what_06_adds(tmp_path: Path) -> None:
    folder = tmp_path / "06_bonus"
    folder.mkdir()
    shutil.copy(ROOT / "solutions" / "04_multi_user" / "server.py", folder / "server.py")
    run = grader("--dir", str(tmp_path), "06", "--json", "-")
    lost = {name for name, status in run.statuses().items() if status != "passed"}
    assert lost == NEW_IN_06 and run.code == 1
    assert run.data["bonus_score"] == 0 and run.data["bonus_max_score"] == 20
    # where it stalls: the send to the client that does not read, not the lock the others wait at
    checks = {check["name"]: check for check in run.data["checks"]}
    said = [pair["value"] for pair in checks["reader_that_never_reads_stalls_nobody"]["details"]
            if pair["label"] == "meanwhile:"]
    assert any("stands still at server.py line" in s and "sendall" in s for s in said), said


def test_a_bonus_step_is_counted_apart_and_never_required(tmp_path: Path) -> None:
    lessons = tmp_path / "lessons"
    shutil.copytree(ROOT / "solutions", lessons)
    shutil.copy(STUBS / "06_bonus" / "server.py", lessons / "06_bonus" / "server.py")
    run = grader(cwd=tmp_path)  # every step: 01-05 done, the bonus not started
    assert run.code == 0, run.stdout
    assert "Score: 100/100   bonus: 0/20   Well done!" in run.stdout
    assert "06 fast and fair chat (bonus)" in run.stdout and "not started" in run.stdout
    alone = grader("--solutions", "06")
    assert alone.code == 0 and "Bonus: 20/20   Well done!" in alone.stdout, alone.stdout


def test_an_event_loop_that_is_fast_and_fair_earns_the_whole_bonus(tmp_path: Path) -> None:
    """One thread and selectors: 04's thread per client is not 06's rule (an audit's selectors
    and asyncio servers lost uses_threads, and with it a clean exit, for that alone)."""
    folder = tmp_path / "06_bonus"
    folder.mkdir()
    shutil.copy(ROOT / "tests" / "fixtures" / "designs" / "selectors_06.py", folder / "server.py")
    run = grader("--dir", str(tmp_path), "06", "--json", "-")
    assert run.code == 0 and run.data["bonus_score"] == 20, run.failures()
