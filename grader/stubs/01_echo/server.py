"""Step 01: an echo server.

Every byte a client sends comes straight back to it. One client at a time:
when it hangs up, serve() accepts the next one.

Run it:   python server.py [port]        then, in another terminal:   nc localhost 8080
"""

import socket
import sys
import threading

DEFAULT_HOST = "localhost"
DEFAULT_PORT = 8080
BUFFER_SIZE = 4096


def handle_client(conn: socket.socket) -> None:
    """Send back everything this client sends, until it hangs up."""
    # TODO: recv() from conn in a loop and sendall() back what you got.
    # TODO: recv() returns b'' when the client hangs up: then close conn and return.
    # TODO: a client that vanishes (a reset) makes recv() raise OSError: catch it, return.
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
