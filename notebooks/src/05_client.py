# Source of notebooks/05_client.ipynb and notebooks/ru/05_client.ipynb.
# Edit this file, then run `python notebooks/build.py` (the format is described in build.py).

# The include cells below paste notebooks/src/shared/ into the notebook; these imports only
# tell ruff and readers where those names come from (the header is not in the notebooks).
from shared.demo_basics import ENCODING, WAIT, received
from shared.demo_server import DemoServer
from shared.line_reader import LineReader

# isort: split

# %% [markdown] en
# # Step 05 · The chat client
#
# A chat client waits for two things at once: for **you** to type a line (`input()`, or
# reading `sys.stdin`) and for **the server** to send one (`recv()`). Each of them blocks:
# while a thread waits in one, it cannot notice the other. So the client has two threads:
#
# ```mermaid
# flowchart LR
#     K["keyboard (stdin)"] --> SI["send_input thread:<br/>send each line"]
#     SI -->|sendall| S[("chat server")]
#     S -->|recv| R["receive thread:<br/>print each line at once"]
#     R --> O["screen"]
#     SI -->|"leave or end of stdin: done.set()"| D{{"done"}}
#     R -->|"server closed: done.set()"| D
#     D --> M["main: done is set, close, exit"]
# ```
#
# and the main thread only waits until either of them says it is done. In this notebook you
# see why both halves matter: a client with one thread shows messages late, and the sample
# client from the assignment **hangs when the server closes**. The demos drive the client with
# a pretend keyboard (a list of lines) and a pretend screen, so nothing waits for you to type.
# %% [markdown] ru
# # Шаг 05 · Клиент чата
#
# Клиент чата ждёт двух вещей одновременно: что **вы** введёте строку (`input()` или чтение
# `sys.stdin`) и что **сервер** пришлёт строку (`recv()`). И то и другое блокирует: пока поток
# ждёт одно, он не замечает другого. Поэтому у клиента два потока:
#
# ```mermaid
# flowchart LR
#     K["keyboard (stdin)"] --> SI["send_input thread:<br/>send each line"]
#     SI -->|sendall| S[("chat server")]
#     S -->|recv| R["receive thread:<br/>print each line at once"]
#     R --> O["screen"]
#     SI -->|"leave or end of stdin: done.set()"| D{{"done"}}
#     R -->|"server closed: done.set()"| D
#     D --> M["main: done is set, close, exit"]
# ```
#
# а главный поток лишь ждёт, пока любой из них не скажет, что всё. В этом блокноте вы увидите,
# почему важны обе половины: клиент с одним потоком показывает сообщения с опозданием, а пример
# клиента из задания **зависает, когда сервер закрывается**. В примерах клиентом управляют
# понарошку: клавиатура — это список строк, экран — список напечатанного, так что ничего не
# ждёт, пока вы что-то введёте.

# %% [markdown] en
# The first cells prepare the tools: `DemoServer` runs a function of ours as a server in a
# background thread, `LineReader` is the one from step 02 (your lesson file already has it),
# `Keyboard` "types" lines after a delay, and `Screen` remembers what was printed, and when.
# It is scaffolding: you need not read it closely, and it always cleans up after itself.
# %% [markdown] ru
# Первые ячейки готовят инструменты: `DemoServer` запускает нашу функцию как сервер в фоновом
# потоке, `LineReader` — тот самый из шага 02 (в файле урока он уже есть), `Keyboard`
# «печатает» строки с задержкой, а `Screen` запоминает, что и когда было напечатано. Это леса
# вокруг стройки: вчитываться не обязательно, и за собой они всегда убирают.

# %% include demo_basics.py

# %% include demo_server.py

# %% include line_reader.py

# %%
import socket
import threading
import time


class Keyboard:
    """Stands in for sys.stdin: "types" each (delay, line) after its delay. With
    keep_open=True the user then just sits there (stdin does not end) until close()."""

    def __init__(self, typed, keep_open=False):
        self.typed = typed
        self.keep_open = keep_open
        self.closed = threading.Event()

    def __iter__(self):
        for delay, line in self.typed:
            if self.closed.wait(delay):
                return
            yield line + "\n"  # like a line from sys.stdin
        if self.keep_open:
            self.closed.wait(10)  # a demo never waits forever

    def close(self):
        self.closed.set()


class Screen:
    """Stands in for the console: remembers every printed line and when it was printed."""

    def __init__(self):
        self.started = time.monotonic()
        self.lines = []

    def print(self, text):
        self.lines.append((time.monotonic() - self.started, text))

    def show(self):
        for seconds, text in self.lines:
            print(f"{seconds:4.1f} s  {text}")


# %% [markdown] en
# ## 1. One thread: messages wait until you press Enter
#
# The demo server asks for a name, and then Bob says three things, 0.2 s apart. Ann types her
# name at once, then thinks for a whole second before her next line. A client with one thread
# reads the socket only between two lines of input:
# %% [markdown] ru
# ## 1. Один поток: сообщения ждут, пока вы нажмёте Enter
#
# Демо-сервер спрашивает имя, а затем Bob пишет три сообщения с интервалом 0,2 с. Ann сразу
# вводит имя, а потом целую секунду думает над следующей строкой. Клиент с одним потоком
# читает сокет только между двумя строками ввода:


# %%
def bob_talks(conn):
    """Ask the name; then Bob says three things; then wait until the client leaves."""
    reader = LineReader(conn)
    conn.sendall(b"what's your name:\n")
    heard.append(reader.read_line())
    for text in ["hi Ann!", "are you there?", "hello??"]:
        conn.sendall(f"Bob: {text}\n".encode(ENCODING))
        time.sleep(0.2)
    while True:
        line = reader.read_line()
        heard.append(line)
        if line is None or line.strip() == "leave":
            return


def client_in_one_thread(address, keyboard, screen):
    """Wait for a line of input, send it, then show what has arrived: the mistake."""
    with socket.create_connection(address, timeout=WAIT) as sock:
        for line in keyboard:  # while this waits for the user, nobody reads the socket
            for text in received(sock, quiet=0.1).splitlines():
                screen.print(text)
            sock.sendall(line.encode(ENCODING))


heard = []
screen = Screen()
with DemoServer(bob_talks) as server:
    keyboard = Keyboard([(0.1, "Ann"), (1.0, "sorry, I was typing"), (0.1, "leave")])
    client_in_one_thread(server.address, keyboard, screen)
screen.show()

# %% [markdown] en
# Bob's messages left the server at about 0.1, 0.3 and 0.5 s; Ann saw them only after a
# second, when she pressed Enter again. A real user may think for a minute, and all that time
# the chat looks dead.
#
# ## 2. The fix: a receiver thread
#
# `receive()` does nothing but read lines and print them, the moment they arrive. `send_lines()`
# does nothing but send what is typed; when the input ends (Ctrl+D, or Ctrl+Z Enter on
# Windows) it sends `leave` itself. Whichever finishes sets `done`, and `run_client()`, the
# main thread, only waits for `done`. This is what you will write in `client.py`, with
# `sys.stdin` and `print` in place of `keyboard` and `screen`:
# %% [markdown] ru
# Сообщения Bob ушли с сервера примерно в 0,1, 0,3 и 0,5 с, а Ann увидела их лишь через
# секунду, когда снова нажала Enter. Настоящий пользователь может думать минуту, и всё это
# время чат кажется мёртвым.
#
# ## 2. Как правильно: поток-получатель
#
# `receive()` только читает строки и печатает их в ту же секунду, как они пришли.
# `send_lines()` только отправляет введённое; когда ввод кончается (Ctrl+D, или Ctrl+Z и Enter
# в Windows), она сама отправляет `leave`. Кто закончит первым, устанавливает `done`, а
# `run_client()`, главный поток, лишь ждёт `done`. Именно это вы напишете в `client.py`, только
# с `sys.stdin` и `print` вместо `keyboard` и `screen`:

# %%
SERVER_CLOSED = "*** the server closed the connection ***"


def receive(sock, done, screen):
    """Print every line from the server as it arrives; when the server hangs up, say so."""
    reader = LineReader(sock)
    while True:
        line = reader.read_line()
        if line is None:
            break
        screen.print(line)  # in client.py: print(line, flush=True)
    if not done.is_set():  # after our own leave, the server hanging up is no news
        screen.print(SERVER_CLOSED)
    done.set()


def send_lines(sock, done, keyboard):
    """Send each typed line; at `leave` or at the end of the input, leave the chat."""
    try:
        for line in keyboard:  # in client.py: for line in sys.stdin
            text = line.rstrip("\r\n")
            sock.sendall((text + "\n").encode(ENCODING))
            if text.strip() == "leave":
                break
        else:  # the input ended: leave politely
            sock.sendall(b"leave\n")
    except OSError:
        pass  # the server is gone; receive() says so
    done.set()


def run_client(address, keyboard, screen):
    """Like main() in client.py. Returns its threads, so that the demo can clean up."""
    sock = socket.create_connection(address, timeout=10)  # a demo never waits forever
    done = threading.Event()
    threads = [
        threading.Thread(target=receive, args=(sock, done, screen), name="demo-receive"),
        threading.Thread(target=send_lines, args=(sock, done, keyboard), name="demo-send"),
    ]
    for thread in threads:
        thread.daemon = True  # a thread still waiting for input must not keep the program alive
        thread.start()
    done.wait(10)  # client.py loops on done.wait(0.2), so that Ctrl+C works on Windows too
    sock.shutdown(socket.SHUT_RDWR)  # wakes up receive() if it still waits in recv()
    sock.close()
    return threads


heard = []
screen = Screen()
with DemoServer(bob_talks) as server:
    keyboard = Keyboard([(0.1, "Ann"), (1.0, "sorry, I was typing")])  # then the input ends
    for thread in run_client(server.address, keyboard, screen):
        thread.join(WAIT)
screen.show()
print("the server heard:", heard)

# %% [markdown] en
# Every message of Bob's appears the moment it arrives, and the end of the input became a
# polite `leave`.
#
# ## 3. When the server closes, the client must exit
#
# Now the server says goodbye and closes the connection while Ann is still typing. The
# sample client has a receiver thread, but its main loop sits in `input()`; the receiver
# quietly ends and nobody tells the main loop. Here the sample's structure runs as "the
# program" in a thread, and we look at it a second later:
# %% [markdown] ru
# Каждое сообщение Bob появляется в тот же момент, как пришло, а конец ввода превратился в
# вежливый `leave`.
#
# ## 3. Когда сервер закрывается, клиент должен завершиться
#
# Теперь сервер прощается и закрывает соединение, пока Ann ещё печатает. У примера клиента
# есть поток-получатель, но его главный цикл сидит в `input()`; получатель молча
# заканчивается, и главному циклу никто ничего не говорит. Здесь устройство примера работает
# как «программа» в отдельном потоке, и через секунду мы на неё посмотрим:


# %%
def closes_soon(conn):
    """Ask the name, say goodbye, close the connection."""
    conn.sendall(b"what's your name:\n")
    LineReader(conn).read_line()
    conn.sendall(b"server: shutting down, bye\n")


def client_like_the_sample(address, keyboard, screen):
    """A receiver thread, but the main loop only ever waits for input: the mistake."""
    sock = socket.create_connection(address, timeout=10)
    done = threading.Event()  # receive() needs it; this main loop never looks at it
    receiver = threading.Thread(
        target=receive, args=(sock, done, screen), name="demo-receive", daemon=True
    )
    receiver.start()
    for line in keyboard:  # the sample: while True: text = input()
        sock.sendall(line.encode(ENCODING))
    sock.close()
    receiver.join(WAIT)


screen = Screen()
with DemoServer(closes_soon) as server:
    keyboard = Keyboard([(0.1, "Ann")], keep_open=True)  # then Ann is still typing
    program = threading.Thread(
        target=client_like_the_sample,
        args=(server.address, keyboard, screen),
        name="demo-program",
        daemon=True,
    )
    program.start()
    program.join(1.0)
    print("one second later, is the program still running?", program.is_alive())
    keyboard.close()  # end the demo: as if Ann pressed Enter after all
    program.join(WAIT)
screen.show()

# %% [markdown] en
# The program is still running, with the connection gone. (Our `receive()` even printed the
# "closed" line; the sample prints nothing at all.) Ann can type into it, and nothing goes
# anywhere; she finds out only when a send fails. That is why the main thread must not sit in
# `input()`: it waits for `done`, which the receiver sets when the server hangs up. The same
# server with `run_client()`:
# %% [markdown] ru
# Программа всё ещё работает, хотя соединения уже нет. (Наш `receive()` хотя бы напечатал
# строку о закрытии; пример не печатает ничего.) Ann может что-то вводить, но это никуда не
# уходит; она узнает о беде, только когда отправка сломается. Поэтому главный поток не должен
# сидеть в `input()`: он ждёт `done`, который получатель устанавливает, когда сервер
# отключается. Тот же сервер с `run_client()`:

# %%
screen = Screen()
with DemoServer(closes_soon) as server:
    keyboard = Keyboard([(0.1, "Ann")], keep_open=True)  # Ann is still typing
    threads = run_client(server.address, keyboard, screen)
    screen.print("run_client() returned: the program exits, though input is still waiting")
    keyboard.close()  # in client.py the daemon input thread simply ends with the program
    for thread in threads:
        thread.join(WAIT)
screen.show()

# %% [markdown] en
# ## Your turn
#
# Open **`lessons/05_client/client.py`**. `LineReader` and `main()` are given (`main()` also
# makes the console speak UTF-8, which matters on Windows); write the two `# TODO:` parts
# (delete the `raise NotImplementedError` lines):
#
# - `receive(sock, done)`: print each line from a `LineReader` with `flush=True` until
#   `read_line()` returns `None`; then print `SERVER_CLOSED` (unless `done` is already set)
#   and set `done`.
# - `send_input(sock, done)`: for each line of `sys.stdin`: strip the line end, `sendall()` it
#   with `NEWLINE`, and stop after `LEAVE`. When stdin ends, send `LEAVE`. Ignore `OSError`
#   (`receive()` reports it). Finally set `done`.
#
# To try it by hand, start your step 04 server (`python lessons/04_multi_user/server.py`) and
# run `python lessons/05_client/client.py` in two more terminals. Then run the cell below to
# grade your work. If `!` does not work here, run `grader 05` in a terminal, from the kit's
# folder.
# %% [markdown] ru
# ## Ваша очередь
#
# Откройте **`lessons/05_client/client.py`**. `LineReader` и `main()` уже готовы (`main()`
# ещё и переводит консоль на UTF-8, что важно в Windows); допишите две части с `# TODO:`
# (строки `raise NotImplementedError` удалите):
#
# - `receive(sock, done)`: печатайте каждую строку из `LineReader` с `flush=True`, пока
#   `read_line()` не вернёт `None`; затем напечатайте `SERVER_CLOSED` (если `done` ещё не
#   установлен) и установите `done`.
# - `send_input(sock, done)`: для каждой строки из `sys.stdin`: уберите перевод строки в конце,
#   отправьте её через `sendall()` с `NEWLINE` и остановитесь после `LEAVE`. Когда stdin
#   кончится, отправьте `LEAVE`. `OSError` игнорируйте (о нём сообщит `receive()`). В конце
#   установите `done`.
#
# Чтобы попробовать вручную, запустите свой сервер из шага 04
# (`python lessons/04_multi_user/server.py`) и ещё в двух терминалах
# `python lessons/05_client/client.py`. Затем запустите ячейку ниже, чтобы проверить работу.
# Если `!` здесь не работает, выполните `grader 05` в терминале, в папке набора.

# %% grader
