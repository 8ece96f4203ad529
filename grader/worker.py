"""One pytest session over one step's checks, in a process the supervisor starts and watches.

    python -m grader.worker --student FILE --step 04 [--mode auto] [--only 04::a,04::b]
                            [--known 04::c=passed]

Reads a token on stdin, then streams records on its stdout, each line RS + token + JSON:
{"kind": "start" | "result" | "problem" | "note" | "done", ...}. Everything else this process prints
goes to stderr. Student code never runs here: it runs in hosts (labs/host.py) that this
process starts, one per check, and ends with everything they started.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import IO, Any

RECORD_MARK = "\x1e"  # ASCII record separator: a record line starts with it and the token


class Reporter:
    """The plugin object that turns the session's verdicts into records for the supervisor."""

    def __init__(self, channel: IO[str], token: str) -> None:
        self.channel = channel
        self.token = token
        self.ids: dict[str, str] = {}  # pytest node id -> check id

    def write(self, record: dict[str, Any]) -> None:
        self.channel.write(RECORD_MARK + self.token + json.dumps(record, ensure_ascii=False) + "\n")
        self.channel.flush()  # the supervisor reads what we got so far if this process dies

    def pytest_collection_modifyitems(self, config: Any, items: list) -> None:
        from .manifest import step as find_step
        from .pytest_plugin import student_code

        for step_id in dict.fromkeys(item.check.step for item in items if hasattr(item, "check")):
            if find_step(step_id).is_client:
                continue
            code = student_code(config, step_id)
            if code.problem:  # said once for the step, and no check runs
                self.write({"kind": "problem", "message": code.problem})
                items[:] = []
                return
            for note in code.notes:
                self.write({"kind": "note", "message": note})
        self.ids = {item.nodeid: item.check.id for item in items if hasattr(item, "check")}

    def pytest_runtest_logstart(self, nodeid: str, location: Any) -> None:
        if nodeid in self.ids:
            self.write({"kind": "start", "check": self.ids[nodeid]})

    def pytest_runtest_logreport(self, report: Any) -> None:
        verdict = getattr(report, "grader_verdict", None)
        if verdict is None or report.nodeid not in self.ids:
            return
        status, failure = verdict
        record: dict[str, Any] = {"kind": "result", "check": self.ids[report.nodeid],
                                  "status": status, "seconds": round(report.duration, 3)}
        if failure is not None:
            record.update(message=failure.message, hint=failure.hint,
                          details=[[str(label), str(value)] for label, value in failure.details])
        self.write(record)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.worker")
    parser.add_argument("--student", required=True)
    parser.add_argument("--step", required=True)
    parser.add_argument("--only", default="")
    parser.add_argument("--known", default="")
    parser.add_argument("--mode", default="auto")
    args = parser.parse_args(argv)
    from . import processes

    processes.private_memory()  # before the token is in memory: no host may read it
    token = sys.stdin.readline().strip()
    channel = os.dup(1)  # not inherited by anything we start
    os.dup2(2, 1)  # pytest's own output, and anything else, goes to the log
    from .i18n import set_language

    set_language(os.environ.get("GRADER_LANG", "en"))
    if os.environ.get("GRADER_PROTOCOL"):  # a course's own wire strings (cli --protocol)
        from .protocol import load_profile

        load_profile(Path(os.environ["GRADER_PROTOCOL"]))
    return run_session(args.student, args.step, args.only, args.known, token, channel, args.mode)


def run_session(student: str, step: str, only: str, known: str, token: str,
                channel_fd: int, mode: str = "auto") -> int:
    """The pytest session; also called in a worker the supervisor forked (imports done)."""
    from . import processes
    from .manifest import step as find_step

    processes.become_subreaper()
    if "GRADER_HOST_USER" in os.environ:  # chosen by the supervisor, which clears up after it
        processes.use_user(os.environ.pop("GRADER_HOST_USER"))
    if not find_step(step).is_client:  # the import starts now, pytest's set-up meanwhile
        from .labs.server_host import StudentServer
        from .pytest_plugin import PRESTARTED

        PRESTARTED[step] = StudentServer(Path(student), mode)
        PRESTARTED[step].begin()
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"  # only the plugins we name
    import pytest
    import pytest_timeout

    from . import pytest_plugin

    reporter = Reporter(os.fdopen(channel_fd, "w", encoding="utf-8"), token)
    # plugins as objects, not "-p NAME": each -p looks through every installed package's
    # entry points first
    code = int(pytest.main([
        "--pyargs", *_modules(step, only), "-c", str(Path(__file__).with_name("worker.ini")),
        "--student", student, "--step", step, "--mode", mode, "--grader-only", only,
        "--grader-known", known, "--grader-sweep",
    ], plugins=[reporter, pytest_plugin, pytest_timeout]))
    reporter.write({"kind": "done", "exit": code})
    processes.sweep()
    return 0


def _modules(step: str, only: str) -> list[str]:
    """The check modules to collect: only those of the checks asked for (collecting costs)."""
    from .checks import every_check_of

    wanted = set(filter(None, only.split(",")))
    return sorted({check.function.__module__ for check in every_check_of(step)
                   if not wanted or check.id in wanted}) or ["grader.checks"]


def preload() -> None:
    """What a forked worker would import anyway, imported once before the fork."""
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    import importlib

    import pytest  # noqa: F401
    import pytest_timeout  # noqa: F401
    from _pytest.config import default_plugins

    for name in default_plugins:  # pytest imports them all at each start, even those left off
        try:
            importlib.import_module(f"_pytest.{name}")
        except ImportError:
            pass

    from . import pytest_plugin  # noqa: F401
    from .labs import chat_session, client_lab, server_host  # noqa: F401


if __name__ == "__main__":
    exit_code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(exit_code)  # threads left behind (readers of dead hosts) cannot keep us alive
