"""`grader chat [HOST [PORT]]`: a small chat client for trying your own server by hand.

Windows has no nc and telnet mangles Cyrillic, so this speaks UTF-8 on the wire whatever the
console's encoding. What the server sends goes to stdout as it arrives; the client's own notices
go to stderr, so `grader chat > transcript.txt` records exactly what the server said.
"""

from __future__ import annotations

import argparse
import codecs
import socket
import sys
import threading
from typing import TextIO

from . import i18n, protocol
from .i18n import _

# 127.0.0.1, not "localhost": the lesson servers listen on IPv4 only, and where "localhost" means
# ::1 first (Windows) every connection would wait for the refused IPv6 attempt first.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = protocol.DEFAULT_PORT  # the lessons' `python server.py` default
CONNECT_TIMEOUT = 3.0  # seconds; Windows takes about 2 s to report a refused connection
EOF_GRACE = 2.0  # seconds to wait for the server's last words after our input ends
TICK = 0.2  # the main thread's waits are this short so that Ctrl-C gets through on Windows
BUFFER_SIZE = 4096


def parse_address(argv: list[str]) -> tuple[str, int]:
    """HOST and PORT from `[HOST [PORT]]`, where a lone number is the port."""
    p = argparse.ArgumentParser(
        prog="grader chat",
        description=_("Chat with a server by hand: what it sends is shown as it arrives, and "
                      "each line you type is sent. End your input with Ctrl-D (Windows: Ctrl-Z, "
                      "then Enter); Ctrl-C quits."))
    p.add_argument("host", nargs="?", metavar="HOST",
                   help=_("the server's address (default: {host})").format(host=DEFAULT_HOST))
    p.add_argument("port", nargs="?", metavar="PORT",
                   help=_("the server's port (default: {port}); `grader chat PORT` works too")
                   .format(port=DEFAULT_PORT))
    # The caller has already chosen the language from --lang; accept it here so it parses.
    p.add_argument("--lang", choices=i18n.LANGUAGES,
                   help=_("language of the output (default: GRADER_LANG, then your system's)"))
    args = p.parse_args(argv)
    host, port = args.host or DEFAULT_HOST, args.port
    if port is None and host.isdecimal():  # `grader chat 9000`
        host, port = DEFAULT_HOST, host
    if port is None:
        return host, DEFAULT_PORT
    if not (port.isdecimal() and 0 < int(port) < 65536):
        p.error(_("the port must be a number from 1 to 65535, not '{port}'").format(port=port))
    return host, int(port)


def use_utf8_console() -> None:
    """A character the console lacks becomes '?', a byte it cannot decode U+FFFD: never a crash.
    Windows pipes and old consoles default to cp1251 or cp866, so ask for UTF-8 there."""
    for stream in (sys.stdin, sys.stdout):
        if not hasattr(stream, "reconfigure"):  # replaced by IDLE or a test runner: leave it
            continue
        try:
            if sys.platform == "win32":
                stream.reconfigure(encoding=protocol.ENCODING, errors="replace")
            else:
                stream.reconfigure(errors="replace")
        except (OSError, ValueError):
            pass  # "where possible": the console keeps its own settings


def say(text: str, new_line: bool = False) -> None:
    """One line of the client's own, on stderr (after the server's text that came before)."""
    sys.stdout.flush()
    print("\n" + text if new_line else text, file=sys.stderr, flush=True)


def connect(host: str, port: int) -> socket.socket | None:
    """The connection, or None after one line that says why there is none."""
    try:
        sock = socket.create_connection((host, port), timeout=CONNECT_TIMEOUT)
    except (ConnectionRefusedError, socket.timeout, TimeoutError):
        say(_("Nothing is listening at {host}:{port}. Start your server first, for example: "
              "python lessons/04_multi_user/server.py {port}").format(host=host, port=port))
        return None
    except socket.gaierror:
        say(_("There is no computer called '{host}': check the spelling (this computer is "
              "127.0.0.1).").format(host=host))
        return None
    except OSError as error:
        say(_("Could not connect to {host}:{port}: {reason}")
            .format(host=host, port=port, reason=error.strerror or error))
        return None
    sock.settimeout(None)  # from now on the receiver waits for the server as long as it takes
    return sock


class Session:
    """One connection: a receiver thread, a sender thread, and events for how it ends."""

    def __init__(self, sock: socket.socket, out: TextIO) -> None:
        self.sock = sock
        self.out = out
        self.closed = threading.Event()  # the server hung up
        self.input_ended = threading.Event()  # stdin ended; our sending side is shut
        self.stopping = threading.Event()  # we hang up ourselves: the receiver keeps quiet
        self.at_line_start = True  # did the server's text so far end with a newline?

    def receive(self) -> None:
        """Print the server's text the moment it arrives, even a prompt without a newline."""
        # Incremental: a character split across two recv() calls comes out whole.
        decoder = codecs.getincrementaldecoder(protocol.ENCODING)(errors="replace")
        while True:
            try:
                data = self.sock.recv(BUFFER_SIZE)
            except OSError:  # a reset, or our own shutdown: the connection is over either way
                data = b""
            text = decoder.decode(data, final=not data)
            if text:
                self.out.write(text)
                self.out.flush()
                self.at_line_start = text.endswith("\n")
            if not data:
                break
        if not self.stopping.is_set():
            say(_("The server closed the connection."), new_line=not self.at_line_start)
        self.closed.set()

    def send_input(self, lines: TextIO) -> None:
        """Send each typed line as UTF-8 with "\\n"; at the end of input, shut our side."""
        try:
            for line in iter(lines.readline, ""):
                text = protocol.strip_line_end(line)
                self.sock.sendall((text + protocol.NEWLINE).encode(protocol.ENCODING))
            # The server reads EOF, but our receiving side stays open for what it still says.
            self.sock.shutdown(socket.SHUT_WR)
        except (OSError, ValueError):
            pass  # the connection (or stdin) is gone; the receiver says so
        self.input_ended.set()

    def run(self) -> None:
        # Daemon threads: a thread still waiting for input must not keep the program alive.
        threading.Thread(target=self.receive, daemon=True).start()
        threading.Thread(target=self.send_input, args=(sys.stdin,), daemon=True).start()
        while not self.closed.wait(TICK):
            if self.input_ended.is_set():
                if not self.closed.wait(EOF_GRACE):
                    self.stopping.set()
                    say(_("Your input ended, but the server did not close the connection "
                          "within {s:g} s; stopping here.").format(s=EOF_GRACE),
                        new_line=not self.at_line_start)
                return

    def hang_up(self) -> None:
        self.stopping.set()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the receiver, which close() would not
        except OSError:
            pass
        self.sock.close()


def main(argv: list[str]) -> int:
    host, port = parse_address(argv)
    use_utf8_console()
    session = None
    try:
        sock = connect(host, port)
        if sock is None:
            return 1
        session = Session(sock, sys.stdout)
        say(_("Connected to {host}:{port}. Type a line and press Enter to send it.")
            .format(host=host, port=port))
        session.run()
    except KeyboardInterrupt:
        if session is not None:
            session.stopping.set()  # before the line, so the receiver adds none of its own
        say(_("Stopped (Ctrl-C); the connection is closed."), new_line=True)
    finally:
        if session is not None:
            session.hang_up()
    return 0
