"""The weekly SDR–sales sync: each team's agenda, claimed once per team and ISO week, then owed."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError

from bot.core.agenda import agenda_due, agenda_key, build_agenda, default_sla_deadline
from bot.core.audience import Owed, owed_for_agenda
from bot.core.teams import TeamPolicy
from bot.render.agenda import render_agenda
from bot.services.context import Context
from storage import chase as chase_store
from storage import handoffs as store
from storage.agenda import agenda_inputs
from storage.db import Database


async def post_due_agendas(ctx: Context, teams: list[TeamPolicy]) -> list[str]:
    """The keys of the agendas this call claimed (another copy of the bot may have claimed some first)."""
    now = ctx.clock.now()
    with_channel = [t for t in teams if t.channel_id]
    posted = await ctx.db.query(chase_store.agenda_posted, [agenda_key(t, now) for t in with_channel])
    claimed = []
    for team in with_channel:
        key = agenda_due(team, now, posted)
        if key is None:
            continue
        handoffs, events = await ctx.db.query(agenda_inputs, team.id, now)
        agenda = build_agenda(team, handoffs, events, now, default_sla_deadline(team))
        # Rendered now, posted as it is: the agenda is a snapshot of the week, not a live view.
        messages: list[dict[str, object]] = [{"text": m.text, "blocks": m.blocks}
                                             for m in render_agenda(team, agenda, now)]
        if await ctx.db.run(_claim, owed_for_agenda(key, team.channel_id, messages), now):
            claimed.append(key)
    return claimed


def _claim(db: Database, owed: list[Owed], now: datetime) -> bool:
    try:
        with db.write() as session:
            store.enqueue(session, owed, handoff_id=None, event_id=None, now=now)
        return True
    except IntegrityError:
        return False
