"""The grader's end of a student host (labs/host.py): start one per check, read what it reports,
measure it from outside, and end it with everything it started.

`StudentServer` is one step's code: it imports the module once to learn whether it can be
used at all, then hands out a fresh `ServerHost` per check. On POSIX a zygote (a host that has
imported the module) forks each one in a millisecond or two; where fork is not safe (threads
left running by the import) or not there (Windows), each host is a new interpreter.
"""

from __future__ import annotations

import ipaddress
import json
import os
import queue
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO

import psutil

from .. import processes
from ..i18n import _
from ..review import Unusable, accept_place, defines, read_source, reads_lines
from . import launcher, patience

IMPORT_DEADLINE = 2.0  # seconds an import may take before we call it "runs at import"
# a host's start on a loaded machine, import included; less than a check's own limit (10 s),
# so that a server that never gets ready is told so, not "the check was stopped"
READY_WITHIN = IMPORT_DEADLINE + 6.0
LISTEN_WITHIN = 5.0  # seconds a server program has to call listen()
MAX_EVENT = 8192  # longer lines from a host are dropped: it is not trusted to be brief
MAX_EVENTS = 10_000  # events waiting to be read; a flood beyond is dropped
MAX_OUTPUT = 16_384  # what we keep of a host's printed output
NOT_READY_LIMIT = 2  # starts in a row that ran out of time: then the step's other checks fail
MAX_ZYGOTE_RESTARTS = 3  # a zygote killed more often than this: new interpreters instead
QUIET_WITHIN = 0.5  # seconds to wait for the answer to "quiet?" (the host gives up at 0.3)


class AsProgram(Exception):
    """Auto mode: this code is a script (no serve(), or it serves when imported); the message
    says why, and it is graded as a program instead."""


def code_place(file: str, line: object, function: str, code: str) -> str:
    return _("{file}:{line} in {function}: {code}").format(
        file=file, line=line, function=function, code=code)


def describe_error(event: dict) -> str:
    """'server.py:42 in f: code', a line each for the last two places, then
    'ZeroDivisionError: ...', from a host's error report."""
    frames = event.get("frames")
    places = [code_place(_text(f.get("file")), _text(f.get("line")), _text(f.get("function")),
                         _text(f.get("code")))
              for f in (frames if isinstance(frames, list) else [])[-2:] if isinstance(f, dict)]
    # a line each: the student's own newlines (an error's text) are spaces here
    return "\n".join(part.replace("\n", " ") for part in [*places, _text(event.get("error"))])


def _text(value: object, limit: int = 300) -> str:
    text = value if isinstance(value, str) else "" if value is None else str(value)
    return text[:limit]


def bounded_lines(stream: IO[bytes], limit: int, cut: bool = False,
                  total: int | None = None) -> Iterator[bytes]:
    """The lines of an untrusted stream, the last one also without its newline; a line longer
    than `limit` is dropped whole (`cut`: its first `limit` bytes stand for it), so that no
    amount of output without a newline can fill our memory. Past `total` bytes of what is
    yielded, the stream is still read to its end, and nothing more is yielded."""
    given = 0
    while True:
        raw = stream.readline(limit)
        if not raw:
            return
        whole = raw.endswith(b"\n") or len(raw) < limit  # a line, or the last words at the end
        if whole or cut:
            given += len(raw)
            if total is None or given < total:
                yield raw
        if whole:
            continue
        while raw and not raw.endswith(b"\n"):  # the rest of the long line
            raw = stream.readline(limit)


def ended_early(last_output: str) -> str:
    """Why a host that ended before it served did so: its last words, or where to look."""
    if last_output:
        return _("your server's process ended before it could serve: {last}").format(
            last=last_output)
    return _("your server's process ended before it could serve, without a word: does your "
             "code exit, close files it did not open (os.close), or lower a limit "
             "(resource.setrlimit) when it starts?")


class EventReader:
    """Reads a host's JSON lines in a thread; anything malformed is dropped, never trusted."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.events: queue.Queue[dict] = queue.Queue()
        self.stream = stream
        threading.Thread(target=self._pump, daemon=True, name="host-events").start()

    def _pump(self) -> None:
        try:
            for raw in bounded_lines(self.stream, MAX_EVENT):
                try:
                    event = json.loads(raw)
                except (ValueError, RecursionError):  # [[[[... nested too deep is one too
                    continue
                if (isinstance(event, dict) and isinstance(event.get("e"), str)
                        and self.events.qsize() < MAX_EVENTS):
                    self.events.put(event)
        except (OSError, ValueError):
            pass
        self.events.put({"e": "closed"})

    def next(self, deadline: float) -> dict | None:
        try:
            return self.events.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            return None


class ServerHost:
    """One check's student server, in a process of its own."""

    def __init__(self, pid: int, events: EventReader, output: Path, file_name: str,
                 process: subprocess.Popen | None = None, mode: str = "serve",
                 has_serve: bool = True) -> None:
        self.pid = pid
        self.has_serve = has_serve
        self.at_import: set[str] = set()  # what its import did (auto mode: as_program)
        self.mode = mode  # serve (serve() is called), auto (serve mode, maybe a program), program
        self.events = events
        self.output_path = output
        self.file_name = file_name
        self.process = process
        self.address: tuple[str, int] = ("127.0.0.1", 0)
        self.crashes: list[str] = []
        self.spinning = False
        self.stopping = False
        self.exit: dict | None = None  # what the host said as it called os._exit()
        self.asked: dict | None = None  # a program's last bind() before it listened, as asked
        self.closing = False  # the grader closed the listener: serve() may return (step 06)
        self.returned = threading.Event()  # serve() returned after that
        self.answers: queue.Queue[bool] = queue.Queue()  # to quiet() questions
        self.places: queue.Queue[list] = queue.Queue()  # to where() questions
        self.ps = _process(pid)
        patience.watch(pid)

    def wait_ready(self, within: float = READY_WITHIN) -> None:
        if self.mode == "program":
            return self._wait_listening(min(within, LISTEN_WITHIN))
        deadline = time.monotonic() + within
        while True:
            event = self.events.next(deadline)
            if event is None:
                raise Unusable(not_started(within, self.ps if self.alive() else None))
            if event["e"] == "ready" and isinstance(event.get("port"), int):
                self._ready(event["port"])
                return
            if event["e"] == "closed":
                raise Unusable(ended_early(self.last_output()))
            self._note(event)  # serve() may crash before the host says it is ready
            if self.mode == "auto":
                as_program(event, self.has_serve, self.at_import)
            problem = import_problem(event, self.file_name)
            if problem:
                raise Unusable(problem)

    def _ready(self, port: int) -> None:
        self.address = ("127.0.0.1", port)
        threading.Thread(target=self._watch, daemon=True, name="host-watch").start()

    def _wait_listening(self, within: float) -> None:
        """A server program is ready at its first listen(); until then, what went wrong."""
        deadline = time.monotonic() + within
        seen: dict[str, dict] = {}
        while True:
            event = self.events.next(deadline)
            if event is None:
                if not seen and self.alive() and self.busy():
                    raise Unusable(_("your server is still computing {s:g} s after it started, "
                                     "on a whole CPU core, and has not listened: does a loop "
                                     "run before bind() and listen()?").format(s=within))
                places = self._where_before_ready() if not seen and self.alive() else []
                if places:  # it waits somewhere of its own: say where
                    raise Unusable(_("your server has not listened {s:g} s after it started: "
                                     "it waits at line {line}: {code}. Call bind() and "
                                     "listen() before anything that waits.").format(
                        s=within, line=_text(places[0].get("line")),
                        code=_text(places[0].get("code"))))
                raise Unusable(program_problem(seen, self.file_name, within, ""))
            kind = event["e"]
            if kind == "listen" and isinstance(event.get("port"), int):
                self._ready(event["port"])
                return
            if kind == "bind":
                self.asked = event
                continue
            self._note(event)  # a thread may crash before the program listens
            if kind == "closed":
                raise Unusable(program_problem(seen, self.file_name, within,
                                               self.last_output(3) or _("it printed nothing")))
            seen.setdefault(kind, event)
            if kind == "input" and event.get("main") is True and not event.get("eof"):
                raise Unusable(program_problem(seen, self.file_name, within, ""))  # it waits

    def _watch(self) -> None:
        while True:
            event = self.events.next(time.monotonic() + 3600)
            if event is None or event["e"] == "closed":
                return
            self._note(event)

    def _note(self, event: dict) -> None:
        """Take in what the host says while the checks run (or, before, what it said early)."""
        kind = event["e"]
        if kind == "spin":
            self.spinning = True
        elif kind in ("serve_crash", "thread_crash", "main_crash") and not self.stopping:
            where = describe_error(event)
            self.crashes.append(_("serve() stopped: {where}").format(where=where)
                                if kind == "serve_crash" else
                                _("your server's main thread stopped: {where}").format(
                                    where=where) if kind == "main_crash" else
                                _("a thread of yours crashed: {where}").format(where=where))
        elif kind == "exit":
            self.exit = event
        elif kind == "quiet":
            self.answers.put(event.get("quiet") is True)
        elif kind == "where" and isinstance(event.get("threads"), list):
            self.places.put([place for place in event["threads"] if isinstance(place, dict)])
        elif kind == "serve_returned" and self.closing:
            self.returned.set()
        elif kind == "serve_returned" and not self.stopping:
            self.crashes.append(_("serve() returned; it should serve forever"))

    def quiet(self, within: float = QUIET_WITHIN) -> bool:
        """Wait until every thread of the server waits for input (it has done all it was
        given), up to `within` s; False if it did not, or cannot say (a pipe on Windows)."""
        while not self.answers.empty():
            self.answers.get_nowait()  # a late answer to an earlier question
        try:
            os.write(self.events.stream.fileno(), b"?")
            return self.answers.get(timeout=within)
        except (OSError, ValueError, queue.Empty):
            return False

    def where(self, within: float = QUIET_WITHIN) -> list[dict]:
        """Where the student's threads are now, as the host says (labs/host.py where_threads);
        [] if it cannot say (a pipe on Windows, a host that has gone)."""
        while not self.places.empty():
            self.places.get_nowait()  # a late answer to an earlier question
        try:
            os.write(self.events.stream.fileno(), b"w")
            return self.places.get(timeout=within)
        except (OSError, ValueError, queue.Empty):
            return []

    def _where_before_ready(self) -> list[dict]:
        """where(), for a host whose events no thread reads yet: its answer is read here."""
        try:
            os.write(self.events.stream.fileno(), b"w")
        except (OSError, ValueError):
            return []
        deadline = time.monotonic() + QUIET_WITHIN
        while (event := self.events.next(deadline)) is not None:
            if event["e"] == "where" and isinstance(event.get("threads"), list):
                return [place for place in event["threads"] if isinstance(place, dict)]
        return []

    def close_listener(self) -> None:
        """Close the listener serve() was given, from inside the host, as its owner would."""
        self.closing = True
        try:
            os.write(self.events.stream.fileno(), b"x")
        except (OSError, ValueError):
            pass

    # -- measured from outside ------------------------------------------------------------------
    def cpu_seconds(self, seconds: float) -> float:
        """CPU time the host spends (or waits for: processes.busy_over) over `seconds` of wall
        time."""
        if self.ps is None:
            time.sleep(seconds)
            return 0.0
        return processes.busy_over(self.ps, seconds)

    def thread_count(self) -> int:
        try:
            return self.ps.num_threads() if self.ps else 0
        except psutil.Error:
            return 0

    def memory(self) -> int:
        try:
            return self.ps.memory_info().rss if self.ps else 0
        except psutil.Error:
            return 0

    def busy(self) -> bool:
        """Is the host computing flat out right now (a loop, a regex that never ends)?"""
        return self.ps is not None and computing(self.ps)

    def alive(self) -> bool:
        try:
            return bool(self.ps and self.ps.is_running()
                        and self.ps.status() != psutil.STATUS_ZOMBIE)
        except psutil.Error:
            return False

    def ended(self) -> str:
        """'' while the host runs; else how its process ended, in a line."""
        if self.alive():
            return ""
        if self.exit is not None:
            where = self.exit.get("where") if isinstance(self.exit.get("where"), dict) else {}
            code = _text(self.exit.get("code"))
            if where:
                return _("your server's process ended: os._exit({code}) at {file} line {line}: "
                         "{source}").format(code=code, file=self.file_name,
                                            line=_text(where.get("line")),
                                            source=_text(where.get("code")))
            return _("your server's process ended: os._exit({code})").format(code=code)
        last = self.last_output()
        if not last:
            return _("your server's process ended without a word: was it killed?")
        return _("your server's process ended: {last}").format(last=last)

    def last_output(self, lines: int = 1) -> str:
        return self.output_of(self.output_path, lines)

    @staticmethod
    def output_of(path: Path, lines: int = 1) -> str:
        """The last lines a host printed (of the first MAX_OUTPUT bytes: the rest is cut)."""
        try:
            with path.open("rb") as f:
                text = f.read(MAX_OUTPUT).decode("utf-8", errors="replace")
        except OSError:
            return ""
        kept = [line.strip() for line in text.splitlines() if line.strip()]
        return " / ".join(kept[-lines:])

    def close(self) -> None:
        self.stopping = True
        if self.process is None:
            # a zygote's child, in a session of its own: what left its group went to the
            # zygote (a subreaper), whose sweep after the check ends it; no look here
            processes.end_group(self.pid)
            return
        processes.end_tree(self.pid)
        try:
            self.process.wait(2)
        except subprocess.TimeoutExpired:
            pass


def not_started(within: float, process: psutil.Process | None) -> str:
    """Why a host said nothing for `within` seconds; `process`: the host, if it still runs."""
    if process is not None and computing(process):
        # a loop that holds the GIL (a regex, a long computation): the host cannot speak
        return _("your server did not start within {s:g} s: its process was computing on a "
                 "whole CPU core all the while. Is there a loop that never waits, at import "
                 "or in serve()?").format(s=within)
    return _("your server did not start within {s:g} s").format(s=within)


def computing(process: psutil.Process) -> bool:
    """Is it computing flat out right now (a loop, a regex that never ends)?"""
    return processes.busy_over(process, 0.2) > 0.15


def _process(pid: int) -> psutil.Process | None:
    try:
        return psutil.Process(pid)
    except psutil.Error:
        return None


def import_problem(event: dict, file: str) -> str:
    """What an import report means for the student, or '' if it is not one."""
    kind = event.get("e")
    if kind == "import_hang":
        where = event.get("where") if isinstance(event.get("where"), dict) else {}
        place = (_("line {line}: {code}").format(line=_text(where.get("line")),
                                                 code=_text(where.get("code")))
                 if where else file)
        return _("your {file} is still running {s:g} s after the grader imported it "
                 "({where}): move the code that starts the server under "
                 "if __name__ == \"__main__\":").format(file=file, s=IMPORT_DEADLINE, where=place)
    if kind == "import_exit":
        return _("your {file} calls sys.exit() when it is imported ({where}): move that code "
                 "under if __name__ == \"__main__\":").format(file=file,
                                                              where=describe_error(event))
    if kind == "import_error":
        return _("importing your {file} failed: {where}").format(
            file=file, where=describe_error(event)) + error_advice(event, file)
    if kind == "no_serve":
        return _("your {file} has no serve(listener) function: keep the one from the "
                 "lesson").format(file=file)
    return ""


def program_note(source: str, why: str) -> str:
    """The one line that says a step was graded as a program (`why`: "no_serve" or
    "at_import"), and what would make it a module the lessons' way."""
    place = accept_place(source)
    found = ""
    if place:
        line, function = place
        found = (_(" (its accept() is at line {line}, in {function}())").format(
            line=line, function=function) if function else
            _(" (its accept() is at line {line})").format(line=line))
    has_serve = defines(source, "serve")
    steps = ([_("start it under if __name__ == \"__main__\":")] if why == "at_import" else [])
    if not has_serve:
        steps.append(_("put the accept loop in serve(listener)"))
    return _("graded as a program: {why}{found}. To grade it as the lessons do, {steps}.").format(
        why=_("it starts its server when imported") if why == "at_import" else
        _("it has no serve(listener)"), found=found, steps=_(" and ").join(steps))


def as_program(event: dict, has_serve: bool, seen: set[str]) -> None:
    """Auto mode, while the module is imported: raise AsProgram if it is a script (it serves,
    asks for input, hangs or exits when imported, and has no serve() to call instead). A
    module with serve() that listens when imported is one only if its import then never ends:
    a socket left over from the assignment's script, and never used, is no reason. `seen`:
    what this import did so far."""
    kind = event.get("e")
    if kind == "no_serve":
        raise AsProgram("no_serve")
    at_import = event.get("importing") is True
    if kind == "input" and at_import or kind == "listen" and at_import and not has_serve:
        raise AsProgram("at_import")
    if kind == "listen" and at_import:
        seen.add("listen")
    if kind in ("import_hang", "import_exit") and (not has_serve or "listen" in seen):
        raise AsProgram("at_import")
    if kind == "import_error" and not has_serve:  # a script that stops with an error: said so
        raise AsProgram("at_import")


def unused_listener_note(seen: set[str]) -> list[str]:
    """A module served through serve() that listened when imported: said, not held against it."""
    if "listen" not in seen:
        return []
    return [_("your module opens a listening socket when it is imported, and the grader "
              "leaves it unused (it calls serve(listener)): remove it, or open it under "
              "if __name__ == \"__main__\":")]


def program_problem(seen: dict[str, dict], file: str, within: float, last: str) -> str:
    """Why a server program never listened, from what its host reported (`last`: its last
    printed lines if it has ended, '' if it still runs)."""
    if "main_crash" in seen and not ("input" in seen and "EOFError" in str(
            seen["main_crash"].get("error"))):
        return _("your server stopped before it listened: {where}").format(
            where=describe_error(seen["main_crash"])) + error_advice(seen["main_crash"], file)
    if "input" in seen:
        where = seen["input"].get("where")
        place = (_("line {line}: {code}").format(line=_text(where.get("line")),
                                                 code=_text(where.get("code")))
                 if isinstance(where, dict) and where else file)
        return _("your server asks for input() before it listens ({where}), and the grader "
                 "types nothing (input() raises EOFError): use a fixed port, or read it from "
                 "sys.argv").format(where=place)
    if "udp_bind" in seen:
        return _("your server opened only a UDP socket; the chat is TCP: "
                 "socket.socket(socket.AF_INET, socket.SOCK_STREAM)")
    if last:
        exiting = seen.get("exiting") or seen.get("exit")
        if exiting is None:  # no exit of its own: a signal ended it (os.kill? its parent's?)
            return _("your server's process was ended by a signal before it opened a listening "
                     "socket (does your code kill a process, its own parent say?): {last}").format(
                last=last)
        return _("your server exited (code {code}) before it opened a listening socket: "
                 "{last}").format(code=_text(exiting.get("code", "?")), last=last)
    return _("your server did not open a listening socket within {s:g} s: call bind(), then "
             "listen(), then accept()").format(s=within)


def address_notes(asked: dict | None) -> list[str]:
    """What would go wrong with the address a server program binds, run on its own: every bind
    is 127.0.0.1 port 0 here, so the grading itself never sees it."""
    if not asked:
        return []
    host, port = asked.get("host"), asked.get("port")
    notes = []
    if isinstance(host, str) and not this_machine(host):
        notes.append(_("your server binds {host}, which is not an address of this computer: "
                       "run here on its own, its bind() fails. Bind \"127.0.0.1\" (this "
                       "computer only) or \"\" (all its addresses); the grader used "
                       "127.0.0.1.").format(host=_text(host, 60)))
    if isinstance(port, int) and 0 < port < 1024:
        notes.append(_("your server asks for port {port}: on Linux only an administrator may "
                       "listen below 1024, so there it stops with PermissionError. Use a port "
                       "above 1023, such as 8080; the grader used a free one.").format(
                           port=port))
    return notes


def this_machine(host: str) -> bool:
    """Is `host` one of this computer's addresses? A name other than its own is not looked up
    (that may ask a DNS server off this machine): it counts as this machine's."""
    host = host.strip("[]").split("%")[0].lower()
    if host in ("", "localhost", "0.0.0.0", "::", socket.gethostname().lower()):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return True
    if address.is_loopback:
        return True
    mine = {entry.address.split("%")[0].lower() for entries in psutil.net_if_addrs().values()
            for entry in entries}
    return str(address) in mine


def error_advice(event: dict, file: str) -> str:
    """For a ModuleNotFoundError: which kind of module is missing, in a sentence ('' if none).
    For a PermissionError: where the student's code may read and write while it is graded.
    For accept() on a socket that never listened: that listen() is missing."""
    error = _text(event.get("error"))
    frames = event.get("frames")
    last = frames[-1] if isinstance(frames, list) and frames and isinstance(frames[-1], dict) \
        else {}
    if ("[Errno 22]" in error or "[WinError 10022]" in error) and ".accept(" in _text(
            last.get("code")):  # EINVAL: a socket that was bound but never listened
        return " " + _("(accept() works on a listening socket only: call listen() after "
                       "bind(), before the first accept())")
    if error.startswith("PermissionError"):
        return " " + _("(while it is graded, your code reads and writes files only beside "
                       "{file} and in tempfile's folder: keep what it needs beside it)").format(
                           file=file)
    if not error.startswith("ModuleNotFoundError"):
        return ""
    name = error.split("'")[1] if error.count("'") >= 2 else ""
    if not name:
        return ""
    if "." in name:
        return " " + _("({name} is a package path; import the file beside {file} by its own "
                       "name)").format(name=name, file=file)
    return " " + _("({name} is neither installed nor a file beside {file}: hand in {name}.py "
                   "too, or use the standard library only)").format(name=name, file=file)


@dataclass(frozen=True)
class Race:
    """How a host makes races show (labs/host.py report_thread_crashes): a short thread switch
    interval, locks that yield before they are taken, sends that wait a moment first, lines of
    the student's code that let the other threads run first, a client's end told late."""

    switch: float = 0.0  # seconds; 0: Python's own
    locks: bool = False
    pause: float = 0.0  # seconds each send waits
    yields: int = 0  # every how many lines; 0: never
    late_end: float = 0.0  # seconds recv() waits before it tells that a connection ended


NO_RACE = Race()


class StudentServer:
    """One step's server code: a fresh ServerHost per check, all ended by close()."""

    def __init__(self, student_file: Path, mode: str = "auto") -> None:
        self.file = student_file.resolve()
        self.mode = mode  # auto becomes serve or program in prepare()
        self.scratch = Path(tempfile.mkdtemp(prefix="grader-host-"))
        self.problem = ""
        self.notes: list[str] = []  # said once for the step, e.g. that it ran as a program
        try:
            self.source = read_source(self.file)
        except Unusable:
            self.source = ""  # review() has said why, before any host starts
        # what its checks learned of how it speaks (chat_session.Session), and one thing its
        # code tells: whether it reads what it receives line by line
        self.wire: dict = {"reads_lines": reads_lines(self.source)}
        self.has_serve = defines(self.source, "serve")
        self.at_import: set[str] = set()  # what its import did (auto mode: as_program)
        self.zygote: launcher.Zygote | None = None
        self.zygote_output = Path()
        self.prepared = False
        self.restarts = 0
        self.count = 0
        self.not_ready: list[str] = []  # why the last starts in a row failed (see start())
        self.lock = threading.Lock()

    def _output_file(self) -> tuple[Path, IO[bytes]]:
        self.count += 1
        path = self.scratch / f"host-{self.count}.out"
        return path, path.open("wb")

    def begin(self) -> None:
        """Start importing in a zygote, without waiting (prepare() waits)."""
        if launcher.CAN_FORK and self.zygote is None:
            self.zygote_output, stream = self._output_file()
            command = (launcher.command("run-zygote", self.file) if self.mode == "program" else
                       launcher.command("zygote", self.file, "--deadline", str(IMPORT_DEADLINE)))
            with stream:
                self.zygote = launcher.Zygote(command, stream, self.scratch,
                                              self._environment())

    def prepare(self) -> str:
        """Import the code once; '' if it can be served, else what is wrong with it."""
        if self.prepared:
            return self.problem
        self.prepared = True
        try:
            try:
                self._import()
            except AsProgram as why:
                self._stop_zygote()
                self.mode = "program"
                self.notes.append(program_note(self.source, str(why)))
                self._import()
            if self.mode == "program":  # does it listen at all? Said once, not per check
                host = self.start()
                self.notes += address_notes(host.asked)
                host.close()
            else:
                self.notes += unused_listener_note(self.at_import)
        except Unusable as problem:
            self.problem = str(problem)
        return self.problem

    def _import(self) -> None:
        if launcher.CAN_FORK:
            self.begin()
            self._await_zygote()
        elif self.mode != "program":
            self.start().close()  # no zygote: a first host says whether the import works

    def _await_zygote(self) -> None:
        zygote, output = self.zygote, self.zygote_output
        assert zygote
        deadline = time.monotonic() + READY_WITHIN
        while True:
            event = zygote.events.next(deadline)
            if event is None:
                raise Unusable(not_started(READY_WITHIN, _process(zygote.process.pid)))
            if event["e"] == "zygote":
                if event.get("threads") != 1:  # forking now would copy half-held locks
                    self._stop_zygote()
                return
            if event["e"] == "closed":
                raise Unusable(ended_early(ServerHost.output_of(output)))
            if self.mode == "auto":
                as_program(event, self.has_serve, self.at_import)
            problem = import_problem(event, self.file.name)
            if problem:
                self._stop_zygote()
                raise Unusable(problem)

    def _stop_zygote(self) -> None:
        if self.zygote:
            self.zygote.close()
            self.zygote = None

    def start(self, race: Race = NO_RACE) -> ServerHost:
        """A fresh host serving the student's code, ready for clients; `race`: how it is
        made to show races, for a check that looks for them. After NOT_READY_LIMIT starts in a
        row that ran out of time, the rest fail at once: each would wait READY_WITHIN again."""
        if len(self.not_ready) >= NOT_READY_LIMIT:
            raise Unusable(self.not_ready[-1])
        with self.lock:
            if self.zygote and self.zygote.process.poll() is not None:
                self._restart_zygote()  # the student's code killed it: the next check is owed one
            try:
                host = self._fork(race) if self.zygote else self._spawn(race)
            except Unusable as problem:
                if not self._zygote_died():  # it did not fork within READY_WITHIN
                    self.not_ready.append(str(problem))
                    raise
                self._restart_zygote()  # killed just now, too late for poll() above: once more
                host = self._fork(race) if self.zygote else self._spawn(race)
        try:
            host.wait_ready()
        except Unusable as problem:
            if host.alive():  # it ran out of time (a crash, quick to tell, ends the host)
                self.not_ready.append(str(problem))
            host.close()  # at once: a host stuck in a loop would crowd every later check
            raise
        self.not_ready.clear()
        return host

    def _zygote_died(self) -> bool:
        """Did the zygote end (a fork through it failed)? It may take a moment to be reaped."""
        if self.zygote is None:
            return False
        try:
            self.zygote.process.wait(1.0)
        except subprocess.TimeoutExpired:
            return False
        return True

    def _restart_zygote(self) -> None:
        self._stop_zygote()
        self.restarts += 1
        if self.restarts <= MAX_ZYGOTE_RESTARTS:
            try:
                self.begin()
                self._await_zygote()
                return
            except Unusable:
                self._stop_zygote()
        # from here on, a new interpreter for each check (self.zygote is None)

    def _spawn(self, race: Race) -> ServerHost:
        output, stream = self._output_file()
        knobs = ["--switch", str(race.switch), "--locks", "1" if race.locks else "0",
                 "--pause", str(race.pause), "--yields", str(race.yields),
                 "--late-end", str(race.late_end)]
        command = (launcher.command("run", self.file, *knobs) if self.mode == "program" else
                   launcher.command("serve", self.file, "--deadline", str(IMPORT_DEADLINE),
                                    *knobs))
        with stream:
            process, events = launcher.spawn(
                command, stdin=subprocess.DEVNULL, stdout=stream, stderr=subprocess.STDOUT,
                cwd=self.file.parent, env=self._environment())
        return ServerHost(process.pid, EventReader(events), output, self.file.name, process,
                          self.mode, self.has_serve)

    def _fork(self, race: Race) -> ServerHost:
        assert self.zygote
        read_end, write_end = launcher.channel()
        output, stream = self._output_file()
        with stream:
            pid = self.zygote.fork([write_end, os.dup(stream.fileno())],
                                   asdict(race),
                                   READY_WITHIN)
        if pid is None:
            os.close(read_end)
            raise Unusable(_("your server did not start within {s:g} s").format(
                s=READY_WITHIN))
        return ServerHost(pid, EventReader(os.fdopen(read_end, "rb")), output, self.file.name,
                          mode=self.mode, has_serve=self.has_serve)

    def _environment(self) -> dict[str, str]:
        return launcher.environment(TMPDIR=launcher.private_tmp(self.scratch))

    def after_check(self) -> None:
        """End what a check's host left: the zygote's children (it is their subreaper), and
        our own children but the zygote (where orphans go when the zygote is not there)."""
        zygote = self.zygote.process.pid if self.zygote else None
        processes.sweep(keep={zygote} if zygote else set(), also_below=zygote)

    def close(self) -> None:
        self._stop_zygote()
        shutil.rmtree(self.scratch, ignore_errors=True)
