"""The notebooks: up to date with their sources, valid, twin languages, and they run.

The execution test runs every English notebook top to bottom in a fresh python3 kernel (the
Russian twins have the same code cells, test_twins_match checks that), skipping the cell tagged
"grader", and then checks that the notebook left no demo thread running.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from pathlib import Path

import nbclient
import nbformat
import pytest

from grader.manifest import steps

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
STEPS = sorted(path.stem for path in (NOTEBOOKS / "src").glob("[0-9][0-9]_*.py"))
ALL = [NOTEBOOKS / f"{step}.ipynb" for step in STEPS] + [
    NOTEBOOKS / "ru" / f"{step}.ipynb" for step in STEPS
]

# Appended to the in-memory copy: every demo names its threads "demo-..." and must stop them,
# and must close its TCP sockets (the kernel's own sockets are AF_UNIX or zmq).
LEAK_CHECK = """\
import gc as _gc
import socket as _socket
import threading as _threading
_left = [t.name for t in _threading.enumerate() if t.name.startswith("demo") and t.is_alive()]
assert not _left, f"demo threads still running at the end of the notebook: {_left}"
_gc.collect()
_open = [
    s for s in _gc.get_objects()
    if isinstance(s, _socket.socket) and s.fileno() != -1 and s.family == _socket.AF_INET
]
assert not _open, f"TCP sockets left open at the end of the notebook: {_open}"
"""


def read(path: Path):
    return nbformat.read(path, as_version=4)


def test_there_is_a_notebook_per_step():
    assert STEPS == [step.folder for step in steps()]


def test_notebooks_match_their_sources():
    result = subprocess.run(
        [sys.executable, str(NOTEBOOKS / "build.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.relative_to(NOTEBOOKS).as_posix())
def test_notebook_is_valid(path):
    nbformat.validate(read(path))


@pytest.mark.parametrize("step", STEPS)
def test_twins_match(step):
    en = read(NOTEBOOKS / f"{step}.ipynb").cells
    ru = read(NOTEBOOKS / "ru" / f"{step}.ipynb").cells
    assert [c.cell_type for c in en] == [c.cell_type for c in ru]
    for en_cell, ru_cell in zip(en, ru):
        if en_cell.cell_type == "code":
            assert en_cell.source == ru_cell.source
            assert en_cell.metadata == ru_cell.metadata


@pytest.mark.parametrize("step", STEPS)
def test_notebook_ends_with_the_grader_cell(step):
    last = read(NOTEBOOKS / f"{step}.ipynb").cells[-1]
    assert last.cell_type == "code"
    assert last.metadata.get("tags") == ["grader"]
    assert last.source == f"!grader {step[:2]}"


@pytest.mark.parametrize("step", STEPS)
def test_notebook_runs(step):
    notebook = read(NOTEBOOKS / f"{step}.ipynb")
    runnable = copy.deepcopy(notebook)
    runnable.cells = [c for c in runnable.cells if "grader" not in c.metadata.get("tags", [])]
    runnable.cells.append(nbformat.v4.new_code_cell(LEAK_CHECK))
    client = nbclient.NotebookClient(
        runnable,
        kernel_name="python3",
        timeout=20,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on failure
    for cell in runnable.cells:
        for output in cell.get("outputs", []):
            assert output.get("name") != "stderr", f"stderr output in:\n{cell.source}\n{output}"
