"""The load study: four chat servers under `grader load`, from 10 to 1000 clients.

    python benchmarks/load_study.py                 the table, the goals, and the figures
    python benchmarks/load_study.py --repeat 3      each run three times, the median kept
    python benchmarks/load_study.py --quick         10 and 100 clients only (a minute or so)
    python benchmarks/load_study.py --versus 1000 --repeat 15
                                                    06 and asyncio only, at one N, taking
                                                    turns: every run, then the medians

The servers: solutions/04_multi_user (a thread per client, one lock held across sendall),
solutions/06_bonus (04 plus one flusher thread that sends every broadcast, and a bounded queue
and a writer thread for a client that falls behind), and two written for speed for comparison,
benchmarks/servers/selectors_server.py (one thread, one selectors loop) and
benchmarks/servers/asyncio_server.py. Each run starts its server afresh on a free
port of 127.0.0.1 and stops it afterwards. Every client sends its M messages in a burst, as fast
as the server takes them; M falls as N grows so that a run lasts seconds (deliveries grow as N²).

Then the slow consumer: 19 clients sending 50 messages a second each (2 kB each), with and
without a 20th client that joins and never reads; the others' p99 latency is compared.

It prints a table and the issue's goals (met or not), writes docs/load_study/results.json and,
with matplotlib (`pip install -e ".[plots]"`), docs/load_study/deliveries.png and cpu.png.
The machine is shared and noisy: compare the servers within one run, as ratios.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from grader.load import LoadResult, run, served  # noqa: E402

SERVERS = {  # name in the table -> the file it runs
    "04 threads": ROOT / "solutions" / "04_multi_user" / "server.py",
    "06 flusher": ROOT / "solutions" / "06_bonus" / "server.py",
    "selectors": ROOT / "benchmarks" / "servers" / "selectors_server.py",
    "asyncio": ROOT / "benchmarks" / "servers" / "asyncio_server.py",
}
SIXTH = "06 flusher"
MESSAGES = {10: 3000, 100: 30, 500: 2, 1000: 1}  # N -> M: 0.27, 0.30, 0.50, 1.0 M deliveries
TIMEOUT = {10: 60.0, 100: 60.0, 500: 120.0, 1000: 180.0}  # s: for the slowest server
SLOW = {"readers": 19, "rate": 50.0, "messages": 200, "size": 2000}
OUT = ROOT / "docs" / "load_study"


def once(path: Path, clients: int, messages: int, timeout: float, **options) -> LoadResult:
    with served(path) as (address, pid):
        return run(address, clients, messages, server_pid=pid, timeout=timeout, **options)


def row(result: LoadResult) -> dict:
    server = result.server
    latency = result.latency_ms or {}
    return {
        "clients": result.clients, "messages": result.messages, "slow": result.slow,
        "deliveries_per_second": result.deliveries_per_second,
        "cpu_us_per_delivery": server.cpu_us_per_delivery if server else None,
        "p50_ms": latency.get("p50"), "p99_ms": latency.get("p99"),
        "ready_s": result.ready_seconds, "lost": result.lost, "expected": result.expected,
        "duplicated": result.duplicated, "out_of_order": result.out_of_order,
        "disconnected": result.disconnected, "slow_dropped": result.slow_dropped,
        "timed_out": result.timed_out, "after_cpu_percent": server.after_cpu_percent,
        "threads_before": server.threads_before, "peak_threads": server.peak_threads,
        "after_threads": server.after_threads, "idle_after_s": server.idle_after_seconds,
        "teardown_cpu_s": server.teardown_cpu_seconds,
        "peak_rss_mb": server.peak_rss_mb, "tool_cpu_percent": result.load_cpu_percent,
        "seconds": result.seconds,
    }


def median_run(path: Path, repeat: int, clients: int, messages: int, timeout: float,
               **options) -> dict:
    """The run whose deliveries/s is the median of `repeat`, with the spread beside it."""
    rows = [row(once(path, clients, messages, timeout, **options)) for _ in range(repeat)]
    rows.sort(key=lambda r: r["deliveries_per_second"])
    chosen = dict(rows[len(rows) // 2])
    chosen["runs"] = [r["deliveries_per_second"] for r in rows]
    return chosen


def cell(value, form: str = "{:.2f}") -> str:
    return "-" if value is None else form.format(value)


def table(rows: list[dict]) -> str:
    head = ("server", "N", "M", "deliv/s", "CPU µs/d", "p50 ms", "p99 ms", "ready s", "lost",
            "after %CPU", "threads b/p/a", "tool %CPU")
    lines = [head]
    for r in rows:
        lines.append((r["server"], str(r["clients"]), str(r["messages"]),
                      cell(r["deliveries_per_second"], "{:,.0f}"),
                      cell(r["cpu_us_per_delivery"]), cell(r["p50_ms"], "{:.0f}"),
                      cell(r["p99_ms"], "{:.0f}"), cell(r["ready_s"]),
                      str(r["lost"]) + (" (timed out)" if r["timed_out"] else ""),
                      cell(r["after_cpu_percent"], "{:.0f}"),
                      f"{r['threads_before']}/{r['peak_threads']}/{r['after_threads']}",
                      cell(r["tool_cpu_percent"], "{:.0f}")))
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    text = ["  ".join(c.rjust(w) if i else c.ljust(w) for i, (c, w) in
                      enumerate(zip(line, widths))) for line in lines]
    text.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(text)


def slow_table(rows: list[dict]) -> str:
    lines = ["server      without: p50/p99 ms, lost   with one non-reader: p50/p99 ms, lost, "
             "non-reader dropped"]
    for name, pair in rows:
        a, b = pair["without"], pair["with"]
        lines.append(f"{name:<11} {cell(a['p50_ms'])}/{cell(a['p99_ms'])} ms, {a['lost']:>6}"
                     f"{'':14}{cell(b['p50_ms'])}/{cell(b['p99_ms'])} ms, {b['lost']:>6} of "
                     f"{b['expected']}, {'yes' if b['slow_dropped'] else 'no'}")
    return "\n".join(lines)


def goals(rows: list[dict], slow: dict) -> list[tuple[str, bool | None, str]]:
    """The issue's goals for solutions/06, each (goal, met?, what was measured)."""
    def at(server: str, n: int) -> dict | None:
        return next((r for r in rows if r["server"] == server and r["clients"] == n), None)

    found = []
    sixth = [r for r in rows if r["server"] == SIXTH]
    if not sixth:
        return [("every goal", None, "solutions/06_bonus/server.py was not there: not run")]
    for n in (100, 500, 1000):
        mine, other = at(SIXTH, n), at("asyncio", n)
        if mine and other:
            found.append((f"06 deliveries/s >= asyncio's at N={n}",
                          mine["deliveries_per_second"] >= other["deliveries_per_second"],
                          f"{mine['deliveries_per_second']:,.0f} vs "
                          f"{other['deliveries_per_second']:,.0f}"))
    cpu = [(r["clients"], r["cpu_us_per_delivery"]) for r in sixth]
    found.append(("06 <= 5 µs of server CPU per delivery (every N)",
                  all(c is not None and c <= 5 for _n, c in cpu),
                  ", ".join(f"N={n}: {cell(c)}" for n, c in cpu)))
    big = at(SIXTH, 1000)
    if big:
        found.append(("06: 1000 clients ready in <= 2.5 s",
                      big["ready_s"] is not None and big["ready_s"] <= 2.5,
                      f"{cell(big['ready_s'])} s"))
    found.append(("06: zero lost (every run)", all(r["lost"] == 0 for r in sixth),
                  ", ".join(f"N={r['clients']}: {r['lost']}" for r in sixth)))
    found.append(("06: at rest once all clients closed, CPU ~0 (<= 2 % of a core over 1 s)",
                  all(r["after_cpu_percent"] is not None and r["after_cpu_percent"] <= 2
                      for r in sixth),
                  ", ".join(f"N={r['clients']}: {cell(r['after_cpu_percent'], '{:.0f}')} %"
                            for r in sixth)))
    found.append(("06: ... and threads back to idle",
                  all(r["after_threads"] == r["threads_before"] for r in sixth),
                  ", ".join(f"N={r['clients']}: {r['after_threads']} (idle "
                            f"{r['threads_before']}, back after {cell(r['idle_after_s'])} s, "
                            f"{cell(r['teardown_cpu_s'])} s CPU)"
                            for r in sixth)))
    pair = slow.get(SIXTH)
    if pair:
        a, b = pair["without"], pair["with"]
        ok = a["p99_ms"] is not None and b["p99_ms"] is not None and b["lost"] == 0 and \
            b["p99_ms"] <= 2 * a["p99_ms"]
        found.append(("06: one client not reading, the others' p99 within 2x",
                      ok, f"{cell(a['p99_ms'])} ms -> {cell(b['p99_ms'])} ms, "
                          f"{b['lost']} lost"))
    return found


def plots(rows: list[dict]) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    OUT.mkdir(parents=True, exist_ok=True)
    written = []
    for key, name, label, title in (
            ("deliveries_per_second", "deliveries.png", "deliveries per second",
             "Throughput: deliveries per second vs clients"),
            ("cpu_us_per_delivery", "cpu.png", "server CPU µs per delivery",
             "Cost: server CPU time per delivery vs clients")):
        figure, axes = plt.subplots(figsize=(7, 4.5), dpi=110)
        for server in SERVERS:
            points = [(r["clients"], r[key]) for r in rows
                      if r["server"] == server and r[key]]
            if points:
                axes.plot(*zip(*points), marker="o", label=server)
        axes.set_xscale("log")
        axes.set_yscale("log")
        axes.set_xlabel("clients (N)")
        axes.set_ylabel(label)
        axes.set_title(title)
        axes.grid(True, which="both", alpha=0.3)
        axes.legend()
        figure.tight_layout()
        figure.savefig(OUT / name)
        plt.close(figure)
        written.append(OUT / name)
    return written


def wait_for(path: Path, minutes: float) -> bool:
    ends = time.monotonic() + 60 * minutes
    while not path.is_file() and time.monotonic() < ends:
        time.sleep(10)
    return path.is_file()


def versus(n: int, repeat: int) -> int:
    """The goal that noise decides: 06 and asyncio at one N, one run each in turn, so that a
    noisy moment is shared; the tool's CPU says whether the tool or the server was the limit."""
    pair = {name: SERVERS[name] for name in (SIXTH, "asyncio")}
    seen: dict[str, list[dict]] = {name: [] for name in pair}
    for turn in range(repeat):
        for name, path in pair.items():
            r = row(once(path, n, MESSAGES[n], TIMEOUT[n]))
            seen[name].append(r)
            print(f"  {turn + 1:>2} {name:<11} N={n} {r['deliveries_per_second']:>12,.0f} "
                  f"deliveries/s, tool {cell(r['tool_cpu_percent'], '{:.0f}')} % CPU", flush=True)

    def median(name: str, key: str) -> float:
        values = sorted(r[key] or 0 for r in seen[name])
        return values[len(values) // 2]

    for name in pair:
        print(f"{name:<11} median {median(name, 'deliveries_per_second'):>12,.0f} deliveries/s, "
              f"tool {median(name, 'tool_cpu_percent'):.0f} % CPU")
    ratio = median(SIXTH, "deliveries_per_second") / median("asyncio", "deliveries_per_second")
    print(f"06 / asyncio at N={n}: {ratio:.2f} (median of {repeat})")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeat", type=int, default=1, help="runs of each case; the median is kept")
    p.add_argument("--quick", action="store_true", help="10 and 100 clients only")
    p.add_argument("--wait-06", type=float, default=0.0, metavar="MINUTES",
                   help="wait this long for solutions/06_bonus/server.py to appear")
    p.add_argument("--no-plots", action="store_true")
    p.add_argument("--versus", type=int, choices=list(MESSAGES), metavar="N",
                   help="06 against asyncio at N clients only, in turns (no files written)")
    args = p.parse_args(argv)
    if args.versus:
        return versus(args.versus, args.repeat)
    servers = dict(SERVERS)
    if not wait_for(servers[SIXTH], args.wait_06):
        print(f"note: {servers[SIXTH].relative_to(ROOT)} is not there: run without it")
        del servers[SIXTH]
    sizes = [10, 100] if args.quick else list(MESSAGES)
    sixth = servers.get(SIXTH)
    sixth_hash = hashlib.sha256(sixth.read_bytes()).hexdigest() if sixth else None
    if sixth_hash:
        print(f"solutions/06_bonus/server.py sha256 {sixth_hash[:12]}")
    started = time.monotonic()
    print(f"Python {platform.python_version()}, {os.cpu_count()} cores, load average at start "
          f"{os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else "")
    rows = []
    for n in sizes:  # the servers one after the other at each N: the noise of a moment is shared
        for name, path in servers.items():
            r = median_run(path, args.repeat, n, MESSAGES[n], TIMEOUT[n])
            r["server"] = name
            rows.append(r)
            print(f"  {name:<11} N={n:<5} {r['deliveries_per_second']:>12,.0f} deliveries/s",
                  flush=True)
    rows.sort(key=lambda r: (r["clients"], list(SERVERS).index(r["server"])))
    slow = {}
    for name, path in servers.items():
        common = dict(rate=SLOW["rate"], size=SLOW["size"], timeout=30.0)
        slow[name] = {
            "without": median_run(path, args.repeat, SLOW["readers"], SLOW["messages"],
                                  **common),
            "with": median_run(path, args.repeat, SLOW["readers"] + 1, SLOW["messages"],
                               slow=1, **common)}
        print(f"  {name:<11} slow consumer done", flush=True)
    print()
    print(f"Burst: every client sends M messages as fast as the server takes them (median of "
          f"{args.repeat}); latency is time in queues at full load.")
    print(table(rows))
    print()
    print(f"Slow consumer: {SLOW['readers']} clients x {SLOW['rate']:g} messages/s x "
          f"{SLOW['messages']} ({SLOW['size']} B each), with and without one that never reads")
    print(slow_table(list(slow.items())))
    print()
    print("Goals (solutions/06):")
    measured = goals(rows, slow)
    for goal, met, what in measured:
        verdict = "not run" if met is None else "met" if met else "NOT met"
        print(f"  {verdict:<8} {goal}: {what}")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results.json").write_text(json.dumps({
        "python": platform.python_version(), "cores": os.cpu_count(), "repeat": args.repeat,
        "solution_06_sha256": sixth_hash,
        "burst": rows, "slow_consumer": {"setup": SLOW, **slow},
        "goals": [{"goal": g, "met": m, "measured": w} for g, m, w in measured]},
        indent=2) + "\n", encoding="utf-8")
    if args.no_plots:
        print("plots: skipped (--no-plots)")
    else:
        try:
            written = plots(rows)
            print("plots: " + ", ".join(str(path.relative_to(ROOT)) for path in written))
        except ImportError:
            print('plots: matplotlib is not installed (pip install -e ".[plots]"): table only')
    print(f"({time.monotonic() - started:.0f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
