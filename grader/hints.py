"""`grader hint STEP`: a step's hints from the manifest, gentle first; each call shows one
more (`--all`: every one). How many were shown is kept in the user's cache folder, outside
lessons/, and deleting it only starts the hints again."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from . import i18n
from .i18n import _
from .manifest import Step
from .plan import select_steps


def cache_folder() -> Path:
    """Where the kit keeps what it may forget: GRADER_CACHE, else the platform's cache."""
    if os.environ.get("GRADER_CACHE"):
        return Path(os.environ["GRADER_CACHE"])
    if os.name == "nt":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "socket-chat-kit"


def _seen_file() -> Path:
    return cache_folder() / "hints.json"


def _load() -> dict[str, int]:
    try:
        data = json.loads(_seen_file().read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, int)} if isinstance(data, dict) else {}


def _save(seen: dict[str, int]) -> None:
    try:
        _seen_file().parent.mkdir(parents=True, exist_ok=True)
        _seen_file().write_text(json.dumps(seen, indent=1), encoding="utf-8")
    except OSError:
        pass  # a cache that cannot be written: every call shows the first hint again


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="grader hint",
                                description=_("Show the next hint for a step, gentle first."))
    p.add_argument("step", metavar="STEP", help=_("the step, e.g. 04"))
    p.add_argument("--all", action="store_true", help=_("show every hint of the step"))
    p.add_argument("--lang", type=str.lower, choices=i18n.LANGUAGES,
                   help=_("language of the output (default: GRADER_LANG, then your system's)"))
    args = p.parse_args(argv)
    try:
        (step,) = select_steps([args.step])
    except LookupError as error:
        print(f"grader hint: {error}", file=sys.stderr)
        return 2
    print(show(step, everything=args.all), end="")
    return 0


def show(step: Step, everything: bool = False) -> str:
    """The hints shown so far plus one more (all of them with `everything`)."""
    seen = _load()
    total = len(step.hints)
    if not total:
        return _("Step {step} has no hints.").format(step=step.id) + "\n"
    count = total if everything else min(total, seen.get(step.id, 0) + 1)
    seen[step.id] = max(count, seen.get(step.id, 0))
    _save(seen)
    lines = [_("Hints for {step} {title} ({n} of {total}):").format(
        step=step.id, title=_(step.title), n=count, total=total)]
    lines += [f"  {n}. {_(hint)}" for n, hint in enumerate(step.hints[:count], 1)]
    if count < total:
        lines.append(_("Stuck still? `grader hint {step}` shows the next one; `grader hint {step} "
                       "--all` shows them all.").format(step=step.id))
    else:
        lines.append(_("That is every hint. The finished code is in solutions/{folder}/, for "
                       "when you have tried on your own.").format(folder=step.folder))
    return "\n".join(lines) + "\n"
