"""The bench itself: seeds Handoff, keeps it supplied with fresh forms and cards, measures every cell."""
from __future__ import annotations

import collections
import gc
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

from bot.render.cards import ACCEPT
from bot.render.modals import HANDOFF_CALLBACK

from .config import (AE, ANSWERS, BARE, BARE_PBR, BENCH, HANDOFF, KINDS, LEVELS, PEOPLE, QUIET, SDR,
                     SERVER_LABELS, SERVERS, SIGNING_SECRET, TOKEN)
from .diagnostics import GC_PAUSES, progress
from .load import Maker, RunResult, new_session, run_load
from .payloads import PayloadBuilder
from .processes import Children, free_port
from .remote import RemoteStandIn


class Bench:
    """The five processes of one run and what was measured against them; report() prints it."""

    def __init__(self, per_level: int, warmup: int):
        self.per_level = per_level
        self.warmup = warmup
        self.tmp = tempfile.TemporaryDirectory(prefix="handoff-bench-")
        tmp = Path(self.tmp.name)
        self.db_path = tmp / "handoff.db"
        self.children = Children(tmp)
        py = sys.executable
        port = free_port()
        self.standin_proc = self.children.spawn(
            "stand-in", [py, str(BENCH / "standin_server.py"), "--port", str(port), "--token", TOKEN,
                         "--users", json.dumps(PEOPLE)], port, "/bench/users")
        self.remote = RemoteStandIn(self.standin_proc.url, TOKEN)
        slack_env = {"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                     "SLACK_API_URL": self.remote.base_url, "HOST": "127.0.0.1", "LOG_LEVEL": "WARNING"}
        port = free_port()
        self.handoff_proc = self.children.spawn(
            "Handoff", [py, "-m", "bot", "run"], port, "/healthz", PORT=str(port), **slack_env,
            DATABASE_URL=f"sqlite:///{self.db_path}", HANDOFF_TICK_SECONDS="3600", HANDOFF_ADMINS="U_ADMIN")
        port = free_port()
        self.bare_proc = self.children.spawn(
            "bare pbr=False", [py, str(BENCH / "bare_app.py")], port, "/healthz", PORT=str(port), **slack_env)
        port = free_port()
        self.bare_pbr_proc = self.children.spawn(
            "bare pbr=True", [py, str(BENCH / "bare_app.py"), "--process-before-response"], port, "/healthz",
            PORT=str(port), **slack_env)
        self.procs = {HANDOFF: self.handoff_proc, BARE: self.bare_proc, BARE_PBR: self.bare_pbr_proc}
        self.urls = {server: f"{child.url}/slack/events" for server, child in self.procs.items()}
        self.builder = PayloadBuilder(self.urls[HANDOFF], SIGNING_SECRET, self.remote)  # type: ignore[arg-type]
        self.ctl: aiohttp.ClientSession | None = None  # for /bench/issue during runs, apart from the timed pool
        self.cpu_start: dict[str, float] = {}
        self.cpu_used: dict[str, float] = {}

        # Everything the stand-in recorded (summaries, in its order), and pools harvested from it.
        self.calls: list[dict[str, Any]] = []
        self.views_open: dict[str, dict[str, Any]] = {}   # trigger_id -> views.open summary
        self.fresh_views: collections.deque[str] = collections.deque()
        self.fresh_cards: collections.deque[tuple[str, str]] = collections.deque()
        self.ephemerals = 0
        self.views_open_failed: collections.Counter[str] = collections.Counter()

        # Tallies for the end-of-run checks.
        self.slash_sent = 0  # /handoff requests Handoff answered 200 (each should open one form)
        self.submissions_ok = 0
        self.submissions_bad: list[str] = []
        self.clicks_ok = 0
        self.clicks_bad: list[str] = []
        self.slash_bad: list[str] = []
        self.unsettled: list[str] = []

        self.results: dict[tuple[str, str, int], RunResult] = {}
        self.views_open_ms: dict[int, list[float]] = {}
        self.views_open_missing: dict[int, int] = {}
        # Handoff's work still to come when a timed run's last ack came back: (Slack calls, outbox rows, s).
        self.tails: dict[tuple[str, int], tuple[int, int, float]] = {}
        # Handoff's CPU seconds over each of its cells: the timed requests and the work they left, to the settle.
        self.cell_cpu: dict[tuple[str, int], float] = {}
        self.bare_bodies: dict[str, tuple[str, str]] = {}

    async def seed(self) -> None:
        """Templates for the bare apps (which only ack, so any well-formed request will do): a real opened form
        and a real pending card, made through Handoff and kept aside so Handoff never submits or accepts them."""
        await self.ensure_views(1)
        template_view = self.fresh_views.popleft()
        await self.ensure_cards(1)
        template_card = self.fresh_cards.popleft()
        self.bare_bodies = {
            "submit": self.builder.submit_body(SDR, template_view, ANSWERS),
            "accept": self.builder.click_body(AE, ACCEPT, template_card),
        }

    # -------------------------------------------------------------- what Handoff did, seen from outside

    def _harvest(self) -> list[dict[str, Any]]:
        """Fetch the calls the stand-in recorded since last time; returns the new ones."""
        data = self.remote.get("calls", since=len(self.calls), mark=ACCEPT)
        new = data["calls"]
        self.calls.extend(new)
        for call in new:
            if call["method"] == "views.open":
                self.views_open[str(call["trigger_id"])] = call
                if call["ok"] and call["callback_id"] == HANDOFF_CALLBACK:
                    self.fresh_views.append(call["view_id"])
                elif not call["ok"]:
                    self.views_open_failed[str(call["error"])] += 1
            elif call["method"] == "chat.postMessage" and call["ok"] and call["channel"] == AE and call["marked"]:
                self.fresh_cards.append((call["resp_channel"], call["ts"]))
            elif call["method"] == "chat.postEphemeral":
                self.ephemerals += 1
        return new

    def _sql(self, query: str) -> int:
        conn = sqlite3.connect(f"file:{self.db_path}?mode=ro", uri=True, timeout=10)
        try:
            return int(conn.execute(query).fetchone()[0])
        finally:
            conn.close()

    def backlog(self) -> int:
        """Outbox rows Handoff still owes Slack (storage.outbox.OPEN), read from the SQLite file."""
        return self._sql("SELECT count(*) FROM outbox WHERE status IN ('pending', 'sending')")

    def settle(self, label: str, triggers: list[str] = (), timeout: float = 60.0) -> None:  # type: ignore[assignment]
        """Wait until Handoff is idle -- no outbox row open, every /handoff's views.open recorded, no new Slack
        call for QUIET s -- so one run's tail doesn't load the next."""
        deadline = time.monotonic() + timeout
        last_change = time.monotonic()
        while True:
            if self._harvest():
                last_change = time.monotonic()
            left = self.backlog()
            missing = sum(1 for t in triggers if t not in self.views_open)
            if left == 0 and missing == 0 and time.monotonic() - last_change >= QUIET:
                return
            if time.monotonic() > deadline or self.handoff_proc.proc.poll() is not None:
                self.unsettled.append(f"after {label}: {left} outbox rows still open, {missing} forms not opened")
                return
            time.sleep(0.02)

    async def _untimed(self, kind: str, count: int) -> None:
        async with new_session(10) as session:
            result = await self._run(session, HANDOFF, kind, count, min(10, count))
        self.settle(f"top-up {kind}", [s.meta for s in result.sent] if kind == "slash" else [])

    async def ensure_views(self, count: int) -> None:
        self._harvest()
        for _ in range(5):
            if len(self.fresh_views) >= count:
                return
            await self._untimed("slash", count - len(self.fresh_views))
        raise RuntimeError(f"could not open {count} forms to submit (have {len(self.fresh_views)})")

    async def ensure_cards(self, count: int) -> None:
        self._harvest()
        for _ in range(5):
            if len(self.fresh_cards) >= count:
                return
            missing = count - len(self.fresh_cards)
            await self.ensure_views(missing)
            await self._untimed("submit", missing)
        raise RuntimeError(f"could not create {count} pending handoffs to accept (have {len(self.fresh_cards)})")

    # -------------------------------------------------------------- one run

    def _maker(self, server: str, kind: str, count: int) -> Maker:
        if kind == "slash":  # built as sent: the trigger_id lives 3 s from issue, as in Slack
            async def make_slash(_i: int) -> tuple[bytes, str, str]:
                assert self.ctl is not None
                await self.remote.issue(self.ctl, SDR, "C_GENERAL")
                body, ctype, trigger = self.builder.slash_body(SDR)
                return body.encode(), ctype, trigger
            return make_slash
        if server != HANDOFF:
            body, ctype = self.bare_bodies[kind]
            raw = body.encode()

            async def make_same(_i: int) -> tuple[bytes, str, str]:
                return raw, ctype, ""
            return make_same
        # Handoff: one real opened form / one real pending card per request, built up front.
        prebuilt: list[tuple[bytes, str, str]] = []
        if kind == "submit":
            for _ in range(count):
                view_id = self.fresh_views.popleft()
                body, ctype = self.builder.submit_body(SDR, view_id, ANSWERS)
                prebuilt.append((body.encode(), ctype, view_id))
        else:
            for _ in range(count):
                card = self.fresh_cards.popleft()
                body, ctype = self.builder.click_body(AE, ACCEPT, card)
                prebuilt.append((body.encode(), ctype, f"{card[0]}/{card[1]}"))

        async def make_prebuilt(i: int) -> tuple[bytes, str, str]:
            return prebuilt[i]
        return make_prebuilt

    async def _run(self, session: aiohttp.ClientSession, server: str, kind: str, count: int,
                   concurrency: int) -> RunResult:
        """Callers make sure Handoff has `count` fresh forms / pending cards for submit / accept."""
        make = self._maker(server, kind, count)
        result = await run_load(session, self.urls[server], count, concurrency, make)
        if server == HANDOFF:
            self._check(kind, result)
        return result

    def _check(self, kind: str, result: RunResult) -> None:
        for s in result.sent:
            ok = s.status == 200 and not s.body.strip()
            if kind == "submit":
                if ok:
                    self.submissions_ok += 1
                else:
                    self.submissions_bad.append(f"{s.status} {s.body[:160]!r}")
            elif kind == "accept":
                if ok:
                    self.clicks_ok += 1
                else:
                    self.clicks_bad.append(f"{s.status} {s.body[:160]!r}")
            else:
                if s.status == 200:
                    self.slash_sent += 1
                if not ok:
                    self.slash_bad.append(f"{s.status} {s.body[:160]!r}")
        bad = {"submit": self.submissions_bad, "accept": self.clicks_bad}.get(kind, self.slash_bad)
        bad.extend(result.errors)

    async def measure(self, server: str, kind: str, concurrency: int) -> None:
        progress(f"  {kind:<6} c={concurrency:<3} {SERVER_LABELS[server]}")
        if server == HANDOFF and kind == "submit":
            await self.ensure_views(concurrency + self.per_level)
        if server == HANDOFF and kind == "accept":
            await self.ensure_cards(concurrency + self.per_level)
        # Our own bookkeeping grows all run; freeze it so a full collection in the load generator doesn't
        # walk it in the middle of a measurement.
        gc.collect()
        gc.freeze()
        async with new_session(concurrency) as session:
            # Open the pool's connections and warm this path at this concurrency; not counted.
            warm = await self._run(session, server, kind, concurrency, concurrency)
            if server == HANDOFF:
                self.settle(f"{kind} c={concurrency} warm burst",
                            [s.meta for s in warm.sent] if kind == "slash" else [])
            GC_PAUSES.active = True
            profiler = self._profile(f"{kind}-c{concurrency}") if server == HANDOFF else None
            cpu_before = self.handoff_proc.cpu_seconds()
            try:
                result = await self._run(session, server, kind, self.per_level, concurrency)
            finally:
                GC_PAUSES.active = False
        last_ack = time.time()
        if profiler is not None and os.environ.get("ACK_BENCH_PROFILE_UNTIL") == "ack":
            profiler = self._stop_profile(profiler)  # the timed requests only, not the work they leave
        self.results[(server, kind, concurrency)] = result
        if server == HANDOFF:
            self._harvest()
            seen, owed = len(self.calls), self.backlog()
            self.settle(f"{kind} c={concurrency}", [s.meta for s in result.sent] if kind == "slash" else [])
            after = self.calls[seen:]
            finish = max((c["at"] for c in after), default=last_ack) - last_ack
            self.tails[(kind, concurrency)] = (len(after), owed, max(0.0, finish))
            self.cell_cpu[(kind, concurrency)] = self.handoff_proc.cpu_seconds() - cpu_before
            if kind == "slash":
                self._views_open_figures(concurrency, result)
        if profiler is not None:
            self._stop_profile(profiler)

    @staticmethod
    def _stop_profile(profiler: subprocess.Popen[bytes]) -> None:
        profiler.send_signal(signal.SIGINT)
        profiler.wait(timeout=30)

    def _profile(self, cell: str) -> subprocess.Popen[bytes] | None:
        """Hidden, for finding where the bot's CPU goes: with ACK_BENCH_PYSPY=<py-spy binary> and
        ACK_BENCH_PROFILE_DIR=<dir>, py-spy (--gil, raw collapsed stacks, ACK_BENCH_PYSPY_RATE Hz, 200 by default)
        samples Handoff over each of its cells' timed run and the outbox work it leaves (to the settle), a file
        per cell; with ACK_BENCH_PROFILE_UNTIL=ack, the timed run only (to its last ack)."""
        pyspy, out = os.environ.get("ACK_BENCH_PYSPY"), os.environ.get("ACK_BENCH_PROFILE_DIR")
        if not pyspy or not out:
            return None
        rate = os.environ.get("ACK_BENCH_PYSPY_RATE", "200")
        proc = subprocess.Popen([pyspy, "record", "--gil", "-r", rate, "--format", "raw", "-p",
                                 str(self.handoff_proc.proc.pid), "-o", str(Path(out) / f"{cell}.txt")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.3)  # attached before the first request
        return proc

    def _views_open_figures(self, concurrency: int, result: RunResult) -> None:
        delays, missing = [], 0
        for s in result.sent:
            call = self.views_open.get(s.meta)
            if call is None or not call["ok"]:
                missing += 1
                continue
            delays.append((call["at"] - s.sent_wall) * 1000)
        self.views_open_ms[concurrency] = delays
        self.views_open_missing[concurrency] = missing + len(result.errors)

    async def warm_up(self) -> None:
        progress(f"warm-up ({self.warmup} of each request per app)")
        for server in SERVERS:
            for kind in KINDS:
                if server == HANDOFF and kind == "submit":
                    await self.ensure_views(self.warmup)
                if server == HANDOFF and kind == "accept":
                    await self.ensure_cards(self.warmup)
                async with new_session(5) as session:
                    result = await self._run(session, server, kind, self.warmup, min(5, self.warmup))
                if server == HANDOFF:
                    self.settle(f"warm-up {kind}", [s.meta for s in result.sent] if kind == "slash" else [])

    def _cpu(self) -> dict[str, float]:
        times = os.times()
        out = {"load generator": times.user + times.system}
        for child in self.children.all:
            out[child.name] = child.cpu_seconds()
        return out

    async def run(self) -> None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as self.ctl:
            progress("seeding: a form and a pending card through Handoff, as templates for the bare apps")
            await self.seed()
            await self.warm_up()
            progress("measuring")
            self.cpu_start = self._cpu()
            for kind in KINDS:
                for concurrency in LEVELS:
                    for server in SERVERS:  # interleaved, so drift over the run hits all three alike
                        await self.measure(server, kind, concurrency)
            end = self._cpu()
            self.cpu_used = {name: end[name] - self.cpu_start.get(name, float("nan")) for name in end}
        self.ctl = None

    # -------------------------------------------------------------- end checks

    def stored(self) -> tuple[int, int]:
        """Handoffs stored and accepted, read from Handoff's SQLite file."""
        return (self._sql("SELECT count(*) FROM handoff"),
                self._sql("SELECT count(*) FROM handoff WHERE state = 'accepted'"))

    def close(self) -> None:
        self.children.stop()
        self.tmp.cleanup()
