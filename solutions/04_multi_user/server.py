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
        with self.lock:
            self._broadcast(JOINED.format(name=client.name), sender=client)
            self.members.add(client)

    def say(self, client: Client, text: str) -> None:
        with self.lock:  # one broadcast at a time keeps every sender's lines in order
            self._broadcast(MESSAGE.format(name=client.name, text=text), sender=client)

    def leave(self, client: Client) -> None:
        with self.lock:
            if client in self.members:
                self.members.remove(client)
                self._broadcast(LEFT.format(name=client.name), sender=client)

    def _broadcast(self, text: str, sender: Client) -> None:
        """Send a line to every member but the sender. Call it with the lock held."""
        for member in self.members:
            if member is not sender:
                try:
                    member.send_line(text)
                except OSError:
                    pass  # a dead member must not stop the others; its own thread removes it


def ask_name(client: Client) -> bool:
    """Prompt until the client sends a non-empty name; False if it leaves or hangs up first."""
    while True:
        client.send_line(PROMPT)
        line = client.reader.read_line()
        if line is None or line.strip() == LEAVE:
            return False
        if line.strip():
            client.name = line.strip()
            return True


def handle_client(sock: socket.socket, chat: Chat) -> None:
    """Everything about one client, from its prompt to its goodbye. Runs in its own thread."""
    client = Client(sock)
    with sock:
        try:
            if not ask_name(client):
                return  # it never joined, so nobody is told
            chat.join(client)
            while True:
                line = client.reader.read_line()
                if line is None or line.strip() == LEAVE:
                    break  # a leave and a hang-up end the same way
                if line.strip():
                    chat.say(client, line)
        except OSError:
            pass  # the client vanished
        finally:
            chat.leave(client)  # removes it before `with sock` closes the socket


def serve(listener: socket.socket) -> None:
    """Accept clients forever; each one gets a thread of its own."""
    chat = Chat()
    while True:
        sock, _address = listener.accept()
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # send short lines at once
        threading.Thread(target=handle_client, args=(sock, chat), daemon=True).start()


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
