"""The installed grader is the same as the one in this folder: a non-editable install
(`pip install .`, a wheel) must carry every file the grader reads, not only its .py files."""

from __future__ import annotations

from conftest import ROOT

from grader.manifest import tomllib


def test_package_data_carries_every_file_the_grader_reads() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    package = ROOT / "grader"
    patterns = project["tool"]["setuptools"]["package-data"]["grader"]
    shipped = {path for pattern in patterns for path in package.glob(pattern)}
    needed = {path for path in package.rglob("*")
              if path.is_file() and path.suffix not in {".py", ".pyc"}
              and "__pycache__" not in path.parts}
    assert needed, "no data files found: is ROOT right?"
    left_out = sorted(path.relative_to(package).as_posix() for path in needed - shipped)
    assert not left_out, f"add to [tool.setuptools.package-data] in pyproject.toml: {left_out}"
