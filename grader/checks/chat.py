"""Checks of the chat steps: 03 (two users) and 04 (many users, threads).

A check shared by both steps carries one @check line per step.
"""

from __future__ import annotations

import time
from collections import Counter

from ..i18n import _
from ..labs.chat_session import Session
from ..labs.driver import CheckFailed, shorten
from ..protocol import LEAVE, MAX_LINE_BYTES, PROMPT, joined, left, message
from .registry import check


@check("03", points=2)
@check("04", points=1)
def asks_for_name(server: Session) -> None:
    """asks a new client for its name"""
    server.arrive("alice")


@check("03", points=1, after="asks_for_name")
@check("04", points=1, after="asks_for_name")
def asks_again_after_blank_name(server: Session) -> None:
    """asks again when the name is blank"""
    alice = server.arrive("alice")
    alice.send("   ")
    alice.expect(PROMPT, hint=_("a blank name is no name: send the prompt again."))


@check("03", points=3, after="asks_for_name")
def tells_first_who_joined(server: Session) -> None:
    """tells the first client when the second one joins"""
    alice, bob = server.join("alice", "bob")
    bob.expect_nothing(hint=_("the newcomer gets no notice of its own join."))


@check("04", points=2, after="asks_for_name")
def tells_others_who_joined(server: Session) -> None:
    """tells the others when someone joins"""
    alice, bob, carol = server.join("alice", "bob", "carol")
    carol.expect_nothing(hint=_("the newcomer gets no notice of its own join."))


@check("03", points=3, after="tells_first_who_joined")
def relays_both_ways(server: Session) -> None:
    """relays messages both ways, prefixed with the sender's name"""
    alice, bob = server.join("alice", "bob")
    alice.send("hi bob")
    bob.expect(message("alice", "hi bob"), hint=_("send NAME: TEXT to the other client."))
    bob.send("hi alice")
    alice.expect(message("bob", "hi alice"), hint=_("relay in both directions at once: "
                                                    "one thread per direction."))


@check("04", points=2, after="tells_others_who_joined")
def relays_to_others(server: Session) -> None:
    """relays a message to every other client, prefixed with the sender's name"""
    alice, bob, carol = server.join("alice", "bob", "carol")
    bob.send("hi all")
    alice.expect(message("bob", "hi all"), hint=_("send NAME: TEXT to every other member."))
    carol.expect(message("bob", "hi all"), hint=_("send NAME: TEXT to every other member."))


@check("03", points=2, after="relays_both_ways")
@check("04", points=2, after="relays_to_others")
def no_echo_to_sender(server: Session) -> None:
    """does not echo a message back to its sender"""
    alice, bob = server.join("alice", "bob")
    alice.send("hi")
    bob.expect(message("alice", "hi"))
    bob.send("yo")
    alice.expect(message("bob", "yo"), hint=_("skip the sender's own socket when you broadcast."))


@check("04", points=1, after="relays_to_others")
def ignores_blank_lines(server: Session) -> None:
    """ignores empty and whitespace-only lines"""
    alice, bob = server.join("alice", "bob")
    alice.send("", "   ", "after the blanks")
    bob.expect(message("alice", "after the blanks"),
               hint=_("skip a line when line.strip() is empty."))


@check("04", points=1, after="relays_to_others")
def unnamed_client_gets_nothing(server: Session) -> None:
    """sends nothing but prompts to a client that has not given its name"""
    alice, bob = server.join("alice", "bob")
    dave = server.arrive("dave")
    alice.send("before dave")
    bob.expect(message("alice", "before dave"))
    dave.send("dave")
    alice.expect(joined("dave"))
    bob.expect(joined("dave"))
    bob.send("after dave")
    dave.expect(message("bob", "after dave"),
                hint=_("add a client to the chat only once it has a name."))


@check("03", points=2, after="relays_both_ways")
@check("04", points=2, after="relays_to_others")
def two_lines_in_one_recv(server: Session) -> None:
    """keeps two messages apart when they arrive in one recv()"""
    alice, bob = server.join("alice", "bob")
    alice.send("one", "two")
    bob.expect(message("alice", "one"), message("alice", "two"),
               hint=_("TCP is a byte stream; one recv() is not one message. "
                      "Buffer until b'\\n'."))


@check("04", points=1, after="relays_to_others")
def line_in_pieces(server: Session) -> None:
    """puts a line back together when it arrives in several pieces"""
    alice, bob = server.join("alice", "bob")
    for piece in (b"hel", b"lo wor", b"ld\n"):
        alice.send_raw(piece)
        time.sleep(0.03)
    bob.expect(message("alice", "hello world"),
               hint=_("keep what recv() gave you until the line's b'\\n' arrives."))


@check("04", points=2, after="relays_to_others")
def split_utf8_character(server: Session) -> None:
    """puts a UTF-8 character back together when recv() cuts it in half"""
    alice, bob = server.join("alice", "bob")
    data = "привет\n".encode()
    alice.send_raw(data[:3])
    time.sleep(0.05)
    alice.send_raw(data[3:])
    bob.expect(message("alice", "привет"),
               hint=_("decode whole lines, not each recv(): a Cyrillic letter is two bytes."))


@check("04", points=1, after="line_in_pieces")
def long_line(server: Session) -> None:
    """relays a line of 64 KiB intact"""
    alice, bob = server.join("alice", "bob")
    text = ("chat-чат " * 8000).encode()[: MAX_LINE_BYTES - 1].decode(errors="ignore")
    alice.send(text)
    bob.expect(message("alice", text), within=3,
               hint=_("lines up to MAX_LINE_BYTES must pass whole: recv() until the newline."))


@check("04", points=1, after="relays_to_others")
def strips_carriage_return(server: Session) -> None:
    """drops the '\\r' of a line that ends in '\\r\\n' (telnet, nc -C)"""
    alice, bob = server.join("alice", "bob")
    alice.send_raw(b"hi\r\n")
    bob.expect(message("alice", "hi"), hint=_("remove one trailing '\\r' from every line."))


@check("03", points=2, after="relays_both_ways")
@check("04", points=2, after="relays_to_others")
def tells_others_who_left(server: Session) -> None:
    """tells the others when someone leaves"""
    alice, bob = server.join("alice", "bob")
    bob.send(LEAVE)
    alice.expect(left("bob"), hint=_("when a line is exactly 'leave', tell the others and "
                                     "close that client's connection."))


@check("03", points=1, after="tells_others_who_left")
@check("04", points=1, after="tells_others_who_left")
def closes_after_leave(server: Session) -> None:
    """closes the connection of a client that leaves"""
    alice, bob = server.join("alice", "bob")
    bob.send(LEAVE)
    alice.expect(left("bob"))
    bob.expect_closed(hint=_("after 'leave', close() that client's socket."))


@check("04", points=1, after="tells_others_who_left")
def leave_only_as_whole_line(server: Session) -> None:
    """treats 'leave' inside a sentence as an ordinary message"""
    alice, bob = server.join("alice", "bob")
    alice.send("I will leave soon", "LEAVE")
    bob.expect(message("alice", "I will leave soon"), message("alice", "LEAVE"),
               hint=_("only a line equal to 'leave' after strip() means leave."))
    alice.send("  leave ")
    bob.expect(left("alice"), hint=_("compare line.strip() with 'leave'."))


@check("03", points=2, after="relays_both_ways")
@check("04", points=2, after="relays_to_others")
def tells_others_who_vanished(server: Session) -> None:
    """tells the others when someone hangs up without saying leave"""
    alice, bob = server.join("alice", "bob")
    bob.close()
    alice.expect(left("bob"), hint=_("recv() returning b'' means the client has gone: "
                                     "tell the others as for 'leave'."))


@check("03", points=2, after="tells_others_who_left")
def next_pair_can_chat(server: Session) -> None:
    """starts a new chat for the next two clients"""
    alice, bob = server.join("alice", "bob")
    bob.send(LEAVE)
    alice.expect(left("bob"))
    alice.expect_closed(hint=_("when the chat ends, close the other client's connection too."))
    carol, dave = server.join("carol", "dave")
    carol.send("hi")
    dave.expect(message("carol", "hi"), hint=_("after a chat ends, serve() loops back to "
                                               "welcome the next two clients."))


@check("04", points=3, after="relays_to_others", timeout=15, alone=True)
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


@check("04", points=2, after="relays_to_others")
def broadcast_survives_dead_client(server: Session) -> None:
    """still reaches everyone after one client died"""
    alice, bob, carol, dave = server.join("alice", "bob", "carol", "dave")
    bob.reset()
    carol.wait_for(left("bob"))  # most servers notice at once; a later notice is fine too
    alice.send("one", "two")
    for other in (carol, dave):
        other.expect(message("alice", "one"), message("alice", "two"), ignoring=[left("bob")],
                     hint=_("catch OSError for each client inside the broadcast loop, so one "
                            "dead socket cannot stop the others."))


@check("04", points=2, after="tells_others_who_joined")
def joins_after_dead_client(server: Session) -> None:
    """lets new clients join after a client died"""
    alice, bob = server.join("alice", "bob")
    bob.reset()
    alice.wait_for(left("bob"))  # most servers notice at once; a later notice is fine too
    erin = server.arrive("erin")
    erin.send("erin")
    alice.expect(joined("erin"), ignoring=[left("bob")],
                 hint=_("a failed send must not stop the thread that accepts or joins."))
    erin.send("hi")
    alice.expect(message("erin", "hi"), ignoring=[left("bob")],
                 hint=_("a failed send must not stop the thread that accepts or joins."))


@check("04", points=3, after="tells_others_who_joined")
def silent_client_blocks_nobody(server: Session) -> None:
    """lets others join while a client has not given its name"""
    server.arrive("mallory")  # connects, gets the prompt, and never answers
    alice, bob = server.join("alice", "bob")
    alice.send("hi")
    bob.expect(message("alice", "hi"), hint=_("ask for the name in the client's own thread, "
                                              "not in the accept loop."))


@check("04", points=2, after="relays_to_others")
def keeps_order(server: Session) -> None:
    """delivers each sender's lines in order, its join notice first"""
    alice, bob, carol = server.join("alice", "bob", "carol")
    lines = [f"line {n}" for n in range(40)]
    for line in lines:
        alice.send(line)
    for other in (bob, carol):
        other.expect(*(message("alice", line) for line in lines),
                     hint=_("broadcast one line at a time, under the lock."))
    dave = server.arrive("dave")
    dave.send("dave", "first!")  # name and first message in one go
    for other in (alice, bob, carol):
        other.expect(joined("dave"), message("dave", "first!"),
                     hint=_("announce a newcomer before relaying its first message."))


@check("04", points=2, after="relays_to_others", timeout=25)
def thirty_clients_at_once(server: Session) -> None:
    """handles 30 clients chatting at once, nothing lost or duplicated"""
    names = [f"c{n:02}" for n in range(30)]
    clients = server.join(*names)
    rounds = 4
    got: dict[str, list[str]] = {name: [] for name in names}
    deadline = time.monotonic() + 5
    for n in range(rounds):  # all 30 at once; a round is read before the next is sent, so
        for client in clients:  # that no client's two lines ever share one recv()
            client.send(f"m{n}")
        for client in clients:
            wanted = (n + 1) * (len(names) - 1)
            while len(got[client.name]) < wanted and time.monotonic() < deadline:
                line = client.read_line(within=max(0.01, deadline - time.monotonic()))
                if line is None:
                    break
                got[client.name].append(line)
    problems = []
    for client in clients:
        want = [message(other, f"m{n}") for n in range(rounds)
                for other in names if other != client.name]
        counts = Counter(got[client.name])
        missing = [line for line in want if line not in counts]
        twice = sum(counts[line] - 1 for line in want if counts[line] > 1)
        strangers = [line for line in counts if line not in want]
        order_ok = all(
            [line for line in got[client.name] if line.startswith(other + ":")]
            == [message(other, f"m{n}") for n in range(rounds)]
            for other in names if other != client.name
        )
        if missing or twice or strangers or not order_ok:
            problems.append((client.name, missing, twice, strangers, order_ok))
    if problems:
        who, missing, twice, strangers, order_ok = problems[0]
        details = [(_("each client expected:"), _("{n} lines").format(n=(len(names) - 1) * rounds))]
        if missing:
            details.append((_("{who} missed:").format(who=who), _shown(missing)))
        if twice:
            details.append((_("{who} got twice:").format(who=who), _("{n} lines").format(n=twice)))
        if strangers:
            details.append((_("{who} got lines nobody sent:").format(who=who), _shown(strangers)))
        in_order = _("yes") if order_ok else _("no")
        details.append((_("{who} got in order:").format(who=who), in_order))
        raise CheckFailed(
            _("{n} of 30 clients did not get every line exactly once, in order").format(
                n=len(problems)),
            details,
            _("relay whole lines only: one recv() can hold several lines or part of one.")
            if strangers else
            _("guard the shared registry with one lock and broadcast under it."),
        )


def _shown(lines: list[str]) -> str:
    """The first three lines, and how many more."""
    text = ", ".join(shorten(line) for line in lines[:3])
    more = len(lines) - 3
    return text + _(" and {n} more").format(n=more) if more > 0 else text


@check("04", points=1, after="tells_others_who_left", timeout=20)
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
            member.expect(message(name, f"hello from {name}"), hint=hint)
        if n % 2:
            guest.send(LEAVE)
        else:
            guest.close()
        for member in (alice, bob):
            member.expect(left(name), hint=hint)
    alice.send("still here")
    bob.expect(message("alice", "still here"), hint=hint)


@check("04", points=2, after="tells_others_who_joined")
def uses_threads(server: Session) -> None:
    """serves each client in a thread of its own"""
    before = server.thread_count()
    server.arrive("alice")
    server.arrive("bob")
    server.arrive("carol")
    added = server.thread_count() - before
    if added < 3:
        raise CheckFailed(
            _("3 clients connected, but your server did not start a thread for each"),
            [(_("expected:"), _("at least 3 more threads")),
             (_("measured:"), _("{n} more").format(n=added))],
            _("start a threading.Thread(target=handle_client, ...) for every accepted client."),
        )
