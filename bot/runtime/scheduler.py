"""The scheduler: APScheduler 3.11 is the tick, the database is the truth.

Each tick claims what came due (reminders by handoff, kind and step; agendas by team and ISO
week) through unique keys in the outbox, so a reminder is posted at most once across restarts
and with two copies of the bot on one database. After downtime the first tick catches up what
came due, once.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from dataclasses import dataclass, field

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.core.agenda import agenda_due, agenda_key, build_agenda, default_sla_deadline
from bot.core.chase import assignment
from bot.services.context import Deps
from bot.core.handoff import Action, State, short_id
from bot.render.agenda import render_agenda
from bot.core.teams import TeamPolicy
from storage import chase as chase_store
from storage import handoffs as store
from storage.agenda import agenda_inputs
from storage.models import Handoff
from storage.teams import load_teams

log = logging.getLogger("handoff.scheduler")
SYSTEM_ACTOR = "handoff-bot"


@dataclass
class TickReport:
    examined: int = 0
    reminders: int = 0
    superseded: int = 0
    agendas: list[str] = field(default_factory=list)
    reassigned: list[int] = field(default_factory=list)


class Chaser:
    def __init__(self, deps: Deps):
        self.deps = deps

    async def tick(self) -> TickReport:
        """One pass: reminders due, auto-reassignments, weekly agendas. Safe to run anywhere, any time."""
        deps = self.deps
        now = deps.clock.now()
        teams = {t.id: t for t in await deps.db.query(load_teams)}

        def managers_of(h: Handoff, team: TeamPolicy | None) -> tuple[str, ...]:
            manager = team.manager_of(h.ae_id) if team else None
            return (manager,) if manager else ()

        result = await deps.db.run(chase_store.run_tick, now, teams, managers_of)
        report = TickReport(result.examined, result.claimed, result.superseded)
        for handoff_id, ae_id in result.reassign or []:
            if await self._reassign(handoff_id, ae_id, teams):
                report.reassigned.append(handoff_id)
        report.agendas = await self._agendas(list(teams.values()))
        if report.reminders or report.agendas or report.reassigned:
            log.info("tick: %d reminders, %d agendas, %d reassigned", report.reminders, len(report.agendas),
                     len(report.reassigned))
        deps.deliverer.kick()
        return report

    async def _reassign(self, handoff_id: int, ae_id: str, teams: dict[str, TeamPolicy]) -> bool:
        deps = self.deps
        handoff = await deps.db.run(store.get_handoff, handoff_id)
        if handoff is None or handoff.state != State.PENDING:
            return False
        team = teams.get(handoff.team_id or "")
        facts = store.facts_of(handoff)
        ae_tz = await deps.directory.tz(ae_id, team.tz if team else None)
        changes = {"ae_id": ae_id, **assignment(team, ae_tz=ae_tz, at=deps.clock.now(),
                                                 meeting_start=handoff.meeting_start,
                                                 meeting_kind=handoff.meeting_kind)}
        updated = await deps.db.run(
            store.apply_action, facts, Action.REASSIGN, actor=SYSTEM_ACTOR, to_state=State.PENDING,
            now=deps.clock.now(), changes=changes, reason="not accepted in time: reassigned to the next AE in turn",
            detail={"from_ae": facts.ae_id, "to_ae": ae_id}, channel=team.channel_id if team else None,
        )
        if updated:
            log.info("%s reassigned from %s to %s after escalation", short_id(handoff_id), facts.ae_id, ae_id)
        return updated is not None

    async def _agendas(self, teams: list[TeamPolicy]) -> list[str]:
        deps = self.deps
        now = deps.clock.now()
        with_channel = [t for t in teams if t.channel_id]
        posted = await deps.db.query(chase_store.agenda_posted, [agenda_key(t, now) for t in with_channel])
        claimed = []
        for team in with_channel:
            key = agenda_due(team, now, posted)
            if key is None:
                continue
            handoffs, events = await deps.db.query(agenda_inputs, team.id, now)
            agenda = build_agenda(team, handoffs, events, now, default_sla_deadline(team))
            messages = [{"text": m.text, "blocks": m.blocks} for m in render_agenda(team, agenda, now)]
            if await deps.db.run(chase_store.enqueue_agenda, key, team.channel_id, messages, now):
                claimed.append(key)
        return claimed


class Ticker:
    """Runs the chaser every `seconds` in the bot's event loop; one tick at a time, missed ticks coalesced."""

    def __init__(self, chaser: Chaser, seconds: float):
        self._chaser = chaser
        self._seconds = seconds
        self._scheduler: AsyncIOScheduler | None = None

    def start(self) -> None:
        if self._seconds <= 0:
            return
        self._scheduler = AsyncIOScheduler(timezone="UTC")
        # The first tick runs at once: what came due while the bot was down is caught up, once.
        self._scheduler.add_job(self._run, IntervalTrigger(seconds=self._seconds), id="chase", max_instances=1,
                                coalesce=True, misfire_grace_time=None, next_run_time=datetime.now(timezone.utc))
        self._scheduler.start()

    async def _run(self) -> None:
        try:
            await self._chaser.tick()
        except Exception:  # the next tick tries again; the database keeps what is owed
            log.exception("scheduler tick failed")

    def shutdown(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
