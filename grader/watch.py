"""`grader watch`: grade a step again each time its file is saved.

The files are polled, not watched through the OS's file events: on Windows, WSL and network
drives those miss saves. Each grading is a child process, `python -m grader STEP ...`, the
command a student would type, so it prints what it always prints, and nothing of one run
outlives it.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from . import cli, i18n, processes
from .i18n import _
from .manifest import Step
from .plan import select_steps
from .render.terminal import WIDTH, Style

INTERVAL = 0.25  # seconds between two looks at the files
QUIET = 0.1  # a change counts once the files stay the same this long: editors write in pieces
SETTLE_LIMIT = 2.0  # a file that keeps changing is graded after this long all the same
STOP_GRACE = 3.0  # seconds a run has to end after Ctrl-C, before it is ended from outside
CLEAR = "\033[2J\033[H"

Fingerprint = tuple[bool, int, int, int]


def main(argv: list[str]) -> int:
    """`grader watch [STEP ...] [--dir PATH | --solutions] [--lang ..] [--interval S]`."""
    i18n.set_language(cli.choose_language(argv))  # as cli.main does; the runs inherit it
    p = parser()
    args = p.parse_args(argv)
    if not args.interval > 0:  # nan too
        p.error(_("--interval must be more than 0 seconds"))
    try:
        root = cli.find_root(args)
        chosen = [(step, step.path_in(root)) for step in select_steps(args.steps)]
    except LookupError as error:
        print(f"grader watch: {error}", file=sys.stderr)
        return 2
    where = ["--solutions"] if args.solutions else ["--dir", str(args.dir)] if args.dir else []
    if args.lang:
        where += ["--lang", args.lang]
    return watch(chosen, where, footer(root, chosen), args.interval, every=not args.steps)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="grader watch",
        description=_("Grade again each time you save: every step whose file has changed "
                      "is graded again, until Ctrl-C."))
    cli.add_steps_and_where(p)
    p.add_argument("--lang", choices=i18n.LANGUAGES,
                   help=_("language of the output (default: GRADER_LANG, then your system's)"))
    p.add_argument("--interval", type=float, default=INTERVAL, metavar="SECONDS",
                   help=_("how often to look at the files, in seconds (default: {seconds})"
                          ).format(seconds=INTERVAL))
    return p


def fingerprint(path: Path) -> Fingerprint:
    """What a save changes: whether the file is there, its mtime, size and inode (an editor
    that saves by renaming a new file onto the old one makes a new inode, even when it keeps
    the mtime). Cheap enough to take four times a second; the content is never read."""
    try:
        stat = path.stat()
    except OSError:
        return (False, 0, 0, 0)
    return (True, stat.st_mtime_ns, stat.st_size, stat.st_ino)


def look(files: dict[str, Path]) -> dict[str, Fingerprint]:
    return {step_id: fingerprint(path) for step_id, path in files.items()}


def settled(files: dict[str, Path]) -> dict[str, Fingerprint]:
    """The fingerprints once they have stayed the same for QUIET seconds (or SETTLE_LIMIT has
    passed): an editor writes a file in pieces, and grading half a file helps nobody."""
    limit = time.monotonic() + SETTLE_LIMIT
    now = look(files)
    while time.monotonic() < limit:
        time.sleep(QUIET)
        then, now = now, look(files)
        if now == then:
            break
    return now


def watch(chosen: list[tuple[Step, Path]], where: list[str], footer_line: str,
          interval: float = INTERVAL, every: bool = False) -> int:
    """Grade the chosen steps once, then each step again when its file changes, until Ctrl-C.
    `every`: no step was named, so a run of them all shows the progress, as `grader` does."""
    files = {step.id: path for step, path in chosen}
    seen = look(files)
    due = list(files)  # the steps the next run grades, in the manifest's order
    run: subprocess.Popen | None = None
    try:
        while True:
            if run is not None and run.poll() is not None:
                run = None
                if not due:
                    print(footer_line, flush=True)
            if run is None and due:
                named = [] if every and len(due) == len(files) else due
                run, due = start([sys.executable, "-m", "grader", *named, *where]), []
            time.sleep(interval)
            if look(files) != seen:
                now = settled(files)
                due += [step_id for step_id in files
                        if now[step_id] != seen[step_id] and step_id not in due]
                due.sort(key=list(files).index)
                seen = now
            # A save during a run waits for that run to end (its checks may have read either
            # version), then one more run grades it and redraws the screen. Ending the run at
            # each save would answer sooner, but an editor that saves every second (auto
            # save) would never let a run finish, and each ending would be the grader's
            # Ctrl-C path: on Windows a kill of its job, which leaves its scratch folders.
    except KeyboardInterrupt:
        # Ctrl-C is how watching ends, not a failure: exit code 0, so that no shell or make
        # prints an error over the last result.
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not
        try:                                                     # cut the ending short
            if run is not None:
                stop(run)
            processes.sweep()  # one started just as Ctrl-C came, before `run` held it
        finally:
            signal.signal(signal.SIGINT, previous)
        print(_("stopped watching (Ctrl-C); nothing is left running."), flush=True)
        return 0


def start(command: list[str]) -> subprocess.Popen:
    """A fresh screen (a separator line when the output is not a terminal), then the run."""
    print(CLEAR if sys.stdout.isatty() else "\n" + "-" * WIDTH + "\n", end="", flush=True)
    # POSIX: a session of its own, so that the terminal's Ctrl-C reaches only us and the run
    # gets exactly one SIGINT, from stop() (a second one would cut the grader's own tidying
    # short). Windows: the console's Ctrl-C reaches the run as it reaches us (creationflags
    # 0: the console's process group); its job object ends whatever stop() finds left.
    options = {} if processes.POSIX else {"creationflags": 0}
    return processes.start(command, stdin=subprocess.DEVNULL, **options)


def stop(run: subprocess.Popen) -> None:
    """End a run and everything it started: the grader ends its own workers on SIGINT (and
    says so); whatever is still there after STOP_GRACE seconds is ended from outside."""
    if run.poll() is None and processes.POSIX:
        run.send_signal(signal.SIGINT)
    try:
        run.wait(STOP_GRACE)
    except subprocess.TimeoutExpired:
        processes.end_tree(run.pid)
        run.wait(STOP_GRACE)


def footer(root: Path, chosen: list[tuple[Step, Path]]) -> str:
    """'watching lessons/04_multi_user/server.py — save to grade again, Ctrl-C to stop'."""
    if len(chosen) == 1:
        text = _("watching {file} — save to grade again, Ctrl-C to stop").format(
            file=shown(chosen[0][1]))
    else:
        text = _("watching {folder} (steps {steps}) — save to grade again, Ctrl-C to stop"
                 ).format(folder=shown(root).rstrip("/\\") + os.sep,
                          steps=", ".join(step.id for step, _path in chosen))
    return "\n" + Style(sys.stdout).paint(text, "2")


def shown(path: Path) -> str:
    """`path` relative to here when it is below here, as the grader's first line shows it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
