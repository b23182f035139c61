"""conversations.open (DMs, one per user, and group DMs), conversations.history and conversations.replies."""

from __future__ import annotations

import base64
import copy
from typing import Any

from .chat import Messages
from .directory import Directory
from .wire import ApiError, missing, truthy

_DEFAULT_LIMIT = {"conversations.history": 100, "conversations.replies": 1000}
_MAX_LIMIT = 999


def conversations_open(s: Directory, args: dict[str, Any]) -> dict[str, Any]:
    if args.get("channel"):
        channel, _ = s._resolve_channel(args["channel"])
        return {"no_op": True, "already_open": True, "channel": {"id": channel}}
    users = args.get("users")
    if isinstance(users, list):
        users = ",".join(users)
    ids = [u.strip() for u in str(users or "").split(",") if u.strip()]
    if not ids:
        raise ApiError("users_list_not_supplied")
    s._require_scope("im:write" if len(ids) == 1 else "mpim:write")
    for uid in ids:
        if s._visible_user(uid) is None:  # another workspace's people are not found
            raise ApiError("user_not_found")
        if s._users[uid].deleted:
            raise ApiError("user_disabled")
    if len(ids) == 1:
        return {"no_op": True, "already_open": True, "channel": {"id": s.dm_channel_id(ids[0])}}
    gid = "G_" + "_".join(sorted(i[1:].strip("_") for i in ids))
    s._channels.setdefault(gid, "mpdm-" + "--".join(s._users[i].name for i in sorted(ids)))
    s._channel_teams.setdefault(gid, s._caller.team_id)
    return {"channel": {"id": gid}}


def conversations_history(s: Messages, args: dict[str, Any]) -> dict[str, Any]:
    """A channel's messages, newest first; thread replies are not in it (conversations.replies has them)."""
    channel = _readable_channel(s, args)
    parents = [m for (c, _), m in s.messages.items()
               if c == channel and m.get("thread_ts", m["ts"]) == m["ts"]]
    return _page(s, "conversations.history", args, sorted(parents, key=_ts, reverse=True), channel)


def conversations_replies(s: Messages, args: dict[str, Any]) -> dict[str, Any]:
    """A thread: its parent first, then the replies oldest first (a message without replies: itself)."""
    channel = _readable_channel(s, args)
    ts = args.get("ts")
    if not ts:
        raise missing("ts")
    parent = s.messages.get((channel, str(ts)))
    if parent is None:
        raise ApiError("thread_not_found")
    root = parent.get("thread_ts", parent["ts"])
    thread = [m for (c, _), m in s.messages.items() if c == channel and m.get("thread_ts", m["ts"]) == root]
    return _page(s, "conversations.replies", args, sorted(thread, key=_ts), channel)


def _readable_channel(s: Messages, args: dict[str, Any]) -> str:
    raw = args.get("channel")
    if not raw or str(raw)[0] in "UW":  # history wants a conversation id; a user id is not one
        raise ApiError("channel_not_found")
    channel, dm_user = s._resolve_channel(raw)
    if dm_user is not None:
        s._require_scope("im:history")
    elif channel.startswith("G_"):
        s._require_scope("mpim:history")
    else:
        s._require_scope("groups:history" if channel in s._private else "channels:history")
        if channel in s._outside:
            raise ApiError("not_in_channel")
    return channel


def _ts(message: dict[str, Any]) -> float:
    return float(message["ts"])


def _page(s: Messages, method: str, args: dict[str, Any], ordered: list[dict[str, Any]],
          channel: str) -> dict[str, Any]:
    """oldest/latest (exclusive unless inclusive), limit and an opaque cursor, as Slack pages them."""
    inclusive = truthy(args.get("inclusive"))
    try:
        oldest = float(args.get("oldest") or 0)
        latest = float(args["latest"]) if args.get("latest") else float("inf")
        limit = int(args.get("limit") or _DEFAULT_LIMIT[method])
    except (TypeError, ValueError):
        raise ApiError("invalid_arguments") from None
    limit = max(1, min(limit, _MAX_LIMIT))
    picked = [m for m in ordered
              if (oldest <= _ts(m) <= latest if inclusive else oldest < _ts(m) < latest)
              or (method == "conversations.replies" and m is ordered[0])]  # a thread's parent always comes first
    start = 0
    if args.get("cursor"):
        try:
            start = int(base64.b64decode(str(args["cursor"])).decode().removeprefix("next:"))
        except ValueError:
            raise ApiError("invalid_cursor") from None
    page = picked[start:start + limit]
    more = start + limit < len(picked)
    with_metadata = truthy(args.get("include_all_metadata"))
    messages = []
    for stored in page:
        message = {k: copy.deepcopy(v) for k, v in stored.items() if k != "channel"}
        if not with_metadata:
            message.pop("metadata", None)
        replies = [m for (c, _), m in s.messages.items()
                   if c == channel and m.get("thread_ts") == stored["ts"] and m["ts"] != stored["ts"]]
        if replies and method == "conversations.history":
            message.update(thread_ts=stored["ts"], reply_count=len(replies),
                           latest_reply=max(replies, key=_ts)["ts"])
        messages.append(message)
    response: dict[str, Any] = {"messages": messages, "has_more": more}
    if method == "conversations.history":
        response.update(pin_count=0, channel_actions_ts=None, channel_actions_count=0)
    response["response_metadata"] = {
        "next_cursor": base64.b64encode(f"next:{start + limit}".encode()).decode() if more else ""}
    return response
