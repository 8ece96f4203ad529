"""Renderers turn the same plain results into text, JSON, Gradescope's results.json and the
class CSV; each is compared with its golden file (stable order, no times or paths that vary).

After an intended change of format: GOLDEN_UPDATE=1 python -m pytest tests/test_render.py
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from pathlib import Path

import pytest

from grader.batch import Entry, write_csv
from grader.manifest import steps
from grader.render import gradescope, json_out, terminal
from grader.results import FAILED, PASSED, SKIPPED, CheckResult, Report, StepResult, StepStatus

GOLDEN = Path(__file__).with_name("golden")


def sample() -> Report:
    chat = StepResult(id="04", title="multi-user chat", max_points=40,
                      file="lessons/04_multi_user/server.py", checks=[
        CheckResult("04", "asks_for_name", "asks a new client for its name", 1, PASSED),
        CheckResult("04", "no_echo_to_sender", "does not echo a message back to its sender", 2,
                    FAILED, "alice did not receive the expected line",
                    [("alice expected:", "'bob: yo'"), ("alice received:", "'alice: hi'")],
                    "skip the sender's own socket when you broadcast."),
        CheckResult("04", "tells_others_who_left", "tells the others when someone leaves", 2,
                    SKIPPED, "skipped: needs “does not echo a message back to its sender”"),
    ], behaviour=[
        CheckResult("04", "reaches_the_others", "a line one client sends reaches the others, "
                    "its text intact", 0, PASSED),
        CheckResult("04", "not_back_to_sender", "does not send a line back to its sender", 0,
                    FAILED, "ann got her own line back", [("ann received:", "'ann> hi'")],
                    "skip the sender's own socket when you broadcast."),
    ])
    stub = StepResult(id="05", title="chat client", max_points=15,
                      file="lessons/05_client/client.py", status=StepStatus.NOT_STARTED,
                      problem="not started yet (receive() raises NotImplementedError)")
    return Report([chat, stub], folder="lessons")


class Pipe(io.StringIO):
    encoding = "utf-8"

    def isatty(self) -> bool:
        return False


def class_csv(report: Report) -> str:
    """grades.csv for two students: this report, and a submission that could not be graded."""
    data = json.loads(json_out.render(report))
    graded = Entry("ann", Path("ann"), reports=[data, data], seconds=2.5)
    broken = Entry("bob", Path("bob.zip"), problem="not a zip file")
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "grades.csv"
        write_csv(path, [graded, broken], [step for step in steps() if step.id in ("04", "05")])
        return path.read_text(encoding="utf-8")


@pytest.mark.parametrize(("name", "render"), [
    ("report.txt", lambda report: terminal.render(report, Pipe())),
    ("report.json", json_out.render),
    ("gradescope.json", lambda report: gradescope.render(report, seconds=12.4)),
    ("grades.csv", class_csv),
])
def test_matches_golden(name: str, render) -> None:
    text = render(sample())
    golden = GOLDEN / name
    if os.environ.get("GOLDEN_UPDATE"):
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


def test_plain_marks_on_a_console_without_them() -> None:
    class Ascii(Pipe):
        encoding = "ascii"

    text = terminal.render(sample(), Ascii())
    assert "  x does not echo" in text and "  + asks" in text


def test_colour_only_on_a_terminal(monkeypatch) -> None:
    class Tty(Pipe):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("NO_COLOR", raising=False)
    assert "\033[" in terminal.render(sample(), Tty())
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\033[" not in terminal.render(sample(), Tty())
