"""The front door of `POST /slack/events`: what a request must be before Bolt reads it.

Bolt parses a body before it checks the signature, and a body it cannot parse (bad JSON in
`payload=`, non-UTF-8, a JSON list) raises out of it as a 500. Here the order is the safe one:
size first (413), then the signature on the raw bytes (401, whatever the body holds), then the
shape (400), and only then Bolt. Anything a signed body still breaks inside Bolt is one log
line and a 400, never a 500 and never a traceback.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import time
import urllib.parse
from typing import Any

import yarl
from slack_bolt.adapter.starlette.async_handler import to_starlette_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from bot.runtime import slack_json
from bot.runtime.metrics import request_kind

log = logging.getLogger("handoff.intake")

# Slack's own payloads stay far below this (a full modal's state is tens of kilobytes).
MAX_BODY_BYTES = 1_000_000
MAX_CLOCK_SKEW = 60 * 5  # seconds, as Slack and Bolt allow: an older signature may be a replay


class TooLarge(Exception):
    pass


async def read_capped(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The body, refusing it as soon as it passes `limit` (a lying Content-Length included)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge()
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge()
        chunks.append(chunk)
    return b"".join(chunks)


def _ssl_check(body: bytes) -> bool:
    """Slack's certificate probe (`ssl_check=1&token=…`): answered 200 as Bolt would, signed or not; it
    carries nothing and runs nothing."""
    if not body.startswith(b"ssl_check=") and b"&ssl_check=" not in body:
        return False  # every other request: no second parse of a whole form body (Bolt parses it once)
    try:
        fields = urllib.parse.parse_qs(body.decode("ascii"), strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        return False
    return fields.get("ssl_check") == ["1"] and set(fields) <= {"ssl_check", "token"}


def _form_body(text: str, content_type: str) -> dict[str, Any] | None:
    """A form-encoded body as Bolt's parse_body reads it (`payload`'s JSON when the body has a payload field,
    else the fields; the last of a repeated field), None for a JSON body (Bolt parses that itself).

    The unquoting is yarl's (in C: aiohttp's own URL library), not urllib's pure-Python parse_qsl: a
    view_submission carries the whole view, ~20 kB percent-encoded, and parse_qsl took ~2 ms of event-loop
    time on each (bench/ack_latency.py), yarl ~0.3 ms. Both read every form alike (tests/test_intake_parse.py).
    The payload's JSON (that whole view again) is decoded by orjson, read as Bolt's json.loads reads it
    (bot.runtime.slack_json): the json module's decoding was the largest single cost of a submission's ack."""
    if not text or content_type.split(";")[0].strip() == "application/json" or text.startswith("{"):
        return None
    fields = dict(yarl.URL.build(query_string=text, encoded=True).query.items())
    # Bolt reads any body that merely says "payload" (a slash command's text, say) as empty; only a field is one.
    return slack_json.decode(fields["payload"]) if "payload" in fields else fields


class FrontDoor:
    def __init__(self, app: AsyncApp, signing_secret: str, *, max_body_bytes: int = MAX_BODY_BYTES):
        self.app = app
        self.secret = signing_secret.encode()
        self.max_body_bytes = max_body_bytes

    def _signed(self, request: Request, body: bytes) -> bool:
        """Slack's v0 signature over the raw bytes (slack_sdk's verifier decodes them first, so a signed
        body that is not UTF-8 would read as unsigned)."""
        timestamp = request.headers.get("x-slack-request-timestamp", "")
        signature = request.headers.get("x-slack-signature", "")
        if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
            return False
        if abs(time.time() - int(timestamp)) > MAX_CLOCK_SKEW:
            return False
        expected = hmac.new(self.secret, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
        return hmac.compare_digest("v0=" + expected, signature)

    async def handle(self, request: Request) -> Response:
        try:
            body = await read_capped(request, self.max_body_bytes)
        except TooLarge:
            return PlainTextResponse("request body too large", status_code=413)
        if _ssl_check(body):
            request.state.slack_kind = "other"
            return Response(status_code=200)
        if not self._signed(request, body):
            return PlainTextResponse("invalid request", status_code=401)
        try:
            text = body.decode("utf-8")
            form = _form_body(text, request.headers.get("content-type", ""))
            if form is None:  # JSON (the Events API): Bolt's own json.loads
                bolt_request = AsyncBoltRequest(body=text, query=request.query_params,  # type: ignore[arg-type]
                                                headers=request.headers)  # type: ignore[arg-type]
            else:
                # Bolt takes a parsed body only in its "socket_mode", which differs from "http" in one thing:
                # Bolt's own signature check is skipped. It is off here anyway (bot.runtime.app): every
                # request has passed _signed above.
                bolt_request = AsyncBoltRequest(body=form, query=request.query_params,  # type: ignore[arg-type]
                                                headers=request.headers, mode="socket_mode")  # type: ignore[arg-type]
        except Exception as error:  # not UTF-8, bad JSON, or JSON Bolt's context reading cannot walk
            return _bad("an unreadable body", error)
        if not isinstance(bolt_request.body, dict) or not bolt_request.body:
            return _bad("a body that is not a Slack payload", None)
        request.state.slack_kind = request_kind(bolt_request.body)  # for /metrics
        try:
            return to_starlette_response(await self.app.async_dispatch(bolt_request))
        except Exception as error:  # a shape Slack never sends that broke Bolt's own reading of it
            return _bad(f"a {str(bolt_request.body.get('type'))[:40]!r} payload Bolt could not read", error)


def _bad(what: str, error: BaseException | None) -> Response:
    log.warning("refused %s (%s)", what, type(error).__name__ if error else "no fields")
    return PlainTextResponse("bad request", status_code=400)
