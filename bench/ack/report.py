"""The printed report: environment, latency tables, the work Handoff left after each run, checks, verdict."""
from __future__ import annotations

import importlib.util
import math
import os
import platform

import aiohttp
import slack_bolt
import uvicorn

from .config import (BARE, BARE_PBR, HANDOFF, KIND_LABELS, KINDS, LEVELS, SERVER_LABELS, SERVERS, TARGET_RATIO,
                     TARGET_VIEWS_OPEN_MS)
from .diagnostics import GC_PAUSES, LOG_COUNTER
from .harness import Bench
from .load import pct


def fmt(ms: float) -> str:
    return "    -" if math.isnan(ms) else (f"{ms:5.1f}" if ms < 1000 else f"{ms:5.0f}")


def report(bench: Bench, elapsed: float) -> None:
    cores = os.cpu_count()
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = cores
    http_impl = "httptools" if importlib.util.find_spec("httptools") else "h11"
    print()
    print(f"machine: {platform.machine()} {platform.system()} {platform.release()}, {cores} cores "
          f"({usable} usable), {platform.processor() or 'cpu ?'}")
    print(f"python {platform.python_version()} ({platform.python_implementation()}), slack_bolt "
          f"{slack_bolt.version.__version__}, uvicorn {uvicorn.__version__} ({http_impl}, asyncio loop), "
          f"client aiohttp {aiohttp.__version__}")
    layout = "; ".join(f"{name} pid {pid}" for name, pid in
                       [("load generator", os.getpid())] + [(c.name, c.proc.pid) for c in bench.children.all])
    cpu = ", ".join(f"{name} {secs:.1f}" for name, secs in bench.cpu_used.items())
    print(f"processes: {len(bench.children.all) + 1}, one per role, unpinned on {usable} cores: {layout}. "
          f"Handoff is `python -m bot run` (uvicorn, SQLite file), the bare apps bench/bare_app.py, the stand-in "
          f"bench/standin_server.py; one app under load at a time, the others idle.")
    print(f"CPU seconds used while measuring: {cpu}")
    print(f"{bench.per_level} timed requests per cell after {bench.warmup} warm-up requests per app and kind "
          f"and a burst of <concurrency> untimed ones.")
    print()
    print("Ack latency, ms (send -> full response; 200s only)")
    head = (f"{'request':<16}{'conc':>5} | {'Handoff':^13} | {'bare pbr=False':^13} | {'bare pbr=True':^13} |"
            f" {'p99 ratio H/bare':^17}| {'Handoff':>7}")
    sub = (f"{'':<16}{'':>5} | {'p50':>5}  {'p99':>5} | {'p50':>5}  {'p99':>5} | {'p50':>5}  {'p99':>5} |"
           f" {'/False':>7}  {'/True':>7} | {'req/s':>7}")
    print(head)
    print(sub)
    print("-" * len(head))
    ratios50: dict[str, float] = {}
    for kind in KINDS:
        for c in LEVELS:
            cells = []
            p99s = {}
            for server in SERVERS:
                lat = [x * 1000 for x in bench.results[(server, kind, c)].latencies]
                p99s[server] = pct(lat, 99)
                cells.append(f"{fmt(pct(lat, 50))}  {fmt(p99s[server])}")
            r_default = p99s[HANDOFF] / p99s[BARE] if p99s[BARE] else float("nan")
            r_pbr = p99s[HANDOFF] / p99s[BARE_PBR] if p99s[BARE_PBR] else float("nan")
            if c == 50:
                ratios50[kind] = r_default
            rate = bench.results[(HANDOFF, kind, c)].rate
            print(f"{KIND_LABELS[kind]:<16}{c:>5} | " + " | ".join(cells)
                  + f" | {r_default:6.2f}x  {r_pbr:6.2f}x | {rate:7.0f}")
    print()

    problems = []
    for (server, kind, c), result in bench.results.items():
        n200 = len(result.latencies)
        if n200 != bench.per_level or result.errors:
            problems.append(f"{SERVER_LABELS[server]} {kind} c={c}: {n200}/{bench.per_level} answered 200, "
                            f"non-200 {dict(result.non_200())}, transport errors {len(result.errors)}")

    print("Slash command to views.open (send /handoff -> stand-in records views.open), ms")
    print(f"{'conc':>5} | {'p50':>6} {'p99':>6} {'max':>6} | recorded / sent")
    worst_vo = 0.0
    for c in LEVELS:
        d = bench.views_open_ms.get(c, [])
        missing = bench.views_open_missing.get(c, 0)
        p99 = pct(d, 99)
        worst_vo = max(worst_vo, p99 if not math.isnan(p99) else float("inf"))
        print(f"{c:>5} | {fmt(pct(d, 50)):>6} {fmt(p99):>6} {fmt(max(d) if d else float('nan')):>6} | "
              f"{len(d)} / {len(d) + missing}")
    print()

    print("Handoff's work left when a timed run's last ack came back (acks go first, the work follows)")
    print("and Handoff's CPU per request over the cell (its timed requests and the work they left, to the settle)")
    print(f"{'request':<16}{'conc':>5} | {'Slack calls to come':>19} {'outbox rows open':>16} | "
          f"{'s to last call':>14} | {'CPU ms/request':>14}")
    for kind in KINDS:
        for c in LEVELS:
            calls, owed, secs = bench.tails.get((kind, c), (0, 0, float("nan")))
            cpu = bench.cell_cpu.get((kind, c), float("nan")) * 1000 / bench.per_level
            print(f"{KIND_LABELS[kind]:<16}{c:>5} | {calls:>19} {owed:>16} | {secs:>14.2f} | {cpu:>14.2f}")
    print()

    total, accepted = bench.stored()
    counts = bench.remote.get("counts")
    opened = counts.get("views.open", {})
    print("Checks")
    print(f"  view submissions to Handoff answered 200 with an empty body: {bench.submissions_ok}, "
          f"otherwise: {len(bench.submissions_bad)}; handoffs stored (SQLite): {total} "
          f"(expected {bench.submissions_ok})")
    print(f"  Accept clicks answered 200 (empty): {bench.clicks_ok}, otherwise: {len(bench.clicks_bad)}; "
          f"handoffs accepted (SQLite): {accepted} (expected {bench.clicks_ok}); ephemeral notes to clickers: "
          f"{bench.ephemerals}")
    print(f"  /handoff not answered 200 (empty): {len(bench.slash_bad)}; views.open recorded by the stand-in: "
          f"{opened.get('ok', 0)} ok (expected {bench.slash_sent}, one per /handoff Handoff answered), failures: "
          f"{dict(bench.views_open_failed) or 'none'}")
    print("  stand-in's recorded calls (ok/failed): "
          + ", ".join(f"{m} {v.get('ok', 0)}/{v.get('failed', 0)}" for m, v in counts.items()))
    for line in problems + bench.unsettled:
        print(f"  ! {line}")
    for bad in (bench.submissions_bad[:3] + bench.clicks_bad[:3] + bench.slash_bad[:3]):
        print(f"  ! e.g. {bad}")
    found = bench.children.log_problems()
    for key, count in LOG_COUNTER.by_key.items():
        found[("load generator", LOG_COUNTER.samples[key])] += count
    if found:
        print(f"  log lines at WARNING or above: {sum(found.values())}")
        for (who, line), count in found.most_common(5):
            print(f"    {count} x {who}: {line}")
    else:
        print("  log lines at WARNING or above (all processes): none")
    pauses = ", ".join(f"gen{g} {v * 1000:.1f} ms" for g, v in sorted(GC_PAUSES.longest.items()))
    print(f"  longest garbage-collector pauses in the load generator during timed runs: {pauses or 'none'}")
    print()

    ratio_ok = all(r <= TARGET_RATIO for r in ratios50.values())
    vo_missing = sum(bench.views_open_missing.values())
    vo_ok = worst_vo < TARGET_VIEWS_OPEN_MS and not vo_missing
    ratio_txt = ", ".join(f"{KIND_LABELS[k]} {r:.2f}x" for k, r in ratios50.items())
    print(f"Verdict: p99 at 50 concurrent within {TARGET_RATIO}x of the bare app (Bolt defaults): "
          f"{'MET' if ratio_ok else 'NOT MET'} ({ratio_txt}); slash command to views.open under "
          f"{TARGET_VIEWS_OPEN_MS:.0f} ms p99: {'MET' if vo_ok else 'NOT MET'} (worst p99 {worst_vo:.1f} ms"
          f"{f', {vo_missing} forms never opened' if vo_missing else ''})"
          f"  [run took {elapsed:.0f} s]")
