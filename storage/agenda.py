"""What the weekly agenda reads: a team's handoffs that can matter this week, and their audit trails."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, or_
from sqlmodel import col, select

from bot.core.handoff import State
from storage.db import Database
from storage.models import AuditEvent, Handoff

WEEK = timedelta(days=7)


def agenda_inputs(db: Database, team_id: str, now: datetime) -> tuple[list[Handoff], list[AuditEvent]]:
    """Two queries, both through indexes (handoff.team_id, audit_event.handoff_id).

    A handoff matters if it was created or changed in the past 7 days (new, decided, rejected,
    its meeting's outcome), is waiting, is accepted and not complete, has a next step, or is a
    no-show to rebook. The events are every event of those handoffs, since when a handoff entered
    pending may be older than a week.
    """
    since = now - WEEK
    matters = and_(
        col(Handoff.team_id) == team_id,
        or_(
            col(Handoff.created_at) >= since,
            col(Handoff.updated_at) >= since,
            col(Handoff.decided_at) >= since,
            col(Handoff.outcome_at) >= since,
            col(Handoff.state) == State.PENDING,
            and_(col(Handoff.state) == State.ACCEPTED, col(Handoff.completed_at).is_(None)),
            col(Handoff.next_step).is_not(None),
            col(Handoff.meeting_outcome) == "no_show",
        ),
    )
    with db.read() as session:
        handoffs = list(session.exec(select(Handoff).where(matters).order_by(col(Handoff.id))))
        # A subquery, not a list of ids: no per-row queries and no bound-parameter limit.
        ids = select(Handoff.id).where(matters)
        events = list(session.exec(
            select(AuditEvent).where(col(AuditEvent.handoff_id).in_(ids)).order_by(col(AuditEvent.at), col(AuditEvent.id))
        ))
    return handoffs, events
