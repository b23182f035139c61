"""Ack latency of the real Handoff app against a bare Bolt app that only acks, each in its own process.

Run:  cd /work/main && .venv/bin/python bench/ack_latency.py [--quick] [--requests N]

Process layout, as in production (the Slack API remote, the bot a process of its own):

* the Slack stand-in: `bench/standin_server.py` (SlackStandIn plus a few /bench/ endpoints);
* Handoff: `python -m bot run` (HTTP, uvicorn), SLACK_API_URL pointing at the stand-in, a temporary
  SQLite DATABASE_URL, LOG_LEVEL=WARNING, HANDOFF_TICK_SECONDS=3600;
* two bare Bolt apps: `bench/bare_app.py` (Starlette + uvicorn + AsyncSlackRequestHandler, listeners
  that only `await ack()`), process_before_response False (Bolt's default) and True;
* this process: the load generator. It builds signed requests exactly as Slack does (the stand-in
  driver's payloads, `sign`), and only one app is under load at a time; the others idle.

What it measures, on loopback:

* ack latency -- from sending the signed HTTP request to having the whole HTTP response -- for
  `/handoff`, a valid handoff `view_submission` (a different, really opened view each time) and an AE's
  Accept click on a pending handoff's card (a different pending handoff each time), at concurrency 1,
  10 and 50, against Handoff and both bare apps;
* "slash command to views.open": from sending `/handoff` to the stand-in recording the views.open
  call that opens the form (matched by trigger_id; both clocks are this machine's time.time()).

It prints figures; it never fails on speed.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import signal
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.ack.diagnostics import GC_PAUSES, progress, quiet_logging  # noqa: E402
from bench.ack.harness import Bench  # noqa: E402
from bench.ack.report import report  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: 30 requests per cell")
    parser.add_argument("--requests", type=int, default=None, help="timed requests per cell (default 250)")
    args = parser.parse_args()
    per_level = args.requests or (30 if args.quick else 250)
    warmup = 10 if args.quick else 20
    quiet_logging()
    gc.callbacks.append(GC_PAUSES)
    # SIGTERM unwinds like Ctrl-C, so the finally below (and atexit) stop the child processes.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    progress("starting the Slack stand-in, Handoff and two bare Bolt apps, each in its own process")
    bench: Bench | None = None
    try:
        bench = Bench(per_level, warmup)
        asyncio.run(bench.run())
        report(bench, time.monotonic() - started)
    finally:
        if bench is not None:
            bench.close()


if __name__ == "__main__":
    main()
