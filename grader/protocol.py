"""The chat's wire protocol, defined once (see ../shared/PROTOCOL.md).

The lesson stubs mirror these constants; tests/test_lessons.py keeps the copies equal.
"""

from __future__ import annotations

import difflib
import functools
import re
import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.9 and 3.10
    import tomli as tomllib

ENCODING = "utf-8"
NEWLINE = "\n"
MAX_LINE_BYTES = 65_536  # newline included; longer lines may cost the sender its connection


def longest_text(pattern: str) -> str:
    """`pattern` repeated into the longest text a line may carry: MAX_LINE_BYTES exactly with
    its newline (a character cut at the end is made up with "x")."""
    size = MAX_LINE_BYTES - len(NEWLINE)
    data = (pattern * (size // max(1, len(pattern.encode(ENCODING))) + 1)).encode(ENCODING)
    text = data[:size].decode(ENCODING, errors="ignore")
    return text + "x" * (size - len(text.encode(ENCODING)))

ECHO_STEPS = frozenset({"01", "02"})  # every line comes back; from 03 on, the chat below
PROMPT = "what's your name:"
LEAVE = "leave"
JOINED = "{name} is amongst you now"
LEFT = "{name} has abandoned y'all"
MESSAGE = "{name}: {text}"
NAME_TAKEN = "name taken, what's your name:"  # step 06: instead of the prompt, for a taken name

DEFAULT_HOST = "localhost"
DEFAULT_PORT = 8080


FIELDS = {"prompt": "PROMPT", "leave": "LEAVE", "joined": "JOINED", "left": "LEFT",
          "message": "MESSAGE"}  # a profile's keys, and the strings they replace
NEEDS = {"joined": ("{name}",), "left": ("{name}",), "message": ("{name}", "{text}")}


def load_profile(path: Path) -> None:
    """A course's own wire strings, from TOML (see README): the checks use them from now on.
    Raises LookupError, in a line, when the file is not a profile."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise LookupError(f"{path}: {error}") from None
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise LookupError(f"{path}: unknown keys {', '.join(unknown)}; the keys are "
                          f"{', '.join(FIELDS)}")
    for key, value in data.items():
        if not isinstance(value, str) or not value.strip() or "\n" in value:
            raise LookupError(f"{path}: {key} must be one line of text")
        missing = [part for part in NEEDS.get(key, ()) if part not in value]
        if missing:
            raise LookupError(f"{path}: {key} must hold {' and '.join(missing)}")
        globals()[FIELDS[key]] = value


def joined(name: str) -> str:
    return JOINED.format(name=name)


def left(name: str) -> str:
    return LEFT.format(name=name)


def message(name: str, text: str) -> str:
    return MESSAGE.format(name=name, text=text)


def is_notice(line: str) -> bool:
    """Is `line` a join or leave notice, about anyone?"""
    return _notice_pattern(JOINED, LEFT).fullmatch(line) is not None


@functools.lru_cache(maxsize=4)
def _notice_pattern(*forms: str) -> re.Pattern[str]:
    """One pattern for the notice forms (a course's own words can change them: cached by value)."""
    return re.compile("(?:" + "|".join(re.escape(form).replace(re.escape("{name}"), ".+")
                                       for form in forms) + ")")


def like_notice(line: str) -> bool:
    """Is `line` a notice, or nearly one: the notice's own words with a letter or two wrong
    ("bob has abandoned yall")? A check about chat lines sets those aside too: the wording is
    the notice checks' concern. The name is one of the line's words; two lines run together
    ("alice: hi bob has abandoned y'all") are too far from a notice to count."""
    if is_notice(line):
        return True
    words = [match.span() for match in re.finditer(r"\S+", line)]
    for form in (JOINED, LEFT):
        fixed = form.replace("{name}", "")
        for start, end in words:
            if difflib.SequenceMatcher(None, fixed, line[:start] + line[end:]).ratio() >= 0.85:
                return True
    return False


def is_leave(line: str) -> bool:
    return line.strip() == LEAVE


def strip_line_end(line: str) -> str:
    """One line without its "\\n" and without one trailing "\\r" (telnet sends "\\r\\n")."""
    if line.endswith(NEWLINE):
        line = line[:-1]
    if line.endswith("\r"):
        line = line[:-1]
    return line
