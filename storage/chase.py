"""The scheduler's tick in the database: what is due, claimed once, in one transaction."""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from bot.chase import CARD, CHANNEL, ChaseFacts, ChasePlan, Reminder, plan_chase
from bot.notifications import ae_card_key, announcement_key
from bot.teams import TeamPolicy
from storage.db import Database
from storage.models import Handoff, OutboxMessage

TICK_LIMIT = 1000


@dataclass
class TickResult:
    examined: int = 0
    claimed: int = 0
    superseded: int = 0
    reassign: list[tuple[int, str]] | None = None  # (handoff id, next AE) for teams that reassign on escalation


def chase_facts(h: Handoff) -> ChaseFacts:
    return ChaseFacts(
        id=h.id or 0, state=h.state, revision=h.revision, sdr_id=h.sdr_id, ae_id=h.ae_id, ae_tz=h.ae_tz,
        created_at=h.created_at, sla_start=h.sla_start, meeting_start=h.meeting_start, meeting_kind=h.meeting_kind,
        meeting_outcome=h.meeting_outcome, outcome_at=h.outcome_at, next_step_due=h.next_step_due,
        next_step_owner=h.next_step_owner, completed_at=h.completed_at,
    )


def owed_for(h: Handoff, r: Reminder, team: TeamPolicy | None) -> list[tuple[str, str, str, str | None, str]]:
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


def run_tick(db: Database, now: datetime, teams: dict[str, TeamPolicy],
             managers_of: Callable[[Handoff, TeamPolicy | None], tuple[str, ...]] | None = None,
             limit: int = TICK_LIMIT) -> TickResult:
    """Claim and enqueue every reminder due at `now` among handoffs whose next check has come.

    Cost grows with what is due, not with what is stored: the index on next_check_at
    finds the candidates; each key is claimed through the outbox's unique dedupe_key.
    """
    result = TickResult(reassign=[])
    with db.write() as session:
        rows = session.exec(
            select(Handoff).where(col(Handoff.next_check_at) <= now).order_by(col(Handoff.next_check_at)).limit(limit)
        ).all()
        result.examined = len(rows)
        plans: list[tuple[Handoff, TeamPolicy | None, ChasePlan]] = []
        for h in rows:
            team = teams.get(h.team_id or "")
            managers = managers_of(h, team) if managers_of else ()
            plans.append((h, team, plan_chase(chase_facts(h), team, now, managers)))
        wanted = [d for h, team, plan in plans for r in plan.due + plan.superseded for d in _dedupes(h, r, team)]
        taken = _existing(session, wanted)
        for h, team, plan in plans:
            for r in plan.due:
                for conversation, op, message_key, thread_key, dedupe in owed_for(h, r, team):
                    if dedupe in taken:
                        continue
                    session.add(OutboxMessage(
                        conversation=conversation, op=op, view="ae_card" if op == "update" else "reminder",
                        message_key=message_key, handoff_id=h.id, thread_key=thread_key, dedupe_key=dedupe,
                        payload=json.dumps({"kind": r.kind, "key": r.key, "since": r.since.isoformat(),
                                            "deadline": r.deadline.isoformat() if r.deadline else None,
                                            # who it was owed by, and (auto-reassign) to whom it moves now
                                            "ae": h.ae_id, "reassign_to": plan.reassign_to
                                            if r.kind == "escalation" else None}),
                        next_attempt_at=now, created_at=now,
                    ))
                    result.claimed += 1
                if r.kind == "escalation" and plan.reassign_to:
                    result.reassign.append((h.id or 0, plan.reassign_to))  # type: ignore[union-attr]
            for r in plan.superseded:
                for conversation, op, message_key, thread_key, dedupe in owed_for(h, r, team):
                    if dedupe in taken:
                        continue
                    session.add(OutboxMessage(
                        conversation=conversation, op=op, view="reminder", message_key=message_key,
                        handoff_id=h.id, dedupe_key=dedupe, status="superseded", next_attempt_at=now, created_at=now,
                    ))
                    result.superseded += 1
            session.execute(update(Handoff).where(col(Handoff.id) == h.id, col(Handoff.next_check_at) == h.next_check_at)
                            .values(next_check_at=plan.next_check_at))
    return result


def _dedupes(h: Handoff, r: Reminder, team: TeamPolicy | None) -> list[str]:
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
