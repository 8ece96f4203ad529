"""Starting student hosts (labs/host.py): a new interpreter each time, or a fork of a zygote.

A zygote is a warm host: it has started Python (and, for a server, imported the student's
module) and forks a fresh host per request in a millisecond or two (POSIX only).
"""

from __future__ import annotations

import json
import os
import site
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import psutil

from .. import processes

HOST_SCRIPT = Path(__file__).with_name("host.py")
CAN_FORK = hasattr(os, "fork") and hasattr(socket, "send_fds")
# Where `python FILE` would find installed packages (what a student's code may import).
SITE_PACKAGES = os.pathsep.join(
    [*site.getsitepackages(), *([site.getusersitepackages()] if site.ENABLE_USER_SITE else [])])


def command(mode: str, student_file: Path, *extra: str) -> list[str]:
    """The host's command line; '{channel}' becomes its events channel (processes.start)."""
    drop = processes.unprivileged_user()
    # -S: the site hook of an editable install costs more than the rest of a host's start;
    # the host puts site-packages and exit() back itself (host.restore_site).
    return [sys.executable, "-S", str(HOST_SCRIPT), "--events", "{channel}", "--mode", mode,
            "--file", str(student_file), "--site", SITE_PACKAGES, *extra,
            *(["--drop", drop] if drop else [])]


def private_tmp(scratch: Path) -> str:
    """A temp folder for the student's code, inside our scratch folder (removed with it): the
    only one it may write to besides its own folder (host.py confines the rest)."""
    scratch.chmod(0o711)  # others may pass through to it, not list what else is here
    folder = scratch / "tmp"
    folder.mkdir(exist_ok=True)
    folder.chmod(0o1777)  # hosts run as users of their own
    return str(folder)


def environment(**overrides: str) -> dict[str, str]:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", PYTHONIOENCODING="utf-8")
    env.pop("PYTHONPATH", None)  # the grader's own path is not the student's
    env.pop("GRADER_HOST_USER", None)
    env.update(overrides)
    return env


def channel() -> tuple[int, int]:
    """A host's events channel: (our end, its end). A socket pair on POSIX, so that a serve
    host can also be asked whether it is quiet (host.py); a pipe on Windows."""
    if os.name == "nt":
        return os.pipe()
    ours, theirs = socket.socketpair()
    return ours.detach(), theirs.detach()


def spawn(cmd: list[str], **options) -> tuple[subprocess.Popen, IO[bytes]]:
    """A new host process and our end of its events channel."""
    read_end, write_end = channel()
    try:
        process = processes.start(cmd, channel=write_end, **options)
    finally:
        os.close(write_end)
    return process, os.fdopen(read_end, "rb")


class Zygote:
    """A warm host that forks fresh ones. `events` yields its own reports (see host.py)."""

    def __init__(self, cmd: list[str], output: IO[bytes], cwd: Path,
                 env: dict[str, str]) -> None:
        from .server_host import EventReader

        ours, theirs = socket.socketpair()
        with theirs:
            self.process, stream = spawn(cmd, stdin=theirs, stdout=output,
                                         stderr=subprocess.STDOUT, cwd=cwd, env=env)
        self.control: socket.socket | None = ours
        self.events = EventReader(stream)

    def fork(self, fds: list[int], args: dict, within: float) -> int | None:
        """Ask for a fresh host with these fds (closed here once sent); its pid, or None."""
        if self.control is None:
            return None
        try:
            socket.send_fds(self.control, [json.dumps(args).encode()], fds)
        except OSError:
            return None
        finally:
            for fd in fds:
                os.close(fd)
        deadline = time.monotonic() + within
        while True:
            event = self.events.next(deadline)
            if event is None or event["e"] == "closed":
                return None
            if event["e"] == "forked" and self._is_child(event.get("pid")):
                return int(event["pid"])  # type: ignore[arg-type]

    def _is_child(self, pid: object) -> bool:
        """A pid the zygote names is ended later: it must really be the zygote's child."""
        try:
            return isinstance(pid, int) and psutil.Process(pid).ppid() == self.process.pid
        except psutil.Error:
            return False

    def close(self) -> None:
        if self.control is not None:
            self.control.close()
            self.control = None
        processes.end_tree(self.process.pid)
        self.process.wait()
