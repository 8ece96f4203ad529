"""The manifest, the lesson folders, the solutions and the registered checks agree."""

from __future__ import annotations

from conftest import ROOT, STUBS

from grader.checks import checks_for
from grader.manifest import steps
from grader.review import unfinished


def test_manifest_and_folders_agree() -> None:
    for tree in ("lessons", "solutions"):
        folders = sorted(p.name for p in (ROOT / tree).iterdir() if p.is_dir())
        assert folders == [step.folder for step in steps()], tree
        for step in steps():
            assert step.path_in(ROOT / tree).is_file()
    for step in steps():
        assert (ROOT / "lessons" / step.folder / "README.md").is_file()


def test_points_add_up() -> None:
    assert sum(step.points for step in steps() if not step.bonus) == 100  # bonus: beyond it
    for step in steps():
        assert sum(check.points for check in checks_for(step.id)) == step.points, step.id


def test_checks_are_well_formed() -> None:
    for step in steps():
        names = [check.name for check in checks_for(step.id)]
        assert len(names) == len(set(names)), step.id
        for n, check in enumerate(checks_for(step.id)):
            assert check.description and check.function.__doc__, check.name
            for needed in check.after:  # a dependency runs before the check that needs it
                assert needed in names[:n], (check.name, needed)


def test_todos_are_what_the_stubs_leave_open() -> None:
    for step in steps():
        stub = step.path_in(STUBS).read_text(encoding="utf-8")
        solution = step.path_in(ROOT / "solutions").read_text(encoding="utf-8")
        assert unfinished(stub, step.todos) == list(step.todos), step.id
        assert unfinished(solution, step.todos) == [], step.id
        assert stub.count("raise NotImplementedError") == len(step.todos), step.id


def test_hints_exist() -> None:
    for step in steps():
        assert step.hints, step.id
