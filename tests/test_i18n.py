"""English and Russian: complete catalogs, Russian output with no English left, any console."""

from __future__ import annotations

import io
import re

import pytest
from conftest import STUBS, grader
from fixtures.bugs import BUGS

from grader.i18n import translation


def test_catalogs_are_complete_and_current() -> None:
    from devtools import catalog

    assert catalog.main(["check"]) == 0


def test_catalog_check_sees_a_changed_translation_but_not_a_new_babel() -> None:
    from babel.messages.pofile import read_po

    from devtools.catalog import _meaning, mo_bytes, po_path

    po = po_path("ru")
    text = po.read_bytes()
    other_babel = re.sub(rb"Generated-By: Babel [0-9.]+", b"Generated-By: Babel 99.0", text)
    assert other_babel != text
    assert _meaning(po, other_babel) == _meaning(po, text)
    changed = text.replace("msgstr \"Баллы".encode(), "msgstr \"БАЛЛЫ".encode(), 1)
    assert changed != text
    assert _meaning(po, changed) != _meaning(po, text)
    mo = po.with_suffix(".mo")
    compiled = mo_bytes(read_po(io.BytesIO(changed), locale="ru"))
    assert _meaning(mo, compiled) != _meaning(mo, mo.read_bytes())


def test_russian_plural_forms() -> None:
    ngettext = translation("ru").ngettext
    text = "In all, {n} of {total} checks passed."
    forms = [ngettext(text, text, n) for n in (1, 2, 5, 21)]
    assert len(set(forms[:3])) == 3, forms  # one, few, many
    assert forms[0] == forms[3]


def english_words() -> set[str]:
    """Words of the English messages that a Russian text should not contain."""
    from devtools.catalog import extract

    russian = translation("ru")
    words: set[str] = set()
    kept: set[str] = set()
    for message in extract():
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        for text in ids:
            words |= set(re.findall(r"[A-Za-z]{3,}", text))
        kept |= set(re.findall(r"[A-Za-z]{3,}", russian.gettext(ids[0])))
        if len(ids) == 2:
            for n in (1, 2, 5):
                kept |= set(re.findall(r"[A-Za-z]{3,}", russian.ngettext(*ids, n)))
    return words - kept


def leftovers(text: str) -> set[str]:
    # Quoted wire text and code, also where the renderer wrapped it onto the next line.
    text = re.sub(r"'[^']*'|\"[^\"]*\"|`[^`]*`", " ", text)
    text = re.sub(r"\S*[/\\]\S*|\w+\(\)|--[\w-]+|\w+[._]\w+", " ", text)  # paths, names, options
    return set(re.findall(r"[A-Za-z]{3,}", text)) & english_words()


def test_russian_output_has_no_english_left(tmp_path) -> None:
    runs = [grader("--lang", "ru", "--solutions"),
            grader("--lang", "ru", "--dir", str(STUBS)),
            grader("--lang", "ru", "--dir", str(BUGS["no_framing"].write(tmp_path)), "04"),
            grader("--lang", "ru", "--dir", str(BUGS["client_no_flush"].write(tmp_path)), "05"),
            grader("--lang", "ru", "--help")]
    for run in runs:
        assert not leftovers(run.stdout), run.stdout
        for line in run.stdout.splitlines():
            assert len(line) <= 100, line


def test_language_from_environment_and_locale() -> None:
    assert "Баллы:" in grader("--solutions", "01", GRADER_LANG="ru").stdout
    assert "Баллы:" in grader("--solutions", "01", GRADER_LANG="", LANG="ru_RU.UTF-8",
                               LC_ALL="").stdout
    assert "checks passed" in grader("--solutions", "01", GRADER_LANG="", LANG="C",
                                     LC_ALL="").stdout


def test_json_keys_stay_english_in_russian(tmp_path) -> None:
    run = grader("--lang", "ru", "--dir", str(BUGS["no_framing"].write(tmp_path)), "04",
                 "--json", "-")
    check = run.data["checks"][0]
    assert set(check) >= {"name", "step", "passed", "points", "max_points", "message"}
    assert re.search("[а-я]", check["description"])


@pytest.mark.parametrize("encoding", ["cp1251", "cp866", "ascii"])
def test_console_without_utf8_does_not_crash(encoding: str, tmp_path) -> None:
    run = grader("--lang", "ru", "--dir", str(BUGS["no_framing"].write(tmp_path)), "04",
                 PYTHONIOENCODING=encoding)
    assert run.code == 1 and "Traceback" not in run.stderr
