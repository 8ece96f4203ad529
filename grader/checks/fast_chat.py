"""Checks of bonus step 06: a chat that stays fast and fair. It is step 04's chat, so every
check of 04 is one of 06's too (worth no points here: breaking 04's protocol still fails the
step); these add what 06 is about: unique names, a client that never reads, a clean end.
"""

from __future__ import annotations

import socket
import threading
import time

from .. import protocol
from ..i18n import _
from ..labs.chat_session import Session, relayed
from ..labs.driver import WAIT, CheckFailed, Client, shorten
from ..labs.patience import Deadline
from . import chat  # noqa: F401  (step 04's checks, registered before they are inherited)
from .registry import check, inherit

FLOOD_LINES = 1000  # of 8 KB: 8 MB, far more than the kernel buffers for a silent reader
FLOOD_LINE = 8000  # bytes of text in each
FLOOD_WITHIN = 10.0  # seconds for the others to get all of it
SLOTH_BUFFER = 4096  # the silent reader's receive buffer (SO_RCVBUF)
MEMORY_GROWTH = 64 * 2**20  # what the server may keep for a reader that never reads
# A drop may come of a byte budget (at once) or of a send timeout (once the kernel's buffers
# are full, which the flood makes sure of, and the timeout has passed): both are policies, and
# with 1 s a server dropping after 0.5 s without progress passed in 3 runs of 6.
DROP_WITHIN = 3.0  # seconds after bob has all of the flood
RETURN_WITHIN = 3.0  # seconds for serve() to return once its listener is closed
STALL = 0.5  # seconds bob's lines may stop: a broadcast waiting on sloth stops them longer
WITNESSES = 8  # members who hear of each join: a join's broadcast takes a while, as in a class


@check("06", points=2, after="asks_for_name")
def refuses_a_taken_name(server: Session) -> None:
    """asks again when the name is taken"""
    # wendy hears alice join: then alice's name is surely taken (a moment's rest of the
    # server, which a busy machine may not give, is not proof enough)
    _wendy, alice = server.join("wendy", "alice")
    impostor = server.arrive("bob")
    impostor.send("alice")
    impostor.expect(protocol.NAME_TAKEN, hint=_(
        "a name already in the chat gets \"{taken}\", and the client answers again.").format(
            taken=protocol.NAME_TAKEN))
    impostor.send("bob")
    alice.expect(protocol.joined("bob"), hint=_("after a taken name, the next answer is the "
                                                 "client's name."))


@check("06", points=1, after="refuses_a_taken_name")
def refused_client_leaves_owner_alone(server: Session) -> None:
    """keeps a name's owner in the chat when a client refused that name hangs up"""
    wendy, alice = server.join("wendy", "alice")
    impostor = server.arrive("bob")
    impostor.send("alice")
    impostor.expect(protocol.NAME_TAKEN)
    impostor.close()  # it never joined: alice is still alice
    server.settle()
    hint = _("a refused client never joined: when it goes, take out and announce only the "
             "client that is in the chat (compare the client, not its name).")
    wendy.send("still there, alice?")
    alice.expect(relayed("wendy", "still there, alice?"), hint=hint)
    wendy.expect_nothing(hint=hint)


@check("06", points=3, after="refuses_a_taken_name", races="locks")
def one_winner_for_one_name(server: Session) -> None:
    """gives a name to one client only, when many pick it at once"""
    wendy, *_crowd = server.join("wendy", *(f"w{n}" for n in range(WITNESSES)))
    hopefuls = [server.arrive(f"ann{n}") for n in range(10)]
    for hopeful in hopefuls:  # the name, waiting for its line end in the server's threads
        hopeful.send_raw(b"ann")
    server.settle()
    for hopeful in hopefuls:  # then the line ends, as close together as sockets allow: to
        hopeful.sock.send(b"\n")  # check a name and take it must be one step
    hopefuls[0].sent_lines.append("ann")
    deadline = time.monotonic() + WAIT
    refused = [h for h in hopefuls if h.wait_for(protocol.NAME_TAKEN, within=max(
        0.01, deadline - time.monotonic()))]
    wendy.wait_for(protocol.joined("ann"), within=WAIT)
    time.sleep(0.2)  # a second notice, if there is one, has had its moment
    notices = [line for line in wendy.drain() if line == protocol.joined("ann")]
    if len(refused) != len(hopefuls) - 1 or len(notices) != 1:
        raise CheckFailed(
            _("10 clients asked for the name ann at once, and {n} of them got it").format(
                n=len(hopefuls) - len(refused)),
            [(_("expected:"), _("exactly one gets it, 9 hear {taken}").format(
                taken=shorten(protocol.NAME_TAKEN))),
             (_("wendy was told:"), _("{n} times that ann joined").format(n=len(notices)))],
            _("check that a name is free and take it under one lock, in one step."))


@check("06", points=6, after="relays_to_others", timeout=30)
def reader_that_never_reads_stalls_nobody(server: Session) -> None:
    """keeps the chat going while one client reads nothing"""
    _flood(server, stalls=True)


@check("06", points=4, after="reader_that_never_reads_stalls_nobody", timeout=30)
def drops_a_client_that_never_reads(server: Session) -> None:
    """drops a client that reads nothing, tells the others, and keeps its memory"""
    before = server.memory()
    bob = _flood(server)
    if not bob.wait_for(protocol.left("sloth"), within=DROP_WITHIN):
        raise CheckFailed(
            _("sloth read nothing while 8 MB came its way, and was not dropped"),
            [(_("bob expected:"), shorten(protocol.left("sloth"))),
             (_("bob received:"), _("nothing of it within {s:g} s").format(s=DROP_WITHIN))],
            _("bound each client's queue; when it is full, close that client and tell the "
              "others it left."), waited=True)
    grown = server.memory() - before
    if grown > MEMORY_GROWTH:
        raise CheckFailed(
            _("your server kept {mb} MB for a client that reads nothing").format(
                mb=grown // 2**20),
            [(_("expected:"), _("under {mb} MB").format(mb=MEMORY_GROWTH // 2**20))],
            _("bound each client's queue (a byte budget), and drop the client past it."))


@check("06", points=4, after="asks_for_name")
def ends_when_the_listener_closes(server: Session) -> None:
    """returns from serve() once its listener is closed, every client thread ended"""
    idle = server.thread_count()
    alice, bob = server.join("alice", "bob")
    mallory = server.arrive("mallory")  # still at the prompt
    server.host.close_listener()
    if not server.host.returned.wait(RETURN_WITHIN):
        raise CheckFailed(
            _("serve() did not return within {s:g} s of its listener being closed").format(
                s=RETURN_WITHIN),
            [(_("threads:"), _("{n} still running").format(n=server.thread_count()))],
            _("when accept() raises OSError, the listener is closed: close every client, "
              "join their threads, and return."), waited=True)
    for client in (alice, bob, mallory):
        client.expect_closed(hint=_("before serve() returns, close every client's "
                                    "connection."))
    deadline = time.monotonic() + 0.5  # serve()'s thread says it returned, then ends
    while (left := server.thread_count()) >= idle and time.monotonic() < deadline:
        time.sleep(0.01)
    if left >= idle:  # the host's own threads, less serve()'s, which has returned
        raise CheckFailed(
            _("serve() returned with {n} of its threads still running").format(
                n=left - idle + 1),
            [(_("threads before any client:"), str(idle)), (_("threads now:"), str(left))],
            _("join every client's thread (and writer thread) before serve() returns."))


def _flood(server: Session, stalls: bool = False) -> Client:
    """sloth (a tiny receive buffer) joins and never reads again; ann sends 8 MB that bob
    must get all of, in time (and, with `stalls`, without a pause of STALL s or more: what a
    broadcast that waits on sloth's full socket makes). bob, for what follows."""
    sloth = _tiny_buffer_client(server)
    sloth.expect(protocol.PROMPT)
    sloth.send("sloth")
    ann, bob = server.join("ann", "bob", members=[sloth])
    line = "x" * (FLOOD_LINE - 6)
    lines = [f"{n:05} {line}" for n in range(FLOOD_LINES)]
    payload = "".join(text + "\n" for text in lines).encode()
    sent = threading.Event()

    def send() -> None:
        try:
            ann.sock.settimeout(FLOOD_WITHIN)
            ann.sock.sendall(payload)
        except OSError:
            pass
        sent.set()

    threading.Thread(target=send, daemon=True, name="flood").start()
    got, deadline = 0, time.monotonic() + FLOOD_WITHIN
    prefix = protocol.message("ann", "")
    others = []  # a notice that sloth left, say: for the caller
    pause: Deadline | None = None  # from bob's last line of ann's
    longest = last = 0.0
    while got < FLOOD_LINES and time.monotonic() < deadline:
        received = bob.read_line(within=max(0.01, deadline - time.monotonic()))
        if received is None:
            break
        if received.startswith(prefix):
            got += 1
            now = time.monotonic()
            if pause is not None and not pause.left():  # longer, though the server had a CPU
                longest = max(longest, now - last)
            pause, last = Deadline(STALL), now
        else:
            others.append(received)
    bob.unread = others + bob.unread
    if got < FLOOD_LINES:
        raise CheckFailed(
            _("bob got {got} of ann's {total} lines while sloth read nothing").format(
                got=got, total=FLOOD_LINES),
            [(_("expected:"), _("all of them within {s:g} s").format(s=FLOOD_WITHIN)),
             (_("ann sent:"), _("all of it") if sent.is_set() else
              _("not all: your server stopped reading her"))],
            _("one client that does not read must not stall the others: give each client "
              "its own queue and a writer thread, so a broadcast never waits on a socket."),
            waited=True)
    if stalls and longest:
        raise CheckFailed(
            _("bob's lines stopped for {s:.1f} s while sloth read nothing").format(s=longest),
            [(_("expected:"), _("no pause of {s:g} s or more").format(s=STALL))],
            _("a broadcast waited on sloth's full socket, and everyone waited with it: never "
              "call sendall() for one client where the others wait; give each client its own "
              "queue and writer thread (or send with MSG_DONTWAIT)."))
    return bob


def _tiny_buffer_client(server: Session) -> Client:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SLOTH_BUFFER)  # before connect
    sock.settimeout(WAIT)
    sock.connect(server.address)
    client = Client("sloth", sock)
    client.unframed = server.wire.get("unframed", False)
    server.clients.append(client)
    return client


# A taken name is refused here; and a thread per client is 04's lesson, not 06's rule: an
# event loop (selectors, asyncio) that stays fast and fair is one too (audit, round 5).
inherit("06", "04", but=("same_name_twice", "uses_threads"))
