"""The kit's steps, read from lessons.toml (the one manifest)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on older Pythons only
    import tomli as tomllib

MANIFEST = Path(__file__).with_name("lessons.toml")


@dataclass(frozen=True)
class Step:
    id: str
    folder: str
    file: str
    title: str
    points: int
    todos: tuple[str, ...]
    hints: tuple[str, ...]
    bonus: bool = False  # beyond the course's 100 points: counted apart, never required

    @property
    def is_client(self) -> bool:
        return self.file == "client.py"

    def path_in(self, root: Path) -> Path:
        """The student's file for this step under a lessons-like folder."""
        return root / self.folder / self.file


@lru_cache(maxsize=1)
def steps() -> tuple[Step, ...]:
    data = tomllib.loads(MANIFEST.read_text(encoding="utf-8"))
    return tuple(
        Step(
            id=s["id"],
            folder=s["folder"],
            file=s["file"],
            title=s["title"],
            points=s["points"],
            todos=tuple(s["todos"]),
            hints=tuple(s.get("hints", ())),
            bonus=bool(s.get("bonus", False)),
        )
        for s in data["step"]
    )


def step(step_id: str) -> Step:
    for s in steps():
        if s.id == step_id:
            return s
    raise KeyError(step_id)
