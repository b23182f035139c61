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
import atexit
import collections
import gc
import http.client
import importlib.util
import json
import logging
import math
import os
import platform
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import slack_bolt  # noqa: E402
import uvicorn  # noqa: E402

from bot.render.cards import ACCEPT  # noqa: E402
from bot.render.modals import HANDOFF_CALLBACK  # noqa: E402
from bot.sandbox import DriverResponse, SlackDriver, sign  # noqa: E402
from bot.sandbox.driver import JSON  # noqa: E402
from tests.flow import VALID  # noqa: E402

BENCH = Path(__file__).resolve().parent
TOKEN = "xoxb-bench-token"
SIGNING_SECRET = "bench-signing-secret"
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
QUIET = 0.3  # s without a new Slack call (and no outbox row open) before Handoff counts as idle

HANDOFF = "handoff"
BARE = "bare"          # Bolt defaults: process_before_response=False
BARE_PBR = "bare_pbr"  # process_before_response=True
SERVERS = (HANDOFF, BARE, BARE_PBR)
SERVER_LABELS = {HANDOFF: "Handoff", BARE: "bare (pbr=False, default)", BARE_PBR: "bare (pbr=True)"}


def meeting_answers() -> dict[str, Any]:
    """VALID, with the meeting moved to a weekday 15:00 UTC at least a week ahead (the bot runs on the real
    clock now, and outbound meetings need 48 business hours' notice)."""
    day = datetime.now(timezone.utc).date() + timedelta(days=7)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    meeting = datetime(day.year, day.month, day.day, 15, 0, tzinfo=timezone.utc)
    return {**VALID, "meeting_start": int(meeting.timestamp())}


ANSWERS = meeting_answers()


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
    """The longest garbage-collector pause in the load generator (the apps' own pauses are in their latencies)."""

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
    for name in ("aiohttp", "asyncio"):
        logging.getLogger(name).setLevel(logging.WARNING)


# ---------------------------------------------------------------------- the child processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM it if the load generator dies, even by SIGKILL (Linux)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    url: str  # http://127.0.0.1:PORT

    def cpu_seconds(self) -> float:
        """user + system CPU time so far, from /proc (nan where there is no /proc)."""
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return float("nan")


class Children:
    """Starts the stand-in and the apps, each in its own process, and always stops them."""

    def __init__(self, tmp: Path):
        self.tmp = tmp
        self.all: list[Child] = []
        atexit.register(self.stop)

    def _env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("SLACK_", "HANDOFF_", "DATABASE_URL", "PORT", "HOST", "LOG_LEVEL"))}
        env["PYTHONPATH"] = str(ROOT)
        env.update(extra)
        return env

    def spawn(self, name: str, argv: list[str], port: int, ready_path: str, **env: str) -> Child:
        log_path = self.tmp / f"{name}.log"
        with open(log_path, "wb") as log_file:
            # cwd is the temp dir, so no .env from the checkout leaks into the apps' settings.
            proc = subprocess.Popen(argv, cwd=self.tmp, env=self._env(**env), stdin=subprocess.DEVNULL,
                                    stdout=log_file, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        child = Child(name, proc, log_path, f"http://127.0.0.1:{port}")
        self.all.append(child)
        deadline = time.monotonic() + 30
        while True:
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
                conn.request("GET", ready_path)
                if conn.getresponse().status == 200:
                    conn.close()
                    return child
                conn.close()
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not come up (exit {proc.poll()}):\n{log_path.read_text()[-2000:]}")
            time.sleep(0.05)

    def stop(self) -> None:
        for child in self.all:
            if child.proc.poll() is None:
                child.proc.send_signal(signal.SIGTERM)
        for child in self.all:
            try:
                child.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                child.proc.kill()
                child.proc.wait(timeout=5)
        self.all = []

    def log_problems(self) -> collections.Counter[tuple[str, str]]:
        """Lines at WARNING or above (or tracebacks) in the children's output, by process and first words."""
        found: collections.Counter[tuple[str, str]] = collections.Counter()
        for child in self.all:
            try:
                text = child.log_path.read_text(errors="replace")
            except OSError:
                continue
            for line in text.splitlines():
                if re.search(r"\b(WARNING|ERROR|CRITICAL)\b", line) or line.startswith("Traceback"):
                    found[(child.name, re.sub(r"^\S+ \S+ ", "", line)[:160])] += 1
        return found


# ---------------------------------------------------------------------- the stand-in, seen from here


class RemoteStandIn:
    """What SlackDriver asks of a SlackStandIn, answered by the stand-in process over its /bench/ endpoints.

    Blocking (one kept-alive connection) for building payloads between runs; `issue` is the async version
    the timed /handoff runs use, outside the timed interval, so each trigger_id is fresh when sent."""

    def __init__(self, url: str, token: str):
        self.url = url
        self.token = token
        self.base_url = f"{url}/api/"
        parts = urllib.parse.urlsplit(url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._conn: http.client.HTTPConnection | None = None
        self._users: dict[str, str] | None = None
        self._channels: dict[str, str | None] = {}
        self.preissued: collections.deque[tuple[str, str]] = collections.deque()  # (trigger_id, response_url)
        self.views = _RemoteViews(self)
        self.messages = _RemoteMessages(self, ephemeral=False)
        self.ephemeral_messages = _RemoteMessages(self, ephemeral=True)

    def get(self, path: str, **params: Any) -> Any:
        """JSON from GET /bench/<path>; None on 404."""
        target = f"/bench/{path}?{urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})}"
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self._host, self._port, timeout=10)
            try:
                self._conn.request("GET", target)
                response = self._conn.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException):
                self._conn.close()
                self._conn = None
                if attempt == 2:
                    raise
                continue
            if response.status == 404:
                return None
            if response.status != 200:
                raise RuntimeError(f"stand-in answered {response.status} to {target}: {body[:200]!r}")
            return json.loads(body)
        raise AssertionError("unreachable")

    async def issue(self, session: aiohttp.ClientSession, user: str, channel: str | None = None) -> None:
        """Fetch a fresh trigger_id and response_url for the next payload built for `user`."""
        params = {"user": user, **({"channel": channel} if channel else {})}
        async with session.get(f"{self.url}/bench/issue", params=params) as resp:
            data = await resp.json()
        self.preissued.append((data["trigger_id"], data["response_url"]))

    # -- SlackStandIn's interface, as far as SlackDriver uses it

    def issue_trigger_id(self, user_id: str) -> str:
        if self.preissued:
            return self.preissued.popleft()[0]
        return str(self.get("issue", user=user_id)["trigger_id"])

    def response_url_for(self, user_id: str, channel_id: str | None = None, message_ts: str | None = None) -> str:
        if self.preissued and message_ts is None:
            trigger, url = self.preissued[0]
            self.preissued[0] = (trigger, "")  # the trigger_id is still to be taken
            if url:
                return url
        return str(self.get("issue", user=user_id, channel=channel_id, ts=message_ts)["response_url"])

    def user_names(self) -> dict[str, str]:
        if self._users is None:
            self._users = self.get("users")
        return dict(self._users or {})

    def channel_name(self, channel_id: str) -> str | None:
        if channel_id not in self._channels:
            self._channels[channel_id] = self.get("channel", id=channel_id)["name"]
        return self._channels[channel_id]


class _RemoteViews:
    def __init__(self, remote: RemoteStandIn):
        self.remote = remote

    def get(self, view_id: str) -> dict[str, Any] | None:
        return self.remote.get("view", id=view_id)

    def __getitem__(self, view_id: str) -> dict[str, Any]:
        view = self.get(view_id)
        if view is None:
            raise KeyError(view_id)
        return view

    def __iter__(self):  # only for SlackDriver's error message
        return iter(())


class _RemoteMessages:
    def __init__(self, remote: RemoteStandIn, *, ephemeral: bool):
        self.remote, self.ephemeral = remote, ephemeral

    def get(self, key: tuple[str, str]) -> dict[str, Any] | None:
        found = self.remote.get("message", channel=key[0], ts=key[1])
        if found is None or bool(found["ephemeral"]) != self.ephemeral:
            return None
        return found["message"]


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


# make(i) -> (body bytes, content type, meta); awaited before the clock starts for each request.
Maker = Callable[[int], Awaitable[tuple[bytes, str, str]]]


async def run_load(session: aiohttp.ClientSession, url: str, n: int, concurrency: int, make: Maker) -> RunResult:
    """n requests with `concurrency` of them in flight at once (each worker sends its next when its last answers)."""
    result = RunResult()
    indexes = iter(range(n))

    async def worker() -> None:
        for i in indexes:
            body, ctype, meta = await make(i)
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
            try:
                result = await self._run(session, server, kind, self.per_level, concurrency)
            finally:
                GC_PAUSES.active = False
        last_ack = time.time()
        self.results[(server, kind, concurrency)] = result
        if server == HANDOFF:
            self._harvest()
            seen, owed = len(self.calls), self.backlog()
            self.settle(f"{kind} c={concurrency}", [s.meta for s in result.sent] if kind == "slash" else [])
            after = self.calls[seen:]
            finish = max((c["at"] for c in after), default=last_ack) - last_ack
            self.tails[(kind, concurrency)] = (len(after), owed, max(0.0, finish))
            if kind == "slash":
                self._views_open_figures(concurrency, result)

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
    print(f"{'request':<16}{'conc':>5} | {'Slack calls to come':>19} {'outbox rows open':>16} | "
          f"{'s to last call':>14}")
    for kind in KINDS:
        for c in LEVELS:
            calls, owed, secs = bench.tails.get((kind, c), (0, 0, float("nan")))
            print(f"{KIND_LABELS[kind]:<16}{c:>5} | {calls:>19} {owed:>16} | {secs:>14.2f}")
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
