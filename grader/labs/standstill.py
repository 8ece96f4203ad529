"""What holds a server up when a check got nothing: a thread of the student's that stands
still at a line that is no wait for a client (a sleep, a lock never released, a send to a
client that does not read). Asked only after a failure, of a host that is not computing."""

from __future__ import annotations

import time

from ..i18n import _, ngettext
from ..safe_text import visible
from .server_host import ServerHost

ASK_WITHIN = 2.0  # s for the host's answer: asked after a failure only, on a machine maybe busy
LOOK_AGAIN = 0.05  # s between the two looks: a thread at the same line both times stands still
# as labs/host.py Waits counts them: the usual place
WAITS_FOR_A_CLIENT = ("recv", "recv_into", "recvfrom", "recvfrom_into", "accept", "select",
                      "poll", "control", "wait", "join")


def standstill(host: ServerHost) -> tuple[str, str] | None:
    """(what to show under "meanwhile:", a hint or "") for the student's threads that stood
    still, sleeping or blocked, over two looks; None if every thread waits for a client."""
    first = host.where(ASK_WITHIN)
    if not first:
        return None
    time.sleep(LOOK_AGAIN)
    again = {_key(place) for place in host.where(ASK_WITHIN)}
    still = [place for place in first if _key(place) in again and _holds_up(place)]
    if not still:
        return None
    # the cause before its consequences: threads held up at a lock wait for the one that
    # holds it, often sleeping or stuck in a send to a client that does not read
    place = min(still, key=_cause_first)
    line, code = _key(place)[1], visible(str(place.get("code", "")))
    where = _("{file} line {line}: {code}").format(file=host.file_name, line=line, code=code)
    if place.get("call") == "sleep":
        return (_("your server is sleeping at {where}").format(where=where),
                _("take the sleep out: recv() and accept() already wait until there is "
                  "something to do, and a sleep holds up everyone that thread serves."))
    count = sum(1 for p in still if _key(p)[1] == line)
    said = ngettext("a thread of your server stands still at {where}",
                    "{n} threads of your server stand still at {where}", count).format(
        n=count, where=where)
    if "lock" in code.lower() or "acquire" in code:
        return said, _("that lock is not released: does a thread that holds it take it again "
                       "(threading.Lock is not reentrant: a function called with the lock held "
                       "must not take it), or wait for a client while it holds it?")
    return said, ""


def _holds_up(place: dict) -> bool:
    """Not a wait for a client, and not a sleep that serves no one (a main thread's keep-alive
    loop): a sleep counts when a client's socket is at hand in that frame."""
    call = place.get("call")
    return call not in WAITS_FOR_A_CLIENT and (call != "sleep" or place.get("client") is True)


def _cause_first(place: dict) -> int:
    code = str(place.get("code", ""))
    return 0 if place.get("call") == "sleep" else 1 if "send" in code else 2


def _key(place: dict) -> tuple[object, int, str]:
    line = place.get("line")
    return (place.get("thread"), line if isinstance(line, int) else 0,
            str(place.get("call", "")))
