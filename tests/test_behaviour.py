"""A server in words of its own: the scored checks stop at its prompt, and the behaviour report
(grader/checks/behaviour.py) says, apart from the score, what it does whatever its words. Each
variant is the solution in its own words with one of the seed's bugs: it loses exactly the
behaviour check named for that bug."""

from __future__ import annotations

import pytest
from conftest import grader
from fixtures.bugs import BUGS, Bug

from grader.checks import checks_for

OWN_WORDS = (
    ('PROMPT = "what\'s your name:"', 'PROMPT = "Name?"'),
    ('JOINED = "{name} is amongst you now"', 'JOINED = "* {name} joined"'),
    ('LEFT = "{name} has abandoned y\'all"', 'LEFT = "* {name} left"'),
    ('MESSAGE = "{name}: {text}"', 'MESSAGE = "<{name}> {text}"'),
)
ECHO = (("self._broadcast(MESSAGE.format(name=client.name, text=text), sender=client)",
         "self._broadcast(MESSAGE.format(name=client.name, text=text), sender=None)"),)

VARIANTS = {  # name: (patches beyond the own words, the behaviour checks it loses)
    "own_words": ((), set()),
    "own_words_echo": (ECHO, {"not_back_to_sender"}),
    "own_words_name_in_accept_loop": (BUGS["name_in_accept_loop"].patches,
                                      {"nobody_waits_for_a_silent_client"}),
    "own_words_spins_on_eof": (BUGS["spins_on_eof"].patches, {"idle_after_hang_ups"}),
    "own_words_dead_client": (BUGS["dead_client_breaks_broadcast"].patches,
                              {"still_relays_after_a_client_vanished"}),
}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_own_words_get_a_behaviour_report(name: str, tmp_path) -> None:
    extra, loses = VARIANTS[name]
    bug = Bug("04_multi_user", OWN_WORDS + tuple(extra), frozenset())
    run = grader("--dir", str(bug.write(tmp_path)), "04", "--json", "-")
    assert run.code == 1
    scored = run.statuses()
    assert scored["asks_for_name"] == "failed" and run.data["score"] == 0
    assert "Name?" in next(c for c in run.data["checks"] if c["name"] == "asks_for_name")[
        "details"][1]["value"]
    behaviour = {c["name"]: c for c in run.data["behaviour"]}
    assert list(behaviour) == [c.name for c in checks_for("04", behaviour=True)]
    lost = {check for check, c in behaviour.items() if c["status"] != "passed"}
    assert lost == loses, {check: behaviour[check]["message"] for check in lost}
    for check in lost:
        assert behaviour[check]["points"] == behaviour[check]["max_points"] == 0
        if behaviour[check]["status"] == "failed":
            assert behaviour[check]["message"] and behaviour[check]["hint"]


def test_no_behaviour_report_for_the_protocols_words(solutions_run) -> None:
    assert solutions_run.data["behaviour"] == []


def test_the_terminal_shows_it_apart(tmp_path) -> None:
    bug = Bug("04_multi_user", OWN_WORDS + ECHO, frozenset())
    run = grader("--dir", str(bug.write(tmp_path)), "04")
    before, _, after = run.stdout.partition("How it behaves, whatever its words")
    assert after, run.stdout
    assert "does not send a line back to its sender" in after
    assert "ann got her own line back" in after
    assert "Score: 0/40" in after  # the score is the scored checks' alone
