"""The load itself: one selectors loop of client sockets, and what it counts (see the package)."""

from __future__ import annotations

import errno
import heapq
import math
import os
import selectors
import socket
import sys
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Callable

from .. import protocol
from ..i18n import _

# The names a student may give for this computer, and the address each one means here. The
# lesson servers listen on IPv4, so "localhost" is 127.0.0.1 (not ::1 first, as on Windows).
LOOPBACK = {"127.0.0.1": ("127.0.0.1", socket.AF_INET), "localhost": ("127.0.0.1", socket.AF_INET),
            "::1": ("::1", socket.AF_INET6), "[::1]": ("::1", socket.AF_INET6)}
CONNECTING_AT_ONCE = 64  # handshakes in flight: below any listen backlog (128 by default)
SETTLE = 2.0  # s: with no join notice for this long after the last name, call the chat ready
DRAIN = 2.0  # s: after the last send, what has not arrived when nothing came for this long is lost
LINGER = 0.1  # s: after the last expected line, a moment more for late duplicates
QUIET_JOINS = 0.2  # s: with no join notice for this long once all are in, the burst starts
AFTER = 1.0  # s: how long the server is watched after all clients have left
SHORT_CPU = 0.2  # s: server CPU below this is too few clock ticks (10 ms each) to go by
SAMPLE = 0.05  # s between two looks at the server's threads and memory
TICK = 0.1  # s between two updates of the progress bar
RECV_SIZE = 256 * 1024
BATCH = 32  # lines per send() when sending in a burst
SLOW_RCVBUF = 4096  # bytes: a client that never reads gets a small receive buffer
SPARE_FILES = 64  # descriptors beyond one per client: stdio, the selector, psutil, the server
HIST_UNIT = 10_000  # ns: latencies are counted in 10 µs steps ...
HIST_SIZE = 1_000_000  # ... up to 10 s; longer ones are kept one by one
WOULD_BLOCK = {0, errno.EINPROGRESS, errno.EWOULDBLOCK, errno.EAGAIN, 10035}  # 10035: Windows


class LoadError(Exception):
    """A run that cannot start or go on, in one line for the student."""


@dataclass


class ServerMetrics:
    """What the server process spent, from psutil (times in the load's clock)."""

    pid: int
    threads_before: int  # before the first client connected
    cpu_seconds: float = 0.0  # user + system, from the first message sent to the last delivered
    cpu_us_per_delivery: float | None = None
    peak_threads: int = 0  # over the whole run, connecting to closing
    peak_rss_mb: float = 0.0
    idle_after_seconds: float | None = None  # after all clients left, until its threads were
    #                                          as many as before (None: not within the run's time)
    teardown_cpu_seconds: float | None = None  # CPU spent in that time
    after_cpu_percent: float | None = None  # of one core, over the AFTER s after that
    after_threads: int | None = None  # at the end of those
    gone: bool = False  # the server process ended during the run


@dataclass


class LoadResult:
    host: str
    port: int
    clients: int
    messages: int
    rate: float | None  # messages per second per client; None: a burst, as fast as it goes
    size: int  # bytes of padding per message
    slow: int  # clients that joined but never read
    ready: bool = False
    ready_seconds: float | None = None  # from the first connect until all had joined
    ready_by_settle: bool = False  # no join notices to go by: a pause was taken instead
    sent: int = 0  # messages handed to the kernel
    expected: int = 0  # deliveries the messages sent call for (sent × other readers)
    delivered: int = 0  # distinct deliveries that arrived
    lost: int = 0  # expected, and never arrived by the end
    duplicated: int = 0
    out_of_order: int = 0  # arrived after a later one of the same sender, at the same receiver
    malformed: int = 0  # lines that were none of the chat's
    disconnected: int = 0  # reading clients whose connection the server closed
    slow_dropped: int = 0  # clients that never read, and that the others were told had left
    complete: bool = False  # everything expected arrived
    timed_out: bool = False
    send_seconds: float = 0.0  # from the first message sent to the last delivery
    deliveries_per_second: float = 0.0
    latency_ms: dict[str, float] | None = None  # p50, p95, p99, max
    load_cpu_percent: float | None = None  # this tool's own CPU while sending, of one core:
    #                                        near 100, the figures are the tool's limit
    seconds: float = 0.0  # the whole run
    server: ServerMetrics | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {**asdict(self), "clean": self.clean}

    @property
    def clean(self) -> bool:
        """Everything arrived, once each, in order, in time."""
        return (self.ready and self.complete and not self.timed_out and self.lost == 0
                and self.duplicated == 0 and self.out_of_order == 0 and self.disconnected == 0)


def loopback_address(host: str) -> tuple[str, int]:
    """The loopback address `host` names, and its family; LoadError for any other host."""
    try:
        return LOOPBACK[host.strip().lower()]
    except KeyError:
        raise LoadError(_("only a server on this computer can be loaded (127.0.0.1, ::1 or "
                          "localhost), not one at '{host}'.").format(host=host)) from None


def raise_file_limit(needed: int) -> int:
    """Lift the soft limit on open files to the hard one; LoadError if that is still too low."""
    try:
        import resource
    except ImportError:  # Windows: no such limit, but select() there watches 512 sockets at most
        if needed > 512:
            raise LoadError(_("on Windows grader load can watch about 500 connections at most; "
                              "use fewer clients.")) from None
        return needed
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    elif hard == resource.RLIM_INFINITY and soft != resource.RLIM_INFINITY and soft < needed:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (needed, hard))
            soft = needed
        except (ValueError, OSError):
            pass
    if soft != resource.RLIM_INFINITY and soft < needed:
        raise LoadError(_("{clients} clients need about {needed} open files, but this process "
                          "may open only {limit}: raise the limit (ulimit -n {needed}) or use "
                          "fewer clients.").format(clients=needed - SPARE_FILES, needed=needed,
                                                   limit=soft))
    return soft


class _Conn:
    """One client: its socket, what it has not sent yet, and what it has received."""

    __slots__ = ("index", "name", "prefix", "sock", "inbuf", "out", "state", "seq", "seen",
                 "last", "slow", "registered", "writing")

    def __init__(self, index: int, sock: socket.socket, slow: bool) -> None:
        self.index = index
        self.name = b"c%d" % index
        self.prefix = b"m " + self.name + b" "
        self.sock = sock
        self.inbuf = b""
        self.out = b""
        self.state = "connecting"  # then "named", then "closed"
        self.seq = 0  # the next message's number
        self.seen: bytearray | None = None  # a flag per (sender, seq) that has arrived
        self.last: list[int] | None = None  # per sender, the highest seq seen so far
        self.slow = slow
        self.registered = False
        self.writing = False


class _Watch:
    """The server process seen through psutil, sampled as the run goes."""

    def __init__(self, pid: int) -> None:
        import psutil

        self.psutil = psutil
        try:
            self.process = psutil.Process(pid)
            threads = self.process.num_threads()
        except psutil.Error:
            raise LoadError(_("there is no process {pid} to watch (--pid).").format(
                pid=pid)) from None
        self.metrics = ServerMetrics(pid=pid, threads_before=threads, peak_threads=threads)
        self.next_sample = 0.0
        self.sample()

    def cpu(self) -> float | None:
        try:
            times = self.process.cpu_times()
        except self.psutil.Error:
            self.metrics.gone = True
            return None
        return times.user + times.system

    def sample(self) -> None:
        try:
            with self.process.oneshot():
                threads = self.process.num_threads()
                rss = self.process.memory_info().rss
        except self.psutil.Error:
            self.metrics.gone = True
            return
        self.metrics.peak_threads = max(self.metrics.peak_threads, threads)
        self.metrics.peak_rss_mb = max(self.metrics.peak_rss_mb, rss / 1e6)

    def maybe_sample(self, now: float) -> None:
        if now >= self.next_sample:
            self.next_sample = now + SAMPLE
            self.sample()

    def after(self, seconds: float, until: float) -> None:
        """Once the clients have left: how long its threads take to be as few as before (and
        the CPU that tearing down took), waiting until the monotonic time `until` at most; then
        its CPU and threads over the next `seconds`: a server at rest spends about none."""
        from ..processes import busy_over

        started, before = time.monotonic(), self.cpu()
        metrics = self.metrics
        while True:
            try:
                threads = self.process.num_threads()
            except self.psutil.Error:
                metrics.gone = True
                return
            now = time.monotonic()
            if threads <= metrics.threads_before:
                metrics.idle_after_seconds = round(now - started, 2)
                break
            if now >= until:
                break
            time.sleep(SAMPLE)
        done = self.cpu()
        if before is None or done is None:
            return
        metrics.teardown_cpu_seconds = round(done - before, 3)
        # what it ran or waited to run: a loop that never sleeps counts in full on a busy CPU
        busy = busy_over(self.process, seconds)
        try:
            metrics.after_threads = self.process.num_threads()
        except self.psutil.Error:
            metrics.gone = True
            return
        metrics.after_cpu_percent = round(100 * busy / seconds, 2)


class _Progress:
    """One line on stderr, rewritten in place; silent unless stderr is a terminal."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.next = 0.0
        self.width = 0

    def show(self, now: float, text: Callable[[], str]) -> None:
        if not self.enabled or now < self.next:
            return
        self.next = now + TICK
        line = text()[:78]
        sys.stderr.write("\r" + line.ljust(self.width))
        sys.stderr.flush()
        self.width = len(line)

    def done(self) -> None:
        if self.enabled and self.width:
            sys.stderr.write("\r" + " " * self.width + "\r")
            sys.stderr.flush()


def _bar(done: int, total: int, width: int = 24) -> str:
    filled = width * done // total if total else width
    return "[" + "#" * filled + "." * (width - filled) + "]"


class _Run:
    """The event loop of one run: every client's socket in one selector."""

    def __init__(self, host: str, port: int, clients: int, messages: int, rate: float | None,
                 size: int, slow: int, watch: _Watch | None, timeout: float, drain: float,
                 progress: bool, ends: float) -> None:
        self.address, self.family = loopback_address(host)
        self.port = port
        self.n, self.m, self.rate, self.slow_count = clients, messages, rate, slow
        self.pad = (b" " + b"x" * (size - 1)) if size > 0 else b""
        self.result = LoadResult(host=host, port=port, clients=clients, messages=messages,
                                 rate=rate, size=size, slow=slow)
        self.watch = watch
        self.timeout, self.drain, self.ends = timeout, drain, ends
        self.progress = _Progress(progress)
        self.selector = selectors.DefaultSelector()
        self.conns: list[_Conn] = []
        self.names: dict[bytes, int] = {}
        self.joined_prefix, self.joined_suffix = (
            part.encode(protocol.ENCODING) for part in protocol.JOINED.split("{name}", 1))
        self.left_prefix, self.left_suffix = (
            part.encode(protocol.ENCODING) for part in protocol.LEFT.split("{name}", 1))
        self.slow_left: set[int] = set()
        self.prompt = protocol.PROMPT.encode(protocol.ENCODING)
        # Counters (the hot path keeps them in locals and writes them back).
        self.hist = [0] * HIST_SIZE
        self.overflow: list[int] = []
        self.delivered = self.duplicated = self.out_of_order = self.malformed = 0
        self.confirmed: set[int] = set()  # clients known to be in the chat
        self.join_notices = 0  # of the N(N-1)/2 the clients get as the others join
        self.last_confirmed = 0.0
        self.named = 0
        self.to_connect: deque[int] = deque()
        self.connecting = 0
        self.last_arrival = 0.0
        self.last_delivery_ns = 0
        self.send_started_ns = 0
        self.schedule: list[tuple[int, int]] = []  # (due ns, client) when --rate is given
        self.pending_writes = 0  # clients with something left to send
        self.expected_total = 0
        self.all_sent_at: float | None = None
        self.cpu_start: float | None = None  # the server's CPU seconds as the sending starts
        self.cpu_stopped: float | None = None  # ... and as the last delivery arrives
        self.own_cpu_start = self.own_cpu_stopped = 0.0  # this process's, likewise
        self.clock_stopped_ns = 0

    # -- the phases ---------------------------------------------------------------------------

    def run(self) -> LoadResult:
        started = time.monotonic()
        deadline = started + self.timeout
        result = self.result
        try:
            self._join(range(self.n - self.slow_count), started, deadline)
            if self.slow_count and not result.timed_out:
                self._join(range(self.n - self.slow_count, self.n), started, deadline)
            if self.watch:
                self.watch.sample()  # every client is in: a thread-per-client server peaks here
            if not result.timed_out:
                result.ready = True
                result.ready_seconds = round(time.monotonic() - started, 4)
                self._settle(deadline)
                self._send(deadline)
        finally:
            self.progress.done()
            self._close_all()
        if self.watch:
            self.watch.after(AFTER, self.ends - AFTER)  # the run's budget left room for it
            result.server = self.watch.metrics
        self._count(time.monotonic() - started)
        return result

    def _join(self, indexes: range, started: float, deadline: float) -> None:
        """Connect these clients, answer each prompt with a name, wait until all are in."""
        wanted = set(indexes)
        for index in indexes:
            self.conns.append(None)  # type: ignore[arg-type]  # filled in by _connect_more
            self.names[b"c%d" % index] = index
        self.to_connect.extend(indexes)
        self.last_confirmed = time.monotonic()
        while True:
            self._connect_more()
            now = time.monotonic()
            if wanted <= self.confirmed:
                return
            if self.named == len(self.names) and now - self.last_confirmed > SETTLE:
                self.result.ready_by_settle = True  # no notices to go by (or one is missing)
                return
            if now > deadline:
                self.result.timed_out = True
                self.result.notes.append(_("not every client had joined when the time was up "
                                           "({named} of {total} had been asked their name)")
                                         .format(named=self.named, total=len(self.names)))
                return
            self._poll(0.05, now)
            self.progress.show(now, lambda: _("joining  {bar} {joined}/{total} in the chat")
                               .format(bar=_bar(len(self.confirmed), self.n),
                                       joined=len(self.confirmed), total=self.n))

    def _settle(self, deadline: float) -> None:
        """Read the join notices still on their way, until all N(N-1)/2 came or none for
        QUIET_JOINS s: read during the burst, they would count in its time, and a server slow
        to announce joins would look slow to deliver messages (seen: 0.5 s of them in a burst
        of 1 s at N = 1000)."""
        expected = self.n * (self.n - 1) // 2
        seen, last = self.join_notices, time.monotonic()
        while True:
            now = time.monotonic()
            if self.join_notices != seen:
                seen, last = self.join_notices, now
            if seen >= expected or now - last > QUIET_JOINS or now > deadline:
                return
            self._poll(0.02, now)

    def _send(self, deadline: float) -> None:
        """Every reading client sends its messages; wait for them to arrive, or to be lost."""
        readers = [conn for conn in self.conns if not conn.slow]
        for conn in readers:
            conn.seen = bytearray(self.n * self.m)
            conn.last = [-1] * self.n
        senders = [conn for conn in readers if conn.state != "closed"]
        self.expected_total = len(readers) * (len(readers) - 1) * self.m
        if self.watch:
            self.cpu_start = self.watch.cpu()
        self.own_cpu_start = time.process_time()
        self.send_started_ns = time.monotonic_ns()
        if self.rate is None:
            for conn in senders:
                self._pump(conn)
        else:
            period = int(1e9 / self.rate)
            for conn in senders:  # spread the clients' first sends over one period
                heapq.heappush(self.schedule, (self.send_started_ns + period * conn.index
                                               // max(len(senders), 1), conn.index))
        complete_at: float | None = None
        while True:
            now = time.monotonic()
            if self.schedule:
                self._due(time.monotonic_ns())
            if self.all_sent_at is None and not self.schedule and self.pending_writes == 0 \
                    and all(conn.seq == self.m or conn.state == "closed" for conn in senders):
                self.all_sent_at = now
            if complete_at is None and self.delivered >= self.expected_total:
                complete_at = now
                self._stop_clocks()
            if complete_at is not None and now - complete_at >= LINGER:
                return
            if self.all_sent_at is not None and complete_at is None \
                    and now - max(self.last_arrival, self.all_sent_at) > self.drain:
                self._stop_clocks()
                return
            if now > deadline:
                self.result.timed_out = True
                self.result.notes.append(_("the time was up before every message had arrived "
                                           "or been given up"))
                self._stop_clocks()
                return
            wait = 0.05
            if self.schedule:
                wait = min(wait, max(0.0, (self.schedule[0][0] - time.monotonic_ns()) / 1e9))
            self._poll(wait, now)
            self.progress.show(now, lambda: _("sending  {bar} {delivered}/{expected} "
                                              "delivered").format(
                bar=_bar(self.delivered, self.expected_total), delivered=self.delivered,
                expected=self.expected_total))

    def _stop_clocks(self) -> None:
        if self.clock_stopped_ns:
            return
        self.clock_stopped_ns = time.monotonic_ns()
        self.own_cpu_stopped = time.process_time()
        if self.watch:
            self.cpu_stopped = self.watch.cpu()
            self.watch.sample()

    # -- the loop -----------------------------------------------------------------------------

    def _poll(self, timeout: float, now: float) -> None:
        for key, mask in self.selector.select(timeout):
            conn = key.data
            if mask & selectors.EVENT_READ:
                self._read(conn)
            if mask & selectors.EVENT_WRITE and conn.state != "closed":
                self._pump(conn)
        if self.watch:
            self.watch.maybe_sample(now)

    def _connect_more(self) -> None:
        while self.to_connect and self.connecting < CONNECTING_AT_ONCE:
            index = self.to_connect.popleft()
            slow = index >= self.n - self.slow_count
            sock = socket.socket(self.family, socket.SOCK_STREAM)
            try:
                sock.setblocking(False)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if slow:  # before connecting, so that the window it offers stays small
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SLOW_RCVBUF)
                code = sock.connect_ex((self.address, self.port))
            except OSError as error:
                sock.close()
                raise LoadError(_("could not open connection {n}: {reason}").format(
                    n=index + 1, reason=error.strerror or error)) from None
            if code not in WOULD_BLOCK:
                sock.close()
                raise self._refused(code)
            conn = _Conn(index, sock, slow)
            self.conns[index] = conn
            self.selector.register(sock, selectors.EVENT_READ, conn)
            conn.registered = True
            self.connecting += 1

    def _refused(self, code: int) -> LoadError:
        if code == errno.ECONNREFUSED or code == 10061:
            return LoadError(_("Nothing is listening at {host}:{port}. Start your server "
                               "first, for example: python lessons/04_multi_user/server.py "
                               "{port}").format(host=self.result.host, port=self.port))
        return LoadError(_("could not connect to {host}:{port}: {reason}").format(
            host=self.result.host, port=self.port, reason=os.strerror(code)))

    def _read(self, conn: _Conn) -> None:
        try:
            data = conn.sock.recv(RECV_SIZE)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as error:
            if conn.state == "connecting" and isinstance(error, ConnectionRefusedError):
                raise self._refused(errno.ECONNREFUSED) from None
            data = b""
        if not data:
            self._gone(conn)
            return
        now_ns = time.monotonic_ns()
        self.last_arrival = time.monotonic()
        if conn.inbuf:
            data = conn.inbuf + data
        if data[-1:] == b"\n":
            conn.inbuf = b""
            lines = data.split(b"\n")
            lines.pop()
        else:
            lines = data.split(b"\n")
            conn.inbuf = lines.pop()
            if len(conn.inbuf) > 2 * protocol.MAX_LINE_BYTES:  # no line ends: give it up
                self.malformed += 1
                conn.inbuf = b""
        if lines:
            self._lines(conn, lines, now_ns)

    def _lines(self, conn: _Conn, lines: list[bytes], now_ns: int) -> None:
        """Count what arrived: the hot path, so it keeps its counters in locals."""
        seen, last, m, names = conn.seen, conn.last, self.m, self.names
        hist, overflow = self.hist, self.overflow
        delivered = duplicated = out_of_order = malformed = 0
        for line in lines:
            head, marker, text = line.partition(b": m ")
            if marker and seen is not None:
                parts = text.split(b" ", 3)  # sender, seq, send time, [padding]
                try:
                    sender = names[parts[0]]
                    seq = int(parts[1])
                    sent_ns = int(parts[2])
                except (KeyError, IndexError, ValueError):
                    malformed += 1
                    continue
                if head != parts[0] or not 0 <= seq < m or sender == conn.index:
                    malformed += 1  # another sender's name, a number we never sent, an echo
                    continue
                slot = sender * m + seq
                if seen[slot]:
                    duplicated += 1
                    continue
                seen[slot] = 1
                delivered += 1
                if seq < last[sender]:
                    out_of_order += 1
                else:
                    last[sender] = seq
                step = (now_ns - sent_ns) // HIST_UNIT
                if step < HIST_SIZE:
                    hist[step if step > 0 else 0] += 1
                else:
                    overflow.append(step)
            else:
                self._other(conn, line.rstrip(b"\r"))
        if delivered:
            self.delivered += delivered
            self.last_delivery_ns = now_ns
        self.duplicated += duplicated
        self.out_of_order += out_of_order
        self.malformed += malformed

    def _other(self, conn: _Conn, line: bytes) -> None:
        """A line that is not one of our messages: a prompt, a notice, or something else."""
        prefix, suffix = self.joined_prefix, self.joined_suffix
        if line.startswith(prefix) and line.endswith(suffix) and \
                len(line) > len(prefix) + len(suffix):
            joiner = self.names.get(line[len(prefix):len(line) - len(suffix)])
            if joiner is not None:
                self.join_notices += 1
                # Only members receive chat lines, and a notice goes out as its subject joins.
                self._confirm(joiner)
                self._confirm(conn.index)
                return
        if line == self.prompt and conn.state == "connecting":
            conn.state = "named"
            self.connecting -= 1
            self.named += 1
            self._queue(conn, conn.name + b"\n")
            self._pump(conn)
            if conn.slow:  # from now on it never reads: the server's lines pile up
                self._stop_reading(conn)
            return
        prefix, suffix = self.left_prefix, self.left_suffix
        if line.startswith(prefix) and line.endswith(suffix):
            leaver = self.names.get(line[len(prefix):len(line) - len(suffix)])
            if leaver is not None and self.conns[leaver].slow:
                self.slow_left.add(leaver)  # the server gave up on a client that never reads
            return
        if protocol.is_notice(line.decode(protocol.ENCODING, "replace")):
            return  # a name that is not ours
        self.malformed += 1

    def _confirm(self, index: int) -> None:
        if index not in self.confirmed:
            self.confirmed.add(index)
            self.last_confirmed = time.monotonic()

    def _stop_reading(self, conn: _Conn) -> None:
        if conn.registered:
            self.selector.unregister(conn.sock)
            conn.registered = False
            conn.writing = False

    def _gone(self, conn: _Conn) -> None:
        """The server closed this client's connection."""
        if conn.state == "connecting":
            self.connecting -= 1
        if not conn.slow:
            self.result.disconnected += 1
        if conn.out:
            self.pending_writes -= 1
        conn.state, conn.out = "closed", b""
        self._stop_reading(conn)
        conn.sock.close()

    def _due(self, now_ns: int) -> None:
        """--rate: send each message whose time has come."""
        schedule, period = self.schedule, int(1e9 / self.rate)  # type: ignore[operator]
        while schedule and schedule[0][0] <= now_ns:
            due, index = heapq.heappop(schedule)
            conn = self.conns[index]
            if conn.state == "closed":
                continue
            self._queue(conn, b"%s%d %d%s\n" % (conn.prefix, conn.seq, time.monotonic_ns(),
                                                self.pad))
            conn.seq += 1
            self._pump(conn, generate=False)
            if conn.seq < self.m:
                heapq.heappush(schedule, (due + period, index))

    def _queue(self, conn: _Conn, data: bytes) -> None:
        if not conn.out:
            self.pending_writes += 1
        conn.out += data

    def _pump(self, conn: _Conn, generate: bool = True) -> None:
        """Send what is waiting; in a burst, make the next batch of lines when that is empty."""
        if conn.state == "closed":
            return
        if not conn.out and generate and self.rate is None and conn.seen is not None \
                and conn.seq < self.m:
            count = min(BATCH, self.m - conn.seq)
            stamp = b" %d%s\n" % (time.monotonic_ns(), self.pad)
            self._queue(conn, b"".join(b"%s%d%s" % (conn.prefix, seq, stamp)
                                       for seq in range(conn.seq, conn.seq + count)))
            conn.seq += count
        if conn.out:
            try:
                sent = conn.sock.send(conn.out)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                self._gone(conn)
                return
            conn.out = conn.out[sent:]
            if not conn.out:
                self.pending_writes -= 1
        more = bool(conn.out) or (self.rate is None and conn.seen is not None
                                  and conn.seq < self.m)
        if more != conn.writing and conn.registered:
            events = selectors.EVENT_READ | (selectors.EVENT_WRITE if more else 0)
            self.selector.modify(conn.sock, events, conn)
            conn.writing = more

    def _close_all(self) -> None:
        for conn in self.conns:
            if conn is None or conn.state == "closed":
                continue
            self._stop_reading(conn)
            try:
                conn.sock.close()
            except OSError:
                pass
            conn.state = "closed"
        self.selector.close()

    # -- the figures --------------------------------------------------------------------------

    def _count(self, seconds: float) -> None:
        result = self.result
        readers = [conn for conn in self.conns if conn is not None and not conn.slow]
        result.sent = sum(max(0, conn.seq - conn.out.count(b"\n")) for conn in readers)
        result.expected = result.sent * (len(readers) - 1) if result.ready else 0
        result.delivered = self.delivered
        result.lost = max(0, result.expected - self.delivered)
        result.duplicated = self.duplicated
        result.out_of_order = self.out_of_order
        result.malformed = self.malformed
        result.slow_dropped = len(self.slow_left)
        result.complete = result.ready and result.lost == 0
        if self.delivered and self.last_delivery_ns > self.send_started_ns:
            result.send_seconds = round((self.last_delivery_ns - self.send_started_ns) / 1e9, 4)
            result.deliveries_per_second = round(self.delivered / result.send_seconds, 1)
        result.latency_ms = self._percentiles()
        if self.clock_stopped_ns > self.send_started_ns:
            result.load_cpu_percent = round(100 * (self.own_cpu_stopped - self.own_cpu_start)
                                            / ((self.clock_stopped_ns - self.send_started_ns)
                                               / 1e9), 1)
        result.seconds = round(seconds, 3)
        if self.watch:
            start, stop = self.cpu_start, self.cpu_stopped
            metrics = self.watch.metrics
            if start is not None and stop is not None:
                metrics.cpu_seconds = round(stop - start, 4)
                if self.delivered:
                    metrics.cpu_us_per_delivery = round(1e6 * (stop - start) / self.delivered, 3)
            metrics.peak_rss_mb = round(metrics.peak_rss_mb, 1)
        if result.ready_by_settle:
            result.notes.append(_("the server's join notices were not all seen: the chat was "
                                  "called ready after a pause of {seconds} s").format(
                                      seconds=SETTLE))

    def _percentiles(self) -> dict[str, float] | None:
        total = sum(self.hist) + len(self.overflow)
        if not total:
            return None
        wanted = {name: max(1, math.ceil(share * total))
                  for name, share in (("p50", 0.50), ("p95", 0.95), ("p99", 0.99))}
        found: dict[str, float] = {}
        count = 0
        for step, n in enumerate(self.hist):
            if not n:
                continue
            count += n
            for name, rank in wanted.items():
                if name not in found and count >= rank:
                    found[name] = step
            top = step
            if count == total:
                break
        for step in sorted(self.overflow):
            count += 1
            for name, rank in wanted.items():
                if name not in found and count >= rank:
                    found[name] = step
            top = step
        found["max"] = top
        return {name: round(step * HIST_UNIT / 1e6, 3) for name, step in found.items()}


def run(address: tuple[str, int], clients: int, messages: int, rate: float | None = None,
        server_pid: int | None = None, timeout: float = 60.0, size: int = 0, slow: int = 0,
        drain: float = DRAIN, progress: bool = False) -> LoadResult:
    """One load run against a chat server at `address` (loopback only): `clients` clients, of
    which the last `slow` join and never read again, each other one sending `messages` messages,
    `rate` a second (None: as fast as the server takes them). `server_pid` adds the server's
    figures. Bounded by `timeout` seconds in all. LoadError when it cannot be done."""
    host, port = address
    loopback_address(host)  # before anything else: nothing is sent anywhere else
    if clients - slow < 2:
        raise LoadError(_("it takes at least two clients that read (--clients, --slow)."))
    if messages < 1:
        raise LoadError(_("each client has to send at least one message (--messages)."))
    if rate is not None and rate <= 0:
        raise LoadError(_("the rate must be more than 0 messages a second, or 'burst'."))
    raise_file_limit(clients + SPARE_FILES)
    watch = _Watch(server_pid) if server_pid else None
    ends = time.monotonic() + timeout
    budget = max(1.0, timeout - (AFTER + 0.5 if watch else 0.5))
    return _Run(host, port, clients, messages, rate, size, slow, watch, budget, drain,
                progress, ends).run()


# -- a server of the kit's, started for a run ---------------------------------------------------
