"""The outbox: claiming what is due, recording what was delivered."""
from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import delete, func, text, update
from sqlalchemy import select as sa_select
from sqlmodel import Session, col, select

from bot.core.handoff import Event, Handoff
from storage import pacing as channel_pacing
from storage.db import Database
from storage.driver import Driver
from storage.handoffs import event_record, to_record
from storage.models import OUTBOX_OPEN, AuditEvent, HandoffRow, OutboxMessage, SlackMessage, Team

LEASE = timedelta(seconds=60)
OPEN = ("pending", "sending")
_T = OutboxMessage.__table__
_H, _E, _M, _TEAM = (HandoffRow.__table__, AuditEvent.__table__, SlackMessage.__table__,  # type: ignore[attr-defined]
                     Team.__table__)  # type: ignore[attr-defined]
_FIRST = (sa_select(_T.c.conversation, func.min(_T.c.id).label("id")).where(text(OUTBOX_OPEN))  # ix_outbox_heads
          .group_by(_T.c.conversation).subquery())
# Each conversation's head: its first open message. Its SQL, in each dialect, is compiled once (_heads_sql).
_HEADS = (sa_select(_T.c.id, _T.c.conversation, _T.c.status, _T.c.next_attempt_at, _T.c.unconfirmed_since, _T.c.op)
          .join(_FIRST, _FIRST.c.id == _T.c.id).order_by(_T.c.id))
# A claim and its settle run for every message delivered, beside the acks: their statements go to the driver
# itself (storage.driver). SQLAlchemy's work per statement cost more than SQLite's (a message's claim and
# settle: ~0.85 ms of CPU through Core statements, ~0.35 ms so, bench/README.md).
# The claim and the claimed rows in one statement (RETURNING: SQLite 3.35+, PostgreSQL). From the claim on the
# post may be in Slack: whoever finds the claim unanswered reads history first (unconfirmed_since).
_CLAIM = ("UPDATE outbox SET status = 'sending', next_attempt_at = {m}, attempts = attempts + 1, "
          "unconfirmed_since = CASE WHEN op = 'post' THEN coalesce(unconfirmed_since, {m}) END "
          "WHERE {ids} AND status = 'pending' RETURNING *")
_LOCK_PENDING = "SELECT id FROM outbox WHERE {ids} AND status = 'pending' FOR UPDATE SKIP LOCKED"
# Two workspaces may each have a team of that id: the handoff's own workspace says which.
_HANDOFFS = ("SELECT handoff.*, team.tz AS team_tz FROM handoff LEFT OUTER JOIN team "
             "ON team.workspace = handoff.workspace AND team.id = handoff.team_id WHERE {ids}")
_EVENTS = "SELECT * FROM audit_event WHERE {ids}"
_MESSAGES = "SELECT * FROM slack_message WHERE {ids}"
_SETTLE = ("UPDATE outbox SET status = {m}, last_error = {m}, attempts = {m}, next_attempt_at = {m}, sent_at = {m}, "
           "unconfirmed_since = {m} WHERE id = {m}")
_FORGET_POSTS = "DELETE FROM slack_message WHERE {ids}"
_RECORD_POSTS = "INSERT INTO slack_message (key, workspace, handoff_id, channel, ts, posted_at) VALUES ({marks})"


@dataclass
class Delivery:
    """One owed message with what rendering it needs."""

    row: Any  # the outbox row (read by attribute, as an OutboxMessage)
    handoff: Handoff | None
    event: Event | None
    target: Any  # the message an update edits (a slack_message row), or None
    thread: Any  # the message a post replies under (a slack_message row), or None
    team_tz: str | None = None  # channel posts read in the team's zone
    claimed_at: datetime | None = None
    # Before this claim: since when an earlier attempt may have put the post in Slack (None: it cannot have).
    unconfirmed_since: datetime | None = None


@dataclass
class Claim:
    deliveries: list[Delivery]  # at most one per conversation: its head
    waiting: set[str]  # conversations in `skip` whose head was due (a paced channel): claim them soon
    # Channels whose head was due but whose turn another copy of the bot (or this one) holds: when it comes.
    paced: dict[str, datetime] = field(default_factory=dict)


def claim_due(db: Database, now: datetime, limit: int = 200, *, skip: Collection[str] = (),
              recover: bool = True, lease: timedelta = LEASE, settle_first: Sequence[Outcome] = (),
              pacing: timedelta | None = None) -> Claim:
    """Claim each conversation's head (its first open message) if it is due: one message per conversation.

    Claiming only the message about to be sent keeps order per conversation and means a process that
    dies leaves at most one message per conversation in doubt. A lease lets another copy of the bot take
    over a dead claimer's rows (`recover` looks for them). `settle_first` records the outcomes of the
    messages just delivered in the same transaction, so the next head is claimed without another write.
    `pacing` (the interval between posts to one channel): a post to a channel is claimed only with the
    channel's turn (storage.pacing), shared by every copy of the bot on the database and held for the
    lease; settling the post releases it. DMs and edits are not paced.
    """
    with db.write() as session:
        conn = session.connection()  # begins the transaction (SQLite: BEGIN IMMEDIATE) the driver's statements join
        driver = Driver(conn)
        _settle(session, driver, settle_first, pacing)
        if recover:
            _recover_expired(session, now)
        heads = driver.rows(driver.execute(_heads_sql(conn.dialect)), _T)
        wanted: dict[int, datetime | None] = {}
        channel_posts: dict[int, str] = {}
        waiting: set[str] = set()
        for head in heads:
            if head.status != "pending" or head.next_attempt_at > now:
                continue  # nothing behind a message in flight or waiting may go
            if head.conversation in skip:
                waiting.add(head.conversation)
            elif len(wanted) < limit:
                wanted[head.id] = head.unconfirmed_since
                if head.op == "post" and is_channel(head.conversation):
                    channel_posts[head.id] = head.conversation
        if not wanted:
            return Claim([], waiting)
        ids = list(wanted)
        if not driver.sqlite:
            # Another copy of the bot may be claiming the same rows: lock what is still pending and skip what
            # is locked. (SQLite serializes writers: this transaction holds the write lock since it began, and
            # the heads above were read in it.)
            where, params = driver.in_("id", ids, "integer")
            ids = [i for (i,) in driver.execute(_LOCK_PENDING.format(ids=where), params).fetchall()]
        paced: dict[str, datetime] = {}
        if pacing is not None and pacing > timedelta(0):
            turns, paced = channel_pacing.take_turns(
                session, [channel_posts[i] for i in ids if i in channel_posts], lease)
            ids = [i for i in ids if i not in channel_posts or channel_posts[i] in turns]
        if not ids:
            return Claim([], waiting, paced)
        where, params = driver.in_("id", ids, "integer")
        claimed = sorted(driver.rows(driver.execute(_CLAIM.format(m=driver.mark, ids=where),
                                                    [driver.when(now + lease), driver.when(now), *params]), _T),
                         key=lambda r: r.id)
        # What rendering needs, a query per table rather than per row (the team's zone with its handoff).
        handoffs = _by_key(driver, _HANDOFFS, "handoff.id", "integer", {r.handoff_id for r in claimed if r.handoff_id},
                           _H, key="id")
        events = _by_key(driver, _EVENTS, "id", "integer", {r.audit_event_id for r in claimed if r.audit_event_id},
                         _E, key="id")
        messages = _by_key(driver, _MESSAGES, "key", "text", {r.message_key for r in claimed if r.op == "update"}
                           | {r.thread_key for r in claimed if r.thread_key}, _M, key="key")
        deliveries = []
        for row in claimed:
            handoff = handoffs.get(row.handoff_id)
            event = events.get(row.audit_event_id)
            deliveries.append(Delivery(
                row, to_record(handoff) if handoff else None, event_record(event) if event else None,
                messages.get(row.message_key) if row.op == "update" else None,
                messages.get(row.thread_key) if row.thread_key else None, handoff.team_tz if handoff else None,
                claimed_at=now, unconfirmed_since=wanted[row.id]))
        return Claim(deliveries, waiting, paced)


def is_channel(conversation: str) -> bool:
    """A channel (public or private), as opposed to a person's DM: what Slack paces per channel."""
    return conversation[:1] in "CG"


@cache
def _heads_sql(dialect: Any) -> str:
    return str(_HEADS.compile(dialect=dialect))


def _by_key(driver: Driver, sql: str, column: str, pg_type: str, keys: set[Any], table: Any, *, key: str
            ) -> dict[Any, Any]:
    """Rows of `sql ... WHERE <column> IN keys` by their `key`, read by attribute (as the model's objects)."""
    if not keys:
        return {}
    where, params = driver.in_(column, list(keys), pg_type)
    return {getattr(row, key): row for row in driver.rows(driver.execute(sql.format(ids=where), params), table)}


def _recover_expired(session: Session, now: datetime) -> None:
    """Rows whose claimer died are owed again. An edit is safe to send again; a post keeps its
    `unconfirmed_since`, so it is looked for in the conversation's history before it is posted again."""
    session.execute(
        update(OutboxMessage)
        .where(col(OutboxMessage.status) == "sending", col(OutboxMessage.next_attempt_at) <= now)
        .values(status="pending", last_error="claimed by a process that stopped before it heard back")
    )


@dataclass
class Outcome:
    """What became of one delivery: sent, pending again (a retry at `at`), or final (dead, skipped)."""

    row: Any  # the outbox row a delivery claimed
    status: str
    error: str | None = None
    at: datetime | None = None
    channel: str | None = None
    ts: str | None = None
    unconfirmed_since: datetime | None = None  # pending or unknown: since when the post may be in Slack


def settle(db: Database, outcomes: Sequence[Outcome], pacing: timedelta | None = None) -> None:
    """Record delivered messages in one transaction."""
    if outcomes:
        with db.write() as session:
            _settle(session, Driver(session.connection()), outcomes, pacing)


def _settle(session: Session, driver: Driver, outcomes: Sequence[Outcome], pacing: timedelta | None = None) -> None:
    """Two set-wise statements for any number of outcomes (and the channels' turns released, when paced)."""
    if not outcomes:
        return
    if pacing is not None and pacing > timedelta(0):
        channel_pacing.release(session, [o.row.conversation for o in outcomes
                                         if o.row.op == "post" and is_channel(o.row.conversation)], pacing)
    when, mark = driver.when, driver.mark
    driver.executemany(_SETTLE.format(m=mark), [
        (o.status, o.error, o.row.attempts, when(o.at if o.status == "pending" else o.row.next_attempt_at),
         when(o.at if o.status == "sent" else None),
         when(o.unconfirmed_since if o.status in ("pending", "unknown") else None), o.row.id) for o in outcomes])
    posted = [o for o in outcomes if o.status == "sent" and o.row.op == "post"]
    if posted:
        # An admin's --retry may post a message again: the newest post is the one later edits update.
        where, params = driver.in_("key", [o.row.message_key for o in posted], "text")
        driver.execute(_FORGET_POSTS.format(ids=where), params).close()
        driver.executemany(_RECORD_POSTS.format(marks=", ".join([mark] * 6)), [
            (o.row.message_key, o.row.workspace, o.row.handoff_id, o.channel or "", o.ts or "", when(o.at))
            for o in posted])


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
    """An admin's decision to send a stuck message again. An 'unknown' post keeps `unconfirmed_since`:
    the conversation's history is read (once the bot may) before it is posted again."""
    with db.write() as session:
        result = session.execute(
            update(OutboxMessage)
            .where(col(OutboxMessage.id) == row_id, col(OutboxMessage.status).in_(("dead", "unknown")))
            .values(status="pending", next_attempt_at=now, last_error=None, attempts=0)
        )
        return result.rowcount == 1


PRUNABLE = ("sent", "skipped", "superseded", "dead")
FINISHED_STATES = ("withdrawn", "closed")  # no action leads out of these: no reminder or edit is owed again


def prune(db: Database, before: datetime, batch: int = 500) -> int:
    """Delete up to `batch` delivered (or given up) outbox rows last touched before `before`; returns how many.

    Only rows that guard nothing: their dedupe keys (a reminder claimed once) and their posts (edited when
    the handoff changes) matter while the handoff can still change, so a handoff's rows go only once it is
    withdrawn or closed. Rows about no handoff (the weekly agendas) go by age alone: an agenda's week is
    looked at for two weeks at most (config.MIN_RETENTION_DAYS). Pending, sending and unknown rows stay."""
    with db.write() as session:
        ids = session.execute(
            select(OutboxMessage.id).outerjoin(HandoffRow, col(HandoffRow.id) == OutboxMessage.handoff_id)
            .where(col(OutboxMessage.status).in_(PRUNABLE), col(OutboxMessage.next_attempt_at) < before,
                   (col(OutboxMessage.handoff_id).is_(None)) | (col(HandoffRow.state).in_(FINISHED_STATES)))
            .limit(batch)
        ).scalars().all()
        if ids:
            session.execute(delete(OutboxMessage).where(col(OutboxMessage.id).in_(ids)))
        return len(ids)
