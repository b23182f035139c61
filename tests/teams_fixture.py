"""Teams for the scheduler's tests: who is in them, their working time, and helpers to read what was posted.

Everyone here is a real member of a real team stored through `storage.teams.replace_teams`; the
stand-in knows them with their own time zones, so SLAs count in the AE's zone as in production.
"""
from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot.sandbox import RecordedCall, SlackStandIn
from bot.sandbox.local_bot import LocalBot
from bot.core.teams import Member, TeamPolicy
from storage import teams as team_store
from storage.models import OutboxMessage

NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
UTC = timezone.utc

# AMER: New York
SDR, AE, AE2, MANAGER, STRANGER = "U_NSDR", "U_NAE1", "U_NAE2", "U_NMGR", "U_NOBODY"
AMER_CHANNEL = "C_AMER"
# EMEA: Berlin
EU_SDR, EU_AE, EU_MANAGER = "U_BSDR", "U_BAE1", "U_BMGR"
EMEA_CHANNEL = "C_EMEA"

AMER = TeamPolicy(
    id="amer", name="AMER Mid-Market", region="AMER", channel_id=AMER_CHANNEL, tz="America/New_York",
    day_start=time(9, 0), day_end=time(17, 0), holiday_country="US",
    sync_weekday=0, sync_time=time(10, 0),
    sla_hours=8.0, sla_from="submission", heads_up_fraction=0.75, escalate_after_hours=4.0,
    outcome_after_hours=2.0, min_notice_hours=0,
    members=(
        Member(SDR, "sdr", manager_id=MANAGER, paired_ae_id=AE),
        Member(AE, "ae", manager_id=MANAGER),
        Member(AE2, "ae", manager_id=MANAGER),
        Member(MANAGER, "manager"),
    ),
)
EMEA = TeamPolicy(
    id="emea", name="EMEA", region="EMEA", channel_id=EMEA_CHANNEL, tz="Europe/Berlin",
    day_start=time(9, 0), day_end=time(17, 0), holiday_country="DE",
    sync_weekday=0, sync_time=time(9, 30),
    sla_hours=8.0, sla_from="submission", heads_up_fraction=0.75, escalate_after_hours=4.0,
    min_notice_hours=0,
    members=(
        Member(EU_SDR, "sdr", manager_id=EU_MANAGER),
        Member(EU_AE, "ae", manager_id=EU_MANAGER),
        Member(EU_MANAGER, "manager"),
    ),
)


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NY).astimezone(UTC)


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN).astimezone(UTC)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def add_people(standin: SlackStandIn) -> None:
    for user_id, name, tz in [
        (SDR, "nina", "America/New_York"), (AE, "noah", "America/New_York"), (AE2, "nora", "America/New_York"),
        (MANAGER, "ned", "America/New_York"), (STRANGER, "nobody", "America/New_York"),
        (EU_SDR, "berta", "Europe/Berlin"), (EU_AE, "bernd", "Europe/Berlin"), (EU_MANAGER, "bruno", "Europe/Berlin"),
    ]:
        standin.add_user(user_id, name, tz=tz)
    standin.add_channel(AMER_CHANNEL, "amer-sales")
    standin.add_channel(EMEA_CHANNEL, "emea-sales")


def install(bot: LocalBot, standin: SlackStandIn, *teams: TeamPolicy, **changes: Any) -> tuple[TeamPolicy, ...]:
    """Store the teams (each with `changes` applied) through the real store, before anyone submits."""
    add_people(standin)
    stored = tuple(replace(t, **changes) for t in teams)
    assert bot.clock is not None
    team_store.replace_teams(bot.db, stored, bot.clock.now())
    return stored


# ---------------------------------------------------------------- driving the bot


def tick(bot: LocalBot):
    """One scheduler pass at the clock's time, then one delivery pass: what came due is in the stand-in."""
    report = bot.call(bot.wiring.chaser.tick())
    bot.call(bot.wiring.background.drain())
    bot.call(bot.wiring.deliverer.deliver_due())
    return report


def tick_at(bot: LocalBot, when: datetime):
    assert bot.clock is not None
    bot.clock.set(when)  # type: ignore[attr-defined]
    return tick(bot)


def settle(bot: LocalBot) -> None:
    bot.call(bot.wiring.background.drain())
    bot.call(bot.wiring.deliverer.deliver_due())


# ---------------------------------------------------------------- reading what Slack saw


def posts(standin: SlackStandIn, channel: str | None = None, *, ok: bool = True) -> list[RecordedCall]:
    return [c for c in standin.calls_to("chat.postMessage")
            if (channel is None or c.args.get("channel") == channel) and (c.ok or not ok)]


def texts(calls: list[RecordedCall]) -> list[str]:
    return [c.args.get("text") or "" for c in calls]


def reminders_to(standin: SlackStandIn, channel: str, marker: str) -> list[RecordedCall]:
    """Successful posts to `channel` whose text starts with the reminder's emoji (⏰ 🔴 🚨 📝 📅 ❓ ⌛)."""
    return [c for c in posts(standin, channel) if (c.args.get("text") or "").startswith(marker)]


def shown(text: str) -> str:
    """Text as a reader in the recipient's zone sees it: each Slack date token as its fallback."""
    return re.sub(r"<!date\^\d+\^[^|>]*\|([^>]*)>", r"\1", text)


def action_ids(call: RecordedCall) -> list[str]:
    blocks = call.args.get("blocks")
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    return [e.get("action_id") for b in blocks or [] for e in b.get("elements", []) if e.get("action_id")]


def blocks_of(call: RecordedCall) -> list[dict]:
    blocks = call.args.get("blocks")
    return json.loads(blocks) if isinstance(blocks, str) else list(blocks or [])


def where(call: RecordedCall) -> tuple[str, str]:
    return call.response["channel"], call.response["ts"]


def outbox_rows(bot: LocalBot, **filters: Any) -> list[OutboxMessage]:
    with bot.db.read() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        for name, value in filters.items():
            query = query.where(getattr(OutboxMessage, name) == value)
        return list(session.exec(query).all())


def later(**kwargs: float) -> timedelta:
    return timedelta(**kwargs)
