"""The message catalogs: every student-facing text of the grader, in English and Russian.

For maintainers and translators (needs Babel: `pip install -e ".[test]"`), from the
repository's root:

    python -m devtools.catalog update   re-extract grader/locale/grader.pot, merge it into each
                                        language's .po, and compile the .mo files
    python -m devtools.catalog check    exit 1 if a catalog is stale or a translation is missing

Translators edit grader/locale/ru/LC_MESSAGES/grader.po (Poedit, Lokalize, or any text editor),
then run `update`. The compiled .mo files are committed, so students need no Babel.

The messages are extracted from the runtime package `grader` (not from this one), and the
locations in the catalogs are relative to the repository's root (`grader/checks/chat.py`).
"""

from __future__ import annotations

import ast
import gettext
import io
import sys
from datetime import datetime, timezone
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

import grader
from grader.checks import every_check_of
from grader.i18n import DOMAIN, LANGUAGES, LOCALE_DIR
from grader.manifest import MANIFEST, steps

# The package whose messages these are; locations are written relative to its parent.
PACKAGE = Path(grader.__file__).resolve().parent
# The .pot's opening comment, kept as committed so that `update` stays byte-identical; the
# .po files keep their own (this one only starts a new language's .po).
HEADER = ("# The grader's messages. Edit the .po of your language, then run:\n"
          "# python -m devtools.catalog update")
HEADER_VERSION = "1"
SOURCE_LANGUAGE = "en"
# Fixed header dates keep the files byte-identical between runs (git has the real history).
DATE = datetime(2026, 1, 1, tzinfo=timezone.utc)

# argparse's own words, which `grader --help` shows (argparse looks them up through gettext).
ARGPARSE = [
    "usage: ", "positional arguments", "options", "show this help message and exit",
    "optional arguments",  # what Python 3.9 calls "options"
    "%(prog)s: error: %(message)s\n", "the following arguments are required: %s",
    "invalid choice: %(value)r (choose from %(choices)s)", "unrecognized arguments: %s",
    "expected one argument", "not allowed with argument %s",
    "argument %(argument_name)s: %(message)s",
]


def extract() -> Catalog:
    """Every message: _() and ngettext() calls with literal text, check lines, step titles."""
    catalog = Catalog(domain=DOMAIN, project="socket-chat-kit", version=HEADER_VERSION,
                      copyright_holder="the socket-chat-kit authors", charset="utf-8",
                      fuzzy=False, header_comment=HEADER, creation_date=DATE,
                      revision_date=DATE)
    for path in sorted(PACKAGE.rglob("*.py")):
        where = path.relative_to(PACKAGE.parent).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Name):
                continue
            texts = [a.value for a in node.args if isinstance(a, ast.Constant)
                     and isinstance(a.value, str)]
            if node.func.id == "_" and len(texts) == 1:
                catalog.add(texts[0], locations=[(where, node.lineno)],
                            flags=_flags(texts[0]))
            elif node.func.id == "ngettext" and len(texts) == 2:
                catalog.add(tuple(texts), locations=[(where, node.lineno)],
                            flags=_flags(texts[0]))
    for step in steps():
        manifest = MANIFEST.relative_to(PACKAGE.parent).as_posix()
        catalog.add(step.title, locations=[(manifest, 0)], auto_comments=["the title of a step"])
        for hint in step.hints:
            catalog.add(hint, locations=[(manifest, 0)],
                        auto_comments=[f"a hint of step {step.id}, in the lesson's README"])
        for check in every_check_of(step.id):
            code = check.function.__code__
            catalog.add(check.description, auto_comments=["a check, as the student reads it"],
                        locations=[(Path(code.co_filename).relative_to(PACKAGE.parent)
                                    .as_posix(), code.co_firstlineno)])
    for text in ARGPARSE:
        catalog.add(text, locations=[("argparse", 0)], flags=["python-format"])
    return catalog


def _flags(text: str) -> list[str]:
    return ["python-brace-format"] if "{" in text else []


def po_path(lang: str) -> Path:
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


def merged(template: Catalog, lang: str) -> Catalog:
    """The language's catalog brought in line with the template; old translations kept."""
    path = po_path(lang)
    if path.exists():
        with path.open("rb") as f:
            catalog = read_po(f, locale=lang)
    else:
        catalog = Catalog(locale=lang, domain=DOMAIN, project="socket-chat-kit",
                          version=HEADER_VERSION, charset="utf-8", fuzzy=False,
                          header_comment=HEADER)
    catalog.update(template, no_fuzzy_matching=True)
    catalog.obsolete.clear()
    catalog.creation_date = catalog.revision_date = DATE
    if lang == SOURCE_LANGUAGE:  # English says what the source says
        for message in catalog:
            if message.id:
                message.string = message.id
    return catalog


def po_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_po(out, catalog, width=100, omit_header=False, sort_output=False,
             include_lineno=False)
    return out.getvalue()


def mo_bytes(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


def missing(catalog: Catalog) -> list[str]:
    """Message ids with no translation (or a plural form left empty)."""
    gaps = []
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        if message.fuzzy or not all(strings):
            gaps.append(message.id if isinstance(message.id, str) else message.id[0])
    return gaps


def _files() -> dict[Path, bytes]:
    files = {LOCALE_DIR / f"{DOMAIN}.pot": po_bytes(extract())}
    for lang in LANGUAGES:
        catalog = merged(extract(), lang)  # a fresh template each: merging shares messages
        files[po_path(lang)] = po_bytes(catalog)
        files[po_path(lang).with_suffix(".mo")] = mo_bytes(catalog)
    return files


def _meaning(path: Path, data: bytes) -> object:
    """What a file says, without the bytes another Babel release would write differently
    (its own version in the header, line wrapping): the check must not fail on a new Babel."""
    if path.suffix == ".mo":
        messages = dict(gettext.GNUTranslations(io.BytesIO(data))._catalog)  # type: ignore[attr-defined]
        messages.pop("", None)  # the header
        return messages
    catalog = read_po(io.BytesIO(data))
    header = [(k, v) for k, v in catalog.mime_headers if k != "Generated-By"]
    return header, [(m.id, m.string, sorted(m.flags), m.locations, m.auto_comments,
                     m.user_comments) for m in catalog]


def _current(path: Path, data: bytes) -> bool:
    if not path.exists():
        return False
    old = path.read_bytes()
    return old == data or _meaning(path, old) == _meaning(path, data)


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    files = _files()
    if command == "update":
        for path, data in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            if not _current(path, data):
                path.write_bytes(data)
    problems = [f"out of date: {path}" for path, data in files.items()
                if not _current(path, data)]
    for lang in LANGUAGES:
        with po_path(lang).open("rb") as f:
            catalog = read_po(f, locale=lang)
        problems += [f"{lang}: no translation for {text!r}" for text in missing(catalog)]
    print("\n".join(problems) or f"catalogs complete: {len(extract())} messages")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
