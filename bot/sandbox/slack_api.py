"""A local stand-in for Slack's Web API.

Runs an aiohttp server on loopback in its own daemon thread (with its own event
loop) so synchronous tests, scripts and other asyncio loops can all use it.
Point ``slack_sdk`` at it with ``base_url=standin.base_url``.

It answers the handful of methods Handoff uses in Slack's own response shapes,
rejects what Slack would reject (where practical), records every call and keeps
a chronological list of what people would *see* (``events``).
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import secrets
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import web
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

TEAM_ID = "T_HANDOFF"
TEAM_DOMAIN = "handoff-test"
TEAM_NAME = "Handoff Test"
BOT_USER_ID = "U_HANDOFF_BOT"
BOT_ID = "B_HANDOFF"
APP_ID = "A_HANDOFF"

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_TEXT_CHARS = 40_000
MAX_VIEW_STACK = 3

# Arguments slack_sdk may send as JSON strings (form / query encoding).
_JSON_ARGS = ("blocks", "attachments", "view", "metadata")

# Slack's long-form labels for the abbreviations zoneinfo gives us.
_TZ_LABELS = {
    "EST": "Eastern Standard Time", "EDT": "Eastern Daylight Time",
    "CST": "Central Standard Time", "CDT": "Central Daylight Time",
    "MST": "Mountain Standard Time", "MDT": "Mountain Daylight Time",
    "PST": "Pacific Standard Time", "PDT": "Pacific Daylight Time",
    "GMT": "Greenwich Mean Time", "BST": "British Summer Time", "UTC": "Coordinated Universal Time",
    "CET": "Central European Time", "CEST": "Central European Summer Time",
    "IST": "India Standard Time", "JST": "Japan Standard Time",
    "AEST": "Australian Eastern Standard Time", "AEDT": "Australian Eastern Daylight Time",
}


@dataclass(frozen=True)
class RecordedCall:
    """One Web API call as the stand-in saw and answered it."""

    method: str
    args: dict[str, Any]
    status: int
    response: dict[str, Any]
    at: float

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response.get("ok"))


@dataclass(frozen=True)
class StandInEvent:
    """Something a person would see in Slack, in the order it happened."""

    kind: str  # message|update|ephemeral|view_open|view_update|view_push|home|response_url
    audience: str  # user id (DMs, ephemerals, views) or channel id
    channel: str | None
    ts: str | None
    text: str
    blocks: list[dict[str, Any]] | None
    view: dict[str, Any] | None
    at: float
    thread_ts: str | None = None


@dataclass
class _FailRule:
    method: str
    status: int
    remaining: int
    retry_after: int | None
    error: str | None
    delay: float


@dataclass
class _Trigger:
    user_id: str
    issued: float
    used: bool = False


@dataclass
class _ResponseUrl:
    user_id: str
    channel_id: str | None
    message_ts: str | None


@dataclass
class _User:
    id: str
    name: str
    real_name: str
    tz: str
    is_bot: bool
    deleted: bool
    email: str | None = None


class _ApiError(Exception):
    """Raised inside a handler to answer ``{"ok": false, "error": ...}``."""

    def __init__(self, error: str, *messages: str) -> None:
        super().__init__(error)
        self.error = error
        self.messages = list(messages)


def _missing(name: str) -> _ApiError:
    return _ApiError("invalid_arguments", f"[ERROR] missing required field: {name}")


@dataclass
class _State:
    calls: list[RecordedCall] = field(default_factory=list)
    events: list[StandInEvent] = field(default_factory=list)
    rules: list[_FailRule] = field(default_factory=list)


class SlackStandIn:
    """Loopback HTTP server that plays Slack's Web API for tests and demos."""

    def __init__(
        self,
        token: str = "xoxb-test",
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        trigger_ttl: float = 3.0,
        app_token: str | None = None,
    ) -> None:
        self.token = token
        self.host = host
        self.port = port
        self.trigger_ttl = trigger_ttl
        self._lock = threading.RLock()
        # Notified on every recorded call, so wait_for() wakes as soon as one lands rather than polling.
        self._recorded = threading.Condition(self._lock)
        self._record_count = 0
        self._state = _State()
        self._users: dict[str, _User] = {}
        self._channels: dict[str, str] = {}  # id -> name
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        self.ephemeral_messages: dict[tuple[str, str], dict[str, Any]] = {}
        self.views: dict[str, dict[str, Any]] = {}
        self._view_stacks: dict[str, list[str]] = {}  # user -> modal stack (root first)
        self._home_view_ids: dict[str, str] = {}
        self._triggers: dict[str, _Trigger] = {}
        self._response_urls: dict[str, _ResponseUrl] = {}
        self._ids = itertools.count(1)
        self._last_ts_us = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        # Slack bots always see their own user and #general.
        self.add_user(BOT_USER_ID, name="handoff", real_name="Handoff", is_bot=True)
        self.add_channel("C_GENERAL", name="general")
        # Socket Mode: the app-level token apps.connections.open accepts, and the live connections.
        self.app_token = app_token
        self._socket_cond = threading.Condition(self._lock)
        self._socket_tickets: set[str] = set()
        self._sockets: dict[str, web.WebSocketResponse] = {}  # connection id -> open websocket
        self._socket_order: list[str] = []  # open connection ids, oldest first
        self.socket_connects = 0  # websocket connections ever accepted (reconnects count)
        self.socket_envelopes: dict[str, dict[str, Any]] = {}  # envelope_id -> envelope sent
        self.socket_acks: dict[str, dict[str, Any]] = {}  # envelope_id -> the app's ack
        self.socket_received: list[dict[str, Any]] = []  # every text frame the app sent, parsed

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> "SlackStandIn":
        """Start serving; returns once the socket is listening."""
        if self._thread is not None:
            return self
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop
            try:
                loop.run_until_complete(self._serve())
            except BaseException as exc:  # surfaced to start()'s caller
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name="slack-standin", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            self._thread = None
            raise RuntimeError(f"stand-in failed to start: {failure[0]!r}") from failure[0]
        return self

    async def _serve(self) -> None:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/respond/{token}", self._handle_response_url)
        app.router.add_get("/socket/{conn_id}", self._handle_socket)
        app.on_shutdown.append(self._close_sockets)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        # port 0: read back the port the OS picked.
        self.port = self._runner.addresses[0][1]

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        self._thread = self._loop = self._runner = None

    def __enter__(self) -> "SlackStandIn":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        # slack_sdk joins base_url + method, so the trailing slash matters.
        return f"{self.url}/api/"

    # ------------------------------------------------------------------ directory

    def add_user(
        self,
        user_id: str,
        name: str,
        real_name: str | None = None,
        tz: str = "America/Los_Angeles",
        is_bot: bool = False,
        deleted: bool = False,
        email: str | None = None,
    ) -> None:
        with self._lock:
            self._users[user_id] = _User(user_id, name, real_name or name, tz, is_bot, deleted, email)

    def add_channel(self, channel_id: str, name: str) -> None:
        with self._lock:
            self._channels[channel_id] = name

    def user_names(self) -> dict[str, str]:
        """user id -> display name, handy for the transcript renderer."""
        with self._lock:
            return {u.id: u.name for u in self._users.values()}

    def channel_names(self) -> dict[str, str]:
        with self._lock:
            names = dict(self._channels)
            names.update({self.dm_channel_id(u): f"DM with @{self._users[u].name}" for u in self._users})
            return names

    def channel_name(self, channel_id: str) -> str | None:
        with self._lock:
            if channel_id in self._channels:
                return self._channels[channel_id]
            if channel_id.startswith("D"):
                return "directmessage"
            return None

    @staticmethod
    def dm_channel_id(user_id: str) -> str:
        """The app's DM channel with a user: U_SDR1 -> D_SDR1."""
        return "D" + user_id[1:]

    def user_for_dm(self, channel_id: str) -> str | None:
        with self._lock:
            for uid in self._users:
                if channel_id.startswith("D") and self.dm_channel_id(uid) == channel_id:
                    return uid
            return None

    # ------------------------------------------------------------------ inspection

    @property
    def calls(self) -> list[RecordedCall]:
        with self._lock:
            return list(self._state.calls)

    @property
    def events(self) -> list[StandInEvent]:
        with self._lock:
            return list(self._state.events)

    def calls_to(self, method: str) -> list[RecordedCall]:
        return [c for c in self.calls if c.method == method]

    def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,
        where: Callable[[RecordedCall], bool] | None = None,
    ) -> list[RecordedCall]:
        """Block until ``count`` successful matching calls exist."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                seen = self._record_count
            matching = [c for c in self.calls_to(method) if c.ok and (where is None or where(c))]
            if len(matching) >= count:
                return matching
            left = deadline - time.monotonic()
            if left <= 0:
                seen_calls = "\n".join(
                    f"  {c.method} status={c.status} ok={c.response.get('ok')} "
                    f"error={c.response.get('error')} args={_short(c.args)}"
                    for c in self.calls
                ) or "  (none)"
                raise AssertionError(
                    f"expected {count} successful {method} call(s) within {timeout}s, "
                    f"got {len(matching)}. Calls seen:\n{seen_calls}"
                )
            with self._recorded:
                if self._record_count == seen:  # nothing new since the check above: sleep until something is
                    self._recorded.wait(left)

    def open_views(self, user_id: str) -> list[str]:
        """The modal stack currently open for a user (root first)."""
        with self._lock:
            return list(self._view_stacks.get(user_id, []))

    def view_user(self, view_id: str) -> str | None:
        with self._lock:
            view = self.views.get(view_id)
            return None if view is None else view.get("_user_id")

    def home_view(self, user_id: str) -> dict[str, Any] | None:
        with self._lock:
            vid = self._home_view_ids.get(user_id)
            return None if vid is None else self.views.get(vid)

    def reset(self) -> None:
        """Forget calls, events and failure rules; keep the directory."""
        with self._lock:
            self._state = _State()

    # ------------------------------------------------------------------ test controls

    def issue_trigger_id(self, user_id: str) -> str:
        with self._lock:
            tid = f"{int(time.time())}.{next(self._ids)}.{secrets.token_hex(16)}"
            self._triggers[tid] = _Trigger(user_id, time.monotonic())
            return tid

    def response_url_for(
        self, user_id: str, channel_id: str | None = None, message_ts: str | None = None
    ) -> str:
        """A response_url bound to a user (and optionally the message it came from)."""
        with self._lock:
            token = secrets.token_urlsafe(16)
            self._response_urls[token] = _ResponseUrl(user_id, channel_id, message_ts)
        return f"{self.url}/respond/{token}"

    def fail(
        self,
        method: str,
        *,
        status: int | None = None,
        times: int = 1,
        retry_after: int | None = None,
        error: str | None = None,
        delay: float = 0.0,
    ) -> None:
        """Make the next ``times`` calls to ``method`` fail.

        error= answers HTTP 200 ``{"ok": false, "error": error}``; retry_after
        (or status=429) answers 429 ratelimited; otherwise status (default 500).
        A bare ``delay`` only slows the answer down, which is enough to trip a
        client timeout.
        """
        if status is None:
            if error is not None:
                status = 200
            elif retry_after is not None:
                status = 429
            elif delay > 0:
                status = 0  # 0 = answer normally after the delay
            else:
                status = 500
        with self._lock:
            self._state.rules.append(_FailRule(method, status, times, retry_after, error, delay))

    # ------------------------------------------------------------------ helpers

    def _next_ts(self) -> str:
        # Real-time based, strictly increasing, unique.
        now_us = int(time.time() * 1_000_000)
        with self._lock:
            now_us = max(now_us, self._last_ts_us + 1)
            self._last_ts_us = now_us
        return f"{now_us // 1_000_000}.{now_us % 1_000_000:06d}"

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):010d}"

    def _record(self, method: str, args: dict[str, Any], status: int, response: dict[str, Any]) -> None:
        with self._recorded:
            self._state.calls.append(RecordedCall(method, args, status, response, time.time()))
            self._record_count += 1
            self._recorded.notify_all()

    def _emit(
        self,
        kind: str,
        audience: str,
        *,
        channel: str | None = None,
        ts: str | None = None,
        text: str = "",
        blocks: list[dict[str, Any]] | None = None,
        view: dict[str, Any] | None = None,
        thread_ts: str | None = None,
    ) -> None:
        with self._lock:
            self._state.events.append(
                StandInEvent(
                    kind, audience, channel, ts, text or "",
                    copy.deepcopy(blocks), _public_view(view) if view else None, time.time(), thread_ts,
                )
            )

    def _take_rule(self, method: str) -> _FailRule | None:
        with self._lock:
            for rule in self._state.rules:
                if rule.method == method and rule.remaining > 0:
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        self._state.rules.remove(rule)
                    return rule
        return None

    # ------------------------------------------------------------------ Socket Mode

    def set_app_token(self, app_token: str | None) -> None:
        """The app-level token (``xapp-...``) apps.connections.open accepts."""
        with self._lock:
            self.app_token = app_token

    @property
    def socket_url_base(self) -> str:
        return f"ws://{self.host}:{self.port}/socket/"

    def socket_connections(self) -> int:
        """How many Socket Mode connections are open now."""
        with self._lock:
            return len(self._sockets)

    def socket_wait_connected(self, count: int = 1, timeout: float = 10.0, *, connects: int | None = None) -> None:
        """Block until ``count`` connections are open (and, with ``connects``, that many were ever made)."""
        deadline = time.monotonic() + timeout
        with self._socket_cond:
            while len(self._sockets) < count or (connects is not None and self.socket_connects < connects):
                left = deadline - time.monotonic()
                if left <= 0:
                    opens = [c for c in self._state.calls if c.method == "apps.connections.open"]
                    raise AssertionError(
                        f"expected {count} open Socket Mode connection(s) within {timeout}s, have "
                        f"{len(self._sockets)} ({self.socket_connects} ever); apps.connections.open calls: "
                        + (", ".join(f"ok={c.ok} error={c.response.get('error')}" for c in opens) or "none")
                    )
                self._socket_cond.wait(min(left, 0.1))

    def socket_send(
        self,
        envelope_type: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool | None = None,
        retry_attempt: int = 0,
        retry_reason: str = "",
        timeout: float = 10.0,
    ) -> str:
        """Push an envelope to the app over its newest open connection, as Slack does; returns its envelope_id.

        envelope_type: ``slash_commands`` (payload: the command's form fields), ``interactive``
        (block_actions / view_submission / ... payload) or ``events_api`` (the event_callback envelope).
        """
        if envelope_type not in ("slash_commands", "interactive", "events_api"):
            raise ValueError(f"unknown Socket Mode envelope type {envelope_type!r}")
        if accepts_response_payload is None:
            # Slack lets the ack carry a response where HTTP would take one in the response body.
            accepts_response_payload = envelope_type == "slash_commands" or (
                envelope_type == "interactive"
                and payload.get("type") in ("view_submission", "block_suggestion", "shortcut", "message_action")
            )
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": envelope_type,
            "payload": copy.deepcopy(payload),
            "accepts_response_payload": bool(accepts_response_payload),
            "retry_attempt": retry_attempt,
            "retry_reason": retry_reason,
        }
        self.socket_wait_connected(1, timeout)
        with self._lock:
            ws = self._sockets[self._socket_order[-1]]
            self.socket_envelopes[envelope_id] = envelope
        self._socket_send_frame(ws, envelope, timeout)
        return envelope_id

    def socket_wait_ack(self, envelope_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """The app's ack of an envelope: ``{"envelope_id": ..., "payload": {...}?}``."""
        deadline = time.monotonic() + timeout
        with self._socket_cond:
            while envelope_id not in self.socket_acks:
                left = deadline - time.monotonic()
                if left <= 0:
                    env = self.socket_envelopes.get(envelope_id, {})
                    raise AssertionError(
                        f"no ack for {env.get('type', 'unknown')} envelope {envelope_id} within {timeout}s "
                        f"(open connections: {len(self._sockets)}; acks seen: {len(self.socket_acks)})"
                    )
                self._socket_cond.wait(min(left, 0.1))
            return copy.deepcopy(self.socket_acks[envelope_id])

    def socket_disconnect(self, reason: str = "refresh_requested", *, close_after: float | None = 1.0) -> None:
        """Ask every open connection to reconnect, as Slack does when it refreshes its links.

        Sends ``{"type": "disconnect", "reason": ...}``; the app is expected to open a new
        connection (apps.connections.open again). With ``close_after`` the old ones are
        then closed from this side, like Slack does a few seconds later.
        """
        with self._lock:
            sockets = list(self._sockets.values())
        message = {"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-standin"}}
        for ws in sockets:
            self._socket_send_frame(ws, message, 10.0)
        if close_after is not None and self._loop is not None:
            async def close_later() -> None:
                await asyncio.sleep(close_after)
                for ws in sockets:
                    if not ws.closed:
                        await ws.close(code=1001, message=b"refreshed")
            asyncio.run_coroutine_threadsafe(close_later(), self._loop)

    def _socket_send_frame(self, ws: web.WebSocketResponse, message: dict[str, Any], timeout: float) -> None:
        if self._loop is None:
            raise RuntimeError("stand-in is not running")
        asyncio.run_coroutine_threadsafe(ws.send_str(json.dumps(message)), self._loop).result(timeout)

    def _apps_connections_open(self, method: str, args: dict[str, Any], token: str) -> web.StreamResponse:
        if self.app_token is not None and token == self.app_token:
            conn_id = secrets.token_hex(8)
            with self._lock:
                self._socket_tickets.add(conn_id)
            response: dict[str, Any] = {"ok": True, "url": self.socket_url_base + conn_id}
        elif not token.startswith("xapp-"):
            # A bot or user token: Slack names the token type, not the token, as the problem.
            response = {"ok": False, "error": "not_allowed_token_type"}
        else:
            response = {"ok": False, "error": "invalid_auth"}
        self._record(method, args, 200, response)
        return web.json_response(response)

    async def _handle_socket(self, request: web.Request) -> web.StreamResponse:
        conn_id = request.match_info["conn_id"]
        with self._lock:
            known = conn_id in self._socket_tickets
        if not known:
            return web.Response(status=401, text="invalid_ticket")
        ws = web.WebSocketResponse(autoping=True)  # answers the SDK's pings with pongs
        await ws.prepare(request)
        with self._socket_cond:
            self._sockets[conn_id] = ws
            self._socket_order.append(conn_id)
            self.socket_connects += 1
            hello = {
                "type": "hello",
                "num_connections": len(self._sockets),
                "debug_info": {"host": "applink-standin", "build_number": 1, "approximate_connection_time": 18060},
                "connection_info": {"app_id": APP_ID},
            }
        try:
            await ws.send_str(json.dumps(hello))
            with self._socket_cond:
                self._socket_cond.notify_all()
            async for msg in ws:
                if msg.type == web.WSMsgType.TEXT:
                    self._on_socket_message(msg.data)
        finally:
            with self._socket_cond:
                self._sockets.pop(conn_id, None)
                if conn_id in self._socket_order:
                    self._socket_order.remove(conn_id)
                self._socket_cond.notify_all()
        return ws

    def _on_socket_message(self, raw: str) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            message = {"_unparseable": raw}
        with self._socket_cond:
            self.socket_received.append(message)
            if isinstance(message, dict) and message.get("envelope_id"):
                self.socket_acks.setdefault(str(message["envelope_id"]), message)  # Slack takes the first ack
            self._socket_cond.notify_all()

    async def _close_sockets(self, _app: web.Application) -> None:
        with self._lock:
            sockets = list(self._sockets.values())
        for ws in sockets:
            await ws.close(code=1001, message=b"server shutdown")


    # ------------------------------------------------------------------ HTTP

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        try:
            args = await _read_args(request)
        except ValueError as exc:
            body = {"ok": False, "error": "invalid_json", "response_metadata": {"messages": [str(exc)]}}
            self._record(method, {}, 200, body)
            return web.json_response(body)
        header_token = None
        auth = request.headers.get("Authorization", "")
        if auth.lower().startswith("bearer "):
            header_token = auth[7:].strip()
        token = header_token or args.pop("token", None)
        args.pop("token", None)

        rule = self._take_rule(method)
        if rule is not None:
            if rule.delay > 0:
                await asyncio.sleep(rule.delay)
            if rule.status == 429:
                body = {"ok": False, "error": "ratelimited"}
                self._record(method, args, 429, body)
                return web.json_response(
                    body, status=429, headers={"Retry-After": str(rule.retry_after or 1)}
                )
            if rule.error is not None:
                body = {"ok": False, "error": rule.error}
                self._record(method, args, rule.status, body)
                return web.json_response(body, status=rule.status)
            if rule.status not in (0, 200):
                body = {"ok": False, "error": f"http_{rule.status}"}
                self._record(method, args, rule.status, body)
                return web.Response(status=rule.status, text="Internal Server Error")

        try:
            if not token:
                raise _ApiError("not_authed")
            if method == "apps.connections.open":
                return self._apps_connections_open(method, args, token)
            if self.app_token is not None and token == self.app_token:
                raise _ApiError("not_allowed_token_type")  # app-level tokens only open sockets
            if token != self.token:
                raise _ApiError("invalid_auth")
            handler = _HANDLERS.get(method)
            if handler is None:
                raise _ApiError("unknown_method")
            with self._lock:
                response = handler(self, args)
            response = {"ok": True, **response}
        except _ApiError as exc:
            response = {"ok": False, "error": exc.error}
            if exc.messages:
                response["response_metadata"] = {"messages": exc.messages}
        self._record(method, args, 200, response)
        return web.json_response(response)

    async def _handle_response_url(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        try:
            args = await _read_args(request)
        except ValueError:
            self._record("response_url", {}, 400, {"ok": False, "error": "invalid_payload"})
            return web.Response(status=400, text="invalid_payload")
        if "payload" in args and isinstance(args["payload"], str):  # form-encoded variant
            args = {**json.loads(args.pop("payload")), **args}
        with self._lock:
            target = self._response_urls.get(token)
            if target is None:
                self._record("response_url", args, 404, {"ok": False, "error": "expired_url"})
                return web.Response(status=404, text="expired_url")
            self._apply_response_url(target, args)
            self._record("response_url", {**args, "_user_id": target.user_id}, 200, {"ok": True})
        return web.Response(text="ok")

    def _apply_response_url(self, target: _ResponseUrl, args: dict[str, Any]) -> None:
        text = args.get("text") or ""
        blocks = args.get("blocks")
        key = (target.channel_id, target.message_ts)
        if _truthy(args.get("delete_original")) and key in self.messages:
            del self.messages[key]  # type: ignore[arg-type]
        elif _truthy(args.get("replace_original")) and key in self.messages:
            msg = self.messages[key]  # type: ignore[index]
            msg["text"] = text
            msg["blocks"] = blocks or []
        in_channel = args.get("response_type") == "in_channel" and target.channel_id
        self._emit(
            "response_url",
            target.channel_id if in_channel else target.user_id,  # type: ignore[arg-type]
            channel=target.channel_id,
            ts=target.message_ts,
            text=text,
            blocks=blocks,
        )

    # ------------------------------------------------------------------ validation

    def _resolve_channel(self, channel: Any) -> tuple[str, str | None]:
        """Channel argument -> (channel id, DM user id or None)."""
        if not channel:
            raise _ApiError("channel_not_found")
        channel = str(channel)
        if channel[0] in "UW":
            user = self._users.get(channel)
            if user is None:
                raise _ApiError("channel_not_found")
            if user.deleted:
                raise _ApiError("account_inactive")
            return self.dm_channel_id(channel), channel
        if channel.startswith("D"):
            uid = self.user_for_dm(channel)
            if uid is None:
                raise _ApiError("channel_not_found")
            if self._users[uid].deleted:
                raise _ApiError("account_inactive")
            return channel, uid
        if channel in self._channels:
            return channel, None
        name = channel.lstrip("#")
        for cid, cname in self._channels.items():
            if cname == name:
                return cid, None
        raise _ApiError("channel_not_found")

    def _check_message_content(self, args: dict[str, Any], *, require: bool = True) -> list[dict[str, Any]] | None:
        text = args.get("text")
        blocks = args.get("blocks")
        if require and not text and not blocks and not args.get("attachments"):
            raise _ApiError("no_text")
        if text is not None and len(str(text)) > MAX_TEXT_CHARS:
            raise _ApiError("msg_too_long")
        if blocks is None:
            return None
        return _validate_blocks(blocks, MAX_MESSAGE_BLOCKS)

    def _use_trigger(self, trigger_id: Any) -> str:
        if not trigger_id:
            raise _missing("trigger_id")
        trig = self._triggers.get(str(trigger_id))
        if trig is None:
            raise _ApiError("invalid_trigger_id")
        if trig.used:
            raise _ApiError("exchanged_trigger_id")
        if time.monotonic() - trig.issued > self.trigger_ttl:
            raise _ApiError("expired_trigger_id")
        trig.used = True
        return trig.user_id

    def _build_view(self, raw: Any, *, view_id: str, user_id: str, root: str | None, prev: str | None) -> dict[str, Any]:
        if not raw:
            raise _missing("view")
        if not isinstance(raw, dict):
            raise _ApiError("invalid_arguments", "[ERROR] view must be an object")
        raw = copy.deepcopy(raw)
        blocks = raw.get("blocks") or []
        if not isinstance(blocks, list) or len(blocks) > MAX_VIEW_BLOCKS:
            raise _ApiError("invalid_arguments", f"[ERROR] no more than {MAX_VIEW_BLOCKS} items allowed [json-pointer:/view/blocks]")
        try:
            View(**raw).validate_json()
        except (SlackObjectFormationError, TypeError, ValueError) as exc:
            raise _ApiError("invalid_arguments", f"[ERROR] {exc}")
        blocks = _validate_blocks(blocks, MAX_VIEW_BLOCKS, error="invalid_arguments")
        return {
            "id": view_id,
            "team_id": TEAM_ID,
            "type": raw["type"],
            "blocks": blocks,
            "private_metadata": raw.get("private_metadata", ""),
            "callback_id": raw.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "title": raw.get("title"),
            "clear_on_close": bool(raw.get("clear_on_close", False)),
            "notify_on_close": bool(raw.get("notify_on_close", False)),
            "close": raw.get("close"),
            "submit": raw.get("submit"),
            "previous_view_id": prev,
            "root_view_id": root or view_id,
            "app_id": APP_ID,
            "external_id": raw.get("external_id", ""),
            "app_installed_team_id": TEAM_ID,
            "bot_id": BOT_ID,
            "_user_id": user_id,
        }

    def _store_view(self, view: dict[str, Any]) -> dict[str, Any]:
        ext = view.get("external_id")
        if ext:
            for vid, other in self.views.items():
                if vid != view["id"] and other.get("external_id") == ext:
                    raise _ApiError("duplicate_external_id")
        self.views[view["id"]] = view
        return {"view": _public_view(view)}

    # ------------------------------------------------------------------ view stack

    def apply_view_response(self, user_id: str, view_id: str, response: dict[str, Any] | None) -> None:
        """Apply a view_submission ack the way Slack's client would.

        Empty ack closes the submitted view; response_action update/push/clear do
        what they say; errors leaves the view open.
        """
        with self._lock:
            stack = self._view_stacks.setdefault(user_id, [])
            action = (response or {}).get("response_action")
            if action == "errors":
                return
            if action == "clear":
                stack.clear()
                return
            if action == "update":
                old = self.views[view_id]
                view = self._build_view(
                    response["view"], view_id=view_id, user_id=user_id,  # type: ignore[index]
                    root=old["root_view_id"], prev=old["previous_view_id"],
                )
                self.views[view_id] = view
                self._emit("view_update", user_id, view=view, text=_title(view))
                return
            if action == "push":
                if len(stack) >= MAX_VIEW_STACK:
                    raise RuntimeError("push_limit_reached")
                vid = self._new_id("V")
                view = self._build_view(
                    response["view"], view_id=vid, user_id=user_id,  # type: ignore[index]
                    root=stack[0] if stack else vid, prev=view_id,
                )
                self.views[vid] = view
                stack.append(vid)
                self._emit("view_push", user_id, view=view, text=_title(view))
                return
            if view_id in stack:
                stack.remove(view_id)


# ---------------------------------------------------------------------- handlers


def _auth_test(s: SlackStandIn, args: dict[str, Any]) -> dict[str, Any]:
    return {
        "url": f"https://{TEAM_DOMAIN}.slack.com/",
        "team": TEAM_NAME,
        "user": "handoff",
        "team_id": TEAM_ID,
        "user_id": BOT_USER_ID,
        "bot_id": BOT_ID,
        "is_enterprise_install": False,
    }


def _bot_message(text: Any, blocks: list[dict[str, Any]] | None, ts: str) -> dict[str, Any]:
    return {
        "type": "message",
        "text": text or "",
        "blocks": blocks or [],
        "ts": ts,
        "bot_id": BOT_ID,
        "user": BOT_USER_ID,
        "app_id": APP_ID,
        "team": TEAM_ID,
    }


def _without_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def _chat_post_message(s: SlackStandIn, args: dict[str, Any]) -> dict[str, Any]:
    channel, dm_user = s._resolve_channel(args.get("channel"))
    blocks = s._check_message_content(args)
    ts = s._next_ts()
    message = _without_none(_bot_message(args.get("text"), blocks, ts))
    thread_ts = args.get("thread_ts")
    if thread_ts:
        message["thread_ts"] = str(thread_ts)
    if args.get("attachments"):
        message["attachments"] = args["attachments"]
    if args.get("metadata"):
        message["metadata"] = args["metadata"]
    s.messages[(channel, ts)] = {"channel": channel, **message}
    s._emit(
        "message", dm_user or channel, channel=channel, ts=ts,
        text=message["text"], blocks=message["blocks"], thread_ts=message.get("thread_ts"),
    )
    return {"channel": channel, "ts": ts, "message": copy.deepcopy(message)}


def _chat_update(s: SlackStandIn, args: dict[str, Any]) -> dict[str, Any]:
    channel, dm_user = s._resolve_channel(args.get("channel"))
    ts = args.get("ts")
    if not ts:
        raise _missing("ts")
    stored = s.messages.get((channel, str(ts)))
    if stored is None:
        raise _ApiError("message_not_found")
    blocks = s._check_message_content(args)
    if "text" in args:
        stored["text"] = args["text"] or ""
    if blocks is not None:  # Slack keeps previous blocks unless blocks is sent
        stored["blocks"] = blocks
    if "attachments" in args:
        stored["attachments"] = args["attachments"]
    stored["edited"] = {"user": BOT_USER_ID, "ts": s._next_ts()}
    message = {k: v for k, v in stored.items() if k != "channel"}
    s._emit(
        "update", dm_user or channel, channel=channel, ts=str(ts),
        text=stored["text"], blocks=stored["blocks"], thread_ts=stored.get("thread_ts"),
    )
    return {"channel": channel, "ts": str(ts), "text": stored["text"], "message": copy.deepcopy(message)}


def _chat_post_ephemeral(s: SlackStandIn, args: dict[str, Any]) -> dict[str, Any]:
    channel, _ = s._resolve_channel(args.get("channel"))
    user = args.get("user")
    if not user:
        raise _missing("user")
    if user not in s._users:
        raise _ApiError("user_not_found")
    if s._users[user].deleted:
        raise _ApiError("user_not_in_channel")
    blocks = s._check_message_content(args)
    ts = s._next_ts()
    s.ephemeral_messages[(channel, ts)] = {
        "channel": channel, "user_id": user,
        **_without_none(_bot_message(args.get("text"), blocks, ts)),
    }
    s._emit("ephemeral", user, channel=channel, ts=ts, text=args.get("text") or "", blocks=blocks,
            thread_ts=args.get("thread_ts"))
    return {"message_ts": ts}


def _chat_get_permalink(s: SlackStandIn, args: dict[str, Any]) -> dict[str, Any]:
    channel, _ = s._resolve_channel(args.get("channel"))
    ts = args.get("message_ts")
    if not ts:
        raise _missing("message_ts")
    if (channel, str(ts)) not in s.messages:
        raise _ApiError("message_not_found")
    return {
        "channel": channel,
        "permalink": f"https://{TEAM_DOMAIN}.slack.com/archives/{channel}/p{str(ts).replace('.', '')}",
    }


def _conversations_open(s: SlackStandIn, args: dict[str, Any]) -> dict[str, Any]:
    if args.get("channel"):
        channel, _ = s._resolve_channel(args["channel"])
        return {"no_op": True, "already_open": True, "channel": {"id": channel}}
    users = args.get("users")
    if isinstance(users, list):
        users = ",".join(users)
    ids = [u.strip() for u in str(users or "").split(",") if u.strip()]
    if not ids:
        raise _ApiError("users_list_not_supplied")
    for uid in ids:
        if uid not in s._users:
            raise _ApiError("user_not_found")
        if s._users[uid].deleted:
            raise _ApiError("user_disabled")
    if len(ids) == 1:
        return {"no_op": True, "already_open": True, "channel": {"id": s.dm_channel_id(ids[0])}}
    gid = "G_" + "_".join(sorted(i[1:].strip("_") for i in ids))
    s._channels.setdefault(gid, "mpdm-" + "--".join(s._users[i].name for i in sorted(ids)))
    return {"channel": {"id": gid}}


def _users_info(s: SlackStandIn, args: dict[str, Any]) -> dict[str, Any]:
    uid = args.get("user")
    if not uid:
        raise _missing("user")
    user = s._users.get(str(uid))
    if user is None:
        raise _ApiError("user_not_found")
    try:
        now = datetime.now(ZoneInfo(user.tz))
        offset = int(now.utcoffset().total_seconds())  # type: ignore[union-attr]
        abbr = now.tzname() or ""
    except (ZoneInfoNotFoundError, ValueError):  # tz=None: a user Slack has no zone for
        offset, abbr = 0, "UTC"
    profile: dict[str, Any] = {
        "real_name": user.real_name,
        "real_name_normalized": user.real_name,
        "display_name": user.name,
        "display_name_normalized": user.name,
        "team": TEAM_ID,
    }
    if user.email:
        profile["email"] = user.email
    if user.is_bot:
        profile["bot_id"] = BOT_ID if user.id == BOT_USER_ID else None
    return {
        "user": {
            "id": user.id,
            "team_id": TEAM_ID,
            "name": user.name,
            "deleted": user.deleted,
            "real_name": user.real_name,
            "tz": user.tz or None,
            "tz_label": _TZ_LABELS.get(abbr, abbr),
            "tz_offset": offset,
            "profile": _without_none(profile),
            "is_admin": False,
            "is_owner": False,
            "is_bot": user.is_bot,
            "is_app_user": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "updated": int(time.time()),
        }
    }


def _views_open(s: SlackStandIn, args: dict[str, Any]) -> dict[str, Any]:
    user_id = s._use_trigger(args.get("trigger_id"))
    vid = s._new_id("V")
    view = s._build_view(args.get("view"), view_id=vid, user_id=user_id, root=None, prev=None)
    if view["type"] != "modal":
        raise _ApiError("invalid_arguments", "[ERROR] views.open only opens modals")
    out = s._store_view(view)
    s._view_stacks[user_id] = [vid]  # opening starts a fresh modal stack
    s._emit("view_open", user_id, view=view, text=_title(view))
    return out


def _views_push(s: SlackStandIn, args: dict[str, Any]) -> dict[str, Any]:
    user_id = s._use_trigger(args.get("trigger_id"))
    stack = s._view_stacks.setdefault(user_id, [])
    if len(stack) >= MAX_VIEW_STACK:
        raise _ApiError("push_limit_reached")
    vid = s._new_id("V")
    view = s._build_view(
        args.get("view"), view_id=vid, user_id=user_id,
        root=stack[0] if stack else None, prev=stack[-1] if stack else None,
    )
    out = s._store_view(view)
    stack.append(vid)
    s._emit("view_push", user_id, view=view, text=_title(view))
    return out


def _views_update(s: SlackStandIn, args: dict[str, Any]) -> dict[str, Any]:
    vid, ext = args.get("view_id"), args.get("external_id")
    if not vid and not ext:
        raise _missing("view_id")
    old = s.views.get(str(vid)) if vid else next(
        (v for v in s.views.values() if v.get("external_id") == ext), None
    )
    if old is None:
        raise _ApiError("not_found")
    if args.get("hash") and args["hash"] != old["hash"]:
        raise _ApiError("hash_conflict")
    view = s._build_view(
        args.get("view"), view_id=old["id"], user_id=old["_user_id"],
        root=old["root_view_id"], prev=old["previous_view_id"],
    )
    if not view["external_id"]:
        view["external_id"] = old.get("external_id", "")
    out = s._store_view(view)
    kind = "home" if view["type"] == "home" else "view_update"
    s._emit(kind, old["_user_id"], view=view, text=_title(view))
    return out


def _views_publish(s: SlackStandIn, args: dict[str, Any]) -> dict[str, Any]:
    user_id = args.get("user_id")
    if not user_id:
        raise _missing("user_id")
    if user_id not in s._users:
        raise _ApiError("user_not_found")
    vid = s._home_view_ids.get(user_id) or s._new_id("V")
    old = s.views.get(vid)
    if old and args.get("hash") and args["hash"] != old["hash"]:
        raise _ApiError("hash_conflict")
    view = s._build_view(args.get("view"), view_id=vid, user_id=user_id, root=None, prev=None)
    if view["type"] != "home":
        raise _ApiError("invalid_arguments", "[ERROR] views.publish requires a view of type home")
    out = s._store_view(view)
    s._home_view_ids[user_id] = vid
    s._emit("home", user_id, view=view, text="App Home")
    return out


_HANDLERS: dict[str, Callable[[SlackStandIn, dict[str, Any]], dict[str, Any]]] = {
    "auth.test": _auth_test,
    "chat.postMessage": _chat_post_message,
    "chat.update": _chat_update,
    "chat.postEphemeral": _chat_post_ephemeral,
    "chat.getPermalink": _chat_get_permalink,
    "conversations.open": _conversations_open,
    "users.info": _users_info,
    "views.open": _views_open,
    "views.push": _views_push,
    "views.update": _views_update,
    "views.publish": _views_publish,
}


# ---------------------------------------------------------------------- utilities


async def _read_args(request: web.Request) -> dict[str, Any]:
    """Merge query string, form body and JSON body the way Slack accepts them."""
    args: dict[str, Any] = dict(request.query)
    ctype = request.content_type
    if request.can_read_body:
        if ctype == "application/json":
            raw = await request.text()
            if raw.strip():
                body = json.loads(raw)  # ValueError -> invalid_json
                if not isinstance(body, dict):
                    raise ValueError("JSON body must be an object")
                args.update(body)
        elif ctype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            for key, value in form.items():
                args[key] = value if isinstance(value, str) else getattr(value, "filename", "")
    for key in _JSON_ARGS:
        value = args.get(key)
        if isinstance(value, str):
            if not value.strip():
                args.pop(key)
                continue
            try:
                args[key] = json.loads(value)
            except ValueError:
                args[key] = _Unparseable(value)
    return args


class _Unparseable(str):
    """A JSON-string argument that did not parse; rejected by validation."""


def _validate_blocks(blocks: Any, limit: int, *, error: str = "invalid_blocks") -> list[dict[str, Any]]:
    if isinstance(blocks, _Unparseable) or not isinstance(blocks, list):
        raise _ApiError(error, "[ERROR] blocks must be a JSON array")
    if len(blocks) > limit:
        raise _ApiError(error, f"[ERROR] no more than {limit} items allowed [json-pointer:/blocks]")
    out: list[dict[str, Any]] = []
    for i, raw in enumerate(blocks):
        if not isinstance(raw, dict):
            raise _ApiError(error, f"[ERROR] block must be an object [json-pointer:/blocks/{i}]")
        try:
            parsed = Block.parse(copy.deepcopy(raw))
            if parsed is None:
                raise SlackObjectFormationError(f"unsupported block type {raw.get('type')!r}")
            parsed.validate_json()
        except (SlackObjectFormationError, TypeError, ValueError, KeyError, AttributeError) as exc:
            raise _ApiError(error, f"[ERROR] {exc} [json-pointer:/blocks/{i}]")
        block = copy.deepcopy(raw)
        # Slack fills in ids the app left out; state.values is keyed by them.
        block.setdefault("block_id", f"b{i}{secrets.token_hex(2)}")
        for el in _elements(block):
            if el.get("type") not in ("image", "plain_text", "mrkdwn") and "action_id" not in el:
                el["action_id"] = f"a{secrets.token_hex(3)}"
        out.append(block)
    seen: set[str] = set()
    for b in out:
        if b["block_id"] in seen:
            raise _ApiError(error, f"[ERROR] duplicate block_id {b['block_id']!r}")
        seen.add(b["block_id"])
    return out


def _elements(block: dict[str, Any]) -> list[dict[str, Any]]:
    """Interactive elements carried by a block."""
    if block.get("type") == "actions":
        return [e for e in block.get("elements", []) if isinstance(e, dict)]
    if block.get("type") == "input" and isinstance(block.get("element"), dict):
        return [block["element"]]
    if block.get("type") == "section" and isinstance(block.get("accessory"), dict):
        acc = block["accessory"]
        return [] if acc.get("type") == "image" else [acc]
    return []


def _public_view(view: dict[str, Any]) -> dict[str, Any]:
    """The view as Slack shows it: without the stand-in's private bookkeeping."""
    return {k: copy.deepcopy(v) for k, v in view.items() if not k.startswith("_")}


def _title(view: dict[str, Any]) -> str:
    title = view.get("title")
    if isinstance(title, dict):
        return str(title.get("text", ""))
    return str(title or "")


def _truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in ("true", "1"))


def _short(args: dict[str, Any], limit: int = 200) -> str:
    text = json.dumps(args, default=str)
    return text if len(text) <= limit else text[:limit] + "…"
