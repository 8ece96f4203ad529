"""How a chat server behaves, whatever its words: for a server whose prompt is not the
protocol's (a course of its own, or the student's own strings), the scored checks stop at the
prompt. These judge what needs no exact string: a line's text reaches the others, and so on.
They score nothing, are shown apart from the score, and run only for such a server (the
`plain` fixture skips them for one that speaks the protocol).
"""

from __future__ import annotations

import time

from ..i18n import _
from ..labs.driver import QUIET, WAIT, CheckFailed, shorten
from ..labs.plain_session import PlainSession
from .registry import check

CROWD = 30


@check("04", points=0, behaviour=True)
def reaches_the_others(plain: PlainSession) -> None:
    """a line one client sends reaches the others, its text intact"""
    ann, bob, cat = plain.join("ann", "bob", "cat")
    text = "the kettle is on"
    ann.send(text)
    for other in (bob, cat):
        if not other.hears(text):
            raise plain.fails(_("{who} did not get {text}, which ann sent").format(
                who=other.name, text=shorten(text)),
                _("send each line to every other client."), other, waited=True)


@check("04", points=0, behaviour=True, after="reaches_the_others")
def not_back_to_sender(plain: PlainSession) -> None:
    """does not send a line back to its sender"""
    ann, bob = plain.join("ann", "bob")
    text = "is anyone here"
    ann.send(text)
    bob.hears(text)
    if ann.hears(text, within=QUIET):
        raise plain.fails(_("ann got her own line back"),
                          _("skip the sender's own socket when you broadcast."), ann)


@check("04", points=0, behaviour=True, after="reaches_the_others")
def still_relays_after_a_client_vanished(plain: PlainSession) -> None:
    """still relays after a client vanished without a word"""
    ann, bob, dan = plain.join("ann", "bob", "dan")
    dan.reset()
    plain.settle()
    for text in ("still there", "hello again"):
        ann.send(text)
        if not bob.hears(text):
            raise plain.fails(_("after dan vanished, bob did not get {text}").format(
                text=shorten(text)),
                _("catch OSError for each client inside the broadcast loop, so one dead "
                  "socket cannot stop the others."), bob, waited=True)


@check("04", points=0, behaviour=True, after="reaches_the_others", timeout=15)
def idle_after_hang_ups(plain: PlainSession) -> None:
    """spends no CPU on clients that hung up"""
    ann, bob, cat = plain.join("ann", "bob", "cat")
    plain.settle()  # every notice of the joins sent, so that bob has read them all
    bob.hang_up()
    cat.reset()
    time.sleep(0.2)  # a moment to notice; then nobody talks
    used = plain.cpu_seconds(1.0)
    if used > 0.2 or plain.spinning():
        raise plain.fails(
            _("your server used {s:.2f} s of CPU in 1 s after two clients hung up").format(
                s=used),
            _("recv() returns b'' forever once a client has gone: leave the loop then, and on "
              "OSError too."))


@check("04", points=0, behaviour=True, after="reaches_the_others")
def nobody_waits_for_a_silent_client(plain: PlainSession) -> None:
    """lets others chat while a client says nothing"""
    plain.connect("mal")  # connects, and never says a word
    ann, bob = plain.join("ann", "bob")
    text = "we can talk"
    ann.send(text)
    if not bob.hears(text):
        raise plain.fails(_("while mal said nothing, bob did not get {text} from ann").format(
            text=shorten(text)),
            _("ask for the name in the client's own thread, not in the accept loop."), bob,
            waited=True)


@check("04", points=0, behaviour=True, after="reaches_the_others", timeout=25)
def crowd_loses_nothing(plain: PlainSession) -> None:
    """30 clients chat at once, and every line reaches every other client"""
    names = [f"u{n:02}" for n in range(CROWD)]
    crowd = plain.join(*names)
    for client in crowd:
        client.send(f"note {client.name} ends")
    deadline = time.monotonic() + 5
    missed: dict[str, list[str]] = {}
    wants = {c.name: [f"note {other} ends" for other in names if other != c.name] for c in crowd}
    if not crowd[0].hears(wants[crowd[0].name][0], 2 * WAIT):  # nothing flows: said at once
        missed = wants
    for client in crowd if not missed else []:
        want = wants[client.name]
        lost = [text for text in want if not client.hears(text, deadline - time.monotonic())]
        if lost:
            missed[client.name] = lost
    if missed:
        who, lost = next(iter(missed.items()))
        raise CheckFailed(
            _("{n} of {total} clients did not get every line").format(n=len(missed),
                                                                      total=CROWD),
            [(_("{who} missed:").format(who=who), _("{n} of {total} lines").format(
                n=len(lost), total=CROWD - 1))],
            _("guard the shared list of clients with one lock, and catch OSError per client."))
