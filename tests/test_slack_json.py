"""Slack's answers are decoded by orjson (bot.runtime.slack_json): every answer must read as the json module
(aiohttp's default) reads it, through slack_sdk's client too: the same data, or the same error."""
from __future__ import annotations

import asyncio
import json
import math
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import aiohttp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.runtime import slack_json

# JSON as Slack writes it, odd corners included: any text (escaped or raw), 64-bit integers, finite floats.
SCALARS = (st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text())
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=5)
                      | st.dictionaries(st.text(), inner, max_size=5), max_leaves=40)


def json_reads(text: str) -> object:
    try:
        return ("ok", json.loads(text))
    except json.JSONDecodeError as error:
        return ("error", str(error))


def decode_reads(text: str) -> object:
    try:
        return ("ok", slack_json.decode(text))
    except json.JSONDecodeError as error:  # orjson's error is one too; slack_sdk catches this class
        return ("error", str(error))


def same(a: object, b: object) -> bool:
    """Equal, NaN included (NaN != NaN), floats by their bits (-0.0 and 0.0 differ)."""
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and math.copysign(1, a) == math.copysign(1, b))
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@settings(max_examples=1500, derandomize=True)
@given(VALUES, st.booleans(), st.sampled_from([None, 2]))
def test_any_json_value_decodes_as_the_json_module_decodes_it(value: Any, ascii_only: bool, indent: int | None) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only, indent=indent)
    assert same(decode_reads(text), json_reads(text))


@settings(max_examples=1000, derandomize=True)
@given(st.lists(st.sampled_from(['{', '}', '[', ']', '"', ',', ':', '1', '-', '.', 'e', 'NaN', 'Infinity', 'true',
                                 'nul', ' ', '\\', '\\u', 'd800', '\\ud800', 'é', '"a"']), max_size=16).map("".join))
def test_any_text_decodes_or_fails_as_the_json_module_would(text: str) -> None:
    # What orjson refuses goes to json: its value or json's own error message.
    assert same(decode_reads(text), json_reads(text))


@pytest.mark.parametrize("text", ['[NaN, Infinity, -Infinity]', '{"a": 1e400}', '"\\ud800"', '{"a": 1, "a": 2}'])
def test_what_orjson_refuses_or_reads_otherwise_reads_as_json_reads_it(text: str) -> None:
    assert same(decode_reads(text), json_reads(text))


class _Canned(BaseHTTPRequestHandler):
    body = b""
    content_type = "application/json"
    status = 200

    def do_POST(self) -> None:  # noqa: N802 (http.server API)
        self.rfile.read(int(self.headers["Content-Length"] or 0))
        self.send_response(self.status)
        self.send_header("Content-Type", self.content_type)
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def canned() -> Iterator[type[_Canned]]:
    handler = type("Handler", (_Canned,), {})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    handler.url = f"http://127.0.0.1:{server.server_address[1]}/api/"  # type: ignore[attr-defined]
    yield handler
    server.shutdown()
    server.server_close()


async def _call(url: str, response_class: type[aiohttp.ClientResponse]) -> object:
    async with aiohttp.ClientSession(response_class=response_class) as session:
        client = AsyncWebClient(token="xoxb-test", base_url=url, session=session)
        try:
            response = await client.api_call("chat.postMessage", json={"channel": "C1", "text": "hi"})
            return ("ok", response.status_code, response.data)
        except SlackApiError as error:
            # A body that is not JSON: slack_sdk's error carries aiohttp's response, not its own.
            response = error.response
            return ("SlackApiError", str(error).split("\n")[0], getattr(response, "status_code", None),
                    getattr(response, "status", None), getattr(response, "data", None))


@pytest.mark.parametrize("status, content_type, body", [
    (200, "application/json", '{"ok": true, "channel": "C1", "ts": "1.2", "message": {"text": "h\\u00e9 é 😀"}}'),
    (200, "application/json; charset=utf-8", '{"ok": false, "error": "channel_not_found"}'),
    (200, "application/json", '{"ok": true, "n": NaN}'),
    (502, "application/json", "<html>Bad Gateway</html>"),  # a proxy's error page, labelled JSON
    (503, "text/html", "<html>Service Unavailable</html>"),
    (200, "application/json", ""),
    (429, "application/json", '{"ok": false, "error": "ratelimited"}'),
])
def test_slack_sdk_reads_each_answer_as_with_aiohttps_own_decoder(canned, status, content_type, body) -> None:
    canned.status, canned.content_type, canned.body = status, content_type, body.encode()
    ours = asyncio.run(_call(canned.url, slack_json.OrjsonResponse))
    theirs = asyncio.run(_call(canned.url, aiohttp.ClientResponse))
    assert same(ours, theirs), (ours, theirs)
