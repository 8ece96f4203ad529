"""A check's view of the student's server: a fresh host (labs/host.py) serving on 127.0.0.1,
and the clients the check connects to it. Crashes the host reports are kept to explain a failure.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from .. import protocol
from ..i18n import _
from .driver import WAIT, CheckFailed, Client, Like, cut_lines, shorten
from .patience import Deadline
from .server_host import ServerHost
from .standstill import standstill

SETTLE = 0.1  # seconds a join is given when the server sends no notice that it happened
PROMPT_CHECK = "asks_for_name"  # the check a first client's prompt decides (see arrive())


def relayed(name: str, text: str) -> Like:
    """`text` from `name` as relayed, in the protocol's form or with a prefix of its own."""
    def test(line: str) -> bool:
        return line == text or (line.endswith(text) and name in line[: len(line) - len(text)])

    return Like(_("{text} from {who}, in any form").format(text=shorten(text), who=name), test)


class Session:
    """One check's server and its clients. Use as a context manager."""

    def __init__(self, host: ServerHost, wire: dict | None = None, chat: bool = True):
        self.host = host
        self.chat = chat  # steps 03 on: the server never sends an empty line (not an echo's)
        # What this step's server was seen to do, shared by its checks: when its prompt came
        # without "\n", "bare_prompt" if it reads lines (then the prompt is a line as it is),
        # else "unframed" (then every client of ours reads and sends unframed).
        self.wire = wire if wire is not None else {}
        self.clients: list[Client] = []
        self.address = host.address
        self.notices_missing = False  # then join() waits a moment instead of for notices
        self.first_pair_settled = False
        self.ever_quiet = True  # False once the server was asked and did not settle: ask no more

    @property
    def crashes(self) -> list[str]:
        return self.host.crashes

    # -- what checks use --------------------------------------------------------------------
    def connect(self, name: str, framed: bool = False) -> Client:
        """A client; `framed`: one that reads lines by their "\n" only, whatever was learned."""
        try:
            client = Client.connect(name, self.address)
        except OSError as error:
            raise CheckFailed(_("{who} could not connect to your server").format(who=name),
                              [("", str(error))]) from None
        client.unframed = self.wire.get("unframed", False) and not framed
        client.bare_is_line = self.wire.get("bare_prompt", False) and not framed
        client.skips_blank = self.chat
        self.clients.append(client)
        return client

    def arrive(self, name: str) -> Client:
        """Connect and wait for the name prompt (chat steps)."""
        waiting = [c.name for c in self.clients if not c.sent and not c.closed_by_server]
        first = not self.clients
        threads = self.thread_count() if waiting else 0
        client = self.connect(name)
        hint = _("send the prompt as soon as a client connects.")
        client.bare = protocol.PROMPT.encode(protocol.ENCODING)  # a prompt without "\n": learn
        try:
            client.expect(protocol.PROMPT, hint=hint)
        except CheckFailed as failure:
            if waiting and failure.hint == hint:  # someone before it has not answered yet
                failure.hint = self._waits_for_a_name(name, waiting[0], threads)
            if first:  # what PROMPT_CHECK judges: the step's later checks need not wait for it
                self.wire.setdefault("prompt", False)
                if failure.hint == hint and client.received:  # a prompt, in other words
                    failure.hint = _("your server asks with {line}, the protocol with {prompt}: "
                                     "send that exactly (a course with words of its own gives "
                                     "them to grader --protocol FILE.toml).").format(
                                         line=shorten(client.received[0]),
                                         prompt=shorten(protocol.PROMPT))
            raise
        if first:
            self.wire.setdefault("prompt", True)
        if client.saw_bare:  # ends_lines_with_newline judges it; the others go on as follows
            if self.wire.get("reads_lines"):  # only its prompt lacks "\n": it is a line as is
                self.wire["bare_prompt"] = True
                for one in self.clients:
                    one.bare_is_line = True
            else:  # a recv() is a message to it, as in the assignment's sample: pauses frame
                self.wire["unframed"] = True
                for one in self.clients:
                    one.unframed = True
        return client

    def _waits_for_a_name(self, name: str, who: str, threads: int) -> str:
        """Why `name` got no prompt while `who` has not given its name: a thread was started
        for it (it waits for a lock `who`'s thread holds), or none (the accept loop waits)."""
        if self.thread_count() > threads:
            return _("your server started a thread for {name}, but it sent no prompt: it waits, "
                     "it seems, for a lock that {who}'s thread holds while it waits for a name. "
                     "Ask for the name first; take the lock only to add the client.").format(
                         name=name, who=who)
        return _("ask for the name in the client's own thread, not in the accept loop: {who} "
                 "has not answered yet, and no one else should have to wait.").format(who=who)

    def join(self, *names: str, members: list[Client] | None = None) -> list[Client]:
        """Bring clients into the chat one by one. Join notices are waited for, so that what
        follows reaches everyone, but never required: a server whose notices are wrong or
        missing is judged on them by the checks about notices, not by every check."""
        members = list(members or [])
        newcomers: list[Client] = []
        for name in names:
            self.settle()
            newcomer = self.arrive(name)
            newcomer.send(name)
            if len(members) == 1 and not self.first_pair_settled:
                self.settle_first_pair(members[0], newcomer)
            elif self.notices_missing:
                time.sleep(SETTLE)  # no notice to wait for: a moment for the join, once
            else:
                for member in members:
                    self._noticed(member, protocol.joined(name))
            members.append(newcomer)
            newcomers.append(newcomer)
        self.settle()  # the last join's broadcast has ended too
        return newcomers

    def settle(self) -> None:
        """Let the server finish what it was given (a broadcast, a leave) before the next
        join: a join in the middle of a broadcast is a race, and only the checks about races
        should start one."""
        if self.ever_quiet:
            self.ever_quiet = self.host.quiet()

    def _noticed(self, member: Client, notice: str) -> None:
        """Take `notice` if it comes; if this server sends none, wait a moment instead."""
        if self.notices_missing:
            return
        if member.wait_for(notice, within=WAIT):
            member.expect(notice)
        else:
            self.notices_missing = True

    def settle_first_pair(self, first: Client, second: Client) -> bool:
        """Nothing shows when the first client's name is handled, so the server may take the
        second name first. Then the second client sees the first one join: also fine.
        True when one of the two notices came."""
        self.first_pair_settled = True
        deadline = Deadline(WAIT)
        while deadline.left() and not self.notices_missing:
            for one, other in ((first, second), (second, first)):
                if one.wait_for(protocol.joined(other.name), within=0.02):
                    one.expect(protocol.joined(other.name))
                    return True
        self.notices_missing = True
        return False

    def relay_format(self, sender: Client, receivers: list[Client]) -> Callable[[str, str], str]:
        """How this server relays a line, learned from one probe of `sender`'s: fmt(name, text)
        with whatever it puts around the text ('alice: ' as the protocol says, or its own
        way). Checks about framing and encoding use it: a wrong prefix costs the prefix check."""
        probe = "probe"
        sender.send(probe)
        formats = set()
        for receiver in receivers:
            (got,) = receiver.expect(relayed(sender.name, probe), hint=_(
                "send each line to every other member of the chat."))
            formats.add(got[: len(got) - len(probe)])
        prefix = formats.pop() if len(formats) == 1 else protocol.message(sender.name, "")
        template = prefix.replace(sender.name, "\0")
        return lambda name, text: template.replace("\0", name) + text

    def cpu_seconds(self, seconds: float) -> float:
        """CPU time the student's server spends over `seconds` of wall time (from outside)."""
        return self.host.cpu_seconds(seconds)

    def thread_count(self) -> int:
        return self.host.thread_count()

    def memory(self) -> int:
        """Bytes of memory the student's server holds now (from outside)."""
        return self.host.memory()

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

    def symptom(self, named: str = "") -> str:
        """A hint from what was seen, where it says more than the check's own: '' if not. The
        clients whose names are in `named` (the failure's text) are looked at first."""
        crashes = " ".join(self.crashes)
        if "changed size during iteration" in crashes or "mutated during iteration" in crashes:
            return _("the chat's members changed while a loop went over them: loop over a "
                     "copy (list(...)) or remove after the loop, and guard every use of them "
                     "with one lock.")
        for client in self._named_first(named):
            if sum(other.name == client.name for other in self.clients) > 1:
                continue  # a namesake's lines and notices are no echo (same_name_twice)
            echoes = [line for line in client.received
                      for sent in client.sent_lines if sent.strip() and sent != protocol.LEAVE
                      and line != sent and line.endswith(sent) and client.name in line]
            if echoes:
                return _("{who} got its own line back ({line}): skip the sender's own socket "
                         "when you broadcast.").format(who=client.name, line=shorten(echoes[0]))
            if protocol.joined(client.name) in client.received:
                return _("{who} was told that it joined itself: announce a newcomer to the "
                         "others only.").format(who=client.name)
        for client in self._named_first(named):  # a sender's line alone, others prefixed
            for sender in self.clients:
                texts = [t for t in sender.sent_lines[1:] if t.strip()]  # not the name
                bare = [t for t in texts if t in client.received]
                framed = [line for line in client.received for t in texts
                          if line != t and line.endswith(t) and sender.name in line]
                if sender is not client and bare and framed:
                    return _("{who} got {line} alone, without the sender's name: two lines "
                             "arrived as one, and one recv() is not one message. Buffer until "
                             "b'\\n'.").format(who=client.name, line=shorten(bare[0]))
        return ""

    def _named_first(self, named: str) -> list[Client]:
        """The clients, those whose names are in `named` first (else in order of arrival)."""
        return sorted(self.clients, key=lambda client: client.name not in named)

    def explain(self, failure: CheckFailed) -> CheckFailed:
        """Add what every client saw and any crash of the student's code to a failure."""
        # those the failure names first; four are enough to follow the story, 30 would drown it
        named = " ".join([failure.message, *(str(label) for label, _value in failure.details)])
        for client in self._named_first(named)[:4]:
            failure.details.append((_("{who} saw:").format(who=client.name), client.transcript()))
        for crash in list(dict.fromkeys(self.crashes))[:2]:
            failure.details.append((_("meanwhile:"), cut_lines(crash, 160)))
        symptom = self.symptom(named)
        if symptom:
            failure.hint = symptom
        if self.host.spinning:
            failure.details.append((_("meanwhile:"), _(
                "your server called recv() again and again on a connection that had ended")))
        elif self.host.alive() and self.host.busy():
            failure.details.append((_("meanwhile:"), _(
                "your server is using a whole CPU core: it is stuck computing (a loop that never "
                "ends, or a regular expression that backtracks)")))
        elif failure.waited and self.host.alive():
            stood = standstill(self.host)
            if stood:
                failure.details.append((_("meanwhile:"), stood[0]))
                failure.hint = stood[1] or failure.hint
        ended = self.host.ended()
        if ended:  # the one thing the student must hear first
            failure.details.insert(0, ("", failure.message))
            failure.message = ended
            if self.host.exit is not None:
                failure.hint = _("serve() must keep the process alive: never call os._exit() or "
                                 "kill a process from the server.")
        return failure
