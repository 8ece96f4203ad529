"""A lesson's own server for `grader load --serve`: started on a free port, stopped after."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..i18n import _
from .engine import LoadError

KIT_HOME = Path(__file__).resolve().parents[2]


def solution_server(step: str) -> Path:
    """solutions/<folder>/server.py for a step given as 04, 4 or 04_multi_user."""
    solutions = KIT_HOME / "solutions"
    wanted = step.strip().zfill(2) if step.strip().isdecimal() else step.strip()
    number = wanted.split("_", 1)[0]
    if number.isdecimal() and int(number) < 4:
        raise LoadError(_("only the multi-user chat servers can be loaded (step 04 and later), "
                          "not step {step}.").format(step=step))
    for folder in sorted(solutions.iterdir()) if solutions.is_dir() else ():
        if folder.name == wanted or folder.name.split("_", 1)[0] == wanted:
            path = folder / "server.py"
            if path.is_file():
                return path
            raise LoadError(_("step {step} has no server to load ({path} is missing).")
                            .format(step=step, path=path))
    raise LoadError(_("there is no step {step} in {folder}.").format(step=step, folder=solutions))


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager


def served(path: Path, timeout: float = 10.0) -> Iterator[tuple[tuple[str, int], int]]:
    """Run `python PATH PORT` on a free port of 127.0.0.1 until the block ends; yields the
    address and the process id. Nothing is left running afterwards."""
    import psutil

    path = Path(os.path.abspath(path))
    port = free_port()
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen([sys.executable, str(path), str(port)], cwd=path.parent,
                                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                   stderr=errors)
        try:
            _wait_listening(psutil.Process(process.pid), process, port, timeout, errors, path)
            yield ("127.0.0.1", port), process.pid
        finally:
            process.terminate()
            try:
                process.wait(3)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(3)


def _wait_listening(watched, process: subprocess.Popen, port: int, timeout: float,
                    errors, path: Path) -> None:
    import psutil

    deadline = time.monotonic() + timeout
    listing = getattr(watched, "net_connections", None) or watched.connections
    while time.monotonic() < deadline:
        if process.poll() is not None:
            errors.seek(0)
            tail = errors.read().decode("utf-8", "replace").strip().splitlines()[-1:]
            raise LoadError(_("{path} ended before it listened (exit code {code}){tail}").format(
                path=path, code=process.returncode, tail=": " + tail[0] if tail else ""))
        try:
            if any(c.status == psutil.CONN_LISTEN and c.laddr and c.laddr[1] == port
                   for c in listing(kind="tcp")):
                return
        except psutil.Error:
            pass
        time.sleep(0.02)
    raise LoadError(_("{path} did not listen on port {port} within {seconds} s.").format(
        path=path, port=port, seconds=timeout))


# -- the command --------------------------------------------------------------------------------
