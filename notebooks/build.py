"""Build the lesson notebooks from their readable sources.

    python notebooks/build.py           write notebooks/NN_x.ipynb and notebooks/ru/NN_x.ipynb
    python notebooks/build.py --check   exit 1, listing every notebook that differs from its
                                        source (or is missing, or has no source); 0 otherwise

Edit the sources in notebooks/src/, never the .ipynb files: they are generated, and the test
suite fails when a notebook and its source disagree.

The source format
-----------------
One file per step, notebooks/src/NN_name.py, becomes notebooks/NN_name.ipynb (English) and
notebooks/ru/NN_name.ipynb (Russian). A source is a valid Python file (so ruff checks the code
cells), cut into cells by marker lines that start with "# %%":

    # %% [markdown] en      a markdown cell, English text ...
    # %% [markdown] ru      ... and the same cell in Russian; it must follow its "en" block at once
    # %%                    a code cell, the same in both languages
    # %% include NAME.py    a code cell holding the code of notebooks/src/shared/NAME.py; no body
    # %% grader             the final cell: `!grader NN`, tagged "grader"; this marker has no body

Markdown lines start with "# " (a line that is just "#" is an empty line of markdown); the
prefix is removed. Code lines are copied as they are. Blank lines at the start and the end of
a cell are dropped. Everything above the first marker is a note for the source's readers and
does not appear in the notebooks.

Shared code. Helpers that several steps use (the demo server, the line reader, ...) live once
in notebooks/src/shared/, and a source pulls each one into its notebook with an include marker,
so every notebook still runs on its own. A shared file is a source with a single code cell: a
header (dropped), one plain "# %%" line, and the code, which becomes the cell just as a code
cell's body would. Shared files do not include other files. A shared file's header may import,
for ruff and for readers, the names that an earlier cell of the notebooks defines (say
`from shared.demo_basics import HOST`), and a source's header does the same for the names its
include cells define; such a header ends with `# isort: split`, so that ruff sorts those imports
apart from the cell's own. A step that needs a little more than a shared helper adds it in an
ordinary cell after the include, instead of keeping its own copy of the helper.

A markdown cell exists only as an en/ru pair and a code cell only once, so the two languages
always have the same cells in the same order with the same code.

The output is deterministic: cell ids come from the step and the cell's index (an include
marker is one cell like any other), there are no outputs or execution counts, and rebuilding
unchanged sources gives byte-identical files.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent
SRC = HERE / "src"
SHARED = SRC / "shared"
LANGUAGES = {"en": HERE, "ru": HERE / "ru"}
MARKER = "# %%"
INCLUDE = "include "
METADATA = {
    "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
    "language_info": {"name": "python"},
}


class SourceError(Exception):
    """A source file breaks the format described at the top of this file."""


def split_blocks(text: str, source_name: str) -> list[tuple[str, int, list[str]]]:
    """The source's (marker, line number, body lines) blocks; the header is dropped."""
    blocks: list[tuple[str, int, list[str]]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith(MARKER):
            blocks.append((line[len(MARKER) :].strip(), number, []))
        elif blocks:
            blocks[-1][2].append(line)
    if not blocks:
        raise SourceError(f"{source_name}: no '{MARKER}' cell markers")
    return blocks


def trim(lines: list[str]) -> str:
    """The lines as one string, without blank lines at the start and the end."""
    while lines and not lines[0].strip():
        lines = lines[1:]
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return "\n".join(line.rstrip() for line in lines)


def markdown_text(lines: list[str], where: str) -> str:
    """Markdown from '# '-prefixed comment lines."""
    out = []
    for line in lines:
        if line.strip() == "":
            out.append("")
        elif line == "#" or line.startswith("# "):
            out.append(line[2:])
        else:
            raise SourceError(f"{where}: a markdown line must start with '# ': {line!r}")
    return trim(out)


def included(name: str, where: str) -> str:
    """The code of the shared file notebooks/src/shared/<name>, for an include marker."""
    path = SHARED / name
    if not name.endswith(".py") or "/" in name or "\\" in name or not path.is_file():
        raise SourceError(f"{where}: no shared file {name!r} in notebooks/src/shared/")
    blocks = split_blocks(path.read_text(encoding="utf-8"), f"shared/{name}")
    if len(blocks) != 1 or blocks[0][0] != "":
        raise SourceError(
            f"shared/{name}: a shared file has exactly one marker, a plain '{MARKER}'"
        )
    code = trim(blocks[0][2])
    if not code:
        raise SourceError(f"shared/{name}:{blocks[0][1]}: an empty code cell")
    return code


def parse(path: Path) -> list[dict]:
    """The step's cells, each {"type", "en", "ru"} (markdown) or {"type", "code", "tags"}."""
    step = path.stem.split("_", 1)[0]
    blocks = split_blocks(path.read_text(encoding="utf-8"), path.name)
    cells: list[dict] = []
    index = 0
    while index < len(blocks):
        kind, number, body = blocks[index]
        where = f"{path.name}:{number}"
        if kind == "[markdown] en":
            if index + 1 >= len(blocks) or blocks[index + 1][0] != "[markdown] ru":
                raise SourceError(f"{where}: '# %% [markdown] en' must be followed by its ru twin")
            ru_number, ru_body = blocks[index + 1][1], blocks[index + 1][2]
            en_text = markdown_text(body, where)
            ru_text = markdown_text(ru_body, f"{path.name}:{ru_number}")
            if not en_text or not ru_text:
                raise SourceError(f"{where}: an empty markdown cell")
            cells.append({"type": "markdown", "en": en_text, "ru": ru_text})
            index += 2
            continue
        if kind == "":
            code = trim(body)
            if not code:
                raise SourceError(f"{where}: an empty code cell")
            cells.append({"type": "code", "code": code, "tags": []})
        elif kind.startswith(INCLUDE):
            if trim(body):
                raise SourceError(f"{where}: an include marker has no body; put code in a new cell")
            cells.append(
                {"type": "code", "code": included(kind[len(INCLUDE) :].strip(), where), "tags": []}
            )
        elif kind == "grader":
            if trim(body):
                raise SourceError(f"{where}: the grader cell is generated; leave it empty")
            cells.append({"type": "code", "code": f"!grader {step}", "tags": ["grader"]})
        else:
            raise SourceError(f"{where}: unknown marker {MARKER} {kind!r}")
        index += 1
    return cells


def build(path: Path, language: str) -> str:
    """The notebook for one source and one language, as the exact text of its .ipynb file."""
    cells = []
    for index, cell in enumerate(parse(path)):
        cell_id = f"{path.stem}-{index:02d}"
        if cell["type"] == "markdown":
            new = new_markdown_cell(source=cell[language], id=cell_id)
        else:
            metadata = {"tags": cell["tags"]} if cell["tags"] else {}
            new = new_code_cell(source=cell["code"], id=cell_id, metadata=metadata)
        cells.append(new)
    # nbformat 4.5 named, not "whatever this nbformat writes": a newer nbformat must not make
    # every committed notebook look stale.
    notebook = new_notebook(cells=cells, metadata=METADATA, nbformat=4, nbformat_minor=5)
    nbformat.validate(notebook)
    text = nbformat.writes(notebook, version=4)
    return text if text.endswith("\n") else text + "\n"


def expected() -> dict[Path, bytes]:
    """Every notebook the sources make, with its exact bytes."""
    sources = sorted(SRC.glob("[0-9][0-9]_*.py"))
    if not sources:
        raise SourceError(f"no sources in {SRC}")
    return {
        folder / f"{source.stem}.ipynb": build(source, language).encode("utf-8")
        for source in sources
        for language, folder in LANGUAGES.items()
    }


def problems(wanted: dict[Path, bytes]) -> list[str]:
    """What differs between the notebooks on disk and the ones the sources make."""
    found = []
    for path, data in wanted.items():
        if not path.exists():
            found.append(f"{rel(path)}: missing")
        elif path.read_bytes() != data:
            found.append(
                f"{rel(path)}: differs from notebooks/src/{path.stem}.py (or its includes)"
            )
    for folder in LANGUAGES.values():
        for path in sorted(folder.glob("*.ipynb")):
            if path not in wanted:
                found.append(f"{rel(path)}: has no source in notebooks/src/")
    return found


def rel(path: Path) -> str:
    return path.relative_to(HERE.parent).as_posix()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the notebooks from notebooks/src/.")
    parser.add_argument(
        "--check", action="store_true", help="only compare; exit 1 if a notebook is out of date"
    )
    args = parser.parse_args(argv)
    try:
        wanted = expected()
    except SourceError as error:
        print(f"build.py: {error}", file=sys.stderr)
        return 2
    if args.check:
        found = problems(wanted)
        if found:
            print("These notebooks do not match their sources:", file=sys.stderr)
            for line in found:
                print(f"  {line}", file=sys.stderr)
            print("Run `python notebooks/build.py` and commit the result.", file=sys.stderr)
            return 1
        return 0
    written = 0
    for path, data in wanted.items():
        if not path.exists() or path.read_bytes() != data:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)  # bytes: "\n" line ends on Windows too
            written += 1
    print(f"{written} of {len(wanted)} notebooks written")
    for line in problems(wanted):
        print(f"warning: {line}", file=sys.stderr)  # only stray notebooks can be left here
    return 0


if __name__ == "__main__":
    sys.exit(main())
