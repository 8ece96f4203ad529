# Included by `# %% include demo_basics.py` in notebooks/src/02_lines.py ... 05_client.py:
# the settings every demo uses and `received()`. Only the code below the "# %%" line goes into
# the notebooks (the format is described in notebooks/build.py).

# %%
import socket

HOST = "127.0.0.1"  # this computer only
WAIT = 2.0  # seconds: no socket call in this notebook waits longer than this
ENCODING = "utf-8"


def received(sock, quiet=0.2):
    """What arrives until the other side is quiet for `quiet` s or hangs up, as text."""
    data = b""
    sock.settimeout(quiet)
    try:
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        pass  # quiet: that is all for now
    finally:
        sock.settimeout(WAIT)
    return data.decode(ENCODING, errors="replace")
