"""GitHub Classroom: `grader classroom init` writes the autograding workflow (a step per lesson,
worth the step's points, so Classroom's total is the kit's); `grader dist OUT` writes the
template repository students get: the lessons and the workflow, no solutions."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from .i18n import _
from .manifest import steps

KIT_HOME = Path(__file__).resolve().parent.parent
WORKFLOW = Path(".github") / "workflows" / "classroom.yml"
TEMPLATE_PARTS = ("lessons", "notebooks", "grader", "pyproject.toml", "README.md", "README.ru.md")

HEAD = """name: Autograding Tests
'on':
- push
- repository_dispatch
permissions:
  checks: write
  actions: read
  contents: read
jobs:
  run-autograding-tests:
    runs-on: ubuntu-latest
    if: github.actor != 'github-classroom[bot]'
    steps:
    - name: Checkout code
      uses: actions/checkout@v4
    - name: Set up Python
      uses: actions/setup-python@v5
      with:
        python-version: '3.11'
"""

STEP = """    - name: {name}
      id: {id}
      uses: classroom-resources/autograding-command-grader@v1
      with:
        test-name: {name}
        setup-command: {setup}
        command: grader {step}
        timeout: 5
        max-score: {points}
"""

REPORTER = """    - name: Autograding Reporter
      uses: classroom-resources/autograding-grading-reporter@v1
      env:
{env}      with:
        runners: {runners}
"""


def workflow() -> str:
    """The workflow's text: one command-grader step per lesson, then the reporter."""
    parts, ids = [HEAD], []
    for n, step in enumerate(steps()):
        ids.append(f"step-{step.id}")
        parts.append(STEP.format(name=f"'{step.id} {step.title}'", id=ids[-1], step=step.id,
                                 points=step.points,
                                 setup="python -m pip install -q -e ." if n == 0 else "''"))
    env = "".join(f'        {name.upper()}_RESULTS: "${{{{steps.{name}.outputs.result}}}}"\n'
                  for name in ids)
    parts.append(REPORTER.format(env=env, runners=",".join(ids)))
    return "".join(parts)


def init(repo: Path) -> Path:
    target = repo / WORKFLOW
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(workflow(), encoding="utf-8")
    return target


def dist(out: Path) -> None:
    """The template repository: what students get, and the workflow that grades it."""
    if out.exists() and any(out.iterdir()):
        raise LookupError(_("{path} is not empty: give a new folder").format(path=out))
    out.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")
    for name in TEMPLATE_PARTS:
        source = KIT_HOME / name
        if source.is_dir():
            shutil.copytree(source, out / name, ignore=ignore)
        elif source.is_file():
            shutil.copy2(source, out / name)
    init(out)


def main(argv: list[str], command: str) -> int:
    p = argparse.ArgumentParser(prog=f"grader {command}")
    if command == "dist":
        p.add_argument("out", type=Path, metavar="OUT",
                       help=_("a new folder for the students' template repository"))
    else:
        p.add_argument("init", choices=("init",))
        p.add_argument("--repo", type=Path, default=Path("."), metavar="PATH",
                       help=_("the template repository (default: here)"))
    args = p.parse_args(argv)
    try:
        if command == "dist":
            dist(args.out)
            target = args.out / WORKFLOW
        else:
            target = init(args.repo)
    except LookupError as error:
        print(f"grader: {error}")
        return 2
    print(_("written: {path}").format(path=target))
    print(_("In GitHub Classroom, make the assignment from this repository as its template; the "
            "workflow grades every push, a step per lesson ({total} points, and {bonus} more "
            "for the bonus step, which Classroom adds to the total), so leave Classroom's own "
            "test list empty.").format(
                total=sum(step.points for step in steps() if not step.bonus),
                bonus=sum(step.points for step in steps() if step.bonus)))
    return 0
