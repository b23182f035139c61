"""What the numbers read: a few columns of the handoffs that can matter, and their accepts and rejects.

Two set-wise queries per answer, whatever the history's size: the handoffs are narrowed by scope and
by time (created, changed, or still waiting since `since`), the decisions by action and time through
the audit trail's (action, at) index (migration 0005).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import String, and_, case, func, or_, select, type_coerce
from sqlalchemy.sql.elements import ColumnElement

from bot.core.handoff import State
from bot.core.stats import Decision, StatsRow
from storage.db import Database
from storage.models import AuditEvent, HandoffRow

_h = HandoffRow.__table__.c
_e = AuditEvent.__table__.c

STATS_COLUMNS = (
    _h.id, _h.state, _h.sdr_id, _h.ae_id, _h.team_id, _h.ae_tz, _h.handoff_type, _h.created_at, _h.sla_start,
    _h.decided_at, _h.meeting_outcome, _h.outcome_at, _h.completed_at,
)
EXPORT_EXTRA = (_h.company, _h.region, _h.rejection_reason)
DECISION_COLUMNS = (_e.handoff_id, _e.at, _e.action, _e.actor, _e.reason)  # Decision's field order


@dataclass(frozen=True)
class Scope:
    """Whose handoffs: a team's, a person's (as SDR or AE), or everyone's (all fields None)."""

    team_id: str | None = None
    user_id: str | None = None

    def where(self) -> ColumnElement[bool] | None:
        if self.team_id is not None:
            return _h.team_id == self.team_id
        if self.user_id is not None:
            return or_(_h.sdr_id == self.user_id, _h.ae_id == self.user_id)
        return None


SQLITE_TIME = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores a DateTime in SQLite
TIMES = frozenset({"created_at", "sla_start", "decided_at", "outcome_at", "completed_at", "at"})


def _columns(db: Database, columns: tuple) -> list:
    """On SQLite the times come back as their stored text and are parsed here with fromisoformat, ~3x faster
    than the column type's own processing over tens of thousands of rows; elsewhere as typed values."""
    if not db.is_sqlite:
        return list(columns)
    return [type_coerce(c, String).label(c.name) if c.name in TIMES else c for c in columns]


def _utc(value: object) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc)
    return datetime.fromisoformat(f"{value}+00:00")  # SQLite's naive UTC text


def _at_or_after(db: Database, column: object, since: datetime) -> object:
    """`column >= since`; on SQLite compared as the stored text (same format, so the same order), which keeps
    the statement's parameters plain for the DB-API cursor in _fetch."""
    if not db.is_sqlite:
        return column >= since  # type: ignore[operator]
    return type_coerce(column, String) >= since.astimezone(timezone.utc).strftime(SQLITE_TIME)


def _before(db: Database, column: object, since: datetime) -> object:
    if not db.is_sqlite:
        return column < since  # type: ignore[operator]
    return type_coerce(column, String) < since.astimezone(timezone.utc).strftime(SQLITE_TIME)


def _fetch(db: Database, conn: object, stmt: object) -> list:
    """The rows as plain tuples. On SQLite straight from the DB-API cursor: the statement is still built and
    compiled by SQLAlchemy, but tens of thousands of result rows skip its per-row objects (~3x faster)."""
    if not db.is_sqlite:
        return [tuple(r) for r in conn.execute(stmt)]  # type: ignore[attr-defined]
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})  # type: ignore[attr-defined]
    params = compiled.construct_params()
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[attr-defined]
    try:
        cursor.execute(str(compiled), [params[name] for name in compiled.positiontup])
        return cursor.fetchall()
    finally:
        cursor.close()


def _converted(result: object, columns: tuple) -> list[list]:
    """Rows as value lists in the columns' order (the records' field order), times made aware UTC."""
    times = [i for i, c in enumerate(columns) if c.name in TIMES]
    out = []
    for row in result:  # type: ignore[attr-defined]
        values = list(row)
        for i in times:
            if values[i] is not None:
                values[i] = _utc(values[i])
        out.append(values)
    return out


def _rows(result: object, columns: tuple) -> list[StatsRow]:
    return [StatsRow(*values) for values in _converted(result, columns)]


def _decisions(result: object) -> list[Decision]:
    return [Decision(*values) for values in _converted(result, DECISION_COLUMNS)]


def stats_inputs(db: Database, scope: Scope, since: datetime) -> tuple[list[StatsRow], list[Decision]]:
    """The handoffs in scope changed (so also created) or still waiting since `since`, and their decisions since
    then. Two reads of handoffs, each through an index (a team's or a person's by time; the waiting by state),
    rather than one OR that SQLite can only answer by reading the whole team."""
    scoped = scope.where()
    # A person's handoffs are read side by side (as SDR, then as AE) so each read has its index.
    sides = [_h.sdr_id == scope.user_id, and_(_h.ae_id == scope.user_id, _h.sdr_id != scope.user_id)] \
        if scope.user_id is not None else [scoped]
    reads = []
    for side in sides:
        changed = _at_or_after(db, _h.updated_at, since)
        recent = and_(side, changed) if side is not None else changed
        waiting = and_(_h.state == State.PENDING.value, _before(db, _h.updated_at, since))
        reads += [recent, and_(side, waiting) if side is not None else waiting]
    decisions = select(*_columns(db, DECISION_COLUMNS)).where(
        _e.action.in_(("accept", "reject")), _at_or_after(db, _e.at, since))
    if scoped is not None:
        decisions = decisions.join_from(AuditEvent.__table__, HandoffRow.__table__,
                                        _e.handoff_id == _h.id).where(scoped)
    with db.read() as session:
        conn = session.connection()
        columns = _columns(db, STATS_COLUMNS)
        rows = [r for where in reads for r in _rows(_fetch(db, conn, select(*columns).where(where)), STATS_COLUMNS)]
        found = _decisions(_fetch(db, conn, decisions.order_by(_e.at)))
    return rows, found


def export_inputs(db: Database, scope: Scope, start: datetime, end: datetime) -> tuple[list[StatsRow], list[Decision]]:
    """The handoffs submitted in [start, end) with the columns a spreadsheet wants, and their accepts."""
    created = and_(_h.created_at >= start, _h.created_at < end)
    scoped = scope.where()
    where = and_(scoped, created) if scoped is not None else created
    with db.read() as session:
        conn = session.connection()
        rows = _rows(conn.execute(select(*_columns(db, STATS_COLUMNS + EXPORT_EXTRA)).where(where)
                                  .order_by(_h.created_at, _h.id)), STATS_COLUMNS + EXPORT_EXTRA)
        ids = select(_h.id).where(where)
        found = _decisions(conn.execute(
            select(*_columns(db, DECISION_COLUMNS))
            .where(_e.action == "accept", _e.handoff_id.in_(ids)).order_by(_e.at)))
    return rows, found


def weekly_counts(db: Database, scope: Scope,
                  weeks: list[tuple[object, datetime, datetime]]) -> list[tuple[int, int, int]]:
    """Per week: handoffs submitted, accepts and rejects, counted by the database in one pass each (an index
    range on the team and time), not rows shipped to Python."""
    if not weeks:
        return []
    first, last = weeks[0][1], weeks[-1][2]
    scoped = scope.where()

    def buckets(column: object, extra: object = None) -> list[object]:
        return [func.sum(case((and_(column >= start, column < end, *( [extra] if extra is not None else [])), 1),
                              else_=0)) for _m, start, end in weeks]

    submitted_where = and_(_h.created_at >= first, _h.created_at < last)
    if scoped is not None:
        submitted_where = and_(scoped, submitted_where)
    decided_where = and_(_e.action.in_(("accept", "reject")), _e.at >= first, _e.at < last)
    decided = select(*buckets(_e.at, _e.action == "accept"), *buckets(_e.at, _e.action == "reject")).where(
        decided_where)
    if scoped is not None:
        decided = decided.join_from(AuditEvent.__table__, HandoffRow.__table__, _e.handoff_id == _h.id).where(scoped)
    with db.read() as session:
        conn = session.connection()
        made = conn.execute(select(*buckets(_h.created_at)).where(submitted_where)).one()
        both = conn.execute(decided).one()
    n = len(weeks)
    return [(int(made[i] or 0), int(both[i] or 0), int(both[n + i] or 0)) for i in range(n)]
