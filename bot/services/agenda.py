"""The weekly SDR–sales sync: each team's agenda, claimed once per team and sync week, then owed.

The rules of when (the team's slot, moved past holidays, caught up only the same working day) are in
bot.core.agenda; this claims the week's key in the outbox, so a week is decided once across restarts
and copies of the bot: posted, skipped because it was empty (the team chose `skip`), or missed.
"""
from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError

from bot.core.agenda import (
    AgendaSlot,
    agenda_due_slot,
    agenda_missed,
    agenda_slots,
    build_agenda,
    default_sla_deadline,
    nothing_to_align,
)
from bot.core.audience import Owed, owed_for_agenda
from bot.core.teams import TeamPolicy
from bot.render.agenda import render_agenda, render_nothing_to_align
from bot.services.context import Context
from storage import chase as chase_store
from storage import handoffs as store
from storage.agenda import agenda_inputs
from storage.db import Database

log = logging.getLogger("handoff.agenda")


async def post_due_agendas(ctx: Context, teams: list[TeamPolicy]) -> list[str]:
    """The keys of the agendas this call claimed and owes a post for (another copy of the bot may have
    claimed some first). Weeks skipped (empty, or their slot missed) are claimed too, and logged once."""
    now = ctx.clock.now()
    with_channel = [t for t in teams if t.channel_id]
    claimed = await ctx.db.query(chase_store.agenda_posted, [k for t in with_channel for k in agenda_slots(t, now)])
    posted = []
    for team in with_channel:
        if (missed := agenda_missed(team, now, claimed)) is not None:
            if await ctx.db.run(_claim, [_skipped(team, missed)], now):
                log.warning("agenda %s not posted: its slot (%s) passed with the bot not running (or before the "
                            "team existed); an agenda is caught up only the same working day", missed.key,
                            _window(team, missed))
        slot = agenda_due_slot(team, now, claimed)
        if slot is None:
            continue
        handoffs, events = await ctx.db.query(agenda_inputs, team.id, now)
        agenda = build_agenda(team, handoffs, events, now, default_sla_deadline(team))
        if nothing_to_align(agenda) and team.empty_agenda == "skip":
            if await ctx.db.run(_claim, [_skipped(team, slot)], now):
                log.info("agenda %s skipped: nothing to align on, and the team chose skip", slot.key)
            continue
        # Rendered now, posted as it is: the agenda is a snapshot of the week, not a live view.
        messages = (render_nothing_to_align(team, slot.week) if nothing_to_align(agenda)
                    else render_agenda(team, agenda, now, week=slot.week))
        payloads: list[dict[str, object]] = [{"text": m.text, "blocks": m.blocks} for m in messages]
        if await ctx.db.run(_claim, owed_for_agenda(slot.key, team.channel_id, payloads), now):
            posted.append(slot.key)
    return posted


def _skipped(team: TeamPolicy, slot: AgendaSlot) -> Owed:
    """The week's claim with nothing to post: the outbox never sends a superseded row."""
    return Owed(team.channel_id, "post", "snapshot", f"{slot.key}:0", f"{slot.key}:0", status="superseded")


def _window(team: TeamPolicy, slot: AgendaSlot) -> str:
    zone = ZoneInfo(team.tz)
    opens, closes = slot.opens.astimezone(zone), slot.closes.astimezone(zone)
    moved = f", moved from {slot.moved_from:%a %d %b}, a holiday or day off" if slot.moved_from else ""
    return f"{opens:%a %d %b %H:%M}–{closes:%H:%M} {team.tz}{moved}"


def _claim(db: Database, owed: list[Owed], now: datetime) -> bool:
    try:
        with db.write() as session:
            store.enqueue(session, owed, handoff_id=None, event_id=None, now=now)
        return True
    except IntegrityError:
        return False
