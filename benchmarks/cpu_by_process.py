"""Where one grading run's CPU goes, by kind of process. Prints figures; asserts none.

    python benchmarks/cpu_by_process.py                     grader --solutions, one worker a step
    python benchmarks/cpu_by_process.py grader 04 --dir X   any command

Every descendant's CPU is sampled every 20 ms (psutil), so a process that lives less than that
may be missed: the total is a floor. Kinds: the grader's own processes (supervisor, pytest
workers) and the hosts that run student code, by step.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter

import psutil

DEFAULT = ["grader", "--solutions", "--one-worker-per-step"]


def kind(process: psutil.Process, root: int) -> str:
    try:
        command = process.cmdline()
    except psutil.Error:
        return "?"
    if any(part.endswith("host.py") for part in command):
        student = command[command.index("--file") + 1] if "--file" in command else ""
        return f"host {student.split('/')[-2] if '/' in student else '(other)'}"
    return "grader supervisor" if process.pid == root else "grader worker"


def main() -> int:
    command = sys.argv[1:] or DEFAULT
    started = time.monotonic()
    run = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    root = psutil.Process(run.pid)
    seen: dict[tuple[int, float], list] = {}  # (pid, start time) -> [kind, CPU seconds]
    while run.poll() is None:
        try:
            processes = [root, *root.children(recursive=True)]
        except psutil.Error:
            break
        for process in processes:
            try:
                times = process.cpu_times()
                key = (process.pid, process.create_time())
            except psutil.Error:
                continue
            seen.setdefault(key, [kind(process, run.pid), 0.0])[1] = times.user + times.system
        time.sleep(0.02)
    cpu, count = Counter(), Counter()
    for name, seconds in seen.values():
        cpu[name] += seconds
        count[name] += 1
    print(f"{' '.join(command)}: {time.monotonic() - started:.1f} s wall")
    for name, seconds in cpu.most_common():
        print(f"  {seconds:6.2f} s CPU  {count[name]:4} processes  {name}")
    print(f"  {sum(cpu.values()):6.2f} s CPU in all (a floor)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
