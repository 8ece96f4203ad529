"""`grader reset STEP`: put a step's file back as it came, after asking; the student's own is
kept beside it as a timestamped backup (server.py.20261202-101500.bak)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from . import i18n
from .i18n import _
from .manifest import Step
from .plan import select_steps

STUBS = Path(__file__).with_name("stubs")  # the lessons' files as shipped, laid out the same


def stub_of(step: Step) -> Path:
    return step.path_in(STUBS)


def main(argv: list[str]) -> int:
    from .cli import find_root

    p = argparse.ArgumentParser(
        prog="grader reset",
        description=_("Put a step's file back as it came; yours is kept as a backup beside it."))
    p.add_argument("step", metavar="STEP", help=_("the step, e.g. 04"))
    p.add_argument("--yes", action="store_true", help=_("do not ask first (for scripts)"))
    p.add_argument("--dir", type=Path, metavar="PATH",
                   help=_("the lessons-like folder the step is in (default: ./lessons)"))
    p.add_argument("--lang", type=str.lower, choices=i18n.LANGUAGES,
                   help=_("language of the output (default: GRADER_LANG, then your system's)"))
    args = p.parse_args(argv)
    args.solutions = False  # find_root's other option: solutions are never reset
    try:
        (step,) = select_steps([args.step])
        target = step.path_in(find_root(args))
    except LookupError as error:
        print(f"grader reset: {error}", file=sys.stderr)
        return 2
    return reset(step, target, args.yes)


def reset(step: Step, target: Path, yes: bool) -> int:
    original = stub_of(step).read_bytes()
    if target.is_file() and target.read_bytes() == original:
        print(_("{file} is as it came already: nothing to do.").format(file=target))
        return 0
    if not yes:
        if not sys.stdin or not sys.stdin.isatty():
            print(_("grader reset: add --yes to replace {file} without being asked.").format(
                file=target), file=sys.stderr)
            return 2
        try:
            answer = input(_("Replace {file} with the file as it came? Yours is kept as a "
                             "backup. [y/N] ").format(file=target))
        except (EOFError, KeyboardInterrupt):
            answer = ""
        if answer.strip().lower() not in ("y", "yes", "д", "да"):
            print(_("Nothing changed."))
            return 1
    backup = None
    if target.is_file():
        backup = target.with_name(f"{target.name}.{time.strftime('%Y%m%d-%H%M%S')}.bak")
        n = 1
        while backup.exists():  # two resets within a second
            backup = backup.with_name(f"{target.name}.{time.strftime('%Y%m%d-%H%M%S')}-{n}.bak")
            n += 1
        target.replace(backup)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(original)
    print(_("{file} is as it came again.").format(file=target))
    if backup is not None:
        print(_("Your version is in {backup}.").format(backup=backup))
    return 0
