"""grader/labs/patience.py: a wait grows by the time the student's process was kept from a CPU
it wanted, within a check's GRACE; for a process that waits on its own, nothing changes."""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator

import pytest

from grader.labs import patience
from grader.labs.patience import Deadline

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="schedstat is Linux's")


def _python(code: str, cpu: int) -> subprocess.Popen:
    """Python running `code` on `cpu`, once its start-up (slow on a crowded CPU) is over."""
    started = subprocess.Popen([sys.executable, "-c",
                                f"import os; os.sched_setaffinity(0, {{{cpu}}})\n"
                                f"print('ready', flush=True)\n{code}"], stdout=subprocess.PIPE)
    assert select.select([started.stdout], [], [], 30)[0], "it did not start"
    assert started.stdout.readline() == b"ready\n"
    return started


def _end(process: subprocess.Popen) -> None:
    process.kill()
    process.wait()
    process.stdout.close()


@pytest.fixture
def crowded_cpu() -> Iterator[int]:
    """A CPU with four loops on it: a fifth gets about a fifth of it."""
    cpu = min(os.sched_getaffinity(0))
    loops = [_python("while True: pass", cpu) for _ in range(4)]
    try:
        yield cpu
    finally:
        for loop in loops:
            _end(loop)
        patience.watch(None)


def _expired(deadline: Deadline) -> float:
    """Seconds from now until `deadline` has passed for good."""
    start = time.monotonic()
    while deadline.left():
        time.sleep(0.01)
    return time.monotonic() - start


def test_a_starved_process_gets_longer_waits_within_the_grace(crowded_cpu: int) -> None:
    starved = _python("while True: pass", crowded_cpu)
    try:
        patience.watch(starved.pid)
        deadlines = [Deadline(0.3)]
        first = _expired(deadlines[0])
        for _ in range(12):
            deadlines.append(Deadline(0.3))
            _expired(deadlines[-1])
    finally:
        _end(starved)
    assert first > 0.4, first  # it waited for a CPU most of those 0.3 s: about that much more
    # in all, the waits grew by the grace at most (what they were granted, not the wall time:
    # on a crowded machine this test's own looks come late too)
    granted = [deadline.granted for deadline in deadlines]
    assert 0 < sum(granted) <= patience.GRACE + 1e-9, granted
    assert granted[-1] == 0, granted  # the grace is spent: back to the plain wait


def test_a_process_that_waits_on_its_own_gets_the_plain_wait(crowded_cpu: int) -> None:
    sleeper = _python("import time\nwhile True: time.sleep(0.2)", crowded_cpu)
    try:
        patience.watch(sleeper.pid)
        waited = [_expired(Deadline(0.3)) for _ in range(3)]
    finally:
        _end(sleeper)
    assert max(waited) < 0.5, waited  # a starved one waits 2 s more: see above


def test_nothing_watched_and_waits_for_nothing_are_never_lengthened(crowded_cpu: int) -> None:
    starved = _python("while True: pass", crowded_cpu)
    try:
        patience.watch(None)
        plain = _expired(Deadline(0.3))
        patience.watch(starved.pid)
        quiet = _expired(Deadline(0.3, patient=False))
    finally:
        _end(starved)
    assert plain < 0.5 and quiet < 0.5, (plain, quiet)
