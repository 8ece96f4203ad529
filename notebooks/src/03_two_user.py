# Source of notebooks/03_two_user.ipynb and notebooks/ru/03_two_user.ipynb.
# Edit this file, then run `python notebooks/build.py` (the format is described in build.py).

# The include cells below paste notebooks/src/shared/ into the notebook; these imports only
# tell ruff and readers where those names come from (the header is not in the notebooks).
from shared.demo_basics import ENCODING, HOST, WAIT, received
from shared.line_reader import LineReader

# isort: split

# %% [markdown] en
# # Step 03 · A chat for two
#
# Two clients, each with a name, and every line one of them types reaches the other. The new
# idea: the server has to wait for **two** sockets at the same time, and one thread can wait
# for only one. So: **one thread per direction.**
#
# Here is the whole conversation the server runs, from join to leave:
#
# ```mermaid
# sequenceDiagram
#     participant Ann
#     participant S as server
#     participant Bob
#     S->>Ann: what's your name:
#     Ann->>S: Ann
#     S->>Bob: what's your name:
#     Bob->>S: Bob
#     S->>Ann: Bob is amongst you now
#     Ann->>S: hi Bob
#     S->>Bob: Ann: hi Bob
#     Bob->>S: hello!
#     S->>Ann: Bob: hello!
#     Bob->>S: leave
#     S->>Ann: Bob has abandoned y'all
#     S--xAnn: closes both connections, waits for the next pair
# ```
#
# Every line ends with `"\n"`, in both directions (you built the line reader in step 02).
# Bob gets no notice of his own join, and nobody sees their own messages come back.
# %% [markdown] ru
# # Шаг 03 · Чат на двоих
#
# Два клиента, у каждого есть имя, и каждая строка, которую пишет один, доходит до другого.
# Новая идея: серверу нужно ждать **два** сокета одновременно, а один поток может ждать только
# один. Значит, **по потоку на каждое направление.**
#
# Вот весь разговор, который ведёт сервер, от входа до выхода:
#
# ```mermaid
# sequenceDiagram
#     participant Ann
#     participant S as server
#     participant Bob
#     S->>Ann: what's your name:
#     Ann->>S: Ann
#     S->>Bob: what's your name:
#     Bob->>S: Bob
#     S->>Ann: Bob is amongst you now
#     Ann->>S: hi Bob
#     S->>Bob: Ann: hi Bob
#     Bob->>S: hello!
#     S->>Ann: Bob: hello!
#     Bob->>S: leave
#     S->>Ann: Bob has abandoned y'all
#     S--xAnn: closes both connections, waits for the next pair
# ```
#
# Каждая строка заканчивается `"\n"`, в обе стороны (построчное чтение вы сделали в шаге 02).
# Боб не получает уведомления о собственном входе, и свои сообщения никому не возвращаются.

# %% [markdown] en
# The first cells prepare the tools: `LineReader` is the one from step 02 (your lesson file
# already has it), `PairServer` accepts two clients and runs a chat function of ours for them
# in a background thread, and `received()` collects what a client gets. It is scaffolding:
# you need not read it closely, and it always cleans up after itself.
# %% [markdown] ru
# Первые ячейки готовят инструменты: `LineReader` — тот самый из шага 02 (в файле урока он
# уже есть), `PairServer` принимает двух клиентов и запускает для них нашу функцию чата в
# фоновом потоке, а `received()` собирает всё, что получает клиент. Это леса вокруг стройки:
# вчитываться не обязательно, и за собой они всегда убирают.

# %% include demo_basics.py

# %% include line_reader.py

# %%
import queue
import socket
import threading


class PairServer:
    """A tiny two-user server for the demos: accepts two clients, then runs chat(first, second)
    in a background thread. Use it in a `with` block: when the block ends, the server hangs up
    on both clients and joins its thread, so nothing is left running."""

    def __init__(self, chat):
        self.chat = chat
        self.errors = []  # exceptions that ended the chat, for the demos to show
        self.conns = []
        self.listener = socket.create_server((HOST, 0))  # port 0: the OS picks a free port
        self.listener.settimeout(WAIT)
        self.thread = threading.Thread(target=self._run, name="demo-pair", daemon=True)
        self.thread.start()

    def connect(self):
        """A new client socket, connected to this server."""
        return socket.create_connection(self.listener.getsockname(), timeout=WAIT)

    def _run(self):
        try:
            for _ in range(2):
                conn, _address = self.listener.accept()
                conn.settimeout(WAIT)
                self.conns.append(conn)
            self.chat(*self.conns)
        except Exception as error:  # keep it for the demo instead of a thread traceback
            self.errors.append(error)
        finally:
            for conn in self.conns:
                conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        for conn in list(self.conns):
            try:
                conn.shutdown(socket.SHUT_RDWR)  # wakes up a thread waiting in recv()
            except OSError:
                pass  # already closed
        self.thread.join(WAIT)
        self.listener.close()


# %% [markdown] en
# ## 1. One thread, two directions: somebody waits
#
# The first idea that comes to mind: one loop that takes turns. Wait for a line from Ann,
# pass it to Bob; wait for a line from Bob, pass it to Ann; repeat. (Names are fixed here to
# keep the demo short.) Now let Bob speak first:
# %% [markdown] ru
# ## 1. Один поток на оба направления: кто-то ждёт
#
# Первое, что приходит в голову, — один цикл, который ходит по очереди. Ждём строку от Ann,
# передаём Bob; ждём строку от Bob, передаём Ann; и так далее. (Имена здесь заданы заранее,
# чтобы не удлинять пример.) А теперь пусть первым заговорит Bob:


# %%
def take_turns(ann, bob):
    """Both directions in one thread: the mistake."""
    ann_lines, bob_lines = LineReader(ann), LineReader(bob)
    while True:
        line = ann_lines.read_line()  # waits here until Ann says something...
        if line is None:
            return
        bob.sendall(f"Ann: {line}\n".encode(ENCODING))
        line = bob_lines.read_line()  # ...and only then listens to Bob
        if line is None:
            return
        ann.sendall(f"Bob: {line}\n".encode(ENCODING))


with PairServer(take_turns) as server, server.connect() as ann, server.connect() as bob:
    bob.sendall(b"hello, anybody there?\n")
    print("Ann got:", repr(received(ann)))
    ann.sendall(b"hi!\n")
    print("after Ann spoke, Bob got:", repr(received(bob)))
    print("            and Ann got:", repr(received(ann)))

# %% [markdown] en
# Bob's message sat in the server until Ann happened to speak: the only thread was waiting in
# `recv()` on Ann's socket. In a chat, nobody knows who speaks next.
#
# ## 2. The fix: one thread per direction
#
# `relay(sender, receiver)` passes one direction and nothing else, and each direction gets its
# own thread. When one side says `leave` (or just disappears: `read_line()` gives `None`), its
# relay puts it into a queue, and the chat tells the other side and ends.
# %% [markdown] ru
# Сообщение Bob пролежало на сервере, пока Ann случайно не заговорила: единственный поток
# ждал в `recv()` на сокете Ann. А в чате никто не знает, кто заговорит следующим.
#
# ## 2. Как правильно: по потоку на направление
#
# `relay(sender, receiver)` передаёт строки в одну сторону и больше ничего не делает, и у
# каждого направления свой поток. Когда одна сторона пишет `leave` (или просто исчезает:
# `read_line()` возвращает `None`), её `relay` кладёт её в очередь, а чат сообщает об этом
# другой стороне и заканчивается.


# %%
def relay(sender, receiver, name, ended):
    """Pass the sender's lines to the receiver until the sender leaves or drops."""
    reader = LineReader(sender)
    while True:
        line = reader.read_line()
        if line is None or line.strip() == "leave":
            ended.put(name)
            return
        receiver.sendall(f"{name}: {line}\n".encode(ENCODING))


def one_thread_per_direction(ann, bob):
    ended = queue.Queue()
    threads = []
    for sender, receiver, name in ((ann, bob, "Ann"), (bob, ann, "Bob")):
        args = (sender, receiver, name, ended)
        threads.append(threading.Thread(target=relay, args=args, name="demo-relay", daemon=True))
        threads[-1].start()
    gone = ended.get(timeout=10)  # wait until one side leaves (a demo never waits forever)
    other = ann if gone == "Bob" else bob
    other.sendall(f"{gone} has abandoned y'all\n".encode(ENCODING))
    for conn in (ann, bob):
        conn.shutdown(socket.SHUT_RDWR)  # wakes up the other relay, still waiting in recv()
    for thread in threads:
        thread.join(WAIT)


with PairServer(one_thread_per_direction) as server:
    with server.connect() as ann, server.connect() as bob:
        bob.sendall(b"hello, anybody there?\n")
        print("Ann got:", repr(received(ann)))
        ann.sendall("hi Bob! привет\n".encode(ENCODING))
        print("Bob got:", repr(received(bob)))
        bob.sendall(b"leave\n")
        print("Ann got:", repr(received(ann)), "and then the server hung up")
print("errors on the server:", server.errors)

# %% [markdown] en
# Bob's message arrives at once now, whoever speaks first. Try it: let Ann send three lines
# in a row, or let Ann leave instead of Bob.
#
# Two things the demo left out and your server needs:
#
# - **Names.** On connect the server sends `what's your name:`. The first line that is not
#   blank after `strip()` is the name. A blank line gets the prompt again; `leave` as the name
#   closes that connection, and nobody is told.
# - **Starting over.** When the chat ends, `serve()` closes both connections and welcomes the
#   next pair. A third client that connects meanwhile simply waits in the listen backlog until
#   `accept()` takes it.
# %% [markdown] ru
# Теперь сообщение Bob приходит сразу, кто бы ни заговорил первым. Попробуйте: пусть Ann
# отправит три строки подряд, или пусть уйдёт Ann, а не Bob.
#
# Две вещи, которых нет в примере, но которые нужны вашему серверу:
#
# - **Имена.** При подключении сервер отправляет `what's your name:`. Первая строка, которая
#   не пуста после `strip()`, — это имя. На пустую строку сервер спрашивает снова; `leave`
#   вместо имени закрывает это соединение, и никому ничего не сообщается.
# - **Всё сначала.** Когда чат закончился, `serve()` закрывает оба соединения и встречает
#   следующую пару. Третий клиент, подключившийся тем временем, просто ждёт в очереди
#   `listen`, пока его не примет `accept()`.

# %% [markdown] en
# ## Your turn
#
# Open **`lessons/03_two_user/server.py`**. `LineReader` and `Client` are given; write the
# `# TODO:` parts (delete the `raise NotImplementedError` lines):
#
# - `ask_name(client)`: send `PROMPT`; read a line; `None` or `LEAVE` → return `False`; a
#   blank line → prompt again; otherwise store the stripped name and return `True`.
# - `welcome(listener)`: `accept()` clients (turn on `TCP_NODELAY`) until one gives its name;
#   close the ones that leave or vanish first (`OSError`), and return the named one.
# - `relay(sender, receiver, ended)`: like the demo above, with `MESSAGE` for the text; at
#   `None` or `LEAVE` put the sender into `ended`.
# - `serve(listener)`: forever: welcome two clients, tell the first one that the second
#   joined, start `relay()` threads both ways, wait on `ended`, send `LEFT` to the other one,
#   close both clients.
#
# Then run the cell below to grade your work. If `!` does not work here, run `grader 03` in a
# terminal, from the kit's folder.
# %% [markdown] ru
# ## Ваша очередь
#
# Откройте **`lessons/03_two_user/server.py`**. `LineReader` и `Client` уже готовы; допишите
# части с `# TODO:` (строки `raise NotImplementedError` удалите):
#
# - `ask_name(client)`: отправьте `PROMPT`; прочитайте строку; `None` или `LEAVE` → верните
#   `False`; пустая строка → спросите снова; иначе сохраните имя без пробелов по краям и
#   верните `True`.
# - `welcome(listener)`: принимайте клиентов через `accept()` (включите `TCP_NODELAY`), пока
#   кто-то не назовёт имя; тех, кто ушёл или исчез раньше (`OSError`), закрывайте; верните
#   названного.
# - `relay(sender, receiver, ended)`: как в примере выше, текст через `MESSAGE`; при `None`
#   или `LEAVE` положите отправителя в `ended`.
# - `serve(listener)`: бесконечно: встретьте двух клиентов, сообщите первому, что вошёл
#   второй, запустите потоки `relay()` в обе стороны, дождитесь `ended`, отправьте `LEFT`
#   оставшемуся и закройте обоих.
#
# Затем запустите ячейку ниже, чтобы проверить работу. Если `!` здесь не работает, выполните
# `grader 03` в терминале, в папке набора.

# %% grader
