"""A comparison server for the load study: the step 04 chat on one thread and one `selectors`
event loop, written for speed. Not a lesson: the kit teaches threads first.

Nothing blocks: every socket is non-blocking, each client has an input buffer (split at "\n")
and an output buffer. A broadcast only appends the line to the other members' output buffers;
once every ready socket has been read, each buffer with something in it is sent with one
send(), however many lines it holds. A client whose output buffer passes OUT_LIMIT (it does not
read) is dropped, as an abrupt disconnect, instead of growing without bound.

    python benchmarks/servers/selectors_server.py [port]
"""

from __future__ import annotations

import selectors
import socket
import sys

ENCODING = "utf-8"
MAX_LINE_BYTES = 65_536
PROMPT = b"what's your name:\n"
LEAVE = "leave"
JOINED = "{name} is amongst you now\n"
LEFT = "{name} has abandoned y'all\n"
DEFAULT_HOST = "localhost"
DEFAULT_PORT = 8080
RECV_SIZE = 65_536
OUT_LIMIT = 4 * 1024 * 1024  # bytes waiting for one client before it is dropped
READ, WRITE = selectors.EVENT_READ, selectors.EVENT_READ | selectors.EVENT_WRITE


class Client:
    __slots__ = ("sock", "inbuf", "out", "name", "prefix", "events")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.inbuf = b""
        self.out = bytearray(PROMPT)
        self.name: str | None = None  # set once it has sent its name: then it is a member
        self.prefix = ""
        self.events = READ


class Server:
    def __init__(self, listener: socket.socket) -> None:
        self.listener = listener
        self.selector = selectors.DefaultSelector()
        self.members: dict[Client, None] = {}  # insertion-ordered set
        self.dirty: set[Client] = set()  # clients with output to send this round
        listener.setblocking(False)
        self.selector.register(listener, READ, None)

    def serve_forever(self) -> None:
        select, dirty = self.selector.select, self.dirty
        while True:
            for key, mask in select():
                client = key.data
                if client is None:
                    self.accept()
                    continue
                if mask & selectors.EVENT_READ:
                    self.read(client)
                if mask & selectors.EVENT_WRITE and client.sock.fileno() >= 0:
                    dirty.add(client)
            while dirty:  # one send() per client per round, of everything it has waiting
                for client in list(dirty):
                    dirty.discard(client)
                    self.write(client)

    def accept(self) -> None:
        while True:
            try:
                sock, _address = self.listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError:  # out of descriptors, for one: try again on the next round
                return
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            client = Client(sock)
            self.selector.register(sock, READ, client)
            self.dirty.add(client)  # its prompt

    def read(self, client: Client) -> None:
        try:
            data = client.sock.recv(RECV_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self.drop(client)
            return
        lines = (client.inbuf + data).split(b"\n")
        client.inbuf = lines.pop()
        if len(client.inbuf) >= MAX_LINE_BYTES:
            self.drop(client)
            return
        for raw in lines:
            if client.sock.fileno() < 0:
                return  # it left in one of these lines
            self.line(client, raw[:-1] if raw.endswith(b"\r") else raw)

    def line(self, client: Client, raw: bytes) -> None:
        text = raw.decode(ENCODING, errors="replace")
        stripped = text.strip()
        if client.name is None:
            if stripped == LEAVE:
                self.close(client)
            elif stripped:
                client.name = stripped
                client.prefix = stripped + ": "
                self.broadcast(JOINED.format(name=stripped).encode(ENCODING), client)
                self.members[client] = None
            else:
                self.send(client, PROMPT)
        elif stripped == LEAVE:
            self.drop(client)
        elif stripped:
            self.broadcast((client.prefix + text + "\n").encode(ENCODING), client)

    def broadcast(self, line: bytes, sender: Client) -> None:
        dirty = self.dirty
        for member in self.members:
            if member is not sender:
                member.out += line
                dirty.add(member)

    def send(self, client: Client, line: bytes) -> None:
        client.out += line
        self.dirty.add(client)

    def write(self, client: Client) -> None:
        if client.sock.fileno() < 0:
            return
        if client.out:
            try:
                sent = client.sock.send(client.out)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                self.drop(client)
                return
            del client.out[:sent]
        if len(client.out) > OUT_LIMIT:
            self.drop(client)  # it does not read: it must not cost the others
            return
        events = WRITE if client.out else READ
        if events != client.events:
            client.events = events
            self.selector.modify(client.sock, events, client)

    def drop(self, client: Client) -> None:
        """A leave or a hang-up: the others are told if it had joined."""
        was_member = self.members.pop(client, 0) is None
        self.close(client)
        if was_member:
            self.broadcast(LEFT.format(name=client.name).encode(ENCODING), client)

    def close(self, client: Client) -> None:
        self.members.pop(client, None)
        self.dirty.discard(client)
        if client.sock.fileno() >= 0:
            self.selector.unregister(client.sock)
            client.sock.close()


def serve(listener: socket.socket) -> None:
    Server(listener).serve_forever()


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_PORT
    listener = socket.create_server((DEFAULT_HOST, port), backlog=1024)
    print(f"serving on {DEFAULT_HOST}:{port}, Ctrl-C stops")
    try:
        serve(listener)
    except KeyboardInterrupt:
        print("bye")


if __name__ == "__main__":
    main()
