"""The outbox: claiming what is due, recording what was delivered."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlmodel import col, select

from storage.db import Database
from storage.models import AuditEvent, Handoff, OutboxMessage, SlackMessage, Team

LEASE = timedelta(seconds=60)
OPEN = ("pending", "sending")


@dataclass
class Delivery:
    """One owed message with what rendering it needs."""

    row: OutboxMessage
    handoff: Handoff | None
    event: AuditEvent | None
    target: SlackMessage | None  # the message an update edits
    thread: SlackMessage | None  # the message a post replies under
    team_tz: str | None = None  # channel posts read in the team's zone


def claim_due(db: Database, now: datetime, limit: int = 100) -> list[Delivery]:
    """Claim the first open message of each conversation, if it is due.

    Only a conversation's head is claimed, so messages arrive in order; a lease
    lets another copy of the bot take over rows whose claimer died.
    """
    with db.write() as session:
        _recover_expired(session, now)
        open_rows = col(OutboxMessage.status).in_(OPEN)
        heads = (select(OutboxMessage.conversation, func.min(OutboxMessage.id).label("head"))
                 .where(open_rows).group_by(OutboxMessage.conversation).subquery())
        claimed = list(session.exec(
            select(OutboxMessage).join(heads, col(OutboxMessage.id) == heads.c.head)
            .where(col(OutboxMessage.status) == "pending", col(OutboxMessage.next_attempt_at) <= now)
            .order_by(col(OutboxMessage.id)).limit(limit)
        ).all())
        deliveries = []
        for row in claimed:
            row.status, row.next_attempt_at, row.attempts = "sending", now + LEASE, row.attempts + 1
            session.add(row)
            handoff = session.get(Handoff, row.handoff_id) if row.handoff_id else None
            event = session.get(AuditEvent, row.audit_event_id) if row.audit_event_id else None
            target = session.get(SlackMessage, row.message_key) if row.op == "update" else None
            thread = session.get(SlackMessage, row.thread_key) if row.thread_key else None
            team = session.get(Team, handoff.team_id) if handoff and handoff.team_id else None
            deliveries.append(Delivery(row, handoff, event, target, thread, team.tz if team else None))
        return deliveries


def _recover_expired(session, now: datetime) -> None:
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
    """Record a delivery pass in one transaction."""
    if not outcomes:
        return
    with db.write() as session:
        for o in outcomes:
            values: dict = {"status": o.status, "last_error": o.error}
            if o.status == "sent":
                values["sent_at"] = o.at
                if o.row.op == "post":
                    session.merge(SlackMessage(key=o.row.message_key, handoff_id=o.row.handoff_id,
                                               channel=o.channel or "", ts=o.ts or "", posted_at=o.at))
            elif o.status == "pending":
                values["next_attempt_at"] = o.at
            session.execute(update(OutboxMessage).where(col(OutboxMessage.id) == o.row.id).values(**values))


def stuck(db: Database, limit: int = 200) -> list[OutboxMessage]:
    with db.read() as session:
        return list(session.exec(
            select(OutboxMessage).where(col(OutboxMessage.status).in_(("dead", "unknown")))
            .order_by(col(OutboxMessage.id)).limit(limit)
        ))


def backlog(db: Database) -> int:
    with db.read() as session:
        return len(session.exec(select(OutboxMessage.id).where(col(OutboxMessage.status).in_(OPEN))).all())


def counts(db: Database) -> dict[str, int]:
    from sqlalchemy import func

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
