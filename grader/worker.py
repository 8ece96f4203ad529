"""One step's checks, run in a process of their own so that student code cannot hurt the grader.

    python -m grader.worker STEP STUDENT_FILE RESULTS_FILE --checks A,B [--passed C] [--failed D]

Runs the checks named (and, without reporting them, any they depend on that are not known to
have passed or failed), in the step's order.

Writes JSON lines to RESULTS_FILE: {"event": "start" | "result" | "problem" | "note" | "done"}.
Ends with os._exit(), so threads the student's code left running cannot keep it alive.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .i18n import _, set_language
from .manifest import step as find_step
from .student_code import Unusable, import_guarded, read_source, unfinished


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.worker")
    parser.add_argument("step")
    parser.add_argument("student_file", type=Path)
    parser.add_argument("results", type=Path)
    parser.add_argument("--checks", default="")
    parser.add_argument("--passed", default="")
    parser.add_argument("--failed", default="")
    parser.add_argument("--again", action="store_true", help="a restart: skip the code review")
    args = parser.parse_args(argv)
    set_language(os.environ.get("GRADER_LANG", "en"))
    step = find_step(args.step)
    student_file = args.student_file.resolve()
    with args.results.open("a", encoding="utf-8") as out:
        def write(record: dict) -> None:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            out.flush()

        serve = None
        if not args.again:  # a first run: look at the code before running it
            try:
                source = read_source(student_file)
                still = unfinished(source, step.todos)
                if still and len(still) == len(step.todos):
                    first = "serve()" if "serve" in still else f"{still[0]}()"
                    write({"event": "problem", "not_started": True, "message": _(
                        "not started yet ({first} raises NotImplementedError)").format(
                        first=first)})
                    return 0
                if still:
                    write({"event": "note", "message": _(
                        "still to do: {functions} (they raise NotImplementedError)").format(
                        functions=", ".join(f"{name}()" for name in still))})
            except Unusable as problem:
                write({"event": "problem", "message": str(problem)})
                return 0
        if not step.is_client:
            try:
                module = import_guarded(student_file)
            except Unusable as problem:
                write({"event": "problem", "message": str(problem)})
                return 0
            serve = getattr(module, "serve", None)
            if not callable(serve):
                write({"event": "problem", "message": _(
                    "your {file} has no serve(listener) function: keep the one from the "
                    "lesson").format(file=student_file.name)})
                return 0
        code = run_checks(step, student_file, serve, out, args)
        if code not in (0, 1):  # 0: all passed, 1: some failed; anything else is the grader's
            write({"event": "problem", "message": _(
                "the grader could not run the checks (pytest exit code {code})").format(
                code=code)})
        write({"event": "done"})
    return 0


def run_checks(step, student_file: Path, serve, out, args: argparse.Namespace) -> int:
    # Only now: a step that is not started never pays for importing pytest. Plugins installed
    # next to pytest stay out; we load the one we need by name.
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    import pytest

    from .plugin import GraderPlugin

    def names(text: str) -> list[str]:
        return [name for name in text.split(",") if name]

    plugin = GraderPlugin(step, student_file, serve, out, report=names(args.checks),
                          passed=set(names(args.passed)), failed=set(names(args.failed)))
    return int(pytest.main(
        [str(student_file), "-c", str(Path(__file__).with_name("worker.ini")),
         "--rootdir", str(student_file.parent), "--noconftest", "-q", "-p", "pytest_timeout"],
        plugins=[plugin],
    ))


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
