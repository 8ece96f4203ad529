"""Starting processes with a private channel, and ending them with everything they started.

The one module of the grader with OS branches. On Linux the grader's processes are child
subreapers: whatever a submission starts, double-forked or in a session of its own, stays
below them and is found and ended. Elsewhere on POSIX a process group is the net; on Windows a
job object.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import psutil

POSIX = os.name == "posix"
LINUX = sys.platform.startswith("linux")
CAN_FORK = LINUX  # fork a worker from a single-threaded supervisor (macOS: spawn is safer)
NOBODY = "65534:65534"  # who runs student code when the grader runs as root


def become_subreaper() -> None:
    """Orphans of our descendants become our children, so that none can escape (Linux).
    Call it before starting any: a look at the processes then reads only those made since."""
    if LINUX:
        import ctypes

        pr_set_child_subreaper = 36
        ctypes.CDLL(None).prctl(pr_set_child_subreaper, 1, 0, 0, 0)
        global _BORN
        _BORN = (os.getpid(), _forks())


# (our pid, processes made on the machine so far) when we became a subreaper. Linux hands out
# pids in turn, wrapping at pid_max, so every process made since then has a pid after ours
# and up to the last one handed out, until as many have been made as there are pids.
_BORN: tuple[int, int] | None = None


def _forks() -> int | None:
    """How many processes the machine has made since it started (/proc/stat), if it says."""
    try:
        with open("/proc/stat", "rb") as stat:
            for line in stat:
                if line.startswith(b"processes "):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def _ours_since_born() -> Callable[[int], bool]:
    """Whether a pid may be one of our descendants': on Linux, once we became a subreaper,
    only those handed out since (a class's looks read a few dozen processes, not hundreds)."""
    if _BORN is None or _BORN[0] != os.getpid():  # never marked, or a fork's copy
        return lambda pid: True
    me, forks_then = _BORN
    try:
        with open("/proc/sys/kernel/ns_last_pid", "rb") as f:
            last = int(f.read())
        with open("/proc/sys/kernel/pid_max", "rb") as f:
            pid_max = int(f.read())
    except (OSError, ValueError):
        return lambda pid: True
    forks_now = _forks()
    if forks_now is None or forks_now - forks_then >= pid_max // 2:  # pids may have come round
        return lambda pid: True
    return _handed_out_after(me, last)


def _handed_out_after(first: int, last: int) -> Callable[[int], bool]:
    """Whether a pid came after `first`, up to `last`, the pids handed out in turn."""
    if first <= last:
        return lambda pid: first < pid <= last
    return lambda pid: pid > first or pid <= last  # they wrapped at pid_max meanwhile


_UNPRIVILEGED: list[str] = []


def unprivileged_user() -> str:
    """'UID:GID,UID:GID' for hosts to become (the first that works), or '' when the grader is
    not root. The first is a user of this process's own, unused by anyone else, so that one
    step's code cannot signal another step's hosts; then nobody, where such a user cannot be."""
    if not _UNPRIVILEGED:
        _UNPRIVILEGED.append(new_user())
    return _UNPRIVILEGED[0]


def use_user(spec: str) -> None:
    """Hosts started from this process become `spec` (a worker: the one its supervisor chose,
    so that the supervisor can clear up after that user, whatever becomes of the worker)."""
    _UNPRIVILEGED[:] = [spec]


def new_user() -> str:
    """A fresh 'UID:GID,nobody' as unprivileged_user() gives, or '' when we are not root."""
    if not (POSIX and os.geteuid() == 0):
        return ""
    import pwd
    import secrets

    uid = 40_000 + secrets.randbelow(20_000)
    while _user_exists(pwd, uid):
        uid = 40_000 + secrets.randbelow(20_000)
    try:
        nobody = pwd.getpwnam("nobody")
        fallback = f"{nobody.pw_uid}:{nobody.pw_gid}"
    except KeyError:
        fallback = NOBODY
    return f"{uid}:{uid},{fallback}"


# Where any user may leave files: what a run's own user left there is removed after the run.
SHARED_FOLDERS = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock", "/dev/mqueue")


def remove_what_was_left(spec: str, keep: tuple[Path, ...] = ()) -> int:
    """Files, folders and System V shared memory, queues and semaphores left by the run's own
    user of `spec` (its first, never nobody: others share that one), once none of its
    processes is left: a submission may fill /dev/shm (memory that no limit counts and nothing
    frees) or leave a drop folder for the next student. What is in `keep` (the submission,
    when it lies in such a folder) is left as it is. Returns how many were removed."""
    if not (LINUX and spec):
        return 0
    try:
        uid = int(spec.split(",")[0].split(":")[0])
    except ValueError:
        return 0
    import tempfile

    kept = {os.path.realpath(path) for path in keep}
    removed = 0
    for folder in dict.fromkeys([tempfile.gettempdir(), *SHARED_FOLDERS]):
        removed += _remove_owned(folder, uid, depth=3, kept=kept)
    return removed + _remove_ipc(uid)


def _remove_owned(folder: str, uid: int, depth: int, kept: set[str]) -> int:
    """What `uid` owns in `folder`, and in the folders there that anyone may write to (a
    drop folder of another run), never following a link."""
    import shutil

    removed = 0
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return 0
    for entry in entries:
        if kept and any(path == entry.path or path.startswith(entry.path + os.sep)
                        for path in kept):
            continue  # the submission, or a folder that holds it
        try:
            info = entry.stat(follow_symlinks=False)
            if info.st_uid == uid:
                if entry.is_dir(follow_symlinks=False):
                    shutil.rmtree(entry.path, ignore_errors=True)
                else:
                    os.unlink(entry.path)
                removed += 1
            elif depth and entry.is_dir(follow_symlinks=False) and info.st_mode & 0o002:
                removed += _remove_owned(entry.path, uid, depth - 1, kept)
        except OSError:
            continue
    return removed


def _remove_ipc(uid: int) -> int:
    """System V IPC objects `uid` made or owns (/proc/sysvipc lists them, with both)."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    ipc_rmid = 0
    removers = {"shm": lambda key: libc.shmctl(key, ipc_rmid, None),
                "msg": lambda key: libc.msgctl(key, ipc_rmid, None),
                "sem": lambda key: libc.semctl(key, 0, ipc_rmid)}
    removed = 0
    for kind, remove in removers.items():
        try:
            with open(f"/proc/sysvipc/{kind}", encoding="ascii") as table:
                header = table.readline().split()
                rows = [line.split() for line in table]
            at_id, owners = 1, [header.index("uid"), header.index("cuid")]
        except (OSError, ValueError):
            continue
        for row in rows:  # by its creator too: IPC_SET may give it to another owner
            try:
                if uid in (int(row[at]) for at in owners) and remove(int(row[at_id])) == 0:
                    removed += 1
            except (ValueError, IndexError):
                continue
    return removed


def _user_exists(pwd: Any, uid: int) -> bool:
    try:
        pwd.getpwuid(uid)
    except KeyError:
        return False
    return True


def private_memory() -> None:
    """No other process of our user may read our memory or open our fds through /proc, nor
    trace us (Linux): a student's code, when it runs as we do, cannot steal what we hold."""
    if LINUX:
        import ctypes

        pr_set_dumpable = 4
        ctypes.CDLL(None).prctl(pr_set_dumpable, 0, 0, 0, 0)


def start(command: list[str], *, channel: int | None = None, **options: Any) -> subprocess.Popen:
    """Popen in a session (or process group) of its own; `channel` is a pipe's write end that
    the child inherits, named on its command line by the placeholder '{channel}'."""
    if channel is not None:
        if POSIX:
            options["pass_fds"] = (channel,)
            token = str(channel)
        else:
            import msvcrt

            handle = msvcrt.get_osfhandle(channel)
            os.set_handle_inheritable(handle, True)
            info = subprocess.STARTUPINFO()
            info.lpAttributeList = {"handle_list": [handle]}
            options["startupinfo"] = info
            token = str(handle)
        command = [token if part == "{channel}" else part for part in command]
    if POSIX:
        options.setdefault("start_new_session", True)
    else:
        options.setdefault("creationflags", subprocess.CREATE_NEW_PROCESS_GROUP)
    process = subprocess.Popen(command, **options)
    if not POSIX:
        _windows_job(process)
    return process


class Forked:
    """A forked child, shaped like the parts of Popen that the supervisor uses."""

    def __init__(self, pid: int, stdout: IO[bytes]) -> None:
        self.pid = pid
        self.stdout = stdout
        self.returncode: int | None = None

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, 0 if deadline is None else os.WNOHANG)
            except ChildProcessError:
                self.returncode = -1  # reaped elsewhere (a sweep): the code is lost
                break
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
            elif time.monotonic() > deadline:  # type: ignore[operator]
                raise subprocess.TimeoutExpired("worker", timeout or 0)
            else:
                time.sleep(0.01)
        return self.returncode

    def poll(self) -> int | None:
        """Its exit code if it has ended, else None (as Popen.poll)."""
        try:
            return self.wait(0)
        except subprocess.TimeoutExpired:
            return None


def fork(target: Callable[[int], int], *, log: Path, cwd: Path) -> Forked:
    """Run target(channel_fd) in a forked child of a single-threaded process: its output goes
    to `log`, its records to the pipe we read. The child never returns from here."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    read_end, write_end = os.pipe()
    log_fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 70
        try:
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
            os.setsid()  # Ctrl-C reaches the supervisor, which ends us
            os.close(read_end)
            os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
            os.dup2(log_fd, 1)
            os.dup2(log_fd, 2)
            os.chdir(cwd)
            code = target(write_end)
        except BaseException:  # noqa: B036 - the log says what went wrong
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    os.close(write_end)
    os.close(log_fd)
    return Forked(pid, os.fdopen(read_end, "rb"))


@contextlib.contextmanager
def ctrl_c_held() -> Iterator[None]:
    """Hold Ctrl-C while forking: raised inside fork's own handlers it would be lost."""
    if not POSIX:
        yield
        return
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def end_tree(pid: int) -> None:
    """Stop `pid` and every process below it, then kill them all (stopped processes cannot
    start new ones while we look). Each look reads every process's parent, so the root is
    stopped first: when it has no children, as most hosts, one look is enough."""
    _end([pid])


def end_group(pid: int) -> None:
    """Kill `pid` and its process group at once, without a look at every process: for a host
    in a session of its own below a subreaper, whose sweep (one look) ends what left the
    group. Returns when `pid` is gone (at most 2 s). Without Linux's subreaper nothing catches
    what left the group: there, end_tree."""
    if not LINUX:
        end_tree(pid)
        return
    try:
        if os.getpgid(pid) == pid:  # its own group still: no other group is hit
            os.killpg(pid, signal.SIGKILL)
        os.kill(pid, signal.SIGKILL)
    except OSError:
        return
    _quietly(lambda: psutil.wait_procs([psutil.Process(pid)], timeout=2))


def sweep(keep: set[int] = frozenset(),  # type: ignore[assignment]
          also_below: int | None = None) -> None:
    """End our children not in `keep` (orphans handed to us as subreaper), and the children
    of `also_below` (a subreaper of ours), each with its tree; one look at the processes when
    there are none."""
    me = os.getpid()
    parents = _parents()
    targets = [pid for pid, parent in parents.items()
               if (parent == me and pid not in keep) or (also_below and parent == also_below)]
    if targets:
        _end(targets)
    _reap_zombies()


def _end(roots: list[int]) -> None:
    found: dict[int, psutil.Process] = {}
    _stop(roots, found)
    if not found:
        return
    for _round in range(5):
        fresh = [pid for pid in _descendants(set(found), _parents()) if pid not in found]
        if not fresh:
            break
        _stop(fresh, found)
    for pid in roots:
        if POSIX:
            try:
                os.killpg(pid, 9)  # its session, where a subreaper is not at hand (macOS)
            except OSError:
                pass
        elif pid in _JOBS:
            _close_job(pid)
    for process in found.values():
        _quietly(process.kill)
    psutil.wait_procs(list(found.values()), timeout=2)


def _stop(pids: list[int], found: dict[int, psutil.Process]) -> None:
    """Suspend each (a stopped process cannot start another while we look) and keep it."""
    for pid in pids:
        try:
            found[pid] = psutil.Process(pid)
        except psutil.Error:
            continue
        if POSIX:
            _quietly(found[pid].suspend)


def _parents() -> dict[int, int]:
    """The parent of every process that may be below us, in one look (on Linux: one read of
    /proc/PID/stat each, as psutil does, without its objects: a check's end takes a look, and a
    class has many)."""
    if not LINUX:
        return {p.pid: p.info["ppid"] for p in psutil.process_iter(["ppid"])}
    parents = {}
    names = os.listdir("/proc")
    maybe_ours = _ours_since_born()  # after the listing: it holds no pid newer than the last
    for name in names:
        if not name.isdigit() or not maybe_ours(int(name)):
            continue
        try:
            fd = os.open(f"/proc/{name}/stat", os.O_RDONLY)
            try:
                data = os.read(fd, 1024)
            finally:
                os.close(fd)
            # "pid (comm) state ppid ...": comm may hold spaces and parentheses
            parents[int(name)] = int(data.rpartition(b")")[2].split(None, 2)[1])
        except (OSError, ValueError, IndexError):
            continue  # it ended meanwhile
    return parents


def _descendants(roots: set[int], parents: dict[int, int]) -> list[int]:
    children: dict[int, list[int]] = {}
    for pid, parent in parents.items():
        children.setdefault(parent, []).append(pid)
    below: dict[int, None] = {}  # in the order found: parents before their children
    todo = list(roots)
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in roots and child not in below:
                below[child] = None
                todo.append(child)
    return list(below)


def _quietly(action) -> None:
    try:
        action()
    except psutil.Error:
        pass


def _reap_zombies() -> None:
    if not POSIX:
        return
    while True:
        try:
            pid, _status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def busy_over(process: psutil.Process, seconds: float,
              running: Callable[[], bool] = lambda: True) -> float:
    """Seconds of CPU the process used over the next `seconds` of wall time (less if it ends
    first, or `running()` turns false), all its threads together. On a crowded CPU a loop that
    never sleeps gets only a share of one, maybe under a check's limit: on Linux, one still
    running that was ready to run nearly all the while (on a CPU or waiting for one,
    /proc/PID/task/*/schedstat), and still is at the end, counts that time instead, unless the
    hypervisor took the CPUs meanwhile. Honest work done in a burst, or before an exit, is
    counted as the CPU it used, however long it waited for it."""
    try:
        first = last = _busy(process)
    except psutil.Error:
        return 0.0
    stolen = stolen_seconds()
    started = time.monotonic()
    deadline = started + seconds
    ended = False
    share = 0.0  # of the time so far, the most it was ready to run, as seen late in the watch
    late = runnable = 0  # late looks, and those that found a thread running or ready to run
    while time.monotonic() < deadline:
        if not running():
            ended = True
            break
        time.sleep(min(0.02, max(0.0, deadline - time.monotonic())))
        now = time.monotonic()
        try:
            last = _busy(process)
        except psutil.Error:
            ended = True
            break
        # A wait for a CPU is counted when it ends: a loop waiting in the queue as we look
        # reads low. So the best of the late looks, not the last one.
        if now - started >= LATE * seconds:
            share = max(share, (last[1] - first[1]) / max(now - started, 1e-9))
            late += 1
            runnable += _runnable(process.pid)
    used, ready = last[0] - first[0], last[1] - first[1]
    # Time the hypervisor took from this machine's CPUs is neither the loop's on_cpu nor its
    # wait, and an honest sleeper's long wait for it reads as ready: then only used CPU counts.
    stolen = stolen_seconds() - stolen
    # A loop is still ready to run at the end; honest work that waited long for its CPU, did
    # its burst and went to sleep is not.
    spinning = share >= SPINNING and runnable >= SPINNING * late
    if first[1] and not ended and spinning and stolen < STOLEN * seconds:
        return max(used, ready)
    return used


SPINNING = 0.8  # share of the time ready to run that marks a loop that never waits
STOLEN = 0.25  # share of the watch the hypervisor may take before ready time is not trusted
LATE = 0.75  # looks after this share of the watch judge it: a burst early in it does not


def _busy(process: psutil.Process) -> tuple[float, float]:
    """(CPU time, time on a CPU or waiting for one; 0.0 where it cannot be read)."""
    times = process.cpu_times()
    wanted = sum(on_cpu + waiting for on_cpu, waiting in schedstats(process.pid).values())
    return times.user + times.system, wanted / 1e9


def _runnable(pid: int) -> bool:
    """Linux: is a thread of `pid` on a CPU or waiting for one (state R in
    /proc/PID/task/*/stat)?"""
    if not LINUX:
        return False
    try:
        for task in os.scandir(f"/proc/{pid}/task"):
            try:
                with open(f"{task.path}/stat", "rb") as stat:
                    if stat.read().rpartition(b")")[2].split()[0] == b"R":
                        return True
            except (OSError, IndexError):
                continue  # a thread that ended as we read
    except OSError:
        pass
    return False


def stolen_seconds() -> float:
    """Linux: seconds the hypervisor took so far from this machine's CPUs, all together
    (/proc/stat's steal); 0.0 where it cannot be read."""
    try:
        with open("/proc/stat") as stat:
            return int(stat.readline().split()[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


def schedstats(pid: int) -> dict[str, tuple[int, int]]:
    """Linux: for each thread of `pid`, nanoseconds on a CPU and waiting, ready, for one
    (/proc/PID/task/*/schedstat); {} where they cannot be read."""
    found: dict[str, tuple[int, int]] = {}
    if not LINUX:
        return found
    try:
        for task in os.scandir(f"/proc/{pid}/task"):
            try:
                with open(f"{task.path}/schedstat", "rb") as stat:
                    on_cpu, waiting = stat.read().split()[:2]
                found[task.name] = (int(on_cpu), int(waiting))
            except (OSError, ValueError):
                continue  # a thread that ended as we read
    except OSError:
        return {}
    return found


# -- Windows: a job object per process tree ------------------------------------------------------
_JOBS: dict[int, int] = {}
_JOBS_LOCK = threading.Lock()


def _windows_job(process: subprocess.Popen) -> None:
    """Put the process in a job that dies with it; its children join the job as they start."""
    try:
        import ctypes
        from ctypes import wintypes

        kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
        job = kernel32.CreateJobObjectW(None, None)
        if not job:
            return

        class BasicLimits(ctypes.Structure):
            _fields_ = [("PerProcessUserTimeLimit", ctypes.c_int64),
                        ("PerJobUserTimeLimit", ctypes.c_int64),
                        ("LimitFlags", wintypes.DWORD), ("MinimumWorkingSetSize", ctypes.c_size_t),
                        ("MaximumWorkingSetSize", ctypes.c_size_t),
                        ("ActiveProcessLimit", wintypes.DWORD), ("Affinity", ctypes.c_size_t),
                        ("PriorityClass", wintypes.DWORD), ("SchedulingClass", wintypes.DWORD)]

        class IoCounters(ctypes.Structure):
            _fields_ = [(name, ctypes.c_uint64) for name in (
                "ReadOperationCount", "WriteOperationCount", "OtherOperationCount",
                "ReadTransferCount", "WriteTransferCount", "OtherTransferCount")]

        class ExtendedLimits(ctypes.Structure):
            _fields_ = [("BasicLimitInformation", BasicLimits), ("IoInfo", IoCounters),
                        ("ProcessMemoryLimit", ctypes.c_size_t),
                        ("JobMemoryLimit", ctypes.c_size_t),
                        ("PeakProcessMemoryUsed", ctypes.c_size_t),
                        ("PeakJobMemoryUsed", ctypes.c_size_t)]

        limits = ExtendedLimits()
        kill_on_close = 0x2000
        limits.BasicLimitInformation.LimitFlags = kill_on_close
        extended_limit_information = 9
        kernel32.SetInformationJobObject(job, extended_limit_information,
                                         ctypes.byref(limits), ctypes.sizeof(limits))
        if kernel32.AssignProcessToJobObject(job, int(process._handle)):  # type: ignore[attr-defined]
            with _JOBS_LOCK:
                _JOBS[process.pid] = job
        else:
            kernel32.CloseHandle(job)
    except (OSError, AttributeError, ValueError):
        pass  # end_tree falls back to walking the tree


def _close_job(pid: int) -> None:
    import ctypes

    with _JOBS_LOCK:
        job = _JOBS.pop(pid, None)
    if job:
        kernel32 = ctypes.WinDLL("kernel32")
        kernel32.TerminateJobObject(job, 1)
        kernel32.CloseHandle(job)
