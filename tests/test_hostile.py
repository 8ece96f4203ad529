"""Hostile submissions (tests/fixtures/hostile): code that forges results, patches or kills the
grader, escapes it, or hogs it. The grader grades each as it deserves, says so plainly, and
leaves nothing running.

Each test runs in the suite's own account, and, when the suite runs as root on Linux with
setpriv, once more with the whole grader as an unprivileged user (`nobody`, keeping only the
right to read files): the way a student or an instructor without root runs it. Then student code
runs as the grader's own user. What the grader cannot stop there is marked as an expected
failure, with the reason, rather than asserted away.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest
from conftest import ROOT, Run, grader, landlock

from grader import processes
from grader.labs import launcher
from grader.labs.server_host import StudentServer

HOSTILE = Path(__file__).with_name("fixtures") / "hostile"
LINUX = sys.platform.startswith("linux")
IS_ROOT = os.name == "posix" and os.geteuid() == 0
SETPRIV = shutil.which("setpriv")
# Runs the grader (argv[1:]) as a child and hands on its output: the grader's stdout is then a
# pipe of the unprivileged user, as it is when that user runs the grader from a shell.
RELAY = ("import subprocess, sys; done = subprocess.run(sys.argv[1:], capture_output=True, "
         "stdin=subprocess.DEVNULL); sys.stdout.buffer.write(done.stdout); "
         "sys.stderr.buffer.write(done.stderr); sys.exit(done.returncode)")


def _nobody() -> tuple[int, int]:
    import pwd

    try:
        entry = pwd.getpwnam("nobody")
        return entry.pw_uid, entry.pw_gid
    except KeyError:
        return 65534, 65534


def _setpriv() -> list[str]:
    uid, gid = _nobody()
    return [SETPRIV or "setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups",
            "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search"]


_CAN_DROP: list[bool] = []


def can_run_unprivileged() -> bool:
    """Root on Linux with a setpriv that can keep one capability (the venv may be in /root)."""
    if not _CAN_DROP:
        ok = False
        if LINUX and IS_ROOT and SETPRIV:
            try:
                ok = subprocess.run([*_setpriv(), sys.executable, "-c", "import psutil"],
                                    capture_output=True, timeout=30).returncode == 0
            except (OSError, subprocess.SubprocessError):
                ok = False
        _CAN_DROP.append(ok)
    return _CAN_DROP[0]


@pytest.fixture(params=["own", "unprivileged"] if LINUX and IS_ROOT and SETPRIV else ["own"])
def who(request: pytest.FixtureRequest) -> str:
    """'own': the suite's account (root here: hosts run as nobody). 'unprivileged': the grader
    itself as nobody, so that student code shares its user."""
    if request.param == "unprivileged" and not can_run_unprivileged():
        pytest.skip("needs root, Linux and setpriv to run the grader as an unprivileged user")
    return request.param


def grader_is_root(who: str) -> bool:
    return who == "own" and IS_ROOT


def copy_of(name: str, tmp_path: Path) -> Path:
    """The fixture in tmp_path; its step folders writable by anyone (a host running as nobody
    writes its pid files there)."""
    copy = tmp_path / name
    shutil.copytree(HOSTILE / name, copy)
    for folder in [copy, *(p for p in copy.iterdir() if p.is_dir())]:
        folder.chmod(0o777)
    return copy


def grade(who: str, *args: str, timeout: float = 60) -> Run:
    """`grader ARGS` as the given user, the way tests/conftest.py runs it."""
    if who == "own":
        return grader(*args, timeout=timeout)
    started = time.monotonic()
    done = subprocess.run(
        [*_setpriv(), sys.executable, "-c", RELAY, sys.executable, "-m", "grader", *args],
        cwd=ROOT, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT), "GRADER_LANG": "en", "NO_COLOR": "1"},
    )
    return Run(done.returncode, done.stdout.decode("utf-8", errors="replace"),
               done.stderr.decode("utf-8", errors="replace"), time.monotonic() - started)


def leftovers(marker: str, within: float = 2.0) -> list[str]:
    """Live processes whose command line mentions `marker` (a fixture copy's path), after
    giving the just-killed ones `within` seconds to be reaped."""
    deadline = time.monotonic() + within
    while True:
        found = []
        for process in psutil.process_iter(["pid", "cmdline", "status"]):
            try:
                cmdline = " ".join(process.info["cmdline"] or [])
                if marker in cmdline and process.info["status"] != psutil.STATUS_ZOMBIE:
                    found.append(f"{process.pid}: {cmdline[:200]}")
            except psutil.Error:
                continue
        if not found or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def running(pids: list[int], within: float = 2.0) -> list[int]:
    """Those of `pids` still alive (zombies are dead) after `within` seconds at most."""
    deadline = time.monotonic() + within
    while True:
        alive = []
        for pid in pids:
            try:
                if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                    alive.append(pid)
            except psutil.Error:
                pass
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.1)


def pids_in(path: Path) -> list[int]:
    try:
        return [int(line) for line in path.read_text().split()]
    except FileNotFoundError:
        return []


def check(run: Run, name: str) -> dict:
    return next(c for c in run.data["checks"] if c["name"] == name)


def said(check_result: dict) -> str:
    """Everything a check's verdict says, in one string."""
    parts = [check_result["message"], check_result["hint"]]
    parts += [f"{d['label']} {d['value']}" for d in check_result["details"]]
    return "\n".join(parts)


def assert_calm(run: Run, copy: Path, code: int | tuple[int, ...], seconds: float = 30) -> None:
    """The grader ended on its own, in time, with the exit code it should, no traceback, and
    nothing of the submission still running."""
    assert run.code in (code if isinstance(code, tuple) else (code,)), run.stderr[-2000:]
    assert "Traceback" not in run.stdout + run.stderr
    assert "INTERNALERROR" not in run.stdout + run.stderr
    assert run.seconds < seconds
    assert not leftovers(str(copy))


def _same_user_writes_our_stdout(run: Run) -> bool:
    return '"kind": "result"' in run.stdout or '"kind": "result"' in run.stderr


# -- forging and patching ---------------------------------------------------------------------
def test_forged_records_earn_nothing(who: str, tmp_path: Path) -> None:
    copy = copy_of("forge_records", tmp_path)
    run = grade(who, "--dir", str(copy), "04", "--json", "-")
    assert_calm(run, copy, code=1)
    if not grader_is_root(who) and LINUX and _same_user_writes_our_stdout(run):
        pytest.xfail("limitation: student code running as the grader's own user can write "
                     "into pipes that other processes of that user hold (here the relay's, "
                     "which carries the grader's stdout); the grader's own processes refuse "
                     "it (not dumpable), and --json FILE is intact (the next test)")
    assert run.data["score"] == 0 and run.data["passed"] is False
    assert set(run.statuses().values()) <= {"failed", "skipped"}
    first = check(run, "asks_for_name")
    assert first["status"] == "failed"
    assert first["message"] == "alice did not receive the expected line"
    assert "the server closed the connection" in said(first)


def test_forged_records_do_not_reach_the_json_file(who: str, tmp_path: Path) -> None:
    copy = copy_of("forge_records", tmp_path)
    out = copy / "report.json"  # on the supervisor's command line: the forger appends to it
    out.write_text("{}")
    out.chmod(0o666)
    run = grade(who, "--dir", str(copy), "04", "--json", str(out))
    assert_calm(run, copy, code=1)
    report = Run(run.code, out.read_text(encoding="utf-8"), "", run.seconds)
    assert report.data["score"] == 0
    assert set(report.statuses().values()) <= {"failed", "skipped"}


def test_stolen_token_earns_nothing(who: str, tmp_path: Path) -> None:
    copy = copy_of("steal_token", tmp_path)
    run = grade(who, "--dir", str(copy), "04", "--json", "-")
    assert "Traceback" not in run.stdout + run.stderr
    assert not leftovers(str(copy))
    # The grader's processes are not dumpable: /proc/<worker>/mem and /fd stay shut to it.
    assert run.data["score"] == 0 and run.code == 1
    assert set(run.statuses().values()) <= {"failed", "skipped"}
    assert check(run, "asks_for_name")["message"] == "alice did not receive the expected line"


def test_patched_grader_modules_change_nothing(who: str, tmp_path: Path) -> None:
    copy = copy_of("patch_grader", tmp_path)
    run = grade(who, "--dir", str(copy), "04", "--json", "-")
    assert_calm(run, copy, code=1)
    assert run.data["score"] == 0 and run.data["passed"] is False
    assert set(run.statuses().values()) <= {"failed", "skipped"}
    first = check(run, "asks_for_name")
    assert first["message"] == "alice did not receive the expected line"
    assert "'patched: " in said(first)  # what the host patched, as alice received it
    if _grader_importable_by_hosts(copy / "04_multi_user"):
        assert "'patched: grader.results." in said(first)


def _grader_importable_by_hosts(folder: Path) -> bool:
    """Can a host import the grader (no PYTHONPATH: an installed kit)? Then the patches ran.
    Asked as a host starts: python -S, site-packages on sys.path, no .pth hooks (so an
    editable install, whose hook is a .pth file, is out of a host's reach)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    probe = (f"import sys; sys.path.extend({launcher.SITE_PACKAGES!r}.split({os.pathsep!r})); "
             "import grader.results")
    done = subprocess.run([sys.executable, "-S", "-c", probe], cwd=folder, env=env,
                          capture_output=True, timeout=30)
    return done.returncode == 0


# -- killing --------------------------------------------------------------------------------
def test_killing_its_parents_costs_only_its_checks(who: str, tmp_path: Path) -> None:
    copy = copy_of("kill_parent", tmp_path)
    run = grade(who, "--dir", str(copy), "01", "--json", "-")
    assert_calm(run, copy, code=1)
    assert run.data["score"] == 0
    first = check(run, "echoes_a_line")
    assert first["status"] == "failed"
    # As root the zygote (the host's parent, also nobody) dies and takes the host with it;
    # otherwise the worker dies too, and the supervisor says so.
    assert ("your server's process ended" in first["message"]
            or "your code ended the grader's process (exit -9)" in first["message"])
    others = [c for c in run.data["checks"] if c["name"] != "echoes_a_line"]
    assert others and all(c["status"] == "skipped" for c in others)
    assert all("not run" not in c["message"] for c in run.data["checks"])


def test_killing_the_zygote_mid_step_spares_later_checks(who: str, tmp_path: Path) -> None:
    copy = copy_of("kill_zygote_later", tmp_path)
    run = grade(who, "--dir", str(copy), "04", "--json", "-")
    # The check during which the zygote dies may still pass: its host may outlive the kill.
    assert_calm(run, copy, code=(0, 1))
    statuses = run.statuses()
    before = list(statuses)[:list(statuses).index("joins_after_dead_client")]
    assert all(statuses[name] == "passed" for name in before)  # erin had not come yet
    assert all("not run" not in c["message"] for c in run.data["checks"])
    later = ["silent_client_blocks_nobody", "keeps_order", "thirty_clients_at_once",
             "survives_churn", "uses_threads"]
    failed = {c["name"]: c["message"] for c in run.data["checks"]
              if c["name"] in later and c["status"] != "passed"}
    assert not failed  # a new zygote served them


@pytest.mark.skipif(not launcher.CAN_FORK, reason="no zygote where fork is not safe")
def test_a_zygote_killed_just_before_a_check_is_replaced_for_it() -> None:
    """Killed a moment before a fork, the zygote is not reaped yet: the fork through it fails,
    and the check still gets its host (from a new zygote)."""
    processes.become_subreaper()
    for _ in range(5):
        code = StudentServer(ROOT / "solutions" / "04_multi_user" / "server.py")
        try:
            assert code.prepare() == "" and code.zygote
            os.kill(code.zygote.process.pid, signal.SIGKILL)
            code.start().close()
            assert code.restarts == 1
        finally:
            code.close()


def test_one_steps_code_cannot_kill_another_steps_hosts(who: str, tmp_path: Path) -> None:
    if not grader_is_root(who):
        pytest.skip("student code running as the grader's own user may kill the grader itself")
    copy = copy_of("kill_neighbours", tmp_path)
    shutil.copytree(ROOT / "solutions" / "04_multi_user", copy / "04_multi_user")
    run = grade(who, "--dir", str(copy), "01", "04", "--json", "-")
    assert_calm(run, copy, code=1)
    steps = {step["id"]: step for step in run.data["steps"]}
    assert steps["01"]["points"] == 0
    assert steps["04"]["points"] == 40  # each worker's hosts run as a user of their own


# -- escaping and hogging -------------------------------------------------------------------
def test_escaped_session_does_not_outlive_the_grader(who: str, tmp_path: Path) -> None:
    copy = copy_of("setsid_escape", tmp_path)
    run = grade(who, "--dir", str(copy), "01", "--json", "-")
    assert_calm(run, copy, code=0)
    assert run.data["score"] == 10
    escaped = pids_in(copy / "01_echo" / "escaped.pid")
    assert escaped, "no grandchild wrote its pid: the attack did not run"
    assert not running(escaped)


def test_fork_bomb_leaves_nothing(who: str, tmp_path: Path) -> None:
    copy = copy_of("fork_bomb", tmp_path)
    run = grade(who, "--dir", str(copy), "01", "--json", "-")
    assert_calm(run, copy, code=0)
    assert run.data["score"] == 10
    spawned = pids_in(copy / "01_echo" / "spawned.pids")
    assert len(spawned) >= 50, "the first host did not start its 50 processes"
    assert not running(spawned)
    assert not leftovers("hostile-fork-bomb-7f3a " + str(copy / "01_echo"))


def test_fork_chain_does_not_outlive_the_grader(who: str, tmp_path: Path) -> None:
    copy = copy_of("fork_chain", tmp_path)
    run = grade(who, "--dir", str(copy), "01", "--json", "-")
    assert_calm(run, copy, code=0)
    assert run.data["score"] == 10
    heartbeat = copy / "01_echo" / "alive.txt"
    assert heartbeat.exists(), "no link of the chain wrote alive.txt: the attack did not run"
    then = heartbeat.stat().st_mtime_ns
    time.sleep(0.5)  # a live chain touches it every 64 links: hundreds of times a second
    assert heartbeat.stat().st_mtime_ns == then, "a link of the chain outlived the grader"


def test_what_a_client_leaves_behind_ends_with_its_check(who: str, tmp_path: Path) -> None:
    """A client that double-forks a sleeper holding its stdout, each time it starts: the
    grader once hung 90 s on that pipe (0/15), and the sleepers lived until the step's end."""
    copy = copy_of("client_sleepers", tmp_path)
    folder = copy / "05_client"
    (folder / "client.py").write_text(  # the attack first, then the reference client
        (folder / "sleeper_prelude.py").read_text(encoding="utf-8")
        + (ROOT / "solutions" / "05_client" / "client.py").read_text(encoding="utf-8"),
        encoding="utf-8")
    (folder / "client.py").chmod(0o666)
    run = grade(who, "--dir", str(copy), "05", "--json", "-")
    assert_calm(run, copy, code=0)
    assert run.data["score"] == 15
    alive = (copy / "05_client" / "alive.txt").read_text().split()
    assert len(alive) >= 10, "the client did not start once a check"
    assert set(alive) == {"0"}, f"sleepers of earlier checks still alive: {alive}"
    assert not running(pids_in(copy / "05_client" / "sleepers.pid"))


@pytest.mark.skipif(not landlock(), reason="confining what a host reads needs Landlock")
def test_a_submission_cannot_read_the_kit_or_the_graders_files(who: str, tmp_path: Path) -> None:
    """Run the kit's own solution, found beside the host's script: 10/10 with no code of its
    own (red team: 40/40 for 04, 38/40 through the reference server). And a file only the
    grader's user may read stays unread, even where the host keeps the right to read any."""
    copy = copy_of("read_the_kit", tmp_path)
    hidden = tmp_path / "instructor"
    hidden.mkdir(mode=0o700)
    (hidden / "key.txt").write_text("TOP-SECRET-answer-key")
    (hidden / "key.txt").chmod(0o600)
    if who == "own":
        run = grader("--dir", str(copy), "01", "--json", "-",
                     HOSTILE_SECRET=str(hidden / "key.txt"))
    else:
        run = grade(who, "--dir", str(copy), "01", "--json", "-")
    assert run.data["score"] == 0
    assert "TOP-SECRET" not in run.stdout + run.stderr
    said = " ".join(c["message"] + " ".join(d["value"] for d in c["details"])
                    for c in run.data["checks"]) + " ".join(
        s.get("problem", "") for s in run.data["steps"])
    assert "solutions" in said or "ermission" in said, said


@pytest.mark.skipif(not LINUX, reason="/dev/shm and /proc/sysvipc are Linux's")
def test_what_a_run_leaves_in_shared_folders_is_removed(who: str, tmp_path: Path) -> None:
    """Files in /tmp, /var/tmp and /dev/shm and System V memory, left by a host's own user:
    /dev/shm holds memory that no limit counts, and a drop folder passes data to the next
    student. Removed after the run, once that user's processes are gone; with Landlock, most
    are never made, and another student's folder is never written to."""
    if not grader_is_root(who):
        pytest.skip("hosts have a user of their own only when the grader is root")
    copy = copy_of("litter", tmp_path)
    victim = tmp_path / "victim"  # another student's folder, that anyone may write to
    victim.mkdir()
    (victim / "note.txt").write_text("mine\n")
    (victim / "note.txt").chmod(0o666)
    victim.chmod(0o777)
    run = grader("--dir", str(copy), "01", "--json", "-", HOSTILE_VICTIM=str(victim))
    assert_calm(run, copy, code=0)
    assert run.data["score"] == 10
    if landlock():  # writing only in its own folder and its temp folder
        assert (victim / "note.txt").read_text() == "mine\n"
        assert not (victim / "planted.py").exists()
    made = (copy / "01_echo" / "made.txt").read_text().split("\n")
    paths = [line for line in made if line.startswith("/")]
    segments = [line.split()[1] for line in made if line.startswith("shm ")]
    assert paths and segments, "the submission left nothing: the attack did not run"
    assert [path for path in paths if os.path.lexists(path)] == []
    with open("/proc/sysvipc/shm", encoding="ascii") as table:
        ids = {row.split()[1] for row in list(table)[1:]}
    assert ids.isdisjoint(segments)


def test_gil_hog_costs_only_the_checks_that_relay(who: str, tmp_path: Path) -> None:
    copy = copy_of("gil_hog", tmp_path)
    run = grade(who, "--dir", str(copy), "04", "--json", "-")
    assert_calm(run, copy, code=1)
    statuses = run.statuses()
    for name in ("asks_for_name", "asks_again_after_blank_name", "tells_others_who_joined",
                 "uses_threads"):
        assert statuses[name] == "passed", name
    relays = check(run, "relays_to_others")
    assert relays["status"] == "failed"
    assert "alice received: nothing within 1 s" in said(relays)
    assert all("not run" not in c["message"] for c in run.data["checks"])
    assert set(statuses.values()) <= {"passed", "failed", "skipped"}


def test_a_server_that_never_gets_ready_costs_one_wait_per_worker(who: str,
                                                                   tmp_path: Path) -> None:
    """Its hosts cannot say they are ready. Before: every check waited 8 s and left its host
    computing, 04 took 97 s and 3 CPU-minutes. Now a host that is not ready is ended, and after
    two such starts the worker's other checks fail at once."""
    copy = copy_of("never_ready", tmp_path)
    run = grade(who, "--dir", str(copy), "04", "--json", "-")
    assert_calm(run, copy, code=1, seconds=40)
    first = check(run, "asks_for_name")
    assert first["status"] == "failed"
    assert "did not start within 8 s" in said(first)
    assert "computing on a whole CPU core" in said(first)
    assert run.data["score"] == 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="schedstat is Linux's")
def test_a_loop_that_never_sleeps_counts_in_full_on_a_crowded_cpu() -> None:
    """On a loaded machine a spinning student gets a share of a CPU, maybe under the checks'
    limit of 0.2 s in 1 s; the time it waited to run counts too (it failed CI so, once). Honest
    work that waited long for its CPU is not taken for a loop (it failed the solution's
    client so, with four students graded at once)."""
    cpu = min(os.sched_getaffinity(0))
    pin = f"import os; os.sched_setaffinity(0, {{{cpu}}})\n"
    spinning = [subprocess.Popen([sys.executable, "-c", pin + "while True: pass"])
                for _ in range(5)]  # five loops on one CPU: each gets about a fifth of it
    idle = subprocess.Popen([sys.executable, "-c",
                             pin + "import time\nwhile True: time.sleep(0.05)"])
    # honest work on that crowded CPU, begun as it is watched: a burst of 10 ms, then a rest,
    # or an exit; each waits for its CPU far longer than it uses it
    burst = pin + ("import sys, time\nprint('ready', flush=True)\nsys.stdin.readline()\n"
                   "start = time.process_time()\n"
                   "while time.process_time() < start + 0.01: pass\n")
    resting_after = subprocess.Popen([sys.executable, "-c", burst + "time.sleep(60)"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    exiting = subprocess.Popen([sys.executable, "-c", burst], stdin=subprocess.PIPE,
                               stdout=subprocess.PIPE)
    try:
        time.sleep(0.5)
        for _attempt in range(3):  # seconds the hypervisor took from the CPUs measure nothing
            stolen = processes.stolen_seconds()
            wanted = processes.busy_over(psutil.Process(spinning[0].pid), 1.0)
            resting = processes.busy_over(psutil.Process(idle.pid), 1.0)
            stolen = processes.stolen_seconds() - stolen
            if stolen < processes.STOLEN:
                break
        else:
            pytest.skip(f"the hypervisor took {stolen:.2f} s of 2 s from the CPUs, 3 times")
        worked = []
        for process in (resting_after, exiting):
            # its start-up (slow on that CPU) is over: the burst is all it does when watched
            assert select.select([process.stdout], [], [], 30)[0], "it did not start"
            assert process.stdout.readline() == b"ready\n"
            process.stdin.write(b"go\n")
            process.stdin.flush()
            worked.append(processes.busy_over(psutil.Process(process.pid), 1.0,
                                              lambda p=process: p.poll() is None))
    finally:
        for process in [*spinning, idle, resting_after, exiting]:
            process.kill()
            process.wait()
    assert wanted > 0.8 and resting < 0.2 and max(worked) < 0.2, (wanted, resting, worked,
                                                                  f"stolen {stolen:.2f} s")


# -- honest code that looks odd -------------------------------------------------------------
def test_fixed_port_at_import_grades_the_same_every_time(who: str, tmp_path: Path) -> None:
    copy = copy_of("fixed_port_at_import", tmp_path)
    squatter = socket.socket()
    try:
        squatter.bind(("127.0.0.1", 8080))  # the port the submission wants, taken: contention
        squatter.listen()
    except OSError:
        pass  # someone has it already: contention as well
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            runs = list(pool.map(
                lambda _n: grade(who, "--dir", str(copy), "01", "--json", "-", timeout=60),
                range(20)))
    finally:
        squatter.close()
    for run in runs:
        assert run.code == 0, run.stdout[-2000:] + run.stderr[-2000:]
        assert run.data["score"] == 10
        assert "Traceback" not in run.stdout + run.stderr
    assert len({tuple(sorted(run.statuses().items())) for run in runs}) == 1
    assert not leftovers(str(copy))


def test_helpers_named_like_tests_are_not_collected(who: str, tmp_path: Path) -> None:
    copy = copy_of("test_named_helper", tmp_path)
    step = copy / "01_echo"
    # What would break a pytest session that read the student's folder: none of it may be read.
    trap = 'raise SystemExit("the grader read the student\'s {}")\n'
    for folder in (copy, step):
        (folder / "conftest.py").write_text(trap.format("conftest.py"))
        (folder / "test_server.py").write_text(trap.format("test_server.py"))
        (folder / "pytest.ini").write_text("[pytest]\naddopts = --no-such-option\n")
    run = grade(who, "--dir", str(copy), "01", "--json", "-")
    assert_calm(run, copy, code=0)
    assert run.data["score"] == 10
    assert set(run.statuses().values()) == {"passed"}
    assert "the grader read" not in run.stdout + run.stderr



HOST_WITH_ESCAPEE = """
import os, subprocess, sys, time
import psutil
from grader import processes
processes.become_subreaper()
host = subprocess.Popen([sys.executable, "-c", '''
import os, subprocess, time
os.setsid()  # a host: a session of its own
stay = subprocess.Popen(["sleep", "60"])
gone = subprocess.Popen(["sleep", "60"], start_new_session=True)  # leaves the group
print(stay.pid, gone.pid, flush=True)
time.sleep(60)
'''], stdout=subprocess.PIPE)
stay, gone = map(int, host.stdout.readline().split())
processes.end_group(host.pid)
host.wait(5)
alive = lambda pid: psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"
time.sleep(0.1)
print(alive(stay), alive(gone), flush=True)
processes.sweep()  # one look: what left the group came to us, its subreaper
print(alive(gone))
"""


@pytest.mark.skipif(not processes.LINUX, reason="a subreaper is Linux's")
def test_a_hosts_group_ends_with_it_and_what_left_the_group_ends_in_the_sweep() -> None:
    run = subprocess.run([sys.executable, "-c", HOST_WITH_ESCAPEE], capture_output=True,
                         text=True, timeout=30, cwd=ROOT)
    assert run.stdout.split() == ["False", "True", "False"], run.stderr


@pytest.mark.skipif(not processes.LINUX, reason="pids handed out in turn are Linux's")
def test_a_look_reads_only_processes_made_since_we_became_a_subreaper(
        monkeypatch: pytest.MonkeyPatch) -> None:
    forks = processes._forks()
    assert forks
    me, older = os.getpid(), os.getppid()
    monkeypatch.setattr(processes, "_BORN", (me, forks))
    child = subprocess.Popen(["sleep", "30"])
    try:
        ours = processes._ours_since_born()
        assert ours(child.pid) and not ours(me) and not (older < me and ours(older))
        assert child.pid in processes._parents() and older not in processes._parents()
        wrapped = processes._handed_out_after(30_000, 400)
        assert wrapped(30_001) and wrapped(301) and wrapped(400) and not wrapped(20_000)
        assert not wrapped(30_000) and not wrapped(401)
        monkeypatch.setattr(processes, "_BORN", (me, forks - 10**6))  # they may have come round
        assert processes._ours_since_born()(older)
        monkeypatch.setattr(processes, "_BORN", (me + 1, forks))  # a fork's copy: any pid
        assert processes._ours_since_born()(older)
    finally:
        child.kill()
        child.wait()


def test_control_characters_in_what_a_submission_says_are_shown_not_obeyed(
        tmp_path: Path) -> None:
    """An exception's text reaches the report: raw, ESC [2J would clear the screen and paint
    a fake score."""
    folder = tmp_path / "01_echo"
    folder.mkdir()
    (folder / "server.py").write_text(
        'def serve(listener):\n    raise RuntimeError("\\x1b[2J\\x1b[32mScore: 10/10\\x07")\n',
        encoding="utf-8")
    run = grader("--dir", str(tmp_path), "01", "--json", "-")
    assert run.data["score"] == 0
    said = run.stdout + run.stderr
    assert "\x1b" not in said and "\x07" not in said
    assert "\\x1b[2J" in " ".join(pair["value"] for check in run.data["checks"]
                                  for pair in check["details"])


def _host_module():
    sys.path.insert(0, str(ROOT / "grader" / "labs"))
    try:
        import host  # the host script's own functions (it runs with -S, not as grader.labs.host)
    finally:
        sys.path.pop(0)
    return host


@pytest.fixture
def open_tmp() -> Iterator[Path]:
    """A folder in the system's temporary folder, which anyone may pass through (pytest's own
    is root's alone)."""
    folder = Path(tempfile.mkdtemp())
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def test_a_folder_is_readable_by_anyone_only_if_every_folder_above_lets_them_through(
        open_tmp: Path) -> None:
    host = _host_module()
    tmp_path = open_tmp
    inner = tmp_path / "open" / "lib"
    inner.mkdir(parents=True)
    for folder in (tmp_path, tmp_path / "open", inner):
        folder.chmod(0o755)
    assert host._readable_by_anyone([str(inner), str(tmp_path / "not there")])
    (tmp_path / "open").chmod(0o750)  # others may not pass through
    assert not host._readable_by_anyone([str(inner)])
    (tmp_path / "open").chmod(0o755)
    inner.chmod(0o711)  # nor list it
    assert not host._readable_by_anyone([str(inner)])


@pytest.mark.skipif(not IS_ROOT, reason="the grader drops to another user only as root")
def test_student_code_cannot_read_a_file_only_root_may_read(open_tmp: Path) -> None:
    host = _host_module()
    tmp_path = open_tmp
    if not host._readable_by_anyone(sys.path[1:]):
        pytest.skip("this Python lives where only root may read: hosts keep the right to read")
    secret = tmp_path / "secret.txt"
    secret.write_text("for root's eyes")
    secret.chmod(0o600)
    work = tmp_path / "work"
    shutil.copytree(ROOT / "solutions" / "01_echo", work / "01_echo")
    for folder in (tmp_path, work, work / "01_echo"):
        folder.chmod(0o777)
    server = work / "01_echo" / "server.py"
    server.write_text(f"try:\n    open({str(secret)!r}).read()\n    raise SystemExit('read it')\n"
                      "except PermissionError:\n    pass\n" + server.read_text(encoding="utf-8"),
                      encoding="utf-8")
    run = grader("--dir", str(work), "01", "--json", "-")
    assert run.data["score"] == 10, run.stdout


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX: named pipes")
def test_the_report_replaces_what_stands_at_its_path(tmp_path: Path) -> None:
    """Student code that can write the report's folder may put a symlink (root would write
    through it) or a pipe (the grader would wait on it forever) at the --json path."""
    from grader.cli import write_file

    victim = tmp_path / "victim.txt"
    victim.write_text("keep me", encoding="utf-8")
    link = tmp_path / "link.json"
    link.symlink_to(victim)
    write_file(link, "{}")
    assert victim.read_text(encoding="utf-8") == "keep me"
    assert not link.is_symlink() and link.read_text(encoding="utf-8") == "{}"
    pipe = tmp_path / "pipe.json"
    os.mkfifo(pipe)
    write_file(pipe, "{}")  # returns: a pipe with no reader would block open() for good
    assert pipe.read_text(encoding="utf-8") == "{}"
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "link.json", "pipe.json", "victim.txt"]
