"""The runtime package `grader` stands on its own: the maintainers' tools in devtools/ (and
what they need, like Babel) are never imported by it, so a student's install needs neither."""

from __future__ import annotations

import ast
import os
import subprocess
import sys

from conftest import ROOT

DEV_ONLY = ("devtools", "babel")


def imported_modules(tree: ast.AST) -> set[str]:
    """Every module an `import` or `from ... import` statement names (relative ones as `.x`)."""
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            names.add("." * node.level + (node.module or ""))
    return names


def is_dev_only(name: str) -> bool:
    return any(name == top or name.startswith(top + ".") for top in DEV_ONLY)


def test_grader_sources_never_import_devtools() -> None:
    sources = sorted((ROOT / "grader").rglob("*.py"))
    assert sources, "no grader sources found: is ROOT right?"
    offenders = []
    for path in sources:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        offenders += [f"{path.relative_to(ROOT).as_posix()}: {name}"
                      for name in sorted(imported_modules(tree)) if is_dev_only(name)]
    assert not offenders, offenders


def test_importing_the_runtime_loads_no_dev_module() -> None:
    code = ("import grader.cli, grader.supervisor, grader.worker, grader.pytest_plugin; "
            "import sys; "
            "print([m for m in sys.modules if m.startswith(('devtools', 'babel'))])")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]", done.stdout


def test_the_dev_tools_are_outside_the_runtime_package() -> None:
    for name in ("catalog.py", "docs.py"):
        assert (ROOT / "devtools" / name).is_file(), name
        assert not (ROOT / "grader" / name).exists(), f"grader/{name} is back in the runtime"
