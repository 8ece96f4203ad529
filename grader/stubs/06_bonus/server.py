"""Step 06 (bonus): a chat that stays fast and fair.

Step 04's chat calls sendall() for every member while it holds the chat's one lock. A client
that stops reading fills its socket's buffers, that sendall() waits, the lock stays taken, and
the whole chat stops. Here no thread ever sends on another client's socket: a broadcast only
puts the line in each member's queue, and each client's own writer thread empties its queue.
A client that falls more than MAX_QUEUED_BYTES behind is dropped. Names are unique, and
serve() closes every connection and returns once its listener is closed.

Run it:   python server.py [port]        then, in several terminals:   nc localhost 8080
"""

import socket
import sys
import threading
import time

ENCODING = "utf-8"
NEWLINE = "\n"
MAX_LINE_BYTES = 65_536  # the longest line we accept, "\n" included
PROMPT = "what's your name:"
NAME_TAKEN = "name taken, what's your name:"  # instead of the prompt, for a name in use
LEAVE = "leave"
JOINED = "{name} is amongst you now"
LEFT = "{name} has abandoned y'all"
MESSAGE = "{name}: {text}"
DEFAULT_HOST = "localhost"
DEFAULT_PORT = 8080
BUFFER_SIZE = 4096
MAX_QUEUED_BYTES = 1024 * 1024  # 1 MiB: a client further behind than this is dropped
CATCH_UP_SECONDS = 0.5  # how long a full queue may take to make room before that happens


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
    """One connected client: its socket, its line reader, its name once it has one, and its
    outbound queue, which only its own writer thread sends on the socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.reader = LineReader(sock)
        self.name = ""
        self.ready = threading.Condition()  # guards the three below; wakes the writer
        self.outbox: list = []  # encoded lines, waiting for the writer thread
        self.queued = 0  # bytes queued and not yet sent, the batch being sent included
        self.closed = False
        self.writer = threading.Thread(target=self.write_loop, daemon=True)

    def send_line(self, text: str) -> None:
        self.send((text + NEWLINE).encode(ENCODING))

    def send(self, data: bytes) -> None:
        """Queue bytes for the writer thread. When they do not fit in MAX_QUEUED_BYTES, give
        the writer CATCH_UP_SECONDS to make room; a client still without room is dropped."""
        # A full queue may only mean that its writer has not had its turn to run yet (Python
        # runs one thread at a time): waiting gives it that turn. A client that does not read
        # makes no room at all.
        # TODO: with self.ready held: wait_for() room (closed, or self.queued + len(data) <=
        # TODO: MAX_QUEUED_BYTES), timeout=CATCH_UP_SECONDS. Closed -> return. Room -> append
        # TODO: the data to outbox, add its size to queued, notify_all(), return. No room ->
        # TODO: hang_up(), after the `with` block: that client has stopped reading.
        raise NotImplementedError

    def write_loop(self) -> None:
        """The writer thread: send everything queued, in one sendall(), until hung up."""
        # TODO: forever: with self.ready held, wait_for() something queued, or closed; closed ->
        # TODO: return; take everything queued as one batch (b"".join) and empty outbox. Then,
        # TODO: with self.ready released, sendall() the batch (OSError -> hang_up(), return);
        # TODO: with self.ready held again, subtract its size from queued and notify_all().
        raise NotImplementedError

    def hang_up(self) -> None:
        """End the connection: both of this client's threads wake up and end."""
        with self.ready:
            self.closed = True
            self.outbox.clear()  # nobody will send these now
            self.ready.notify_all()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # recv() gets b'', a waiting sendall() fails
        except OSError:
            pass  # already shut down, or already closed


class Chat:
    """The clients in the chat, by name. Every client thread shares one Chat."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.members: dict = {}  # name -> Client

    def join(self, client: Client, name: str) -> bool:
        """Add the client as `name` and announce it, unless the name is taken; True if added."""
        # Check and take the name under one lock: two clients can never both get it.
        # TODO: with the lock held: a taken name -> False; otherwise set client.name, tell
        # TODO: everyone else (JOINED), add the client to members under its name, return True.
        raise NotImplementedError

    def say(self, client: Client, text: str) -> None:
        with self.lock:  # one broadcast at a time keeps every sender's lines in order
            self._broadcast(MESSAGE.format(name=client.name, text=text), sender=client)

    def leave(self, client: Client) -> None:
        with self.lock:
            if self.members.get(client.name) is client:
                del self.members[client.name]
                self._broadcast(LEFT.format(name=client.name), sender=client)

    def _broadcast(self, text: str, sender: Client) -> None:
        """Queue a line for every member but the sender. Call it with the lock held."""
        # TODO: encode text + NEWLINE once, then member.send() it to every member but the
        # TODO: sender. send() only queues: never call sendall() on a member's socket here.
        raise NotImplementedError


def ask_name(client: Client, chat: Chat) -> bool:
    """Prompt until the client joins with a free, non-blank name; False if it leaves or hangs
    up first."""
    # TODO: send the prompt; read a line; None or LEAVE -> return False; a blank line ->
    # TODO: PROMPT again; else chat.join(client, stripped name): True -> return True;
    # TODO: a taken name -> ask again, this time with NAME_TAKEN instead of PROMPT.
    raise NotImplementedError


def handle_client(sock: socket.socket, chat: Chat) -> None:
    """Everything about one client, from its prompt to its goodbye. Runs in its own thread."""
    client = Client(sock)
    client.writer.start()
    with sock:
        try:
            if not ask_name(client, chat):
                return  # it never joined, so nobody is told
            while True:
                line = client.reader.read_line()
                if line is None or line.strip() == LEAVE:
                    break  # a leave, a hang-up and a drop end the same way
                if line.strip():
                    chat.say(client, line)
        finally:
            chat.leave(client)  # removes it before `with sock` closes the socket
            client.hang_up()
            client.writer.join()  # the writer is done with the socket before it is closed


def accept_client(listener: socket.socket) -> "socket.socket | None":
    """The next client's socket, TCP_NODELAY on; None once the listener has been closed."""
    while True:
        try:
            sock, _address = listener.accept()
        except OSError:
            if listener.fileno() == -1:
                return None  # the listener was closed: time to stop
            time.sleep(0.1)  # out of file descriptors, say: try again soon, without spinning
            continue
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # send short lines at once
        return sock


def serve(listener: socket.socket) -> None:
    """Accept clients, each in a thread of its own, until the listener is closed; then close
    every connection, wait for every client's threads, and return."""
    # TODO: make one Chat; loop: sock = accept_client(listener), None -> stop looping; start
    # TODO: a daemon thread running handle_client(sock, chat); keep (sock, thread) for every
    # TODO: client whose thread is still alive. After the loop: shutdown(socket.SHUT_RDWR)
    # TODO: every kept socket (catch OSError), then join() every kept thread, and return.
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
        try:
            listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() in serve() on Linux
        except OSError:
            pass  # some systems do not shut down a listening socket; close() is enough there
        listener.close()
        thread.join(2)  # serve() closes every connection and returns


if __name__ == "__main__":
    main()
