"""Text from a submission, made safe to show: its control characters are shown, not obeyed.

An exception's message, a line of the student's code or what a host printed reaches the
terminal, the JSON, the class's report page. Raw, ESC [2J would clear an instructor's screen
and paint a fake score, and a right-to-left override would turn the text round.
"""

from __future__ import annotations

import re

# C0 controls but tab and newline, DEL, C1 controls, and the bidirectional overrides
_HIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def visible(text: str) -> str:
    r"""`text` with each control character as its escape: '\x1b[2J' shows as '\\x1b[2J'."""
    return _HIDDEN.sub(lambda found: found.group().encode("unicode_escape").decode(), text)
