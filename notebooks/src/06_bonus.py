# Source of notebooks/06_bonus.ipynb and notebooks/ru/06_bonus.ipynb.
# Edit this file, then run `python notebooks/build.py` (the format is described in build.py).

# The include cells below paste notebooks/src/shared/ into the notebook; these imports only
# tell ruff and readers where those names come from (the header is not in the notebooks).
from shared.demo_basics import ENCODING, WAIT
from shared.demo_server import DemoServer
from shared.line_reader import LineReader

# isort: split

# %% [markdown] en
# # Step 06 · A chat that stays fast and fair (bonus)
#
# Your step 04 chat works, and it is correct: nothing lost, everything in order. But it has
# one weak spot. It sends each line to every member with `sendall()` **while it holds the
# chat's lock**. `sendall()` returns once the bytes are in the operating system's buffers; a
# client that stops reading lets those buffers fill up, and then `sendall()` waits, with the
# lock taken. Everybody else's messages wait for that lock: **one client that never reads
# stops the whole chat.** In this notebook you watch that happen, live, and then the fix: a
# queue and a writer thread for each client, a limit on the queue, and names that only one
# client can take. At the end you know what to write in `lessons/06_bonus/server.py`.
#
# The clients in the demos: **sloth**, who joins and then never reads again, and **Ann** and
# **Bob**, who just want to chat:
#
# ```mermaid
# sequenceDiagram
#     participant Z as sloth
#     participant S as server
#     participant A as Ann
#     participant B as Bob
#     Z->>S: sloth (and then it never reads)
#     A->>S: many lines
#     S->>B: Ann's lines
#     S--)Z: Ann's lines: its buffers fill up
#     B->>S: hi ann
#     S->>A: bob: hi ann (or not?)
# ```
# %% [markdown] ru
# # Шаг 06 · Чат, который остаётся быстрым и честным (бонус)
#
# Ваш чат из шага 04 работает и работает правильно: ничего не теряется, всё по порядку. Но у
# него есть одно слабое место. Он отправляет каждую строку каждому участнику через `sendall()`,
# **держа блокировку чата**. `sendall()` возвращается, как только байты легли в буферы
# операционной системы; у клиента, который перестал читать, эти буферы заполняются, и тогда
# `sendall()` ждёт — с занятой блокировкой. Сообщения всех остальных ждут эту блокировку:
# **один клиент, который не читает, останавливает весь чат.** В этом блокноте вы увидите это
# вживую, а затем исправление: у каждого клиента своя очередь и свой поток-писатель, очередь
# ограничена, а имя может занять только один клиент. В конце вы будете знать, что писать в
# `lessons/06_bonus/server.py`.
#
# Клиенты в примерах: **sloth** (ленивец), который входит в чат и больше никогда ничего не
# читает, и **Ann** и **Bob**, которые просто хотят поболтать:
#
# ```mermaid
# sequenceDiagram
#     participant Z as sloth
#     participant S as server
#     participant A as Ann
#     participant B as Bob
#     Z->>S: sloth (and then it never reads)
#     A->>S: many lines
#     S->>B: Ann's lines
#     S--)Z: Ann's lines: its buffers fill up
#     B->>S: hi ann
#     S->>A: bob: hi ann (or not?)
# ```

# %% [markdown] en
# The first cells prepare the tools: `DemoServer` runs a function of ours as a server in a
# background thread, and `LineReader` is the one from step 02. It is scaffolding: you need not
# read it closely, and it always cleans up after itself.
# %% [markdown] ru
# Первые ячейки готовят инструменты: `DemoServer` запускает нашу функцию как сервер в фоновом
# потоке, а `LineReader` — тот самый из шага 02. Это леса вокруг стройки: вчитываться не
# обязательно, и за собой они всегда убирают.

# %% include demo_basics.py

# %% include demo_server.py

# %% include line_reader.py

# %% [markdown] en
# And a few helpers for this notebook. The demos make the sockets' buffers small (4 KB), so
# that a few KB fill them; with the usual sizes it takes a few MB, and happens just the same.
# Every wait has a deadline, so nothing here can hang.
# %% [markdown] ru
# И несколько помощников для этого блокнота. В примерах буферы сокетов маленькие (4 КБ), чтобы
# их заполняли несколько килобайт; с обычными размерами для этого нужно несколько мегабайт, и
# происходит всё точно так же. У каждого ожидания есть срок, так что здесь ничто не зависнет.

# %%
import socket
import threading
import time

SMALL = 4096  # bytes: the demo's socket buffers
LINE = "x" * 1000  # the text of each of Ann's lines: about 1 KB


def connect_sloth(server):
    """Sloth: a client with a small receive buffer, which reads nothing after its welcome."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SMALL)  # before connect()
    sock.settimeout(WAIT)
    sock.connect(server.address)
    return sock


def join(sock, name):
    """Give the demo server a name, and wait for its "welcome"."""
    sock.sendall(f"{name}\n".encode(ENCODING))
    return LineReader(sock).read_line()


def flood(sock, count):
    """Ann sends `count` lines of about 1 KB each."""
    sock.sendall("".join(f"{n:03} {LINE}\n" for n in range(count)).encode(ENCODING))


def lines_until(reader, done, seconds=WAIT):
    """The lines a client reads until done(lines) is true, or `seconds` have passed."""
    lines = []
    deadline = time.monotonic() + seconds
    while not done(lines) and time.monotonic() < deadline:
        reader.sock.settimeout(max(0.01, deadline - time.monotonic()))
        line = reader.read_line()  # None once the deadline has passed
        if line is None:
            break
        lines.append(line)
    reader.sock.settimeout(WAIT)
    return lines


def from_ann(lines):
    return [line for line in lines if line.startswith("ann: ")]

# %% [markdown] en
# ## 1. Step 04's way: `sendall()` under the lock
#
# This demo server is step 04's design, cut down to what matters here (no join notices): a
# set of members, one lock, and a broadcast that calls `sendall()` for each member while it
# holds the lock. Sloth joins and reads nothing; Ann sends 100 lines; Bob reads.
# %% [markdown] ru
# ## 1. Как в шаге 04: `sendall()` под блокировкой
#
# Этот демо-сервер устроен как в шаге 04, только без лишнего (без уведомлений о входе):
# множество участников, одна блокировка и рассылка, которая вызывает `sendall()` для каждого
# участника, держа блокировку. Sloth входит в чат и ничего не читает; Ann отправляет 100 строк;
# Bob читает.

# %%
members = {}  # name -> the server's socket to that client
lock = threading.Lock()


def chat_like_step_04(conn):
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SMALL)
    conn.settimeout(10)  # step 04 has no timeout and would wait forever; 10 s ends the demo
    reader = LineReader(conn)
    name = reader.read_line()
    with lock:
        members[name] = conn
    conn.sendall(b"welcome\n")
    try:
        while True:
            line = reader.read_line()
            if line is None:
                break
            with lock:  # as in step 04: every sendall() happens with the lock held
                for other in members.values():
                    if other is not conn:
                        try:
                            other.sendall(f"{name}: {line}\n".encode(ENCODING))
                        except OSError:
                            pass
    finally:
        with lock:
            del members[name]


with DemoServer(chat_like_step_04) as server:
    with connect_sloth(server) as sloth, server.connect() as ann, server.connect() as bob:
        for sock, name in [(sloth, "sloth"), (ann, "ann"), (bob, "bob")]:
            join(sock, name)
        ann_in, bob_in = LineReader(ann), LineReader(bob)
        flood(ann, 100)
        got = lines_until(bob_in, lambda lines: len(lines) == 100)
        print(f"Bob got {len(got)} of Ann's 100 lines, then nothing more for {WAIT:g} s")
        bob.sendall(b"hi ann\n")
        got = lines_until(ann_in, lambda lines: "bob: hi ann" in lines)
        print(f"Bob said 'hi ann'; within {WAIT:g} s Ann got {got}")

# %% [markdown] en
# Bob reads everything he is sent, and still he stopped getting Ann's lines after a handful,
# and Ann did not get Bob's message at all. Both are waiting for the server's thread
# that reads Ann: it sits in `sendall()` to sloth, whose buffers are full, holding the lock
# that every other broadcast needs. (Step 04's server would sit there forever.)
#
# ## 2. The fix: a queue and a writer thread per client
#
# No thread should ever wait on *another* client's socket. So each client gets an outbox: a
# list of lines waiting to be sent, and a writer thread of its own, the only code that calls
# `sendall()` on that socket. A broadcast just appends the line to each member's outbox, which
# never waits. The writer takes everything waiting in one go and sends it with **one**
# `sendall()`: a hundred short lines become one system call.
#
# ```mermaid
# flowchart LR
#     R["Ann's thread:<br/>reads her lines"]
#     Q1[("Bob's outbox")]
#     Q2[("sloth's outbox")]
#     W1["Bob's writer thread:<br/>one sendall() per batch"]
#     W2["sloth's writer thread:<br/>waits in sendall(),<br/>and nobody waits for it"]
#     R -->|"with the lock:<br/>put the line in each outbox"| Q1
#     R --> Q2
#     Q1 --> W1 --> B["Bob's socket"]
#     Q2 --> W2 --> Z["sloth's socket"]
# ```
#
# An outbox must not grow forever (sloth would take all the memory there is), so it has a
# budget in bytes. A line that does not fit gets a moment, `GRACE`, for the writer to make
# room: Python runs one thread at a time, and a fast sender can fill a queue before its writer
# had its turn. A client that reads makes room at once; the next section shows what happens to
# one that does not.
# %% [markdown] ru
# Bob читает всё, что ему присылают, и всё равно перестал получать строки Ann после первых
# нескольких, а сообщение Bob до Ann не дошло вовсе. Оба ждут поток сервера, который читает Ann:
# он стоит в `sendall()` к sloth, чьи буферы полны, и держит блокировку, которая нужна любой
# другой рассылке. (Сервер из шага 04 простоял бы так вечно.)
#
# ## 2. Исправление: очередь и поток-писатель у каждого клиента
#
# Ни один поток не должен ждать *чужой* сокет. Поэтому у каждого клиента есть исходящий ящик:
# список строк, ждущих отправки, и свой поток-писатель — единственный код, который вызывает
# `sendall()` на этом сокете. Рассылка просто добавляет строку в ящик каждого участника, а это
# никогда не ждёт. Писатель забирает всё, что накопилось, разом и отправляет **одним**
# `sendall()`: сотня коротких строк превращается в один системный вызов.
#
# ```mermaid
# flowchart LR
#     R["поток Ann:<br/>читает её строки"]
#     Q1[("ящик Bob")]
#     Q2[("ящик sloth")]
#     W1["писатель Bob:<br/>один sendall() на пачку"]
#     W2["писатель sloth:<br/>ждёт в sendall(),<br/>и никто не ждёт его"]
#     R -->|"под блокировкой:<br/>строка в каждый ящик"| Q1
#     R --> Q2
#     Q1 --> W1 --> B["сокет Bob"]
#     Q2 --> W2 --> Z["сокет sloth"]
# ```
#
# Ящик не должен расти бесконечно (sloth забрал бы всю память, какая есть), поэтому у него есть
# бюджет в байтах. Строке, которая не помещается, дают немного времени, `GRACE`, чтобы писатель
# освободил место: Python выполняет одновременно только один поток, и быстрый отправитель может
# заполнить очередь раньше, чем до писателя дойдёт черёд. Клиент, который читает, освобождает
# место сразу; что бывает с тем, кто не читает, покажет следующий раздел.

# %%
GRACE = 0.5  # seconds a full outbox gets to make room


class Outbox:
    """One client's queue of bytes to send, and the writer thread that sends them."""

    def __init__(self, conn, budget):
        self.conn = conn
        self.budget = budget  # bytes
        self.waiting = []  # encoded lines
        self.size = 0  # their bytes, the batch being sent included
        self.closed = False
        self.ready = threading.Condition()  # guards the four above; wakes the writer
        self.writer = threading.Thread(target=self.write_loop, name="demo-writer", daemon=True)
        self.writer.start()

    def put(self, data):
        """Queue data; False if it does not fit in the budget, even after GRACE."""
        with self.ready:
            fits = self.ready.wait_for(
                lambda: self.closed or self.size + len(data) <= self.budget, timeout=GRACE
            )
            if self.closed or not fits:
                return False
            self.waiting.append(data)
            self.size += len(data)
            self.ready.notify_all()
            return True

    def write_loop(self):
        while True:
            with self.ready:
                self.ready.wait_for(lambda: self.waiting or self.closed)
                if self.closed:
                    return
                batch = b"".join(self.waiting)  # everything waiting: one sendall()
                self.waiting.clear()
            try:
                self.conn.sendall(batch)  # may wait for a slow reader: only this thread waits
            except OSError:
                self.close()
                return
            with self.ready:
                self.size -= len(batch)
                self.ready.notify_all()  # room again

    def close(self):
        """Hang up: the writer ends, and so does the thread that reads this client."""
        with self.ready:
            self.closed = True
            self.ready.notify_all()
        try:
            self.conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass  # already shut down


outboxes = {}  # name -> Outbox
outboxes_lock = threading.Lock()
BUDGET = 256 * 1024  # bytes an outbox may hold in this demo (the lesson's server: 4 MiB)


def chat_with_outboxes(conn):
    conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SMALL)
    conn.settimeout(10)
    reader = LineReader(conn)
    name = reader.read_line()
    box = Outbox(conn, BUDGET)
    with outboxes_lock:
        outboxes[name] = box
    box.put(b"welcome\n")
    try:
        while True:
            line = reader.read_line()
            if line is None:
                break  # it left, or it was dropped
            data = f"{name}: {line}\n".encode(ENCODING)  # encoded once, for everyone
            with outboxes_lock:
                for other in outboxes.values():
                    if other is not box and not other.put(data):
                        other.close()  # no room even after GRACE: drop that client
    finally:
        with outboxes_lock:
            del outboxes[name]
            for other in outboxes.values():
                other.put(f"{name} has abandoned y'all\n".encode(ENCODING))
        box.close()
        box.writer.join(WAIT)

# %% [markdown] en
# The same three clients, the same 100 lines from Ann:
# %% [markdown] ru
# Те же три клиента, те же 100 строк от Ann:

# %%
with DemoServer(chat_with_outboxes) as server:
    with connect_sloth(server) as sloth, server.connect() as ann, server.connect() as bob:
        for sock, name in [(sloth, "sloth"), (ann, "ann"), (bob, "bob")]:
            join(sock, name)
        ann_in, bob_in = LineReader(ann), LineReader(bob)
        started = time.monotonic()
        flood(ann, 100)
        got = lines_until(bob_in, lambda lines: len(from_ann(lines)) == 100)
        print(f"Bob got {len(from_ann(got))} of Ann's 100 lines in "
              f"{time.monotonic() - started:.3f} s")
        started = time.monotonic()
        bob.sendall(b"hi ann\n")
        got = lines_until(ann_in, lambda lines: "bob: hi ann" in lines)
        print(f"Bob said 'hi ann'; Ann got {got} after {time.monotonic() - started:.3f} s")
        print(f"sloth is still connected, reading nothing; {outboxes['sloth'].size:,} bytes "
              "wait in its outbox")

# %% [markdown] en
# Bob got every line at once, Bob's message reached Ann at once, and sloth costs nothing but
# its own writer thread, which waits, and the bytes in its outbox.
#
# ## 3. A budget: drop the client that does not read
#
# Those bytes would grow with every line anybody says. So when a line does not fit in a
# client's budget, even after `GRACE`, the server drops that client: it closes the
# connection, and tells the others, just as if the client had hung up. The memory one client
# can cost is bounded by its budget. Ann now sends 400 lines, more than sloth's buffers and its
# 256 KiB budget together; she sends them from a thread of her own, while Bob reads:
# %% [markdown] ru
# Bob получил все строки сразу, сообщение Bob дошло до Ann сразу, а sloth стоит серверу только
# своего потока-писателя, который ждёт, да байтов в его ящике.
#
# ## 3. Бюджет: отключить клиента, который не читает
#
# Этих байтов становилось бы больше с каждой строкой, кто бы её ни написал. Поэтому, когда
# строка не помещается в бюджет клиента даже после `GRACE`, сервер этого клиента отключает:
# закрывает соединение и сообщает остальным, как будто клиент сам оборвал связь. Память, которую
# может стоить один клиент, ограничена его бюджетом. Теперь Ann отправляет 400 строк, больше,
# чем вмещают буферы sloth и его бюджет в 256 КиБ вместе; она отправляет их из своего потока,
# пока Bob читает:

# %%
with DemoServer(chat_with_outboxes) as server:
    with connect_sloth(server) as sloth, server.connect() as ann, server.connect() as bob:
        for sock, name in [(sloth, "sloth"), (ann, "ann"), (bob, "bob")]:
            join(sock, name)
        bob_in = LineReader(bob)
        started = time.monotonic()
        ann_sends = threading.Thread(target=flood, args=(ann, 400), name="demo-ann")
        ann_sends.start()
        got = lines_until(
            bob_in,
            lambda lines: len(from_ann(lines)) == 400 and "sloth has abandoned y'all" in lines,
        )
        ann_sends.join(WAIT)
        print(f"in {time.monotonic() - started:.2f} s, Bob got {len(from_ann(got))} of Ann's "
              "400 lines, and also:", [line for line in got if not line.startswith("ann: ")])
        print("still in the chat:", sorted(outboxes))

# %% [markdown] en
# Sloth was dropped after about half a second, the `GRACE` its full outbox got, and Bob was
# told, as after any hang-up. Bob, who reads, got every line.
#
# That half second has a cost, though: `put()` waits with the chat's lock held, so for that
# moment *nobody's* line goes anywhere. The lesson's server does better. Its `send()` never
# waits: nothing queued yet, it hands the socket what fits at once (`send()` with
# `MSG_DONTWAIT`, as asyncio does) and queues only the rest; a queue over its budget means a
# drop at once. And a writer whose `sendall()` can hand the kernel nothing for
# `CATCH_UP_SECONDS` gets an `OSError` from the socket itself (the `SO_SNDTIMEO` option), which
# drops the client too. In the load study (docs/load_study.md), one client that reads nothing
# took the others' p99 latency from 1.2 ms to 480 ms with the waiting `send()`, and left it at
# about 0.5 ms without it.
#
# One more step makes it fast as well as fair: a broadcast in the lesson's server touches no
# socket at all. It adds the line to each member's *unsent* lines, and one flusher thread sends
# each waiting member everything it has, in one `send()`. While the flusher sends, new
# broadcasts pile up, so the busier the chat, the more lines each call carries, as an event
# loop's turn does. A client's writer thread is started only the first time its socket could
# not take everything: most clients never need one.
#
# ## 4. One name, one client
#
# In this step a name can be in the chat only once: a client that asks for a name in use is
# told `name taken, what's your name:` and answers again. "Is it free? Then it is mine" looks
# like one step, but it is two, and between them another thread can run. Here ten clients ask
# for `ann` at the same moment; the server checks the name, spends a moment (a real server
# sends the join notice there), and takes it:
# %% [markdown] ru
# Sloth отключили примерно через полсекунды — столько, `GRACE`, дали его полному ящику, — и
# Bob об этом сообщили, как после любого обрыва связи. Bob, который читает, получил все строки.
#
# Но у этой полусекунды есть цена: `put()` ждёт, держа блокировку чата, и всё это время ничья
# строка никуда не идёт. Сервер урока устроен лучше. Его `send()` никогда не ждёт: если в
# очереди пусто, он сразу отдаёт сокету то, что влезает (`send()` с `MSG_DONTWAIT`, как делает
# asyncio), и ставит в очередь только остаток; очередь сверх бюджета — сразу отключение. А
# писатель, чей `sendall()` за `CATCH_UP_SECONDS` не смог отдать ядру ни байта, получает
# `OSError` от самого сокета (параметр `SO_SNDTIMEO`), и клиента тоже отключают. В нагрузочном
# исследовании (docs/load_study.md) один нечитающий клиент поднял p99 задержки остальных с
# 1,2 мс до 480 мс при ждущем `send()` и оставил его около 0,5 мс без ожидания.
#
# Ещё один шаг делает сервер не только честным, но и быстрым: рассылка в сервере урока вообще не
# трогает сокеты. Она добавляет строку в *неотправленные* строки каждого участника, а один
# поток-отправитель (flusher) шлёт каждому ждущему участнику всё, что у него накопилось, одним
# `send()`. Пока отправитель шлёт, копятся новые рассылки, так что чем оживлённее чат, тем больше
# строк несёт каждый вызов — как один оборот цикла событий. Поток-писатель клиента запускается,
# только когда его сокет впервые не смог принять всё: большинству клиентов он не нужен.
#
# ## 4. Одно имя — один клиент
#
# На этом шаге имя может быть в чате только один раз: клиенту, который просит уже занятое имя,
# отвечают `name taken, what's your name:`, и он отвечает снова. «Свободно? Тогда моё» выглядит
# как один шаг, но это два, и между ними может поработать другой поток. Здесь десять клиентов в
# один и тот же момент просят имя `ann`; сервер проверяет имя, немного занят (настоящий сервер в
# этот момент рассылает уведомление о входе) и занимает его:

# %%
names = set()
names_lock = threading.Lock()


def take_name_unlocked(name):
    if name in names:
        return False
    time.sleep(0.05)  # a moment's work, between the check and the taking
    names.add(name)
    return True


def take_name_locked(name):
    with names_lock:  # the check and the taking are one step: nobody runs in between
        if name in names:
            return False
        time.sleep(0.05)
        names.add(name)
        return True


def name_server(take_name):
    def handle(conn):
        conn.sendall(b"what's your name:\n")
        name = LineReader(conn).read_line()
        if name is not None:
            taken = not take_name(name.strip())
            conn.sendall(b"name taken, what's your name:\n" if taken else b"welcome\n")

    return handle


def ten_ask_for_ann(take_name):
    """How many of ten clients, asking at the same moment, get the name ann."""
    names.clear()
    with DemoServer(name_server(take_name)) as server:
        clients = [server.connect() for _ in range(10)]
        try:
            for client in clients:
                client.recv(100)  # its prompt: its thread on the server is running
            for client in clients:
                client.sendall(b"ann\n")  # all at once
            answers = [LineReader(client).read_line() for client in clients]
        finally:
            for client in clients:
                client.close()
    return answers.count("welcome")


print(f"check, then take:     {ten_ask_for_ann(take_name_unlocked)} of 10 clients got ann")
print(f"both under one lock:  {ten_ask_for_ann(take_name_locked)} of 10 clients got ann")

# %% [markdown] en
# Without the lock, every client checked while the name was still free, and they all got
# it. With the check and the taking under one lock, exactly one did. In the lesson's server
# that lock is the chat's own: `Chat.join()` checks the name, sends the join notice and adds
# the client, all under `chat.lock`.
# %% [markdown] ru
# Без блокировки каждый клиент проверял имя, пока оно ещё было свободно, и все его получили.
# Когда проверка и занятие имени стоят под одной блокировкой, имя получил ровно один. В сервере
# урока эта блокировка — блокировка самого чата: `Chat.join()` проверяет имя, рассылает
# уведомление о входе и добавляет клиента, всё под `chat.lock`.

# %% [markdown] en
# ## 5. Under load: what the design buys
#
# `grader load` puts many clients on a server at once and counts what arrives
# (docs/load_study.md has the whole study and how to run it). Four servers of the same
# protocol: step 04's, this step's, and two single-threaded event loops written for
# comparison (selectors, asyncio). Every client sends a burst of messages; every message must
# reach every other client.
#
# ![deliveries per second against the number of clients](../docs/load_study/deliveries.png)
# ![server CPU per delivery against the number of clients](../docs/load_study/cpu.png)
#
# This step's server keeps up with asyncio up to 100 clients (at 1000 it reaches about 0.8 of
# asyncio's deliveries a second), at a fraction of a microsecond of CPU per delivery: its
# flusher sends each member everything broadcast since its last turn in one `send()`, as an
# event loop does, and the more the chat has to send, the more each call carries. Step 04
# makes a system call per delivery and is 2 to 4 times slower. With
# one client that reads nothing, step 04 lost 43,444 of 68,400 deliveries; this step lost none,
# and the others' p99 latency stayed under a millisecond.
# %% [markdown] ru
# ## 5. Под нагрузкой: что даёт такое устройство
#
# `grader load` подключает к серверу сразу много клиентов и считает, что до них дошло
# (всё исследование и то, как его повторить, — в docs/load_study.md). Четыре сервера одного
# протокола: из шага 04, из этого шага и два однопоточных цикла событий, написанных для
# сравнения (selectors, asyncio). Каждый клиент отправляет пачку сообщений; каждое сообщение
# должно дойти до всех остальных клиентов.
#
# ![доставок в секунду в зависимости от числа клиентов](../../docs/load_study/deliveries.png)
# ![процессорное время сервера на доставку](../../docs/load_study/cpu.png)
#
# Сервер этого шага не отстаёт от asyncio до 100 клиентов (при 1000 он успевает около 0,8
# доставок asyncio в секунду) и тратит доли микросекунды процессора на доставку: его
# поток-отправитель шлёт каждому участнику всё разосланное с его прошлого хода одним `send()`,
# как цикл событий, и чем больше чату нужно отправить, тем больше несёт каждый вызов. Шаг 04
# делает системный вызов на каждую доставку и медленнее в 2–4 раза.
# С одним клиентом, который ничего не читает, шаг 04 потерял 43 444 доставки из 68 400; этот
# шаг — ни одной, а p99 задержки остальных осталось меньше миллисекунды.

# %% [markdown] en
# ## Your turn
#
# Open **`lessons/06_bonus/server.py`**. It is step 04's chat with the pieces of this
# notebook; `LineReader`, `Client.hang_up()`, `Chat.say()`, `Chat.leave()`, `handle_client()`
# and `accept_client()` are given. Write the `# TODO:` parts (delete the
# `raise NotImplementedError` lines):
#
# - **Sloth stops the chat** → `Client.send()` never waits (with `self.ready`, a
#   `threading.Condition`, held): with nothing queued, it hands the socket what fits at once
#   (`MSG_DONTWAIT`), and queues the rest, starting the client's writer thread the first time;
#   `Client.write_loop()`, that writer, sends everything queued with one `sendall()`.
#   `Chat._broadcast()` encodes the line once and adds it to each member's `unsent` lines (no
#   socket there); `Chat.flush_loop()`, the flusher, gives each waiting member its lines in one
#   `member.send()`, with the chat's lock released.
# - **Memory without end** → `Client.send()`: what does not fit in `MAX_QUEUED_BYTES` means
#   `hang_up()`; the client's own thread then leaves the chat, and the others hear
#   `NAME has abandoned y'all`. (`accept_client()` gives every socket a send timeout of
#   `CATCH_UP_SECONDS`, so a writer stuck on a client that reads nothing fails and hangs up.)
# - **Two clients, one name** → `Chat.join()` checks and takes the name under the chat's lock
#   and says whether it did; `ask_name()` asks again with `NAME_TAKEN` when it did not.
# - **A clean end** → `serve()`: when `accept_client()` returns `None` (the listener was
#   closed), shut down every client's socket, so that its thread wakes up from `recv()`,
#   `join()` every client thread (each one joins its writer thread), then `chat.close()` (the
#   flusher sends what is left and ends) before returning.
#
# Then run the cell below to grade your work. If `!` does not work here, run `grader 06` in a
# terminal, from the kit's folder.
# %% [markdown] ru
# ## Ваша очередь
#
# Откройте **`lessons/06_bonus/server.py`**. Это чат из шага 04 с деталями из этого блокнота;
# `LineReader`, `Client.hang_up()`, `Chat.say()`, `Chat.leave()`, `handle_client()` и
# `accept_client()` уже готовы. Допишите части с `# TODO:` (строки `raise NotImplementedError`
# удалите):
#
# - **Sloth останавливает чат** → `Client.send()` никогда не ждёт (под `self.ready`, это
#   `threading.Condition`): если в очереди пусто, он сразу отдаёт сокету то, что влезает
#   (`MSG_DONTWAIT`), а остаток ставит в очередь, в первый раз запуская поток-писатель клиента;
#   `Client.write_loop()`, этот писатель, отправляет всё накопленное одним `sendall()`.
#   `Chat._broadcast()` кодирует строку один раз и добавляет её в `unsent` каждого участника
#   (никаких сокетов там); `Chat.flush_loop()`, поток-отправитель, отдаёт каждому ждущему
#   участнику его строки одним `member.send()`, отпустив блокировку чата.
# - **Память без конца** → `Client.send()`: то, что не помещается в `MAX_QUEUED_BYTES`,
#   означает `hang_up()`; тогда собственный поток клиента выходит из чата, и остальные слышат
#   `NAME has abandoned y'all`. (`accept_client()` даёт каждому сокету тайм-аут отправки
#   `CATCH_UP_SECONDS`, так что писатель, застрявший на нечитающем клиенте, получает ошибку и
#   отключает его.)
# - **Два клиента, одно имя** → `Chat.join()` проверяет и занимает имя под блокировкой чата и
#   сообщает, получилось ли; `ask_name()`, если не получилось, спрашивает снова с `NAME_TAKEN`.
# - **Чистое завершение** → `serve()`: когда `accept_client()` возвращает `None` (слушающий
#   сокет закрыли), вызовите shutdown для сокета каждого клиента, чтобы его поток проснулся в
#   `recv()`, `join()` для каждого потока клиента (каждый из них ждёт своего писателя), затем
#   `chat.close()` (отправитель досылает остаток и завершается), и только потом возвращайтесь.
#
# Затем запустите ячейку ниже, чтобы проверить работу. Если `!` здесь не работает, выполните
# `grader 06` в терминале, в папке набора.

# %% grader
