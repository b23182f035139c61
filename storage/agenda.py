"""What the weekly agenda reads: a team's handoffs that can matter this week, and their audit trails."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, or_
from sqlmodel import col, select

from bot.core.handoff import Event, Handoff, State
from storage.db import Database
from storage.handoffs import event_record, to_record
from storage.models import AuditEvent, HandoffRow

WEEK = timedelta(days=7)


def agenda_inputs(db: Database, team_id: str, now: datetime) -> tuple[list[Handoff], list[Event]]:
    """Two queries, both through indexes (handoff.team_id, audit_event.handoff_id).

    A handoff matters if it was created or changed in the past 7 days (new, decided, rejected,
    its meeting's outcome), is waiting, is accepted and not complete, has a next step, or is a
    no-show to rebook. The events are every event of those handoffs, since when a handoff entered
    pending may be older than a week.
    """
    since = now - WEEK
    matters = and_(
        col(HandoffRow.team_id) == team_id,
        or_(
            col(HandoffRow.created_at) >= since,
            col(HandoffRow.updated_at) >= since,
            col(HandoffRow.decided_at) >= since,
            col(HandoffRow.outcome_at) >= since,
            col(HandoffRow.state) == State.PENDING,
            and_(col(HandoffRow.state) == State.ACCEPTED, col(HandoffRow.completed_at).is_(None)),
            col(HandoffRow.next_step).is_not(None),
            col(HandoffRow.meeting_outcome) == "no_show",
        ),
    )
    with db.read() as session:
        handoffs = [to_record(h) for h in session.exec(select(HandoffRow).where(matters).order_by(col(HandoffRow.id)))]
        # A subquery, not a list of ids: no per-row queries and no bound-parameter limit.
        ids = select(HandoffRow.id).where(matters)
        events = [event_record(e) for e in session.exec(
            select(AuditEvent).where(col(AuditEvent.handoff_id).in_(ids)).order_by(col(AuditEvent.at), col(AuditEvent.id))
        )]
    return handoffs, events
