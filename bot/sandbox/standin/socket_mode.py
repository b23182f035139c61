"""Socket Mode: apps.connections.open, the websocket, the envelopes pushed to the app and its acks."""

from __future__ import annotations

import asyncio
import copy
import json
import secrets
import threading
import time
import uuid
from typing import Any

from aiohttp import web

from .core import StandInCore
from .workspace import APP_ID


class SocketMode(StandInCore):
    """Plays Slack's side of Socket Mode on the stand-in's own server (``/socket/<connection id>``)."""

    app_token: str | None  # the app-level token apps.connections.open accepts; set by SlackStandIn

    def __init__(self, token: str, host: str, port: int) -> None:
        super().__init__(token, host, port)
        self._socket_cond = threading.Condition(self._lock)
        self._socket_tickets: set[str] = set()
        self._sockets: dict[str, web.WebSocketResponse] = {}  # connection id -> open websocket
        self._socket_order: list[str] = []  # open connection ids, oldest first
        self.socket_connects = 0  # websocket connections ever accepted (reconnects count)
        self.socket_envelopes: dict[str, dict[str, Any]] = {}  # envelope_id -> envelope sent
        self.socket_acks: dict[str, dict[str, Any]] = {}  # envelope_id -> the app's ack
        self.socket_received: list[dict[str, Any]] = []  # every text frame the app sent, parsed

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
