"""Checks of the chat steps: 03 (two users) and 04 (many users, threads).

A check shared by both steps carries one @check line per step. Each check judges one concern:
lines it is not about (a notice, an echo) are set aside and shown, never held against it, and
`after=` names only what a check cannot run without (the prompt, or a message relayed at all).
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest

from .. import protocol
from ..i18n import _, ngettext
from ..labs.chat_session import Session, relayed
from ..labs.driver import QUIET, WAIT, CheckFailed, Client, Like, shorten, shorten_lines
from ..protocol import MAX_LINE_BYTES, joined, left, longest_text, message
from .registry import check, find, skipped_because

# -- the prompt and the name ------------------------------------------------------------------


@check("03", points=1)
@check("04", points=1)
def asks_for_name(server: Session) -> None:
    """asks a new client for its name"""
    server.arrive("alice")


@check("03", points=1, after="asks_for_name")
@check("04", points=1, after="asks_for_name")
def ends_lines_with_newline(server: Session) -> None:
    """ends each line it sends with one '\\n', the prompt too"""
    alice = server.connect("alice", framed=True)  # reads lines by their "\n" only
    if not alice.wait_for(protocol.PROMPT, within=WAIT):
        raise CheckFailed(
            _("your prompt has no '\\n' at its end, so a client cannot tell where it ends"),
            [(_("{who} expected:").format(who="alice"), shorten(protocol.PROMPT + "\n")),
             (_("{who} received:").format(who="alice"),
              shorten(alice.buffer.decode("utf-8", errors="replace")))],
            _("end every line you send with '\\n': a client reads up to it. Without it, two "
              "messages sent close together arrive as one."))
    alice.drain(within=0.05)  # an empty line that came with the prompt
    alice.close()  # step 03 asks one client at a time
    ann, bob = server.join("ann", "bob")
    ann.send("hi")
    bob.wait_for(relayed("ann", "hi"))  # no verdict: the relay is other checks' concern
    for client in (ann, bob):
        client.drain(within=0.05)  # the empty lines that came with the last line
    blank = sum(client.blank_lines for client in (alice, ann, bob))
    if blank:
        raise CheckFailed(
            ngettext("your server sent an empty line, where every line it sends has text",
                     "your server sent {n} empty lines, where every line it sends has text",
                     blank).format(n=blank),
            [(_("empty lines:"), ", ".join(f"{client.name} {client.blank_lines}"
                                           for client in (alice, ann, bob)))],
            _("end each line with one '\\n': a line from readline() (or a file's) keeps its "
              "'\\n', so strip it before you add your own."))


@check("03", points=1, after="asks_for_name")
@check("04", points=1, after="asks_for_name")
def asks_again_after_blank_name(server: Session) -> None:
    """asks again when the name is blank"""
    alice = server.arrive("alice")
    alice.send("   ")
    alice.expect(protocol.PROMPT, hint=_("a blank name is no name: send the prompt again."))


@check("03", points=1, after="asks_for_name")
@check("04", points=1, after="asks_for_name")
def strips_the_name(server: Session) -> None:
    """takes the name without the spaces around it, from a line ending in '\\r\\n' too"""
    ann = server.arrive("Ann Lee")
    ann.send_raw(b"  Ann Lee \t\r\n")
    (bob,) = server.join("bob", members=[ann])  # no verdict on the notices: not this concern
    fmt = server.relay_format(bob, [ann])  # how this server relays, from a plain name's line
    ann.send("hi")
    bob.expect(fmt("Ann Lee", "hi"), hint=_("the name is the line without its line ending, "
                                            "stripped: line.strip()."))


# -- join notices -----------------------------------------------------------------------------


@check("03", points=1, after="asks_for_name")
def tells_first_who_joined(server: Session) -> None:
    """tells the first client when the second one joins"""
    alice = server.arrive("alice")
    alice.send("alice")
    bob = server.arrive("bob")
    bob.send("bob")
    if not server.settle_first_pair(alice, bob):  # either may have joined first
        alice.expect(joined("bob"), within=0.05,
                     hint=_("tell everyone already in the chat who joined."))


@check("04", points=1, after="asks_for_name")
def tells_others_who_joined(server: Session) -> None:
    """tells the others when someone joins"""
    alice, bob = server.join("alice", "bob")
    carol = server.arrive("carol")
    carol.send("carol")
    for member in (alice, bob):
        member.expect(joined("carol"), hint=_("tell everyone already in the chat who joined."))


@check("03", points=1, after="asks_for_name")
@check("04", points=1, after="asks_for_name")
def no_notice_to_newcomer(server: Session) -> None:
    """does not tell a newcomer that it joined itself"""
    alice, bob = server.join("alice", "bob")
    # With notices in a form of its own, which of the two joined first is not known: bob, if
    # first, was rightly told of alice. A line for bob's own join names bob.
    maybe_first = Like("alice's join", lambda line: alice.name in line and bob.name not in line)
    bob.expect_nothing(hint=_("the newcomer gets nothing for its own join, no notice and no "
                              "greeting: announce it to the others only."),
                       but=maybe_first if server.notices_missing else None)


# -- relaying ---------------------------------------------------------------------------------


@check("03", points=2, after="asks_for_name")
def relays_both_ways(server: Session) -> None:
    """relays messages both ways"""
    alice, bob = server.join("alice", "bob")
    alice.send("hi bob")
    bob.expect(relayed("alice", "hi bob"), hint=_("send each line to the other client."))
    bob.send("hi alice")
    alice.expect(relayed("bob", "hi alice"), hint=_("relay in both directions at once: "
                                                    "one thread per direction."))


@check("04", points=2, after="asks_for_name")
def relays_to_others(server: Session) -> None:
    """relays a message to every other client"""
    alice, bob, carol = server.join("alice", "bob", "carol")
    bob.send("hi all")
    for other in (alice, carol):
        other.expect(relayed("bob", "hi all"), hint=_("send each line to every other member."))


@check("03", points=1, after="relays_both_ways")
@check("04", points=1, after="relays_to_others")
def prefixes_sender_name(server: Session) -> None:
    """puts the sender's name in front of a message, as 'NAME: TEXT'"""
    alice, bob = server.join("alice", "bob")
    alice.send("hello")
    bob.expect(message("alice", "hello"), hint=_("send NAME: TEXT, with the sender's name."))


@check("03", points=1, after="relays_both_ways")
@check("04", points=1, after="relays_to_others")
def relays_text_as_sent(server: Session) -> None:
    """relays the text as sent, the spaces around it too"""
    alice, bob = server.join("alice", "bob")
    fmt = server.relay_format(alice, [bob])
    text = "  two spaces before, two after  "
    alice.send(text)
    bob.expect(fmt("alice", text), hint=_("strip() the line only to test it (blank? leave?): "
                                          "relay it as it came, its line ending removed."))


@check("03", points=1, after="relays_both_ways")
@check("04", points=1, after="relays_to_others")
def no_echo_to_sender(server: Session) -> None:
    """does not echo a message back to its sender"""
    alice, bob = server.join("alice", "bob")
    server.settle()
    alice.drain()  # what came before her message is other checks' concern
    alice.send("hi")
    bob.expect(relayed("alice", "hi"))
    back = [line for line in _strays(alice, [bob]) if not protocol.like_notice(line)]
    if not back:
        return
    details = [(_("{who} sent:").format(who="alice"), "'hi'"),
               (_("{who} expected:").format(who="alice"), _("nothing")),
               (_("{who} received:").format(who="alice"), shorten_lines(back))]
    if any(relayed("alice", "hi").test(line) for line in back):
        raise CheckFailed(_("alice got her own message back"), details,
                          _("skip the sender's own socket when you broadcast."))
    if any(protocol.PROMPT.strip() in line for line in back):
        raise CheckFailed(_("alice got the name prompt again after her message"), details,
                          _("the prompt is for a client that has no name yet: once it has "
                            "one, send it chat lines and notices only."))
    raise CheckFailed(_("alice got a line back for her own message"), details,
                      _("the sender gets nothing back for its message (no prompt, no "
                        "receipt): send the line to the others only."))


def _strays(client: Client, others: list[Client]) -> list[str]:
    """What `client` gets in the next moments that none of `others` can be behind: lines that
    name none of them (a late notice of one of theirs names its client)."""
    return [line for line in client.drain(within=QUIET)
            if not any(other.name in line for other in others)]


@check("04", points=1, after="relays_to_others")
def ignores_blank_lines(server: Session) -> None:
    """ignores empty and whitespace-only lines"""
    alice, bob = server.join("alice", "bob")
    fmt = server.relay_format(alice, [bob])
    for blank in ("", "   "):
        alice.send(blank)
        time.sleep(0.02)  # one line per recv(): this check is not about framing
    alice.send("after the blanks")
    bob.expect(fmt("alice", "after the blanks"))
    relayed_blanks = [line for line in bob.unread if line in (fmt("alice", ""),
                                                               fmt("alice", "   "))]
    if relayed_blanks:
        raise CheckFailed(_("bob received alice's blank lines"),
                          [(_("{who} received:").format(who="bob"),
                            ", ".join(shorten(x) for x in relayed_blanks))],
                          _("skip a line when line.strip() is empty."))


@check("04", points=1, after="relays_to_others")
def unnamed_client_gets_nothing(server: Session) -> None:
    """sends nothing but prompts to a client that has not given its name"""
    alice, bob = server.join("alice", "bob")
    dave = server.arrive("dave")
    alice.send("before dave")
    try:
        bob.expect(relayed("alice", "before dave"))
    except CheckFailed:  # dave, silent, holds up the chat: what dave gets cannot be judged
        pytest.skip(skipped_because(find("04", "silent_client_blocks_nobody")))
    dave.expect_nothing(hint=_("add a client to the chat only once it has a name."))


# -- framing and encoding -----------------------------------------------------------------------


@check("03", points=2, after="relays_both_ways")
@check("04", points=1, after="relays_to_others")
def two_lines_in_one_recv(server: Session) -> None:
    """keeps two messages apart when they arrive in one recv()"""
    alice, bob = server.join("alice", "bob")
    fmt = server.relay_format(alice, [bob])
    alice.send("one", "two")
    bob.expect(fmt("alice", "one"), fmt("alice", "two"), ordered=True,
               hint=_("TCP is a byte stream; one recv() is not one message. "
                      "Buffer until b'\\n'."))


@check("04", points=1, after="relays_to_others")
def line_in_pieces(server: Session) -> None:
    """puts a line back together when it arrives in several pieces"""
    alice, bob = server.join("alice", "bob")
    fmt = server.relay_format(alice, [bob])
    for piece in (b"hel", b"lo wor", b"ld\n"):
        alice.send_raw(piece)
        time.sleep(0.03)
    bob.expect(fmt("alice", "hello world"), ordered=True,
               hint=_("keep what recv() gave you until the line's b'\\n' arrives."))


@check("04", points=1, after="relays_to_others")
def split_utf8_character(server: Session) -> None:
    """puts a UTF-8 character back together when recv() cuts it in half"""
    alice, bob = server.join("alice", "bob")
    fmt = server.relay_format(alice, [bob])
    data = "привет\n".encode()
    alice.send_raw(data[:3])
    time.sleep(0.05)
    alice.send_raw(data[3:])
    bob.expect(fmt("alice", "привет"),
               hint=_("decode whole lines, not each recv(): a Cyrillic letter is two bytes."))


@check("04", points=1, after="relays_to_others")
def long_line(server: Session) -> None:
    """relays a line of 64 KiB intact"""
    alice, bob = server.join("alice", "bob")
    fmt = server.relay_format(alice, [bob])
    text = longest_text("chat-чат ")  # 65,536 bytes with its newline: the most allowed
    alice.send(text)
    wanted = fmt("alice", text)
    try:
        bob.expect(wanted, within=3,
                   hint=_("lines up to MAX_LINE_BYTES must pass whole: recv() until the "
                          "newline."))
    except CheckFailed as failure:
        pieces = [line for line in bob.received if len(line) > 100 and line in wanted]
        if len(pieces) == 1 and wanted.startswith(pieces[0]):  # cut short, and no rest came:
            kept = len(pieces[0]) - (len(wanted) - len(text))  # of alice's own characters
            failure.hint = _("the line arrived cut to {n} characters: relay it whole, up to "
                             "MAX_LINE_BYTES ({size} bytes).").format(n=kept,
                                                                       size=MAX_LINE_BYTES)
        raise  # a limit, not missing framing


@check("04", points=1, after="relays_to_others")
def strips_carriage_return(server: Session) -> None:
    """drops the '\\r' of a line that ends in '\\r\\n' (telnet, nc -C)"""
    alice, bob = server.join("alice", "bob")
    fmt = server.relay_format(alice, [bob])
    alice.send_raw(b"hi\r\n")
    bob.expect(fmt("alice", "hi"), hint=_("remove one trailing '\\r' from every line."))


@check("04", points=1, after="relays_to_others")
def survives_invalid_utf8(server: Session) -> None:
    """turns bytes that are not UTF-8 into '\ufffd' and goes on"""
    alice, bob = server.join("alice", "bob")
    fmt = server.relay_format(alice, [bob])
    alice.send_raw(b"\xff\xfeok\n")
    bob.expect(fmt("alice", "\ufffd\ufffdok"), hint=_("decode with errors='replace'."))
    alice.send("still here")
    bob.expect(fmt("alice", "still here"), hint=_("decode with errors='replace'."))


@check("04", points=1, after=("relays_to_others", "two_lines_in_one_recv"))
def endless_line_costs_no_memory(server: Session) -> None:
    """keeps serving, in bounded memory, while a client sends a line that never ends"""
    alice, bob, mallory = server.join("alice", "bob", "mallory")
    before = server.memory()
    mallory.sock.settimeout(2)
    try:
        mallory.sock.sendall(b"x" * (4 << 20))  # 4 MiB and no newline
    except OSError:
        pass  # the server stopped reading or hung up on mallory: both are fine
    time.sleep(0.2)
    grown = server.memory() - before
    if grown > 2 << 20:
        raise CheckFailed(
            _("your server's memory grew while a line never ended"),
            [(_("{who} sent:").format(who="mallory"), _("4 MiB without a newline")),
             (_("measured:"), _("{n:.1f} MiB more memory").format(n=grown / (1 << 20)))],
            _("when the buffer reaches MAX_LINE_BYTES without a newline, stop reading from "
              "that client and hang up."))
    alice.send("still chatting")
    bob.expect(relayed("alice", "still chatting"), within=2,
               hint=_("when the buffer reaches MAX_LINE_BYTES without a newline, stop reading "
                      "from that client."))
    (frank,) = server.join("frank", members=[alice, bob])
    frank.send("hi")
    alice.expect(relayed("frank", "hi"), hint=_("when the buffer reaches MAX_LINE_BYTES "
                                               "without a newline, drop that client only."))


# -- leaving ----------------------------------------------------------------------------------


@check("03", points=2, after="asks_for_name")
@check("04", points=1, after="asks_for_name")
def tells_others_who_left(server: Session) -> None:
    """tells the others when someone leaves"""
    alice, bob = server.join("alice", "bob")
    bob.send(protocol.LEAVE)
    alice.expect(left("bob"), hint=_("when a line is exactly 'leave', tell the others and "
                                     "close that client's connection."))


@check("04", points=1, after="tells_others_who_left")
def leaver_gets_no_notice(server: Session) -> None:
    """does not tell the leaver that it left"""
    alice, bob, carol = server.join("alice", "bob", "carol")
    server.settle()
    bob.drain()  # what came before the leave is other checks' concern
    bob.send(protocol.LEAVE)
    for other in (alice, carol):
        other.expect(left("bob"))
    after = _strays(bob, [alice, carol])  # till its connection is closed, or a moment more
    if left("bob") in after:
        raise CheckFailed(_("bob received the notice of its own leaving"),
                          [(_("{who} received:").format(who="bob"), shorten(left("bob")))],
                          _("tell the others only: remove the leaver before you broadcast."))
    if after:
        raise CheckFailed(_("bob received a line after saying leave"),
                          [(_("{who} expected:").format(who="bob"), _("nothing")),
                           (_("{who} received:").format(who="bob"), shorten_lines(after))],
                          _("the leaver gets nothing, not even a goodbye: tell the others, "
                            "then close its connection."))


@check("04", points=1, after="tells_others_who_left")
def unnamed_leaves_unannounced(server: Session) -> None:
    """tells nobody when a client goes away before giving its name"""
    alice, _bob = server.join("alice", "bob")
    server.settle()
    alice.drain()  # what came before is other checks' concern
    dave = server.arrive("dave")
    dave.send(protocol.LEAVE)  # 'leave' as its name
    erin = server.arrive("erin")  # after dave: two at the prompt is another check's concern
    erin.close()  # hangs up at the prompt
    server.settle()
    alice.expect_nothing(hint=_("a client that goes before it has given a name never joined: "
                                "tell nobody. Announce a leave only for a client in the chat."))


@check("03", points=1, after="asks_for_name")
@check("04", points=1, after="asks_for_name")
def closes_after_leave(server: Session) -> None:
    """closes the connection of a client that leaves"""
    alice, bob = server.join("alice", "bob")
    bob.send(protocol.LEAVE)
    bob.expect_closed(hint=_("after 'leave', close() that client's socket."))


@check("04", points=1, after=("relays_to_others", "tells_others_who_left"))
def leave_only_as_whole_line(server: Session) -> None:
    """treats 'leave' in a sentence or in capitals as a message, and '  leave \\r' as leave"""
    alice, bob = server.join("alice", "bob")
    word = protocol.LEAVE
    other_case = word.upper() if word.upper() != word else word.lower()
    for text, hint in ((f"I will {word} soon",
                        _("only a line equal to 'leave' after strip() means leave.")),
                       (other_case,
                        _("case counts: only 'leave' means leave, and 'LEAVE' or 'Leave' is a "
                          "message. Compare line.strip() == 'leave', without lower()."))):
        alice.send(text)
        bob.expect(relayed("alice", text), hint=hint)
    alice.send_raw(f"  {word} \r\n".encode(protocol.ENCODING))
    bob.expect(left("alice"), hint=_("compare line.strip() with 'leave'."))


# After the leave notice: a server that tells no one of anything has heard it there, and the
# hints here build on it ("as for 'leave'").
@check("03", points=2, after="tells_others_who_left")
@check("04", points=1, after="tells_others_who_left")
def tells_others_who_vanished(server: Session) -> None:
    """tells the others when someone hangs up without saying leave"""
    alice, bob = server.join("alice", "bob")
    bob.close()
    alice.expect(left("bob"), hint=_("recv() returning b'' means the client has gone: "
                                     "tell the others as for 'leave'."))


@check("04", points=1, after="tells_others_who_left")
def tells_others_after_reset(server: Session) -> None:
    """tells the others when someone's connection is reset"""
    alice, bob = server.join("alice", "bob")
    bob.reset()
    alice.expect(left("bob"), hint=_("a reset raises ConnectionResetError in recv(): treat "
                                     "it as a hang-up and tell the others."))


@check("03", points=2, after="relays_both_ways")
def next_pair_can_chat(server: Session) -> None:
    """ends the chat for both when one leaves, then serves the next two, one of whom waited"""
    alice, bob = server.join("alice", "bob")
    carol = server.connect("carol")  # waits in the listen backlog while the chat lasts
    carol.bare = protocol.PROMPT.encode(protocol.ENCODING)
    carol.wait_for(protocol.PROMPT)  # a moment of the chat with carol there (a prompt is fine)
    bob.send(protocol.LEAVE)  # the notice to alice is tells_others_who_left's concern
    alice.expect_closed(hint=_("when the chat ends, close the other client's connection too."))
    again = _("after a chat ends, serve() loops back to welcome the next two clients.")
    try:
        carol.expect(protocol.PROMPT, hint=again)
    except CheckFailed as failure:
        if carol.closed_by_server and server.host.alive():  # turned away, not left waiting
            failure.hint = _("a client that connects during a chat waits for the next one: "
                             "leave it in the listen backlog (accept() only when this chat "
                             "has ended), then ask for its name.")
        raise
    carol.send("carol")
    try:
        (dave,) = server.join("dave", members=[carol])
    except CheckFailed as failure:  # no prompt, or no connection: the loop is what is missing
        failure.hint = again
        raise
    carol.send("hi")
    dave.expect(relayed("carol", "hi"), hint=again)


# Not in step 06, whose names are unique (fast_chat.py).
@check("04", points=1, after=("relays_to_others", "tells_others_who_left"))
def same_name_twice(server: Session) -> None:
    """lets two clients share a name, each a member of its own"""
    hint = _("names may repeat: keep the members by connection (a list, or a dict keyed by "
             "socket), not in a dict keyed by name.")
    carol, ann = server.join("carol", "ann")
    (other_ann,) = server.join("ann", members=[carol, ann])
    carol.send("hello, both of you")
    for each in (ann, other_ann):
        each.expect(relayed("carol", "hello, both of you"), hint=hint)
    ann.send("hello, other ann")
    other_ann.expect(relayed("ann", "hello, other ann"), hint=_(
        "skip the sender by its connection (member is not sender), not by its name: two "
        "clients may share one."))
    ann.send(protocol.LEAVE)
    carol.expect(left("ann"), hint=hint)
    carol.send("still there?")
    other_ann.expect(relayed("carol", "still there?"), hint=hint)


# -- clients that fail, stay silent or come in crowds ---------------------------------------------


@check("04", points=2, after="asks_for_name", timeout=15, alone=True)
def no_busy_loop(server: Session) -> None:
    """spends no CPU on clients that hung up"""
    alice, bob, carol = server.join("alice", "bob", "carol")
    bob.close()
    carol.reset()
    alice.wait_for(left("bob"))  # give the server a moment to notice (no verdict here)
    alice.wait_for(left("carol"))
    used = server.cpu_seconds(1.0)  # the host's CPU, read from outside
    # Counted, not only timed: on a loaded machine a spinning server may get little CPU.
    if used > 0.2 or server.spinning():
        raise CheckFailed(
            _("your server keeps the CPU busy after clients hang up"),
            [(_("bob and carol:"), _("hung up (one closed, one reset)")),
             (_("expected:"), _("under 0.2 s of CPU in 1 s, with nobody talking")),
             (_("measured:"), _("{s:.2f} s of CPU in 1 s").format(s=used)),
             *([(_("and:"), _("recv() returned b'' again and again on a connection that had "
                              "ended"))] if server.spinning() else [])],
            _("recv() returns b'' forever once a client has gone: leave the loop then, "
              "and on OSError too."),
        )


# races="late_ends": the server learns half a second late that a client has gone, as it would
# of a machine that vanished, so that the broadcasts meet the dead client's socket first.
@check("04", points=1, after="relays_to_others", races="late_ends")
def broadcast_survives_dead_client(server: Session) -> None:
    """still reaches everyone after one client died"""
    alice, bob, carol, dave = server.join("alice", "bob", "carol", "dave")
    bob.reset()
    for text in ("one", "two"):
        alice.send(text)
        for other in (carol, dave):
            other.expect(relayed("alice", text),
                         hint=_("catch OSError for each client inside the broadcast loop, so "
                                "one dead socket cannot stop the others."))


@check("04", points=1, after="relays_to_others", races="late_ends")
def joins_after_dead_client(server: Session) -> None:
    """lets new clients join after a client died"""
    alice, bob = server.join("alice", "bob")
    bob.reset()  # erin's join notice meets bob's dead socket
    (erin,) = server.join("erin", members=[alice])
    erin.send("hi")
    alice.expect(relayed("erin", "hi"),
                 hint=_("a failed send must not stop the thread that accepts or joins."))


@check("04", points=2, after="relays_to_others")
def silent_client_blocks_nobody(server: Session) -> None:
    """lets others join while a client has not given its name"""
    server.arrive("mallory")  # connects, gets the prompt, and never answers
    alice, bob = server.join("alice", "bob")
    alice.send("hi")
    bob.expect(relayed("alice", "hi"), hint=_("ask for the name in the client's own thread, "
                                              "not in the accept loop."))


@check("04", points=1, after=("relays_to_others", "two_lines_in_one_recv"))
def keeps_order(server: Session) -> None:
    """delivers each sender's lines in order, its join notice first"""
    alice, bob, carol = server.join("alice", "bob", "carol")
    fmt = server.relay_format(alice, [bob, carol])
    lines = [f"line {n}" for n in range(40)]
    alice.send(*lines)  # one sendall(): relayed one line at a time, in order
    for other in (bob, carol):
        other.expect(*(fmt("alice", line) for line in lines), ordered=True,
                     hint=_("broadcast one line at a time, under the lock."))
    dave = server.arrive("dave")
    dave.send("dave", "first!")  # name and first message in one go
    for other in (alice, bob, carol):
        other.expect(joined("dave"), fmt("dave", "first!"), ordered=True,
                     hint=_("announce a newcomer before relaying its first message."))


@check("04", points=1, after="relays_to_others", timeout=25, races=True)
def thirty_clients_at_once(server: Session) -> None:
    """handles 30 clients chatting at once, nothing lost or duplicated"""
    names = [f"c{n:02}" for n in range(30)]
    clients = server.join(*names)
    fmt = server.relay_format(clients[0], clients[1:])
    rounds = 4
    got: dict[str, list[str]] = {name: [] for name in names}
    deadline = time.monotonic() + 5
    want = {c.name: [fmt(o, f"{o} m{n}") for n in range(rounds) for o in names if o != c.name]
            for c in clients}
    for n in range(rounds):  # all 30 at once; a round is read before the next is sent, so
        for client in clients:  # that no client's two lines ever share one recv()
            client.send(f"{client.name} m{n}")
        for client in clients:
            round_lines = set(want[client.name][n * (len(names) - 1):(n + 1) * (len(names) - 1)])
            got[client.name] += _read_until(client, round_lines, deadline, names)
    _judge_delivery(got, want, _("{n} of 30 clients did not get every line exactly once, "
                                   "in order"))


# The notices pace the guests (a guest comes after the last one is gone): a server that sends
# none has lost the checks about them, and this one would only repeat them.
@check("04", points=1, after=("relays_to_others", "tells_others_who_left",
                              "tells_others_who_vanished"), timeout=20)
def survives_churn(server: Session) -> None:
    """keeps working while clients come and go"""
    hint = _("handle every line on its own, and take a client out of the chat (under the "
             "lock) when it leaves or drops.")
    alice, bob = server.join("alice", "bob")
    for n in range(12):
        name = f"guest{n}"
        (guest,) = server.join(name, members=[alice, bob])
        guest.send(f"hello from {name}")
        for member in (alice, bob):  # arrived first: the goodbye is never in the same recv()
            member.expect(relayed(name, f"hello from {name}"), hint=hint)
        if n % 2:
            guest.send(protocol.LEAVE)
        else:
            guest.close()
        for member in (alice, bob):
            member.expect(left(name), hint=hint)
    alice.send("still here")
    bob.expect(relayed("alice", "still here"), hint=hint)


LEAVERS = 8  # members who leave while the others chat
LISTENERS = 8  # members who only listen: each must get every line
GUESTS = 6  # come and go while the others chat
LINES = 16  # each chatter's: the leaves come in its first half, the guests in its second
GAP = 0.025  # seconds between a chatter's lines, and between two leaves


# After the dead client's check: a leaver's socket dies inside a broadcast here, and a server
# whose broadcast stops at a dead socket has told us so there, with the hint that fits.
@check("04", points=2, after=("two_lines_in_one_recv", "broadcast_survives_dead_client"),
       timeout=25, races="yields")
def members_change_while_chatting(server: Session) -> None:
    """keeps every message while others join and leave at the same moment"""
    # The host makes each send wait a moment and the server's threads take turns every few
    # lines (races="yields"), so that the joins and leaves below land inside a broadcast, at
    # little cost in CPU. The leavers join first: in a list of members, a leave inside a
    # broadcast shifts all who joined after it, and the broadcast passes one of them over.
    leavers = server.join(*(f"leaver{n}" for n in range(LEAVERS)))
    chatters = server.join("alice", "bob", "carol", members=leavers[-1:])
    fmt = server.relay_format(chatters[0], chatters[1:])
    listeners = server.join(*(f"listener{n}" for n in range(LISTENERS)), members=chatters)
    said: dict[str, list[str]] = {c.name: [f"{c.name} {n}" for n in range(LINES)]
                                  for c in chatters}

    def chat(client: Client) -> None:
        for line in said[client.name]:
            client.send(line)
            time.sleep(GAP)

    def leave() -> None:
        time.sleep(GAP / 2)  # in the middle of the chatters' broadcasts
        for leaver in leavers:
            leaver.send(protocol.LEAVE)
            time.sleep(GAP)

    def come_and_go() -> None:
        # After the leaves: a guest's join holds a careful server's lock while it is
        # announced, and a leave waiting for that lock would come between two broadcasts.
        time.sleep(LEAVERS * GAP)
        for n in range(GUESTS):
            name = f"guest{n}"
            try:
                guest = Client.connect(name, server.address)
                guest.send(name)
                time.sleep(GAP)
                guest.send(protocol.LEAVE)  # a clean leave: hang-ups are other checks' concern
                guest.close()
            except (OSError, CheckFailed):
                pass  # a guest that could not come is the server's loss, seen below

    threads = [threading.Thread(target=chat, args=(c,)) for c in chatters]
    threads += [threading.Thread(target=leave), threading.Thread(target=come_and_go)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    want = {c.name: [fmt(o.name, line) for o in chatters if o is not c for line in said[o.name]]
            for c in chatters + listeners}
    deadline = time.monotonic() + 3
    got = {c.name: _read_until(c, set(want[c.name]), deadline, list(said))
           for c in chatters + listeners}
    _judge_delivery(got, want, _("{n} of {members} clients lost or mixed up messages while "
                                 "others joined and left"))
    (zoe,) = server.join("zoe", members=chatters)
    zoe.send("after the crowd")
    chatters[0].expect(relayed("zoe", "after the crowd"),
                       hint=_("guard every use of the chat's members with one lock."))


def _read_until(client: Client, wanted: set[str], deadline: float,
                senders: list[str]) -> list[str]:
    """Lines until all of `wanted` came (or the deadline): the chat's lines only, and those that
    name a sender (a line cut or glued). Notices (in the protocol's words or nearly), echoes of
    one's own lines and lines that name no sender (a prompt, a greeting) are other checks'
    concerns: what they cost shows here as lines missed."""
    lines: list[str] = []
    awaited = set(wanted)
    while awaited and time.monotonic() < deadline:
        line = client.read_line(within=max(0.01, deadline - time.monotonic()))
        if line is None:
            break
        if line in wanted or not protocol.like_notice(line) and not line.endswith(
                tuple(client.sent_lines)) and any(name in line for name in senders):
            lines.append(line)
            awaited.discard(line)
    return lines


def _judge_delivery(got: dict[str, list[str]], want: dict[str, list[str]],
                    headline: str) -> None:
    """Each client must get each wanted line exactly once, each sender's lines in order."""
    problems = []
    for who, lines in got.items():
        counts = Counter(lines)
        missing = [line for line in want[who] if line not in counts]
        twice = sum(counts[line] - 1 for line in want[who] if counts[line] > 1)
        strangers = [line for line in counts if line not in want[who]]
        order_ok = _per_sender_in_order(lines, want[who])
        if missing or twice or strangers or not order_ok:
            problems.append((who, missing, twice, strangers, order_ok))
    if not problems:
        return
    who, missing, twice, strangers, order_ok = problems[0]
    details = [(_("each client expected:"), _("{n} lines").format(n=len(want[who])))]
    if missing:
        details.append((_("{who} missed:").format(who=who), shorten_lines(missing)))
    if twice:
        details.append((_("{who} got twice:").format(who=who), _("{n} lines").format(n=twice)))
    if strangers:
        details.append((_("{who} got lines nobody sent:").format(who=who),
                        shorten_lines(strangers)))
    details.append((_("{who} got in order:").format(who=who), _("yes") if order_ok else _("no")))
    raise CheckFailed(
        headline.format(n=len(problems), members=len(got)), details,
        _("relay whole lines only: one recv() can hold several lines or part of one.")
        if strangers else
        _("guard the shared registry with one lock and broadcast under it."),
    )


def _per_sender_in_order(lines: list[str], want: list[str]) -> bool:
    """Lines of different senders may interleave; each sender's own keep their order.
    A wanted line is 'PREFIX N': its sender is all before the last space."""
    def by_sender(kept: list[str]) -> dict[str, list[str]]:
        grouped: dict[str, list[str]] = {}
        for line in kept:
            grouped.setdefault(line.rsplit(" ", 1)[0], []).append(line)
        return grouped

    wanted, arrived = set(want), set(lines)
    return (by_sender([line for line in lines if line in wanted])
            == by_sender([line for line in want if line in arrived]))


@check("04", points=1, after="asks_for_name")
def uses_threads(server: Session) -> None:
    """serves each client in a thread of its own"""
    before = server.thread_count()
    for name in ("alice", "bob", "carol"):  # no prompt needed: threads are what counts here
        server.connect(name)
    added = server.thread_count() - before
    deadline = time.monotonic() + WAIT
    while added < 3 and time.monotonic() < deadline:  # a thread may start a moment later
        time.sleep(0.05)
        added = server.thread_count() - before
    if added < 3:
        for client in server.clients:
            client.drain()  # what they were sent meanwhile, for the transcript
        raise CheckFailed(
            _("3 clients connected, but your server did not start a thread for each"),
            [(_("expected:"), _("at least 3 more threads")),
             (_("measured:"), _("{n} more").format(n=added))],
            _("start a threading.Thread(target=handle_client, ...) for every client as soon as "
              "it is accepted, and ask for its name in that thread."),
        )
