"""A class's batch results as one self-contained HTML page (no network, no scripts): the score
distribution, each check's failure rate (what the class misunderstood), the slowest
submissions, and per student the checks failed with the feedback the student saw."""

from __future__ import annotations

from collections import Counter
from html import escape
from typing import TYPE_CHECKING

from ..i18n import _
from ..results import FAILED, PASSED

if TYPE_CHECKING:
    from ..batch import Entry

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; }
table { border-collapse: collapse; width: 100%; }
td, th { padding: .2em .5em; text-align: left; vertical-align: top; }
tr:nth-child(even) { background: #f4f4f4; }
.bar { background: #4a78c2; height: 1em; display: inline-block; }
.fail { color: #a11; } .num { text-align: right; white-space: nowrap; }
details { margin: .3em 0; } summary { cursor: pointer; }
pre { white-space: pre-wrap; margin: .2em 0 .6em 1.5em; font-size: .9em; }
"""


def render(entries: list[Entry], steps: list, seconds: float) -> str:
    graded = [entry for entry in entries if entry.report is not None]
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>"
             f"{escape(_('Class results'))}</title><style>{STYLE}</style></head><body>",
             f"<h1>{escape(_('Class results'))}</h1>",
             "<p>" + escape(_("{n} students, graded in {s:.0f} s").format(
                 n=len(entries), s=seconds)) + "</p>"]
    parts += _distribution(graded)
    parts += _failure_rates(graded)
    parts += _slowest(entries)
    parts += _students(entries, steps)
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _bar(fraction: float, label: str) -> str:
    width = max(0.0, min(1.0, fraction)) * 20
    return f"<span class='bar' style='width:{width:.2f}em'></span> {escape(label)}"


def _distribution(graded: list[Entry]) -> list[str]:
    out = [f"<h2 id='scores'>{escape(_('Scores'))}</h2>", "<table>"]
    if not graded:
        return out + ["</table>"]
    top = max(entry.report["max_score"] for entry in graded) or 1
    buckets = Counter(min(9, entry.report["score"] * 10 // top) for entry in graded)
    for bucket in range(9, -1, -1):
        low, high = bucket * top // 10, top if bucket == 9 else (bucket + 1) * top // 10 - 1
        count = buckets.get(bucket, 0)
        out.append(f"<tr><td class='num'>{low}–{high}</td>"
                   f"<td>{_bar(count / len(graded), str(count))}</td></tr>")
    return out + ["</table>"]


def _failure_rates(graded: list[Entry]) -> list[str]:
    share = _("Each check, and the share of students whose code failed it, of those in whose "
              "code it ran (a check that needs a failed one is skipped, and not counted).")
    out = [f"<h2 id='checks'>{escape(_('What the class misunderstood'))}</h2>",
           f"<p>{escape(share)}</p>", "<table>"]
    failed: Counter[str] = Counter()
    described: dict[str, str] = {}
    seen: Counter[str] = Counter()
    for entry in graded:
        for check in entry.report["checks"]:
            if check["status"] not in (PASSED, FAILED):  # skipped: a check it needs failed
                continue
            key = f"{check['step']}::{check['name']}"
            described[key] = check["description"]
            seen[key] += 1
            failed[key] += check["status"] == FAILED
    for key in sorted(seen, key=lambda k: (-failed[k] / seen[k], k)):
        rate = failed[key] / seen[key]
        out.append(f"<tr><td>{escape(key.split('::')[0])}</td><td>{escape(described[key])}"
                   f"<br><small>{escape(key)}</small></td>"
                   f"<td>{_bar(rate, f'{rate:.0%}')}</td></tr>")
    return out + ["</table>"]


def _slowest(entries: list[Entry]) -> list[str]:
    out = [f"<h2 id='slowest'>{escape(_('Slowest submissions'))}</h2>", "<table>"]
    for entry in sorted(entries, key=lambda e: -e.seconds)[:5]:
        out.append(f"<tr><td>{escape(entry.name)}</td><td class='num'>{entry.seconds:.1f} s"
                   "</td></tr>")
    return out + ["</table>"]


def _students(entries: list[Entry], steps: list) -> list[str]:
    out = [f"<h2 id='students'>{escape(_('Students'))}</h2>"]
    for entry in entries:
        report = entry.report
        if report is None:
            out.append(f"<details><summary class='fail'>{escape(entry.name)}: "
                       f"{escape(entry.problem)}</summary></details>")
            continue
        failed = [check for check in report["checks"] if check["status"] == FAILED]
        head = f"{escape(entry.name)}: {report['score']}/{report['max_score']}"
        out.append(f"<details><summary>{head}</summary>")
        for step in report["steps"]:
            if step.get("problem"):
                out.append(f"<p class='fail'>{escape(step['id'])}: {escape(step['problem'])}</p>")
        for check in failed:
            lines = [check["message"], *(f"{d['label']} {d['value']}" for d in check["details"])]
            if check["hint"]:
                lines.append(_("hint: {hint}").format(hint=check["hint"]))
            out.append(f"<p class='fail'>{escape(check['step'])} ✗ "
                       f"{escape(check['description'])}</p><pre>{escape(chr(10).join(lines))}"
                       "</pre>")
        changed = entry.unstable()
        if changed:
            out.append(f"<p class='fail'>{escape(_('verdict changed between runs:'))} "
                       f"{escape(', '.join(changed))}</p>")
        out.append("</details>")
    return out
