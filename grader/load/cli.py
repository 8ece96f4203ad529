"""`grader load` on the command line: its options, and the result as text or JSON."""

from __future__ import annotations

import argparse
import json
import sys

from .. import i18n
from ..i18n import _, ngettext
from .engine import (
    AFTER,
    SHORT_CPU,
    SPARE_FILES,
    LoadError,
    LoadResult,
    loopback_address,
    raise_file_limit,
    run,
)
from .serving import served, solution_server


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="grader load",
        description=_("Load a chat server with many clients at once (on this computer only) and "
                      "count what arrives: deliveries per second, latency, lost, duplicated and "
                      "out-of-order lines, and the server's CPU, threads and memory."))
    p.add_argument("host", nargs="?", metavar="HOST",
                   help=_("the server's address: 127.0.0.1, ::1 or localhost"))
    p.add_argument("port", nargs="?", metavar="PORT", help=_("the server's port"))
    p.add_argument("--serve", metavar="STEP",
                   help=_("start that step's solution server (solutions/) on a free port, load "
                          "it, and stop it afterwards"))
    p.add_argument("--clients", type=int, default=10, metavar="N",
                   help=_("clients connected at once (default: {n})").format(n=10))
    p.add_argument("--messages", type=int, default=100, metavar="M",
                   help=_("messages each client sends (default: {n})").format(n=100))
    p.add_argument("--rate", default="burst", metavar="R",
                   help=_("messages a second per client, or 'burst': as fast as the server "
                          "takes them (the default)"))
    p.add_argument("--size", type=int, default=0, metavar="BYTES",
                   help=_("bytes of padding added to each message (default: none)"))
    p.add_argument("--slow", type=int, default=0, metavar="K",
                   help=_("of the clients, K join and then never read (a small receive buffer)"))
    p.add_argument("--pid", type=int, metavar="PID",
                   help=_("the server's process id, for its CPU, threads and memory"))
    p.add_argument("--json", action="store_true", help=_("print the result as JSON"))
    p.add_argument("--timeout", type=float, default=60.0, metavar="S",
                   help=_("the longest the whole run may take, in seconds (default: {n})")
                   .format(n=60))
    p.add_argument("--lang", type=str.lower, choices=i18n.LANGUAGES,
                   help=_("language of the output (default: GRADER_LANG, then your system's)"))
    return p


def main(argv: list[str]) -> int:
    p = parser()
    args = p.parse_args(argv)
    if args.lang:  # `grader` has set it already; this is for python -m grader.load
        i18n.set_language(args.lang)
    try:
        rate = None if args.rate.strip().lower() == "burst" else float(args.rate)
    except ValueError:
        p.error(_("--rate takes a number of messages a second, or 'burst', not '{rate}'")
                .format(rate=args.rate))
    if not 0 < args.timeout <= 3600:
        p.error(_("--timeout takes from 1 to 3600 seconds"))
    if args.clients > 20_000 or args.size < 0 or args.size > 60_000 or args.slow < 0:
        p.error(_("--clients at most 20000, --size from 0 to 60000, --slow 0 or more"))
    progress = sys.stderr.isatty()
    try:
        if args.serve:
            if args.host or args.port or args.pid:
                p.error(_("--serve starts its own server: give no HOST, PORT or --pid with it"))
            path = solution_server(args.serve)
            raise_file_limit(args.clients + SPARE_FILES)  # the server inherits the limit
            with served(path) as (address, pid):
                result = run(address, args.clients, args.messages, rate, pid, args.timeout,
                             args.size, args.slow, progress=progress)
        else:
            if not args.host or not args.port:
                p.error(_("give HOST and PORT (e.g. grader load 127.0.0.1 8080), or --serve STEP"))
            loopback_address(args.host)
            if not (args.port.isdecimal() and 0 < int(args.port) < 65536):
                p.error(_("the port must be a number from 1 to 65535, not '{port}'")
                        .format(port=args.port))
            result = run((args.host, int(args.port)), args.clients, args.messages, rate,
                         args.pid, args.timeout, args.size, args.slow, progress=progress)
    except LoadError as error:
        print(f"grader load: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(_("grader load: stopped (Ctrl-C); nothing is left running."), file=sys.stderr)
        return 130
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
    else:
        sys.stdout.write(render(result))
    return 0 if result.clean else 1


def _grouped(value: float) -> str:
    """1 234 567: digits in threes, parted by spaces, the same in every language."""
    return f"{value:,.0f}".replace(",", " ")


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def render(result: LoadResult) -> str:
    """The result as a table for people."""
    rate = _("burst") if result.rate is None else _("{rate} a second each").format(
        rate=f"{result.rate:g}")
    rows = [(_("server"), f"{result.host}:{result.port}"),
            (_("clients"), ngettext("{clients} ({slow} of them never reads), {messages} messages "
                                    "each, {rate}", "{clients} ({slow} of them never read), "
                                    "{messages} messages each, {rate}", result.slow).format(
                clients=result.clients, slow=result.slow, messages=result.messages, rate=rate)
             if result.slow else _("{clients}, {messages} messages each, {rate}").format(
                 clients=result.clients, messages=result.messages, rate=rate))]
    if result.ready:
        rows.append((_("all joined after"), _("{seconds:.2f} s").format(
            seconds=result.ready_seconds)))
    else:
        rows.append((_("all joined after"), _("never: not all of them got in")))
    rows.append((_("delivered"), _("{delivered} of {expected} expected, {per_second} a second "
                                   "over {seconds:.2f} s").format(
        delivered=result.delivered, expected=result.expected,
        per_second=_grouped(result.deliveries_per_second), seconds=result.send_seconds)))
    latency = result.latency_ms or {}
    rows.append((_("latency (ms)"), _("p50 {p50}, p95 {p95}, p99 {p99}, max {max}").format(
        p50=_ms(latency.get("p50")), p95=_ms(latency.get("p95")), p99=_ms(latency.get("p99")),
        max=_ms(latency.get("max")))))
    rows += [(_("lost"), str(result.lost)), (_("duplicated"), str(result.duplicated)),
             (_("out of order"), str(result.out_of_order))]
    if result.malformed:
        rows.append((_("unexpected lines"), str(result.malformed)))
    if result.disconnected:
        rows.append((_("dropped by the server"), str(result.disconnected)))
    if result.slow:
        rows.append((_("non-readers dropped"), _("{dropped} of {slow} (the others were told "
                                                 "they left)").format(
            dropped=result.slow_dropped, slow=result.slow)))
    server = result.server
    if server:
        cpu = "-" if server.cpu_us_per_delivery is None else f"{server.cpu_us_per_delivery:.2f}"
        rows.append((_("server CPU"), _("{cpu} µs per delivery ({seconds:.2f} s in all)")
                     .format(cpu=cpu, seconds=server.cpu_seconds)))
        if server.cpu_seconds < SHORT_CPU:
            rows.append(("", _("(too little to measure well: CPU time is counted in steps of "
                               "10 ms; send more messages)")))
        rows.append((_("server at its peak"), _("{threads} threads, {rss:.1f} MB of memory")
                     .format(threads=server.peak_threads, rss=server.peak_rss_mb)))
        if server.idle_after_seconds is not None:
            rows.append((_("back to idle"), _("as many threads as before, {seconds:.2f} s after "
                                              "all left ({cpu:.2f} s of CPU meanwhile)").format(
                seconds=server.idle_after_seconds, cpu=server.teardown_cpu_seconds or 0.0)))
        elif server.after_threads is not None:
            rows.append((_("back to idle"), _("not yet: more threads than before when the run "
                                              "ended")))
        if server.after_cpu_percent is not None:
            rows.append((_("then, at rest"), _("{cpu:.1f} % of a core over {seconds:g} s, "
                                               "{threads} threads ({before} before)").format(
                cpu=server.after_cpu_percent, seconds=AFTER, threads=server.after_threads,
                before=server.threads_before)))
        if server.gone:
            rows.append((_("server"), _("its process ended during the run")))
    if result.load_cpu_percent is not None:
        note = _(" (busy: the figures may be this tool's limit, not the server's)") \
            if result.load_cpu_percent >= 90 else ""
        rows.append((_("this tool's CPU"), _("{cpu:.0f} % of a core while sending{note}").format(
            cpu=result.load_cpu_percent, note=note)))
    width = max(len(label) for label, _value in rows) + 2
    lines = [f"  {label.ljust(width)}{value}" for label, value in rows]
    lines += [f"  {note}" for note in result.notes]
    verdict = _("every message arrived, once, in order") if result.clean else \
        _("not every message arrived once and in order: see above")
    return "\n".join(["grader load", *lines, verdict]) + "\n"
