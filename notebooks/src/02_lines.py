# Source of notebooks/02_lines.ipynb and notebooks/ru/02_lines.ipynb.
# Edit this file, then run `python notebooks/build.py` (the format is described in build.py).

# The include cells below paste notebooks/src/shared/ into the notebook; these imports only
# tell ruff and readers where those names come from (the header is not in the notebooks).
from shared.demo_basics import ENCODING, received
from shared.demo_server import DemoServer

# isort: split

# %% [markdown] en
# # Step 02 · Lines: TCP is a stream of bytes
#
# TCP promises that your bytes arrive, in order. It does **not** promise that one `sendall()`
# arrives as one `recv()`. In this notebook you watch two messages arrive glued together, one
# message arrive in pieces, and a Russian letter cut in half — and then you fix all three with
# one idea: **keep the bytes in a buffer and cut out whole lines at `b"\n"`.**
#
# Run the cells from the top (Shift+Enter). Everything stays on `127.0.0.1`.
# %% [markdown] ru
# # Шаг 02 · Строки: TCP — это поток байтов
#
# TCP обещает, что ваши байты дойдут, и дойдут по порядку. Но он **не** обещает, что один
# `sendall()` придёт одним `recv()`. В этом блокноте вы увидите, как два сообщения слипаются в
# одно, как одно сообщение приходит кусками и как русская буква разрезается пополам, — а затем
# исправите все три беды одной идеей: **складывать байты в буфер и вырезать из него целые
# строки по `b"\n"`.**
#
# Запускайте ячейки сверху вниз (Shift+Enter). Всё остаётся на `127.0.0.1`.

# %% [markdown] en
# The first cells prepare a small tool: `DemoServer` runs a function of ours as a server in a
# background thread, and `received()` collects what a client gets. You do not need to read it
# closely; it is scaffolding, and it always cleans up after itself.
# %% [markdown] ru
# Первые ячейки готовят инструменты: `DemoServer` запускает нашу функцию как сервер в фоновом
# потоке, а `received()` собирает всё, что получает клиент. Вчитываться в неё не обязательно —
# это леса вокруг стройки, и за собой они всегда убирают.

# %% include demo_basics.py

# %% include demo_server.py

# %% [markdown] en
# ## 1. Two sends, one `recv()`
#
# The sample chat server from the assignment treats every `recv()` as one message. This demo
# server does the same and tells us what each `recv()` gave it. It is a little slow (a real
# server is busy printing and sending to others; here `time.sleep(0.2)` plays that part),
# and the client sends two lines quickly:
# %% [markdown] ru
# Пример чат-сервера из задания считает каждый `recv()` одним сообщением. Этот
# демо-сервер поступает так же и сообщает нам, что вернул ему каждый `recv()`. Он немного
# медлителен (настоящий сервер занят печатью и рассылкой другим; здесь эту роль играет
# `time.sleep(0.2)`), а клиент быстро отправляет две строки:


# %%
import time


def report_each_recv(conn):
    """Treat every recv() as one message, like the sample server, and say what it was."""
    count = 0
    while True:
        time.sleep(0.2)  # busy for a moment
        data = conn.recv(1024)
        if not data:
            return
        count += 1
        conn.sendall(f"recv() #{count} gave {len(data)} bytes: {data[:24]!r}\n".encode())


with DemoServer(report_each_recv) as server, server.connect() as client:
    client.sendall(b"one\n")
    client.sendall(b"two\n")
    print(received(client, quiet=0.5))

# %% [markdown] en
# Two messages, one `recv()`. The sample server would relay `"one\ntwo\n"` as one message;
# and when a student types `bye` and then `leave` (the sample client sends no `"\n"`), it sees
# `"byeleave"`, which is not `"leave"`, and the leave is lost.
#
# The opposite happens too: one long message arrives in several pieces.
# %% [markdown] ru
# Два сообщения — один `recv()`. Пример сервера переслал бы `"one\ntwo\n"` как одно
# сообщение; а когда пользователь пишет `bye`, а потом `leave` (пример клиента не отправляет
# `"\n"`), сервер видит `"byeleave"` — это не `"leave"`, и выход из чата теряется.
#
# Бывает и наоборот: одно длинное сообщение приходит несколькими кусками.

# %%
with DemoServer(report_each_recv) as server, server.connect() as client:
    client.sendall(b"x" * 3000 + b"\n")  # one message of 3001 bytes
    print(received(client, quiet=0.5))

# %% [markdown] en
# ## 2. A letter cut in half
#
# A Cyrillic letter is two bytes in UTF-8. If a `recv()` ends between them, decoding that
# piece fails. Here the client sends the first 3 bytes of `"привет\n"`, pauses, and sends the
# rest; the server decodes every `recv()` on its own:
# %% [markdown] ru
# ## 2. Буква, разрезанная пополам
#
# Русская буква в UTF-8 занимает два байта. Если `recv()` закончился между ними, этот кусок
# не декодируется. Здесь клиент отправляет первые 3 байта от `"привет\n"`, делает паузу и
# отправляет остальное; сервер декодирует каждый `recv()` отдельно:


# %%
def decode_each_recv(conn):
    """Decode every recv() on its own: the mistake."""
    while True:
        data = conn.recv(1024)
        if not data:
            return
        conn.sendall(data.decode(ENCODING).encode(ENCODING))


hello = "привет\n".encode(ENCODING)
with DemoServer(decode_each_recv) as server, server.connect() as client:
    client.sendall(hello[:3])
    time.sleep(0.2)
    client.sendall(hello[3:])
    print("the client got back:", repr(received(client)))
for error in server.errors:
    print("the server's thread died with:", repr(error))

# %% [markdown] en
# The server's thread is dead, and the client got nothing back. The sample server wraps its
# loop in `try: ... except: continue`, so there you would not even see the error: the message
# just disappears.
# %% [markdown] ru
# Поток сервера умер, а клиент ничего не получил. Пример сервера оборачивает свой цикл в
# `try: ... except: continue`, так что там вы даже не увидели бы ошибку: сообщение просто
# исчезает.

# %% [markdown] en
# ## 3. The fix: buffer bytes, cut lines at `b"\n"`, decode whole lines
#
# The sender ends every message with `"\n"`. The receiver adds every `recv()` to a buffer of
# *bytes*, and whenever the buffer holds a `b"\n"`, cuts out the line before it. Only a whole
# line is decoded, and a whole line never ends in the middle of a letter.
# %% [markdown] ru
# ## 3. Как правильно: копить байты, резать строки по `b"\n"`, декодировать целые строки
#
# Отправитель заканчивает каждое сообщение символом `"\n"`. Получатель добавляет каждый
# `recv()` в буфер *байтов* и, как только в буфере есть `b"\n"`, вырезает строку перед ним.
# Декодируется только целая строка, а целая строка никогда не обрывается посреди буквы.


# %%
def read_lines(conn):
    """Yield each line the client sends, without its "\\n"."""
    buffer = b""
    while True:
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            yield line.decode(ENCODING, errors="replace")
        data = conn.recv(1024)
        if not data:
            return
        buffer += data


def echo_lines(conn):
    for count, line in enumerate(read_lines(conn), start=1):
        time.sleep(0.1)  # as slow as before
        conn.sendall(f"line #{count}: {line[:24]!r}\n".encode(ENCODING))


with DemoServer(echo_lines) as server, server.connect() as client:
    client.sendall(b"one\n")
    client.sendall(b"two\n")
    client.sendall(b"x" * 3000 + b"\n")
    client.sendall(hello[:3])
    time.sleep(0.2)
    client.sendall(hello[3:])
    print(received(client, quiet=0.5))
print("errors on the server:", server.errors)

# %% [markdown] en
# Glued, split, or cut in half: every line comes out whole. Try your own sends above: three
# lines in one `sendall()`, or a line sent one byte at a time.
#
# Why `errors="replace"`? A client may send bytes that are not UTF-8 at all. They become `�`
# instead of crashing the server.
# %% [markdown] ru
# Слиплись, разорвались или разрезаны пополам — каждая строка выходит целой. Попробуйте
# свои варианты отправки выше: три строки одним `sendall()` или строку по одному байту.
#
# Зачем `errors="replace"`? Клиент может прислать байты, которые вовсе не UTF-8. Они
# превратятся в `�`, а сервер не упадёт.

# %% [markdown] en
# ## Your turn
#
# Open **`lessons/02_lines/server.py`** and write its `# TODO:` parts (delete the
# `raise NotImplementedError` lines):
#
# - `LineReader.read_line()`: if `self.buffer` holds `b"\n"`, cut out the line before it,
#   decode it with `errors="replace"`, drop one trailing `"\r"` (telnet sends `"\r\n"`) and
#   return it. Otherwise `recv()` more into `self.buffer`. Return `None` when `recv()` gives
#   `b''` or raises `OSError`, or when the buffer reaches `MAX_LINE_BYTES` without a newline.
# - `handle_client(conn)`: read lines with a `LineReader` and `sendall()` each one back,
#   followed by `NEWLINE`, until `read_line()` returns `None`; then close `conn`.
# - `serve(listener)`: forever, `accept()` a client and hand it to `handle_client()`.
#
# Then run the cell below to grade your work. If `!` does not work here, run `grader 02` in a
# terminal, from the kit's folder.
# %% [markdown] ru
# ## Ваша очередь
#
# Откройте **`lessons/02_lines/server.py`** и допишите части с `# TODO:` (строки
# `raise NotImplementedError` удалите):
#
# - `LineReader.read_line()`: если в `self.buffer` есть `b"\n"`, вырежьте строку перед ним,
#   декодируйте её с `errors="replace"`, уберите один `"\r"` в конце (telnet шлёт `"\r\n"`) и
#   верните. Иначе дочитайте `recv()` в `self.buffer`. Верните `None`, если `recv()` вернул
#   `b''` или бросил `OSError`, или если буфер дорос до `MAX_LINE_BYTES` без перевода строки.
# - `handle_client(conn)`: читайте строки через `LineReader` и отправляйте каждую обратно
#   через `sendall()`, добавив `NEWLINE`, пока `read_line()` не вернёт `None`; затем закройте
#   `conn`.
# - `serve(listener)`: бесконечно принимайте клиента через `accept()` и передавайте его в
#   `handle_client()`.
#
# Затем запустите ячейку ниже, чтобы проверить работу. Если `!` здесь не работает, выполните
# `grader 02` в терминале, в папке набора.

# %% grader
