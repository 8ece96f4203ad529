"""The student host: the only process that ever runs a student's code.

    python host.py --events FD --file PATH --mode serve|program|zygote [--drop UID:GID] [-- ARGS]

Started by path (never imported by the grader), standard library only, all imported before the
student's folder joins sys.path: nothing in that folder can stand in for it. It reports facts,
never verdicts, as JSON lines on the events channel: the checks, in another process, judge what
the sockets say. Anything the student's code writes here is at worst a false fact about its own
server.

- serve: import the module under a deadline, then serve(listener) in a daemon thread on a
  listener bound to 127.0.0.1 port 0, and say which port.
- program: run the file as `python FILE ARGS` would (the client step); with --connect PORT,
  every TCP connection it makes goes to 127.0.0.1:PORT, so a hard-coded address works too.
- run: run a server written as a script as `python FILE` would, stdin empty; the grader learns
  its port from its first listen(). input() is reported and waits forever.
- zygote (POSIX): import once, then fork a fresh serve host for every request on fd 0.
- program-zygote, run-zygote (POSIX): fork a fresh program (run) host for every request,
  warm but untouched.

Every TCP or UDP bind becomes a bind to 127.0.0.1 (or ::1) port 0, so fixed ports never collide
and nothing listens beyond loopback; connections go to loopback only.
"""

import atexit
import builtins
import gc
import importlib.util
import io
import json
import locale
import os
import runpy
import select
import selectors
import signal
import socket
import stat
import sys
import threading
import time
import traceback
import types
import weakref

IMPORT_DEADLINE = 2.0  # seconds an import may take before we call it "runs at import"
SPIN_REPORTED = 100  # empty recv() calls on one socket before we report a busy loop
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "", "0.0.0.0", "::"}
QUIET_WITHIN = 0.3  # seconds a "quiet?" question waits for every thread of the server to wait
MAX_PLACES = 20  # threads a "where" answer names at most
PLACES_SIZE = 6000  # and bytes (an event is at most 8 kB; a Cyrillic letter takes 6)
MAX_CODE = 120  # characters of a line of code in it
QUIET_POLLS = 3  # times in a row, 0.5 ms apart, that every thread must be seen waiting
_sleep = time.sleep  # ours, before the student's is counted
_allocate_lock = threading.Lock  # the real one, before a race check replaces it
REAL_EXIT = os._exit  # before it is wrapped to report who called it


class Events:
    """JSON lines to the grader; a dead channel means the grader is gone, so we are too."""

    def __init__(self, fd: int) -> None:
        self.lock = threading.Lock()
        self.switch(fd)

    def switch(self, fd: int) -> None:
        """From now on report on `fd` (a forked host: its own channel, not the zygote's)."""
        old = getattr(self, "stream", None)
        self.stream = os.fdopen(fd, "w", encoding="utf-8", closefd=True)
        if old is not None:
            old.close()

    def send(self, kind: str, **fields) -> None:
        with self.lock:
            try:
                self.stream.write(json.dumps({"e": kind, **fields}, ensure_ascii=True) + "\n")
                self.stream.flush()
            except (OSError, ValueError):
                os._exit(70)


# -- confinement (POSIX): limits, an unprivileged user, death with the parent -------------------
def confine(drop: str, folder: str) -> None:
    if os.name != "posix":
        return
    import resource

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails, no crash
    limits = {"RLIMIT_CORE": 0, "RLIMIT_FSIZE": 64 << 20, "RLIMIT_AS": 4 << 30}
    if drop:
        limits["RLIMIT_NPROC"] = 2048  # tasks of the unprivileged user: threads count too
    for name, value in limits.items():
        kind = getattr(resource, name, None)
        if kind is None:
            continue
        soft, hard = resource.getrlimit(kind)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        try:
            resource.setrlimit(kind, (value, hard if drop == "" else value))
        except (ValueError, OSError):
            pass
    if drop:
        # each worker's hosts run as a user of its own: what one creates (a chat log beside
        # server.py, made when the module is imported) the others must be able to open too
        os.umask(0)
        # the interpreter's folders and the student's, read as the host runs (imports)
        reading = _readable_by_anyone([*sys.path[1:], folder])
        for user in drop.split(","):  # the first of these users that we can become
            if _drop_privileges(*(int(part) for part in user.split(":")),
                                keep_reading=not reading):
                # a user with no name: getpass.getuser() reads these before asking for one
                os.environ["USER"] = os.environ["LOGNAME"] = "student"
                break
    read_only_what_it_needs(folder)
    _die_with_parent()


# Landlock (Linux 5.13 and later): what the host and all it starts may read and write from here
# on. Rights of ABI 1: on a file, execute (0), write (1), read (2); on a folder also list (3),
# remove, make (4-12). ABI 2 adds linking and moving between folders (13), ABI 3 truncating a
# file (14: without it, os.truncate() of another student's file was not held back).
LANDLOCK_FILE = (1 << 0) | (1 << 1) | (1 << 2) | (1 << 14)
LANDLOCK_READ_FILE, LANDLOCK_READ_DIR = 1 << 2, 1 << 3
LANDLOCK_READING = (1 << 0) | LANDLOCK_READ_FILE | LANDLOCK_READ_DIR
LANDLOCK_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1}
SYSTEM_FOLDERS = ("/usr", "/lib", "/lib32", "/lib64", "/bin", "/sbin", "/proc", "/sys")
# of /dev, the devices a program uses (not the disks: a host may keep the right to read any file)
DEVICES = ("null", "zero", "full", "random", "urandom", "tty", "ptmx", "pts", "fd", "stdin",
           "stdout", "stderr")
WRITABLE_DEVICES = ("null", "zero", "full", "tty", "ptmx", "pts", "shm")  # shm: semaphores
# of /etc, what the standard library reads (names, users, time, libraries), where the host
# keeps the right to read any file: /etc/shadow and the like stay out of its reach
ETC_FILES = ("hosts", "host.conf", "nsswitch.conf", "resolv.conf", "gai.conf", "services",
             "protocols", "localtime", "timezone", "passwd", "group", "ld.so.cache",
             "ld.so.conf", "ld.so.conf.d", "mime.types", "machine-id", "os-release")
HOST_HOME = os.path.dirname(os.path.abspath(__file__))  # grader/labs


def _reads_any_file() -> bool:
    """Has this process the right to read any file (CAP_DAC_READ_SEARCH, bit 2 of CapEff)?"""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) & (1 << 2))
    except (OSError, ValueError, IndexError):
        pass
    return False


def read_only_what_it_needs(folder: str) -> bool:
    """From here on, this process and all it starts read files only in the student's folder,
    the interpreter's, and the system's: not the kit itself (its solutions, its reference
    server: a submission that runs those would pass as its own), not home folders, not other
    students' folders, not disks. They write only in the student's folder and its private
    temp folder ($TMPDIR, which the grader removes), and to a few devices. False where
    Landlock is not there (nothing is changed then: the user's rights are all there is)."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    abi = libc.syscall(444, None, ctypes.c_size_t(0), ctypes.c_uint32(1))  # its version
    if abi < 1:
        return False  # an older kernel, or Landlock not enabled
    every = LANDLOCK_BY_ABI[min(abi, 3)]  # what this kernel can hold back, up to truncating
    handled = ctypes.c_uint64(every)
    ruleset = libc.syscall(444, ctypes.byref(handled), ctypes.c_size_t(8), ctypes.c_uint32(0))
    if ruleset < 0:
        return False

    class PathBeneath(ctypes.Structure):
        _pack_ = 1
        _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]

    kit = os.path.dirname(os.path.dirname(HOST_HOME))  # the folder that holds grader/
    hidden = {os.path.dirname(HOST_HOME)}  # the grader package
    if os.path.isdir(os.path.join(kit, "solutions")):
        hidden.add(kit)  # a checkout of the kit: its solutions and tests too

    def allow(path: str, rights: int = LANDLOCK_READING) -> None:
        path = os.path.realpath(path)
        if path in hidden:
            return
        if any(inside.startswith(path.rstrip("/") + "/") for inside in hidden):
            try:  # what is hidden is in here: everything else of it
                names = os.listdir(path)
            except OSError:
                return
            for name in names:
                allow(os.path.join(path, name), rights)
            return
        try:
            fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError:
            return
        try:
            rights &= every
            if not stat.S_ISDIR(os.fstat(fd).st_mode):
                rights &= LANDLOCK_FILE  # a file takes no folder's rights
            rule = PathBeneath(rights, fd)
            libc.syscall(445, ruleset, 1, ctypes.byref(rule), 0)  # LANDLOCK_RULE_PATH_BENEATH
        finally:
            os.close(fd)

    try:
        allow(folder, every)
        if os.path.isdir(os.environ.get("TMPDIR", "")):
            allow(os.environ["TMPDIR"], every)
        for path in [*sys.path[1:], sys.prefix, sys.base_prefix, sys.exec_prefix,
                     os.path.dirname(os.path.realpath(sys.executable)), *SYSTEM_FOLDERS]:
            allow(path)
        for name in ETC_FILES if _reads_any_file() else ("",):
            allow(os.path.join("/etc", name))
        for name in DEVICES:
            allow(os.path.join("/dev", name))
        for name in WRITABLE_DEVICES:
            allow(os.path.join("/dev", name), every)
        pr_set_no_new_privs = 38
        libc.prctl(pr_set_no_new_privs, 1, 0, 0, 0)
        return libc.syscall(446, ruleset, ctypes.c_uint32(0)) == 0
    finally:
        os.close(ruleset)


def _readable_by_anyone(folders: list) -> bool:
    """Can any user read and enter each folder that exists here, and pass through every
    folder above it? (Files in them are taken to be readable, as a Python install makes
    them.)"""
    for folder in folders:
        path = os.path.abspath(folder)
        try:
            if not os.path.isdir(path):
                continue  # a zip of the standard library that is not there, say
            if os.stat(path).st_mode & 0o005 != 0o005:
                return False
            while path != os.path.dirname(path):
                path = os.path.dirname(path)
                if not os.stat(path).st_mode & 0o001:
                    return False
        except OSError:
            return False
    return True


def _drop_privileges(uid: int, gid: int, keep_reading: bool) -> bool:
    """Become `uid`: no right to signal, trace or write into the grader's processes.
    `keep_reading`: keep the right to read any file, where the interpreter lives in a folder
    others cannot read (/root); only then can the student's code read any file too."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_keepcaps, cap_dac_read_search = 8, 2
    libc.prctl(pr_set_keepcaps, 1, 0, 0, 0)
    try:
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
    except OSError:
        return False  # not allowed here (a container without CAP_SETUID, an unmapped user)

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]

    keep = 1 << cap_dac_read_search if keep_reading else 0
    data = (Data * 2)(Data(keep, keep, 0), Data(0, 0, 0))
    libc.capset(ctypes.byref(Header(0x20080522, 0)), data)  # _LINUX_CAPABILITY_VERSION_3
    return True


def _die_with_parent() -> None:
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    if os.getppid() == 1:
        os._exit(71)  # the parent died before we could ask


# -- the socket layer: loopback only, and a count of recv() calls after the end -----------------
CONNECT_TO = {"port": 0}  # program mode: where every TCP connection goes (0: where it asks)
IMPORTING = threading.Event()  # set while serve mode imports the module: its listen() says so
LISTENED = threading.Event()  # set at the first listen(): input() waits from then on


def install_socket_layer(events: Events) -> None:
    original_bind = socket.socket.bind
    original_listen = socket.socket.listen
    original_connect = socket.socket.connect
    original_connect_ex = socket.socket.connect_ex
    original_recv = socket.socket.recv
    original_recv_into = socket.socket.recv_into
    empty_reads: weakref.WeakKeyDictionary[socket.socket, int] = weakref.WeakKeyDictionary()

    def bind(self, address):
        if (self.family in (socket.AF_INET, socket.AF_INET6) and self.type == socket.SOCK_STREAM
                and isinstance(address, tuple) and len(address) >= 2):  # as asked, for notes
            events.send("bind", host=str(address[0])[:100],
                        port=address[1] if isinstance(address[1], int) else -1)
        if self.family == socket.AF_INET:
            address = ("127.0.0.1", 0)
        elif self.family == socket.AF_INET6:
            address = ("::1", 0)
        if self.type == socket.SOCK_DGRAM:
            events.send("udp_bind")
        return original_bind(self, address)

    def listen(self, *backlog):
        if self.family in (socket.AF_INET, socket.AF_INET6) and self.getsockname()[1] == 0:
            bind(self, ())  # listen() without bind() would take every address
        result = original_listen(self, *backlog)
        if self.family in (socket.AF_INET, socket.AF_INET6):
            events.send("listen", port=self.getsockname()[1], importing=IMPORTING.is_set())
            LISTENED.set()
        return result

    def loopback(self, address):
        port = CONNECT_TO["port"]
        if port and self.type == socket.SOCK_STREAM and self.family in (socket.AF_INET,
                                                                        socket.AF_INET6):
            return ("127.0.0.1", port) if self.family == socket.AF_INET else ("::1", port)
        if self.family in (socket.AF_INET, socket.AF_INET6) and isinstance(address, tuple):
            host = str(address[0]).lower()
            if host not in LOOPBACK_NAMES and not host.startswith("127."):
                raise ConnectionRefusedError(111, "the grader allows connections to this "
                                                  "machine only (127.0.0.1)")
        return address

    def connect(self, address):
        return original_connect(self, loopback(self, address))

    def connect_ex(self, address):
        return original_connect_ex(self, loopback(self, address))

    def noted(self, size) -> None:
        if not size:
            return
        count = empty_reads.get(self, 0) + 1
        empty_reads[self] = count
        if count == SPIN_REPORTED:
            events.send("spin", count=count)

    def recv(self, size, *flags):
        data = original_recv(self, size, *flags)
        if not data:
            noted(self, size)
        return data

    def recv_into(self, buffer, size=0, *flags):
        n = original_recv_into(self, buffer, size, *flags)
        if not n:
            noted(self, size or len(buffer))
        return n

    socket.socket.bind = bind
    socket.socket.listen = listen
    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
    socket.socket.recv = recv
    socket.socket.recv_into = recv_into


def allow_signal_handlers() -> None:
    """signal.signal() on a thread other than the main one (the student's module is imported,
    and serve() runs, on threads of the host) keeps the handler aside instead of raising
    ValueError, as `python server.py` would take it on its main thread. Nobody signals a host
    but the grader, whose SIGKILL no handler catches."""
    original = signal.signal
    kept: dict = {}

    def set_handler(signalnum, handler):
        if threading.current_thread() is threading.main_thread():
            return original(signalnum, handler)
        previous = kept.get(signalnum, signal.getsignal(signalnum))
        kept[signalnum] = handler
        return previous

    signal.signal = set_handler


def keep_channel(events: Events) -> None:
    """os.close(), os.closerange() and socket.close() pass over the host's channel to the
    grader: a server that closes every file it did not open (as some daemons do) runs here as
    it runs on its own, instead of cutting the line its verdict travels on."""
    real_close, real_closerange, real_socket_close = os.close, os.closerange, socket.close

    def ours(fd: object) -> bool:
        try:
            return fd == events.stream.fileno()
        except (OSError, ValueError):
            return False

    def close(fd):
        if not ours(fd):
            real_close(fd)

    def closerange(low, high):
        try:
            mine = events.stream.fileno()
        except (OSError, ValueError):
            mine = -1
        if low <= mine < high:
            real_closerange(low, mine)
            low = mine + 1
        real_closerange(low, high)

    def close_socket(fd):
        if not ours(fd):
            real_socket_close(fd)

    os.close, os.closerange, socket.close = close, closerange, close_socket


def report_input(path: str, events: Events) -> None:
    """A server gets no keyboard here: input() says where it was called. Before the server
    listens it raises EOFError, as with `python FILE < /dev/null` (a script that asks for its
    port may fall back on a default); once it listens it waits forever (an operator who never
    types), so that a console thread beside the server does no harm."""
    def waiting_input(prompt: object = "") -> str:
        events.send("input", where=caller_place(sys._getframe(1), path),
                    main=threading.current_thread() is threading.main_thread(),
                    importing=IMPORTING.is_set(), eof=not LISTENED.is_set())
        if not LISTENED.is_set():
            raise EOFError("EOF when reading a line")
        threading.Event().wait()
        return ""

    builtins.input = waiting_input


def student_frame(frame, path: str):
    """The student's innermost frame from `frame` outwards, or None."""
    while frame is not None and os.path.abspath(frame.f_code.co_filename) != path:
        frame = frame.f_back
    return frame


def caller_place(frame, path: str) -> dict:
    """The student's innermost frame from `frame` outwards: its line and code."""
    frame = student_frame(frame, path)
    if frame is None:
        return {}
    lines = _source_lines(path)
    code = lines[frame.f_lineno - 1].strip() if frame.f_lineno <= len(lines) else ""
    return {"line": frame.f_lineno, "code": code}


# -- quiet: every thread of the server waits for input (serve mode) ------------------------------
class Waits:
    """How many threads are inside a call that waits for input or time. When that is all of
    them, the server has done what it was given: the grader asks before it goes on, so that a
    check that is not about races does not start one (a join while a broadcast still runs)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.count = 0
        self.inside: dict[int, str] = {}  # thread ident -> the waiting call it is in

    def counted(self, call):
        name = call.__name__.lstrip("_")

        def waiting(*args, **kwargs):
            me = threading.get_ident()
            with self.lock:
                outer = self.inside.get(me)
                if outer is None:  # a wait inside a wait (a selector's poll()) counts once
                    self.count += 1
                    self.inside[me] = name
            try:
                return call(*args, **kwargs)
            finally:
                if outer is None:
                    with self.lock:
                        self.count -= 1
                        del self.inside[me]

        return waiting

    def _counted_poller(self, factory):
        waits = self

        class Poller:
            """What select.poll() (epoll(), ...) gives, with its waits counted."""

            def __init__(self, *args, **kwargs) -> None:
                self._inner = factory(*args, **kwargs)
                for name in ("poll", "control"):
                    if hasattr(self._inner, name):
                        setattr(self, name, waits.counted(getattr(self._inner, name)))

            def __getattr__(self, name: str):
                if name == "_inner":
                    raise AttributeError(name)
                return getattr(self._inner, name)

            def __enter__(self):
                return self

            def __exit__(self, *exc) -> None:
                self._inner.close()

        Poller.__name__ = Poller.__qualname__ = factory.__name__
        return Poller

    def quiet(self) -> bool:
        return self.count >= threading.active_count() - 1  # all but the host's main thread

    def install(self) -> None:
        for name in ("recv", "recv_into", "recvfrom", "recvfrom_into", "_accept"):
            setattr(socket.socket, name, self.counted(getattr(socket.socket, name)))
        select.select = self.counted(select.select)
        for name in ("poll", "epoll", "devpoll", "kqueue"):  # objects whose poll() waits
            factory = getattr(select, name, None)
            if factory is not None:
                setattr(select, name, self._counted_poller(factory))
        for name in ("SelectSelector", "PollSelector", "EpollSelector", "KqueueSelector",
                     "DevpollSelector"):
            kind = getattr(selectors, name, None)
            if kind is not None:
                kind.select = self.counted(kind.select)
        time.sleep = self.counted(time.sleep)
        threading.Condition.wait = self.counted(threading.Condition.wait)  # Event, Queue
        threading.Thread.join = self.counted(threading.Thread.join)  # a main that waits


WAITS = Waits()


def answer_quiet_questions(events: Events, path: str, close_listener=None) -> None:
    """Each "?" the grader writes on the events channel (a socket) asks: is the server quiet?
    The answer comes within QUIET_WITHIN s. A "w" asks where the student's threads are. An
    "x" closes the listener serve() was given, as its owner would to stop it (step 06). Runs
    on the host's main thread, forever."""
    fd = events.stream.fileno()
    if not stat.S_ISSOCK(os.fstat(fd).st_mode):
        while True:  # a pipe (Windows): no questions
            _sleep(3600)
    while True:
        try:
            asked = os.read(fd, 64)
        except OSError:
            asked = b""
        if not asked:
            while True:  # the grader has gone; it ends this process
                _sleep(3600)
        if b"x" in asked and close_listener is not None:
            close_listener()
        if b"w" in asked:
            events.send("where", threads=where_threads(path))
        if b"?" not in asked:
            continue
        deadline = time.monotonic() + QUIET_WITHIN
        seen = 0
        while seen < QUIET_POLLS and time.monotonic() < deadline:
            seen = seen + 1 if WAITS.quiet() else 0
            _sleep(0.0005)
        events.send("quiet", quiet=seen >= QUIET_POLLS)


# -- where the student's code is --------------------------------------------------------------
def where_threads(path: str) -> list:
    """Where each of the student's threads is now: its innermost line of the student's file,
    the waiting call it is in ("" for none: running, or blocked in a lock or a send), and
    whether that frame has a client's socket at hand (a sleep there holds the client up; a
    main thread that sleeps to stay alive holds up no one)."""
    frames = sys._current_frames()
    places, size = [], 0
    for thread in threading.enumerate():
        if thread.ident == threading.get_ident() or thread.ident not in frames:
            continue  # the thread that answers, not the student's
        frame = student_frame(frames[thread.ident], path)
        if frame is None:
            continue
        place = {**caller_place(frame, path), "thread": thread.ident,
                 "call": WAITS.inside.get(thread.ident or -1, ""), "client": _has_client(frame)}
        place["code"] = place["code"][:MAX_CODE]
        size += len(json.dumps(place))
        if len(places) == MAX_PLACES or size > PLACES_SIZE:
            break
        places.append(place)
    return places


def _has_client(frame) -> bool:
    """A connected socket among the frame's names, or among the attributes of what they name
    (a Client object, `self`)."""
    try:
        values = list(dict(frame.f_locals).values())[:200]
        for value in values[:]:
            if not isinstance(value, (socket.socket, type, types.ModuleType)) and hasattr(
                    value, "__dict__"):
                values += list(vars(value).values())[:50]
    except Exception:  # the student's objects may do anything when looked at
        return False
    for value in values:
        if isinstance(value, socket.socket):
            try:
                value.getpeername()
                return True
            except OSError:
                continue
    return False


def frames_of(tb, path: str) -> list:
    """The frames of a traceback in the student's folder, innermost last."""
    folder = os.path.dirname(path)
    return [{"file": os.path.basename(f.filename), "line": f.lineno, "function": f.name,
             "code": (f.line or "").strip()}
            for f in traceback.extract_tb(tb)
            if os.path.isabs(f.filename) and os.path.dirname(f.filename) == folder]


def error_of(error: BaseException, path: str) -> dict:
    text = str(error)
    return {"frames": frames_of(error.__traceback__, path)[-2:],
            "error": f"{type(error).__name__}: {text}" if text else type(error).__name__}


def frame_now(thread: threading.Thread, path: str) -> dict:
    """The student's innermost frame that `thread` is running now."""
    return caller_place(sys._current_frames().get(thread.ident or -1), path)


def _source_lines(path: str) -> list:
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as f:
            return f.read().splitlines()
    except OSError:
        return []


# -- serve mode -------------------------------------------------------------------------------
def import_student(path: str, events: Events, deadline: float):
    """The student's module, or None after saying why it cannot be used."""
    name = os.path.splitext(os.path.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # a sibling's `import server` gets this very module
    outcome = {}

    def run() -> None:
        try:
            spec.loader.exec_module(module)
        except BaseException as error:  # noqa: B036 - whatever the student's code raises
            outcome["error"] = error
        finally:
            IMPORTING.clear()

    thread = threading.Thread(target=run, daemon=True, name="student-import")
    IMPORTING.set()
    thread.start()
    thread.join(deadline)
    if thread.is_alive():
        events.send("import_hang", seconds=deadline, where=frame_now(thread, path))
        return None
    error = outcome.get("error")
    if isinstance(error, SystemExit):
        events.send("import_exit", **error_of(error, path))
        return None
    if error is not None:
        events.send("import_error", **error_of(error, path))
        return None
    if not callable(getattr(module, "serve", None)):
        events.send("no_serve")
        return None
    return module


def report_exits(path: str, events: Events) -> None:
    """os._exit() ends a process without a trace: say who called it, and with what code."""

    def _exit(code: int = 0) -> None:
        caller = sys._getframe(1)
        where = {}
        if os.path.abspath(caller.f_code.co_filename) == path:
            lines = _source_lines(path)
            line = caller.f_lineno
            where = {"line": line, "code": lines[line - 1].strip() if line <= len(lines) else ""}
        events.send("exit", code=code if isinstance(code, int) else 1, where=where)
        REAL_EXIT(code)

    os._exit = _exit


LOCK_YIELD = 0.0005  # seconds a race check's threads wait before they take a lock


class YieldingLock:
    """threading.Lock in a race check: each acquire first lets the other threads run a moment,
    so that a name looked up before the lock and taken under it is taken twice every time (a
    window a busy machine opens now and then). Code that decides under the lock is unharmed."""

    def __init__(self) -> None:
        self._lock = _allocate_lock()

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        _sleep(LOCK_YIELD)
        return self._lock.acquire(blocking, timeout)

    def release(self) -> None:
        self._lock.release()

    def locked(self) -> bool:
        return self._lock.locked()

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def pause_sends(seconds: float) -> None:
    """Each send waits `seconds` first, without the GIL: a broadcast to many members lasts long
    enough (at no cost in CPU) for a join or a leave on another thread to land inside it, as on
    a busy machine now and then. Where nothing is shared unguarded, only time is lost."""
    def paused(call):
        def send(self, *args):
            _sleep(seconds)
            return call(self, *args)

        return send

    for name in ("send", "sendall", "sendmsg"):
        setattr(socket.socket, name, paused(getattr(socket.socket, name)))


def yield_in_lines(folder: str, every: int) -> None:
    """Every `every`-th line the student's code runs (a file in `folder`) lets the other threads
    run first: a thread that changes, without the lock, what another one walks through lands in
    the middle of the walk, though the walk touches no socket (step 06's queues). Threads
    started from here on; the grader's own frames are not traced."""
    count = 0

    def line(frame, event, arg):
        nonlocal count
        if event == "line":
            count += 1  # a lost count in a race is harmless: it only moves a yield
            if count % every == 0:
                _sleep(0)  # outside the GIL: whoever waits for it runs now
        return line

    def call(frame, event, arg):
        return line if os.path.dirname(frame.f_code.co_filename) == folder else None

    threading.settrace(call)
    sys.settrace(call)  # a program's main thread


def late_ends(seconds: float) -> None:
    """The first recv() to tell that a TCP connection has ended (b'', or a reset) waits
    `seconds` first: the server learns late that a client has gone, as it would of a machine
    that vanished, and a broadcast meanwhile meets the dead client's socket."""
    told: weakref.WeakSet[socket.socket] = weakref.WeakSet()

    def late(sock: socket.socket) -> None:
        if sock.type == socket.SOCK_STREAM and sock not in told:
            told.add(sock)
            time.sleep(seconds)  # the counted sleep: meanwhile the server is quiet

    original_recv, original_recv_into = socket.socket.recv, socket.socket.recv_into

    def recv(self, size, *flags):
        try:
            data = original_recv(self, size, *flags)
        except ConnectionError:
            late(self)
            raise
        if not data and size:
            late(self)
        return data

    def recv_into(self, buffer, size=0, *args, **kwargs):
        try:
            count = original_recv_into(self, buffer, size, *args, **kwargs)
        except ConnectionError:
            late(self)
            raise
        if not count and (size or kwargs.get("nbytes") or len(buffer)):
            late(self)
        return count

    socket.socket.recv = recv
    socket.socket.recv_into = recv_into


def report_thread_crashes(path: str, events: Events, race: dict) -> None:
    """Say where a thread of the student's died. `race`, how a check looks for races: "switch",
    a thread switch interval so short that an unguarded race shows in every run; "locks",
    locks that yield first (YieldingLock); "pause", seconds each send waits first (pause_sends);
    "yields", every how many lines of the student's code other threads run (yield_in_lines);
    "late_end", seconds a connection's end waits before recv() tells it (late_ends).
    """
    switch = float(race.get("switch") or 0)
    if switch:
        sys.setswitchinterval(switch)
    if race.get("locks") is True:
        threading.Lock = YieldingLock  # the student's, made from here on
    pause = float(race.get("pause") or 0)
    if pause:
        pause_sends(pause)
    every = int(race.get("yields") or 0)
    if every > 0:
        yield_in_lines(os.path.dirname(path), every)
    late = float(race.get("late_end") or 0)
    if late:
        late_ends(late)

    def crashed(args) -> None:
        if args.exc_value is not None and not isinstance(args.exc_value, SystemExit):
            events.send("thread_crash", **error_of(args.exc_value, path))

    threading.excepthook = crashed


def serve_forever(module, path: str, events: Events, race: dict) -> None:
    """serve(listener) in a daemon thread; this thread answers the grader's questions until
    it is killed. `race`: see report_thread_crashes()."""
    report_thread_crashes(path, events, race)
    listener = socket.create_server(("127.0.0.1", 0))

    def run() -> None:
        try:
            module.serve(listener)
        except BaseException as error:  # noqa: B036
            events.send("serve_crash", **error_of(error, path))
        else:
            events.send("serve_returned")

    def close_listener() -> None:
        try:
            listener.shutdown(socket.SHUT_RDWR)  # wakes an accept() waiting on Linux
        except OSError:
            pass
        listener.close()
        events.send("listener_closed")

    threading.Thread(target=run, daemon=True, name="serve").start()
    events.send("ready", port=listener.getsockname()[1])
    answer_quiet_questions(events, path, close_listener)  # until the grader ends this process


def fork_server(events: Events):
    """Fork a fresh host per request and return in the child, with the request's arguments.

    A request on fd 0 is a JSON object (a program's "argv" and "connect", or a server's
    "switch") with fds: the child's events channel, then either its output (a server) or its
    stdin, stdout and stderr (a program).
    The parent answers with the child's pid on its own events channel."""
    control = socket.socket(fileno=0)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # ended hosts vanish at once: no zombies
    if sys.platform.startswith("linux"):  # what a host double-forks stays our child: findable
        import ctypes

        pr_set_child_subreaper = 36
        ctypes.CDLL(None).prctl(pr_set_child_subreaper, 1, 0, 0, 0)
    events.send("zygote", threads=threading.active_count())
    while True:
        try:
            message, fds, _flags, _address = socket.recv_fds(control, 65536, 4)
        except OSError:
            os._exit(0)
        if not message:
            os._exit(0)  # the grader is gone
        pid = os.fork()
        if pid == 0:
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)  # the student's subprocess needs it
            control.close()  # frees fd 0 for a program's stdin
            events.switch(fds[0])
            targets = (1, 2) if len(fds) == 2 else (0, 1, 2)
            sources = fds[1:2] * 2 if len(fds) == 2 else fds[1:]
            for source, target in zip(sources, targets):
                os.dup2(source, target)
            for fd in set(fds[1:]):
                os.close(fd)
            request = json.loads(message.decode("utf-8"))
            request = request if isinstance(request, dict) else {}
            if len(fds) == 4:
                _fresh_stdio(console=bool(request.get("console")))
            else:  # a server: an empty stdin, as the grader gives it
                empty = os.open(os.devnull, os.O_RDONLY)  # fd 0, as it is free
                if empty != 0:
                    os.dup2(empty, 0)
                    os.close(empty)
            os.setsid()
            _die_with_parent()
            return request
        for fd in fds:
            os.close(fd)
        events.send("forked", pid=pid)


def _fresh_stdio(console: bool = False) -> None:
    """sys.stdin, stdout and stderr anew on fds 0-2, as Python makes them when it starts;
    `console`: stdout line-buffered, as on a terminal, though it is a pipe."""
    encoding, _colon, errors = os.environ.get("PYTHONIOENCODING", "").partition(":")
    if not encoding:
        encoding = locale.getpreferredencoding(False)
    sys.stdin = sys.__stdin__ = open(0, encoding=encoding, errors=errors or "strict",
                                     closefd=False)
    sys.stdout = sys.__stdout__ = open(1, "w", encoding=encoding, errors=errors or "strict",
                                       closefd=False,
                                       buffering=1 if console or os.isatty(1) else -1)
    sys.stderr = sys.__stderr__ = open(2, "w", encoding=encoding, errors="backslashreplace",
                                       closefd=False, buffering=1)


# -- program and run modes --------------------------------------------------------------------
def run_program(path: str, args: list, events: Events, server: bool = False) -> None:
    """Run the file as `python FILE ARGS` would, and say first what it will exit with (a
    forked host has no parent that hears its exit code). `server`: a server written as a
    script (run mode), whose main thread's crash is reported like a thread's, and which
    may go on serving in its threads after its main code returns."""
    sys.argv = [path, *args]
    try:
        runpy.run_path(path, run_name="__main__")
    except SystemExit as error:
        code = error.code
        if code is not None and not isinstance(code, int):
            print(code, file=sys.stderr)  # what Python does with sys.exit("message")
        code = code if isinstance(code, int) else int(code is not None)
        events.send("exiting", code=code)
        exit_as_python(code, events)
    except BaseException as error:  # noqa: B036 - whatever the student's code raises
        if server:
            events.send("main_crash", **error_of(error, path))
        events.send("exiting", code=1)
        trimmed = _from_student(error.__traceback__, path)
        sys.excepthook(type(error), error.with_traceback(trimmed), trimmed)
        exit_as_python(1, events)
    events.send("main_returned" if server else "exiting", code=0)
    exit_as_python(0, events)


def _from_student(tb, path: str):
    """The traceback from the student's file on, as `python FILE` prints it (not runpy's)."""
    start = tb
    while start is not None and os.path.abspath(start.tb_frame.f_code.co_filename) != path:
        start = start.tb_next
    return start or tb


def exit_as_python(code: int, events: Events) -> None:
    """End as `python FILE` ends (its other threads joined, atexit run, files flushed) but
    without the interpreter's finalization, which freezes daemon threads where they stand: one
    frozen printing holds stdout's lock, and the exit waits 1 s for it, then aborts (seen: a
    client whose reading thread printed as its main code returned died of SIGABRT, "could not
    acquire lock for <stdout> at interpreter shutdown", or was still running 2 s after `leave`)."""
    try:
        threading._shutdown()  # type: ignore[attr-defined]  # how Python waits for its threads
        atexit._run_exitfuncs()
    except BaseException:  # noqa: B036, S110 - Ctrl+C, or a crash in the student's atexit
        pass
    # what finalization would flush as it frees them: a makefile("w") never flushed, a log file
    unflushed = [thing for thing in gc.get_objects()
                 if isinstance(thing, (io.BufferedWriter, io.BufferedRandom, io.TextIOWrapper))
                 and thing is not events.stream and thing not in (sys.stdout, sys.stderr)]
    for stream in [*unflushed, sys.stdout, sys.stderr]:
        if getattr(stream, "closed", True):
            continue  # as Python passes over a closed (or missing) stdout
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            if stream in (sys.stdout, sys.stderr):
                code = code or 120  # as Python exits when it cannot flush its output
    REAL_EXIT(code)


def run_server_program(path: str, events: Events, race: dict) -> None:
    """`python FILE` with an empty stdin; the grader takes the first listen() as ready, and
    this process's questions are answered on a thread of their own."""
    report_thread_crashes(path, events, race)
    threading.Thread(target=answer_quiet_questions, args=(events, path), daemon=True,
                     name="host-questions").start()
    run_program(path, [], events, server=True)


def restore_site(folders: str) -> None:
    """What `python FILE` has and `python -S` (how hosts start) lacks: the grader's
    site-packages folders on sys.path (they are passed: under -S this interpreter does not know
    its virtual environment) and the exit()/quit() builtins. .pth files are not run."""
    if not sys.flags.no_site:
        return
    import site

    sys.path.extend(folder for folder in folders.split(os.pathsep)
                    if folder and folder not in sys.path)
    site.setquit()
    site.setcopyright()
    site.sethelper()


def main(argv: list) -> None:
    cut = argv.index("--") if "--" in argv else len(argv)
    named = dict(zip(argv[:cut:2], argv[1:cut:2]))  # --name value pairs
    restore_site(named.get("--site", ""))
    rest = argv[cut + 1:]  # the program's own arguments
    events = Events(_channel(named["--events"]))
    path = os.path.abspath(named["--file"])
    mode = named.get("--mode", "serve")
    folder = os.path.dirname(path)
    confine(named.get("--drop", ""), folder)
    sys.path[0] = folder  # not ours: the student's helper modules import as they would
    try:
        os.chdir(folder)
    except OSError:
        pass
    install_socket_layer(events)
    report_exits(path, events)
    keep_channel(events)
    if mode in ("serve", "zygote", "run", "run-zygote"):
        WAITS.install()
        report_input(path, events)
        allow_signal_handlers()
    # how a check looks for races: from the fork request, or from the command line
    race = {"switch": named.get("--switch", 0), "locks": named.get("--locks") == "1",
            "pause": named.get("--pause", 0), "yields": named.get("--yields", 0),
            "late_end": named.get("--late-end", 0)}
    if mode in ("run", "run-zygote"):
        run_server_program(path, events, fork_server(events) if mode == "run-zygote" else race)
        return
    if mode in ("program", "program-zygote"):
        if mode == "program-zygote":  # the interpreter is warm; the student's code not loaded
            request = fork_server(events)
            rest = request.get("argv", [])
            CONNECT_TO["port"] = int(request.get("connect", 0))
        else:
            CONNECT_TO["port"] = int(named.get("--connect", 0))
        events.send("started")
        run_program(path, rest, events)  # never returns: it exits as `python FILE` would
        return
    sys.argv = [path]  # as `python FILE` gives it: the module may read it when imported
    module = import_student(path, events, float(named.get("--deadline", IMPORT_DEADLINE)))
    if module is None:
        os._exit(0)
    serve_forever(module, path, events, fork_server(events) if mode == "zygote" else race)


def _channel(value: str) -> int:
    if os.name == "nt":  # a handle the grader made inheritable for us
        import msvcrt

        return msvcrt.open_osfhandle(int(value), os.O_WRONLY)
    return int(value)


if __name__ == "__main__":
    main(sys.argv[1:])
