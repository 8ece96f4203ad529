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
        # TODO: if self.buffer holds b'\n', cut out the line before it, decode it
        # TODO: (errors='replace') and drop one trailing '\r'; return it.
        # TODO: Otherwise recv() more into self.buffer. Return None when recv() gives b''
        # TODO: or raises OSError, or when the buffer reaches MAX_LINE_BYTES without a newline.
        raise NotImplementedError


def handle_client(conn: socket.socket) -> None:
    """Echo every line this client sends, until it hangs up."""
    # TODO: read lines with a LineReader and sendall() each one back, followed by NEWLINE,
    # TODO: until read_line() returns None; then close conn.
    raise NotImplementedError


def serve(listener: socket.socket) -> None:
    """Serve clients one after another on a listening socket, forever."""
    # TODO: forever: accept() a client and hand it to handle_client().
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
