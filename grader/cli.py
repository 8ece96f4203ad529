"""`grader`: grade your lessons and see what works, what doesn't, and why."""

from __future__ import annotations

import argparse
import contextlib
import locale
import os
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import TYPE_CHECKING

from . import i18n
from .i18n import _, ngettext
from .manifest import steps
from .plan import MODES, Plan, lessons_folder, select_steps, shown, student_files

if TYPE_CHECKING:
    from .render.terminal import Upcoming

# Only what is needed to say what is wrong is imported up here: `grader doctor` must run, and
# a missing psutil be named, where the grader itself could not start.
KIT_HOME = Path(__file__).resolve().parent.parent
COMMANDS = {  # grader WORD ...: the module whose main(argv) runs it
    "batch": "batch", "classroom": "classroom", "dist": "classroom", "gradescope": "gradescope",
    "doctor": "doctor", "watch": "watch", "chat": "chat_client", "hint": "hints",
    "reset": "reset", "load": "load",
}


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # a console that lacks a character gets a '?'
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    argv = sys.argv[1:] if argv is None else argv
    i18n.set_language(choose_language(argv))
    if argv[:1] and argv[0] in COMMANDS:
        import importlib

        module = importlib.import_module(f".{COMMANDS[argv[0]]}", __package__)
        return module.main(argv[1:], argv[0]) if argv[0] in ("classroom", "dist") else \
            module.main(argv[1:])
    from .doctor import install_advice, missing_dependencies

    missing = missing_dependencies()
    if missing:  # the grader's fault, not the student's code: say so before anything breaks
        print(ngettext("grader: it needs {names}, which is not installed: {advice}",
                       "grader: it needs {names}, which are not installed: {advice}",
                       len(missing)).format(
            names=", ".join(missing), advice=install_advice()), file=sys.stderr)
        return 2
    args = parser().parse_args(argv)
    if args.version:
        return _print_version()
    if args.list:
        from .render.listing import render as listing

        sys.stdout.write(listing(steps_or_exit(args.steps)))
        return 0
    return run(args)


def steps_or_exit(wanted: list[str]) -> list:
    try:
        return select_steps(wanted)
    except LookupError as error:
        print(f"grader: {error}", file=sys.stderr)
        raise SystemExit(2) from None


def _print_version() -> int:
    from importlib.metadata import PackageNotFoundError, version

    try:
        kit = version("socket-chat-kit")
    except PackageNotFoundError:
        kit = "?"
    print(f"grader (socket-chat-kit) {kit}, Python {sys.version.split()[0]}")
    return 0


def grade(plan: Plan):  # -> Report; the supervisor is imported only when grading starts
    from .supervisor import grade as grade_plan

    return grade_plan(plan)


def run(args: argparse.Namespace) -> int:
    from . import protocol
    from .points import apply as apply_points
    from .points import load as load_points
    from .render import gradescope, json_out, terminal

    try:
        if args.file:
            root, chosen = one_file(args.file, args.steps)
        else:
            root = find_root(args)
            chosen = [(step, step.path_in(root)) for step in select_steps(args.steps)]
        points = load_points(args.points) if args.points else None
        if args.protocol:
            protocol.load_profile(args.protocol)  # forked workers inherit it; spawned ones:
            os.environ["GRADER_PROTOCOL"] = os.path.abspath(args.protocol)
        defaulted = args.format == "gradescope" and not args.json
        if defaulted:
            args.json = "results.json"  # where Gradescope's run_autograder would look
        json_file = _json_target(args.json)
    except LookupError as error:
        print(f"grader: {error}", file=sys.stderr)
        return 2
    plan = Plan(root, tuple(chosen), args.mode, spread=not args.one_worker_per_step)
    if args.json != "-":
        sys.stdout.write(terminal.heading(plan.steps[0][1] if args.file else plan.root,
                                          sys.stdout))
        sys.stdout.flush()
    started = time.monotonic()
    try:
        report = grade(plan)
        if points is not None:
            apply_points(report, points)
    except KeyboardInterrupt:
        print(_("grader: stopped (Ctrl-C); nothing is left running."), file=sys.stderr)
        return 130
    except Exception as error:  # the grader's own failure: a platform still gets a result
        if args.format == "gradescope":
            _write(json_file, gradescope.render(None, time.monotonic() - started, _(
                "the grader itself failed ({error}); your code was not judged").format(
                    error=f"{type(error).__name__}: {error}")))
        raise
    if args.json:
        text = (gradescope.render(report, time.monotonic() - started)
                if args.format == "gradescope" else json_out.render(report))
        _write(json_file, text)
    if args.json != "-":
        sys.stdout.write(terminal.render(report, sys.stdout, again=_again(args),
                                         overview=not args.steps and not args.file,
                                         following=_following(args, plan)))
        if defaulted:  # a file they did not name: say where it went
            print(_("Gradescope's results.json: {path}").format(path=shown(Path(args.json))))
    return 0 if report.passed else 1


def _write(target: Path | None, text: str) -> None:
    if target is None:
        sys.stdout.write(text)
    else:
        write_file(target, text)


def write_file(target: Path, text: str) -> None:
    """Write `target` whole, through a new file of ours renamed over it: what stands at that
    path (a symlink or a pipe that student code put in a folder it can write) is replaced,
    never followed or waited on."""
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _json_target(value: str | None) -> Path | None:
    """Where --json writes (None: standard output); its folder must exist before grading."""
    if value is None or value == "-":
        return None
    path = Path(value)
    if not path.resolve().parent.is_dir():
        raise LookupError(_("cannot write {path}: there is no folder {folder}").format(
            path=value, folder=path.resolve().parent))
    return path


def _following(args: argparse.Namespace, plan: Plan) -> Upcoming | None:
    """The step after the last one asked for, in the same folder: named once those are done
    (a student who ran `grader 01` at full marks learns where to go on)."""
    if not args.steps or args.file or args.solutions:
        return None
    last = max(step.id for step, _path in plan.steps)
    later = next((step for step in steps() if step.id > last), None)
    if later is None or not later.path_in(plan.root).is_file():  # not in this folder
        return None
    from .render.terminal import Upcoming

    return Upcoming(later.id, _(later.title), shown(later.path_in(plan.root)))


def _again(args: argparse.Namespace) -> str:
    """The options to repeat in 'run `grader 04 …` again' (where to look, what language)."""
    where = (["--solutions"] if args.solutions else ["--dir", str(args.dir)] if args.dir else
             ["--file", str(args.file)] if args.file else [])
    return " ".join(where)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="grader", formatter_class=argparse.RawDescriptionHelpFormatter,  # the examples
        description=textwrap.fill(_("Grade the socket chat lessons: each step's checks run "
                                    "against your code and you see what works, what doesn't, "
                                    "and why."), 78),
        epilog=_("""examples:
  grader                  every step in ./lessons, and what to do next
  grader 04               step 04 only (grader 04_multi_user is the same)
  grader hint 04          the next hint for step 04 (--all: every one)
  grader watch 04         grade step 04 again each time you save it
  grader chat 8080        talk to your own server by hand
  grader reset 04         put step 04's file back as it came (yours is kept)
  grader doctor           check Python, packages and 127.0.0.1 and say what to fix
  grader --list           the steps and their checks
for instructors: grader batch, grader gradescope, grader classroom, grader dist"""),
    )
    where = add_steps_and_where(p)
    where.add_argument("--file", type=Path, metavar="FILE",
                       help=_("grade one file as the step given, e.g. grader 04 --file chat.py"))
    p.add_argument("--json", metavar="FILE",
                   help=_("also write the results as JSON to FILE (- for standard output)"))
    p.add_argument("--mode", choices=MODES, default="auto",
                   metavar="MODE",
                   help=_("how to run your server: 'auto' (the default) calls its "
                          "serve(listener) if it has one, else runs it as `python server.py`; "
                          "'serve' always calls serve(); 'program' always runs the file"))
    add_course_options(p)
    p.add_argument("--format", choices=("json", "gradescope"), default="json",
                   help=_("what --json writes: the kit's report, or Gradescope's results.json "
                          "(then ./results.json unless --json says where)"))
    p.add_argument("--lang", type=str.lower, choices=i18n.LANGUAGES,
                   help=_("language of the output (default: GRADER_LANG, then your system's)"))
    p.add_argument("--list", action="store_true",
                   help=_("list the steps and their checks, and grade nothing"))
    p.add_argument("--version", action="store_true", help=_("show the grader's version"))
    # grader batch: one worker per step, as the students graded at once fill the cores
    p.add_argument("--one-worker-per-step", action="store_true", help=argparse.SUPPRESS)
    return p


def add_steps_and_where(p: argparse.ArgumentParser) -> argparse._MutuallyExclusiveGroup:
    """STEP... and where the steps are (--solutions or --dir), for grader and grader watch."""
    p.add_argument("steps", nargs="*", metavar="STEP",
                   help=_("steps to grade, e.g. 04 (default: all of them)"))
    where = p.add_mutually_exclusive_group()
    where.add_argument("--solutions", action="store_true",
                       help=_("grade the reference solutions instead of your lessons"))
    where.add_argument("--dir", type=Path, metavar="PATH",
                       help=_("grade the steps in PATH (laid out like lessons/)"))
    return where


def add_course_options(p: argparse.ArgumentParser) -> None:
    """A course's own strings and points, for grader and grader batch."""
    p.add_argument("--protocol", type=Path, metavar="FILE.toml",
                   help=_("a course's own wire strings (prompt, leave, joined, left, message), "
                          "to grade its servers on its own terms"))
    p.add_argument("--points", type=Path, metavar="FILE.toml",
                   help=_("an instructor's points per check and per step ([points.04], "
                          "[totals]), checked before grading"))


def choose_language(argv: list[str]) -> str:
    """--lang, else GRADER_LANG, else the system locale, else English."""
    for n, arg in enumerate(argv):
        if arg == "--lang" and n + 1 < len(argv):
            return argv[n + 1].lower() if argv[n + 1].lower() in i18n.LANGUAGES else "en"
        if arg.startswith("--lang="):
            value = arg.split("=", 1)[1].lower()
            return value if value in i18n.LANGUAGES else "en"
    candidates = [os.environ.get("GRADER_LANG", "")]
    candidates += [os.environ.get(name, "") for name in ("LC_ALL", "LC_MESSAGES", "LANG")]
    try:
        candidates.append(locale.getlocale()[0] or "")
    except ValueError:
        pass
    for candidate in candidates:
        code = candidate.split("_")[0].split(".")[0].lower()
        if code in i18n.LANGUAGES:
            return code
        if candidate.lower().startswith("russian"):  # Windows: 'Russian_Russia'
            return "ru"
    return "en"


def one_file(path: Path, wanted: list[str]) -> tuple[Path, list]:
    """--file: the folder it is in, and the one step it is graded as (given, or its folder's)."""
    path = Path(os.path.abspath(path))
    if not path.is_file():
        raise LookupError(_("{path} is not a file").format(path=path))
    if len(wanted) > 1:
        raise LookupError(_("one file is one step: give a single step, e.g. grader 04 --file "
                            "{path}").format(path=path))
    try:
        return path.parent, student_files(path, wanted)
    except LookupError:
        raise LookupError(_("which step is {path}? Give it, e.g. grader 04 --file {path}").format(
            path=path)) from None


def find_root(args: argparse.Namespace) -> Path:
    """The lessons-like folder to grade: --dir's (never silently another), else ./lessons
    (or ./solutions) here or above, else the kit's own."""
    if args.dir:
        return lessons_folder(Path(os.path.abspath(args.dir)))
    name = "solutions" if args.solutions else "lessons"
    here = Path.cwd().resolve()
    for folder in (here, *here.parents, KIT_HOME):
        if (folder / name).is_dir() and (folder / name / steps()[0].folder).is_dir():
            return folder / name
        if folder.name == name and (folder / steps()[0].folder).is_dir():
            return folder
    raise LookupError(_("no {name}/ folder here: run grader in the kit's folder, or give "
                        "--dir PATH").format(name=name))


if __name__ == "__main__":
    sys.exit(main())
