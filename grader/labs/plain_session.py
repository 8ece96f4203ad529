"""A check's view of a server that speaks no known protocol: clients that look for the text
they sent, in whatever words and framing the server wraps it, and that give their name when
the server asks for it, whatever it asks, or stays quiet (grader/checks/behaviour.py).
"""

from __future__ import annotations

import socket
import time

from .. import protocol
from ..i18n import _
from .driver import WAIT, CheckFailed, cut_lines, reset, shorten
from .patience import Deadline
from .server_host import ServerHost
from .standstill import standstill

GREETING = 1.0  # how long a newcomer waits for the server to ask for something
PAUSE = 0.1  # nothing more for this long: the server has said all it says for now


class PlainClient:
    """A client that keeps all it received as one text: what it looks for is a substring."""

    def __init__(self, name: str, sock: socket.socket) -> None:
        self.name = name
        self.sock = sock
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.data = b""
        self.closed = False

    @property
    def heard(self) -> str:
        return self.data.decode(protocol.ENCODING, errors="replace")

    def send(self, text: str) -> None:
        try:
            self.sock.sendall((text + "\n").encode(protocol.ENCODING))
        except OSError:
            self.closed = True

    def read(self, within: float) -> bool:
        """Take what arrives within `within` s; False if nothing did."""
        if self.closed or within <= 0:
            return False
        self.sock.settimeout(within)
        try:
            data = self.sock.recv(65_536)
        except socket.timeout:
            return False
        except OSError:
            data = b""
        if not data:
            self.closed = True
            return False
        self.data += data
        return True

    def hears(self, text: str, within: float = WAIT) -> bool:
        deadline = Deadline(within)
        while text not in self.heard:
            if not self.read(deadline.left()) and (self.closed or not deadline.left()):
                return text in self.heard
        return True

    def quiet_for(self, seconds: float) -> None:
        while self.read(seconds):
            pass

    def hang_up(self) -> None:
        """Close politely (FIN). What arrived unread is read first: closing a socket with
        unread data sends a reset instead, and the server would see a crash, not a hang-up."""
        self.quiet_for(0.02)
        self.close()

    def reset(self) -> None:
        """Vanish abruptly (a TCP reset), as a crashed client would."""
        reset(self.sock)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def speaks_protocol(host: ServerHost) -> bool:
    """Does a newcomer get the protocol's prompt, as a line or alone, within WAIT s (what
    the scored checks' first client waits for)?"""
    with socket.create_connection(host.address, timeout=WAIT) as sock:
        client = PlainClient("probe", sock)
        deadline = Deadline(WAIT)
        while not _prompted(client.heard) and (client.read(deadline.left()) or
                                               not client.closed and deadline.left()):
            pass
        return _prompted(client.heard)


def _prompted(said: str) -> bool:
    lines = said.split("\n")
    return protocol.PROMPT in (line.rstrip("\r") for line in lines) or said == protocol.PROMPT


class PlainSession:
    """One check's server and its plain clients. Use as a context manager."""

    def __init__(self, host: ServerHost) -> None:
        self.host = host
        self.clients: list[PlainClient] = []
        self.ever_quiet = True
        self.silent_joins = False  # the members were told nothing when someone joined
        self.greets = True  # False once a newcomer was asked nothing: the next ones don't wait

    def connect(self, name: str) -> PlainClient:
        try:
            sock = socket.create_connection(self.host.address, timeout=WAIT)
        except OSError as error:
            raise CheckFailed(_("{who} could not connect to your server").format(who=name),
                              [("", str(error))]) from None
        client = PlainClient(name, sock)
        self.clients.append(client)
        return client

    def join(self, *names: str) -> list[PlainClient]:
        """Each connects, hears the server out (or a second of silence) and gives its name."""
        joined: list[PlainClient] = []
        members = [c for c in self.clients if not c.closed]
        for name in names:
            client = self.connect(name)
            if self.greets and client.read(GREETING):
                self.settle(client)
            else:
                self.greets = False
            client.send(name)
            if not self.settle(client):
                self._told(members)
            if client.closed:
                raise self.fails(_("your server closed {who}'s connection as {who} joined")
                                 .format(who=name),
                                 _("keep each client's connection open until it leaves."),
                                 client)
            members.append(client)
            joined.append(client)
        return joined

    def settle(self, client: PlainClient | None = None) -> bool:
        """Let the server finish what it was given (False: it cannot say when it has); what
        it said meanwhile is kept."""
        if self.ever_quiet:
            self.ever_quiet = self.host.quiet()
        if client is not None:
            client.quiet_for(0.02 if self.ever_quiet else PAUSE)
        return self.ever_quiet

    def _told(self, members: list[PlainClient]) -> None:
        """A join is done when the members hear of it, in whatever words; a server that tells
        them nothing gets a moment instead."""
        members = [member for member in members if not member.closed]
        if not members or self.silent_joins:
            time.sleep(PAUSE)
            return
        deadline = Deadline(WAIT)
        while deadline.left() and not all(member.closed for member in members):
            if any(member.read(0.02) for member in members):
                for member in members:
                    member.quiet_for(0.02)
                return
        self.silent_joins = True

    def fails(self, message: str, hint: str, who: PlainClient | None = None,
              waited: bool = False) -> CheckFailed:
        """A failure; `waited`: something did not arrive in time (see where the server is)."""
        details = []
        if who is not None:
            details.append((_("{who} received:").format(who=who.name),
                            shorten(who.heard) if who.heard else _("nothing")))
        for crash in list(dict.fromkeys(self.host.crashes))[:2]:
            details.append((_("meanwhile:"), cut_lines(crash, 160)))
        stood = standstill(self.host) if waited and self.host.alive() else None
        if stood:
            details.append((_("meanwhile:"), stood[0]))
            hint = stood[1] or hint
        ended = self.host.ended()
        if ended:
            details.insert(0, ("", message))
            message = ended
        return CheckFailed(message, details, hint, waited)

    def cpu_seconds(self, seconds: float) -> float:
        return self.host.cpu_seconds(seconds)

    def spinning(self) -> bool:
        return self.host.spinning

    def __enter__(self) -> PlainSession:
        return self

    def __exit__(self, *exc: object) -> None:
        for client in self.clients:
            client.close()
        self.host.close()
