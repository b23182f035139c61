"""What the scheduler's tick reads and writes, inside the transaction the chase service opens.

A tick with a thousand handoffs due writes a few thousand rows. They go to the driver as plain tuples
in a few statements: SQLAlchemy's per-row parameter processing cost more than the database's own work.
The tick runs once per workspace (bot.runtime.workspaces), on a session scoped to it: these statements,
out of reach of the ORM's criteria, name its workspace themselves (storage.scoping refuses them otherwise).
"""
from __future__ import annotations

import sqlite3
from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection
from sqlmodel import Session, col, select

from bot.core.audience import Owed
from bot.core.chase import ChaseFacts
from bot.core.workspaces import SINGLE
from storage.db import Database
from storage.driver import read_datetime, sqlite_text
from storage.models import HandoffCheck, HandoffRow, OutboxMessage, UTCDateTime
from storage.scoping import workspace_of

# Only the columns the chase rules read, in ChaseFacts' order: the tick's cost is in what is due, not in row width.
CHASE_COLUMNS = (
    HandoffRow.id, HandoffRow.state, HandoffRow.revision, HandoffRow.sdr_id, HandoffRow.ae_id, HandoffRow.ae_tz,
    HandoffRow.created_at, HandoffRow.sla_start, HandoffRow.meeting_start, HandoffRow.meeting_kind,
    HandoffRow.meeting_outcome, HandoffRow.outcome_at, HandoffRow.next_step_due, HandoffRow.next_step_owner,
    HandoffRow.completed_at, HandoffRow.team_id,
)
assert tuple(c.key for c in CHASE_COLUMNS) == tuple(ChaseFacts.__dataclass_fields__)[:len(CHASE_COLUMNS)]

# The columns a claim writes; the others keep their defaults (NULL).
CLAIM_COLUMNS = ("workspace", "conversation", "op", "view", "message_key", "handoff_id", "thread_key", "dedupe_key",
                 "status", "attempts", "next_attempt_at", "created_at", "payload")
ROWS_PER_STATEMENT = 500  # SQLite: dedupe keys looked up a statement
# PostgreSQL: the types of the claim's columns sent as arrays (the constant ones are single parameters). The
# arrays go in psycopg's binary format (`%b`): in text format every element is quoted by a regular expression,
# each '"' of a reminder's JSON payload expanded through a template: ~30 ms of a 1k-due tick's CPU.
PG_CLAIM_ARRAYS = ("text", "text", "text", "text", "integer", "text", "text", "text", "text")


def due_for_check(session: Session, now: datetime, limit: int) -> list[ChaseFacts]:
    """Handoffs whose next check has come, through handoff_check's index on (workspace, next_check_at). On
    PostgreSQL the handoff rows are held and a second scheduler skips them (SQLite serializes the whole tick
    already); every change to a handoff locks its row first (storage.handoffs), so a change waits for this
    tick, or this tick skips what a change holds. The handoff's lock, not its check row's: the claims' foreign
    key takes a share lock on each handoff anyway (writing to its row unless a stronger lock is held), and
    the check rows are rewritten by this tick."""
    conn = session.connection()
    lock = "" if conn.dialect.name == "sqlite" else " FOR NO KEY UPDATE OF h SKIP LOCKED"
    mark = _placeholder(conn)
    rows = conn.exec_driver_sql(
        f"SELECT {', '.join('h.' + c.key for c in CHASE_COLUMNS)} FROM {HandoffCheck.__tablename__} c "
        f"JOIN {HandoffRow.__tablename__} h ON h.id = c.handoff_id WHERE c.workspace = {mark} "
        f"AND c.next_check_at <= {mark} ORDER BY c.next_check_at, c.handoff_id LIMIT {int(limit)}{lock}",
        (_workspace(session), _datetime_param(conn)(now)),
    ).fetchall()
    at = _datetime_result(conn)
    return [ChaseFacts(i, state, revision, sdr, ae, tz, at(created), at(sla), at(meeting), kind, outcome,
                       at(outcome_at), at(step_due), step_owner, at(completed), team)
            for (i, state, revision, sdr, ae, tz, created, sla, meeting, kind, outcome, outcome_at, step_due,
                 step_owner, completed, team) in rows]


def claim(session: Session, owed: Sequence[tuple[int | None, Owed]], now: datetime) -> set[str]:
    """Owe these messages in the outbox, in order, each claimed by its dedupe key; returns the keys this
    transaction claimed. A key the outbox holds already (an earlier tick claimed it) is skipped, not an
    error: whoever claimed it first owns it. Keys name their handoff, whose row the tick holds, so no other
    tick claims them meanwhile; should anything else, ON CONFLICT DO NOTHING keeps the first claim."""
    if not owed:
        return set()
    conn = session.connection()
    at = _datetime_param(conn)(now)
    workspace = _workspace(session)
    into = f"INSERT INTO {OutboxMessage.__tablename__} ({', '.join(CLAIM_COLUMNS)})"
    if conn.dialect.name != "sqlite":
        # A round trip and a statement's parse cost more than a row there: one statement, a typed array per
        # column, in order (the ids follow it: a conversation's messages go out by id), the claimed keys returned.
        columns = list(zip(*((o.conversation, o.op, o.view, o.message_key, handoff_id, o.thread_key, o.dedupe_key,
                                o.status, o.payload) for handoff_id, o in owed), strict=True))
        arrays = ", ".join(f"%b::{kind}[]" for kind in PG_CLAIM_ARRAYS)
        return {key for (key,) in conn.exec_driver_sql(
            into + " SELECT %s, conversation, op, view, message_key, handoff_id, thread_key, "
            f"dedupe_key, status, 0, %s, %s, payload FROM unnest({arrays}) WITH ORDINALITY AS claim (conversation, "
            "op, view, message_key, handoff_id, thread_key, dedupe_key, status, payload, n) ORDER BY n "
            "ON CONFLICT (workspace, dedupe_key) DO NOTHING RETURNING dedupe_key",
            (workspace, at, at, *(list(c) for c in columns))) if key}
    # SQLite (in process): the keys looked up, then one prepared INSERT run per row (cheaper than a
    # multi-row VALUES with RETURNING there).
    keys = [o.dedupe_key for _, o in owed if o.dedupe_key]
    taken = held(session, keys)
    fresh = [(workspace, o.conversation, o.op, o.view, o.message_key, handoff_id, o.thread_key, o.dedupe_key, o.status,
              0, at, at, o.payload) for handoff_id, o in owed if o.dedupe_key not in taken]
    if fresh:
        values = ", ".join("?" * len(CLAIM_COLUMNS))
        conn.exec_driver_sql(f"{into} VALUES ({values}) ON CONFLICT (workspace, dedupe_key) DO NOTHING", fresh)
    return {key for key in keys if key not in taken}


def held(session: Session, keys: Collection[str]) -> set[str]:
    """Which of these dedupe keys the outbox holds in the session's workspace."""
    conn = session.connection()
    table, workspace, wanted = OutboxMessage.__tablename__, _workspace(session), sorted(set(keys))
    if not wanted:
        return set()
    if conn.dialect.name != "sqlite":
        return {key for (key,) in conn.exec_driver_sql(
            f"SELECT dedupe_key FROM {table} WHERE workspace = %s AND dedupe_key = ANY(%b::text[])",
            (workspace, wanted))}
    per = min(ROWS_PER_STATEMENT, _sqlite_max_params(conn) - 1)
    found: set[str] = set()
    for i in range(0, len(wanted), per):
        chunk = wanted[i:i + per]
        found.update(key for (key,) in conn.exec_driver_sql(
            f"SELECT dedupe_key FROM {table} WHERE workspace = ? AND dedupe_key IN ({', '.join('?' * len(chunk))})",
            (workspace, *chunk)))
    return found


def set_next_checks(session: Session, checks: Sequence[tuple[int, datetime | None]]) -> None:
    """Each handoff's next look: its check row moved, or deleted when the chase has nothing more to ask. The
    rows were read in this transaction and are held by it (SQLite's write lock, FOR UPDATE on PostgreSQL):
    nobody changed them since. Narrow rows: the update writes two index entries, not the handoff's eleven."""
    if not checks:
        return
    conn = session.connection()
    to_db = _datetime_param(conn)
    table = HandoffCheck.__tablename__
    # The ids came from this workspace's read; the term is what storage.scoping checks every statement for.
    workspace = _workspace(session)
    moved = [(handoff_id, to_db(at)) for handoff_id, at in checks if at is not None]
    done = [handoff_id for handoff_id, at in checks if at is None]
    if conn.dialect.name == "sqlite":
        if moved:
            conn.exec_driver_sql(f"UPDATE {table} SET next_check_at = ? WHERE handoff_id = ? AND workspace = ?",
                                 [(at, handoff_id, workspace) for handoff_id, at in moved])
        if done:
            conn.exec_driver_sql(f"DELETE FROM {table} WHERE handoff_id = ? AND workspace = ?",
                                 [(handoff_id, workspace) for handoff_id in done])
        return
    if moved:
        conn.exec_driver_sql(
            f"UPDATE {table} SET next_check_at = v.at FROM unnest(%b::integer[], %b::timestamptz[]) AS v (id, at) "
            f"WHERE {table}.handoff_id = v.id AND {table}.workspace = %s",
            ([handoff_id for handoff_id, _ in moved], [at for _, at in moved], workspace))
    if done:
        conn.exec_driver_sql(f"DELETE FROM {table} WHERE handoff_id = ANY(%b::integer[]) AND workspace = %s",
                             (done, workspace))


def agenda_posted(db: Database, keys: list[str]) -> set[str]:
    """Which weekly agendas were already claimed (their first message's dedupe key is `<key>:0`)."""
    return {key for _workspace, key in agenda_claims(db, keys)}


def agenda_claims(db: Database, keys: list[str], workspaces: Collection[str] = ()) -> set[tuple[str, str]]:
    """(workspace, agenda key) of each of these agendas claimed: the database's own workspace's when it is
    scoped, else those of `workspaces` (the scheduler's look across them: the teams' workspaces), else every
    workspace's. Named, the workspace leads the lookup in the claims' unique index; unnamed, every message is
    scanned."""
    found: set[tuple[str, str]] = set()
    if not keys:
        return found
    with db.read() as session:
        for i in range(0, len(keys), ROWS_PER_STATEMENT):
            query = (select(OutboxMessage.workspace, OutboxMessage.dedupe_key)
                     .where(col(OutboxMessage.dedupe_key).in_([f"{k}:0" for k in keys[i:i + ROWS_PER_STATEMENT]])))
            if db.workspace is None and workspaces:
                query = query.where(col(OutboxMessage.workspace).in_(sorted(workspaces)))
            found.update((workspace or "", key.rsplit(":", 1)[0]) for workspace, key in session.exec(query) if key)
    return found


def _workspace(session: Session) -> str:
    """The session's workspace; unscoped, the one workspace of an install without OAuth."""
    return workspace_of(session) or SINGLE


def _placeholder(conn: Connection) -> str:
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def _sqlite_max_params(conn: Connection) -> int:
    """Bound parameters a SQLite statement may take: the build's limit (999 on old builds)."""
    getlimit = getattr(conn.connection.dbapi_connection, "getlimit", None)  # Python 3.11+
    return int(getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)) if getlimit else 999


def _datetime_param(conn: Connection) -> Callable[[datetime | None], Any]:
    """A datetime as the driver takes it for a UTCDateTime column: what SQLAlchemy would bind for it."""
    dialect = conn.dialect
    if dialect.name == "sqlite":
        return lambda value: None if value is None else sqlite_text(value)
    process = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    return process if process is not None else (lambda value: value)


def _datetime_result(conn: Connection) -> Callable[[Any], datetime | None]:
    """A UTCDateTime column's value from the driver as an aware UTC datetime, as SQLAlchemy would read it."""
    dialect = conn.dialect
    if dialect.name == "sqlite":
        # SQLAlchemy parses its ISO 8601 text with a regular expression: six columns of a thousand rows were a
        # fifth of the due read. storage.driver reads the same text in C.
        return read_datetime(True)
    process = UTCDateTime().dialect_impl(dialect).result_processor(dialect, None)
    return process if process is not None else (lambda value: value)
