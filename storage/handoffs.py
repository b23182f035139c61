"""Handoff queries. Each public function is one transaction."""
from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.core.handoff import Action, Facts, State
from bot.core.audience import Owed, owed_on_action, owed_on_submit
from storage.db import Database
from storage.models import AuditEvent, Handoff, OutboxMessage

JSON_LIST_FIELDS = ("attendees", "enterprise_needs")


def facts_of(handoff: Handoff) -> Facts:
    return Facts(
        id=handoff.id or 0,
        state=State(handoff.state),
        revision=handoff.revision,
        sdr_id=handoff.sdr_id,
        ae_id=handoff.ae_id,
        decided_by=handoff.decided_by,
        decided_at=handoff.decided_at,
    )


def _columns(values: dict[str, Any]) -> dict[str, Any]:
    row = dict(values)
    for name in JSON_LIST_FIELDS:
        if name in row:
            row[name] = json.dumps(list(row[name] or []))
    return row


def enqueue(session: Session, owed: Sequence[Owed], *, handoff_id: int | None, event_id: int | None, now: datetime) -> None:
    if not owed:
        return
    session.connection().execute(insert(OutboxMessage.__table__), [
        {"conversation": item.conversation, "op": item.op, "view": item.view, "message_key": item.message_key,
         "handoff_id": handoff_id, "audit_event_id": event_id, "thread_key": item.thread_key,
         "dedupe_key": item.dedupe_key, "status": "pending", "attempts": 0, "next_attempt_at": now,
         "created_at": now, "last_error": None, "sent_at": None, "payload": None}
        for item in owed
    ])


def _audit(session: Session, handoff_id: int, *, actor: str, action: str, now: datetime,
           from_state: str | None, to_state: str | None, reason: str | None = None,
           detail: dict[str, Any] | None = None) -> AuditEvent:
    event = AuditEvent(
        handoff_id=handoff_id, at=now, actor=actor, action=action, from_state=from_state,
        to_state=to_state, reason=reason, detail=json.dumps(detail or {}),
    )
    session.add(event)
    session.flush()
    return event


def create_handoff(db: Database, values: dict[str, Any], *, sdr_id: str, slack_team_id: str,
                   submission_key: str, now: datetime, channel: str | None = None) -> tuple[Handoff, bool]:
    """Store a new handoff with its audit entry and the messages it owes.

    Returns (handoff, created); a submission seen before returns the stored one.
    """
    try:
        with db.write() as session:
            handoff = Handoff(
                **_columns(values), state=State.PENDING, revision=1, submission_key=submission_key,
                slack_team_id=slack_team_id, sdr_id=sdr_id, created_at=now, updated_at=now,
                next_check_at=now,  # the scheduler plans its chase on its next tick
            )
            session.add(handoff)
            session.flush()
            assert handoff.id is not None
            event = _audit(session, handoff.id, actor=sdr_id, action="submitted", now=now,
                           from_state=None, to_state=State.PENDING)
            enqueue(session, owed_on_submit(handoff.id, sdr_id=sdr_id, ae_id=handoff.ae_id, channel=channel),
                    handoff_id=handoff.id, event_id=event.id, now=now)
            return handoff, True
    except IntegrityError:
        with db.read() as session:
            existing = session.exec(select(Handoff).where(Handoff.submission_key == submission_key)).first()
            if existing is None:
                raise
            return existing, False


def get_handoff(db: Database, handoff_id: int) -> Handoff | None:
    with db.read() as session:
        return session.get(Handoff, handoff_id)


def apply_action(
    db: Database,
    facts: Facts,
    action: Action,
    *,
    actor: str,
    to_state: State,
    now: datetime,
    changes: dict[str, Any] | None = None,
    reason: str | None = None,
    detail: dict[str, Any] | None = None,
    channel: str | None = None,
    sdr_manager: str | None = None,
) -> Handoff | None:
    """Move the handoff from the state and revision in `facts` to `to_state`, or do nothing.

    The update is conditional on the state and revision read before, so of two
    clicks at once exactly one wins; the loser gets None and re-reads.
    """
    changes = _columns(changes or {})
    bumps = action in (Action.REVISE, Action.REASSIGN)
    new_revision = facts.revision + 1 if bumps else facts.revision
    with db.write() as session:
        result = session.execute(
            update(Handoff)
            .where(col(Handoff.id) == facts.id, col(Handoff.state) == facts.state,
                   col(Handoff.revision) == facts.revision)
            .values(state=to_state, revision=new_revision, updated_at=now, next_check_at=now, **changes)
        )
        if result.rowcount != 1:
            return None
        handoff = session.get(Handoff, facts.id)
        assert handoff is not None
        session.refresh(handoff)
        event = _audit(session, facts.id, actor=actor, action=action.value, now=now,
                       from_state=facts.state, to_state=to_state, reason=reason, detail=detail)
        owed = owed_on_action(
            action, facts.id, sdr_id=facts.sdr_id, old_ae=facts.ae_id, new_ae=handoff.ae_id,
            old_revision=facts.revision, new_revision=new_revision, event_id=event.id or 0, channel=channel,
            sdr_manager=sdr_manager,
        )
        enqueue(session, owed, handoff_id=facts.id, event_id=event.id, now=now)
        return handoff


def list_for_user(db: Database, user_id: str, limit: int = 20) -> list[Handoff]:
    with db.read() as session:
        rows = session.exec(
            select(Handoff)
            .where(or_(col(Handoff.sdr_id) == user_id, col(Handoff.ae_id) == user_id))
            .order_by(col(Handoff.id).desc())
            .limit(limit)
        )
        return list(rows)


def audit_trail(db: Database, handoff_id: int) -> list[AuditEvent]:
    with db.read() as session:
        return list(session.exec(
            select(AuditEvent).where(AuditEvent.handoff_id == handoff_id).order_by(col(AuditEvent.id))
        ))


def involved(db: Database, handoff_id: int, user_id: str) -> bool:
    """Whether the user is or was a party to the handoff (SDR, AE now or before, attendee)."""
    with db.read() as session:
        handoff = session.get(Handoff, handoff_id)
        if handoff is None:
            return False
        if user_id in (handoff.sdr_id, handoff.ae_id) or user_id in json.loads(handoff.attendees):
            return True
        events = session.exec(select(AuditEvent).where(AuditEvent.handoff_id == handoff_id))
        return any(user_id == e.actor or user_id in e.detail for e in events)
