"""`grader load HOST PORT`: many chat clients at once against a server, and what it costs it.

Each client connects, waits for the prompt, sends a name of its own (c0, c1, ...) and, once all
of them are in the chat, sends its messages, `m <name> <seq> <send time in ns>`. Every message
has to reach every other client; what arrives is counted: deliveries per second, latency, lost,
duplicated and out-of-order lines, and, given the server's pid, its CPU time per delivery, its
threads and memory, and how quiet it is once everyone has left.

All clients live in one event loop (selectors, non-blocking sockets, a byte buffer and line
splitting per socket), not in a thread each, so a thousand of them fit on two cores. The send
time and the receive time come from the same clock (time.monotonic_ns(), one machine).
Loopback only: any other address is refused before a socket is made.

- Connecting: at most CONNECTING_AT_ONCE handshakes wait for their prompt at a time, so that a
  listen backlog of 128 never overflows (an overflow costs a second-long SYN retry).
- Ready: a client is known to be in the chat once it has received a join notice (only members
  get chat lines) or another client has received its own. Sending starts when all are known to
  be in, or SETTLE s after the last name if the notices stop short (another wire format).
- Counting, per receiver and sender: a flag per sequence number (a second copy is a duplicate),
  and the highest number so far (a lower one after it is out of order). Latency is counted in
  10 µs steps. Lost: expected and not there once nothing has arrived for DRAIN s after the
  last send, or at the deadline.
- The server, given its pid: CPU time (psutil, in clock ticks: 10 ms on Linux, so short runs
  say little) from the first message sent to the last delivered, divided by the deliveries;
  threads and memory sampled every SAMPLE s; then AFTER s of CPU and threads once all clients
  have closed their connections, and how long until its threads are as few as before.
- Exit code: 0 when every message arrived once and in order, 1 when not, 2 when it could not
  run (a refused address, nothing listening, too low a limit on open files).

    grader load 127.0.0.1 8080 --clients 100 --messages 50
    grader load --serve 04 --clients 1000 --messages 2 --json

From Python: `run(("127.0.0.1", 8080), clients=100, messages=50, server_pid=pid)` returns a
LoadResult; `served(path)` starts a server file on a free port and stops it afterwards.
"""

from .cli import main, parser, render
from .engine import (
    SPARE_FILES,
    LoadError,
    LoadResult,
    ServerMetrics,
    loopback_address,
    raise_file_limit,
    run,
)
from .serving import free_port, served, solution_server

__all__ = ["SPARE_FILES", "LoadError", "LoadResult", "ServerMetrics", "free_port",
           "loopback_address", "main", "parser", "raise_file_limit", "render", "run", "served",
           "solution_server"]
