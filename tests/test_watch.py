"""grader watch: a save (in place or by rename) grades the step again, a save during a run waits
for it (never two runs at once), and Ctrl-C ends the watch and everything it started."""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pytest
from conftest import ROOT

from grader.manifest import steps
from grader.watch import fingerprint

# Until cli.py routes `grader watch` here, the watch is started through its main() directly.
WATCH = "import sys; from grader.cli import main; sys.exit(main([\"watch\", *sys.argv[1:]]))"
SCORE = re.compile(r"^Score: (\d+)/(\d+)")
HEADER = "Grading "
FOOTER = "save to grade again, Ctrl-C to stop"
SOLUTION = (ROOT / "solutions" / "01_echo" / "server.py").read_text(encoding="utf-8")
STUB = (ROOT / "lessons" / "01_echo" / "server.py").read_text(encoding="utf-8")
# Passes every check, but each check waits a second for it: a run of several seconds.
SLOW = SOLUTION.replace("    while True:\n        conn, _address = listener.accept()",
                        "    import time\n    time.sleep(1.0)\n"
                        "    while True:\n        conn, _address = listener.accept()")
assert SLOW != SOLUTION


class Watch:
    """`grader watch ARGS` in tmp_path, its output (stdout and stderr) read line by line."""

    def __init__(self, cwd: Path, *args: str) -> None:
        scratch = cwd / "tmp"  # what a run ended by Ctrl-C leaves behind stays in tmp_path
        scratch.mkdir(exist_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-c", WATCH, *args], cwd=cwd, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONPATH": str(ROOT), "GRADER_LANG": "en", "NO_COLOR": "1",
                 "PYTHONIOENCODING": "utf-8", "TMPDIR": str(scratch), "TEMP": str(scratch),
                 "TMP": str(scratch)})
        self.lines: queue.Queue[tuple[float, str] | None] = queue.Queue()
        self.transcript: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout
        for raw in self.process.stdout:
            self.lines.put((time.monotonic(), raw.decode("utf-8", "replace").rstrip("\r\n")))
        self.lines.put(None)

    def wait_for(self, pattern: str, timeout: float = 20) -> tuple[float, str]:
        """The first line from now on that matches `pattern`, and when it was read."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                item = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"no line matching {pattern!r} in {timeout} s:\n" + self.shown())
            if item is None:
                pytest.fail(f"the watch ended before {pattern!r}:\n" + self.shown())
            self.transcript.append(item[1])
            if re.search(pattern, item[1]):
                return item

    def score(self, timeout: float = 20) -> tuple[float, str]:
        """When the next result line came, and the score it gives ('10/10')."""
        seen, line = self.wait_for(SCORE.pattern, timeout)
        match = SCORE.match(line)
        assert match
        return seen, f"{match[1]}/{match[2]}"

    def shown(self) -> str:
        return "\n".join(self.transcript[-60:])

    def tree(self) -> list[psutil.Process]:
        try:
            return psutil.Process(self.process.pid).children(recursive=True)
        except psutil.Error:
            return []

    def end(self) -> None:
        """Whatever a test left running, ended (the tests that check Ctrl-C have already)."""
        if self.process.poll() is None:
            for process in [*self.tree(), psutil.Process(self.process.pid)]:
                try:
                    process.kill()
                except psutil.Error:
                    pass
        self.process.wait(10)


@pytest.fixture
def lessons(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / "lessons", tmp_path / "lessons")
    return tmp_path / "lessons"


@pytest.fixture
def watch01(lessons: Path):
    watch = Watch(lessons.parent, "01", "--dir", "lessons")
    yield watch
    watch.end()


def save(file: Path, text: str) -> None:
    file.write_text(text, encoding="utf-8")


def save_by_rename(file: Path, text: str) -> None:
    """As editors that write a new file and rename it onto the old one; this one keeps the
    old mtime too, as some do."""
    old = file.stat()
    new = file.with_name(file.name + ".tmp")
    new.write_text(text, encoding="utf-8")
    os.utime(new, ns=(old.st_atime_ns, old.st_mtime_ns))
    os.replace(new, file)


def test_a_rename_that_keeps_size_and_mtime_is_still_a_change(tmp_path: Path) -> None:
    file = tmp_path / "server.py"
    save(file, "a = 1\n")
    before = fingerprint(file)
    save_by_rename(file, "b = 2\n")  # same size, same mtime: only the inode tells
    assert fingerprint(file) != before
    assert fingerprint(tmp_path / "missing.py") == (False, 0, 0, 0)


def test_a_save_grades_again_and_ctrl_c_ends_everything(watch01: Watch,
                                                        lessons: Path) -> None:
    server = lessons / "01_echo" / "server.py"
    assert watch01.score()[1] == "0/10"
    watch01.wait_for("watching lessons.01_echo.server.py — " + FOOTER)
    save(server, SOLUTION)
    assert watch01.score()[1] == "10/10"
    watch01.wait_for(FOOTER, 5)
    if os.name != "posix":
        return  # a console's Ctrl-C cannot be sent to one process here; the rest holds
    save(server, SLOW)
    watch01.wait_for(HEADER)
    deadline = time.monotonic() + 15
    found: list[psutil.Process] = []
    while not any("host" in " ".join(_cmdline(p)) for p in found):  # a check is running
        assert time.monotonic() < deadline, "no student host started:\n" + watch01.shown()
        time.sleep(0.05)
        found = watch01.tree()
    started = time.monotonic()
    watch01.process.send_signal(signal.SIGINT)
    assert watch01.process.wait(5) == 0
    assert time.monotonic() - started < 5
    watch01.wait_for("stopped watching", 5)
    _gone, alive = psutil.wait_procs(found, timeout=3)
    assert not [p for p in alive if _status(p) != psutil.STATUS_ZOMBIE], alive


def test_a_save_by_rename_is_graded(watch01: Watch, lessons: Path) -> None:
    assert watch01.score()[1] == "0/10"
    saved = time.monotonic()
    save_by_rename(lessons / "01_echo" / "server.py", SOLUTION)
    seen, score = watch01.score()
    assert score == "10/10"
    assert seen - saved < 20


def test_saves_during_a_run_wait_for_it(watch01: Watch, lessons: Path) -> None:
    server = lessons / "01_echo" / "server.py"
    assert watch01.score()[1] == "0/10"
    runs: list[int] = []  # how many gradings run at once, sampled all along
    done = threading.Event()

    def count() -> None:
        while not done.is_set():
            runs.append(sum("grader" in _cmdline(p) for p in _children(watch01.process.pid)))
            time.sleep(0.02)

    sampler = threading.Thread(target=count, daemon=True)
    sampler.start()
    try:
        save(server, SLOW)
        watch01.wait_for(HEADER)
        time.sleep(0.5)  # the slow run is under way: two saves in quick succession
        save(server, SOLUTION)
        time.sleep(0.03)
        save(server, STUB)
        watch01.score(30)  # the slow run, finished (its later checks saw a newer file)
        assert watch01.score()[1] == "0/10"  # then one more, of the last save
        watch01.wait_for(FOOTER, 5)
        time.sleep(1)  # nothing more comes
    finally:
        done.set()
        sampler.join(5)
    assert max(runs) == 1, runs
    while True:
        try:
            item = watch01.lines.get_nowait()
        except queue.Empty:
            break
        if item is not None:
            watch01.transcript.append(item[1])
    marks = [line for line in watch01.transcript if line.startswith(HEADER) or SCORE.match(line)]
    assert len(marks) == 6, watch01.shown()  # stub, slow, last save: a header and a score each
    assert all(line.startswith(HEADER) for line in marks[::2]), watch01.shown()
    assert all(SCORE.match(line) for line in marks[1::2]), watch01.shown()


def test_all_steps_by_default(lessons: Path) -> None:
    watch = Watch(lessons.parent, "--dir", "lessons")
    try:
        assert watch.score()[1] == "0/100"
        every = ", ".join(step.id for step in steps())
        watch.wait_for(r"watching lessons.? \(steps " + every + r"\) — " + FOOTER, 20)
    finally:
        watch.end()


def test_a_step_that_does_not_exist_is_one_line(lessons: Path) -> None:
    done = subprocess.run([sys.executable, "-c", WATCH, "99", "--dir", "lessons"],
                          cwd=lessons.parent, capture_output=True, text=True, timeout=30,
                          stdin=subprocess.DEVNULL, encoding="utf-8",
                          env={**os.environ, "PYTHONPATH": str(ROOT), "GRADER_LANG": "en"})
    assert done.returncode == 2
    assert done.stdout == "" and done.stderr.count("\n") == 1 and "99" in done.stderr


def _children(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children()
    except psutil.Error:
        return []


def _cmdline(process: psutil.Process) -> list[str]:
    try:
        return process.cmdline()
    except psutil.Error:
        return []


def _status(process: psutil.Process) -> str:
    try:
        return process.status()
    except psutil.Error:
        return psutil.STATUS_DEAD
