"""A fresh student server for every check: 127.0.0.1 port 0, serve() in a daemon thread.

Also watches the student's threads: a crash is remembered to explain a failure later, and
threads left behind after a check are stopped so that they cannot disturb the next one.
"""

from __future__ import annotations

import ctypes
import socket
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from . import protocol
from .driver import WAIT, CheckFailed, Client, shorten
from .i18n import _


def student_lines(error: BaseException, student_file: Path) -> str:
    """The frames of a traceback that are in the student's file: 'server.py:42 in f: code'."""
    frames = [
        code_place(Path(frame.filename).name, frame.lineno, frame.name, (frame.line or "").strip())
        for frame in traceback.extract_tb(error.__traceback__)
        if Path(frame.filename).resolve() == student_file.resolve()
    ]
    kind = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    return "; ".join(frames[-2:] + [kind])


def code_place(file: str, line: int | str, function: str, code: str) -> str:
    return _("{file}:{line} in {function}: {code}").format(
        file=file, line=line, function=function, code=code)


class Session:
    """One check's server and its clients. Use as a context manager."""

    def __init__(self, serve: Callable[[socket.socket], None], student_file: Path):
        self.student_file = student_file
        self.crashes: list[str] = []
        self.clients: list[Client] = []
        self._threads_before = set(threading.enumerate())
        self._stopping = False
        self._old_hook = threading.excepthook
        threading.excepthook = self._thread_crashed
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address: tuple[str, int] = self.listener.getsockname()[:2]
        self.thread = threading.Thread(target=self._serve, args=(serve,), daemon=True)
        self.thread.start()

    def _serve(self, serve: Callable[[socket.socket], None]) -> None:
        try:
            serve(self.listener)
        except BaseException as error:  # noqa: B036 - whatever the student's code raises
            if not self._stopping:
                self.crashes.append(_("serve() stopped: {where}").format(
                    where=student_lines(error, self.student_file)))
        else:
            if not self._stopping:
                self.crashes.append(_("serve() returned; it should serve forever"))

    def _thread_crashed(self, args: threading.ExceptHookArgs) -> None:
        if self._stopping or args.exc_value is None or isinstance(args.exc_value, SystemExit):
            return
        self.crashes.append(_("a thread of yours crashed: {where}").format(
            where=student_lines(args.exc_value, self.student_file)))

    # -- what checks use --------------------------------------------------------------------
    def connect(self, name: str) -> Client:
        try:
            client = Client.connect(name, self.address)
        except OSError as error:
            raise CheckFailed(_("{who} could not connect to your server").format(who=name),
                              [("", str(error))]) from None
        self.clients.append(client)
        return client

    def arrive(self, name: str) -> Client:
        """Connect and wait for the name prompt (chat steps)."""
        waiting = [c.name for c in self.clients if not c.sent and not c.closed_by_server]
        client = self.connect(name)
        if waiting:  # the classic: the accept loop itself waits for a name
            hint = _("ask for the name in the client's own thread, not in the accept loop: "
                     "{who} has not answered yet, and no one else should have to wait.").format(
                         who=waiting[0])
        else:
            hint = _("send the prompt as soon as a client connects.")
        client.expect(protocol.PROMPT, hint=hint)
        return client

    def join(self, *names: str, members: list[Client] | None = None) -> list[Client]:
        """Bring clients into the chat one by one; every member (old and new) sees each join."""
        members = list(members or [])
        newcomers: list[Client] = []
        for name in names:
            newcomer = self.arrive(name)
            newcomer.send(name)
            if len(members) == 1 and len(members[0].received) == 1:
                self._settle_first_pair(members[0], newcomer)
            else:
                for member in members:
                    member.expect(protocol.joined(name),
                                  hint=_("tell everyone already in the chat who joined."))
            members.append(newcomer)
            newcomers.append(newcomer)
        return newcomers

    def _settle_first_pair(self, first: Client, second: Client) -> None:
        """Nothing shows when the first client's name is handled, so the server may take the
        second name first. Then the second client sees the first one join: also fine."""
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            line = first.read_line(0.02)
            if line == protocol.joined(second.name):
                return
            if line is not None:
                break
            if second.read_line(0.02) == protocol.joined(first.name):
                return
        first.expect(protocol.joined(second.name), within=0.05,
                     hint=_("tell everyone already in the chat who joined."))

    def cpu_seconds(self, seconds: float) -> float:
        """CPU time this process spends over `seconds` of wall time (the grader itself sleeps)."""
        start = time.process_time()
        time.sleep(seconds)
        return time.process_time() - start

    def thread_count(self) -> int:
        return threading.active_count()

    # -- ending -----------------------------------------------------------------------------
    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._stopping = True
        for client in self.clients:
            client.close()
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes accept() on Linux
        except OSError:
            pass
        self.listener.close()
        self.thread.join(0.2)
        _stop_threads(set(threading.enumerate()) - self._threads_before)
        threading.excepthook = self._old_hook

    def explain(self, failure: CheckFailed) -> CheckFailed:
        """Add what every client saw and any crash of the student's code to a failure."""
        for client in self.clients[:4]:  # enough to follow the story; 30 would drown it
            failure.details.append((_("{who} saw:").format(who=client.name), client.transcript()))
        for crash in list(dict.fromkeys(self.crashes))[:2]:
            failure.details.append((_("meanwhile:"), shorten(crash, 200)[1:-1]))
        return failure


def _stop_threads(threads: set[threading.Thread], patience: float = 0.3) -> None:
    """Ask leftover threads to stop by raising SystemExit in them (as often as it takes)."""
    deadline = time.monotonic() + patience
    while threads and time.monotonic() < deadline:
        for thread in list(threads):
            if not thread.is_alive() or thread.ident is None:
                threads.discard(thread)
                continue
            ctypes.pythonapi.PyThreadState_SetAsyncExc(
                ctypes.c_ulong(thread.ident), ctypes.py_object(SystemExit))
        time.sleep(0.01)
