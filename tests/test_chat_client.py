"""`grader chat`: the client runs in a child process, as a student runs it; the test is its server.

Every wait has a deadline, generous for a loaded machine; a passing test normally takes well
under a second. Only 127.0.0.1 is ever bound or contacted.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from typing import IO, Callable

import pytest
from conftest import ROOT

from grader.chat_client import DEFAULT_HOST, DEFAULT_PORT, EOF_GRACE, parse_address

DEADLINE = 10.0  # seconds: a failure's upper bound, not how long a test takes
CLIENT = "import sys; from grader.chat_client import main; sys.exit(main(sys.argv[1:]))"
CLOSED = "The server closed the connection."
STOPPED = "Stopped (Ctrl-C); the connection is closed."


def client_env(**env: str) -> dict[str, str]:
    """The child's environment: UTF-8 pipes, and buffered output as a student has it (so a
    missing flush() shows here, even where the test runner sets PYTHONUNBUFFERED)."""
    base = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    return {**base, "PYTHONPATH": str(ROOT), "PYTHONIOENCODING": "utf-8", **env}


class Output:
    """A child's stdout or stderr, collected by a thread so that a test can wait for text."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.data = b""
        self.ended = False
        self._changed = threading.Condition()
        threading.Thread(target=self._collect, args=(stream,), daemon=True).start()

    def _collect(self, stream: IO[bytes]) -> None:
        for chunk in iter(lambda: stream.read1(4096), b""):  # type: ignore[attr-defined]
            with self._changed:
                self.data += chunk
                self._changed.notify_all()
        with self._changed:
            self.ended = True
            self._changed.notify_all()

    @property
    def text(self) -> str:
        with self._changed:
            return self.data.decode("utf-8", errors="replace")

    def wait_for(self, text: str) -> str:
        """All the output so far, once it holds `text` (a failure after the deadline)."""
        with self._changed:
            self._changed.wait_for(lambda: text.encode() in self.data or self.ended, DEADLINE)
        assert text in self.text, f"no {text!r} within {DEADLINE} s; got {self.text!r}"
        return self.text

    def wait_for_end(self) -> str:
        with self._changed:
            self._changed.wait_for(lambda: self.ended, DEADLINE)
            return self.data.decode("utf-8", errors="replace")


class Client:
    """`grader chat 127.0.0.1 PORT` with stdin a pipe that the test types into."""

    def __init__(self, port: int, **env: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", CLIENT, "127.0.0.1", str(port)], cwd=ROOT,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=client_env(**env))
        assert self.process.stdout and self.process.stderr
        self.out = Output(self.process.stdout)
        self.err = Output(self.process.stderr)

    def type(self, text: str) -> None:
        assert self.process.stdin
        self.process.stdin.write(text.encode("utf-8"))
        self.process.stdin.flush()

    def end_input(self) -> None:
        assert self.process.stdin
        self.process.stdin.close()

    def exit_code(self) -> int:
        """The client's exit code, once it has ended by itself within the deadline."""
        return self.process.wait(DEADLINE)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(DEADLINE)
        for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
            if stream and not stream.closed:
                stream.close()


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        sock.settimeout(DEADLINE)  # accept() gives up rather than hang the suite
        yield sock


@pytest.fixture
def start_client() -> Iterator[Callable[..., Client]]:
    clients: list[Client] = []

    def start(port: int, **env: str) -> Client:
        clients.append(Client(port, **env))
        return clients[-1]

    yield start
    for client in clients:
        client.stop()


@pytest.fixture
def chat(listener: socket.socket, start_client: Callable[..., Client]
         ) -> Iterator[tuple[Client, socket.socket]]:
    """A client connected to the test, which plays the server on the other end."""
    client = start_client(listener.getsockname()[1])
    conn, _ = listener.accept()
    conn.settimeout(DEADLINE)
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # two sends stay two segments
    with conn:
        client.err.wait_for("Connected to 127.0.0.1:")
        yield client, conn


def receive_line(conn: socket.socket) -> bytes:
    """Bytes up to and including "\\n", or b"" at EOF."""
    data = b""
    while not data.endswith(b"\n"):
        chunk = conn.recv(4096)  # conn has a timeout: a silent client fails the test
        if not chunk:
            break
        data += chunk
    return data


def test_prints_a_prompt_without_newline_and_sends_the_name_as_utf8(chat) -> None:
    client, conn = chat
    conn.sendall(b"what's your name:")  # no "\n": it must show before a line is complete
    client.out.wait_for("what's your name:")
    client.type("Борис\n")
    assert receive_line(conn) == "Борис\n".encode()


def test_a_character_split_across_two_recvs_prints_whole(chat) -> None:
    client, conn = chat
    data = "Жук\n".encode()
    conn.sendall(data[:1])  # the first byte of "Ж" alone
    time.sleep(0.3)
    conn.sendall(data[1:])
    assert client.out.wait_for("Жук\n") == "Жук\n"


def test_exits_0_with_one_line_when_the_server_closes(chat) -> None:
    client, conn = chat
    conn.sendall(b"bye\n")
    client.out.wait_for("bye\n")
    conn.close()  # while the client still waits for input
    assert client.exit_code() == 0
    assert client.out.wait_for_end() == "bye\n"
    assert client.err.wait_for_end().splitlines()[1:] == [CLOSED]


def test_end_of_input_shuts_the_sending_side_and_shows_the_servers_last_words(chat) -> None:
    client, conn = chat
    client.type("hi\n")
    client.end_input()
    assert receive_line(conn) == b"hi\n"
    assert receive_line(conn) == b""  # EOF: the client shut its sending side
    conn.sendall("пока\n".encode())  # the client still reads
    conn.close()
    assert client.exit_code() == 0
    assert client.out.wait_for_end() == "пока\n"
    assert client.err.wait_for_end().splitlines()[1:] == [CLOSED]


def test_end_of_input_waits_for_the_server_only_briefly(chat) -> None:
    client, conn = chat
    started = time.monotonic()
    client.end_input()
    assert receive_line(conn) == b""
    assert client.exit_code() == 0  # the test keeps conn open: the client stops by itself
    assert time.monotonic() - started < EOF_GRACE + DEADLINE / 2
    assert "did not close the connection" in client.err.wait_for_end()


@pytest.mark.skipif(sys.platform == "win32", reason="a console's Ctrl-C is not a signal here")
def test_ctrl_c_stops_with_one_line_and_exit_0(chat) -> None:
    client, conn = chat
    client.process.send_signal(signal.SIGINT)
    assert client.exit_code() == 0
    assert client.err.wait_for_end().splitlines()[1:] == ["", STOPPED]  # after "^C"
    assert receive_line(conn) == b""  # and the connection is closed


def test_ascii_console_gets_question_marks_not_a_crash(listener, start_client) -> None:
    client = start_client(listener.getsockname()[1], PYTHONIOENCODING="ascii")
    conn, _ = listener.accept()
    with conn:
        conn.settimeout(DEADLINE)
        conn.sendall("Борис: привет\n".encode())
        client.out.wait_for("?????: ??????\n")
        client.type("Борис\n")  # undecodable input is replaced, never fatal
        assert receive_line(conn).endswith(b"\n")
    assert client.exit_code() == 0
    assert "Traceback" not in client.err.wait_for_end()


def test_nothing_listening_is_one_friendly_line_and_exit_1() -> None:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port = sock.getsockname()[1]  # free, and closed below: nothing listens there
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", CLIENT, "127.0.0.1", str(port)], cwd=ROOT,
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=DEADLINE,
                          env=client_env())
    assert done.returncode == 1
    assert done.stdout == b""
    lines = done.stderr.decode("utf-8").splitlines()
    assert len(lines) == 1, lines
    assert f"Nothing is listening at 127.0.0.1:{port}" in lines[0]
    assert "python lessons/04_multi_user/server.py" in lines[0]
    assert time.monotonic() - started < DEADLINE / 2  # refused at once, not a 3 s timeout each


@pytest.mark.parametrize("argv, address", [
    ([], (DEFAULT_HOST, DEFAULT_PORT)),
    (["9000"], (DEFAULT_HOST, 9000)),
    (["localhost"], ("localhost", DEFAULT_PORT)),
    (["10.0.0.5", "9000"], ("10.0.0.5", 9000)),
    (["--lang", "ru", "9000"], (DEFAULT_HOST, 9000)),
])
def test_host_and_port(argv: list[str], address: tuple[str, int]) -> None:
    assert parse_address(argv) == address


@pytest.mark.parametrize("argv", [["localhost", "http"], ["localhost", "0"], ["1", "65536"]])
def test_a_bad_port_is_a_usage_error(argv: list[str], capsys) -> None:
    with pytest.raises(SystemExit) as stopped:
        parse_address(argv)
    assert stopped.value.code == 2
    assert "the port must be a number from 1 to 65535" in capsys.readouterr().err


def test_the_default_port_is_the_lessons() -> None:
    assert DEFAULT_PORT == 8080  # lessons/*/server.py: DEFAULT_PORT = 8080
