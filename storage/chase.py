"""What the scheduler's tick reads and writes, inside the transaction the chase service opens."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import bindparam, update
from sqlmodel import Session, col, select

from bot.core.chase import ChaseFacts
from storage.db import Database
from storage.models import HandoffRow, OutboxMessage, UTCDateTime
from storage.scoping import only

# Only the columns the chase rules read: the tick's cost is in what is due, not in row width.
CHASE_COLUMNS = (
    HandoffRow.id, HandoffRow.state, HandoffRow.revision, HandoffRow.sdr_id, HandoffRow.ae_id, HandoffRow.ae_tz,
    HandoffRow.created_at, HandoffRow.sla_start, HandoffRow.meeting_start, HandoffRow.meeting_kind,
    HandoffRow.meeting_outcome, HandoffRow.outcome_at, HandoffRow.next_step_due, HandoffRow.next_step_owner,
    HandoffRow.completed_at, HandoffRow.team_id, HandoffRow.next_check_at,
)


def due_for_check(session: Session, now: datetime, limit: int) -> list[ChaseFacts]:
    """Handoffs whose next check has come, through the index on next_check_at. On PostgreSQL a
    second scheduler skips the rows this one holds (SQLite serializes the whole tick already)."""
    rows = session.connection().execute(
        select(*CHASE_COLUMNS).where(col(HandoffRow.next_check_at) <= now, *only(session, HandoffRow))
        .order_by(col(HandoffRow.next_check_at)).limit(limit).with_for_update(skip_locked=True)
    ).all()
    return [ChaseFacts(**row._mapping) for row in rows]


def claimed(session: Session, keys: list[str]) -> set[str]:
    """Which of these dedupe keys the outbox holds already."""
    taken: set[str] = set()
    for i in range(0, len(keys), 500):
        chunk = keys[i:i + 500]
        taken.update(k for k in session.exec(
            select(OutboxMessage.dedupe_key).where(col(OutboxMessage.dedupe_key).in_(chunk))).all() if k)
    return taken


def set_next_checks(session: Session, checks: list[tuple[ChaseFacts, datetime | None]]) -> None:
    """One statement for all: each handoff's next look, unless someone changed it since it was read."""
    if not checks:
        return
    table = HandoffRow.__table__
    session.connection().execute(
        update(table)
        .where(table.c.id == bindparam("h_id"), table.c.next_check_at == bindparam("h_old", type_=UTCDateTime()),
               *only(session, HandoffRow))
        .values(next_check_at=bindparam("h_new", type_=UTCDateTime())),
        [{"h_id": h.id, "h_old": h.next_check_at, "h_new": at} for h, at in checks],
    )


def agenda_posted(db: Database, keys: list[str]) -> set[str]:
    """Which weekly agendas were already claimed (their first message's dedupe key is `<key>:0`)."""
    with db.read() as session:
        found = session.exec(select(OutboxMessage.dedupe_key)
                             .where(col(OutboxMessage.dedupe_key).in_([f"{k}:0" for k in keys]))).all()
    return {k.rsplit(":", 1)[0] for k in found if k}
