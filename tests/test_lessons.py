"""Lessons and solutions: stubs differ from solutions only inside TODOs, constants mirror the
protocol module, and only the standard library is used."""

from __future__ import annotations

import ast
import difflib
import sys

import pytest
from conftest import ROOT, STUBS

from grader import protocol
from grader.manifest import steps

STEP_IDS = [step.id for step in steps()]


def source(tree: str, step_id: str) -> str:
    """A step's file: the stub as shipped ("lessons": never lessons/ itself, which the student
    edits) or the solution."""
    step = next(s for s in steps() if s.id == step_id)
    return step.path_in(STUBS if tree == "lessons" else ROOT / tree).read_text(encoding="utf-8")


@pytest.mark.parametrize("step_id", STEP_IDS)
def test_stub_differs_only_inside_todos(step_id: str) -> None:
    stub = source("lessons", step_id).splitlines()
    solution = source("solutions", step_id).splitlines()
    for line in difflib.ndiff(solution, stub):
        if line.startswith("+ "):  # a line only the stub has
            text = line[2:].strip()
            assert text.startswith("# TODO:") or text == "raise NotImplementedError", line


@pytest.mark.parametrize("step_id", STEP_IDS)
@pytest.mark.parametrize("tree", ["lessons", "solutions"])
def test_constants_mirror_the_protocol(tree: str, step_id: str) -> None:
    module = ast.parse(source(tree, step_id))
    for node in module.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant):
            name = node.targets[0].id  # type: ignore[attr-defined]
            if hasattr(protocol, name):
                assert node.value.value == getattr(protocol, name), (tree, step_id, name)


@pytest.mark.skipif(sys.version_info < (3, 10), reason="sys.stdlib_module_names is 3.10+")
@pytest.mark.parametrize("step_id", STEP_IDS)
@pytest.mark.parametrize("tree", ["lessons", "solutions"])
def test_standard_library_only(tree: str, step_id: str) -> None:
    for node in ast.walk(ast.parse(source(tree, step_id))):
        names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                 else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
        for name in names:
            assert name.split(".")[0] in sys.stdlib_module_names, (tree, step_id, name)


@pytest.mark.parametrize("step_id", STEP_IDS)
def test_lesson_readme_lists_the_grader_checks(step_id: str) -> None:
    from grader.checks import checks_for

    step = next(s for s in steps() if s.id == step_id)
    readme = (ROOT / "lessons" / step.folder / "README.md").read_text(encoding="utf-8")
    for check in checks_for(step_id):
        assert f"- {check.description}\n" in readme, check.name
    for hint in step.hints:
        assert hint in readme, hint


def test_generated_readme_sections_are_current() -> None:
    from devtools import docs

    assert docs.main(["--check"]) == 0
