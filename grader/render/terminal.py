"""A Report as friendly text for a terminal: ✓ passed, ✗ failed, – skipped."""

from __future__ import annotations

import os
import textwrap
from collections import Counter
from pathlib import Path
from typing import NamedTuple, TextIO

from ..i18n import _, ngettext
from ..plan import shown
from ..results import FAILED, PASSED, SKIPPED, CheckResult, Report, StepResult, StepStatus

WIDTH = 80  # a terminal's width, as on Windows by default
FOLD = 3  # this many skipped checks for one reason are one line
MARKS = {PASSED: "✓", FAILED: "✗", SKIPPED: "–"}
PLAIN_MARKS = {PASSED: "+", FAILED: "x", SKIPPED: "-"}  # for consoles that lack ✓ and ✗
COLOURS = {PASSED: "32", FAILED: "31", SKIPPED: "33"}


class Upcoming(NamedTuple):
    """A step not asked for, to name as the next one."""

    id: str
    title: str  # in the student's language
    file: str  # as the student would open it


class Style:
    def __init__(self, stream: TextIO):
        self.colour = stream.isatty() and "NO_COLOR" not in os.environ
        try:
            "✓✗–".encode(stream.encoding or "ascii")
            self.marks = MARKS
        except (UnicodeEncodeError, LookupError):
            self.marks = PLAIN_MARKS

    def mark(self, status: str) -> str:
        return self.paint(self.marks[status], COLOURS[status])

    def paint(self, text: str, code: str) -> str:
        return f"\033[{code}m{text}\033[0m" if self.colour else text


def heading(folder: Path, stream: TextIO) -> str:
    """The first line: which folder (or file) is graded, before grading starts."""
    return Style(stream).paint(_("Grading {folder}").format(folder=_shown_path(folder)),
                               "2") + "\n\n"


def _shown_path(folder: Path) -> str:
    """Relative to here when below it; a folder ends in a separator, so it reads as one."""
    text = shown(folder)
    return text if folder.is_file() else text.rstrip("/\\") + os.sep


def render(report: Report, stream: TextIO, again: str = "", overview: bool = False,
           following: Upcoming | None = None) -> str:
    """`again`: the options the student gave that a re-run needs (e.g. '--dir PATH');
    `overview`: every step was asked for: a line each first, then only the steps to work on;
    `following`: the step after those asked for, named when they are all done."""
    style = Style(stream)
    out: list[str] = []
    shown = report.steps
    if overview and len(report.steps) > 1:
        out += _progress(report, style)
        shown = _to_work_on(report)
    for step in shown:
        out += _step(step, style)
        out.append("")
    checks = [check for step in report.steps for check in step.checks]
    passed = sum(check.status == PASSED for check in checks)
    if checks:  # none when no step could be graded: each step has said why
        # The number that decides the plural is `n` (Russian: 1 проверка, 2 проверки, 5 проверок).
        out.append(ngettext("In all, {n} of {total} checks passed.",
                            "In all, {n} of {total} checks passed.",
                            passed).format(n=passed, total=len(checks)))
    bonus = _("bonus: {points}/{max}").format(points=report.bonus_points,
                                             max=report.bonus_max_points)
    score = _("Score: {points}/{max}").format(points=report.points, max=report.max_points)
    if report.bonus_max_points:  # a bonus step ran: its points apart (alone, only them)
        score = f"{score}   {bonus}" if report.max_points else bonus[0].upper() + bonus[1:]
    first_gap = next((s for s in report.required if not s.passed), None)
    if first_gap is None:
        out.append(style.paint(score, "1;32") + "   " + _("Well done!"))
        if following is not None:  # what they asked for is done: the way on
            out += _next(following)
    else:
        command = " ".join(filter(None, [first_gap.id, again]))
        advice = _("(run `grader {step}` again after your change; `grader --help` for more)"
                   ).format(step=command)
        if len(score) + 3 + len(advice) <= WIDTH:
            out.append(style.paint(score, "1") + "   " + advice)
        else:
            out += [style.paint(score, "1"), *_wrap(advice, "")]
    return "\n".join(out) + "\n"


def _progress(report: Report, style: Style) -> list[str]:
    """A line per step (done, in progress, not started), then what to do next."""
    lines = []
    width = max(len(f"{step.id} {step.title}") for step in report.steps)
    for step in report.steps:
        status = (PASSED if step.passed else SKIPPED if step.not_started else FAILED)
        state = (_("done") if step.passed else _("not started") if step.not_started else
                 _("in progress") if step.status == StepStatus.GRADED else _("cannot run"))
        title = f"{step.id} {step.title}".ljust(width)
        lines.append(f"  {style.mark(status)} {title}  {step.points:>3}/{step.max_points:<3}  "
                     f"{state}")
    following = next(iter(_to_work_on(report)), None)
    lines.append("")
    if following is not None:
        lines += _next(following)
        lines.append("")
    return lines


def _next(step: StepResult | Upcoming) -> list[str]:
    """'Next: 02 line framing, in lessons/02_lines/server.py.', wrapped."""
    return _wrap(_("Next: {step} {title}, in {file}.").format(
        step=step.id, title=step.title, file=step.file), "")


def _to_work_on(report: Report) -> list[StepResult]:
    """The steps begun but not done, or that cannot run; if none, the first one not done
    (a bonus step only once every other is done)."""
    begun = [step for step in report.steps if not step.passed and not step.not_started]
    ahead = [step for step in report.steps if not step.passed]
    return begun or ([step for step in ahead if not step.bonus] or ahead)[:1]


def _step(step: StepResult, style: Style) -> list[str]:
    title = f"{step.id} {step.title}"
    score = f"{step.points}/{step.max_points}"
    lines = [style.paint(title, "1") + " " * max(1, WIDTH - len(title) - len(score)) + score]
    if step.status != StepStatus.GRADED:
        lines += _wrap(step.problem, "  ")
        if step.not_started:
            lines += _wrap(_("Open {path} and write the parts marked TODO.").format(
                path=step.file), "  ")
        return lines
    lines += [line for note in step.notes for line in _wrap(note, "  ")]
    lines += _checks(step.checks, style)
    if step.behaviour:
        lines += _wrap(_("How it behaves, whatever its words (not scored: its prompt is not the "
                         "protocol's; a course with words of its own gives them to grader "
                         "--protocol FILE.toml):"), "  ")
        lines += _checks(step.behaviour, style)
    return lines


def _checks(checks: list[CheckResult], style: Style) -> list[str]:
    lines: list[str] = []
    skipped = Counter(check.message for check in checks if check.status == SKIPPED)
    folded: set[str] = set()  # the reasons said already, on one line for all their checks
    for check in checks:
        if check.status == SKIPPED and skipped[check.message] >= FOLD:
            if check.message not in folded:
                folded.add(check.message)
                n = skipped[check.message]
                lines += _wrap(ngettext("{why} ({n} check)", "{why} ({n} checks)", n)
                               .format(n=n, why=check.message),
                               f"  {style.mark(SKIPPED)} ", "    ")
            continue
        lines += _wrap(check.description, f"  {style.mark(check.status)} ", "    ")
        if check.status == SKIPPED and check.message:
            if len(lines[-1]) + len(check.message) + 3 <= WIDTH:
                lines[-1] += f" ({check.message})"
            else:
                lines += _wrap(f"({check.message})", "      ")
        elif check.status == FAILED:
            lines += _failure(check.message, check.details, check.hint)
    return lines


def _failure(message: str, details: list[tuple[str, str]], hint: str) -> list[str]:
    lines = _wrap(message, "      ") if message else []
    width = max((len(label) for label, _value in details), default=0)
    for label, value in details:
        head = f"      {label.ljust(width)}  " if label else "      "
        lines += _wrap(value, head, " " * len(head))
    if hint:
        label = _("hint: {hint}").format(hint="")  # wrapped lines line up after the label
        lines += _wrap(label + hint, "      ", " " * (6 + len(label)))
    return lines


def _wrap(text: str, first: str, rest: str | None = None) -> list[str]:
    """`text` in lines of WIDTH, each of its own lines apart (a crash: where, then what)."""
    rest = first if rest is None else rest
    lines: list[str] = []
    for number, part in enumerate(text.split("\n")):
        lines += textwrap.wrap(part, WIDTH, initial_indent=rest if number else first,
                               subsequent_indent=rest, break_long_words=True,
                               break_on_hyphens=False)
    return lines or [first.rstrip()]
