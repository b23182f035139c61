"""Small text helpers shared by the views: escaping, truncation, local times."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.core.slack_ids import is_user

SECTION_TEXT_MAX = 3000
FIELD_TEXT_MAX = 2000
HEADER_MAX = 150
MESSAGE_TEXT_MAX = 3000  # the notification fallback; Slack allows more, people read less


@dataclass(frozen=True)
class Message:
    text: str
    blocks: list[dict] = field(default_factory=list)
    reply_broadcast: bool = False  # a thread reply the whole channel should see too (escalations)


def escape(text: str | None) -> str:
    """User text inside mrkdwn: no mentions, links or broadcasts smuggled in."""
    return (text or "").replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def local_time(at: datetime | None, tz: str) -> str:
    """The time in `tz`, its zone as clocks name it ("CET"): a date token's fallback, or plain text where
    tokens do not render (an input's error, a log)."""
    if at is None:
        return "not set"
    return at.astimezone(ZoneInfo(tz)).strftime("%a %d %b %Y, %H:%M %Z")


def date_token(at: datetime | None, tz: str, form: str = "{date_short_pretty} at {time}") -> str:
    """A time each reader's Slack shows in their own zone; the fallback (old clients, notifications
    that do not format) is the time in `tz`, the reader's zone as far as the bot knows it."""
    if at is None:
        return "not set"
    return f"<!date^{int(at.timestamp())}^{form}|{local_time(at, tz)}>"


def mention(user_id: str | None) -> str:
    """A Slack mention; the bot's own actions (auto-reassign) are named, not mentioned."""
    if not user_id:
        return "someone"
    if user_id[:1] not in "UW":
        return "Handoff (automatically)"
    # An id that is not of Slack's shape (stored before ids were checked) is shown, never parsed as markup.
    return f"<@{user_id}>" if is_user(user_id) else escape(user_id)
