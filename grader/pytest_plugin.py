"""The kit's checks as ordinary pytest tests.

    python -m pytest --pyargs grader.checks --student lessons [-k relays] [-x] [--junitxml F]

Collects every @check function from the check modules (never from the student's folder), one
item per step it is registered for, and gives it a fresh student host per check through the
`server` fixture (steps 01-04) or a client lab through `lab` (step 05). A check whose `after`
failed in this session is skipped, as check50 does. The grader's workers run this same plugin
and add a reporter (grader/worker.py) that streams the verdicts to the supervisor.
"""

from __future__ import annotations

import argparse
import fnmatch
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .checks import Check, every_check_of, skipped_because
from .i18n import _
from .labs.driver import CheckFailed
from .plan import MODES, student_files
from .protocol import ECHO_STEPS

if TYPE_CHECKING:
    from .labs.server_host import Race

OUTCOMES = pytest.StashKey[dict]()  # check id -> "passed" | "failed" | "skipped"
CODE = pytest.StashKey[dict]()  # step id -> StudentServer, made when first needed
STUDENT = pytest.StashKey[dict]()  # step id -> the student's file for that step
ONLY = pytest.StashKey[set]()  # check ids a grader's worker runs (empty: all)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("grader", "socket chat kit")
    group.addoption("--student", metavar="PATH",
                    help="grade the code in PATH: a lessons-like folder, one step's folder or file")
    group.addoption("--step", action="append", default=[], metavar="ID",
                    help="only this step (repeat for more); default: every step found in PATH")
    group.addoption("--mode", dest="grader_mode", choices=MODES,
                    default="auto",
                    help="a server through its serve(listener), as a program (python FILE), "
                         "or auto: serve() where the module has one")
    # The grader's own workers: which checks, what is known of others, sweep orphans.
    group.addoption("--grader-only", default="", help=argparse.SUPPRESS)
    group.addoption("--grader-known", default="", help=argparse.SUPPRESS)
    group.addoption("--grader-sweep", action="store_true", help=argparse.SUPPRESS)


def active(config: pytest.Config) -> bool:
    return bool(config.getoption("student", None))


def pytest_configure(config: pytest.Config) -> None:
    if not active(config):
        return
    config.addinivalue_line("markers", "timeout: the check's own limit (pytest-timeout)")
    try:
        found = student_files(Path(config.getoption("student")), config.getoption("step"))
    except LookupError as error:
        raise pytest.UsageError(str(error)) from None
    config.stash[STUDENT] = {step.id: path for step, path in found}
    config.stash[CODE] = {}
    known = config.getoption("grader_known")
    config.stash[OUTCOMES] = dict(pair.split("=", 1) for pair in known.split(",") if "=" in pair)
    config.stash[ONLY] = set(filter(None, config.getoption("grader_only").split(",")))


def pytest_unconfigure(config: pytest.Config) -> None:
    for code in config.stash.get(CODE, {}).values():
        code.close()


# -- collection ------------------------------------------------------------------------------
def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> Any:
    """A check module is collected though its name is not test_*.py."""
    if not active(parent.config) or file_path.suffix != ".py":
        return None
    if file_path.name in ("__init__.py", "conftest.py") or parent.session.isinitpath(
            file_path) or any(
            fnmatch.fnmatch(file_path.name, pattern)
            for pattern in parent.config.getini("python_files")):
        return None  # pytest collects those itself (named on its command line, or test_*.py)
    return pytest.Module.from_parent(parent, path=file_path)


class CheckItem(pytest.Function):
    check: Check


def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> Any:
    checks: list[Check] | None = getattr(obj, "__grader_checks__", None)
    if not checks or not active(collector.config) or not isinstance(collector, pytest.Module):
        return None
    steps = collector.config.stash[STUDENT]
    only = collector.config.stash[ONLY]
    items = []
    for check in checks:
        if check.step not in steps or (only and check.id not in only):
            continue  # a worker's other checks are not even made into items: that costs
        item = CheckItem.from_parent(collector, name=f"{name}[{check.step}]", callobj=obj)
        item.check = check
        item.add_marker(pytest.mark.timeout(check.timeout))
        items.append(item)
    return items or []


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Steps in the manifest's order, checks in their step's order (--grader-only narrowed
    them already: pytest_pycollect_makeitem makes no item for a check not asked for)."""
    if not active(config):
        return
    order = {check.id: n for n, check in enumerate(
        check for step in config.stash[STUDENT] for check in every_check_of(step))}
    items.sort(key=lambda item: order.get(getattr(item, "check", None) and item.check.id, -1))


RACE_SWITCH_INTERVAL = 5e-6  # seconds: Python's default is 0.005; shorter shows races every run
SEND_PAUSE = 0.001  # seconds each send waits in a "yields" race check: a broadcast lasts
LINE_YIELD = 4  # and every how many lines of the student's code the other threads run first
LATE_END = 0.5  # seconds a "late_ends" check's server learns late that a client has gone
PRESTARTED: dict = {}  # step id -> StudentServer a worker began before the session (a head start)


def student_code(config: pytest.Config, step: str):  # -> StudentServer
    """One step's code, imported once for the whole session (a zygote on POSIX)."""
    from .labs.server_host import StudentServer

    codes = config.stash[CODE]
    if step not in codes:
        codes[step] = PRESTARTED.pop(step, None) or StudentServer(
            config.stash[STUDENT][step], config.getoption("grader_mode"))
        codes[step].prepare()
    return codes[step]


# -- running ---------------------------------------------------------------------------------
@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    check: Check | None = getattr(item, "check", None)
    if check is None:
        return
    from .checks import find
    from .labs.chat_session import PROMPT_CHECK

    outcomes = item.config.stash[OUTCOMES]
    for needed in check.after:
        if outcomes.get(f"{check.step}::{needed}", "passed") != "passed":
            pytest.skip(skipped_because(find(check.step, needed)))
    for alike in check.same_cause:
        if outcomes.get(f"{check.step}::{alike}") == "failed":
            pytest.skip(skipped_because(find(check.step, alike)))
    wire = getattr(item.config.stash[CODE].get(check.step), "wire", {})  # servers only
    if wire.get("prompt") is False and _needs(check, PROMPT_CHECK):
        # a first client got no prompt here: that check fails wherever it runs, so its
        # dependants need not each wait a second for a prompt
        pytest.skip(skipped_because(find(check.step, PROMPT_CHECK)))


def _needs(check: Check, name: str) -> bool:
    """Does `check` need the check `name` of its step, directly or through others?"""
    from .checks import find

    return any(needed == name or _needs(find(check.step, needed), name)
               for needed in check.after)


def race_for(check: Check) -> Race:
    """How the host of a check that looks for races makes them show (Check.races)."""
    from .labs.server_host import NO_RACE, Race

    if not check.races:
        return NO_RACE
    if check.races == "late_ends":
        return Race(late_end=LATE_END)
    yields = check.races == "yields"
    return Race(switch=RACE_SWITCH_INTERVAL, locks=check.races == "locks",
                pause=SEND_PAUSE if yields else 0.0, yields=LINE_YIELD if yields else 0)


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Iterator:
    """A fresh student server for this check (steps 01-04)."""
    from .labs.chat_session import Session
    from .labs.server_host import Unusable

    check = request.node.check
    code = student_code(request.config, check.step)
    if code.problem:
        raise CheckFailed(code.problem)
    try:
        try:
            session = Session(code.start(race_for(check)), code.wire,
                              chat=check.step not in ECHO_STEPS)
        except Unusable as problem:
            raise CheckFailed(str(problem)) from None
        request.node.lab = session
        with session:
            yield session
    finally:
        if request.config.getoption("grader_sweep"):
            code.after_check()  # whatever escaped the host's own tree


@pytest.fixture
def plain(request: pytest.FixtureRequest) -> Iterator:
    """A fresh student server for a behaviour check: only for a server whose prompt is not the
    protocol's (learned once per step); the others skip."""
    from .labs.plain_session import PlainSession, speaks_protocol
    from .labs.server_host import Unusable

    check = request.node.check
    code = student_code(request.config, check.step)
    if code.problem:
        raise CheckFailed(code.problem)
    try:
        if "prompt" not in code.wire:  # no check here has seen a first client's prompt yet
            host = code.start()
            try:
                code.wire["prompt"] = speaks_protocol(host)
            finally:
                host.close()
        if code.wire["prompt"]:
            pytest.skip(_("not needed: your server speaks the protocol"))
        session = PlainSession(code.start())
    except Unusable as problem:  # the scored checks say it: not a matter of its own words
        pytest.skip(str(problem))
    except OSError as error:
        raise CheckFailed(_("could not connect to your server: {error}").format(
            error=error)) from None
    with session:
        yield session
    if request.config.getoption("grader_sweep"):
        code.after_check()


@pytest.fixture
def lab(request: pytest.FixtureRequest) -> Iterator:
    """The student's client as a program, and a listener it connects to (step 05)."""
    from .labs.client_lab import ClientLab
    from .labs.student_program import StudentProgram

    step = request.node.check.step
    codes = request.config.stash[CODE]
    if step not in codes:  # one warm interpreter for the session's checks
        codes[step] = StudentProgram(request.config.stash[STUDENT][step])
    with ClientLab(codes[step]) as client_lab:
        request.node.lab = client_lab
        yield client_lab
    if request.config.getoption("grader_sweep"):
        codes[step].after_check()  # whatever escaped the program's own tree


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator:
    """A verdict for each check: passed, failed (with what was expected and seen), skipped."""
    outcome = yield
    check: Check | None = getattr(item, "check", None)
    if check is None:
        return
    report = outcome.get_result()
    verdict = None
    if call.excinfo is not None and call.when in ("setup", "call"):
        error = call.excinfo.value
        if report.skipped:
            verdict = ("skipped", CheckFailed(str(getattr(error, "msg", error))))
        else:
            failure = _as_failure(error, check)
            lab = getattr(item, "lab", None)
            if lab is not None and call.when == "call":
                lab.explain(failure)
            verdict = ("failed", failure)
            report.longrepr = render_failure(failure)
    elif call.when == "call":
        verdict = ("passed", None)
    if verdict:
        item.config.stash[OUTCOMES][check.id] = verdict[0]
        report.grader_verdict = verdict  # for the worker's reporter


@pytest.hookimpl(tryfirst=True)
def pytest_timeout_set_timer(item: pytest.Item, settings: Any) -> bool | None:
    """pytest-timeout's signal method without its dump of every thread's stack: a worker has
    no terminal to dump to (the dump raised there, and a check that ran out of time read 'the
    check itself broke'). Elsewhere than a POSIX main thread, pytest-timeout's own way."""
    import signal
    import threading

    main = threading.current_thread() is threading.main_thread()
    if not (main and hasattr(signal, "setitimer")):
        return None

    def handler(signum: int, frame: Any) -> None:
        pytest.fail(f"Timeout >{settings.timeout}s", pytrace=False)

    def cancel() -> None:  # pytest-timeout's own cancel hook calls it
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, signal.SIG_DFL)

    item.cancel_timeout = cancel  # type: ignore[attr-defined]
    signal.signal(signal.SIGALRM, handler)
    signal.setitimer(signal.ITIMER_REAL, settings.timeout)
    return True


def _as_failure(error: BaseException, check: Check) -> CheckFailed:
    if isinstance(error, CheckFailed):
        return error
    if isinstance(error, pytest.fail.Exception) and "Timeout" in str(error):
        return CheckFailed(
            _("no verdict after {s:g} s: the check was stopped").format(s=check.timeout),
            hint=_("something in your code waits forever: every recv() and accept() needs a "
                   "client that will answer."))
    # not a verdict on the student's code: a bug in a check, said as plainly as we can
    return CheckFailed(_("the check itself broke: {error}").format(
        error=f"{type(error).__name__}: {error}"))


def render_failure(failure: CheckFailed) -> str:
    """The failure as the terminal shows it, for pytest's own report."""
    lines = [failure.message]
    lines += [f"  {label} {value}".rstrip() for label, value in failure.details]
    if failure.hint:
        lines.append("  " + _("hint: {hint}").format(hint=failure.hint))
    return "\n".join(lines)
