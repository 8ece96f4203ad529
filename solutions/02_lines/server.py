"""Step 02: a line echo server.

TCP delivers a stream of bytes, not messages: one recv() may hold half a line, one line,
or three. This server cuts the stream into lines and echoes each line back as one line.

Run it:   python server.py [port]        then:   nc localhost 8080
"""

import socket
import sys
import threading

ENCODING = "utf-8"
NEWLINE = "\n"
MAX_LINE_BYTES = 65_536  # the longest line we accept, "\n" included
DEFAULT_HOST = "localhost"
DEFAULT_PORT = 8080
BUFFER_SIZE = 4096


class LineReader:
    """Reads one text line at a time from a socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""  # bytes received but not yet returned as a line

    def read_line(self) -> "str | None":
        """The next line, without its "\\n" or "\\r\\n"; None once the client has gone."""
        while True:
            end = self.buffer.find(b"\n")
            if end >= 0:
                raw, self.buffer = self.buffer[:end], self.buffer[end + 1 :]
                # Decode whole lines only: a character cut in two by recv() is whole again here.
                line = raw.decode(ENCODING, errors="replace")
                return line[:-1] if line.endswith("\r") else line
            if len(self.buffer) >= MAX_LINE_BYTES:
                return None  # a line this long is not chat: drop the client, don't buffer forever
            try:
                data = self.sock.recv(BUFFER_SIZE)
            except OSError:
                return None  # a reset counts as gone
            if not data:
                return None
            self.buffer += data


def handle_client(conn: socket.socket) -> None:
    """Echo every line this client sends, until it hangs up."""
    reader = LineReader(conn)
    with conn:
        try:
            while True:
                line = reader.read_line()
                if line is None:
                    return
                conn.sendall((line + NEWLINE).encode(ENCODING))
        except OSError:
            return


def serve(listener: socket.socket) -> None:
    """Serve clients one after another on a listening socket, forever."""
    while True:
        conn, _address = listener.accept()
        handle_client(conn)


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
