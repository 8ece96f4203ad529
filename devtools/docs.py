"""Keeps the lesson READMEs' "what the grader checks" and "hints" sections in step with the
registered checks and the manifest. For maintainers, from the repository's root:

    python -m devtools.docs            rewrite the generated sections
    python -m devtools.docs --check    exit 1 if a README is out of date
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from grader.checks import checks_for
from grader.i18n import translation
from grader.manifest import Step, steps

LESSONS = Path(__file__).resolve().parent.parent / "lessons"  # devtools/ sits beside lessons/


READMES = {"en": "README.md", "ru": "README.ru.md"}


def sections(step: Step, lang: str) -> dict[str, str]:
    _ = translation(lang).gettext
    checks = "".join(f"- {_(check.description)}\n" for check in checks_for(step.id))
    hints = "".join(f"{n}. {_(hint)}\n" for n, hint in enumerate(step.hints, 1))
    return {"checks": checks, "hints": hints}


def refresh(text: str, step: Step, lang: str = "en") -> str:
    for name, body in sections(step, lang).items():
        text = re.sub(rf"(<!-- grader:{name} -->\n).*?(<!-- /grader:{name} -->)",
                      lambda m, body=body: m[1] + body + m[2], text, flags=re.S)
    return text


def main(argv: list[str]) -> int:
    stale = []
    for step, (lang, name) in ((s, r) for s in steps() for r in READMES.items()):
        readme = LESSONS / step.folder / name
        if not readme.exists():
            continue
        text = readme.read_text(encoding="utf-8")
        new = refresh(text, step, lang)
        if new != text:
            stale.append(str(readme))
            if "--check" not in argv:
                readme.write_text(new, encoding="utf-8")
    if stale and "--check" in argv:
        print("out of date (run python -m devtools.docs):", *stale, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
