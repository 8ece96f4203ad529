"""`grader doctor`: check that this computer can run the grader, and say what to fix.

At the top, only the standard library and the grader's dependency-free modules are imported:
the doctor has to work precisely when pytest or psutil is missing.
"""

from __future__ import annotations

import argparse
import operator
import os
import platform
import re
import shutil
import socket
import sys
import sysconfig
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import TextIO

from . import i18n
from .i18n import _
from .render.terminal import Style
from .results import FAILED, PASSED

DISTRIBUTION = "socket-chat-kit"
NEEDED_PYTHON = (3, 9)  # pyproject.toml's requires-python
KIT_FOLDER = Path(__file__).resolve().parent.parent  # cli.KIT_HOME; cli itself needs psutil
ADVICE = "advice"  # worth knowing, but nothing that stops the grader
WIDTH = 80
LOOPBACK = "127.0.0.1"  # the only address the doctor ever uses
TIMEOUT = 1.0  # seconds, for each step of the loopback test
PING = b"doctor\n"
RUSSIAN = "Привет"


@dataclass(frozen=True)
class Finding:
    status: str  # PASSED, FAILED (must be fixed) or ADVICE
    text: str  # what was checked, and what was found
    fix: str = ""  # one line of what to do


def main(argv: list[str]) -> int:
    """Print one line per finding (and how to fix it); 1 when something must be fixed."""
    args = _parser().parse_args(argv)
    if args.lang:  # `grader doctor` has set it already; this is for python -m grader.doctor
        i18n.set_language(args.lang)
    style = Style(sys.stdout)
    checks: list[Callable[[], list[Finding]]] = [
        python_findings, dependency_findings, loopback_findings,
        lambda: lessons_findings(args.dir), lambda: console_findings(sys.stdout),
        command_findings]
    findings = [finding for check in checks for finding in _guarded(check)]
    for finding in findings:
        for line in render(finding, style):
            _emit(line, sys.stdout)
    failed = any(finding.status == FAILED for finding in findings)
    if failed:
        summary = _("To fix: the lines marked {mark}; then run `{command}` again.").format(
            mark=style.marks[FAILED], command=_doctor_command())
    elif any(finding.status == ADVICE for finding in findings):
        summary = _("Nothing stops the grader; the lines marked ! are worth a look.")
    else:
        summary = _("All set: nothing to fix.")
    for line in _wrap(summary, "", ""):
        _emit(line, sys.stdout)
    return 1 if failed else 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="grader doctor",
        description=_("Check that this computer can run the grader, and say what to fix."))
    p.add_argument("--dir", type=Path, metavar="PATH",
                   help=_("look for the steps in PATH (laid out like lessons/)"))
    p.add_argument("--lang", choices=i18n.LANGUAGES,
                   help=_("language of the output (default: GRADER_LANG, then your system's)"))
    return p


def _guarded(check: Callable[[], list[Finding]]) -> list[Finding]:
    try:
        return check()
    except Exception as error:  # a doctor that crashes helps no one: say what broke, go on
        return [Finding(FAILED, _("the doctor could not finish a check: {error}").format(
            error=f"{type(error).__name__}: {error}"))]


def render(finding: Finding, style: Style) -> list[str]:
    """The finding's lines, wrapped to WIDTH: its mark and text, then the fix indented."""
    plain, colour = {PASSED: (style.marks[PASSED], "32"), FAILED: (style.marks[FAILED], "31"),
                     ADVICE: ("!", "33")}[finding.status]
    lines = _wrap(finding.text, " " * (len(plain) + 1), "  ")
    lines[0] = style.paint(plain, colour) + lines[0][len(plain):]
    return lines + (_wrap(finding.fix, "    ", "    ") if finding.fix else [])


def _wrap(text: str, first: str, rest: str) -> list[str]:
    # Paths and `commands` stay whole (a command cut in two cannot be copied): its spaces
    # are hidden from textwrap as NUL characters, then brought back.
    text = re.sub(r"`[^`]*`", lambda code: code.group().replace(" ", "\0"), text)
    lines = textwrap.wrap(text, WIDTH, initial_indent=first, subsequent_indent=rest,
                          break_long_words=False, break_on_hyphens=False) or [first]
    return [line.replace("\0", " ") for line in lines]


def _emit(line: str, stream: TextIO) -> None:
    """Write a line; a character the console cannot show becomes '?' instead of a crash."""
    encoding = getattr(stream, "encoding", None) or "utf-8"
    try:
        line = line.encode(encoding, "replace").decode(encoding)
    except LookupError:
        pass
    stream.write(line + "\n")
    stream.flush()


# 1. Python: its version, where it is, and whether a virtual environment keeps it apart.

def python_findings() -> list[Finding]:
    return [_python_version(), _environment()]


def _python_version() -> Finding:
    version, path = platform.python_version(), sys.executable or "?"
    if sys.version_info >= NEEDED_PYTHON:
        return Finding(PASSED, _("Python {version}: {path}").format(version=version, path=path))
    return Finding(
        FAILED,
        _("Python {version}: {path}; the kit needs {needed} or newer").format(
            version=version, path=path, needed=".".join(map(str, NEEDED_PYTHON))),
        _("install a newer Python from python.org, then install the kit with it"))


def _environment() -> Finding:
    if in_virtual_environment():
        return Finding(PASSED, _("in a virtual environment: {folder}").format(
            folder=sys.prefix))
    if (Path(sys.prefix) / "conda-meta").is_dir():  # conda's own kind, as good as a venv
        return Finding(PASSED, _("in a conda environment: {folder}").format(folder=sys.prefix))
    if refuses_pip():
        return Finding(ADVICE, _("not in a virtual environment, and this Python refuses "
                                 "`pip install` (externally managed)"), _make_venv())
    return Finding(ADVICE, _("not in a virtual environment (one keeps the kit's packages "
                             "apart from others)"), _make_venv())


def in_virtual_environment() -> bool:
    return sys.prefix != sys.base_prefix


def refuses_pip() -> bool:
    """PEP 668: a system Python marked externally managed refuses `pip install` outside a
    virtual environment (inside one, the mark does not apply)."""
    if in_virtual_environment():
        return False
    return (Path(sysconfig.get_path("stdlib")) / "EXTERNALLY-MANAGED").is_file()


def _make_venv() -> str:
    activate = r".venv\Scripts\activate" if os.name == "nt" else ". .venv/bin/activate"
    return _("make one in the kit's folder: `{python} -m venv .venv`, then `{activate}`, "
             "then install the kit in it").format(python=_python_command(), activate=activate)


def _python_command() -> str:
    """How to type this Python: `python` when that is the one on PATH, else its full path
    (a pip install into another Python is the classic 'but I installed it!')."""
    here = sys.executable
    found = shutil.which("python")
    if not here or (found and _same_path(found, here)):
        return "python"
    return f'"{here}"' if " " in here else here


def _same_path(a: str, b: str) -> bool:
    # Symlinks stay unresolved: a venv's python links to the system's, yet it is another.
    return os.path.normcase(os.path.abspath(a)) == os.path.normcase(os.path.abspath(b))


# 2. The grader's own packages, as the kit's installed metadata lists them.

def dependency_findings() -> list[Finding]:
    names = requirements()
    if names is None:
        return [Finding(FAILED, _("the kit is not installed in this Python"), install_advice())]
    versions = {name: _installed(name) for name in names}
    missing = [name for name, version in versions.items() if version is None]
    if missing:
        return [Finding(FAILED, _("the grader's packages: {names} missing").format(
            names=", ".join(missing)), install_advice())]
    return [Finding(PASSED, _("the grader's packages: {names}").format(
        names=", ".join(f"{name} {version}" for name, version in versions.items())))]


def missing_dependencies() -> list[str]:
    """The packages the grader needs that this Python lacks: the CLI asks before grading,
    so that a missing pytest is never blamed on the student's code. A kit run from its folder
    uninstalled has no metadata: then its pyproject.toml says what it needs."""
    names = requirements()
    if names is None:  # run from its folder, not installed: what its pyproject.toml declares
        names = _needed(_declared_in_pyproject())
    return [name for name in names if _installed(name) is None]


def install_advice() -> str:
    """One line: how to install what the kit needs into this Python."""
    if refuses_pip():  # after activating the venv, `python` is the venv's
        return _("this Python refuses `pip install`: make a virtual environment in the "
                 "kit's folder, activate it, then run `{command}` there").format(
                     command="python -m pip install -e .")
    command = f"{_python_command()} -m pip install -e ."
    if (KIT_FOLDER / "pyproject.toml").is_file():
        return _("run `{command}` in the kit's folder, {folder}").format(
            command=command, folder=KIT_FOLDER)
    return _("run `{command}` in the kit's folder").format(command=command)


def requirements() -> list[str] | None:
    """The names of the packages the kit needs on this Python (extras left out); None
    when the kit is not installed."""
    try:
        declared = metadata.requires(DISTRIBUTION) or []
    except metadata.PackageNotFoundError:
        return None
    return _needed(declared)


def _declared_in_pyproject() -> list[str]:
    """The kit's pyproject.toml `dependencies`, read without a TOML parser (Python 3.9 and
    3.10 have none, and tomli is one of the dependencies); [] if there is none to read."""
    try:
        text = (KIT_FOLDER / "pyproject.toml").read_text(encoding="utf-8")
    except OSError:
        return []
    block = re.search(r"^dependencies\s*=\s*\[(.*?)\]", text, re.M | re.S)
    return re.findall(r'"([^"]+)"', block.group(1)) if block else []


def _needed(declared: list[str]) -> list[str]:
    """Package names from requirement lines, those whose marker holds here, extras left out."""
    names = []
    for line in declared:
        spec, _semicolon, marker = line.partition(";")
        name = re.match(r"[A-Za-z0-9._-]+", spec.strip())
        if name and (not marker.strip() or marker_applies(marker)):
            names.append(name.group())
    return names


def _installed(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


_COMPARE = re.compile(r"""\s*(\w+)\s*(==|!=|<=|>=|<|>)\s*["']([^"']*)["']\s*$""")
_OPERATORS = {"==": operator.eq, "!=": operator.ne, "<=": operator.le, ">=": operator.ge,
              "<": operator.lt, ">": operator.gt}


def marker_applies(marker: str) -> bool:
    """Whether an environment marker holds here. `packaging` may be absent, so this reads
    only `or`s of `and`s of simple comparisons (all the kit uses); anything else, such as
    an extra or parentheses, does not hold: an optional package is never asked for."""
    return any(all(_holds(term) for term in part.split(" and "))
               for part in marker.split(" or "))


def _holds(term: str) -> bool:
    match = _COMPARE.match(term)
    here = _marker_values()
    if not match or match.group(1) not in here:
        return False
    name, compare, value = match.groups()
    if name.endswith("_version"):
        return _OPERATORS[compare](_version(here[name]), _version(value))
    return _OPERATORS[compare](here[name], value)


def _marker_values() -> dict[str, str]:
    return {"python_version": "{}.{}".format(*sys.version_info[:2]),
            "python_full_version": platform.python_version(), "os_name": os.name,
            "sys_platform": sys.platform, "platform_system": platform.system(),
            "implementation_name": sys.implementation.name}


def _version(text: str) -> tuple[int, ...]:
    numbers = [int(n) for n in re.findall(r"\d+", text)[:3]]
    return tuple(numbers + [0] * (3 - len(numbers)))  # '3.11' is '3.11.0'


# 3. 127.0.0.1: the grader talks to the student's code through it, and through nothing else.

def loopback_findings() -> list[Finding]:
    try:
        round_trip()
    except OSError as error:
        return [Finding(
            FAILED,
            _("{address} does not work: {error}").format(
                address=LOOPBACK, error=str(error) or type(error).__name__),
            _("the grader talks to your code through {address}: let Python through your "
              "firewall or antivirus, then run this again").format(address=LOOPBACK))]
    return [Finding(PASSED, _("{address} works: a test connection sent and received a few "
                              "bytes").format(address=LOOPBACK))]


def round_trip() -> None:
    """Listen on 127.0.0.1, connect, and send a few bytes there and back; OSError when any
    part fails or takes longer than TIMEOUT."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.settimeout(TIMEOUT)
        listener.bind((LOOPBACK, 0))
        listener.listen(1)
        with socket.create_connection(listener.getsockname(), timeout=TIMEOUT) as client:
            server, _peer = listener.accept()
            with server:
                server.settimeout(TIMEOUT)
                client.sendall(PING)
                server.sendall(_receive(server, len(PING)))
                if _receive(client, len(PING)) != PING:
                    raise ConnectionError("the bytes came back changed")


def _receive(sock: socket.socket, size: int) -> bytes:
    data = b""
    deadline = time.monotonic() + TIMEOUT
    while len(data) < size:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out")
        sock.settimeout(left)
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("the connection closed early")
        data += chunk
    return data


# 4. The lessons folder, found as `grader` finds it.

def lessons_findings(folder: Path | None = None) -> list[Finding]:
    try:
        from .cli import find_root  # imports psutil: a missing one is reported above
        from .manifest import steps
    except ImportError as error:
        return [Finding(FAILED, _("could not look for the lessons folder: {error}").format(
            error=error), _("install the grader's packages first (see above)"))]
    try:
        root = find_root(argparse.Namespace(dir=folder, solutions=False))
    except LookupError as error:
        text = _("lessons folder: {error}").format(error=error)
        if folder is None:  # the message already says what to do
            return [Finding(FAILED, text)]
        return [Finding(FAILED, text, _("give --dir the folder that holds {first}/ and the "
                                        "other steps").format(first=steps()[0].folder))]
    absent = [step for step in steps() if not step.path_in(root).is_file()]
    if absent:
        return [Finding(ADVICE, _("lessons folder: {folder}, but no {files}").format(
            folder=root, files=", ".join(f"{s.folder}/{s.file}" for s in absent)))]
    ids = " ".join(step.id for step in steps())
    if folder is None and not _here_or_above(root):
        return [Finding(ADVICE, _("lessons folder: none here, so the kit's own: {folder}")
                        .format(folder=root),
                        _("to check your own, run this in its folder, or give --dir PATH"))]
    return [Finding(PASSED, _("lessons folder: {folder} (steps {ids})").format(
        folder=root, ids=ids))]


def _here_or_above(root: Path) -> bool:
    here = Path.cwd().resolve()
    return root.parent.resolve() in (here, *here.parents)


# 5. The console: can it show the Russian the grader may print?

def console_findings(stream: TextIO) -> list[Finding]:
    encoding = getattr(stream, "encoding", None) or "?"
    try:
        RUSSIAN.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        if os.name == "nt":
            fix = _("set PYTHONIOENCODING=utf-8 (PowerShell: $env:PYTHONIOENCODING=\"utf-8\"), "
                    "or run `chcp 65001` first")
        else:
            fix = _("use a UTF-8 locale (e.g. export LANG=C.UTF-8), or set "
                    "PYTHONIOENCODING=utf-8")
        return [Finding(ADVICE, _("the grader shows Russian letters as '?' in this "
                                  "console ({encoding})").format(encoding=encoding),
                        fix)]
    return [Finding(PASSED, _("the console ({encoding}) shows Russian letters").format(
        encoding=encoding))]


# 6. The `grader` command: on PATH, and this Python's.

def command_findings() -> list[Finding]:
    found = shutil.which("grader")
    instead = _("use `{python} -m grader` instead: it is the same command").format(
        python=_python_command())
    if found is None:
        return [Finding(ADVICE, _("the `grader` command is not on PATH"), instead)]
    if not any(_same_path(os.path.dirname(found), folder) for folder in _script_folders()):
        return [Finding(ADVICE, _("the `grader` command on PATH is another Python's: {path}")
                        .format(path=found), instead)]
    return [Finding(PASSED, _("the `grader` command: {path}").format(path=found))]


def _script_folders() -> list[str]:
    """Where pip puts this Python's commands: its own folder, and the per-user one."""
    preferred = getattr(sysconfig, "get_preferred_scheme", None)  # Python 3.10+
    user = preferred("user") if preferred else f"{os.name}_user"
    folders = [sysconfig.get_path("scripts")]
    try:
        folders.append(sysconfig.get_path("scripts", user))
    except KeyError:
        pass
    return folders


def _doctor_command() -> str:
    if shutil.which("grader"):
        return "grader doctor"
    return f"{_python_command()} -m grader doctor"


if __name__ == "__main__":  # python -m grader.doctor: works before cli.py knows `doctor`
    sys.exit(main(sys.argv[1:]))
