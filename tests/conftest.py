"""Shared helpers for the kit's tests: run the grader as a student would, read its JSON."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
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


@pytest.fixture(scope="session")
def solutions_run() -> Run:
    return grader("--solutions", "--json", "-")


@pytest.fixture(scope="session")
def stubs_run() -> Run:
    return grader("--dir", str(STUBS), "--json", "-")
