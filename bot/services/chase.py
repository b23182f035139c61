"""The scheduler's job: what came due is claimed once and owed, in one transaction per tick.

Each reminder is claimed through its unique key in the outbox (handoff, revision or meeting, step;
team and ISO week for agendas), in the same transaction that owes its messages, so it is posted
at most once across restarts and with two copies of the bot on one database. An escalation that
reassigns goes through the same path as a person's Reassign.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from bot.core.audience import Owed, owed_for_reminder, reminder_keys
from bot.core.chase import ChaseFacts, ChasePlan, Reminder, plan_chase
from bot.core.handoff import Handoff, Person, short_id
from bot.core.lifecycle import SYSTEM_ACTOR, Reassign
from bot.core.teams import TeamPolicy
from bot.services.agenda import post_due_agendas
from bot.services.context import Context
from bot.services.handoffs import Handoffs
from storage import chase as chase_store
from storage import heartbeat
from storage.db import Database
from storage.teams import load_teams

log = logging.getLogger("handoff.scheduler")
TICK_LIMIT = 1000  # handoffs a tick looks at; the rest wait for the next tick
TICK_BATCH = 100  # handoffs a transaction
LINES_PER_REMINDER_UP_TO = 20  # past it, one log line per kind of reminder
NAMED_PER_LINE = 50
REASSIGN_NOTE = "not accepted in time: reassigned to the next AE in turn"


@dataclass(frozen=True)
class Reassignment:
    handoff_id: int
    revision: int  # the revision the escalation was about: if a person moved it since, it stays theirs
    to_ae: str


@dataclass
class TickResult:
    examined: int = 0
    claimed: int = 0  # messages
    superseded: int = 0  # earlier steps passed over by a step claimed (after downtime)
    reassign: list[Reassignment] = field(default_factory=list)
    owed: list[tuple[int, str]] = field(default_factory=list)  # (handoff, kind) of each reminder owed, to log

    def add(self, other: TickResult) -> None:
        self.examined += other.examined
        self.claimed += other.claimed
        self.superseded += other.superseded
        self.reassign += other.reassign
        self.owed += other.owed


@dataclass
class TickReport:
    examined: int = 0
    reminders: int = 0
    superseded: int = 0
    agendas: list[str] = field(default_factory=list)
    reassigned: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class _Owing:
    """A due step, its messages, and the keys of the other steps of its ladder."""

    handoff: ChaseFacts
    reminder: Reminder
    messages: list[Owed]
    ahead: list[str]  # the later steps' messages
    passed_over: list[list[str]]  # each earlier step's messages


def claim_due_reminders(db: Database, now: datetime, teams: dict[str, TeamPolicy],
                        limit: int = TICK_LIMIT) -> TickResult:
    """Claim and owe every reminder due at `now` among the handoffs whose next check has come.

    Cost grows with what is due, not with what is stored: an index finds the candidates, and the
    claims and next checks are written in a few set-wise statements.
    """
    result = TickResult()
    with db.write() as session:
        facts = chase_store.due_for_check(session, now, limit)
        result.examined = len(facts)
        plans: list[tuple[ChaseFacts, ChasePlan]] = []
        owed: list[_Owing] = []
        managers: dict[tuple[str, str], tuple[str, ...]] = {}
        for h in facts:
            team = teams.get(h.team_id or "")
            key = (h.team_id or "", h.ae_id)
            if key not in managers:
                manager = team.manager_of(h.ae_id) if team else None
                managers[key] = (manager,) if manager else ()
            try:
                plan = plan_chase(h, team, now, managers[key])
            except (ValueError, OverflowError) as error:
                # A record the rules cannot plan (a date from before dates were bounded) must not wedge
                # every tick behind it: it is set aside, loudly, until it changes.
                log.error("%s cannot be chased and is set aside until it changes: %s", short_id(h.id), error)
                plan = ChasePlan()
            plans.append((h, plan))
            channel = team.channel_id if team else None
            for r in plan.due:
                owed.append(_Owing(h, r, owed_for_reminder(h.id, h.revision, h.ae_id, r, channel=channel),
                                   [k for step in plan.ahead.get(r.key, ()) for k in reminder_keys(step)],
                                   [reminder_keys(step) for step in plan.passed_over.get(r.key, ())]))
        # The other steps of the due ones' ladders: a later one claimed already means the ladder went past this
        # step (it is not posted); an earlier one never claimed is reported as passed over.
        held = chase_store.held(session, [k for o in owed for k in o.ahead] +
                                [k for o in owed for keys in o.passed_over for k in keys])
        owed = [o for o in owed if not any(k in held for k in o.ahead)]
        # One claim for all: a key the outbox holds already (claimed on an earlier tick) is skipped.
        fresh = chase_store.claim(session, [(o.handoff.id, m) for o in owed for m in o.messages], now)
        reassign_to = {h.id: plan.reassign_to for h, plan in plans if plan.reassign_to}
        for o in owed:
            h, r = o.handoff, o.reminder
            mine = [m for m in o.messages if m.dedupe_key is None or m.dedupe_key in fresh]
            fresh.difference_update(m.dedupe_key for m in mine)  # a key owed twice in one tick counts once
            if not mine:
                continue
            result.owed.append((h.id, r.kind))  # one line per reminder owed (not per message it makes)
            result.claimed += len(mine)
            result.superseded += sum(not any(k in held for k in keys) for keys in o.passed_over)
            if r.kind == "escalation" and h.id in reassign_to:  # whoever claims the escalation, reassigns
                result.reassign.append(Reassignment(h.id, h.revision, reassign_to[h.id]))
        chase_store.set_next_checks(session, [(h.id, plan.next_check_at) for h, plan in plans])
    return result


def claim_due_batches(db: Database, now: datetime, teams: dict[str, TeamPolicy],
                      limit: int) -> tuple[TickResult, bool]:
    """claim_due_reminders for up to `limit` handoffs, TICK_BATCH a transaction, on the database thread; it
    goes on to the next batch there unless a write waits for the thread (a hop back to the event loop and
    out again for every batch cost more than the batch's statements). Each batch moves its handoffs' next
    checks past `now`, so the next one reads the following handoffs due. Whether more may be due."""
    total = TickResult()
    while total.examined < limit:
        size = min(TICK_BATCH, limit - total.examined)
        batch = claim_due_reminders(db, now, teams, size)
        total.add(batch)
        if batch.examined < size:
            return total, False
        if db.writer_wanted():
            break
    return total, total.examined < limit


def log_owed(owed: list[tuple[int, str]]) -> None:
    """One line per reminder owed; a tick catching up after downtime owes hundreds at once, and says so in
    one line per kind (a thousand lines cost the tick more than planning them): the first handoffs named in
    the text, every one in its `handoff_ids` (a JSON line stays under the 16 KB a container's log splits at)."""
    if len(owed) <= LINES_PER_REMINDER_UP_TO:
        for handoff_id, kind in owed:
            log.info("%s %s owed", short_id(handoff_id), kind.replace("_", " "),
                     extra={"handoff_id": handoff_id, "reminder": kind})
        return
    by_kind: dict[str, list[int]] = {}
    for handoff_id, kind in owed:
        by_kind.setdefault(kind, []).append(handoff_id)
    for kind, ids in by_kind.items():
        ids.sort()  # the due read's order ties on equal next checks, and differs between databases
        named = ", ".join(map(short_id, ids[:NAMED_PER_LINE])) + (
            f" and {len(ids) - NAMED_PER_LINE} more" if len(ids) > NAMED_PER_LINE else "")
        log.info("%s owed for %d handoffs: %s", kind.replace("_", " "), len(ids), named,
                 extra={"handoff_ids": ids, "reminder": kind})


class Chaser:
    def __init__(self, ctx: Context, handoffs: Handoffs):
        self.ctx = ctx
        self.handoffs = handoffs

    async def tick(self, *, reminders: bool = True, beat: bool = True) -> TickReport:
        """One pass: reminders due, auto-reassignments, weekly agendas. Safe to run anywhere, any time.
        `reminders=False`: the caller knows nothing is due a look (bot.runtime.workspaces); `beat=False`: it
        records the heartbeat once for every workspace's pass."""
        ctx = self.ctx
        now = ctx.clock.now()
        teams = {t.id: t for t in await ctx.db.query(load_teams)}
        result = await self._claim_due(now, teams) if reminders else TickResult()
        log_owed(result.owed)
        report = TickReport(result.examined, result.claimed, result.superseded)
        for r in result.reassign:
            if await self._reassign(r, teams):
                report.reassigned.append(r.handoff_id)
        report.agendas = await post_due_agendas(ctx, list(teams.values()))
        if beat:
            await ctx.db.run(heartbeat.beat, "tick", now)  # the admins' Home: when the scheduler last ran
        if report.reminders or report.agendas or report.reassigned:
            log.info("tick: %d reminders, %d agendas, %d reassigned", report.reminders, len(report.agendas),
                     len(report.reassigned), extra={"reminders": report.reminders, "agendas": len(report.agendas),
                                                    "reassigned": len(report.reassigned)})
        ctx.wake_outbox()
        return report

    async def _claim_due(self, now: datetime, teams: dict[str, TeamPolicy]) -> TickResult:
        """Up to TICK_LIMIT handoffs, TICK_BATCH a transaction: between two, the one writer is free for the
        submissions and clicks queued behind the tick."""
        total = TickResult()
        while total.examined < TICK_LIMIT:
            part, more = await self.ctx.db.run(claim_due_batches, now, teams, TICK_LIMIT - total.examined)
            total.add(part)
            if not more:
                break
        return total

    async def _reassign(self, r: Reassignment, teams: dict[str, TeamPolicy]) -> bool:
        handoff = await self.handoffs.get(r.handoff_id)
        if handoff is None:
            return False
        team = teams.get(handoff.team_id or "")
        ae = Person(r.to_ae, await self.ctx.people.tz(r.to_ae, team.tz if team else None))
        done = await self.handoffs.act(r.handoff_id, Reassign(ae, REASSIGN_NOTE), actor=SYSTEM_ACTOR,
                                       card_revision=r.revision)
        if isinstance(done, Handoff):
            log.info("%s reassigned from %s to %s after escalation", short_id(done.id), handoff.ae_id, r.to_ae)
            return True
        return False
