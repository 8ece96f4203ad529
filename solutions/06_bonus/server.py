"""Step 06 (bonus): a chat that stays fast and fair.

Step 04's chat calls sendall() for every member while it holds the chat's one lock. A client
that stops reading fills its socket's buffers, that sendall() waits, the lock stays taken, and
the whole chat stops. Here a broadcast never touches a socket: it adds the line to each member's
unsent lines, and one flusher thread gives each member all of its lines in one send() that never
waits (as an event loop does once per turn: the busier the chat, the more lines per call). What
a member's socket cannot take at once goes to that member's queue, emptied by a writer thread of
its own, started the first time it is needed. A client that falls more than MAX_QUEUED_BYTES
behind, or whose socket takes nothing for CATCH_UP_SECONDS, is dropped. A burst of lines from
one client is one broadcast. Names are unique, and serve() closes every connection and returns
once its listener is closed.

Run it:   python server.py [port]        then, in several terminals:   nc localhost 8080
"""

import socket
import struct
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
BUFFER_SIZE = 65_536  # a burst of lines in one recv(), and so in one broadcast
MAX_QUEUED_BYTES = 4 * 1024 * 1024  # 4 MiB: a client further behind than this is dropped
CATCH_UP_SECONDS = 0.5  # a client whose socket takes nothing for this long is dropped too
# send() that hands the kernel what fits and returns, never waiting. Windows has no such flag:
# there every line goes through the member's writer thread, which is slower but as correct.
DONT_WAIT = getattr(socket, "MSG_DONTWAIT", 0)


class LineReader:
    """Reads text lines from a socket (you wrote this in step 02): one at a time, or every line
    that has come at once."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""
        self.lines: list = []  # whole lines received and not yet read

    def read_line(self) -> "str | None":
        """The next line, without its "\\n" or "\\r\\n"; None once the client has gone."""
        return self.lines.pop(0) if self._fill() else None

    def read_lines(self) -> "list | None":
        """Every line that has come (at least one, waiting for it); None once it has gone."""
        if not self._fill():
            return None
        lines, self.lines = self.lines, []
        return lines

    def _fill(self) -> bool:
        """Wait until a whole line has come; False once the client has gone."""
        while not self.lines:
            if b"\n" in self.buffer:
                *whole, self.buffer = self.buffer.split(b"\n")
                for raw in whole:
                    line = raw.decode(ENCODING, errors="replace")
                    self.lines.append(line[:-1] if line.endswith("\r") else line)
            elif len(self.buffer) >= MAX_LINE_BYTES:
                return False
            else:
                try:
                    data = self.sock.recv(BUFFER_SIZE)
                except OSError:
                    return False
                if not data:
                    return False
                self.buffer += data
        return True


class Client:
    """One connected client: its socket, its line reader, its name once it has one, the lines
    broadcast to it and not yet sent, and its queue of what its socket could not take at once,
    which its writer thread sends."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.reader = LineReader(sock)
        self.name = ""
        self.unsent: list = []  # lines broadcast to it, for the chat's flusher (chat.lock)
        self.ready = threading.Condition()  # guards the four below; wakes the writer
        self.outbox: list = []  # encoded lines, waiting for the writer thread
        self.queued = 0  # bytes queued and not yet sent, the batch being sent included
        self.closed = False
        self.writer: threading.Thread | None = None  # started the first time it is needed

    def send_line(self, text: str) -> None:
        self.send((text + NEWLINE).encode(ENCODING))

    def send(self, data: bytes) -> None:
        """Send bytes without waiting: what the socket takes at once, the rest to the writer
        thread. A client that would be more than MAX_QUEUED_BYTES behind is dropped."""
        with self.ready:
            if self.closed:
                return
            if self.queued == 0 and DONT_WAIT:  # nothing ahead of these bytes: try directly
                try:
                    data = data[self.sock.send(data, DONT_WAIT):]
                except BlockingIOError:
                    pass  # its buffer is full: all of it goes to the queue
                except OSError:
                    return  # it has gone: its own thread finds out and leaves
                if not data:
                    return  # the usual case: no queue, no writer to wake
            if self.queued + len(data) <= MAX_QUEUED_BYTES:
                self.outbox.append(data)
                self.queued += len(data)
                if self.writer is None:  # the first time its socket could not take it all
                    self.writer = threading.Thread(target=self.write_loop, daemon=True)
                    self.writer.start()
                self.ready.notify()  # wake the writer
                return
        self.hang_up()  # it has stopped reading: drop it; its own thread tells the others

    def write_loop(self) -> None:
        """The writer thread: send everything queued, in one sendall(), until hung up."""
        while True:
            with self.ready:
                self.ready.wait_for(lambda: self.outbox or self.closed)
                if self.closed:
                    return
                batch = b"".join(self.outbox)  # many short lines, one system call
                self.outbox.clear()
            try:
                self.sock.sendall(batch)  # may wait for a slow reader: only this thread waits
            except OSError:  # gone, or took nothing for CATCH_UP_SECONDS (see accept_client)
                self.hang_up()  # its reading thread ends too
                return
            with self.ready:
                self.queued -= len(batch)

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
    """The clients in the chat, by name, and the flusher thread that sends what is broadcast.
    Every client thread shares one Chat."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.members: dict = {}  # name -> Client
        self.waiting: list = []  # members with lines broadcast to them and not yet sent
        self.wake = threading.Condition(self.lock)  # wakes the flusher
        self.open = True
        self.flusher = threading.Thread(target=self.flush_loop, daemon=True)

    def join(self, client: Client, name: str) -> bool:
        """Add the client as `name` and announce it, unless the name is taken; True if added."""
        # Check and take the name under one lock: two clients can never both get it.
        with self.lock:
            if name in self.members:
                return False
            client.name = name
            self._broadcast(JOINED.format(name=name), sender=client)
            self.members[name] = client
            return True

    def say(self, client: Client, texts: list) -> None:
        """Send the client's lines to everyone else, in one broadcast."""
        lines = [MESSAGE.format(name=client.name, text=text) for text in texts]
        with self.lock:  # one broadcast at a time keeps every sender's lines in order
            self._broadcast(NEWLINE.join(lines), sender=client)

    def leave(self, client: Client) -> None:
        with self.lock:
            if self.members.get(client.name) is client:
                del self.members[client.name]
                self._broadcast(LEFT.format(name=client.name), sender=client)

    def _broadcast(self, text: str, sender: Client) -> None:
        """Add a line to every member's lines but the sender's, and wake the flusher. Call it
        with the lock held. No socket is touched here: that is the flusher's work."""
        data = (text + NEWLINE).encode(ENCODING)  # encoded once, however many members
        for member in self.members.values():
            if member is not sender:
                if not member.unsent:
                    self.waiting.append(member)
                member.unsent.append(data)
        self.wake.notify()

    def flush_loop(self) -> None:
        """The flusher thread: each turn, every waiting member gets all its lines in one
        send(). The busier the chat, the more lines a turn holds, and the fewer calls."""
        while True:
            with self.wake:
                self.wake.wait_for(lambda: self.waiting or not self.open)
                if not self.waiting:
                    return  # closed, and nothing left to send
                waiting, self.waiting = self.waiting, []
                batches = [(member, b"".join(member.unsent)) for member in waiting]
                for member in waiting:
                    member.unsent.clear()
            for member, batch in batches:  # the lock is free: broadcasts go on meanwhile
                member.send(batch)

    def close(self) -> None:
        """Send what is left, then end the flusher thread."""
        with self.wake:
            self.open = False
            self.wake.notify()
        self.flusher.join()


def ask_name(client: Client, chat: Chat) -> bool:
    """Prompt until the client joins with a free, non-blank name; False if it leaves or hangs
    up first."""
    prompt = PROMPT
    while True:
        client.send_line(prompt)
        line = client.reader.read_line()
        if line is None or line.strip() == LEAVE:
            return False
        name = line.strip()
        if not name:
            prompt = PROMPT
        elif chat.join(client, name):
            return True
        else:
            prompt = NAME_TAKEN


def handle_client(sock: socket.socket, chat: Chat) -> None:
    """Everything about one client, from its prompt to its goodbye. Runs in its own thread."""
    client = Client(sock)
    with sock:
        try:
            if not ask_name(client, chat):
                return  # it never joined, so nobody is told
            while True:
                lines = client.reader.read_lines()
                if lines is None:
                    break  # a hang-up and a drop end as a leave does
                stripped = [line.strip() for line in lines]
                end = stripped.index(LEAVE) if LEAVE in stripped else len(lines)
                said = [line for line, bare in zip(lines[:end], stripped) if bare]
                if said:
                    chat.say(client, said)  # a burst of lines, one broadcast
                if end < len(lines):
                    break
        finally:
            chat.leave(client)  # removes it before `with sock` closes the socket
            client.hang_up()
            if client.writer is not None:  # hung up: no writer can start after this
                client.writer.join()  # the writer is done with the socket before it is closed


def set_send_timeout(sock: socket.socket, seconds: float) -> None:
    """Make a sendall() that can hand the kernel nothing for `seconds` fail with OSError. A
    socket option (SO_SNDTIMEO), not settimeout(): recv() still waits as long as it must."""
    if sys.platform == "win32":
        value = int(seconds * 1000)  # Windows wants milliseconds
    else:
        value = struct.pack("ll", int(seconds), int(seconds % 1 * 1_000_000))  # a timeval
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, value)


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
        set_send_timeout(sock, CATCH_UP_SECONDS)  # a client that takes nothing is dropped
        return sock


def serve(listener: socket.socket) -> None:
    """Accept clients, each in a thread of its own, until the listener is closed; then close
    every connection, wait for every client's threads, and return."""
    chat = Chat()
    chat.flusher.start()
    connections: list = []  # (socket, thread) of every client still connected
    kept = 64  # how many were connected when the gone ones were last forgotten (at least 64)
    while True:
        sock = accept_client(listener)
        if sock is None:
            break
        thread = threading.Thread(target=handle_client, args=(sock, chat), daemon=True)
        thread.start()
        connections.append((sock, thread))
        if len(connections) >= 2 * kept:  # forget the gone ones, now and then: at every
            connections = [(s, t) for s, t in connections if t.is_alive()]  # accept, N² looks
            kept = max(len(connections), 64)
    for sock, _thread in connections:
        try:
            sock.shutdown(socket.SHUT_RDWR)  # its thread's recv() returns: it leaves and closes
        except OSError:
            pass  # that client had already gone
    for _sock, thread in connections:
        thread.join()  # each client's thread joins its writer thread before it ends
    chat.close()


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
