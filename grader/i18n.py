"""Every student-facing text goes through _() and ngettext() from here (gettext catalogs)."""

from __future__ import annotations

import gettext
import os
from pathlib import Path

LOCALE_DIR = Path(__file__).with_name("locale")
DOMAIN = "grader"
LANGUAGES = ("en", "ru")

_translation: gettext.NullTranslations = gettext.NullTranslations()


def set_language(lang: str) -> None:
    """Use the catalog of `lang` ("en" or "ru") from now on; English when it has none."""
    global _translation
    _translation = translation(lang)
    os.environ["GRADER_LANG"] = lang  # worker processes inherit the choice
    # argparse looks its words ("usage:", "options") up in gettext's default domain.
    os.environ["LANGUAGE"] = lang
    gettext.bindtextdomain(DOMAIN, str(LOCALE_DIR))
    gettext.textdomain(DOMAIN)


def translation(lang: str) -> gettext.NullTranslations:
    return gettext.translation(DOMAIN, LOCALE_DIR, languages=[lang], fallback=True)


def _(message: str) -> str:
    return _translation.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    return _translation.ngettext(singular, plural, n)
