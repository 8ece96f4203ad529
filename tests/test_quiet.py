"""The host says when the student's server is quiet (every thread waits for input), so that a
check not about races never starts one: a join while the last broadcast still runs."""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path

import pytest

from grader.labs.server_host import StudentServer

SERVER = '''
import socket, threading, time
{at_import}

def handle(conn):
    while True:
        data = conn.recv(100)
        if not data:
            return
        if data.startswith(b"spin"):
            while True:  # computes forever: never quiet again
                pass
        if data.startswith(b"nap"):
            time.sleep(0.05)  # a sleep is waiting too
        conn.sendall(data)

def serve(listener):
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=handle, args=(conn,), daemon=True).start()
'''

# A thread left running by the import: no zygote, each host is a new interpreter.
AT_IMPORT = {"forked": "", "spawned": "threading.Thread(target=time.sleep, args=(60,), "
                                      "daemon=True).start()"}


@pytest.mark.skipif(sys.platform == "win32", reason="a pipe there: the host cannot be asked")
@pytest.mark.parametrize("how", sorted(AT_IMPORT))
def test_quiet_until_a_thread_computes(how: str, tmp_path: Path) -> None:
    (tmp_path / "server.py").write_text(SERVER.format(at_import=AT_IMPORT[how]))
    code = StudentServer(tmp_path / "server.py")
    try:
        assert code.prepare() == ""
        host = code.start()
        try:
            assert host.quiet(), "a server waiting in accept() is quiet"
            with socket.create_connection(host.address, timeout=2) as client:
                client.sendall(b"hello")
                assert client.recv(100) == b"hello"
                assert host.quiet(), "a handler waiting in recv() is quiet"
                client.sendall(b"nap")
                assert client.recv(100) == b"nap"
                assert host.quiet()
                client.sendall(b"spin")
                time.sleep(0.1)
                started = time.monotonic()
                assert not host.quiet(), "a thread computing forever is not quiet"
                assert time.monotonic() - started < 1.0, "the answer has a deadline"
        finally:
            host.close()
    finally:
        code.close()


POLLER = '''
import select, socket

def serve(listener):
    poller = select.{kind}()
    poller.register(listener.fileno(), select.{flag})
    clients = {{}}
    while True:
        for fd, _ in poller.poll({timeout}):
            if fd == listener.fileno():
                conn, _ = listener.accept()
                clients[conn.fileno()] = conn
                poller.register(conn.fileno(), select.{flag})
            else:
                data = clients[fd].recv(100)
                if data:
                    clients[fd].sendall(data)
                else:
                    poller.unregister(fd)
                    clients.pop(fd).close()
'''


@pytest.mark.skipif(not hasattr(__import__("select"), "epoll"), reason="Linux: poll and epoll")
@pytest.mark.parametrize("kind, flag, timeout", [("poll", "POLLIN", "None"),
                                                  ("epoll", "EPOLLIN", "-1")])
def test_a_server_waiting_in_poll_is_quiet_and_not_standing_still(
        kind: str, flag: str, timeout: str, tmp_path: Path) -> None:
    """select.poll() and select.epoll() wait for clients as select() does: a server built on
    them is quiet when idle, and no standstill is blamed on its poll() line."""
    from grader.labs.standstill import standstill

    (tmp_path / "server.py").write_text(POLLER.format(kind=kind, flag=flag, timeout=timeout))
    code = StudentServer(tmp_path / "server.py")
    try:
        assert code.prepare() == ""
        host = code.start()
        try:
            with socket.create_connection(host.address, timeout=2) as client:
                client.sendall(b"hello")
                assert client.recv(100) == b"hello"
                assert host.quiet()
                assert [place["call"] for place in host.where()] == ["poll"]
                assert standstill(host) is None
        finally:
            host.close()
    finally:
        code.close()
