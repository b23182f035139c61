"""What the numbers read. Plain counts (handoffs submitted, IQMs and SAOs, meetings held, rejects by reason) are
counted by the database per (SDR, AE) pair and period; only what needs working hours comes back as rows: the
periods' accepts and the handoffs whose SLA deadline may have passed while they waited. Each read goes through
an index on the scope and a time (migrations 0005, 0006), whatever the history's size.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import String, and_, case, exists, func, or_, select, type_coerce
from sqlalchemy.sql.elements import ColumnElement

from bot.core.handoff import State
from bot.core.stats import (
    DEADLINE_REACH,
    HELD,
    MEETING_TYPES,
    Accept,
    Clocked,
    Decision,
    Held,
    PeriodCounts,
    Rejects,
    StatsInputs,
    StatsRow,
    Submitted,
)
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


def _sqlite_time(value: str) -> datetime:
    return datetime.fromisoformat(value + "+00:00")  # SQLite's naive UTC text, never NULL here


def _fetch(conn: object, stmt: object) -> list:
    """The rows as the driver's own tuples: SQLAlchemy builds, binds and runs the statement, but tens of thousands
    of result rows skip its per-row objects (~2x faster here). Only for columns that need no result processing
    (times are read as text on SQLite, see _text_or_typed, and parsed by _utc)."""
    result = conn.execute(stmt)  # type: ignore[attr-defined]
    try:
        return result.cursor.fetchall()  # type: ignore[no-any-return]
    finally:
        result.close()


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


def _sides(scope: Scope) -> list[ColumnElement[bool] | None]:
    """The scope as reads that each have an index: a person's handoffs side by side (as SDR, then as AE), since
    SQLite answers an OR of the two by reading every handoff of both."""
    if scope.user_id is not None:
        return [_h.sdr_id == scope.user_id, and_(_h.ae_id == scope.user_id, _h.sdr_id != scope.user_id)]
    return [scope.where()]


def _in_workspace(db: Database, term: ColumnElement[bool] | None) -> ColumnElement[bool] | None:
    """A scoped database's reads stay in its workspace (these are Core selects, which storage.scoping's ORM
    criteria do not reach)."""
    if db.workspace is None:
        return term
    mine = _h.workspace == db.workspace
    return mine if term is None else and_(mine, term)


def _where(side: ColumnElement[bool] | None, *terms: object) -> ColumnElement[bool]:
    return and_(*([side] if side is not None else []), *terms)  # type: ignore[arg-type]


def _text_or_typed(db: Database, column: object, name: str) -> object:
    """A time as SQLite's stored text (parsed by _utc, ~3x faster than the type's own processing) or as the
    typed value elsewhere."""
    return type_coerce(column, String).label(name) if db.is_sqlite else column.label(name)  # type: ignore[attr-defined]


def stats_inputs(db: Database, scope: Scope, windows: Sequence[tuple[datetime, datetime]],
                 since: datetime) -> StatsInputs:
    """What the figures of these periods ([start, end) each) need. Counted by the database, per (SDR, AE) pair:
    handoffs submitted (meeting ones decided; of those, accepted), meetings held by outcome, rejects by reason.
    As rows, only what needs working hours: the periods' accepts (time to accept), the handoffs waiting now and
    those changed since `since` that were decided late enough in a period for its deadline to have passed first
    (breaches; the same handoffs the figures read before they were counted here)."""
    sides = [_in_workspace(db, side) for side in _sides(scope)]
    scoped = _in_workspace(db, scope.where())
    start = func.coalesce(_h.sla_start, _h.created_at)
    meeting = and_(_h.handoff_type.in_(MEETING_TYPES), _h.state != State.PENDING.value)
    accepted_ever = exists().where(_e.handoff_id == _h.id, _e.action == "accept")
    sao = case((and_(meeting, or_(_h.state.in_((State.ACCEPTED.value, State.CLOSED.value)), accepted_ever)), 1),
               else_=0)
    pair = (_h.sdr_id, _h.ae_id)
    joined = AuditEvent.__table__.join(HandoffRow.__table__, _e.handoff_id == _h.id)
    late = or_(*(and_(start >= begin - DEADLINE_REACH, start < end,
                      or_(_h.decided_at.is_(None), _h.decided_at >= begin)) for begin, end in windows))
    clocked_columns = (*pair, _h.team_id, _h.ae_tz, _h.state, _text_or_typed(db, start, "start"),
                       _text_or_typed(db, _h.decided_at, "decided_at"))
    at = _sqlite_time if db.is_sqlite else _utc
    periods = []
    with db.read() as session:
        conn = session.connection()
        for begin, end in windows:
            submitted: list[Submitted] = []
            held: list[Held] = []
            for side in sides:
                submitted += [Submitted(*r) for r in _fetch(conn,
                    select(*pair, func.count(), func.sum(case((meeting, 1), else_=0)), func.sum(sao))
                    .where(_where(side, _h.created_at >= begin, _h.created_at < end)).group_by(*pair))]
                # An outcome is a change: updated_at >= outcome_at, so the (scope, updated_at) index finds them.
                held += [Held(*r) for r in _fetch(conn,
                    select(*pair, _h.meeting_outcome, func.count())
                    .where(_where(side, _h.updated_at >= begin, _h.meeting_outcome.in_(HELD),
                                  _h.outcome_at >= begin, _h.outcome_at < end))
                    .group_by(*pair, _h.meeting_outcome))]
            in_window = and_(_e.at >= begin, _e.at < end)
            rejects = [Rejects(*r) for r in _fetch(conn,
                select(*pair, _e.reason, func.count()).select_from(joined)
                .where(_where(scoped, _e.action == "reject", in_window)).group_by(*pair, _e.reason))]
            accepted = select(_e.handoff_id, *pair, _h.team_id, _h.ae_tz, _text_or_typed(db, start, "start"),
                              _text_or_typed(db, _e.at, "at"), type_coerce(_h.completed_at, String)) \
                .select_from(joined).where(_where(scoped, _e.action == "accept", in_window))
            accepts = [Accept(i, sdr, ae, team, tz, at(begun), at(when), complete is not None)
                       for i, sdr, ae, team, tz, begun, when, complete in _fetch(conn, accepted)]
            periods.append(PeriodCounts(submitted, held, rejects, accepts))
        clocked = []
        for side in sides:
            for where in (_where(side, _h.state == State.PENDING.value),
                          _where(side, _h.updated_at >= since, _h.state != State.PENDING.value, late)):
                clocked += [Clocked(sdr, ae, team, tz, state, at(begun), at(decided) if decided is not None else None)
                            for sdr, ae, team, tz, state, begun, decided in
                            _fetch(conn, select(*clocked_columns).where(where))]
    return StatsInputs(tuple(periods), clocked)


def export_inputs(db: Database, scope: Scope, start: datetime, end: datetime) -> tuple[list[StatsRow], list[Decision]]:
    """The handoffs submitted in [start, end) with the columns a spreadsheet wants, and their accepts."""
    created = and_(_h.created_at >= start, _h.created_at < end)
    scoped = _in_workspace(db, scope.where())
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
    """Per week: handoffs submitted, accepts and rejects, counted by the database (an index range on the team and
    time; each row's week found once by a CASE over the week ends, then grouped), not rows shipped to Python."""
    if not weeks:
        return []
    first, last = weeks[0][1], weeks[-1][2]
    scoped = _in_workspace(db, scope.where())

    def week_of(column: object) -> object:
        return case(*[(column < end, i) for i, (_m, _start, end) in enumerate(weeks)]).label("week")  # type: ignore[operator]

    made_rows = select(week_of(_h.created_at)).where(_where(scoped, _h.created_at >= first, _h.created_at < last))
    decided_rows = select(week_of(_e.at), _e.action).where(_e.action.in_(("accept", "reject")), _e.at >= first,
                                                          _e.at < last)
    if scoped is not None:
        decided_rows = decided_rows.join_from(AuditEvent.__table__, HandoffRow.__table__,
                                              _e.handoff_id == _h.id).where(scoped)
    made_sub, decided_sub = made_rows.subquery(), decided_rows.subquery()
    n = len(weeks)
    out = [[0, 0, 0] for _ in range(n)]
    with db.read() as session:
        conn = session.connection()
        for week, count in conn.execute(select(made_sub.c.week, func.count()).group_by(made_sub.c.week)):
            out[week][0] = count
        for week, action, count in conn.execute(select(decided_sub.c.week, decided_sub.c.action, func.count())
                                                .group_by(decided_sub.c.week, decided_sub.c.action)):
            out[week][1 if action == "accept" else 2] = count
    return [(made, accepted, rejected) for made, accepted, rejected in out]
