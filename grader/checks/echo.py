"""Checks of the echo steps: 01 (echo bytes) and 02 (echo lines, with framing)."""

from __future__ import annotations

import socket
import time

from ..i18n import _
from ..labs.chat_session import Session
from ..labs.driver import QUIET, CheckFailed, shorten_lines
from ..protocol import MAX_LINE_BYTES, longest_text
from .registry import check


@check("01", points=2)
@check("02", points=2)
def echoes_a_line(server: Session) -> None:
    """sends a line back to the client that sent it"""
    ann = server.connect("ann")
    ann.send("hello")
    try:
        ann.expect("hello", hint=_("recv() what the client sends and sendall() it back."))
    except CheckFailed as failure:
        if ann.received:  # an answer, but not the echo
            failure.hint = _("send back exactly the bytes that came, unchanged: your server "
                             "answered something else.")
        elif not ann.closed_by_server:  # nothing yet: a line end it awaits?
            ann.send_raw(b"\r\n")
            if ann.wait_for("hello", within=0.5):
                failure.hint = _("your server waited for b'\\r\\n': a line ends at b'\\n' "
                                 "(a '\\r' before it is optional). Cut at b'\\n', then "
                                 "remove one trailing '\\r'.")
        raise


@check("01", points=1, after="echoes_a_line")
@check("02", points=1, after="echoes_a_line")
def echoes_nothing_else(server: Session) -> None:
    """sends back what came and nothing more: no greeting, no line of its own"""
    ann = server.connect("ann")
    for text in ("one", "two"):  # one at a time: two in one recv() is another check's concern
        ann.send(text)
        ann.expect(text)
    extra = ann.drain(within=QUIET)  # those set aside before "one" first
    partial = ann.buffer.decode("utf-8", errors="replace")
    if extra or partial:
        raise CheckFailed(
            _("your server sent more than the echo"),
            [(_("{who} sent:").format(who="ann"), "'one', 'two'"),
             (_("{who} received besides:").format(who="ann"),
              shorten_lines(extra + [partial] if partial else extra))],
            _("an empty line came back too: a '\\n' is added to a line that kept its own (from "
              "readline()?). Send each line back as it came.") if "" in extra else
            _("send back exactly what came, and nothing else: no greeting, no prompt, no "
              "line of your own."))


@check("01", points=2, after="echoes_a_line")
def keeps_echoing(server: Session) -> None:
    """keeps echoing, message after message"""
    ann = server.connect("ann")
    for text in ("one", "two", "three"):
        ann.send(text)
        ann.expect(text, hint=_("recv() and sendall() in a loop, until recv() returns b''."))


@check("01", points=1, after="echoes_a_line")
def closes_when_client_does(server: Session) -> None:
    """closes the connection when the client has finished sending"""
    ann = server.connect("ann")
    ann.send("bye")
    ann.expect("bye")
    ann.sock.shutdown(socket.SHUT_WR)  # the client's end of the stream: recv() gives b''
    ann.expect_closed(hint=_("when recv() returns b'', close that connection (a `with conn:` "
                             "block does it) and accept() the next one."))


@check("01", points=1, after="echoes_a_line")
def echoes_non_ascii(server: Session) -> None:
    """sends non-ASCII text back unchanged"""
    ann = server.connect("ann")
    ann.send("привет, мир 👋")
    ann.expect("привет, мир 👋", hint=_("send back exactly the bytes you received."))


@check("02", points=1, after="echoes_a_line")
def waits_for_whole_line(server: Session) -> None:
    """waits for the end of a line before echoing it"""
    ann = server.connect("ann")
    ann.send_raw(b"hel")
    ann.expect_nothing(hint=_("keep the bytes in a buffer until b'\\n' arrives."))
    ann.send_raw(b"lo\n")
    ann.expect("hello", hint=_("keep the bytes of a line in a buffer until b'\\n' arrives, "
                               "then echo the whole line: the first part too."))


@check("02", points=1, after="echoes_a_line")
def two_lines_in_one_recv(server: Session) -> None:
    """keeps two lines apart when they arrive in one recv()"""
    ann = server.connect("ann")
    ann.send_raw(b"one\ntwo\n")
    ann.expect("one", "two", hint=_("one recv() may hold several lines: cut at every b'\\n'."))


@check("02", points=2, after="echoes_a_line")
def split_utf8_character(server: Session) -> None:
    """puts a UTF-8 character back together when recv() cuts it in half"""
    ann = server.connect("ann")
    data = "жук\n".encode()
    ann.send_raw(data[:1])
    time.sleep(0.05)
    ann.send_raw(data[1:])
    ann.expect("жук", hint=_("decode whole lines, not each recv(): 'ж' is two bytes."))


@check("02", points=1, after="echoes_a_line")
def strips_carriage_return(server: Session) -> None:
    """drops the '\\r' of a line that ends in '\\r\\n' (telnet, nc -C)"""
    ann = server.connect("ann")
    ann.send_raw(b"hi\r\n")
    ann.expect("hi", hint=_("remove one trailing '\\r' from every line."))


@check("02", points=1, after="echoes_a_line")
def survives_invalid_utf8(server: Session) -> None:
    """turns bytes that are not UTF-8 into '\ufffd' instead of crashing"""
    ann = server.connect("ann")
    ann.send_raw(b"\xff\xfeok\n")
    ann.expect("\ufffd\ufffdok", hint=_("decode with errors='replace'."))


@check("02", points=1, after="echoes_a_line")
def echoes_text_as_sent(server: Session) -> None:
    """echoes the line unchanged, the spaces around it too"""
    ann = server.connect("ann")
    text = "  two spaces before, a tab after\t"
    ann.send(text)
    ann.expect(text, hint=_("remove only the line ending ('\\n', and a '\\r' before it): "
                            "strip() takes the spaces and tabs of the text too."))


@check("02", points=2, after="echoes_a_line")
def long_line(server: Session) -> None:
    """echoes a line of 64 KiB intact"""
    ann = server.connect("ann")
    text = longest_text("0123456789абвгд")  # 65,536 bytes with its newline: the most allowed
    ann.send(text)
    try:
        ann.expect(text, within=3, hint=_("keep receiving until the newline; lines up to "
                                          "MAX_LINE_BYTES must pass whole."))
    except CheckFailed as failure:
        if ann.closed_by_server and not ann.received:  # dropped as if it were too long
            failure.hint = _("{size} bytes, the newline included, is the longest line allowed, "
                             "and it must pass: look for the newline first, and drop a client "
                             "only for a longer line.").format(size=MAX_LINE_BYTES)
        raise


@check("01", points=2, after="echoes_a_line")
@check("02", points=1, after="echoes_a_line")
def serves_next_client(server: Session) -> None:
    """serves the next client after one hangs up"""
    ann = server.connect("ann")
    ann.send("hello")
    ann.expect("hello")
    ann.close()
    bob = server.connect("bob")
    bob.send("hi")
    bob.expect("hi", hint=_("when recv() returns b'', close that connection and accept() "
                            "the next one."))


@check("01", points=1, after="serves_next_client")
@check("02", points=1, after="serves_next_client")
def survives_a_reset(server: Session) -> None:
    """keeps serving after a client vanishes abruptly (connection reset)"""
    ann = server.connect("ann")
    ann.send("hello")
    ann.expect("hello")
    ann.send("one more")
    ann.reset()
    bob = server.connect("bob")
    bob.send("hi")
    bob.expect("hi", hint=_("catch OSError (ConnectionResetError) around the conversation "
                            "with one client, so serve() goes on."))


@check("02", points=1, after="serves_next_client")
def drops_endless_line(server: Session) -> None:
    """drops a client whose line is longer than 64 KiB, and serves the next"""
    ann = server.connect("ann")
    ann.send_raw(b"x" * (MAX_LINE_BYTES + 4096))
    bob = server.connect("bob")
    bob.send("hi")
    bob.expect("hi", within=2, hint=_("when the buffer reaches MAX_LINE_BYTES without a "
                                      "newline, stop reading from that client."))
