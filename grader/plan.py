"""What to grade: which steps, and which student files (light: no check is imported here).

Used by the CLI (a plan for the supervisor) and by the pytest plugin (`--student PATH`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .i18n import _
from .manifest import Step, steps

MODES = ("auto", "serve", "program")  # how a server runs: see labs/server_host.StudentServer


@dataclass(frozen=True)
class Plan:
    root: Path  # the folder graded, as given
    steps: tuple[tuple[Step, Path], ...]  # each step and the student's file for it
    mode: str = "auto"  # servers: through serve(listener), as programs, or whichever fits
    spread: bool = True  # a long step's checks shared by several workers (False: grader batch)


def shown(path: Path) -> str:
    """`path` as the student would type it: from the current folder, when it is below it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def select_steps(wanted: list[str]) -> list[Step]:
    """Steps by id ('4', '04', '04_multi_user', 'lessons/04_multi_user'); all when none."""
    known = {step.id: step for step in steps()}
    if not wanted:
        return list(known.values())
    chosen: list[Step] = []
    for name in wanted:
        path = Path(name.rstrip("/\\"))
        if path.suffix == ".py":  # lessons/04_multi_user/server.py, tab-completed
            path = path.parent
        step_id = path.name.split("_")[0].zfill(2)
        if step_id not in known:
            raise LookupError(_("there is no step {name}; the steps are {ids}").format(
                name=name, ids=", ".join(known)))
        if known[step_id] not in chosen:
            chosen.append(known[step_id])
    return chosen


def lessons_folder(path: Path) -> Path:
    """The lessons-like folder in `path`: PATH/lessons if there is one, else PATH itself.
    Raises LookupError, naming where it looked, when neither holds a step folder."""
    path = path.expanduser()
    if not path.is_dir():
        raise LookupError(_("{path} is not a folder").format(path=path))
    for folder in (path / "lessons", path):
        if any((folder / step.folder).is_dir() for step in steps()):
            return folder
    raise LookupError(_("no step folders ({first}, …) in {path} or {path}/lessons").format(
        first=steps()[0].folder, path=path))


def student_files(path: Path, wanted: list[str] = ()) -> list[tuple[Step, Path]]:  # type: ignore[assignment]
    """Each chosen step and the student's file for it, from a lessons-like folder, one step's
    folder, or one file (its step from `wanted` or from its folder's name)."""
    if path.is_file() or (path.is_dir() and _step_of(path)):
        step_names = list(wanted) or [_step_of(path.parent if path.is_file() else path)]
        if not step_names[0]:
            raise LookupError(_("which step is {path}? Give it, e.g. --step 04").format(
                path=path))
        chosen = select_steps(step_names)
        return [(step, path if path.is_file() else path / step.file) for step in chosen]
    folder = lessons_folder(path)
    return [(step, step.path_in(folder)) for step in select_steps(list(wanted))]


def _step_of(folder: Path) -> str:
    """'04' for a folder named like a step's ('04_multi_user'), else ''."""
    for step in steps():
        if folder.name == step.folder:
            return step.id
    return ""
