"""auth.test: who the bot token belongs to."""

from __future__ import annotations

from typing import Any

from .core import StandInCore
from .workspace import BOT_ID, BOT_USER_ID, TEAM_DOMAIN, TEAM_ID, TEAM_NAME


def auth_test(s: StandInCore, args: dict[str, Any]) -> dict[str, Any]:
    return {
        "url": f"https://{TEAM_DOMAIN}.slack.com/",
        "team": TEAM_NAME,
        "user": "handoff",
        "team_id": TEAM_ID,
        "user_id": BOT_USER_ID,
        "bot_id": BOT_ID,
        "is_enterprise_install": False,
    }
