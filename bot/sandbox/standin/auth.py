"""auth.test: who the bot token belongs to; auth.revoke: it gives itself up."""

from __future__ import annotations

from typing import Any

from .directory import Directory
from .installs import Installs
from .wire import truthy, without_none


def auth_revoke(s: Installs, args: dict[str, Any]) -> dict[str, Any]:
    """The calling token revokes itself (test=true: only says it would)."""
    if not truthy(args.get("test")):
        s.revoke(s._calling_token)
    return {"revoked": True}


def auth_test(s: Directory, args: dict[str, Any]) -> dict[str, Any]:
    ws = s._caller  # the token's workspace
    return without_none({
        "url": ws.url,
        "team": ws.name,
        "user": "handoff",
        "team_id": ws.team_id,
        "user_id": ws.bot_user_id,
        "bot_id": ws.bot_id,
        "enterprise_id": ws.enterprise_id,  # only in a workspace of an Enterprise Grid org
        # An org-wide token answers as the org: its url, name and id (E…) in team and team_id.
        "is_enterprise_install": ws.org_wide,
    })
