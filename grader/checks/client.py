"""Checks of step 05: the student's client runs as a real process; the check is its server."""

from __future__ import annotations

import time

from .. import protocol
from ..i18n import _
from ..labs.client_lab import ClientLab
from ..labs.driver import CheckFailed, Client, shorten
from ..labs.reference_server import ReferenceServer
from ..protocol import ENCODING, NEWLINE, joined, left, message
from .registry import check

IDLE = 1.0  # s the user types nothing: the client waits in input(), and must still print

# The checks judge what the client prints on its own merits, its output line-buffered as in a
# terminal; only prints_what_arrives reads it through a pipe and asks that it shows at once (a
# client that forgets flush=True loses that check, not all of them, even if it ends by
# os._exit(), which leaves a pipe's buffer unwritten).


@check("05", points=1)
def connects(lab: ClientLab) -> None:
    """connects to the chat server"""
    lab.accept()


@check("05", points=1, after="connects")
def sends_typed_lines(lab: ClientLab) -> None:
    """sends each line typed on stdin"""
    server = lab.accept()
    lab.type("alice", "hello there")
    server.expect("alice", "hello there", hint=_("sendall() each input line followed by '\\n'."))


@check("05", points=2, after="sends_typed_lines")
def prints_while_waiting_for_input(lab: ClientLab) -> None:
    """prints messages while waiting for the user to type"""
    server = lab.accept()
    lab.type("alice")
    server.expect("alice")
    server.send(joined("bob"))
    time.sleep(IDLE)  # a client that reads the socket a moment after each typed line misses it
    server.send(message("bob", "anyone here?"))
    lab.expect_lines(joined("bob"), message("bob", "anyone here?"),
                     hint=_("input() blocks: receive and print in a second thread."))


# A client that prints nothing while it waits for input fails the check above, with the hint
# for it, and is not failed twice here; one that could not send a line is judged here all the
# same (this check types nothing).
@check("05", points=2, after="connects", same_cause="prints_while_waiting_for_input")
def prints_what_arrives(lab: ClientLab) -> None:
    """prints a line from the server as soon as it arrives"""
    lab.console = False  # its output through a pipe: the one check where flushing shows
    server = lab.accept()  # which greets the client with the prompt
    hint = _("print each received line with flush=True, in a thread that only receives.")
    lab.expect_printed(protocol.PROMPT, hint=hint)
    # And a line that comes while the client waits for input: input() shows what was printed
    # before it was called, but only flush=True shows a line printed while it waits.
    time.sleep(0.2)
    server.send(joined("bob"))
    lab.expect_printed(joined("bob"), hint=hint)


@check("05", points=1, after="sends_typed_lines")
def speaks_utf8(lab: ClientLab) -> None:
    """speaks UTF-8 both ways, whatever the console's encoding"""
    server = lab.accept()
    lab.type("жук 🐞")
    server.expect("жук 🐞", hint=_("call sys.stdin.reconfigure(encoding='utf-8') and encode "
                                  "what you send as UTF-8."))
    server.send(message("борис", "привет 👋"))
    lab.expect_lines(message("борис", "привет 👋"),
                     hint=_("call sys.stdout.reconfigure(encoding='utf-8') at the start."))


@check("05", points=1, after="connects")
def prints_lines_of_one_packet(lab: ClientLab) -> None:
    """prints two lines that arrive in one packet as two lines"""
    server = lab.accept()
    one, two, three = (message("bob", text) for text in ("one", "two", "three"))
    server.send(one, two)  # one sendall(): on this machine, one packet and one recv()
    lab.wait_printed(two)  # read, so that the next line comes in a recv() of its own
    server.send(three)
    lab.expect_lines(one, two, three, together=True,
                     sent=_("{first} in one sendall(), then {second}").format(
                         first=shorten(one + NEWLINE + two + NEWLINE),
                         second=shorten(three + NEWLINE)),
                     hint=_("one recv() is not one line: it may hold several, or part of one. "
                            "Print each line of a LineReader, not what recv() returned."))


@check("05", points=1, after="connects")
def keeps_split_character_whole(lab: ClientLab) -> None:
    """keeps a character whole when it is split between two reads"""
    server = lab.accept()
    data = (message("bob", "один") + NEWLINE + message("bob", "привет") + NEWLINE).encode(ENCODING)
    cut = data.index("е".encode(ENCODING)) + 1  # after the first of the letter's two bytes
    server.send_raw(data[:cut])
    lab.wait_printed(message("bob", "один"))  # read, so that the rest comes in another recv()
    server.send_raw(data[cut:])
    lab.expect_lines(message("bob", "привет"),
                     sent=_("{line}, cut inside {char} between two sendall()s").format(
                         line=shorten(message("bob", "привет")), char="'е'"),
                     any_encoding=True,  # the console's encoding is speaks_utf8's concern
                     hint=_("decode whole lines, not each recv(): a character can be cut in "
                            "two between reads (a Cyrillic letter is two bytes)."))


@check("05", points=1, after="sends_typed_lines")
def exits_after_leave(lab: ClientLab) -> None:
    """exits soon after the user types leave"""
    server = lab.accept()
    lab.type(protocol.LEAVE)
    server.expect(protocol.LEAVE)
    lab.expect_exit(hint=_("after sending 'leave', end the program: return from main()."))


@check("05", points=2, after="connects")
def exits_when_server_closes(lab: ClientLab) -> None:
    """says so and exits when the server closes the connection"""
    server = lab.accept()  # which greets the client with the prompt
    lab.wait_printed(protocol.PROMPT)
    time.sleep(IDLE)
    server.close()  # while the client waits for input, not in the moment after its start
    lab.expect_more_output(besides=(protocol.PROMPT,),
                           hint=_("a thread must wait in recv() all the time, also while "
                                  "input() waits: when recv() returns b'', print that the "
                                  "server has gone."))
    lab.expect_exit(hint=_("end the whole program once the server has gone, even while "
                           "input() waits: read input in a daemon thread, and let the "
                           "receiving thread tell the main one to return (set the Event it "
                           "waits on)."))


@check("05", points=1, after="connects")
def no_cpu_after_server_closes(lab: ClientLab) -> None:
    """spends no CPU after the server closes the connection"""
    server = lab.accept()
    lab.wait_printed(protocol.PROMPT)  # it is running
    server.close()
    used = lab.cpu_seconds(1.0)  # the client's host, read from outside; until it exits
    if used > 0.2:
        raise CheckFailed(
            _("your client keeps the CPU busy after the server closed the connection"),
            [(_("expected:"), _("under 0.2 s of CPU in 1 s, or an exit")),
             (_("measured:"), _("{s:.2f} s of CPU in 1 s").format(s=used))],
            _("recv() returns b'' again and again once the server has gone: leave the "
              "receiving loop then, and on OSError too."))


@check("05", points=1, after="sends_typed_lines")
def leaves_at_end_of_input(lab: ClientLab) -> None:
    """sends leave and exits at the end of its input"""
    server = lab.accept()
    lab.type("alice")
    server.expect("alice")
    lab.end_input()
    server.expect(protocol.LEAVE, hint=_("when stdin ends (input() raises EOFError, or the for "
                                         "loop ends), send 'leave'."))
    lab.expect_exit()


@check("05", points=1, after=("prints_while_waiting_for_input", "exits_after_leave"))
def chats_through_a_real_server(lab: ClientLab) -> None:
    """chats with another user through a real chat server"""
    with ReferenceServer() as server:
        bob = Client.connect("bob", server.address)
        try:
            bob.expect(protocol.PROMPT)
            bob.send("bob")
            server.wait_for_member("bob")
            lab.start(server.address[1])
            lab.type("alice")
            bob.expect(joined("alice"), within=3,  # it has started, connected, and joined
                       hint=_("send each typed line as it is."))
            bob.send("hi alice")
            lab.wait_printed(message("bob", "hi alice"))  # before it leaves; judged below
            lab.type("hi bob")
            bob.expect(message("alice", "hi bob"), hint=_("send each typed line as it is."))
            lab.type(protocol.LEAVE)
            bob.expect(left("alice"))
            lab.expect_exit()
            lab.expect_lines(protocol.PROMPT, message("bob", "hi alice"))
        finally:
            bob.close()
