"""The student's chat client as a real process, talking to a server socket the check controls."""

from __future__ import annotations

import queue
import re
import socket
import subprocess
import threading
import time
from pathlib import Path

from ..i18n import _
from ..protocol import PROMPT, is_leave
from .driver import WAIT, CheckFailed, Client, shorten
from .server_host import bounded_lines, code_place
from .student_program import ProgramProcess, StudentProgram


class ServerPeer(Client):
    """The check's end of the client's connection, behaving as a chat server does: it greets
    with the prompt (accept()) and hangs up once it has read `leave`, so that a client that
    waits for the prompt, or for the server to close after its leave, is a correct client."""

    def _read_new(self, within: float) -> str | None:
        line = super()._read_new(within)
        if line is not None and is_leave(line):
            try:
                self.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        return line


MAX_PRINTED = 1 << 20  # a printed line longer than this is dropped
MAX_LINES = 10_000  # lines kept of what the client prints


class ClientLab:
    """One check's listener and client process. Use as a context manager."""

    def __init__(self, program: StudentProgram):
        self.program = program
        self.student_file = program.file
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.process: ProgramProcess | None = None
        self.printed: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []  # every line printed so far
        self.errors: list[str] = []
        self.peer: Client | None = None

    # -- what checks use --------------------------------------------------------------------
    def start(self, port: int | None = None) -> None:
        """Start the student's client, connecting to our listener (or to `port`)."""
        self.process = self.program.start(["127.0.0.1", str(port or self.port)])
        threading.Thread(target=self._pump_output, daemon=True).start()
        threading.Thread(target=self._pump_errors, daemon=True).start()

    def accept(self, within: float = 3.0) -> Client:
        """Start the client and accept its connection: the returned Client is the server's end."""
        self.start()
        self.listener.settimeout(within)
        try:
            sock, _address = self.listener.accept()
        except socket.timeout:
            raise CheckFailed(
                _("your client did not connect"),
                [(_("expected:"), _("a connection to 127.0.0.1:{port} within {s:g} s").format(
                    port=self.port, s=within))],
                _("connect to the host and port given on the command line: "
                  "sys.argv[1] and sys.argv[2].")) from None
        self.peer = ServerPeer(_("server"), sock)
        self.peer.send(PROMPT)  # as a chat server does: a client may wait for it to start
        return self.peer

    def type(self, *lines: str) -> None:
        """Lines a user types, UTF-8 encoded (the client must read its stdin as UTF-8)."""
        assert self.process and self.process.stdin
        try:
            self.process.stdin.write("".join(line + "\n" for line in lines).encode())
            self.process.stdin.flush()
        except OSError:
            raise CheckFailed(_("your client stopped reading its input")) from None

    def end_input(self) -> None:
        assert self.process and self.process.stdin
        try:
            self.process.stdin.close()
        except OSError:
            pass

    def expect_printed(self, text: str, within: float = WAIT, hint: str = "") -> None:
        """A line containing `text` must be printed within `within` seconds."""
        deadline = time.monotonic() + within
        while True:
            line = self._next_printed(deadline)
            if line is None:
                raise CheckFailed(
                    _("your client did not print a line it received"),
                    [(_("server sent:"), shorten(text)),
                     (_("expected on screen:"), _("a line with {text} within {s:g} s").format(
                         text=shorten(text), s=within))],
                    hint)
            if text in line:
                return

    def expect_more_output(self, within: float = 2.0, hint: str = "") -> None:
        deadline = time.monotonic() + within
        while True:
            line = self._next_printed(deadline)
            if line is None:
                raise CheckFailed(
                    _("your client did not say that the server closed the connection"),
                    [(_("expected on screen:"), _("one more line within {s:g} s").format(
                        s=within))], hint)
            if line.strip():
                return

    def _next_printed(self, deadline: float) -> str | None:
        """The next line the client prints before the deadline, or None."""
        try:
            return self.printed.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            return None

    def expect_exit(self, within: float = 2.0, hint: str = "") -> None:
        assert self.process
        try:
            code = self.process.wait(within)
        except subprocess.TimeoutExpired:
            raise CheckFailed(
                _("your client is still running"),
                [(_("expected:"), _("exit with code 0 within {s:g} s").format(s=within))],
                hint) from None
        if code != 0:
            raise CheckFailed(
                _("your client exited with code {code}").format(code=code),
                [(_("expected:"), _("exit code 0"))], hint)

    # -- output of the process -----------------------------------------------------------
    def _pump_output(self) -> None:
        assert self.process and self.process.stdout
        for raw in bounded_lines(self.process.stdout, MAX_PRINTED):
            line = raw.decode("utf-8", errors="backslashreplace").rstrip("\r\n")
            if len(self.output) < MAX_LINES:  # a client printing forever fills no memory
                self.output.append(line)
                self.printed.put(line)

    def _pump_errors(self) -> None:
        assert self.process and self.process.stderr
        for raw in bounded_lines(self.process.stderr, MAX_PRINTED):
            if len(self.errors) < MAX_LINES:
                self.errors.append(raw.decode("utf-8", errors="backslashreplace").rstrip())

    def crash_summary(self) -> str:
        """'client.py:57 in receive: raise NotImplementedError; NotImplementedError' or ''."""
        where = ""
        for n, line in enumerate(self.errors):
            found = re.match(r'\s*File "(.+)", line (\d+), in (\S+)', line)
            if found and Path(found[1]).name == self.student_file.name:
                code = self.errors[n + 1].strip() if n + 1 < len(self.errors) else ""
                where = code_place(self.student_file.name, found[2], found[3], code)
        last = next((line for line in reversed(self.errors) if line and not line[0].isspace()
                     and "Traceback" not in line), "")
        return "; ".join(part for part in (where, last) if part)

    def explain(self, failure: CheckFailed) -> CheckFailed:
        time.sleep(0.05)  # let a fresh traceback reach us
        failure.details.append((_("your client printed:"),
                                ", ".join(shorten(line, 60) for line in self.output[-5:])
                                or _("nothing")))
        crash = self.crash_summary()
        if crash:
            failure.details.append((_("meanwhile:"), shorten(crash, 200)[1:-1]))
        return failure

    # -- ending -----------------------------------------------------------------------------
    def __enter__(self) -> ClientLab:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self.peer:
            self.peer.close()
        self.listener.close()
        if self.process:
            self.process.end()
