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
    with conn:
        try:
            while True:
                data = conn.recv(BUFFER_SIZE)
                if not data:  # b"" means the client closed its side: stop, or we would spin forever
                    return
                conn.sendall(data)  # send() may send only part; sendall() sends it all
        except OSError:
            return  # the client vanished (a reset): serve the next one


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
