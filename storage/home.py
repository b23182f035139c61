"""What a person's Home reads: what they owe (first items and how many), counts by state, one page of their list.

Each read goes through an index on the person (sdr_id or ae_id, with state or updated_at), one side at a
time: an OR of the two would make SQLite read the person's whole history.
"""
from __future__ import annotations

import heapq

from sqlalchemy import and_, func, or_, select

from bot.core.handoff import Handoff, State
from storage.db import Database
from storage.handoffs import to_record
from storage.models import HandoffRow
from storage.scoping import only

_h = HandoffRow.__table__.c
FIRST = 20  # items a Home list shows before "and N more"


def _records(session, where, order, limit: int) -> list[Handoff]:
    return [to_record(r[0]) for r in session.exec(select(HandoffRow).where(where).order_by(*order).limit(limit))]


def _count(session, where) -> int:
    return int(session.connection().execute(select(func.count()).select_from(HandoffRow.__table__)
                                            .where(where, *only(session, HandoffRow))).scalar_one())


def sdr_owed(db: Database, user_id: str) -> tuple[list[Handoff], int]:
    """Rejections to revise or withdraw, and no-shows to rebook: the first FIRST (oldest change first), and all."""
    owed = and_(_h.sdr_id == user_id, or_(
        _h.state == State.REJECTED.value,
        and_(_h.state == State.ACCEPTED.value, _h.meeting_outcome == "no_show", _h.completed_at.is_(None))))
    with db.read() as session:
        return _records(session, owed, (_h.updated_at, _h.id), FIRST), _count(session, owed)


def ae_waiting(db: Database, user_id: str, limit: int = 500) -> list[Handoff]:
    """Waiting on this AE (few: a pending handoff is chased until it moves)."""
    with db.read() as session:
        return _records(session, and_(_h.ae_id == user_id, _h.state == State.PENDING.value), (_h.id,), limit)


def ae_missing(db: Database, user_id: str, now) -> tuple[list[Handoff], int]:
    """Accepted and not complete, the meeting over with no outcome, or held with no next step: first FIRST, and all."""
    missing = and_(_h.ae_id == user_id, _h.state == State.ACCEPTED.value, _h.completed_at.is_(None),
                   or_(and_(_h.meeting_outcome.is_(None), _h.meeting_start.is_not(None), _h.meeting_start <= now),
                       and_(_h.meeting_outcome == "completed", _h.next_step.is_(None))))
    with db.read() as session:
        return _records(session, missing, (_h.meeting_start, _h.id), FIRST), _count(session, missing)


def state_counts(db: Database, user_id: str, as_role: str = "sdr") -> dict[str, int]:
    column = _h.sdr_id if as_role == "sdr" else _h.ae_id
    with db.read() as session:
        return {state: n for state, n in session.connection().execute(
            select(_h.state, func.count()).where(column == user_id, *only(session, HandoffRow)).group_by(_h.state))}


def page_for_user(db: Database, user_id: str, page: int, size: int) -> tuple[list[Handoff], int]:
    """One page of the person's handoffs (as SDR or AE), the most recently changed first, and how many in all.

    Each side is read newest first through its (person, updated_at) index, only as deep as the page; the two
    are merged here, and only the page's rows are read whole."""
    as_sdr = _h.sdr_id == user_id
    as_ae = and_(_h.ae_id == user_id, _h.sdr_id != user_id)
    depth = (page + 1) * size
    with db.read() as session:
        conn = session.connection()
        total = _count(session, as_sdr) + _count(session, as_ae)
        sides = [conn.execute(select(_h.updated_at, _h.id).where(where, *only(session, HandoffRow))
                              .order_by(_h.updated_at.desc(), _h.id.desc()).limit(depth)).all()
                 for where in (as_sdr, as_ae)]
        merged = heapq.merge(*sides, key=lambda r: (r[0], r[1]), reverse=True)
        ids = [r[1] for i, r in enumerate(merged) if i >= page * size][:size]
        if not ids:
            return [], total
        rows = {h.id: h for h in (to_record(r[0]) for r in session.exec(
            select(HandoffRow).where(_h.id.in_(ids))))}
        return [rows[i] for i in ids], total
