"""The chat's wire protocol, defined once (see ../shared/PROTOCOL.md).

The lesson stubs mirror these constants; tests/test_lessons.py keeps the copies equal.
"""

from __future__ import annotations

ENCODING = "utf-8"
NEWLINE = "\n"
MAX_LINE_BYTES = 65_536  # newline included; longer lines may cost the sender its connection

PROMPT = "what's your name:"
LEAVE = "leave"
JOINED = "{name} is amongst you now"
LEFT = "{name} has abandoned y'all"
MESSAGE = "{name}: {text}"

DEFAULT_HOST = "localhost"
DEFAULT_PORT = 8080


def joined(name: str) -> str:
    return JOINED.format(name=name)


def left(name: str) -> str:
    return LEFT.format(name=name)


def message(name: str, text: str) -> str:
    return MESSAGE.format(name=name, text=text)


def is_leave(line: str) -> bool:
    return line.strip() == LEAVE


def strip_line_end(line: str) -> str:
    """One line without its "\\n" and without one trailing "\\r" (telnet sends "\\r\\n")."""
    if line.endswith(NEWLINE):
        line = line[:-1]
    if line.endswith("\r"):
        line = line[:-1]
    return line
