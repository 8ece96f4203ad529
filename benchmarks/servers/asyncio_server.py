"""A comparison server for the load study: the step 04 chat on asyncio, written for speed.

One asyncio.Protocol per client (no streams: data_received gets the bytes as they come). A
broadcast appends the line to each other member's list of pending lines; once per turn of the
event loop every member with pending lines gets them in one transport.write(). A member whose
transport holds more than OUT_LIMIT unsent bytes (it does not read) is dropped.

    python benchmarks/servers/asyncio_server.py [port]
"""

from __future__ import annotations

import asyncio
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
OUT_LIMIT = 4 * 1024 * 1024


class Chat:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.members: dict[Client, None] = {}  # insertion-ordered set
        self.to_flush: list[Client] = []
        self.flush_scheduled = False

    def broadcast(self, line: bytes, sender: Client) -> None:
        to_flush = self.to_flush
        for member in self.members:
            if member is not sender:
                if not member.pending:
                    to_flush.append(member)
                member.pending.append(line)
        if to_flush and not self.flush_scheduled:
            self.flush_scheduled = True
            self.loop.call_soon(self.flush)

    def flush(self) -> None:
        self.flush_scheduled = False
        to_flush, self.to_flush = self.to_flush, []
        for member in to_flush:
            if member.pending and member.transport is not None:
                member.transport.write(b"".join(member.pending))
                member.pending.clear()
                if member.transport.get_write_buffer_size() > OUT_LIMIT:
                    member.transport.abort()  # it does not read: connection_lost tells the others

    def leave(self, client: Client) -> None:
        if self.members.pop(client, 0) is None:
            self.broadcast(LEFT.format(name=client.name).encode(ENCODING), client)


class Client(asyncio.Protocol):
    def __init__(self, chat: Chat) -> None:
        self.chat = chat
        self.transport: asyncio.Transport | None = None
        self.inbuf = b""
        self.name: str | None = None
        self.prefix = ""
        self.pending: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        # asyncio turns Nagle's algorithm off only for sockets made with proto=IPPROTO_TCP, and
        # socket.create_server() makes them with proto=0: without this line, a short line can
        # wait for the peer's delayed ACK (10-40 ms on Linux).
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        transport.write(PROMPT)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        lines = (self.inbuf + data).split(b"\n")
        self.inbuf = lines.pop()
        if len(self.inbuf) >= MAX_LINE_BYTES:
            self.transport.abort()
            return
        for raw in lines:
            if self.transport.is_closing():
                return
            self.line(raw[:-1] if raw.endswith(b"\r") else raw)

    def line(self, raw: bytes) -> None:
        text = raw.decode(ENCODING, errors="replace")
        stripped = text.strip()
        if self.name is None:
            if stripped == LEAVE:
                self.transport.close()
            elif stripped:
                self.name = stripped
                self.prefix = stripped + ": "
                self.chat.broadcast(JOINED.format(name=stripped).encode(ENCODING), self)
                self.chat.members[self] = None
            else:
                self.transport.write(PROMPT)
        elif stripped == LEAVE:
            self.chat.leave(self)
            self.transport.close()
        elif stripped:
            self.chat.broadcast((self.prefix + text + "\n").encode(ENCODING), self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.chat.leave(self)
        self.pending.clear()
        self.transport = None


async def _serve(listener: socket.socket) -> None:
    loop = asyncio.get_running_loop()
    chat = Chat(loop)
    server = await loop.create_server(lambda: Client(chat), sock=listener)
    async with server:
        await server.serve_forever()


def serve(listener: socket.socket) -> None:
    asyncio.run(_serve(listener))


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
