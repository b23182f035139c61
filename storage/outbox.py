"""The outbox: claiming what is due, recording what was delivered."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, func, insert, update
from sqlmodel import Session, col, select

from bot.core.handoff import Event, Handoff
from storage.db import Database
from storage.handoffs import event_record, to_record
from storage.models import AuditEvent, HandoffRow, OutboxMessage, SlackMessage, Team, UTCDateTime

LEASE = timedelta(seconds=60)
OPEN = ("pending", "sending")


@dataclass
class Delivery:
    """One owed message with what rendering it needs."""

    row: OutboxMessage
    handoff: Handoff | None
    event: Event | None
    target: SlackMessage | None  # the message an update edits
    thread: SlackMessage | None  # the message a post replies under
    team_tz: str | None = None  # channel posts read in the team's zone


def claim_due(db: Database, now: datetime, limit: int = 200, per_conversation: int = 10,
              recover: bool = True, lease: timedelta = LEASE) -> list[list[Delivery]]:
    """Claim, per conversation, the leading run of open messages that are due (at most `per_conversation`).

    Only a conversation's first open messages are claimed, so messages arrive in order; a lease
    lets another copy of the bot take over rows whose claimer died (`recover` looks for them).
    """
    with db.write() as session:
        if recover:
            _recover_expired(session, now)
        rank = func.row_number().over(partition_by=OutboxMessage.conversation, order_by=OutboxMessage.id)
        open_rows = (select(OutboxMessage.id, OutboxMessage.conversation, OutboxMessage.status,
                            OutboxMessage.next_attempt_at, rank.label("rank"))
                     .where(col(OutboxMessage.status).in_(OPEN)).subquery())
        candidates = session.execute(
            select(open_rows).where(open_rows.c.rank <= per_conversation)
            .order_by(open_rows.c.conversation, open_rows.c.id)
        ).all()
        wanted: list[tuple[str, int]] = []
        blocked: set[str] = set()
        for row in candidates:
            if row.conversation in blocked or len(wanted) >= limit:
                continue
            if row.status != "pending" or row.next_attempt_at > now:
                blocked.add(row.conversation)  # nothing behind a message in flight or waiting may go
                continue
            wanted.append((row.conversation, row.id))
        if not wanted:
            return []
        # Another copy of the bot may be claiming the same rows (PostgreSQL; SQLite serializes
        # writers): lock what is still pending, skip what is locked, and cut a run at its first gap.
        lockable = set(session.execute(
            select(OutboxMessage.id).where(col(OutboxMessage.id).in_([i for _, i in wanted]),
                                           col(OutboxMessage.status) == "pending")
            .with_for_update(skip_locked=True)
        ).scalars())
        runs: dict[str, list[int]] = {}
        for conversation, row_id in wanted:
            if conversation in blocked:
                continue
            if row_id not in lockable:
                blocked.add(conversation)
                continue
            runs.setdefault(conversation, []).append(row_id)
        if not runs:
            return []
        ids = [i for run in runs.values() for i in run]
        session.execute(
            update(OutboxMessage).where(col(OutboxMessage.id).in_(ids))
            .values(status="sending", next_attempt_at=now + lease, attempts=OutboxMessage.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        rows = {r.id: r for r in session.exec(select(OutboxMessage).where(col(OutboxMessage.id).in_(ids)))}
        # What rendering needs, a query per table rather than per row.
        claimed = list(rows.values())
        handoffs = _by_key(session, HandoffRow, HandoffRow.id, {r.handoff_id for r in claimed if r.handoff_id})
        events = _by_key(session, AuditEvent, AuditEvent.id, {r.audit_event_id for r in claimed if r.audit_event_id})
        messages = _by_key(session, SlackMessage, SlackMessage.key,
                           {r.message_key for r in claimed if r.op == "update"} | {r.thread_key for r in claimed
                                                                                    if r.thread_key})
        teams = _by_key(session, Team, Team.id, {h.team_id for h in handoffs.values() if h.team_id})
        result = []
        for run in runs.values():
            deliveries = []
            for row_id in run:
                row = rows[row_id]
                row.status = "sending"  # as just written (the objects are detached below)
                handoff = handoffs.get(row.handoff_id)
                team = teams.get(handoff.team_id) if handoff and handoff.team_id else None
                event = events.get(row.audit_event_id)
                deliveries.append(Delivery(
                    row, to_record(handoff) if handoff else None, event_record(event) if event else None,
                    messages.get(row.message_key) if row.op == "update" else None,
                    messages.get(row.thread_key) if row.thread_key else None, team.tz if team else None))
            result.append(deliveries)
        session.expunge_all()
        return result


def _by_key(session: Session, model: Any, key: Any, values: set[Any]) -> dict[Any, Any]:
    if not values:
        return {}
    return {getattr(obj, key.key): obj for obj in session.exec(select(model).where(col(key).in_(values)))}


def _recover_expired(session: Session, now: datetime) -> None:
    """Rows whose claimer died: an edit is safe to send again; a post may already be in Slack,
    so it is parked as 'unknown' for an admin (`handoff-bot doctor`) rather than risk a double post."""
    session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.status) == "sending", col(OutboxMessage.next_attempt_at) <= now,
               col(OutboxMessage.op) == "update")
        .values(status="pending")
    )
    session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.status) == "sending", col(OutboxMessage.next_attempt_at) <= now,
               col(OutboxMessage.op) == "post")
        .values(status="unknown", last_error="claimed but never confirmed: the process stopped mid-post")
    )


@dataclass
class Outcome:
    """What became of one delivery: sent, pending again (a retry at `at`), or final (dead, skipped)."""

    row: OutboxMessage
    status: str
    error: str | None = None
    at: datetime | None = None
    channel: str | None = None
    ts: str | None = None


def settle(db: Database, outcomes: list[Outcome]) -> None:
    """Record a delivery pass in one transaction, in two set-wise statements."""
    if not outcomes:
        return
    table = OutboxMessage.__table__
    with db.write() as session:
        conn = session.connection()
        conn.execute(
            update(table).where(table.c.id == bindparam("o_id")).values(
                status=bindparam("o_status"), last_error=bindparam("o_error"), attempts=bindparam("o_attempts"),
                next_attempt_at=bindparam("o_next", type_=UTCDateTime()),
                sent_at=bindparam("o_sent", type_=UTCDateTime())),
            [{"o_id": o.row.id, "o_status": o.status, "o_error": o.error,
              "o_next": o.at if o.status == "pending" else o.row.next_attempt_at, "o_attempts": o.row.attempts,
              "o_sent": o.at if o.status == "sent" else None} for o in outcomes],
        )
        posted = [o for o in outcomes if o.status == "sent" and o.row.op == "post"]
        if posted:
            keys = [o.row.message_key for o in posted]
            # An admin's --retry may post a message again: the newest post is the one later edits update.
            conn.execute(delete(SlackMessage.__table__).where(SlackMessage.__table__.c.key.in_(keys)))
            conn.execute(insert(SlackMessage.__table__), [
                {"key": o.row.message_key, "handoff_id": o.row.handoff_id, "channel": o.channel or "",
                 "ts": o.ts or "", "posted_at": o.at} for o in posted])


def stuck(db: Database, limit: int = 200) -> list[OutboxMessage]:
    with db.read() as session:
        return list(session.exec(
            select(OutboxMessage).where(col(OutboxMessage.status).in_(("dead", "unknown")))
            .order_by(col(OutboxMessage.id)).limit(limit)
        ))


def counts(db: Database) -> dict[str, int]:
    with db.read() as session:
        rows = session.exec(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all()
    return {status: n for status, n in rows}


def requeue(db: Database, row_id: int, now: datetime) -> bool:
    """An admin's decision to send a stuck message again (for 'unknown', after checking Slack)."""
    with db.write() as session:
        result = session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.id) == row_id, col(OutboxMessage.status).in_(("dead", "unknown")))
            .values(status="pending", next_attempt_at=now, last_error=None, attempts=0)
        )
        return result.rowcount == 1
