"""Deadlines that allow for a crowded CPU: a wait for the student's code is lengthened by the
time that code was ready to run but had no CPU (Linux's /proc/PID/task/*/schedstat).

"Nothing within 1 s" should mean one second in which the student's code could run. On a
machine grading a class, or a server whose own start-up crowds the CPU, the same code answers
in time in one run and late in the next; verdicts that change between runs cannot be trusted.
A check's waits may grow by GRACE seconds in all, so that a check stays bounded; a wait that
ends in time costs nothing extra, and where schedstat cannot be read nothing changes.
"""

from __future__ import annotations

import time

from .. import processes

GRACE = 2.0  # seconds a check's waits may grow by in all
FRESH = 0.05  # a reading this recent serves as a wait's start: one look per burst of waits
SMALL = 0.01  # starvation under this is not worth a longer wait
POLL = 0.1  # a shorter wait is a look inside a longer one: only the longer one grows

_pid: int | None = None
_grace = GRACE
_last: tuple[float, dict[str, int]] = (0.0, {})


def watch(pid: int | None) -> None:
    """Waits from now on are for the process `pid` (None: for nothing), with a fresh GRACE."""
    global _pid, _grace, _last
    _pid, _grace, _last = pid, GRACE, (0.0, {})


def _delays() -> dict[str, int]:
    """Nanoseconds each thread of the watched process waited, ready, for a CPU."""
    pid = _pid
    if pid is None:
        return {}
    return {tid: waiting for tid, (_on_cpu, waiting) in processes.schedstats(pid).items()}


def _mark() -> dict[str, int]:
    global _last
    now = time.monotonic()
    if now - _last[0] > FRESH:
        _last = (now, _delays())
    return _last[1]


class Deadline:
    """`within` seconds from now, and more where the watched process was starved of CPU."""

    def __init__(self, within: float, patient: bool = True) -> None:
        self.end = time.monotonic() + within
        self.pid = _pid
        # a wait for nothing to happen is not lengthened: it would only be stricter
        self.start = _mark() if patient and within >= POLL else {}
        self.granted = 0.0

    def left(self) -> float:
        """Seconds still to wait (0.0: the deadline has passed)."""
        left = self.end - time.monotonic()
        if left > 0:
            return left
        self._lengthen()
        return max(0.0, self.end - time.monotonic())

    def _lengthen(self) -> None:
        global _grace
        if not self.start or self.pid != _pid:
            return
        now = _delays()
        # the thread kept longest from a CPU: the one the answer waited on, most likely
        starved = max((now[tid] - self.start.get(tid, 0) for tid in now), default=0) / 1e9
        more = min(starved - self.granted, _grace)
        if more >= SMALL:
            self.granted += more
            _grace -= more
            self.end += more
