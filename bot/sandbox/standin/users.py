"""users.info: a user's profile and time zone, in Slack's shape."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .directory import Directory
from .wire import ApiError, missing, without_none

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


def users_info(s: Directory, args: dict[str, Any]) -> dict[str, Any]:
    uid = args.get("user")
    if not uid:
        raise missing("user")
    user = s._visible_user(uid)
    if user is None:  # unknown, or in another workspace
        raise ApiError("user_not_found")
    ws = s._caller
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
        "team": user.team_id,
    }
    if user.email:
        profile["email"] = user.email
    if user.is_bot:
        profile["bot_id"] = ws.bot_id if user.id == ws.bot_user_id else None
    home = s._workspaces.get(user.team_id)
    grid = {}  # a user of an Enterprise Grid org: Slack says which org, and which of its workspaces
    if home is not None and home.enterprise_id is not None:
        grid["enterprise_user"] = {"id": user.id, "enterprise_id": home.enterprise_id,
                                   "enterprise_name": home.enterprise_name or home.enterprise_id,
                                   "is_admin": False, "is_owner": False, "teams": [user.team_id]}
    return {
        "user": {
            **grid,
            "id": user.id,
            "team_id": user.team_id,  # the caller's own, or (an org-wide token) the user's workspace in the org
            "name": user.name,
            "deleted": user.deleted,
            "real_name": user.real_name,
            "tz": user.tz or None,
            "tz_label": _TZ_LABELS.get(abbr, abbr),
            "tz_offset": offset,
            "profile": without_none(profile),
            "is_admin": False,
            "is_owner": False,
            "is_bot": user.is_bot,
            "is_app_user": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "updated": int(time.time()),
        }
    }
