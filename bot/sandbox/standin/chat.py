"""Messages: chat.postMessage/update/postEphemeral/getPermalink and replies through response_urls."""

from __future__ import annotations

import copy
import json
import secrets
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .blocks import check_message_content
from .directory import Directory
from .wire import ApiError, missing, read_args, truthy, without_none
from .workspace import WorkspaceInfo


@dataclass
class _ResponseUrl:
    user_id: str
    channel_id: str | None
    message_ts: str | None


class Messages(Directory):
    """The messages the bot posted, keyed by (channel, ts), and the response_urls it may answer through."""

    def __init__(self, token: str, host: str, port: int) -> None:
        super().__init__(token, host, port)
        self.messages: dict[tuple[str, str], dict[str, Any]] = {}
        self.ephemeral_messages: dict[tuple[str, str], dict[str, Any]] = {}
        self._response_urls: dict[str, _ResponseUrl] = {}

    def response_url_for(
        self, user_id: str, channel_id: str | None = None, message_ts: str | None = None
    ) -> str:
        """A response_url bound to a user (and optionally the message it came from)."""
        with self._lock:
            token = secrets.token_urlsafe(16)
            self._response_urls[token] = _ResponseUrl(user_id, channel_id, message_ts)
        return f"{self.url}/respond/{token}"

    async def _handle_response_url(self, request: web.Request) -> web.StreamResponse:
        token = request.match_info["token"]
        try:
            args = await read_args(request)
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
        if truthy(args.get("delete_original")) and key in self.messages:
            del self.messages[key]  # type: ignore[arg-type]
        elif truthy(args.get("replace_original")) and key in self.messages:
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


def _bot_message(ws: WorkspaceInfo, text: Any, blocks: list[dict[str, Any]] | None, ts: str) -> dict[str, Any]:
    return {
        "type": "message",
        "text": text or "",
        "blocks": blocks or [],
        "ts": ts,
        "bot_id": ws.bot_id,
        "user": ws.bot_user_id,
        "app_id": ws.app_id,
        "team": ws.team_id,
    }


def _check_metadata(metadata: Any) -> dict[str, Any]:
    """Slack message metadata: an event_type and an event_payload object, kept with the message."""
    if not isinstance(metadata, dict):  # not JSON, or not an object
        raise ApiError("invalid_metadata_format")
    if not isinstance(metadata.get("event_type"), str) or not isinstance(metadata.get("event_payload"), dict):
        raise ApiError("invalid_metadata_schema")
    return {"event_type": metadata["event_type"], "event_payload": copy.deepcopy(metadata["event_payload"])}


def chat_post_message(s: Messages, args: dict[str, Any]) -> dict[str, Any]:
    channel, dm_user = s._resolve_channel(args.get("channel"))
    blocks = check_message_content(args)
    ts = s._next_ts()
    message = without_none(_bot_message(s._caller, args.get("text"), blocks, ts))
    thread_ts = args.get("thread_ts")
    if thread_ts:
        message["thread_ts"] = str(thread_ts)
        if args.get("reply_broadcast") in (True, "true", "1", 1):  # shown in the channel too
            message["subtype"] = "thread_broadcast"
    if args.get("attachments"):
        message["attachments"] = args["attachments"]
    if args.get("metadata"):
        message["metadata"] = _check_metadata(args["metadata"])
    s.messages[(channel, ts)] = {"channel": channel, **message}
    s._emit(
        "message", dm_user or channel, channel=channel, ts=ts,
        text=message["text"], blocks=message["blocks"], thread_ts=message.get("thread_ts"),
    )
    return {"channel": channel, "ts": ts, "message": copy.deepcopy(message)}


def chat_update(s: Messages, args: dict[str, Any]) -> dict[str, Any]:
    channel, dm_user = s._resolve_channel(args.get("channel"))
    ts = args.get("ts")
    if not ts:
        raise missing("ts")
    stored = s.messages.get((channel, str(ts)))
    if stored is None:
        raise ApiError("message_not_found")
    blocks = check_message_content(args)
    if "text" in args:
        stored["text"] = args["text"] or ""
    if blocks is not None:  # Slack keeps previous blocks unless blocks is sent
        stored["blocks"] = blocks
    if "attachments" in args:
        stored["attachments"] = args["attachments"]
    stored["edited"] = {"user": s._caller.bot_user_id, "ts": s._next_ts()}
    message = {k: v for k, v in stored.items() if k != "channel"}
    s._emit(
        "update", dm_user or channel, channel=channel, ts=str(ts),
        text=stored["text"], blocks=stored["blocks"], thread_ts=stored.get("thread_ts"),
    )
    return {"channel": channel, "ts": str(ts), "text": stored["text"], "message": copy.deepcopy(message)}


def chat_post_ephemeral(s: Messages, args: dict[str, Any]) -> dict[str, Any]:
    channel, _ = s._resolve_channel(args.get("channel"))
    user = args.get("user")
    if not user:
        raise missing("user")
    if s._visible_user(user) is None:
        raise ApiError("user_not_found")
    if s._users[user].deleted:
        raise ApiError("user_not_in_channel")
    blocks = check_message_content(args)
    ts = s._next_ts()
    s.ephemeral_messages[(channel, ts)] = {
        "channel": channel, "user_id": user,
        **without_none(_bot_message(s._caller, args.get("text"), blocks, ts)),
    }
    s._emit("ephemeral", user, channel=channel, ts=ts, text=args.get("text") or "", blocks=blocks,
            thread_ts=args.get("thread_ts"))
    return {"message_ts": ts}


def chat_get_permalink(s: Messages, args: dict[str, Any]) -> dict[str, Any]:
    channel, _ = s._resolve_channel(args.get("channel"))
    ts = args.get("message_ts")
    if not ts:
        raise missing("message_ts")
    if (channel, str(ts)) not in s.messages:
        raise ApiError("message_not_found")
    return {
        "channel": channel,
        "permalink": f"{s._caller.url}archives/{channel}/p{str(ts).replace('.', '')}",
    }
