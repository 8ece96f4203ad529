# Source of notebooks/04_multi_user.ipynb and notebooks/ru/04_multi_user.ipynb.
# Edit this file, then run `python notebooks/build.py` (the format is described in build.py).

# The include cells below paste notebooks/src/shared/ into the notebook; these imports only
# tell ruff and readers where those names come from (the header is not in the notebooks).
from shared.demo_basics import ENCODING, HOST, WAIT, received
from shared.demo_server import DemoServer
from shared.line_reader import LineReader

# isort: split

# %% [markdown] en
# # Step 04 · A chat for everyone
#
# Any number of people, one thread per client, and one shared list of who is in the chat.
#
# The sample server that came with the assignment does exactly this, and in a quick try with
# two friends it seems to work. Measured, it is not so friendly: it **loses messages**, a
# client that just closes its window makes it **spin a CPU core at 100 %**, one dead socket
# **stops a broadcast halfway**, and one client that never types its name **blocks everyone
# who comes after**. In this notebook you watch each of these happen, live, and then the fix.
# At the end you know exactly what to write in `lessons/04_multi_user/server.py`.
#
# The conversation your server runs (Ann and Bob are already in the chat when Cat comes):
#
# ```mermaid
# sequenceDiagram
#     participant S as server
#     participant Ann
#     participant Bob
#     participant Cat
#     S->>Cat: what's your name:
#     Cat->>S: Cat
#     S->>Ann: Cat is amongst you now
#     S->>Bob: Cat is amongst you now
#     Cat->>S: hi all
#     S->>Ann: Cat: hi all
#     S->>Bob: Cat: hi all
#     Cat->>S: leave
#     S->>Ann: Cat has abandoned y'all
#     S->>Bob: Cat has abandoned y'all
#     S--xCat: closes Cat's connection
# ```
#
# Every line ends with `"\n"`. Nobody gets their own join notice or their own messages back.
# %% [markdown] ru
# # Шаг 04 · Чат для всех
#
# Сколько угодно участников, по потоку на клиента и один общий список тех, кто в чате.
#
# Пример сервера, приложенный к заданию, делает ровно это, и если быстро попробовать его с
# двумя друзьями, кажется, что всё работает. Но измерения показывают другое: он **теряет
# сообщения**, клиент, который просто закрыл окно, заставляет его **крутить ядро процессора
# на 100 %**, один мёртвый сокет **обрывает рассылку на середине**, а один клиент, который
# не вводит имя, **блокирует всех, кто придёт после него**. В этом блокноте вы увидите каждую
# из этих бед вживую, а затем исправление. В конце вы будете точно знать, что писать в
# `lessons/04_multi_user/server.py`.
#
# Разговор, который ведёт ваш сервер (Ann и Bob уже в чате, когда приходит Cat):
#
# ```mermaid
# sequenceDiagram
#     participant S as server
#     participant Ann
#     participant Bob
#     participant Cat
#     S->>Cat: what's your name:
#     Cat->>S: Cat
#     S->>Ann: Cat is amongst you now
#     S->>Bob: Cat is amongst you now
#     Cat->>S: hi all
#     S->>Ann: Cat: hi all
#     S->>Bob: Cat: hi all
#     Cat->>S: leave
#     S->>Ann: Cat has abandoned y'all
#     S->>Bob: Cat has abandoned y'all
#     S--xCat: closes Cat's connection
# ```
#
# Каждая строка заканчивается `"\n"`. Никто не получает уведомления о собственном входе и
# своих же сообщений обратно.

# %% [markdown] en
# The first cells prepare the tools: `DemoServer` runs a function of ours as a server in a
# background thread, `received()` collects what a client gets, and `LineReader` is the one
# from step 02 (your lesson file already has it). It is scaffolding: you need not read it
# closely, and it always cleans up after itself.
# %% [markdown] ru
# Первые ячейки готовят инструменты: `DemoServer` запускает нашу функцию как сервер в фоновом
# потоке, `received()` собирает всё, что получает клиент, а `LineReader` — тот самый из
# шага 02 (в файле урока он уже есть). Это леса вокруг стройки: вчитываться не обязательно, и
# за собой они всегда убирают.

# %% include demo_basics.py

# %% include demo_server.py

# %% include line_reader.py

# %% [markdown] en
# ## 1. Lost messages: one `recv()` is not one message
#
# The sample server treats every `recv(1024)` as one message, and the sample client sends
# what you type without a `"\n"`. This demo server reads the same way and says what it would
# relay. It is a little slow, as a real server is while it prints and sends to others
# (`time.sleep(0.2)` plays that part). Ann types `bye`, then `leave`:
# %% [markdown] ru
# ## 1. Потерянные сообщения: один `recv()` — не одно сообщение
#
# Пример сервера считает каждый `recv(1024)` одним сообщением, а пример клиента отправляет
# введённое без `"\n"`. Этот демо-сервер читает так же и сообщает, что он переслал бы.
# Он немного медлителен, как настоящий сервер, пока тот печатает и рассылает другим (эту роль
# играет `time.sleep(0.2)`). Ann пишет `bye`, потом `leave`:


# %%
import socket
import threading
import time


def read_like_the_sample(conn):
    """One recv() = one message, and only an exact "leave" leaves: the mistake."""
    while True:
        time.sleep(0.2)  # busy for a moment
        text = conn.recv(1024).decode(ENCODING)
        if not text:
            return
        if text == "leave":
            conn.sendall(b"server: Ann left the chat\n")
            return
        conn.sendall(f"server: relaying {text!r} to the others\n".encode(ENCODING))


with DemoServer(read_like_the_sample) as server, server.connect() as ann:
    ann.sendall(b"bye")
    ann.sendall(b"leave")
    print(received(ann, quiet=0.5))

# %% [markdown] en
# The others would see `Ann: byeleave`, and Ann never leaves. Under load the sample lost
# between 101 and 1,593 of 40,000 messages this way.
#
# **The fix** is the one from step 02: every line ends with `"\n"`, and a `LineReader` cuts the
# stream into lines. It also decodes only whole lines, so a Russian letter split between two
# `recv()` calls comes out whole (the sample would drop that message without a word: its
# `except: continue` swallows the `UnicodeDecodeError`). Same demo, framed:
# %% [markdown] ru
# Остальные увидели бы `Ann: byeleave`, а Ann так и не вышла бы из чата. Под нагрузкой пример
# сервера терял так от 101 до 1 593 сообщений из 40 000.
#
# **Исправление** — из шага 02: каждая строка заканчивается `"\n"`, а `LineReader` режет поток
# на строки. К тому же он декодирует только целые строки, так что русская буква, разрезанная
# между двумя `recv()`, выходит целой (пример сервера молча выбросил бы такое сообщение: его
# `except: continue` проглатывает `UnicodeDecodeError`). Тот же пример, но со строками:


# %%
def read_lines(conn):
    """Line by line, and a leave is a line that is "leave" after strip()."""
    reader = LineReader(conn)
    while True:
        time.sleep(0.2)  # just as slow
        line = reader.read_line()
        if line is None:
            return
        if line.strip() == "leave":
            conn.sendall(b"server: Ann left the chat\n")
            return
        conn.sendall(f"server: relaying {line!r} to the others\n".encode(ENCODING))


hello = "привет\n".encode(ENCODING)
with DemoServer(read_lines) as server, server.connect() as ann:
    ann.sendall(hello[:3])  # "п" and half of "р"
    time.sleep(0.2)
    ann.sendall(hello[3:] + b"bye\n")
    ann.sendall(b"leave\n")
    print(received(ann, quiet=0.5))

# %% [markdown] en
# ## 2. The CPU spin: a client that closes its window
#
# When a client disappears without `leave`, `recv()` returns `b''` at once, every time. The
# sample's handler loop ignores an empty message and goes round again, with no pause. The
# demo below lets Ann connect, say hi and close her window, and then measures the CPU time
# this process uses while the notebook itself just sleeps for 0.3 s. (The sample's loop is
# `while True`; this one has a `stop_spinning` so the demo can end it.)
# %% [markdown] ru
# ## 2. Процессор на 100 %: клиент закрыл окно
#
# Когда клиент исчезает, не написав `leave`, `recv()` мгновенно возвращает `b''`, и так каждый
# раз. Цикл обработчика в примере сервера пропускает пустое сообщение и идёт на следующий круг
# без всякой паузы. Ниже Ann подключается, здоровается и закрывает окно, а мы измеряем, сколько
# процессорного времени тратит этот процесс, пока сам блокнот просто спит 0,3 с. (В примере
# цикл — `while True`; здесь есть `stop_spinning`, чтобы пример можно было остановить.)

# %%
stop_spinning = threading.Event()


def loop_like_the_sample(conn):
    """Ignore an empty message and try again: the mistake."""
    while not stop_spinning.is_set():  # the sample: while True
        try:
            text = conn.recv(1024).decode(ENCODING)
            if text:
                conn.sendall(f"server: relaying {text!r}\n".encode(ENCODING))
        except Exception:  # the sample: a bare `except: continue`
            continue


def cpu_while_sleeping(seconds=0.3):
    """How busy this process is while the notebook's own thread sleeps."""
    before = time.process_time()
    time.sleep(seconds)
    return (time.process_time() - before) / seconds


with DemoServer(loop_like_the_sample) as server:
    with server.connect() as ann:
        ann.sendall(b"hi")
        print(received(ann))
    # Ann's window is closed now.
    print(f"CPU used by the server for a client that has gone: {cpu_while_sleeping():.0%}")
    stop_spinning.set()

# %% [markdown] en
# One core, fully busy, for a client that is not there any more. Three such clients: three
# cores, until someone restarts the server.
#
# **The fix:** `read_line()` returns `None` when the client has gone (that is its `b''`), and
# `None` ends the client's loop, exactly like `leave`. Then the thread tells the others and
# finishes.
# %% [markdown] ru
# Одно ядро, занятое полностью, ради клиента, которого уже нет. Три таких клиента — три ядра,
# пока кто-нибудь не перезапустит сервер.
#
# **Исправление:** `read_line()` возвращает `None`, когда клиент ушёл (это и есть его `b''`),
# и `None` завершает цикл клиента точно так же, как `leave`. Поток сообщает остальным и
# заканчивается.


# %%
def loop_until_gone(conn):
    reader = LineReader(conn)
    while True:
        line = reader.read_line()
        if line is None or line.strip() == "leave":
            break  # a leave and a hang-up end the same way
        conn.sendall(f"server: relaying {line!r}\n".encode(ENCODING))
    # here the real server calls chat.leave(client): "Ann has abandoned y'all"


with DemoServer(loop_until_gone) as server:
    with server.connect() as ann:
        ann.sendall(b"hi\n")
        print(received(ann))
    print(f"CPU used by the server for a client that has gone: {cpu_while_sleeping():.0%}")

# %% [markdown] en
# ## 3. A broadcast that dies at a dead socket
#
# The sample sends a message to the others in a plain `for` loop. Sending to a client that has
# gone raises an exception (usually not the first send: the other computer answers it with a
# "reset", and the *next* send raises). The exception ends the loop, so everyone **after** the
# dead client in the list misses the message, and the sender's own thread dies with it.
#
# Here the server side of four connections sits in a list, as in the sample's `clients`. Dan
# has closed his window; Bob talks:
# %% [markdown] ru
# ## 3. Рассылка, которая умирает на мёртвом сокете
#
# Пример сервера рассылает сообщение остальным простым циклом `for`. Отправка клиенту, который
# ушёл, бросает исключение (обычно не первая: другой компьютер отвечает на неё «сбросом»
# соединения, и исключение бросает *следующая* отправка). Исключение обрывает цикл, так что
# все, кто стоит в списке **после** мёртвого клиента, сообщение не получают, а поток самого
# отправителя умирает вместе с ним.
#
# Здесь серверные концы четырёх соединений лежат в списке, как `clients` в примере. Dan закрыл
# окно; говорит Bob:

# %%
listener = socket.create_server((HOST, 0))
listener.settimeout(WAIT)
clients, members = {}, {}  # name -> the client's socket / the server's end of the connection
for name in ["ann", "bob", "dan", "cat"]:
    clients[name] = socket.create_connection(listener.getsockname(), timeout=WAIT)
    members[name], _address = listener.accept()
clients["dan"].close()  # Dan has gone


def broadcast_like_the_sample(text, sender):
    for name, conn in members.items():
        if name != sender:
            conn.sendall(f"{sender}: {text}\n".encode(ENCODING))  # raises at a dead socket


for text in ["one", "two", "three"]:
    try:
        broadcast_like_the_sample(text, sender="bob")
    except OSError as error:
        print(f"broadcasting {text!r} stopped with {type(error).__name__}")
    time.sleep(0.1)
print("Ann got:", received(clients["ann"]).splitlines())
print("Cat got:", received(clients["cat"]).splitlines())

# %% [markdown] en
# Ann, before Dan in the list, got everything; Cat, after him, lost messages. In the sample the
# same loop also sends the join notices from the accept loop: there the exception ends the
# main thread, and **the server stops accepting anybody.**
#
# **The fix:** catch `OSError` for each member separately. The dead member's own thread
# notices its `None` and removes it from the chat; the broadcast just goes on.
# %% [markdown] ru
# Ann, стоящая в списке до Dan, получила всё; Cat, стоящий после него, сообщения потерял.
# В примере сервера тот же цикл рассылает и уведомления о входе прямо из цикла `accept`: там
# исключение завершает главный поток, и **сервер перестаёт принимать кого бы то ни было.**
#
# **Исправление:** ловить `OSError` для каждого участника отдельно. Собственный поток мёртвого
# участника заметит свой `None` и уберёт его из чата; рассылка просто идёт дальше.


# %%
def broadcast(text, sender):
    for name, conn in members.items():
        if name != sender:
            try:
                conn.sendall(f"{sender}: {text}\n".encode(ENCODING))
            except OSError:
                pass  # a dead member must not stop the others; its own thread removes it


for text in ["four", "five"]:
    broadcast(text, sender="bob")
print("Ann got:", received(clients["ann"]).splitlines())
print("Cat got:", received(clients["cat"]).splitlines())

for sock in [*clients.values(), *members.values(), listener]:
    sock.close()  # end of the demo: every socket is closed

# %% [markdown] en
# ## 4. One silent client blocks everyone
#
# The sample asks for the name **in the accept loop**: `accept()`, send the prompt, `recv()`
# the name, and only then start the client's thread. While it waits for one client's name, it
# cannot accept anybody else. Here a client connects and says nothing; then Bob connects. How
# long does Bob wait for his prompt? (The sample would wait for the name forever; this demo
# gives up after 1 s.)
# %% [markdown] ru
# ## 4. Один молчун блокирует всех
#
# Пример сервера спрашивает имя **прямо в цикле `accept`**: `accept()`, отправить вопрос,
# `recv()` имя, и только потом запустить поток клиента. Пока он ждёт имя одного клиента,
# никого другого он принять не может. Здесь один клиент подключается и молчит; потом
# подключается Bob. Сколько Bob ждёт своего вопроса? (Пример ждал бы имя вечно; этот
# демо-сервер сдаётся через 1 с.)


# %%
def ask_name(conn):
    conn.settimeout(1.0)  # the sample has no timeout: it would wait for the name forever
    conn.sendall(b"what's your name:\n")
    name = LineReader(conn).read_line()
    if name is not None:
        conn.sendall(f"welcome, {name}\n".encode(ENCODING))


def time_until_prompt(server):
    with server.connect() as _silent, server.connect() as bob:  # _silent never types a name
        bob.settimeout(5)  # this demo waits a little longer than WAIT, to see the delay
        started = time.monotonic()
        prompt = bob.recv(1024)
        return prompt, time.monotonic() - started


with DemoServer(ask_name, one_at_a_time=True) as server:  # the name is read in the accept loop
    prompt, waited = time_until_prompt(server)
print(f"in the accept loop: Bob got {prompt!r} after {waited:.2f} s")

with DemoServer(ask_name) as server:  # accept() and start a thread per client, nothing else
    prompt, waited = time_until_prompt(server)
print(f"in the client's own thread: Bob got {prompt!r} after {waited:.2f} s")

# %% [markdown] en
# **The fix:** the accept loop does nothing but `accept()` and start a thread. Asking for the
# name is the first thing the client's *own* thread does, so a silent client keeps only its own
# thread waiting.
#
# ## 5. A shared registry needs a lock
#
# In a multi-user chat, many threads use the same set of members at the same time: one thread
# sends to everyone while another adds a newcomer or removes a leaver. Changing a set while
# another loop walks through it breaks that loop. Shown here in one thread, so it happens
# every time (with threads it happens "only sometimes", which is worse):
# %% [markdown] ru
# **Исправление:** цикл `accept` не делает ничего, кроме `accept()` и запуска потока. Спросить
# имя — первое, что делает *собственный* поток клиента, и молчун заставляет ждать только свой
# поток.
#
# ## 5. Общему реестру нужна блокировка
#
# В многопользовательском чате много потоков одновременно работают с одним и тем же
# множеством участников: один поток рассылает всем, а другой тем временем добавляет новичка
# или удаляет ушедшего. Если менять множество, пока другой цикл по нему идёт, этот цикл
# ломается. Здесь это показано в одном потоке, поэтому случается каждый раз (с потоками это
# случается «лишь иногда», что ещё хуже):

# %%
members = {"ann", "bob"}
try:
    for _member in members:  # a broadcast is walking through the members...
        members.add("cat")  # ...and another thread adds a newcomer
except RuntimeError as error:
    print("RuntimeError:", error)

# %% [markdown] en
# **The fix:** one `Chat` object holds the members and one `threading.Lock`. Every change and
# every broadcast happens inside `with self.lock:`, so they take turns:
#
# - `join` sends the "is amongst you now" notice **and** adds the newcomer under one lock, so
#   nobody can send a message in between that the newcomer would miss.
# - `say` broadcasts under the lock, so each receiver gets every sender's lines in order.
# - `leave` removes the client and tells the others, once, whether it left or dropped.
#
# Here is the whole design, the one you are about to write:
#
# ```mermaid
# flowchart LR
#     L["accept loop: accept(),<br/>start a thread, nothing else"]
#     L -->|socket| TA["Ann's thread<br/>ask_name, join, say..., leave"]
#     L -->|socket| TB["Bob's thread"]
#     L -->|socket| TC["Cat's thread<br/>still waiting for a name:<br/>blocks nobody"]
#     TA -->|"with chat.lock"| R[("Chat.members: Ann, Bob<br/>guarded by Chat.lock")]
#     TB -->|"with chat.lock"| R
#     R -->|"_broadcast: send_line to every<br/>member but the sender"| S["Ann's and Bob's sockets"]
# ```
# %% [markdown] ru
# **Исправление:** один объект `Chat` хранит участников и одну `threading.Lock`. Любое
# изменение и любая рассылка происходят внутри `with self.lock:`, то есть по очереди:
#
# - `join` рассылает «is amongst you now» **и** добавляет новичка под одной блокировкой, чтобы
#   никто не успел между этими шагами отправить сообщение, которое новичок пропустит.
# - `say` рассылает под блокировкой, поэтому каждый получатель видит строки каждого
#   отправителя по порядку.
# - `leave` удаляет клиента и сообщает остальным — один раз, ушёл ли он сам или пропал.
#
# Вот вся схема, которую вы сейчас напишете:
#
# ```mermaid
# flowchart LR
#     L["accept loop: accept(),<br/>start a thread, nothing else"]
#     L -->|socket| TA["Ann's thread<br/>ask_name, join, say..., leave"]
#     L -->|socket| TB["Bob's thread"]
#     L -->|socket| TC["Cat's thread<br/>still waiting for a name:<br/>blocks nobody"]
#     TA -->|"with chat.lock"| R[("Chat.members: Ann, Bob<br/>guarded by Chat.lock")]
#     TB -->|"with chat.lock"| R
#     R -->|"_broadcast: send_line to every<br/>member but the sender"| S["Ann's and Bob's sockets"]
# ```

# %% [markdown] en
# ## Your turn
#
# Open **`lessons/04_multi_user/server.py`**. `LineReader` and `Client` are given; write the
# `# TODO:` parts (delete the `raise NotImplementedError` lines). Each one fixes a bug you saw:
#
# - **Glued messages, a lost `leave`** → `handle_client`: read with
#   `client.reader.read_line()`; the client leaves when `line.strip() == LEAVE`.
# - **100 % CPU for a client that has gone** → `handle_client`: `None` from `read_line()` ends
#   the loop just like `LEAVE`, and `chat.leave(client)` sits in a `finally:`, so it runs
#   whatever happened (an `OSError` too).
# - **A broadcast that dies at a dead socket** → `Chat._broadcast`: wrap each member's
#   `member.send_line(text)` in its own `try:` / `except OSError: pass`.
# - **A silent client blocks everyone** → `serve`: `accept()`, turn on `TCP_NODELAY`, start a
#   daemon thread running `handle_client(sock, chat)`, nothing else. `ask_name` runs in that
#   thread: send `PROMPT`, read a line, prompt again after a blank one, `strip()` the name.
# - **Lists shared with no lock** → `Chat.join`, `Chat.say`, `Chat.leave`: each one does its
#   work inside `with self.lock:`.
#
# A client that sends `leave` as its name, or leaves before naming itself, never joined, so
# nobody is told. Then run the cell below to grade your work. If `!` does not work here, run
# `grader 04` in a terminal, from the kit's folder.
# %% [markdown] ru
# ## Ваша очередь
#
# Откройте **`lessons/04_multi_user/server.py`**. `LineReader` и `Client` уже готовы; допишите
# части с `# TODO:` (строки `raise NotImplementedError` удалите). Каждая исправляет одну из
# увиденных бед:
#
# - **Слипшиеся сообщения, потерянный `leave`** → `handle_client`: читайте через
#   `client.reader.read_line()`; клиент уходит, когда `line.strip() == LEAVE`.
# - **100 % процессора на ушедшего клиента** → `handle_client`: `None` из `read_line()`
#   завершает цикл так же, как `LEAVE`, а `chat.leave(client)` стоит в `finally:`, чтобы
#   выполниться, что бы ни случилось (и при `OSError` тоже).
# - **Рассылка умирает на мёртвом сокете** → `Chat._broadcast`: оберните
#   `member.send_line(text)` каждого участника в отдельный `try:` / `except OSError: pass`.
# - **Молчун блокирует всех** → `serve`: `accept()`, включить `TCP_NODELAY`, запустить
#   поток-демон с `handle_client(sock, chat)`, и больше ничего. `ask_name` работает в этом
#   потоке: отправить `PROMPT`, прочитать строку, спросить снова после пустой, `strip()` имени.
# - **Общие списки без блокировки** → `Chat.join`, `Chat.say`, `Chat.leave`: каждый делает
#   свою работу внутри `with self.lock:`.
#
# Клиент, который прислал `leave` вместо имени или ушёл, не назвавшись, в чат не входил, и
# никому ничего не сообщается. Затем запустите ячейку ниже, чтобы проверить работу. Если `!`
# здесь не работает, выполните `grader 04` в терминале, в папке набора.

# %% grader
