"""Gradescope: `grader gradescope build OUT.zip` makes the autograder (setup.sh and
run_autograder at its root, the kit beside them); on Gradescope, run_autograder calls
`grader gradescope run`, which grades /autograder/submission into
/autograder/results/results.json, and writes that file whatever happens.

Gradescope runs the autograder as root: the kit's hosts then run the student's code as an
unprivileged user of their own (processes.unprivileged_user), as everywhere.
"""

from __future__ import annotations

import argparse
import stat
import tempfile
import time
import zipfile
from pathlib import Path

from .batch import Entry, grader_args, run_bounded, too_long
from .i18n import _
from .plan import select_steps
from .render import gradescope

KIT_HOME = Path(__file__).resolve().parent.parent
KIT_FILES = ("pyproject.toml", "README.md")  # and the grader package

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, when the autograder image is built.
set -euo pipefail
if ! command -v python3 >/dev/null || ! python3 -m venv --help >/dev/null 2>&1; then
    apt-get update -q && apt-get install -y -q python3 python3-venv python3-pip
fi
python3 -m venv /autograder/venv
/autograder/venv/bin/python -m pip install -q /autograder/source/kit
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this for every submission; results.json is written whatever happens.
ROOT="${{AUTOGRADER_ROOT:-/autograder}}"
PY="${{AUTOGRADER_PYTHON:-$ROOT/venv/bin/python}}"
cd "$ROOT" || exit 1
exec "$PY" -m grader gradescope run --root "$ROOT"{steps}
"""


def main(argv: list[str]) -> int:
    args = parser().parse_args(argv)
    if args.command == "build":
        build(Path(args.zip), args.step, args.lang)
        print(_("written: {path}: upload it as the autograder (its setup.sh and "
                "run_autograder are at its root)").format(path=args.zip))
        return 0
    return run(Path(args.root), args.step)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="grader gradescope",
                                description=_("Grade on Gradescope."))
    sub = p.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help=_("write the autograder .zip to upload"))
    b.add_argument("zip", metavar="OUT.zip")
    b.add_argument("--step", action="append", default=[], metavar="ID",
                   help=_("grade only this step (repeat for more)"))
    b.add_argument("--lang", default="", help=_("language of the students' feedback"))
    r = sub.add_parser("run", help=_("grade ROOT/submission into ROOT/results/results.json"))
    r.add_argument("--root", default="/autograder")
    r.add_argument("--step", action="append", default=[], metavar="ID")
    return p


def build(target: Path, step_ids: list[str], lang: str) -> None:
    chosen = "".join(f" --step {step}" for step in step_ids)
    env = f"GRADER_LANG={lang} " if lang else ""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zipped:
        _add(zipped, "setup.sh", SETUP)
        _add(zipped, "run_autograder", RUN.format(steps=chosen).replace(
            'exec "$PY"', f'{env}exec "$PY"'))
        for name in KIT_FILES:
            zipped.write(KIT_HOME / name, f"kit/{name}")
        for path in sorted((KIT_HOME / "grader").rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                zipped.write(path, f"kit/{path.relative_to(KIT_HOME)}")


def _add(zipped: zipfile.ZipFile, name: str, text: str) -> None:
    info = zipfile.ZipInfo(name)
    info.external_attr = (stat.S_IFREG | 0o755) << 16  # executable, as Gradescope needs
    zipped.writestr(info, text)


def run(root: Path, step_ids: list[str]) -> int:
    """Grade ROOT/submission; ROOT/results/results.json is always written."""
    results = root / "results" / "results.json"
    results.parent.mkdir(parents=True, exist_ok=True)
    if results.exists():
        results.unlink()  # an earlier run's is not this one's
    started = time.monotonic()
    error = ""
    with tempfile.TemporaryDirectory(prefix="grader-gradescope-") as scratch:
        try:
            options = grader_args(Entry("submission", root / "submission"),
                                  select_steps(step_ids), Path(scratch), step_ids)
        except LookupError as problem:
            error = str(problem)
        else:  # its output goes to Gradescope's log
            code, last = run_bounded([*options, "--format", "gradescope", "--json",
                                      str(results)], stdout=None)
            error = too_long() if code is None else "" if results.is_file() else last
    if error or not results.is_file():
        results.write_text(gradescope.render(None, time.monotonic() - started, error or _(
            "the grader gave no result; your code was not judged")), encoding="utf-8")
    return 0
