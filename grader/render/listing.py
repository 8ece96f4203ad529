"""`grader --list`: each step, its file and points, and its checks with theirs."""

from __future__ import annotations

from ..checks import checks_for
from ..i18n import _, ngettext
from ..manifest import Step


def render(chosen: list[Step]) -> str:
    lines: list[str] = []
    for step in chosen:
        lines.append(ngettext("{step} {title}: {points} point, in {folder}/{file}",
                              "{step} {title}: {points} points, in {folder}/{file}",
                              step.points).format(
            step=step.id, title=_(step.title), points=step.points, folder=step.folder,
            file=step.file))
        lines += [f"  {check.points:>2}  {_(check.description)}" for check in checks_for(step.id)]
        behaviour = checks_for(step.id, behaviour=True)
        if behaviour:
            lines.append("      " + _("for a server in words of its own, not scored:"))
            lines += [f"   -  {_(check.description)}" for check in behaviour]
        lines.append("")
    lines.append(_("A check's line is what the grader prints for it; `grader hint 04` gives "
                   "step 04's hints."))
    return "\n".join(lines) + "\n"
