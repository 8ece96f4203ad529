"""The student's chat client as a real process, talking to a server socket the check controls."""

from __future__ import annotations

import queue
import re
import socket
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import psutil

from .. import processes, protocol
from ..i18n import _
from ..protocol import is_leave
from . import patience
from .driver import WAIT, CheckFailed, Client, Like, cut_lines, shorten
from .patience import Deadline
from .server_host import bounded_lines, code_place
from .student_program import CONSOLE_ENCODING, ProgramProcess, StudentProgram


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

    def closed_text(self) -> str:
        return _("your client closed the connection")


MAX_PRINTED = 1 << 20  # a printed line longer than this is cut to it
MAX_LINES = 10_000  # lines kept of what the client prints
MAX_KEPT = 16 << 20  # bytes kept of what it prints, in all
EXIT_WAIT = 2.0  # PROTOCOL.md: the client exits within 2 s (after leave, or the server's close)


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
        self.raw_output: list[bytes] = []  # the same lines as bytes
        self.output_changed = threading.Condition()  # a line was printed, or the output ended
        self.output_ended = False
        self.errors: list[str] = []
        self.peer: Client | None = None
        # Its output line-buffered, as in a terminal: only prints_what_arrives turns this off,
        # to see it through a pipe (an IDE's console, `| tee`), where only a flush shows a line.
        self.console = True

    # -- what checks use --------------------------------------------------------------------
    def start(self, port: int | None = None) -> None:
        """Start the student's client, connecting to our listener (or to `port`)."""
        self.process = self.program.start(["127.0.0.1", str(port or self.port)],
                                          connect=port or self.port,  # hard-coded ones too
                                          console=self.console)
        patience.watch(self.process.pid)
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
        self.peer.send(protocol.PROMPT)  # as a chat server does: a client may wait for it to start
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
        deadline = Deadline(within)
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

    def wait_printed(self, text: str, within: float = WAIT) -> bool:
        """Wait until a line with `text` has been printed (no verdict either way: a check uses
        it to pace what it sends, and judges later)."""
        return self._shown((text,), False, within)

    def expect_lines(self, *texts: str, together: bool = False, sent: str = "",
                     any_encoding: bool = False, hint: str = "") -> None:
        """Lines with `texts` must be printed in this order (`together`: each right after the
        one before, nothing between); `sent` says how they were sent, if not one by one;
        `any_encoding`: printed in UTF-8 or in the console's own (speaks_utf8 judges which).
        Judged on what the client prints, not on when: if they
        have not all shown within WAIT, its input is ended so that it leaves and exits, which
        writes out what it printed without flush (prints_what_arrives judges the when)."""
        if not self._shown(texts, together, WAIT, any_encoding) and self.process:
            self.end_input()
            self._wait_exit(EXIT_WAIT)
            with self.output_changed:  # and its output ends just after
                self.output_changed.wait_for(lambda: self.output_ended, timeout=0.5)
        if self._shown(texts, together, 0, any_encoding):
            return
        wanted = _(", then ").join(shorten(text) for text in texts)
        raise CheckFailed(
            _("your client did not print a line it received") if len(texts) == 1 else
            _("your client did not print the lines it received, one by one"),
            [(_("server sent:"), sent or wanted),
             (_("expected on screen:"),
              _("a line with {text}").format(text=wanted) if len(texts) == 1 else
              _("{lines}, one right after the other").format(lines=wanted) if together else
              _("{lines}, in this order").format(lines=wanted))],
            hint)

    def _shown(self, texts: Sequence[str], together: bool, within: float,
               any_encoding: bool = False) -> bool:
        """Wait until lines with `texts` have been printed in this order (`together`: one right
        after the other). Each line is looked at once, however often the output changes."""
        state = {"next": 0, "found": 0}

        def has(n: int, text: str) -> bool:
            return text in self.output[n] or any_encoding and text in self.raw_output[n].decode(
                CONSOLE_ENCODING, errors="replace")

        def seen() -> bool:
            lines, count = len(self.output), len(texts)
            if together:
                while state["next"] + count <= lines:
                    start = state["next"]
                    if all(has(start + n, text) for n, text in enumerate(texts)):
                        return True
                    state["next"] += 1
                return False
            while state["next"] < lines and state["found"] < count:
                state["found"] += has(state["next"], texts[state["found"]])
                state["next"] += 1
            return state["found"] == count

        deadline = Deadline(within)
        with self.output_changed:
            while not self.output_changed.wait_for(seen, timeout=deadline.left()):
                if not deadline.left():
                    return False
            return True

    def expect_more_output(self, within: float = 2.0, hint: str = "",
                           besides: Sequence[str] = ()) -> None:
        """One more line that is not empty, nor one with a text of `besides`."""
        deadline = Deadline(within)
        while True:
            line = self._next_printed(deadline)
            if line is None:
                raise CheckFailed(
                    _("your client did not say that the server closed the connection"),
                    [(_("expected on screen:"), _("one more line within {s:g} s").format(
                        s=within))], hint)
            if line.strip() and not any(text in line for text in besides):
                return

    def _next_printed(self, deadline: Deadline) -> str | None:
        """The next line the client prints before the deadline, or None."""
        while True:
            try:
                return self.printed.get(timeout=deadline.left())
            except queue.Empty:
                if not deadline.left():
                    return None

    def expect_exit(self, within: float = EXIT_WAIT, hint: str = "") -> None:
        code = self._wait_exit(within)
        if code is None:
            raise CheckFailed(
                _("your client is still running"),
                [(_("expected:"), _("exit with code 0 within {s:g} s").format(s=within))],
                hint)
        if code != 0:
            raise CheckFailed(
                _("your client exited with code {code}").format(code=code),
                [(_("expected:"), _("exit code 0"))], hint)

    def _wait_exit(self, within: float) -> int | None:
        """The client's exit code, or None if it still runs after `within` s. Meanwhile the
        server's end reads what arrives, so that it hangs up after `leave` as a chat server
        does, also when the check has not read that far."""
        assert self.process
        deadline = Deadline(within)
        while True:
            code = self.process.poll()
            if code is not None or not deadline.left():
                return code
            peer = self.peer
            if peer is not None and not peer.closed_by_server and peer.sock.fileno() != -1:
                try:
                    # read, not taken: a check may expect it
                    peer.wait_for(Like(protocol.LEAVE, is_leave), within=0.02)
                except OSError:
                    pass  # the check closed it meanwhile
            time.sleep(0.01)

    def cpu_seconds(self, seconds: float = 1.0) -> float:
        """CPU time the client spends (or waits for: processes.busy_over) over the next
        `seconds` of wall time, read from outside (its host process); if it ends sooner, what it
        spent until then."""
        assert self.process
        try:
            host = psutil.Process(self.process.pid)
        except psutil.Error:
            return 0.0
        return processes.busy_over(host, seconds, lambda: self.process.poll() is None)

    # -- output of the process -----------------------------------------------------------
    def _pump_output(self) -> None:
        assert self.process and self.process.stdout
        stream = self.process.stdout
        try:
            # a client printing forever fills no memory
            for raw in bounded_lines(stream, MAX_PRINTED, cut=True, total=MAX_KEPT):
                line = raw.decode("utf-8", errors="backslashreplace").rstrip("\r\n")
                if len(self.output) < MAX_LINES:
                    with self.output_changed:
                        self.output.append(line)
                        self.raw_output.append(raw.rstrip(b"\r\n"))
                        self.output_changed.notify_all()
                    self.printed.put(line)
        except (OSError, ValueError):
            pass  # the pipe was closed under us: the check has ended
        finally:
            stream.close()  # ours to close, at its end (see ProgramProcess.end)
            with self.output_changed:
                self.output_ended = True
                self.output_changed.notify_all()

    def _pump_errors(self) -> None:
        assert self.process and self.process.stderr
        stream = self.process.stderr
        try:
            for raw in bounded_lines(stream, MAX_PRINTED, total=MAX_KEPT):
                if len(self.errors) < MAX_LINES:
                    self.errors.append(raw.decode("utf-8", errors="backslashreplace").rstrip())
        except (OSError, ValueError):
            pass
        finally:
            stream.close()

    def crash_summary(self) -> str:
        """'client.py:57 in receive: raise NotImplementedError' and, on a line of its own,
        'NotImplementedError'; or ''."""
        where = ""
        for n, line in enumerate(self.errors):
            found = re.match(r'\s*File "(.+)", line (\d+), in (\S+)', line)
            if found and Path(found[1]).name == self.student_file.name:
                code = self.errors[n + 1].strip() if n + 1 < len(self.errors) else ""
                where = code_place(self.student_file.name, found[2], found[3], code)
        # the exception's own line ('ValueError: ...'), not a later line of its message
        tops = [line for line in self.errors if line and not line[0].isspace()
                and "Traceback" not in line]
        last = next((line for line in reversed(tops)
                     if re.match(r"[A-Za-z_][\w.]*(: |(Error|Exception|Exit|Interrupt)$)",
                                 line)), tops[-1] if tops else "")
        return "\n".join(part for part in (where, last) if part)

    def explain(self, failure: CheckFailed) -> CheckFailed:
        time.sleep(0.05)  # let a fresh traceback reach us
        failure.details.append((_("your client printed:"),
                                ", ".join(shorten(line, 60) for line in self.output[-5:])
                                or _("nothing")))
        crash = self.crash_summary()
        if crash:
            failure.details.append((_("meanwhile:"), cut_lines(crash, 160)))
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
