"""Ack latency of the real Handoff app against a bare Bolt app that only acks.

Run:  cd /work/main && .venv/bin/python bench/ack_latency.py [--quick] [--requests N]

What it measures, all on loopback in one process (so on a small machine the
client, the bots and the Slack stand-in share the GIL and the cores):

* ack latency -- from sending the signed HTTP request to having the whole HTTP
  response -- for `/handoff`, a valid handoff `view_submission` (a different,
  really opened view each time) and an AE's Accept click on a pending handoff's
  card (a different pending handoff each time), at concurrency 1, 10 and 50;
* the same three requests against a bare Bolt AsyncApp whose listeners only
  `await ack()`, served the same way (Starlette + uvicorn through
  AsyncSlackRequestHandler), once with Bolt's default process_before_response=False
  and once with True;
* "slash command to views.open": from sending `/handoff` to the stand-in
  recording the views.open call that opens the form.

It prints figures; it never fails on speed.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import importlib.util
import logging
import math
import os
import platform
import socket
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import slack_bolt  # noqa: E402
import uvicorn  # noqa: E402
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler  # noqa: E402
from slack_bolt.async_app import AsyncAck, AsyncApp  # noqa: E402
from slack_sdk.web.async_client import AsyncWebClient  # noqa: E402
from sqlmodel import col, func, select  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import Response  # noqa: E402
from starlette.routing import Route  # noqa: E402

from bot.clock import ManualClock  # noqa: E402
from bot.render.cards import ACCEPT  # noqa: E402
from bot.render.modals import HANDOFF_CALLBACK  # noqa: E402
from bot.standin import DriverResponse, SlackDriver, SlackStandIn, sign  # noqa: E402
from bot.standin.driver import JSON  # noqa: E402
from bot.standin.local_bot import SIGNING_SECRET, LocalBot  # noqa: E402
from storage import outbox  # noqa: E402
from storage.models import Handoff  # noqa: E402
from tests.flow import VALID, open_form, handoff_submitted  # noqa: E402

# As in tests/conftest.py: Monday 23 Nov 2026, 14:00 UTC, so VALID's meeting is far enough ahead.
START = datetime(2026, 11, 23, 14, 0, tzinfo=timezone.utc)
PEOPLE = {
    "U_SDR1": ("alice", "America/New_York"),
    "U_SDR2": ("carol", "Europe/London"),
    "U_AE1": ("bob", "Europe/Berlin"),
    "U_AE2": ("dave", "America/Los_Angeles"),
    "U_ADMIN": ("olga", "America/Chicago"),
}
SDR = "U_SDR1"
AE = VALID["ae_id"]
LEVELS = (1, 10, 50)
KINDS = ("slash", "submit", "accept")
KIND_LABELS = {"slash": "/handoff", "submit": "view_submission", "accept": "Accept click"}
TARGET_RATIO = 1.5
TARGET_VIEWS_OPEN_MS = 300.0

HANDOFF = "handoff"
BARE = "bare"          # Bolt defaults: process_before_response=False
BARE_PBR = "bare_pbr"  # process_before_response=True
SERVERS = (HANDOFF, BARE, BARE_PBR)
SERVER_LABELS = {HANDOFF: "Handoff", BARE: "bare (pbr=False, default)", BARE_PBR: "bare (pbr=True)"}


# ---------------------------------------------------------------------- logging: quiet, but counted


class _Counter(logging.Handler):
    """Keeps WARNING+ records out of the table but counts them for the summary."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.by_key: collections.Counter[tuple[str, str]] = collections.Counter()
        self.samples: dict[tuple[str, str], str] = {}

    def emit(self, record: logging.LogRecord) -> None:
        key = (record.name, str(record.msg)[:80])
        self.by_key[key] += 1
        if key not in self.samples:
            try:
                self.samples[key] = " ".join(record.getMessage().split())[:200]
            except Exception:
                self.samples[key] = str(record.msg)[:200]


LOG_COUNTER = _Counter()


class _GcPauses:
    """The longest garbage-collector pause seen (it stops every thread in the process, bots included)."""

    def __init__(self) -> None:
        self.started = 0.0
        self.longest: dict[int, float] = {}
        self.active = False  # only pauses during timed runs count

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if not self.active:
            return
        if phase == "start":
            self.started = time.perf_counter()
        else:
            gen = info.get("generation", -1)
            self.longest[gen] = max(self.longest.get(gen, 0.0), time.perf_counter() - self.started)


GC_PAUSES = _GcPauses()


def quiet_logging() -> None:
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(LOG_COUNTER)
    root.setLevel(logging.WARNING)
    for name in ("handoff", "slack_bolt", "slack_sdk", "uvicorn", "uvicorn.error", "aiohttp", "sqlalchemy"):
        logging.getLogger(name).setLevel(logging.WARNING)


# ---------------------------------------------------------------------- payloads, exactly as the driver builds them


class PayloadBuilder(SlackDriver):
    """The stand-in driver, but `post` hands back the body instead of sending it (we send it ourselves, timed)."""

    _last: tuple[str, str] = ("", JSON)

    def post(self, body: str, content_type: str = JSON, **_sign_opts: Any) -> DriverResponse:  # type: ignore[override]
        self._last = (body, content_type)
        return DriverResponse(200, "")

    def slash_body(self, user: str) -> tuple[str, str, str]:
        """(body, content type, trigger_id) of a fresh `/handoff`."""
        self.slash_command(user)
        body, ctype = self._last
        trigger = urllib.parse.parse_qs(body)["trigger_id"][0]
        return body, ctype, trigger

    def submit_body(self, user: str, view_id: str, answers: dict[str, Any]) -> tuple[str, str]:
        self.submit_view(user, view_id, answers, apply=False)
        return self._last

    def click_body(self, user: str, action_id: str, message: tuple[str, str]) -> tuple[str, str]:
        self.click(user, action_id, message=message)
        return self._last


def signed_headers(body: bytes, content_type: str) -> dict[str, str]:
    ts = int(time.time())
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": sign(SIGNING_SECRET, ts, body.decode()),
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
    }


# ---------------------------------------------------------------------- the bare baseline


class BareServer:
    """A Bolt AsyncApp whose listeners only ack, served like Handoff (Starlette + uvicorn, own thread and loop)."""

    def __init__(self, standin: SlackStandIn, *, process_before_response: bool):
        self.standin = standin
        self.process_before_response = process_before_response
        self.url = ""
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> "BareServer":
        client = AsyncWebClient(token=self.standin.token, base_url=self.standin.base_url, timeout=10)
        app = AsyncApp(client=client, signing_secret=SIGNING_SECRET,
                       process_before_response=self.process_before_response)

        @app.command("/handoff")
        async def _command(ack: AsyncAck) -> None:
            await ack()

        @app.view(HANDOFF_CALLBACK)
        async def _submission(ack: AsyncAck) -> None:
            await ack()

        @app.action(ACCEPT)
        async def _accept(ack: AsyncAck) -> None:
            await ack()

        handler = AsyncSlackRequestHandler(app)

        async def events(request: Request) -> Response:
            return await handler.handle(request)

        http = Starlette(routes=[Route("/slack/events", events, methods=["POST"])])
        self.url = serve_in_thread(self, http, name=f"bare-pbr-{self.process_before_response}")
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=15)


def serve_in_thread(owner: BareServer, http: Starlette, *, name: str) -> str:
    """What LocalBot.start does for Handoff: uvicorn on a loopback socket, its own loop, a daemon thread."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(http, log_level="warning", lifespan="on", access_log=False)
    server = uvicorn.Server(config)

    def serve() -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.serve(sockets=[sock]))
        loop.close()

    thread = threading.Thread(target=serve, name=name, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"{name} did not start")
        time.sleep(0.005)
    owner._server, owner._thread = server, thread
    return f"http://127.0.0.1:{port}/slack/events"


# ---------------------------------------------------------------------- load


@dataclass
class Sent:
    latency: float          # seconds, send -> full response
    sent_wall: float        # time.time() just before sending
    status: int
    body: bytes
    meta: str


@dataclass
class RunResult:
    sent: list[Sent] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # transport errors (timeouts, resets)
    wall: float = 0.0  # seconds from the first send to the last answer

    @property
    def rate(self) -> float:
        return len(self.sent) / self.wall if self.wall else float("nan")

    @property
    def latencies(self) -> list[float]:
        return [s.latency for s in self.sent if s.status == 200]

    def non_200(self) -> collections.Counter[int]:
        return collections.Counter(s.status for s in self.sent if s.status != 200)


# make(i) -> (body bytes, content type, meta); called before the clock starts for each request.
Maker = Callable[[int], tuple[bytes, str, str]]


async def run_load(session: aiohttp.ClientSession, url: str, n: int, concurrency: int, make: Maker) -> RunResult:
    """n requests with `concurrency` of them in flight at once (each worker sends its next when its last answers)."""
    result = RunResult()
    indexes = iter(range(n))

    async def worker() -> None:
        for i in indexes:
            body, ctype, meta = make(i)
            headers = signed_headers(body, ctype)
            sent_wall = time.time()
            t0 = time.perf_counter()
            try:
                async with session.post(url, data=body, headers=headers) as resp:
                    answer = await resp.read()
                    status = resp.status
            except Exception as error:  # a timeout or reset is a finding, not a crash
                result.errors.append(f"{type(error).__name__}: {error}"[:200])
                continue
            result.sent.append(Sent(time.perf_counter() - t0, sent_wall, status, answer, meta))

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.wall = time.perf_counter() - started
    return result


def new_session(concurrency: int) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30))


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


# ---------------------------------------------------------------------- the bench


class Bench:
    def __init__(self, per_level: int, warmup: int):
        self.per_level = per_level
        self.warmup = warmup
        self.tmp = tempfile.TemporaryDirectory(prefix="handoff-bench-")
        self.standin = SlackStandIn(token="xoxb-bench-token").start()
        for user_id, (name, tz) in PEOPLE.items():
            self.standin.add_user(user_id, name, tz=tz)
        self.bot = LocalBot(self.standin, f"sqlite:///{Path(self.tmp.name) / 'handoff.db'}",
                            clock=ManualClock(START), admins=frozenset({"U_ADMIN"})).start()
        self.bare = BareServer(self.standin, process_before_response=False).start()
        self.bare_pbr = BareServer(self.standin, process_before_response=True).start()
        self.urls = {HANDOFF: self.bot.url, BARE: self.bare.url, BARE_PBR: self.bare_pbr.url}
        self.builder = PayloadBuilder(self.bot.url, SIGNING_SECRET, self.standin)

        # Pools of real things to act on, harvested from what the stand-in recorded.
        self._seen_calls = 0
        self.views_open: dict[str, Any] = {}        # trigger_id -> RecordedCall
        self.fresh_views: collections.deque[str] = collections.deque()
        self.fresh_cards: collections.deque[tuple[str, str]] = collections.deque()
        self.ephemerals = 0
        self.views_open_failed: collections.Counter[str] = collections.Counter()

        # Tallies for the end-of-run checks.
        self.submissions_ok = 0
        self.submissions_bad: list[str] = []
        self.clicks_ok = 0
        self.clicks_bad: list[str] = []
        self.slash_bad: list[str] = []
        self.unsettled: list[str] = []

        self.results: dict[tuple[str, str, int], RunResult] = {}
        self.views_open_ms: dict[int, list[float]] = {}
        self.views_open_missing: dict[int, int] = {}
        # Handoff's work still queued when the last ack of a timed run came back, and how long it took to finish.
        self.tails: dict[tuple[str, int], tuple[int, int, float]] = {}

        # Templates for the bare apps (which only ack, so any well-formed request will do): a real opened
        # form and a real pending card, kept aside so Handoff never submits or accepts them.
        driver = self.bot.driver
        self.template_view = open_form(self.standin, driver, SDR)
        self.template_card = handoff_submitted(self.standin, driver)
        self.baseline_handoffs = 1
        self.bot.call(self.bot.deps.background.drain())  # type: ignore[union-attr]
        time.sleep(0.2)  # let the seed's SDR card go out too
        self._seen_calls = len(self.standin.calls)  # the pools start after the seed
        self.bare_bodies = {
            "submit": self.builder.submit_body(SDR, self.template_view, VALID),
            "accept": self.builder.click_body(AE, ACCEPT, self.template_card),
        }

    # -------------------------------------------------------------- pools

    def _harvest(self) -> None:
        calls = self.standin.calls
        new, self._seen_calls = calls[self._seen_calls:], len(calls)
        for call in new:
            if call.method == "views.open":
                trigger = str(call.args.get("trigger_id"))
                self.views_open[trigger] = call
                if call.ok and call.response["view"].get("callback_id") == HANDOFF_CALLBACK:
                    self.fresh_views.append(call.response["view"]["id"])
                elif not call.ok:
                    self.views_open_failed[str(call.response.get("error"))] += 1
            elif call.method == "chat.postMessage" and call.ok and call.args.get("channel") == AE \
                    and ACCEPT in str(call.args.get("blocks")):
                self.fresh_cards.append((call.response["channel"], call.response["ts"]))
            elif call.method == "chat.postEphemeral":
                self.ephemerals += 1

    def settle(self, label: str, timeout: float = 60.0) -> None:
        """Wait until Handoff's background tasks and outbox are done, so one run's tail doesn't load the next."""
        self.bot.call(self.bot.deps.background.drain(timeout), timeout=timeout + 5)  # type: ignore[union-attr]
        last, last_change = -1, time.monotonic()
        deadline = time.monotonic() + timeout
        while True:
            left = outbox.backlog(self.bot.db)  # type: ignore[arg-type]
            busy = len(self.bot.deps.background)  # type: ignore[union-attr]
            if left == 0 and busy == 0:
                break
            if left != last:
                last, last_change = left, time.monotonic()
            if time.monotonic() - last_change > 5 or time.monotonic() > deadline:
                self.unsettled.append(f"after {label}: {left} outbox rows still open, {busy} background tasks")
                break
            time.sleep(0.02)
        self._harvest()

    async def _untimed(self, kind: str, count: int) -> None:
        async with new_session(10) as session:
            await self._run(session, HANDOFF, kind, count, min(10, count))

    async def ensure_views(self, count: int) -> None:
        self._harvest()
        for _ in range(5):
            if len(self.fresh_views) >= count:
                return
            await self._untimed("slash", count - len(self.fresh_views))
            self.settle("top-up /handoff")
        raise RuntimeError(f"could not open {count} forms to submit (have {len(self.fresh_views)})")

    async def ensure_cards(self, count: int) -> None:
        self._harvest()
        for _ in range(5):
            if len(self.fresh_cards) >= count:
                return
            missing = count - len(self.fresh_cards)
            await self.ensure_views(missing)
            await self._untimed("submit", missing)
            self.settle("top-up submissions")
        raise RuntimeError(f"could not create {count} pending handoffs to accept (have {len(self.fresh_cards)})")

    # -------------------------------------------------------------- one run

    def _maker(self, server: str, kind: str, count: int) -> Maker:
        if kind == "slash":  # built as sent: the trigger_id lives 3 s from issue, as in Slack
            def make(_i: int) -> tuple[bytes, str, str]:
                body, ctype, trigger = self.builder.slash_body(SDR)
                return body.encode(), ctype, trigger
            return make
        if server != HANDOFF:
            body, ctype = self.bare_bodies[kind]
            raw = body.encode()
            return lambda _i: (raw, ctype, "")
        # Handoff: one real opened form / one real pending card per request, built up front.
        prebuilt: list[tuple[bytes, str, str]] = []
        if kind == "submit":
            for _ in range(count):
                view_id = self.fresh_views.popleft()
                body, ctype = self.builder.submit_body(SDR, view_id, VALID)
                prebuilt.append((body.encode(), ctype, view_id))
        else:
            for _ in range(count):
                card = self.fresh_cards.popleft()
                body, ctype = self.builder.click_body(AE, ACCEPT, card)
                prebuilt.append((body.encode(), ctype, f"{card[0]}/{card[1]}"))
        return lambda i: prebuilt[i]

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
            elif not ok:
                self.slash_bad.append(f"{s.status} {s.body[:160]!r}")
        bad = {"submit": self.submissions_bad, "accept": self.clicks_bad}.get(kind, self.slash_bad)
        bad.extend(result.errors)

    async def measure(self, server: str, kind: str, concurrency: int) -> None:
        progress(f"  {kind:<6} c={concurrency:<3} {SERVER_LABELS[server]}")
        if server == HANDOFF and kind == "submit":
            await self.ensure_views(concurrency + self.per_level)
        if server == HANDOFF and kind == "accept":
            await self.ensure_cards(concurrency + self.per_level)
        # The stand-in's call log and our own bookkeeping grow all run; freeze them so a full collection
        # doesn't walk them in the middle of someone's measurement (the real app holds no such heap).
        gc.collect()
        gc.freeze()
        async with new_session(concurrency) as session:
            # Open the pool's connections and warm this path at this concurrency; not counted.
            await self._run(session, server, kind, concurrency, concurrency)
            if server == HANDOFF:
                self.settle(f"{kind} c={concurrency} warm burst")
            GC_PAUSES.active = True
            try:
                result = await self._run(session, server, kind, self.per_level, concurrency)
            finally:
                GC_PAUSES.active = False
        self.results[(server, kind, concurrency)] = result
        if server == HANDOFF:
            busy = len(self.bot.deps.background)  # type: ignore[union-attr]
            owed = outbox.backlog(self.bot.db)  # type: ignore[arg-type]
            t0 = time.perf_counter()
            self.settle(f"{kind} c={concurrency}")
            self.tails[(kind, concurrency)] = (busy, owed, time.perf_counter() - t0)
            if kind == "slash":
                self._views_open_figures(concurrency, result)

    def _views_open_figures(self, concurrency: int, result: RunResult) -> None:
        delays, missing = [], 0
        for s in result.sent:
            call = self.views_open.get(s.meta)
            if call is None or not call.ok:
                missing += 1
                continue
            delays.append((call.at - s.sent_wall) * 1000)
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
                    await self._run(session, server, kind, self.warmup, min(5, self.warmup))
                if server == HANDOFF:
                    self.settle(f"warm-up {kind}")

    async def run(self) -> None:
        await self.warm_up()
        progress("measuring")
        for kind in KINDS:
            for concurrency in LEVELS:
                for server in SERVERS:  # interleaved, so drift over the run hits all three alike
                    await self.measure(server, kind, concurrency)

    # -------------------------------------------------------------- end checks

    def stored(self) -> tuple[int, int]:
        with self.bot.db.read() as session:  # type: ignore[union-attr]
            total = session.exec(select(func.count()).select_from(Handoff)).one()
            accepted = session.exec(
                select(func.count()).select_from(Handoff).where(col(Handoff.state) == "accepted")).one()
        return int(total), int(accepted)

    def close(self) -> None:
        self.bare.stop()
        self.bare_pbr.stop()
        self.bot.stop()
        self.standin.stop()
        self.tmp.cleanup()


_T0 = time.monotonic()


def progress(text: str) -> None:
    print(f"[{time.monotonic() - _T0:5.1f}s] {text}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------- report


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
    print(f"{bench.per_level} timed requests per cell after {bench.warmup} warm-up requests per app and kind "
          f"and a burst of <concurrency> untimed ones; client, bots and stand-in share one process.")
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
    print(f"{'request':<16}{'conc':>5} | {'background tasks':>16} {'outbox rows open':>16} | {'s to finish':>11}")
    for kind in KINDS:
        for c in LEVELS:
            busy, owed, secs = bench.tails.get((kind, c), (0, 0, float("nan")))
            print(f"{KIND_LABELS[kind]:<16}{c:>5} | {busy:>16} {owed:>16} | {secs:>11.1f}")
    print()

    total, accepted = bench.stored()
    expected_total = bench.baseline_handoffs + bench.submissions_ok
    print("Checks")
    print(f"  view submissions to Handoff answered 200 with an empty body: {bench.submissions_ok}, "
          f"otherwise: {len(bench.submissions_bad)}; handoffs stored: {total} (expected {expected_total})")
    print(f"  Accept clicks answered 200 (empty): {bench.clicks_ok}, otherwise: {len(bench.clicks_bad)}; "
          f"handoffs accepted: {accepted} (expected {bench.clicks_ok}); ephemeral notes to clickers: "
          f"{bench.ephemerals}")
    print(f"  /handoff not answered 200 (empty): {len(bench.slash_bad)}; views.open failures: "
          f"{dict(bench.views_open_failed) or 'none'}")
    for line in problems + bench.unsettled:
        print(f"  ! {line}")
    for bad in (bench.submissions_bad[:3] + bench.clicks_bad[:3] + bench.slash_bad[:3]):
        print(f"  ! e.g. {bad}")
    if LOG_COUNTER.by_key:
        print(f"  log records at WARNING or above: {sum(LOG_COUNTER.by_key.values())}")
        for key, count in LOG_COUNTER.by_key.most_common(5):
            print(f"    {count} x {key[0]}: {LOG_COUNTER.samples[key]}")
    else:
        print("  log records at WARNING or above: none")
    pauses = ", ".join(f"gen{g} {v * 1000:.1f} ms" for g, v in sorted(GC_PAUSES.longest.items()))
    print(f"  longest garbage-collector pauses during timed runs (they stop every thread): {pauses or 'none'}")
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smoke run: 30 requests per cell")
    parser.add_argument("--requests", type=int, default=None, help="timed requests per cell (default 250)")
    args = parser.parse_args()
    per_level = args.requests or (30 if args.quick else 250)
    warmup = 10 if args.quick else 20
    quiet_logging()
    gc.callbacks.append(GC_PAUSES)
    started = time.monotonic()
    progress("starting the Slack stand-in, Handoff and two bare Bolt apps on loopback")
    bench = Bench(per_level, warmup)
    try:
        asyncio.run(bench.run())
        report(bench, time.monotonic() - started)
    finally:
        bench.close()


if __name__ == "__main__":
    main()
