"""`grader batch`: a class graded in one command, each student contained, the results written as
a CSV, one report per student, and a page for the instructor."""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import tempfile
import time
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import REPORT, ROOT, grader, made_once
from fixtures.bugs import BUGS

SCRIPTS = ROOT / "tests" / "fixtures" / "scripts"


@pytest.fixture(scope="session")
def graded_class(tmp_path_factory) -> Path:
    """A class of six, each kind of entry once, graded on step 04 (and 01 where it has one)."""
    with made_once("graded_class", tmp_path_factory) as root:
        out = root / "grades"
        if not (out / "grades.csv").is_file():
            shutil.rmtree(root, ignore_errors=True)  # what a failed first try left
            grade_a_class(root, out)
        return out


def grade_a_class(root: Path, out: Path) -> None:
    room = root / "submissions"
    room.mkdir(parents=True)
    shutil.copytree(ROOT / "solutions", room / "anna")  # a lessons-like folder
    repo = room / "boris" / "lessons"  # a repository with lessons/ inside
    shutil.copytree(ROOT / "solutions" / "04_multi_user", repo / "04_multi_user")
    shutil.copy(SCRIPTS / "guarded_server.py", room / "vera_04.py")  # a file naming its step
    shutil.copy(SCRIPTS / "guarded_server.py", room / "gleb.py")  # a file naming none: --step
    bug = BUGS["no_framing"]
    with zipfile.ZipFile(room / "dima.zip", "w") as zipped:  # a .zip with one folder inside
        zipped.writestr(f"dima/{bug.step_folder}/server.py", bug.source())
    (room / "egor.zip").write_bytes(b"not a zip at all")
    run = grader("batch", str(room), "--step", "04", "--out", str(out), timeout=300)
    assert run.code == 0, run.stderr
    assert "6 students" in run.stdout


def rows(out: Path) -> dict[str, dict[str, str]]:
    with (out / "grades.csv").open(encoding="utf-8", newline="") as f:
        return {row["student"]: row for row in csv.DictReader(f)}


def test_each_kind_of_submission_gets_its_row(graded_class: Path) -> None:
    table = rows(graded_class)
    assert list(table) == ["anna", "boris", "dima", "egor", "gleb", "vera_04"]  # sorted, stable
    assert [table[name]["04"] for name in ("anna", "boris", "gleb", "vera_04")] == ["40"] * 4
    assert int(table["dima"]["04"]) < 40
    assert "04::two_lines_in_one_recv" in table["dima"]["failed"].split()
    assert "not a .zip" in table["egor"]["problem"]
    with (graded_class / "grades.csv").open(encoding="utf-8") as f:
        header = f.readline().strip()
    assert header == "student,04,total,max,bonus,failed,problem,unstable,seconds"


def test_every_graded_student_has_a_valid_report(graded_class: Path) -> None:
    reports = sorted((graded_class / "students").glob("*.json"))
    assert [p.stem for p in reports] == ["anna", "boris", "dima", "gleb", "vera_04"]
    for path in reports:
        data = json.loads(path.read_text(encoding="utf-8"))
        REPORT.validate(data)
        assert "grader-batch-" not in data["folder"]  # the submission, not a scratch copy


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.ids: list[str] = []
        self.links: list[str] = []

    def handle_starttag(self, tag, attrs) -> None:
        values = dict(attrs)
        if "id" in values:
            self.ids.append(values["id"] or "")
        for name in ("src", "href"):
            if values.get(name):
                self.links.append(values[name] or "")

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_the_report_page_shows_what_the_class_misunderstood(graded_class: Path) -> None:
    html = (graded_class / "report.html").read_text(encoding="utf-8")
    page = Page()
    page.feed(html)
    text = " ".join(page.text)
    assert page.ids == ["scores", "checks", "slowest", "students"]
    assert page.links == []  # self-contained: nothing fetched from anywhere
    assert "keeps two messages apart when they arrive in one recv()" in text
    assert "dima: " in text and "egor: not a .zip" in text
    assert "hint:" in text  # the feedback the student saw


# Measures what the browser laid out: each bar of "What the class misunderstood", in px.
MEASURE = ("<script>document.body.insertAdjacentHTML('beforeend', '<pre id=measured>' + "
           "JSON.stringify([...document.querySelector('#checks ~ table').querySelectorAll("
           "'tr')].map(row => [row.querySelector('.bar').getBoundingClientRect().width, "
           "row.lastElementChild.textContent.trim()])) + '</pre>')</script>")


@pytest.mark.skipif(not shutil.which("chromium"), reason="Debian's chromium is not installed")
def test_the_report_page_renders_in_a_browser(graded_class: Path, tmp_path: Path) -> None:
    page = tmp_path / "measured.html"  # the page as written, and the measuring script
    page.write_text((graded_class / "report.html").read_text(encoding="utf-8")
                    .replace("</body>", MEASURE + "</body>"), encoding="utf-8")
    done = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=60)
    assert "What the class misunderstood" in done.stdout
    assert done.stdout.count("<details>") == 6
    measured = done.stdout.split("<pre id=\"measured\">", 1)[1].split("</pre>", 1)[0]
    bars = [(width, int(label.rstrip("%"))) for width, label in json.loads(measured)]
    assert bars and bars == sorted(bars, reverse=True)  # most misunderstood first
    for width, percent in bars:  # each bar drawn as wide as its share (20em for 100%)
        assert abs(width - bars[0][0] * percent / bars[0][1]) <= 1.5, bars
    assert bars[0][1] > 0 and bars[0][0] > 50 and bars[-1] == (0, 0)


def test_repeat_names_a_check_whose_verdict_changed(tmp_path: Path) -> None:
    room = tmp_path / "room"
    folder = room / "flaky" / "01_echo"
    folder.mkdir(parents=True)
    # Echoes in every other import: it counts its imports in a file
    # that the hosts (maybe another user) can write. A coin would land the same way six times
    # in one run of this test in 32.
    shared = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path(tempfile.gettempdir())
    counter = shared / f"grader-test-{os.getpid()}-{time.monotonic_ns()}"
    counter.touch()
    counter.chmod(0o666)
    folder.joinpath("server.py").write_text(
        "import os\n"
        f"fd = os.open({str(counter)!r}, os.O_WRONLY | os.O_APPEND)\n"
        "os.write(fd, b'x')\n"  # one append, so runs at the same time each get their own rank
        "flip = os.lseek(fd, 0, os.SEEK_CUR) % 2\n"
        "def serve(listener):\n"
        "    while True:\n"
        "        conn, _ = listener.accept()\n"
        "        data = conn.recv(100)\n"
        "        if flip:\n"
        "            conn.sendall(data)\n", encoding="utf-8")
    try:
        run = grader("batch", str(room), "--step", "01", "--repeat", "2", "--out",
                     str(tmp_path / "out"), timeout=300)
        imports = counter.stat().st_size
    finally:
        counter.unlink()
    assert run.code == 0, run.stderr
    assert "flaky: verdict changed between runs: 01::" in run.stdout, (imports, run.stdout)
    assert rows(tmp_path / "out")["flaky"]["unstable"].startswith("01::")


def test_an_empty_folder_is_said_and_exit_2(tmp_path: Path) -> None:
    run = grader("batch", str(tmp_path))
    assert run.code == 2 and "no submissions" in run.stderr


def test_a_file_that_names_no_step_needs_one(tmp_path: Path) -> None:
    (tmp_path / "room").mkdir()
    shutil.copy(SCRIPTS / "guarded_server.py", tmp_path / "room" / "gleb.py")
    run = grader("batch", str(tmp_path / "room"), "--out", str(tmp_path / "out"))
    assert run.code == 0
    assert "which step is gleb.py" in rows(tmp_path / "out")["gleb"]["problem"]


@pytest.mark.parametrize(("stem", "named"), [
    ("ivanov_04", ["04"]), ("lab4", ["04"]), ("sa1_04", ["04"]), ("group2_05_v3", ["05"]),
    ("05_client", ["05"]), ("2026_lab_03", ["03"]), ("gleb", []), ("hw2_step4", ["02", "04"]),
    ("step_01_and_04", ["01", "04"]), ("lab7", []),
])
def test_a_file_name_gives_its_step(stem: str, named: list[str]) -> None:
    from grader.batch import steps_named
    assert steps_named(stem) == named


def test_a_cascade_counts_as_one_failure_for_the_instructor() -> None:
    """A check skipped because one it needs failed is not a second misunderstanding: not in the
    CSV's failed column, not in "failed most", not in the page's rates (of the students in
    whose code a check ran)."""
    from grader.batch import Entry, failed_checks, summary
    from grader.render.class_report import _failure_rates

    def entry(name: str, **statuses: str) -> Entry:
        checks = [{"step": "04", "name": check, "status": status, "description": check,
                   "message": "", "hint": "", "details": []}
                  for check, status in statuses.items()]
        return Entry(name, Path(name), reports=[{"checks": checks, "passed": False}])

    stuck = entry("stuck", asks_for_name="failed", relays_to_others="skipped")
    relays = entry("relays", asks_for_name="passed", relays_to_others="failed")
    fine = entry("fine", asks_for_name="passed", relays_to_others="passed")
    assert failed_checks(stuck) == ["04::asks_for_name"]
    assert "04::asks_for_name (1), 04::relays_to_others (1)" in summary(
        [stuck, relays, fine], 1.0, Path("out"))
    rates = " ".join(_failure_rates([stuck, relays, fine]))
    assert rates.count("50%") == 1  # relays_to_others: failed in one of the two that ran it
    assert rates.count("33%") == 1  # asks_for_name: one of three
