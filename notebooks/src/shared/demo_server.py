# Included by `# %% include demo_server.py` in notebooks/src/02_lines.py, 04_multi_user.py
# and 05_client.py. Only the code below the "# %%" line goes into the notebooks (the format is
# described in notebooks/build.py); there it runs after the cell of demo_basics.py, so this
# import is for ruff and for readers: it says where those names come from.
from shared.demo_basics import HOST, WAIT

# isort: split

# %%
import socket
import threading


class DemoServer:
    """A tiny server for the demos: 127.0.0.1, a free port, a thread per client.

    `handle(conn)` talks to one client. Use the server in a `with` block: when the block ends,
    the server stops, hangs up on its clients and joins its threads, so nothing is left running.
    With one_at_a_time=True the accept loop itself runs `handle` (no thread per client).
    """

    def __init__(self, handle, one_at_a_time=False):
        self.handle = handle
        self.one_at_a_time = one_at_a_time
        self.errors = []  # exceptions that ended a `handle`, for the demos to show
        self.conns = []
        self.threads = []
        self.stop = threading.Event()
        self.listener = socket.create_server((HOST, 0))  # port 0: the OS picks a free port
        self.listener.settimeout(0.1)  # accept() wakes up ten times a second to look at `stop`
        self.address = self.listener.getsockname()
        self.acceptor = threading.Thread(target=self._accept, name="demo-accept", daemon=True)
        self.acceptor.start()

    def connect(self):
        """A new client socket, connected to this server."""
        return socket.create_connection(self.address, timeout=WAIT)

    def _accept(self):
        while not self.stop.is_set():
            try:
                conn, _address = self.listener.accept()
            except socket.timeout:
                continue
            conn.settimeout(WAIT)
            self.conns.append(conn)
            if self.one_at_a_time:
                self._talk(conn)
            else:
                thread = threading.Thread(
                    target=self._talk, args=(conn,), name="demo-client", daemon=True
                )
                self.threads.append(thread)
                thread.start()

    def _talk(self, conn):
        try:
            self.handle(conn)
        except Exception as error:  # keep it for the demo instead of a thread traceback
            self.errors.append(error)
        finally:
            conn.close()

    def _hang_up(self):
        for conn in list(self.conns):
            try:
                conn.shutdown(socket.SHUT_RDWR)  # wakes up a thread waiting in recv()
            except OSError:
                pass  # already closed

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.stop.set()
        self._hang_up()
        self.acceptor.join(WAIT)
        self._hang_up()
        for thread in self.threads:
            thread.join(WAIT)
        self.listener.close()
