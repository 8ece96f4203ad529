"""Step 04: a multi-user chat, one thread per client.

The accept loop only accepts and starts a thread. Each client's thread asks for its name,
joins the chat, relays its lines to everyone else, and leaves when the client does.
The chat's members live in one shared set, guarded by one lock.

Run it:   python server.py [port]        then, in several terminals:   nc localhost 8080
"""

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


class Chat:
    """The clients in the chat. Every client thread shares one Chat."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.members: set = set()

    def join(self, client: Client) -> None:
        # Announce and add under one lock: nobody can miss a message sent after the notice.
        # TODO: with the lock held: tell everyone else (JOINED), then add the client to members.
        raise NotImplementedError

    def say(self, client: Client, text: str) -> None:
        # TODO: with the lock held: send MESSAGE to everyone but the sender.
        raise NotImplementedError

    def leave(self, client: Client) -> None:
        # TODO: with the lock held: if the client is a member, remove it and tell the others (LEFT).
        raise NotImplementedError

    def _broadcast(self, text: str, sender: Client) -> None:
        """Send a line to every member but the sender. Call it with the lock held."""
        # TODO: send the text to every member but the sender; catch OSError per member,
        # TODO: so that one dead socket cannot stop the others.
        raise NotImplementedError


def ask_name(client: Client) -> bool:
    """Prompt until the client sends a non-empty name; False if it leaves or hangs up first."""
    # TODO: send PROMPT; read a line; None or LEAVE -> return False;
    # TODO: a blank line -> prompt again; otherwise store the stripped name and return True.
    raise NotImplementedError


def handle_client(sock: socket.socket, chat: Chat) -> None:
    """Everything about one client, from its prompt to its goodbye. Runs in its own thread."""
    # TODO: ask the name (a client that never names itself just returns), join the chat,
    # TODO: then relay every non-blank line with chat.say() until None or LEAVE.
    # TODO: Whatever happens (OSError too), chat.leave() the client and close the socket.
    raise NotImplementedError


def serve(listener: socket.socket) -> None:
    """Accept clients forever; each one gets a thread of its own."""
    # TODO: make one Chat; forever: accept() a client, turn on TCP_NODELAY, and start a
    # TODO: daemon thread running handle_client(sock, chat). Nothing else in this loop!
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
