"""JSON to and from the Slack Web API, by orjson (C) rather than the json module: a views.open carries the
whole form (~10 kB) and Slack echoes it back; every post carries its blocks and Slack echoes the message."""
from __future__ import annotations

import json
from typing import Any

import aiohttp
import orjson


def encode_text(value: Any) -> str:
    """A request body (aiohttp's json_serialize): ~0.03 ms for a form, ~0.4 ms with the json module."""
    return orjson.dumps(value).decode()


def decode(text: str) -> Any:
    """A response body, read as the json module reads it. What orjson refuses and json takes (NaN, Infinity,
    a lone surrogate) goes to json, which also raises json's own error for what neither reads. One difference
    is left: an integer beyond 64 bits comes back as a float (Slack sends ids and timestamps as strings)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


class OrjsonResponse(aiohttp.ClientResponse):
    """aiohttp's response (the session's documented response_class) whose json() decodes with `decode`:
    slack_sdk calls `json()` on every Web API answer without naming a decoder."""

    async def json(self, *, encoding: str | None = None, loads: Any = decode,
                   content_type: str | None = "application/json") -> Any:
        return await super().json(encoding=encoding, loads=loads, content_type=content_type)
