"""Step 05: a chat client.

One thread prints every line the server sends, the moment it arrives; another sends what
you type. The program ends when you leave, when stdin ends, or when the server hangs up.

Run it:   python client.py [host [port]]        (a chat server from step 04 must be running)
"""

import socket
import sys
import threading

ENCODING = "utf-8"
NEWLINE = "\n"
MAX_LINE_BYTES = 65_536  # the longest line we accept, "\n" included
LEAVE = "leave"
DEFAULT_HOST = "localhost"
DEFAULT_PORT = 8080
BUFFER_SIZE = 4096
SERVER_CLOSED = "*** the server closed the connection ***"


class LineReader:
    """Reads one text line at a time from a socket (you wrote this in step 02)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def read_line(self) -> "str | None":
        """The next line, without its "\\n" or "\\r\\n"; None once the server has gone."""
        while True:
            end = self.buffer.find(b"\n")
            if end >= 0:
                raw, self.buffer = self.buffer[:end], self.buffer[end + 1 :]
                line = raw.decode(ENCODING, errors="replace")
                return line[:-1] if line.endswith("\r") else line
            if len(self.buffer) >= MAX_LINE_BYTES:
                return None
            try:
                data = self.sock.recv(BUFFER_SIZE)
            except OSError:
                return None
            if not data:
                return None
            self.buffer += data


def receive(sock: socket.socket, done: threading.Event) -> None:
    """Print every line from the server as it arrives; when the server hangs up, say so."""
    # TODO: print each line from a LineReader with flush=True until read_line() returns None;
    # TODO: then print SERVER_CLOSED (unless done is already set) and set done.
    raise NotImplementedError


def send_input(sock: socket.socket, done: threading.Event) -> None:
    """Send each line typed on stdin; at `leave` or at the end of stdin, leave the chat."""
    # TODO: for each stdin line: strip the line end, sendall() it with NEWLINE; stop after LEAVE.
    # TODO: When stdin ends, send LEAVE. Ignore OSError (receive() reports it). Finally set done.
    raise NotImplementedError


def main() -> int:
    host = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_HOST
    port = int(sys.argv[2]) if len(sys.argv) > 2 else DEFAULT_PORT
    # Chat text is UTF-8 whatever the console's own encoding is (cp1251, cp866, ...).
    for stream in (sys.stdin, sys.stdout):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding=ENCODING, errors="replace")
    sock = socket.create_connection((host, port))
    done = threading.Event()
    # Daemon threads: when main() returns, a thread still waiting for input must not keep us alive.
    threading.Thread(target=receive, args=(sock, done), daemon=True).start()
    threading.Thread(target=send_input, args=(sock, done), daemon=True).start()
    try:
        while not done.wait(0.2):  # a timeout lets Ctrl-C through on Windows
            pass
    except KeyboardInterrupt:
        pass
    sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
