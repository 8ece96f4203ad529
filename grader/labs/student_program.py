"""The student's program (the client step) in a host: `python FILE ARGS` as the student runs it,
with the console of a Russian Windows machine (cp1251), forked warm from a zygote on POSIX.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import IO

import psutil

from .. import processes
from . import launcher
from .server_host import EventReader

CONSOLE_ENCODING = "cp1251"  # a Russian Windows console: the client must still speak UTF-8
STARTED_WITHIN = 10.0


def program_environment(scratch: Path) -> dict[str, str]:
    env = launcher.environment(PYTHONIOENCODING=CONSOLE_ENCODING,
                               TMPDIR=launcher.private_tmp(scratch))
    env.pop("PYTHONUNBUFFERED", None)  # unless start(console=True): then it need not flush
    return env


EVENTS_AFTER_EXIT = 1.0  # s: for the last events of a program that has ended (a child of its
#                          may hold the pipe open longer: then its code is unknown, -1)


class ProgramProcess:
    """A running program: its pipes, and its exit code as Popen would give it."""

    def __init__(self, pid: int, stdin: IO[bytes], stdout: IO[bytes], stderr: IO[bytes],
                 events: EventReader, popen: subprocess.Popen | None = None) -> None:
        self.pid, self.stdin, self.stdout, self.stderr = pid, stdin, stdout, stderr
        self.popen = popen
        self.code: int | None = None  # what the host said it exits with
        self.events = events
        self.events_read = threading.Event()  # to their end: the code is known, if said
        threading.Thread(target=self._watch, daemon=True, name="program-events").start()

    def _watch(self) -> None:
        try:
            while True:
                event = self.events.next(time.monotonic() + 3600)
                if event is None or event["e"] == "closed":
                    return
                if event["e"] in ("exiting", "exit") and isinstance(event.get("code"), int):
                    self.code = event["code"]
        finally:
            self.events_read.set()

    def poll(self) -> int | None:
        if self.popen is not None:
            return self.popen.poll()
        try:
            gone = psutil.Process(self.pid).status() == psutil.STATUS_ZOMBIE
        except psutil.Error:
            gone = True
        if not gone:
            return None
        if self.code is None:  # it has ended; what it said of its code may be on its way still
            self.events_read.wait(EVENTS_AFTER_EXIT)
        return self.code if self.code is not None else -1

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            code = self.poll()
            if code is not None:
                return code
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired("client", timeout or 0)
            time.sleep(0.01)

    def end(self) -> None:
        """End the program. Its output pipes are left to their readers, which close them at
        their end: a process it left behind (a double fork) may hold them open until the sweep
        after the check, and closing a pipe that a thread is reading waits for that read."""
        processes.end_tree(self.pid)
        if self.popen is not None:
            self.popen.wait(5)
        try:
            self.stdin.close()
        except OSError:
            pass


class StudentProgram:
    """One step's program: start() runs it afresh with arguments, as many times as needed."""

    def __init__(self, student_file: Path) -> None:
        self.file = student_file.resolve()
        self.scratch = Path(tempfile.mkdtemp(prefix="grader-program-"))
        self.zygote: launcher.Zygote | None = None
        self.lock = threading.Lock()
        if launcher.CAN_FORK:
            with (self.scratch / "zygote.out").open("wb") as out:
                self.zygote = launcher.Zygote(launcher.command("program-zygote", self.file), out,
                                              self.file.parent, program_environment(self.scratch))
            event = self.zygote.events.next(time.monotonic() + STARTED_WITHIN)
            if event is None or event["e"] != "zygote":
                self.zygote.close()
                self.zygote = None  # new interpreters, then

    def start(self, args: list[str], connect: int = 0, console: bool = False) -> ProgramProcess:
        """Run it with `args`; `connect`: a port every TCP connection it makes goes to;
        `console`: what it prints shows line by line, as on a terminal (else, as through a
        pipe, only when it flushes)."""
        with self.lock:
            if self.zygote is not None:
                started = self._fork(args, connect, console)
                if started is not None:
                    return started
            return self._spawn(args, connect, console)

    def _fork(self, args: list[str], connect: int, console: bool) -> ProgramProcess | None:
        assert self.zygote
        pipes = [os.pipe() for _ in range(4)]  # events, stdin, stdout, stderr
        (events_r, events_w), (in_r, in_w), (out_r, out_w), (err_r, err_w) = pipes
        pid = self.zygote.fork([events_w, in_r, out_w, err_w],
                               {"argv": args, "connect": connect, "console": console},
                               STARTED_WITHIN)
        if pid is None:
            for fd in (events_r, in_w, out_r, err_r):
                os.close(fd)
            return None
        return ProgramProcess(pid, os.fdopen(in_w, "wb"), os.fdopen(out_r, "rb"),
                              os.fdopen(err_r, "rb"), EventReader(os.fdopen(events_r, "rb")))

    def _spawn(self, args: list[str], connect: int, console: bool) -> ProgramProcess:
        env = program_environment(self.scratch)
        if console:  # unbuffered: more than a terminal's line buffering, the same to see
            env["PYTHONUNBUFFERED"] = "1"
        popen, events = launcher.spawn(
            [*launcher.command("program", self.file, "--connect", str(connect)), "--", *args],
            cwd=self.file.parent,
            env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE)
        assert popen.stdin and popen.stdout and popen.stderr
        return ProgramProcess(popen.pid, popen.stdin, popen.stdout, popen.stderr,
                              EventReader(events), popen)

    def after_check(self) -> None:
        """End what a check's program left (a double fork, a session of its own): the
        zygote's children, it being their subreaper, and our own children but the zygote."""
        zygote = self.zygote.process.pid if self.zygote else None
        processes.sweep(keep={zygote} if zygote else set(), also_below=zygote)

    def close(self) -> None:
        if self.zygote is not None:
            self.zygote.close()
            self.zygote = None
        shutil.rmtree(self.scratch, ignore_errors=True)
