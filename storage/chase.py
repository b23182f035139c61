"""The scheduler's tick in the database: what is due, claimed once, in one transaction."""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, insert, update
from sqlmodel import Session, col, select

from bot.core.chase import CARD, CHANNEL, ChaseFacts, ChasePlan, Reminder, plan_chase
from bot.core.audience import ae_card_key, announcement_key
from bot.core.teams import TeamPolicy
from storage.db import Database
from storage.models import Handoff, OutboxMessage, UTCDateTime

TICK_LIMIT = 1000


@dataclass
class TickResult:
    examined: int = 0
    claimed: int = 0
    superseded: int = 0
    reassign: list[tuple[int, str]] | None = None  # (handoff id, next AE) for teams that reassign on escalation


def chase_facts(h: Any) -> ChaseFacts:
    """From a Handoff, or a row of CHASE_COLUMNS."""
    return ChaseFacts(
        id=h.id or 0, state=h.state, revision=h.revision, sdr_id=h.sdr_id, ae_id=h.ae_id, ae_tz=h.ae_tz,
        created_at=h.created_at, sla_start=h.sla_start, meeting_start=h.meeting_start, meeting_kind=h.meeting_kind,
        meeting_outcome=h.meeting_outcome, outcome_at=h.outcome_at, next_step_due=h.next_step_due,
        next_step_owner=h.next_step_owner, completed_at=h.completed_at,
    )


def owed_for(h: Any, r: Reminder, team: TeamPolicy | None) -> list[tuple[str, str, str, str | None, str]]:
    """(conversation, op, message_key, thread_key, dedupe_key) for each audience of a reminder."""
    rows = []
    for audience in r.to:
        dedupe = f"{r.key}>{audience}"
        if audience == CARD:
            rows.append((h.ae_id, "update", ae_card_key(h.id or 0, h.revision), None, dedupe))
        elif audience == CHANNEL:
            if team and team.channel_id:
                rows.append((team.channel_id, "post", f"reminder:{dedupe}", announcement_key(h.id or 0), dedupe))
        else:
            rows.append((audience, "post", f"reminder:{dedupe}", None, dedupe))
    return rows


CHASE_COLUMNS = (
    Handoff.id, Handoff.state, Handoff.revision, Handoff.sdr_id, Handoff.ae_id, Handoff.ae_tz, Handoff.team_id,
    Handoff.created_at, Handoff.sla_start, Handoff.meeting_start, Handoff.meeting_kind, Handoff.meeting_outcome,
    Handoff.outcome_at, Handoff.next_step_due, Handoff.next_step_owner, Handoff.completed_at, Handoff.next_check_at,
)


def run_tick(db: Database, now: datetime, teams: dict[str, TeamPolicy],
             managers_of: Callable[[Any, TeamPolicy | None], tuple[str, ...]] | None = None,
             limit: int = TICK_LIMIT) -> TickResult:
    """Claim and enqueue every reminder due at `now` among handoffs whose next check has come.

    Cost grows with what is due, not with what is stored: the index on next_check_at finds the
    candidates (only the columns the rules read); each key is claimed through the outbox's unique
    dedupe_key; the claims and the next checks are written in a few set-wise statements.
    """
    result = TickResult(reassign=[])
    with db.write() as session:
        conn = session.connection()
        # On PostgreSQL a second scheduler skips the rows this one is planning (SQLite already
        # serializes the whole tick: its write transaction takes the lock up front).
        rows = conn.execute(
            select(*CHASE_COLUMNS).where(col(Handoff.next_check_at) <= now)
            .order_by(col(Handoff.next_check_at)).limit(limit).with_for_update(skip_locked=True)
        ).all()
        result.examined = len(rows)
        plans: list[tuple[Any, TeamPolicy | None, ChasePlan]] = []
        for h in rows:
            team = teams.get(h.team_id or "")
            managers = managers_of(h, team) if managers_of else ()
            plans.append((h, team, plan_chase(chase_facts(h), team, now, managers)))
        wanted = [d for h, team, plan in plans for r in plan.due + plan.superseded for d in _dedupes(h, r, team)]
        taken = _existing(session, wanted)
        claims: list[dict[str, Any]] = []
        for h, team, plan in plans:
            for r in plan.due:
                claimed_here = False
                for conversation, op, message_key, thread_key, dedupe in owed_for(h, r, team):
                    if dedupe in taken:
                        continue
                    claimed_here = True
                    taken.add(dedupe)
                    claims.append(_claim(now, conversation=conversation, op=op, message_key=message_key,
                                         handoff_id=h.id, thread_key=thread_key, dedupe_key=dedupe, status="pending",
                                         view="ae_card" if op == "update" else "reminder",
                                         payload=json.dumps({
                                             "kind": r.kind, "key": r.key, "since": r.since.isoformat(),
                                             "deadline": r.deadline.isoformat() if r.deadline else None,
                                             # who it was owed by, and (auto-reassign) to whom it moves now
                                             "ae": h.ae_id,
                                             "reassign_to": plan.reassign_to if r.kind == "escalation" else None})))
                    result.claimed += 1
                if r.kind == "escalation" and plan.reassign_to and claimed_here:  # whoever claims it, reassigns
                    result.reassign.append((h.id or 0, plan.reassign_to))  # type: ignore[union-attr]
            for r in plan.superseded:
                for conversation, op, message_key, _thread_key, dedupe in owed_for(h, r, team):
                    if dedupe in taken:
                        continue
                    taken.add(dedupe)
                    claims.append(_claim(now, conversation=conversation, op=op, message_key=message_key,
                                         handoff_id=h.id, thread_key=None, dedupe_key=dedupe, status="superseded",
                                         view="reminder", payload=None))
                    result.superseded += 1
        if claims:
            conn.execute(insert(OutboxMessage.__table__), claims)
        if plans:
            table = Handoff.__table__
            conn.execute(
                update(table)
                .where(table.c.id == bindparam("h_id"), table.c.next_check_at == bindparam("h_old", type_=UTCDateTime()))
                .values(next_check_at=bindparam("h_new", type_=UTCDateTime())),
                [{"h_id": h.id, "h_old": h.next_check_at, "h_new": plan.next_check_at} for h, _team, plan in plans],
            )
    return result


def _claim(now: datetime, **values: Any) -> dict[str, Any]:
    return {**values, "attempts": 0, "next_attempt_at": now, "created_at": now, "last_error": None, "sent_at": None,
            "audit_event_id": None}


def _dedupes(h: Any, r: Reminder, team: TeamPolicy | None) -> list[str]:
    return [row[4] for row in owed_for(h, r, team)]


def _existing(session: Session, keys: list[str]) -> set[str]:
    taken: set[str] = set()
    for i in range(0, len(keys), 500):
        chunk = keys[i:i + 500]
        taken.update(session.exec(select(OutboxMessage.dedupe_key).where(col(OutboxMessage.dedupe_key).in_(chunk))).all())
    return taken


def agenda_posted(db: Database, keys: list[str]) -> set[str]:
    """Which weekly agendas were already claimed (their first message's dedupe key is `<key>:0`)."""
    with db.read() as session:
        found = session.exec(select(OutboxMessage.dedupe_key)
                             .where(col(OutboxMessage.dedupe_key).in_([f"{k}:0" for k in keys]))).all()
    return {k.rsplit(":", 1)[0] for k in found if k}


def enqueue_agenda(db: Database, key: str, channel: str, messages: list[dict], now: datetime) -> bool:
    """Claim the week's agenda and owe its messages: the first in the channel, the rest in its thread.

    False when another copy of the bot claimed it first.
    """
    from sqlalchemy.exc import IntegrityError

    try:
        with db.write() as session:
            for i, message in enumerate(messages):
                session.add(OutboxMessage(
                    conversation=channel, op="post", view="snapshot", message_key=f"{key}:{i}",
                    thread_key=f"{key}:0" if i else None, dedupe_key=f"{key}:{i}", payload=json.dumps(message),
                    next_attempt_at=now, created_at=now,
                ))
        return True
    except IntegrityError:
        return False
