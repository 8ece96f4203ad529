# Source of notebooks/01_echo.ipynb and notebooks/ru/01_echo.ipynb.
# Edit this file, then run `python notebooks/build.py` (the format is described in build.py).

# %% [markdown] en
# # Step 01 · An echo server
#
# In this notebook you make a server and a client talk to each other, look at the bytes they
# exchange, and meet the one rule of `recv()` that every chat server needs: **`b''` means the
# other side has hung up.**
#
# Run the cells one by one from the top (Shift+Enter). Everything happens on `127.0.0.1`,
# your own computer: nothing leaves it, and no firewall has to be opened.
# %% [markdown] ru
# # Шаг 01 · Эхо-сервер
#
# В этом блокноте сервер и клиент поговорят друг с другом, мы посмотрим на байты, которыми
# они обмениваются, и познакомимся с главным правилом `recv()`, без которого не обходится ни
# один чат-сервер: **`b''` означает, что собеседник отключился.**
#
# Запускайте ячейки по порядку сверху вниз (Shift+Enter). Всё происходит на `127.0.0.1` —
# на вашем собственном компьютере: наружу ничего не уходит, брандмауэр открывать не нужно.

# %%
import socket
import threading
import time

HOST = "127.0.0.1"  # this computer only
WAIT = 2.0  # seconds: no socket call in this notebook waits longer than this

# %% [markdown] en
# ## 1. A listening socket
#
# A server first asks the operating system for a *listening* socket. Port `0` means
# "any free port, please": the OS picks one, and `getsockname()` tells us which. (Your real
# server will use port 8080; here a free port means the notebook never clashes with it.)
# %% [markdown] ru
# ## 1. Слушающий сокет
#
# Сначала сервер просит у операционной системы *слушающий* сокет. Порт `0` означает
# «любой свободный порт, пожалуйста»: ОС выберет его сама, а `getsockname()` скажет, какой.
# (Ваш настоящий сервер будет слушать порт 8080; свободный порт здесь нужен, чтобы блокнот
# никогда с ним не столкнулся.)

# %%
listener = socket.create_server((HOST, 0))
listener.settimeout(WAIT)  # accept() gives up after WAIT seconds instead of waiting forever
port = listener.getsockname()[1]
print("listening on", listener.getsockname())

# %% [markdown] en
# ## 2. A client connects, the server accepts
#
# `create_connection()` is the client's side. `accept()` is the server's: it returns a **new**
# socket, `conn`, for talking to this one client. The listener stays free for the next client.
# %% [markdown] ru
# ## 2. Клиент подключается, сервер принимает
#
# `create_connection()` — сторона клиента. `accept()` — сторона сервера: он возвращает **новый**
# сокет `conn` для разговора именно с этим клиентом. Слушающий сокет остаётся свободным для
# следующих клиентов.

# %%
client = socket.create_connection((HOST, port), timeout=WAIT)
conn, address = listener.accept()
conn.settimeout(WAIT)
print("the server sees a client at", address)

# %% [markdown] en
# ## 3. Sockets carry bytes, not text
#
# `sendall()` takes `bytes`, so text is encoded first. In UTF-8 a Latin letter is one byte
# and a Cyrillic letter is two. Change the text and run the cell again.
# %% [markdown] ru
# ## 3. Сокеты передают байты, а не текст
#
# `sendall()` принимает `bytes`, поэтому текст сначала кодируют. В UTF-8 латинская буква
# занимает один байт, а русская — два. Поменяйте текст и запустите ячейку ещё раз.

# %%
message = "hi, привет\n"
client.sendall(message.encode("utf-8"))
data = conn.recv(4096)  # up to 4096 bytes: whatever has arrived so far
print(len(message), "characters became", len(data), "bytes:")
print(data)

# %% [markdown] en
# An echo server sends back exactly the bytes it received. It does not even need to decode
# them.
# %% [markdown] ru
# Эхо-сервер отправляет обратно ровно те байты, которые получил. Ему даже не нужно их
# декодировать.

# %%
conn.sendall(data)
print("the client got back:", client.recv(4096).decode("utf-8"))

# %% [markdown] en
# ## 4. When the client hangs up, `recv()` returns `b''`
#
# Not an error, not a pause: an empty `bytes`, at once, and again at every later call.
# %% [markdown] ru
# ## 4. Когда клиент отключается, `recv()` возвращает `b''`
#
# Это не ошибка и не пауза: пустые `bytes`, сразу же, и снова при каждом следующем вызове.

# %%
client.close()
print(conn.recv(4096))
print(conn.recv(4096))

# %% [markdown] en
# ### The pitfall: a loop that spins on `b''`
#
# The sample chat server from the assignment treats `b''` as "nothing yet" and calls `recv()`
# again. Since `recv()` answers at once, the loop never waits: it burns a whole CPU core, for
# every client that ever left, forever. Let us measure it for 0.3 s with `time.process_time()`
# (the CPU time this Python process has used).
# %% [markdown] ru
# ### Ловушка: цикл, который крутится на `b''`
#
# Пример чат-сервера из задания считает `b''` признаком «пока ничего нет» и снова вызывает
# `recv()`. Раз `recv()` отвечает мгновенно, цикл никогда не ждёт: он сжигает целое ядро
# процессора — за каждого ушедшего клиента, навсегда. Измерим это за 0,3 с с помощью
# `time.process_time()` (сколько процессорного времени потратил этот процесс Python).


# %%
def echo_spinning(conn, seconds=0.3):
    """The mistake: ignore b'' and call recv() again. (A deadline stops this demo.)"""
    calls = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        data = conn.recv(4096)
        calls += 1
        if data:
            conn.sendall(data)
    return calls


cpu_before = time.process_time()
calls = echo_spinning(conn)
cpu = time.process_time() - cpu_before
print(f"recv() was called {calls:,} times in 0.3 s")
print(f"CPU time used: {cpu:.2f} s, that is {cpu / 0.3:.0%} of one core, for a client that left")

# %% [markdown] en
# ### The fix: `b''` ends the loop
# %% [markdown] ru
# ### Как правильно: `b''` завершает цикл


# %%
def echo_until_closed(conn):
    """Send back everything the client sends; return when it hangs up."""
    while True:
        data = conn.recv(4096)
        if not data:  # b'': the client has gone
            return
        conn.sendall(data)


cpu_before = time.process_time()
echo_until_closed(conn)
print(f"returned at once; CPU time used: {time.process_time() - cpu_before:.3f} s")
conn.close()
listener.close()  # end of the section: every socket is closed

# %% [markdown] en
# ## 5. The whole echo server, in a thread
#
# `serve()` accepts one client, echoes until it hangs up, then accepts the next. Here it runs
# in a background thread so that this notebook can be its client. Two clients, one after the
# other:
# %% [markdown] ru
# ## 5. Эхо-сервер целиком, в отдельном потоке
#
# `serve()` принимает клиента, повторяет всё за ним, пока тот не отключится, и принимает
# следующего. Здесь он работает в фоновом потоке, чтобы блокнот мог быть его клиентом.
# Два клиента, один за другим:


# %%
def serve(listener, stop):
    """Serve clients one after another until `stop` is set."""
    while not stop.is_set():
        try:
            conn, _address = listener.accept()
        except socket.timeout:
            continue  # nobody came: look at `stop` again
        with conn:
            conn.settimeout(WAIT)
            try:
                echo_until_closed(conn)
            except OSError:
                pass  # the client vanished: serve the next one


listener = socket.create_server((HOST, 0))
listener.settimeout(0.1)  # accept() wakes up ten times a second to look at `stop`
stop = threading.Event()
server = threading.Thread(target=serve, args=(listener, stop), name="demo-server", daemon=True)
server.start()

for text in ["first client", "второй клиент"]:
    with socket.create_connection(listener.getsockname(), timeout=WAIT) as client:
        client.sendall(text.encode("utf-8"))
        print("sent", repr(text), "got back", repr(client.recv(4096).decode("utf-8")))

stop.set()  # shut the demo server down: no thread or port is left behind
server.join(WAIT)
listener.close()
print("demo server stopped:", not server.is_alive())

# %% [markdown] en
# ## Your turn
#
# Open **`lessons/01_echo/server.py`** in your editor and write its two `# TODO:` parts
# (delete the `raise NotImplementedError` lines):
#
# - `handle_client(conn)`: `recv()` in a loop and `sendall()` back what you got; when `recv()`
#   returns `b''`, close `conn` and return.
# - `serve(listener)`: forever, `accept()` a client and hand it to `handle_client()`.
#
# Your `serve()` has no `stop`: the real server runs until you press Ctrl+C.
#
# Then run the cell below to grade your work. If `!` does not work here, run `grader 01` in a
# terminal, from the kit's folder.
# %% [markdown] ru
# ## Ваша очередь
#
# Откройте в редакторе **`lessons/01_echo/server.py`** и допишите две части с `# TODO:`
# (строки `raise NotImplementedError` удалите):
#
# - `handle_client(conn)`: `recv()` в цикле и `sendall()` обратно всего полученного; когда
#   `recv()` вернёт `b''`, закройте `conn` и выйдите из функции.
# - `serve(listener)`: бесконечно принимайте клиента через `accept()` и передавайте его в
#   `handle_client()`.
#
# В вашем `serve()` нет `stop`: настоящий сервер работает, пока вы не нажмёте Ctrl+C.
#
# Затем запустите ячейку ниже, чтобы проверить работу. Если `!` здесь не работает, выполните
# `grader 01` в терминале, в папке набора.

# %% grader
