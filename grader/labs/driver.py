"""A conversational socket client for checks: alice.send("hi"); bob.expect("alice: hi").

Every wait has a deadline: "nothing arrived within 1 s" is a verdict, never a hang.
A failed expectation raises CheckFailed with what was sent, expected and received.
"""

from __future__ import annotations

import difflib
import select
import socket
import struct
import time
from collections.abc import Callable, Iterable
from typing import Union

from .. import protocol
from ..i18n import _
from ..protocol import ENCODING, NEWLINE
from .patience import Deadline

WAIT = 1.0  # how long an expected line may take
QUIET = 0.3  # how long "nothing arrives" is watched; sparingly: prefer a later line as proof
MAX_SHOWN = 72  # longer values are shortened in the middle
REPLACEMENT = "\ufffd"  # what decode(errors="replace") puts where a character was cut
GAP = 0.05  # unframed: a pause this long ends a message that has no "\n"
BARE_PAUSE = 0.5  # a prompt without "\n" for this long: the server is unframed


class Like:
    """An expected line that may take more than one form: `test(line)` says if it is one."""

    def __init__(self, description: str, test: Callable[[str], bool]) -> None:
        self.description = description
        self.test = test

    def __str__(self) -> str:
        return self.description


Expected = Union[str, Like]


def nearly(wanted: str, lines: list[str]) -> str | None:
    """The line of `lines` most like `wanted` without being it (a prompt with a space at its
    end, 'bob: is amongst you now' for 'bob is amongst you now'), if one is close."""
    scored = [(difflib.SequenceMatcher(None, wanted, line).ratio(), line) for line in lines
              if line != wanted]
    best = max(scored, default=(0.0, ""))
    return best[1] if best[0] >= 0.8 else None


def _matches(expected: Expected, line: str) -> bool:
    return expected.test(line) if isinstance(expected, Like) else expected == line


def _shown(expected: Expected) -> str:
    return expected.description if isinstance(expected, Like) else shorten(expected)


class CheckFailed(AssertionError):
    """A check's verdict: a one-line message, (label, value) details, and a hint. `waited`: the
    server did not do what it should in time (a line that never came, a connection left open),
    so what holds it up is worth a look."""

    def __init__(self, message: str, details: Iterable[tuple[str, str]] = (), hint: str = "",
                 waited: bool = False):
        super().__init__(message)
        self.message = message
        self.details = list(details)
        self.hint = hint
        self.waited = waited


def shorten(value: str | bytes, limit: int = MAX_SHOWN) -> str:
    """repr() with invisible characters visible, cut in the middle when long."""
    return cut(repr(value), limit)


def shorten_lines(lines: list[str]) -> str:
    """The first three lines, shortened, and how many more."""
    text = ", ".join(shorten(line) for line in lines[:3])
    more = len(lines) - 3
    return text + _(" and {n} more").format(n=more) if more > 0 else text


def cut(text: str, limit: int = MAX_SHOWN) -> str:
    """`text` cut in the middle when it is longer than `limit`."""
    if len(text) <= limit:
        return text
    keep = (limit - 15) // 2
    more = _("…({n} more)…").format(n=len(text) - 2 * keep)
    return f"{text[:keep]}{more}{text[-keep:]}"


def cut_lines(text: str, limit: int = MAX_SHOWN) -> str:
    """Each line of `text` cut as cut() does."""
    return "\n".join(cut(line, limit) for line in text.split("\n"))


def reset(sock: socket.socket) -> None:
    """Close `sock` with a TCP reset (RST), as a crashed client's would be."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass


class Client:
    """One TCP client of the server under test, with a name for the transcript."""

    def __init__(self, name: str, sock: socket.socket):
        self.name = name
        self.sock = sock
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buffer = b""
        self.unread: list[str] = []  # lines set aside by expect(): a later one may want them
        self.closed_by_server = False
        self.received: list[str] = []  # every complete line, for the transcript
        self.sent: list[str] = []  # what was sent, as shown
        self.sent_lines: list[str] = []  # the lines sent, as text: to read the symptoms
        # Unframed: the server ends no line with "\n" (the assignment's own sample does not).
        # Then a pause ends a message, and ours go without "\n", one send each, apart.
        self.unframed = False
        self.bare = b""  # a line that may come without "\n" (the prompt): see _read_new
        self.saw_bare = False  # it did
        self.bare_is_line = False  # this server's prompt is known to come without "\n"
        # A chat server never sends an empty line: one ("\n" added twice) is counted and set
        # aside, for ends_lines_with_newline to judge and for no other check to trip over.
        self.skips_blank = False
        self.blank_lines = 0

    @classmethod
    def connect(cls, name: str, address: tuple[str, int]) -> Client:
        return cls(name, socket.create_connection(address, timeout=WAIT))

    # -- sending ------------------------------------------------------------------------------
    def send(self, *lines: str) -> None:
        """Send each line with its "\\n", all in one sendall() (unframed: each on its own)."""
        if not self.unframed:
            self.send_raw("".join(line + NEWLINE for line in lines).encode(ENCODING))
            return
        for n, line in enumerate(lines):
            if n:
                time.sleep(GAP)  # so that each arrives in a recv() of its own
            self.send_raw(line.encode(ENCODING))
            self.sent_lines.append(line)

    def send_raw(self, data: bytes) -> None:
        self.sent.append(shorten(data))
        text = data.decode(ENCODING, errors="replace")
        self.sent_lines += [line.rstrip("\r") for line in text.split("\n")[:-1]]
        try:
            self.sock.sendall(data)
        except OSError as error:
            raise CheckFailed(
                _("{who} could not send: the server closed the connection").format(who=self.name),
                [(_("{who} sent:").format(who=self.name), shorten(data)), ("", str(error))],
            ) from None

    # -- receiving ----------------------------------------------------------------------------
    def read_line(self, within: float = WAIT) -> str | None:
        """The next complete line (without "\\n"), or None if none arrived in time or EOF."""
        if self.unread:
            return self.unread.pop(0)
        return self._read_new(within)

    def _read_new(self, within: float | Deadline) -> str | None:
        """The next line from the socket (not from those set aside)."""
        deadline = within if isinstance(within, Deadline) else Deadline(within)
        looked = False
        self._drop_blank_lines()
        while b"\n" not in self.buffer and not self._bare_first():
            if self.closed_by_server:
                return None
            remaining = deadline.left()
            pending = bool(self.buffer) and (self.unframed or self.buffer.strip() == self.bare)
            if remaining > 0:
                # A prompt without "\n" is waited for longer before it counts as unframed: a
                # server descheduled between its two sends must not be taken for one.
                pause = GAP if self.unframed else BARE_PAUSE
                self.sock.settimeout(min(remaining, pause) if pending else remaining)
            # Past the deadline, one last look without waiting (select, so that the socket's
            # timeout stays as it was): on a crowded CPU this thread may run again only after
            # the deadline, when what arrived in time waits in the socket.
            elif looked or not select.select([self.sock], [], [], 0)[0]:
                return None
            else:
                looked = True  # readable: recv() returns at once
            try:
                data = self.sock.recv(65_536)
            except socket.timeout:
                if pending:  # a whole message, without its "\n"
                    self.saw_bare = self.saw_bare or not self.unframed
                    self.buffer += b"\n"
                continue  # the deadline may have grown (patience.py), or one last look
            except OSError:
                data = b""
            if not data:
                self.closed_by_server = True
                return None
            self.buffer += data
            self._drop_blank_lines()
        if self._bare_first():  # what follows it may have come in the same recv()
            raw, self.buffer = self.bare, self.buffer[len(self.bare):].lstrip(b" \t")
        else:
            raw, self.buffer = self.buffer.split(b"\n", 1)
        line = raw.decode(ENCODING, errors="backslashreplace")
        self.received.append(line)
        return line

    def _drop_blank_lines(self) -> None:
        """Empty lines at the buffer's start, where none belong: counted, shown in the
        transcript, and never read as lines (see skips_blank)."""
        while self.skips_blank and self.buffer.startswith((b"\n", b"\r\n")):
            self.buffer = self.buffer[self.buffer.index(b"\n") + 1:]
            self.blank_lines += 1
            self.received.append("")

    def _bare_first(self) -> bool:
        return self.bare_is_line and bool(self.bare) and self.buffer.startswith(self.bare)

    def expect(self, *lines: Expected, within: float = WAIT, hint: str = "",
               ordered: bool = False) -> list[str]:
        """Each of `lines` must arrive, each within `within` seconds; the lines found. Lines a
        check is not about (a notice, an echo) are set aside, shown in the transcript, and may
        be expected later. `ordered`: one of `lines` arriving before an earlier one fails."""
        found = []
        for n, line in enumerate(lines):
            got = self._take(line, within, lines[n + 1:] if ordered else ())
            if got is None or not _matches(line, got):
                aside = [got] if got is not None else self.unread
                received = (self._describe(got, within) if not aside else
                            _("{line} first").format(line=shorten(got, 60)) if got is not None
                            else _("{lines}, and then nothing within {s:g} s").format(
                                lines=", ".join(shorten(x) for x in aside[-3:]), s=within))
                if REPLACEMENT in "".join(aside + [got or ""]) and REPLACEMENT not in str(line):
                    hint = _("the line arrived with a broken character (U+FFFD): decode whole "
                             "lines, not each recv(); a Cyrillic letter is two bytes.")
                elif isinstance(line, str) and (protocol.is_notice(line)
                                                or line == protocol.PROMPT):
                    near = nearly(line, aside)  # the wire's own strings, nearly right
                    if near is not None:
                        hint = _("the line reads {got}, the protocol says {wanted}: send it "
                                 "exactly so.").format(got=shorten(near), wanted=shorten(line))
                raise CheckFailed(
                    _("{who} did not receive the expected line").format(who=self.name),
                    [(_("{who} expected:").format(who=self.name), _shown(line)),
                     (_("{who} received:").format(who=self.name), received)],
                    hint, waited=not aside and not self.buffer and not self.closed_by_server,
                )
            found.append(got)
        return found

    def _take(self, line: Expected, within: float, later: tuple = ()) -> str | None:
        """The line that meets `line`, from those set aside or as it arrives; or, first, one
        that meets a line of `later` (out of order: the caller fails)."""
        for n, kept in enumerate(self.unread):
            if _matches(line, kept) or any(_matches(after, kept) for after in later):
                return self.unread.pop(n)
        deadline = Deadline(within)
        passed_over: list[str] = []
        try:
            while True:
                got = self._read_new(deadline)
                if got is None or _matches(line, got) or any(_matches(a, got) for a in later):
                    return got
                passed_over.append(got)
        finally:
            self.unread += passed_over

    def wait_for(self, line: Expected, within: float = QUIET) -> bool:
        """Wait until `line` arrives (no verdict either way); other lines stay to be read."""
        got = self._take(line, within)
        if got is not None:
            self.unread.insert(0, got)  # not consumed: a later expect() still sees it
        return got is not None

    def drain(self, within: float = 0.05) -> list[str]:
        """Every line that has come, those set aside first; each further one waited for
        `within` seconds. They are taken: a later expect() does not see them."""
        lines, self.unread = self.unread, []
        while (line := self.read_line(within=within)) is not None:
            lines.append(line)
        return lines

    def expect_nothing(self, within: float = QUIET, hint: str = "",
                       but: Expected | None = None) -> None:
        """Nothing at all may arrive within `within` seconds (not even part of a line), and
        nothing may have been set aside; except, if given, whole lines that meet `but`."""
        deadline = time.monotonic() + within
        if but is not None:
            self.unread = [line for line in self.unread if not _matches(but, line)]
            while not self.unread and (left := deadline - time.monotonic()) > 0:
                got = self._read_new(Deadline(left, patient=False))
                if got is None:
                    break
                if not _matches(but, got):
                    self.unread.append(got)
        if self.unread:
            self.buffer = "".join(line + "\n" for line in self.unread).encode() + self.buffer
            self.unread = []
        self._drop_blank_lines()
        while not self.buffer and not self.closed_by_server:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(65_536)
            except socket.timeout:
                return
            except OSError:
                data = b""
            if not data:
                self.closed_by_server = True
            self.buffer += data
            self._drop_blank_lines()
        got = self.buffer.decode(ENCODING, errors="backslashreplace")
        raise CheckFailed(
            _("{who} received something it should not have").format(who=self.name),
            [(_("{who} expected:").format(who=self.name), _("nothing")),
             (_("{who} received:").format(who=self.name),
              shorten(got) if got else _("the connection was closed"))],
            hint,
        )

    def expect_closed(self, within: float = WAIT, hint: str = "") -> list[str]:
        """The server must close this connection within `within` seconds; what arrived before
        the end is returned (a check may judge it), not held against the close."""
        deadline = Deadline(within)
        before = list(self.unread)
        self.unread = []
        while True:
            got = self._read_new(deadline)
            if got is None:
                break
            before.append(got)
        if self.closed_by_server and not self.buffer:
            return before
        raise CheckFailed(
            _("{who}'s connection was not closed").format(who=self.name),
            [(_("{who} expected:").format(who=self.name),
              _("the connection closed within {s:g} s").format(s=within)),
             (_("{who} received:").format(who=self.name), self._describe(None, within))],
            hint, waited=True,
        )

    def _describe(self, got: str | None, within: float) -> str:
        if got is not None:
            return shorten(got)
        if self.buffer:
            partial = self.buffer.decode(ENCODING, errors="backslashreplace")
            return _("{text} and no newline after it").format(text=shorten(partial))
        if self.closed_by_server:
            return self.closed_text()
        return _("nothing within {s:g} s").format(s=within)

    def closed_text(self) -> str:
        """What it is when the other end closed (here: the server under test)."""
        return _("the server closed the connection")

    # -- ending -------------------------------------------------------------------------------
    def close(self) -> None:
        """Hang up politely (FIN), without saying leave."""
        try:
            self.sock.close()
        except OSError:
            pass

    def reset(self) -> None:
        """Vanish abruptly: close with a TCP reset (RST), as a crashed client would."""
        reset(self.sock)

    def transcript(self) -> str:
        seen = ", ".join(shorten(line, 40) for line in self.received[-6:]) or _("nothing")
        return seen
