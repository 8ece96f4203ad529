"""Checks of step 05: the student's client runs as a real process; the check is its server."""

from __future__ import annotations

import time

from ..i18n import _
from ..labs.client_lab import ClientLab
from ..labs.driver import Client
from ..labs.reference_server import ReferenceServer
from ..protocol import LEAVE, PROMPT, joined, left, message
from .registry import check


@check("05", points=1)
def connects(lab: ClientLab) -> None:
    """connects to the host and port given on its command line"""
    lab.accept()


@check("05", points=2, after="connects")
def prints_what_arrives(lab: ClientLab) -> None:
    """prints a line from the server as soon as it arrives"""
    lab.accept()  # which greets the client with the prompt
    lab.expect_printed(PROMPT, hint=_("print each received line with flush=True, "
                                      "in a thread that only receives."))


@check("05", points=2, after="connects")
def sends_typed_lines(lab: ClientLab) -> None:
    """sends each line typed on stdin"""
    server = lab.accept()
    lab.type("alice", "hello there")
    server.expect("alice", "hello there", hint=_("sendall() each input line followed by '\\n'."))


@check("05", points=2, after=("prints_what_arrives", "sends_typed_lines"))
def prints_while_waiting_for_input(lab: ClientLab) -> None:
    """prints messages while waiting for the user to type"""
    server = lab.accept()
    lab.type("alice")
    server.expect("alice")
    server.send(joined("bob"))
    time.sleep(0.2)
    server.send(message("bob", "anyone here?"))
    lab.expect_printed(joined("bob"))
    lab.expect_printed(message("bob", "anyone here?"),
                       hint=_("input() blocks: receive and print in a second thread."))


@check("05", points=2, after=("prints_what_arrives", "sends_typed_lines"))
def speaks_utf8(lab: ClientLab) -> None:
    """speaks UTF-8 both ways, whatever the console's encoding"""
    server = lab.accept()
    server.send(message("борис", "привет 👋"))
    lab.expect_printed(message("борис", "привет 👋"),
                       hint=_("call sys.stdout.reconfigure(encoding='utf-8') at the start."))
    lab.type("жук 🐞")
    server.expect("жук 🐞", hint=_("call sys.stdin.reconfigure(encoding='utf-8') and encode "
                                  "what you send as UTF-8."))


@check("05", points=1, after="sends_typed_lines")
def exits_after_leave(lab: ClientLab) -> None:
    """exits soon after the user types leave"""
    server = lab.accept()
    lab.type(LEAVE)
    server.expect(LEAVE)
    lab.expect_exit(hint=_("after sending 'leave', end the program: return from main()."))


@check("05", points=2, after="prints_what_arrives")
def exits_when_server_closes(lab: ClientLab) -> None:
    """says so and exits when the server closes the connection"""
    server = lab.accept()  # which greets the client with the prompt
    lab.expect_printed(PROMPT)
    server.close()
    lab.expect_more_output(hint=_("when recv() returns b'', print that the server has gone."))
    lab.expect_exit(hint=_("the receiving thread must end the whole program, even while "
                           "input() waits: make the input thread a daemon."))


@check("05", points=1, after="sends_typed_lines")
def leaves_at_end_of_input(lab: ClientLab) -> None:
    """sends leave and exits at the end of its input"""
    server = lab.accept()
    lab.type("alice")
    server.expect("alice")
    lab.end_input()
    server.expect(LEAVE, hint=_("when stdin ends (input() raises EOFError, or the for loop "
                                "ends), send 'leave'."))
    lab.expect_exit()


@check("05", points=2, after=("prints_while_waiting_for_input", "exits_after_leave"))
def chats_through_a_real_server(lab: ClientLab) -> None:
    """chats with another user through a real chat server"""
    with ReferenceServer() as server:
        bob = Client.connect("bob", server.address)
        try:
            bob.expect(PROMPT)
            bob.send("bob")
            server.wait_for_member("bob")
            lab.start(server.address[1])
            lab.expect_printed(PROMPT, within=3)
            lab.type("alice")
            bob.expect(joined("alice"), hint=_("send each typed line as it is."))  # now in the chat
            bob.send("hi alice")
            lab.expect_printed(message("bob", "hi alice"))
            lab.type("hi bob")
            bob.expect(message("alice", "hi bob"), hint=_("send each typed line as it is."))
            lab.type(LEAVE)
            bob.expect(left("alice"))
            lab.expect_exit()
        finally:
            bob.close()
