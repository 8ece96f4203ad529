"""Shared helpers for the kit's tests: run the grader as a student would, read its JSON."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import pytest
from filelock import FileLock
from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parents[1]

# A shell without job control starts a background job with Ctrl-C ignored, and what it starts
# inherits that: the tests that press Ctrl-C in a child would see nothing happen. Handled here,
# a child starts with the default again.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
# The lessons' files as shipped (grader reset restores them). Tests grade these, never
# lessons/, which a student may have edited; .ci/run checks that lessons/ still equals them.
STUBS = ROOT / "grader" / "stubs"
# devtools/ (the maintainers' tools) is not installed: let a bare `pytest` import it too,
# as `python -m pytest` (which puts the current folder first) already can from here.
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))
SCHEMA = json.loads((ROOT / "grader" / "schema" / "report.schema.json").read_text(encoding="utf-8"))
REPORT = Draft202012Validator(SCHEMA)  # every report a test reads is checked against it


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    seconds: float

    @property
    def data(self) -> dict:
        """The JSON report on stdout, valid by grader/schema/report.schema.json or an error."""
        data = json.loads(self.stdout)
        REPORT.validate(data)
        return data

    def statuses(self) -> dict[str, str]:
        return {check["name"]: check["status"] for check in self.data["checks"]}

    def failures(self) -> dict[str, str]:
        """Each check that did not pass, with what the student was told: for assertions, so
        that a failure seen once in CI can be explained from its log."""
        return {check["name"]: f"{check['status']}: {check['message']} {check['details']} "
                               f"({check['seconds']} s)"
                for check in self.data["checks"] if check["status"] != "passed"}


def grader(*args: str, cwd: Path = ROOT, timeout: float = 120, **env: str) -> Run:
    """Run `python -m grader ARGS` in a child process, the way a student runs `grader`."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "grader", *args], cwd=cwd, capture_output=True, timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(ROOT), "GRADER_LANG": "en", "NO_COLOR": "1", **env},
        stdin=subprocess.DEVNULL,
    )
    encoding = env.get("PYTHONIOENCODING", "utf-8")
    return Run(done.returncode, done.stdout.decode(encoding), done.stderr.decode(encoding),
               time.monotonic() - started)


@contextmanager
def made_once(name: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder of this test run, held under a lock. The suite runs four workers at a time
    (`-n 4`, README) and each gets the same folder: what the first one made there is there
    for the others (pytest-xdist's advice for a costly session fixture)."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # else: just ours
    folder = shared / name
    with FileLock(str(folder) + ".lock"):
        yield folder


def run_once(name: str, tmp_path_factory: pytest.TempPathFactory, *args: str) -> Run:
    """`grader ARGS`, run once for the whole test run."""
    with made_once(name, tmp_path_factory) as folder:
        saved = folder / "run.json"
        if not saved.is_file():
            folder.mkdir(exist_ok=True)
            saved.write_text(json.dumps(asdict(grader(*args))), encoding="utf-8")
        return Run(**json.loads(saved.read_text(encoding="utf-8")))


@pytest.fixture(scope="session")
def solutions_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return run_once("solutions_run", tmp_path_factory, "--solutions", "--json", "-")


@pytest.fixture(scope="session")
def stubs_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return run_once("stubs_run", tmp_path_factory, "--dir", str(STUBS), "--json", "-")


def landlock() -> bool:
    """Can a process here confine its own reading and writing (Linux 5.13+ with Landlock)?
    Then hosts do (grader/labs/host.py read_only_what_it_needs)."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    return libc.syscall(444, None, 0, 1) > 0  # LANDLOCK_CREATE_RULESET_VERSION
