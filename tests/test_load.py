"""`grader load`: its counting, checked on small runs against servers whose faults are known.

Every server here is started by the test on 127.0.0.1, port 0; nothing else is ever contacted.
No timing is asserted (the figures belong in benchmarks/load_study.py): only counts, which a
loaded machine cannot change. Each test is bounded by the tool's own timeout and by pytest's.
"""

from __future__ import annotations

import importlib.util
import json
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType

import psutil
import pytest
from conftest import ROOT

from grader import load, protocol
from grader.load import LoadError, run

N, M = 5, 20
ALL = N * (N - 1) * M  # deliveries a clean run of N clients and M messages each makes
TIMEOUT = 8.0  # the tool's own bound for a run, in seconds
SOLUTION_04 = ROOT / "solutions" / "04_multi_user" / "server.py"
pytestmark = pytest.mark.timeout(30)


def import_solution() -> ModuleType:
    spec = importlib.util.spec_from_file_location("load_test_solution_04", SOLUTION_04)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def listener() -> socket.socket:
    return socket.create_server(("127.0.0.1", 0))


def stop(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)  # wakes the accept() that waits on it (Linux)
    except OSError:
        pass
    sock.close()


@pytest.fixture
def solution_04() -> Iterator[tuple[str, int]]:
    """The step 04 solution's serve(listener), in a daemon thread of this process."""
    module, sock = import_solution(), listener()

    def serve() -> None:
        try:
            module.serve(sock)
        except OSError:
            pass  # the listener was closed: the test is over

    threading.Thread(target=serve, daemon=True).start()
    yield sock.getsockname()[:2]
    stop(sock)


class TinyChat:
    """A small threaded chat (the 04 protocol) whose relaying a subclass makes faulty: every
    message line for a member goes through deliver(), with the chat's lock held."""

    def __init__(self) -> None:
        self.listener = listener()
        self.address = self.listener.getsockname()[:2]
        self.lock = threading.Lock()
        self.members: dict[socket.socket, bytes] = {}
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self) -> None:
        while True:
            try:
                sock, _address = self.listener.accept()
            except OSError:
                return
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self.handle, args=(sock,), daemon=True).start()

    def handle(self, sock: socket.socket) -> None:
        with sock, sock.makefile("rb") as reader:
            try:
                sock.sendall(protocol.PROMPT.encode() + b"\n")
                name = reader.readline().strip()
                if not name:
                    return
                with self.lock:
                    for member in self.members:
                        member.sendall(protocol.joined(name.decode()).encode() + b"\n")
                    self.members[sock] = name
                for raw in reader:
                    text = raw.rstrip(b"\r\n")
                    if text.strip():
                        with self.lock:
                            for member in self.members:
                                if member is not sock:
                                    self.deliver(member, sock, name + b": " + text + b"\n")
            except OSError:
                pass
            finally:
                with self.lock:
                    self.members.pop(sock, None)

    def deliver(self, member: socket.socket, sender: socket.socket, line: bytes) -> None:
        member.sendall(line)

    def close(self) -> None:
        stop(self.listener)


class DropsEverySeventh(TinyChat):
    def __init__(self) -> None:
        super().__init__()
        self.relayed = 0

    def deliver(self, member, sender, line) -> None:
        self.relayed += 1
        if self.relayed % 7:
            member.sendall(line)


class SendsTwice(TinyChat):
    def deliver(self, member, sender, line) -> None:
        member.sendall(line + line)


class SwapsPairs(TinyChat):
    """Each sender's lines reach each member in pairs swapped: 1, 0, 3, 2, ..."""

    def __init__(self) -> None:
        super().__init__()
        self.held: dict[tuple, bytes] = {}

    def deliver(self, member, sender, line) -> None:
        held = self.held.pop((member, sender), None)
        if held is None:
            self.held[(member, sender)] = line
        else:
            member.sendall(line + held)


@contextmanager
def faulty(kind: type) -> Iterator[tuple[str, int]]:
    server = kind()
    try:
        yield server.address
    finally:
        server.close()


def test_every_message_of_the_04_solution_is_counted_once(solution_04) -> None:
    result = run(solution_04, N, M, timeout=TIMEOUT)
    assert result.ready and not result.timed_out and not result.ready_by_settle
    assert (result.sent, result.expected, result.delivered) == (N * M, ALL, ALL)
    assert (result.lost, result.duplicated, result.out_of_order, result.malformed) == (0, 0, 0, 0)
    assert result.clean
    assert set(result.latency_ms) == {"p50", "p95", "p99", "max"}
    assert result.server is None  # no pid given: no server figures


def test_lost_lines_are_counted_exactly() -> None:
    with faulty(DropsEverySeventh) as address:
        result = run(address, N, M, timeout=TIMEOUT, drain=1.0)
    assert result.expected == ALL
    assert result.lost == ALL // 7 and result.delivered == ALL - ALL // 7
    assert (result.duplicated, result.out_of_order) == (0, 0)
    assert not result.complete and not result.clean


def test_duplicates_are_counted_exactly() -> None:
    with faulty(SendsTwice) as address:
        result = run(address, N, M, timeout=TIMEOUT)
    assert (result.delivered, result.duplicated) == (ALL, ALL)
    assert (result.lost, result.out_of_order) == (0, 0)
    assert not result.clean


def test_lines_out_of_order_are_counted() -> None:
    with faulty(SwapsPairs) as address:
        result = run(address, N, M, timeout=TIMEOUT)
    assert (result.delivered, result.lost, result.duplicated) == (ALL, 0, 0)
    assert result.out_of_order == ALL // 2  # the first line of every swapped pair
    assert not result.clean


def test_a_client_that_never_reads_is_no_receiver(solution_04) -> None:
    result = run(solution_04, N + 1, M, slow=1, timeout=TIMEOUT)
    assert result.ready and result.slow == 1
    assert (result.sent, result.expected, result.delivered) == (N * M, ALL, ALL)
    assert result.lost == 0


def test_the_table_and_the_exit_code(solution_04, capsys) -> None:
    host, port = solution_04
    code = load.main([host, str(port), "--clients", str(N), "--messages", str(M),
                      "--timeout", str(TIMEOUT)])
    out = capsys.readouterr()
    assert code == 0, out
    assert f"{ALL} of {ALL} expected" in out.out
    assert "every message arrived, once, in order" in out.out
    assert out.err == ""  # no progress bar when stderr is not a terminal


@pytest.mark.parametrize("host", ["192.0.2.1", "10.0.0.1", "example.com", "0.0.0.0"])
def test_only_this_computer_is_loaded(host, monkeypatch, capsys) -> None:
    def no_socket(*args, **kwargs):
        raise AssertionError("a socket was made for a refused host")

    monkeypatch.setattr(socket, "socket", no_socket)
    monkeypatch.setattr(socket, "create_connection", no_socket)
    assert load.main([host, "8080"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and host in err and "127.0.0.1" in err
    with pytest.raises(LoadError):
        run((host, 8080), N, M)


def test_too_low_a_file_limit_is_said_plainly(monkeypatch) -> None:
    resource = pytest.importorskip("resource")
    monkeypatch.setattr(resource, "getrlimit", lambda which: (256, 256))
    with pytest.raises(LoadError, match="ulimit -n"):
        load.raise_file_limit(1000 + load.SPARE_FILES)


def test_server_figures_when_its_pid_is_given() -> None:
    with load.served(SOLUTION_04) as (address, pid):
        result = run(address, N, M, server_pid=pid, timeout=TIMEOUT)
    server = result.server
    assert server is not None and server.pid == pid and not server.gone
    assert result.delivered == ALL
    assert server.cpu_us_per_delivery is not None and server.cpu_us_per_delivery >= 0
    assert server.peak_threads >= server.threads_before + N  # 04: a thread per client
    assert server.peak_rss_mb > 0
    assert server.after_cpu_percent is not None and server.after_threads is not None
    assert not psutil.pid_exists(pid)  # served() stopped it


def test_a_server_that_spins_once_clients_leave_is_not_at_rest(tmp_path) -> None:
    from fixtures.bugs import BUGS  # 04 whose reader loops on b'' instead of leaving

    spinning = BUGS["spins_on_eof"].write(tmp_path) / "04_multi_user" / "server.py"
    with load.served(spinning) as (address, pid):
        result = run(address, N, M, server_pid=pid, timeout=4.0)
    server = result.server
    assert result.delivered == ALL and server is not None
    assert server.idle_after_seconds is None  # its readers never end
    assert server.after_cpu_percent is not None and server.after_cpu_percent > 50, server


def test_the_04_solution_is_at_rest_once_clients_leave() -> None:
    with load.served(SOLUTION_04) as (address, pid):
        result = run(address, N, M, server_pid=pid, timeout=TIMEOUT)
    server = result.server
    assert server is not None and server.idle_after_seconds is not None, server
    assert server.after_threads == server.threads_before
    assert server.teardown_cpu_seconds is not None
    assert server.after_cpu_percent is not None and server.after_cpu_percent < 20, server


def test_serve_04_json_end_to_end() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "grader.load", "--serve", "04", "--json", "--clients", str(N),
         "--messages", str(M), "--timeout", "15"],
        cwd=ROOT, capture_output=True, timeout=25, stdin=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT), "GRADER_LANG": "en"})
    assert done.returncode == 0, done.stderr.decode()
    data = json.loads(done.stdout)
    assert (data["delivered"], data["lost"], data["duplicated"], data["out_of_order"]) == \
        (ALL, 0, 0, 0)
    assert data["clean"] is True and data["host"] == "127.0.0.1"
    assert data["server"]["cpu_us_per_delivery"] is not None
    assert not psutil.pid_exists(data["server"]["pid"])  # nothing is left running
