"""A reference chat server for trying a student's client for real (the step 03-05 protocol).

One thread and a selector instead of a thread per client: a different design from the
lesson's on purpose, so that the client is tried against the protocol, not against one
server's habits.
"""

from __future__ import annotations

import selectors
import socket
import threading
import time

from .. import protocol

BUFFER_SIZE = 4096


class ReferenceServer:
    """Serves on 127.0.0.1, a free port, until close(). Use as a context manager."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address: tuple[str, int] = self.listener.getsockname()[:2]
        self.selector = selectors.DefaultSelector()
        self.selector.register(self.listener, selectors.EVENT_READ)
        self.names: dict[socket.socket, str] = {}  # "" until the client gives its name
        self.buffers: dict[socket.socket, bytes] = {}
        self.running = True
        self.thread = threading.Thread(target=self._loop, daemon=True, name="reference-server")
        self.thread.start()

    def _loop(self) -> None:
        while self.running:
            for key, _events in self.selector.select(timeout=0.05):
                sock: socket.socket = key.fileobj  # type: ignore[assignment]
                if sock is self.listener:
                    conn, _address = sock.accept()
                    self.selector.register(conn, selectors.EVENT_READ)
                    self.names[conn], self.buffers[conn] = "", b""
                    self._send(conn, protocol.PROMPT)
                else:
                    self._receive(sock)

    def _receive(self, sock: socket.socket) -> None:
        try:
            data = sock.recv(BUFFER_SIZE)
        except OSError:
            data = b""
        if not data:
            self._drop(sock)
            return
        self.buffers[sock] += data
        while sock in self.buffers and b"\n" in self.buffers[sock]:
            raw, self.buffers[sock] = self.buffers[sock].split(b"\n", 1)
            self._line(sock, protocol.strip_line_end(raw.decode(protocol.ENCODING, "replace")))

    def _line(self, sock: socket.socket, line: str) -> None:
        name = self.names[sock]
        if protocol.is_leave(line):
            self._drop(sock)
        elif not name and not line.strip():
            self._send(sock, protocol.PROMPT)
        elif not name:
            self.names[sock] = line.strip()
            self._broadcast(sock, protocol.joined(line.strip()))
        elif line.strip():
            self._broadcast(sock, protocol.message(name, line))

    def _drop(self, sock: socket.socket) -> None:
        self.selector.unregister(sock)
        name = self.names.pop(sock)
        del self.buffers[sock]
        sock.close()
        if name:
            self._broadcast(sock, protocol.left(name))

    def _broadcast(self, sender: socket.socket, text: str) -> None:
        for sock, name in list(self.names.items()):
            if sock is not sender and name:
                self._send(sock, text)

    def _send(self, sock: socket.socket, text: str) -> None:
        try:
            sock.sendall((text + protocol.NEWLINE).encode(protocol.ENCODING))
        except OSError:
            pass  # its own EOF will drop it

    def wait_for_member(self, name: str, within: float = 1.0) -> None:
        """Until `name` is in the chat, so that what follows reaches it (checks need an order)."""
        deadline = time.monotonic() + within
        while name not in list(self.names.values()) and time.monotonic() < deadline:
            time.sleep(0.005)

    def __enter__(self) -> ReferenceServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.running = False
        self.thread.join(1)
        for sock in list(self.names):
            sock.close()
        self.listener.close()
        self.selector.close()
