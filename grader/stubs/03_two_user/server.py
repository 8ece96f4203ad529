"""Step 03: a chat between exactly two named clients.

serve() welcomes two clients, relays lines between them both ways at once (one thread per
direction), and when one of them leaves or drops, tells the other and starts over.

Run it:   python server.py [port]        then, in two terminals:   nc localhost 8080
"""

import queue
import socket
import sys
import threading

ENCODING = "utf-8"
NEWLINE = "\n"
MAX_LINE_BYTES = 65_536  # the longest line we accept, "\n" included
PROMPT = "what's your name:"
LEAVE = "leave"
JOINED = "{name} is amongst you now"
LEFT = "{name} has abandoned y'all"
MESSAGE = "{name}: {text}"
DEFAULT_HOST = "localhost"
DEFAULT_PORT = 8080
BUFFER_SIZE = 4096


class LineReader:
    """Reads one text line at a time from a socket (you wrote this in step 02)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def read_line(self) -> "str | None":
        """The next line, without its "\\n" or "\\r\\n"; None once the client has gone."""
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


class Client:
    """One connected client: its socket, its line reader, and its name once it has one."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.reader = LineReader(sock)
        self.name = ""

    def send_line(self, text: str) -> None:
        self.sock.sendall((text + NEWLINE).encode(ENCODING))

    def close(self) -> None:
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes up a thread still waiting in recv()
        except OSError:
            pass  # already gone
        self.sock.close()


def ask_name(client: Client) -> bool:
    """Prompt until the client sends a non-empty name; False if it leaves or hangs up first."""
    # TODO: send PROMPT; read a line; None or LEAVE -> return False;
    # TODO: a blank line -> prompt again; otherwise store the stripped name and return True.
    raise NotImplementedError


def welcome(listener: socket.socket) -> Client:
    """Accept clients until one of them gives its name, and return that one."""
    # TODO: accept() clients (turn on TCP_NODELAY) until one gives its name (ask_name);
    # TODO: close the ones that leave or vanish first (OSError), and return the named one.
    raise NotImplementedError


def relay(sender: Client, receiver: Client, ended: queue.Queue) -> None:
    """Pass the sender's lines to the receiver until the sender leaves or drops."""
    # TODO: read the sender's lines; at None or LEAVE put the sender into `ended` and return;
    # TODO: send every non-blank line to the receiver as MESSAGE (ignore OSError there).
    raise NotImplementedError


def serve(listener: socket.socket) -> None:
    """Run one two-person chat after another on a listening socket, forever."""
    # TODO: forever: welcome two clients, tell the first that the second joined,
    # TODO: start relay() threads both ways, wait on `ended` for the side that ended,
    # TODO: send LEFT to the other one, and close both clients.
    raise NotImplementedError


def main() -> None:
    port = int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_PORT
    listener = socket.create_server((DEFAULT_HOST, port))
    print(f"serving on {DEFAULT_HOST}:{port}, Ctrl-C stops")
    # serve() runs in a daemon thread so that Ctrl-C stops the program at once, on Windows too.
    thread = threading.Thread(target=serve, args=(listener,), daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(0.5)
    except KeyboardInterrupt:
        print("bye")
    finally:
        listener.close()


if __name__ == "__main__":
    main()
