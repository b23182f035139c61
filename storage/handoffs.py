"""The handoff repository: rows in, core records out. Functions taking a session run inside the
caller's transaction; those taking the database are reads, each its own."""
from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import bindparam, delete, insert, or_, text, update
from sqlalchemy import select as select_core
from sqlmodel import Session, col, select

from bot.core.audience import Owed, PostedReminder
from bot.core.handoff import Event, Handoff, State
from storage.db import Database
from storage.models import OUTBOX_REMINDERS_POSTED, AuditEvent, HandoffCheck, HandoffRow, OutboxMessage, UTCDateTime
from storage.scoping import workspace_of
from storage.upsert import insert_in

JSON_LIST_FIELDS = ("attendees", "enterprise_needs")
_FIELDS = tuple(f.name for f in dataclasses.fields(Handoff))
_ROW_FIELDS = tuple(name for name in _FIELDS if name != "next_check_at")  # that one lives in handoff_check
_HANDOFF, _CHECK = HandoffRow.__table__, HandoffCheck.__table__
# Built once: what the acks wait for compiles once and only binds values afterwards. The record with its next
# check; the lock holds the handoff's row (its check row is written by whoever holds that).
_GET = (select_core(_HANDOFF, _CHECK.c.next_check_at).select_from(_HANDOFF.outerjoin(_CHECK))
        .where(_HANDOFF.c.id == bindparam("handoff_id")))
# A scoped session's read names its workspace (Core is out of reach of storage.scoping's ORM criteria).
_GET_MINE = _GET.where(_HANDOFF.c.workspace == bindparam("workspace"))
_GETS = {(False, False): _GET, (True, False): _GET.with_for_update(of=_HANDOFF),
         (False, True): _GET_MINE, (True, True): _GET_MINE.with_for_update(of=_HANDOFF)}
_INSERT_HANDOFF = insert(_HANDOFF)
_O = OutboxMessage.__table__
# The partial index's own condition, word for word, so both databases use it (ix_outbox_handoff_id).
_REMINDERS_ALL = (select_core(_O.c.conversation, _O.c.message_key, _O.c.payload)
                  .where(_O.c.handoff_id == bindparam("handoff_id"), text(OUTBOX_REMINDERS_POSTED))
                  .order_by(_O.c.id))
_REMINDERS = {False: _REMINDERS_ALL, True: _REMINDERS_ALL.where(_O.c.workspace == bindparam("workspace"))}
_INSERT_EVENT = insert(AuditEvent.__table__)
# The new handoff's check row takes the workspace the statement is run in, as the handoff's row did.
_INSERT_CHECK = insert(_CHECK)


def to_record(row: Any) -> Handoff:
    """A core record from a table row (or a row of selected columns). Its next check comes with the row when
    the read joined handoff_check (get); lists and numbers, which never need it, leave it None."""
    values = {name: getattr(row, name) for name in _ROW_FIELDS}
    values["next_check_at"] = getattr(row, "next_check_at", None)
    for name in JSON_LIST_FIELDS:
        values[name] = tuple(json.loads(values[name] or "[]"))
    values["state"] = State(values["state"])
    return Handoff(**values)


def _columns(values: dict[str, Any]) -> dict[str, Any]:
    row = dict(values)
    for name in JSON_LIST_FIELDS:
        if name in row:
            row[name] = json.dumps(list(row[name] or []))
    return row


def event_record(row: AuditEvent) -> Event:
    return Event(id=row.id or 0, handoff_id=row.handoff_id, at=row.at, actor=row.actor, action=row.action,
                 from_state=row.from_state, to_state=row.to_state, reason=row.reason,
                 detail=json.loads(row.detail or "{}"))


def get(session: Session, handoff_id: int, *, lock: bool = False) -> Handoff | None:
    """The record; `lock` holds its row for the rest of the transaction (PostgreSQL; SQLite's write
    transaction already holds the whole database)."""
    # Core, not ORM: the row as a tuple is all a record needs (an ORM object costs an Accept's ack ~10%).
    workspace = workspace_of(session)
    row = session.connection().execute(_GETS[(lock, workspace is not None)],
                                       {"handoff_id": handoff_id, "workspace": workspace}).first()
    return to_record(row) if row is not None else None


def by_submission(session: Session, submission_key: str) -> Handoff | None:
    row = session.exec(select(HandoffRow).where(HandoffRow.submission_key == submission_key)).first()
    return to_record(row) if row is not None else None


def insert_handoff(session: Session, h: Handoff) -> Handoff:
    values = _columns({name: getattr(h, name) for name in _ROW_FIELDS if name != "id"})
    # One compiled statement, the values bound (not the ORM's unit of work): the form's ack waits for this.
    conn = session.connection()
    handoff_id = conn.execute(_INSERT_HANDOFF, values).inserted_primary_key[0]
    if h.next_check_at is not None:
        conn.execute(_INSERT_CHECK, {"handoff_id": handoff_id, "next_check_at": h.next_check_at})
    return dataclasses.replace(h, id=handoff_id)


def save(session: Session, before: Handoff, after: Handoff) -> bool:
    """Write `after` if the row is still as `before` was read (state and revision): of two writers,
    exactly one wins, whatever the database's isolation."""
    changed = _columns({name: getattr(after, name) for name in _ROW_FIELDS
                        if name != "id" and getattr(after, name) != getattr(before, name)})
    workspace = workspace_of(session)
    params = {"w_id": before.id, "w_state": before.state, "w_revision": before.revision, "w_workspace": workspace,
              **{f"v_{name}": value for name, value in changed.items()}}
    result = session.connection().execute(_save_statement(frozenset(changed), workspace is not None), params)
    if result.rowcount != 1:
        return False
    # Every change writes the check row, even with the same value: a tick holding it (storage.chase) has
    # planned from the record as it was, and this change waits for it to commit, or the tick skips the row.
    set_next_check(session, before.id or 0, after.next_check_at)
    return True


# A change's guarded UPDATE and its check row's write, built once per shape (the columns a change writes, a
# scoped session or not, the dialect) and bound at each change: an Accept's ack waits for them, and building
# and keying the statements anew cost ~0.3 ms a change (bench/README.md).
@cache
def _save_statement(columns: frozenset[str], scoped: bool) -> Any:
    t = _HANDOFF.c
    return (update(_HANDOFF)
            .where(t.id == bindparam("w_id"), t.state == bindparam("w_state"), t.revision == bindparam("w_revision"),
                   *([t.workspace == bindparam("w_workspace")] if scoped else []))
            .values({name: bindparam(f"v_{name}", type_=t[name].type) for name in sorted(columns)}))


@cache
def _uncheck_statement(scoped: bool) -> Any:
    return delete(_CHECK).where(_CHECK.c.handoff_id == bindparam("c_id"),
                                *([_CHECK.c.workspace == bindparam("c_workspace")] if scoped else []))


@cache
def _check_statement(dialect: str, scoped: bool) -> Any:
    """The check row written from its handoff's row (which names the workspace), or moved if it is there."""
    insert_check = insert_in(dialect, _CHECK).from_select(
        ["handoff_id", "workspace", "next_check_at"],
        select_core(_HANDOFF.c.id, _HANDOFF.c.workspace, bindparam("c_at", type_=UTCDateTime()))
        .where(_HANDOFF.c.id == bindparam("c_id"),
               *([_HANDOFF.c.workspace == bindparam("c_workspace")] if scoped else [])))
    return insert_check.on_conflict_do_update(index_elements=["handoff_id"],
                                              set_={"next_check_at": insert_check.excluded.next_check_at})


def set_next_check(session: Session, handoff_id: int, at: datetime | None) -> None:
    """A handoff's next look, in the caller's transaction: its check row written, or deleted for never.
    The row takes the handoff's own workspace (read with it), whatever the session."""
    conn = session.connection()
    workspace = workspace_of(session)
    scoped = workspace is not None
    params = {"c_id": handoff_id, "c_workspace": workspace}
    if at is None:
        conn.execute(_uncheck_statement(scoped), params)
        return
    conn.execute(_check_statement(conn.dialect.name, scoped), {**params, "c_at": at})


def add_event(session: Session, handoff_id: int, *, actor: str, action: str, at: datetime,
              from_state: str | None, to_state: str | None, reason: str | None = None,
              detail: dict[str, Any] | None = None) -> int:
    result = session.connection().execute(_INSERT_EVENT, {
        "handoff_id": handoff_id, "at": at, "actor": actor, "action": action, "from_state": from_state,
        "to_state": to_state, "reason": reason, "detail": json.dumps(detail or {})})
    return int(result.inserted_primary_key[0])


def enqueue(session: Session, owed: Sequence[Owed], *, handoff_id: int | None, event_id: int | None,
            now: datetime) -> None:
    """Owe these messages in the caller's transaction; the outbox worker delivers them."""
    enqueue_many(session, [(handoff_id, o) for o in owed], event_id=event_id, now=now)


def enqueue_many(session: Session, owed: Sequence[tuple[int | None, Owed]], *, event_id: int | None,
                 now: datetime) -> None:
    """Messages about several handoffs (a scheduler tick's claims) in one statement."""
    if not owed:
        return
    session.connection().execute(insert(OutboxMessage.__table__), [
        {"conversation": o.conversation, "op": o.op, "view": o.view, "message_key": o.message_key,
         "handoff_id": handoff_id, "audit_event_id": event_id, "thread_key": o.thread_key,
         "dedupe_key": o.dedupe_key, "status": o.status, "attempts": 0, "next_attempt_at": now,
         "created_at": now, "last_error": None, "sent_at": None, "payload": o.payload}
        for handoff_id, o in owed
    ])


def posted_reminders(session: Session, handoff_id: int) -> list[PostedReminder]:
    """The reminders owed about a handoff that are, or may yet be, in Slack: a change that settles one
    owes it an edit (queued behind the post in its conversation, so a post still queued comes first)."""
    # Prebuilt Core (not the ORM's per-statement workspace criteria): an Accept's write runs this.
    workspace = workspace_of(session)
    rows = session.connection().execute(_REMINDERS[workspace is not None],
                                        {"handoff_id": handoff_id, "workspace": workspace}).all()
    return [PostedReminder(conversation, key, payload) for conversation, key, payload in rows if payload]


# --- reads ----------------------------------------------------------------------


def get_handoff(db: Database, handoff_id: int) -> Handoff | None:
    with db.read() as session:
        return get(session, handoff_id)


def list_for_user(db: Database, user_id: str, limit: int = 20) -> list[Handoff]:
    with db.read() as session:
        rows = session.exec(
            select(HandoffRow)
            .where(or_(col(HandoffRow.sdr_id) == user_id, col(HandoffRow.ae_id) == user_id))
            .order_by(col(HandoffRow.id).desc())
            .limit(limit)
        )
        return [to_record(r) for r in rows]


def audit_trail(db: Database, handoff_id: int) -> list[Event]:
    with db.read() as session:
        return [event_record(e) for e in session.exec(
            select(AuditEvent).where(AuditEvent.handoff_id == handoff_id).order_by(col(AuditEvent.id))
        )]
