"""What the numbers read: a few columns of the handoffs that can matter, and their accepts and rejects.

Two set-wise queries per answer, whatever the history's size: the handoffs are narrowed by scope and
by time (created, changed, or still waiting since `since`), the decisions by action and time through
the audit trail's (action, at) index (migration 0005).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, or_, select
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


def _rows(result: object) -> list[StatsRow]:
    return [StatsRow(**row._mapping) for row in result]  # type: ignore[attr-defined]


def stats_inputs(db: Database, scope: Scope, since: datetime) -> tuple[list[StatsRow], list[Decision]]:
    """The handoffs in scope created, changed or still waiting since `since`, and their decisions since then."""
    matters = or_(_h.created_at >= since, _h.updated_at >= since, _h.state == State.PENDING.value)
    scoped = scope.where()
    where = and_(scoped, matters) if scoped is not None else matters
    decisions = select(_e.handoff_id, _e.at, _e.action, _e.actor, _e.reason).where(
        _e.action.in_(("accept", "reject")), _e.at >= since)
    if scoped is not None:
        decisions = decisions.join_from(AuditEvent.__table__, HandoffRow.__table__,
                                        _e.handoff_id == _h.id).where(scoped)
    with db.read() as session:
        conn = session.connection()
        rows = _rows(conn.execute(select(*STATS_COLUMNS).where(where)))
        found = [Decision(**row._mapping) for row in conn.execute(decisions.order_by(_e.at))]
    return rows, found


def export_inputs(db: Database, scope: Scope, start: datetime, end: datetime) -> tuple[list[StatsRow], list[Decision]]:
    """The handoffs submitted in [start, end) with the columns a spreadsheet wants, and their accepts."""
    created = and_(_h.created_at >= start, _h.created_at < end)
    scoped = scope.where()
    where = and_(scoped, created) if scoped is not None else created
    with db.read() as session:
        conn = session.connection()
        rows = _rows(conn.execute(select(*STATS_COLUMNS, *EXPORT_EXTRA).where(where).order_by(_h.created_at, _h.id)))
        ids = select(_h.id).where(where)
        found = [Decision(**row._mapping) for row in conn.execute(
            select(_e.handoff_id, _e.at, _e.action, _e.actor, _e.reason)
            .where(_e.action == "accept", _e.handoff_id.in_(ids)).order_by(_e.at))]
    return rows, found
