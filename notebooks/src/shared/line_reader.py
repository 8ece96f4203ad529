# Included by `# %% include line_reader.py` in notebooks/src/03_two_user.py, 04_multi_user.py
# and 05_client.py. Only the code below the "# %%" line goes into the notebooks (the format is
# described in notebooks/build.py); there it runs after the cell of demo_basics.py, so this
# import is for ruff and for readers: it says where that name comes from.
from shared.demo_basics import ENCODING

# isort: split


# %%
class LineReader:
    """Reads one text line at a time from a socket (you wrote this in step 02)."""

    def __init__(self, sock):
        self.sock = sock
        self.buffer = b""

    def read_line(self):
        """The next line without its "\\n"; None once the other side has gone."""
        while b"\n" not in self.buffer:
            try:
                data = self.sock.recv(4096)
            except OSError:
                return None
            if not data:
                return None
            self.buffer += data
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode(ENCODING, errors="replace")
