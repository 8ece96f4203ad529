"""Text from a submission, made safe to show: its control characters are shown, not obeyed.

An exception's message, a line of the student's code or what a host printed reaches the
terminal, the JSON, the class's report page. Raw, ESC [2J would clear an instructor's screen
and paint a fake score, and a right-to-left override would turn the text round.
"""

from __future__ import annotations

import re

# C0 controls but tab and newline, DEL, C1 controls, the bidirectional marks, embeddings,
# overrides and isolates, the line and paragraph separators (a new line to some readers, not
# to others), and the invisible ones (zero width space, word joiner, BOM) that make two texts
# look the same. The zero width joiner stays: emoji are built with it.
_HIDDEN = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f"
                     "\u2028-\u202e\u2060-\u2069\ufeff\ufff9-\ufffb]")


def visible(text: str) -> str:
    r"""`text` with each control character as its escape: '\x1b[2J' shows as '\\x1b[2J'."""
    return _HIDDEN.sub(lambda found: found.group().encode("unicode_escape").decode(), text)
