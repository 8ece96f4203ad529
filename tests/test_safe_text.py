"""What a submission says is shown, never obeyed: safe_text.visible."""

from __future__ import annotations

import pytest

from grader.safe_text import visible


@pytest.mark.parametrize("hidden", [
    "\x1b", "\x07", "\x00", "\x7f", "\x9b",  # controls: ESC, bell, NUL, DEL, CSI
    "\u202e", "\u2067",  # a right-to-left override and isolate turn text round
    "\u200e", "\u200f", "\u061c",  # marks that reorder what follows
    "\u2028", "\u2029",  # line and paragraph separators: a new line to some readers
    "\u200b", "\u2060", "\ufeff",  # invisible: "ann" and "a\u200bnn" would look the same
])
def test_a_character_that_acts_or_hides_is_shown_as_its_escape(hidden: str) -> None:
    shown = visible(f"ok{hidden}ok")
    assert hidden not in shown
    assert shown == "ok" + hidden.encode("unicode_escape").decode() + "ok"


@pytest.mark.parametrize("text", [
    "привет, мир", "tab\tand\nnewline", "👋", "👨\u200d👩\u200d👧",  # a family: joined emoji
    "שלום", "مرحبا",  # right-to-left scripts themselves are text
])
def test_text_is_left_as_it_is(text: str) -> None:
    assert visible(text) == text
