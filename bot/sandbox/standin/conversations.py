"""conversations.open: DMs (one per user) and group DMs."""

from __future__ import annotations

from typing import Any

from .directory import Directory
from .wire import ApiError


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
    for uid in ids:
        if uid not in s._users:
            raise ApiError("user_not_found")
        if s._users[uid].deleted:
            raise ApiError("user_disabled")
    if len(ids) == 1:
        return {"no_op": True, "already_open": True, "channel": {"id": s.dm_channel_id(ids[0])}}
    gid = "G_" + "_".join(sorted(i[1:].strip("_") for i in ids))
    s._channels.setdefault(gid, "mpdm-" + "--".join(s._users[i].name for i in sorted(ids)))
    return {"channel": {"id": gid}}
