"""How Web API arguments arrive (query, form or JSON) and how refusals go back."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

# Arguments slack_sdk may send as JSON strings (form / query encoding).
_JSON_ARGS = ("blocks", "attachments", "view", "metadata")


class ApiError(Exception):
    """Raised inside a handler to answer ``{"ok": false, "error": ...}``."""

    def __init__(self, error: str, *messages: str, **fields: Any) -> None:
        super().__init__(error)
        self.error = error
        self.messages = list(messages)
        self.fields = fields  # beside "error", as Slack adds them (missing_scope: needed, provided)


def missing(name: str) -> ApiError:
    return ApiError("invalid_arguments", f"[ERROR] missing required field: {name}")


class Unparseable(str):
    """A JSON-string argument that did not parse; rejected by validation."""


async def read_args(request: web.Request) -> dict[str, Any]:
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
                args[key] = Unparseable(value)
    return args


def without_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def truthy(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in ("true", "1"))


def short(args: dict[str, Any], limit: int = 200) -> str:
    text = json.dumps(args, default=str)
    return text if len(text) <= limit else text[:limit] + "…"
