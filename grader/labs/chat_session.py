"""A check's view of the student's server: a fresh host (labs/host.py) serving on 127.0.0.1,
and the clients the check connects to it. Crashes the host reports are kept to explain a failure.
"""

from __future__ import annotations

import time

from .. import protocol
from ..i18n import _
from .driver import WAIT, CheckFailed, Client, shorten
from .server_host import ServerHost


class Session:
    """One check's server and its clients. Use as a context manager."""

    def __init__(self, host: ServerHost):
        self.host = host
        self.clients: list[Client] = []
        self.address = host.address

    @property
    def crashes(self) -> list[str]:
        return self.host.crashes

    # -- what checks use --------------------------------------------------------------------
    def connect(self, name: str) -> Client:
        try:
            client = Client.connect(name, self.address)
        except OSError as error:
            raise CheckFailed(_("{who} could not connect to your server").format(who=name),
                              [("", str(error))]) from None
        self.clients.append(client)
        return client

    def arrive(self, name: str) -> Client:
        """Connect and wait for the name prompt (chat steps)."""
        waiting = [c.name for c in self.clients if not c.sent and not c.closed_by_server]
        client = self.connect(name)
        if waiting:  # the classic: the accept loop itself waits for a name
            hint = _("ask for the name in the client's own thread, not in the accept loop: "
                     "{who} has not answered yet, and no one else should have to wait.").format(
                         who=waiting[0])
        else:
            hint = _("send the prompt as soon as a client connects.")
        client.expect(protocol.PROMPT, hint=hint)
        return client

    def join(self, *names: str, members: list[Client] | None = None) -> list[Client]:
        """Bring clients into the chat one by one; every member (old and new) sees each join."""
        members = list(members or [])
        newcomers: list[Client] = []
        for name in names:
            newcomer = self.arrive(name)
            newcomer.send(name)
            if len(members) == 1 and len(members[0].received) == 1:
                self._settle_first_pair(members[0], newcomer)
            else:
                for member in members:
                    member.expect(protocol.joined(name),
                                  hint=_("tell everyone already in the chat who joined."))
            members.append(newcomer)
            newcomers.append(newcomer)
        return newcomers

    def _settle_first_pair(self, first: Client, second: Client) -> None:
        """Nothing shows when the first client's name is handled, so the server may take the
        second name first. Then the second client sees the first one join: also fine."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            line = first.read_line(0.02)
            if line == protocol.joined(second.name):
                return
            if line is not None:
                break
            if second.read_line(0.02) == protocol.joined(first.name):
                return
        first.expect(protocol.joined(second.name), within=0.05,
                     hint=_("tell everyone already in the chat who joined."))

    def cpu_seconds(self, seconds: float) -> float:
        """CPU time the student's server spends over `seconds` of wall time (from outside)."""
        return self.host.cpu_seconds(seconds)

    def thread_count(self) -> int:
        return self.host.thread_count()

    def spinning(self) -> bool:
        """Did the server call recv() again and again on a connection that had ended?"""
        return self.host.spinning

    # -- ending -----------------------------------------------------------------------------
    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for client in self.clients:
            client.close()
        self.host.close()

    def explain(self, failure: CheckFailed) -> CheckFailed:
        """Add what every client saw and any crash of the student's code to a failure."""
        for client in self.clients[:4]:  # enough to follow the story; 30 would drown it
            failure.details.append((_("{who} saw:").format(who=client.name), client.transcript()))
        for crash in list(dict.fromkeys(self.crashes))[:2]:
            failure.details.append((_("meanwhile:"), shorten(crash, 200)[1:-1]))
        if self.host.spinning:
            failure.details.append((_("meanwhile:"), _(
                "your server called recv() again and again on a connection that had ended")))
        elif self.host.alive() and self.host.busy():
            failure.details.append((_("meanwhile:"), _(
                "your server is using a whole CPU core: it is stuck computing (a loop that never "
                "ends, or a regular expression that backtracks)")))
        ended = self.host.ended()
        if ended:  # the one thing the student must hear first
            failure.details.insert(0, ("", failure.message))
            failure.message = ended
            if self.host.exit is not None:
                failure.hint = _("serve() must keep the process alive: never call os._exit() or "
                                 "kill a process from the server.")
        return failure
