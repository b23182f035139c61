"""What a person's Home reads: their open handoffs, counts by state, one page of their list."""
from __future__ import annotations

from sqlalchemy import and_, func, or_, select
from sqlmodel import col

from bot.core.handoff import Handoff, State
from storage.db import Database
from storage.handoffs import to_record
from storage.models import HandoffRow

_h = HandoffRow.__table__.c


def _theirs(user_id: str):
    return or_(_h.sdr_id == user_id, _h.ae_id == user_id)


def open_for_user(db: Database, user_id: str, limit: int = 500) -> list[Handoff]:
    """Waiting, rejected (to revise), or accepted and not complete: what can still be owed, through the
    (sdr_id, state) and (ae_id, state) indexes."""
    still_open = or_(_h.state.in_((State.PENDING.value, State.REJECTED.value)),
                     and_(_h.state == State.ACCEPTED.value, _h.completed_at.is_(None)))
    with db.read() as session:
        rows = session.exec(
            select(HandoffRow).where(_theirs(user_id), still_open).order_by(col(HandoffRow.id).desc()).limit(limit)
        )
        return [to_record(r[0]) for r in rows]


def state_counts(db: Database, user_id: str, as_role: str = "sdr") -> dict[str, int]:
    column = _h.sdr_id if as_role == "sdr" else _h.ae_id
    with db.read() as session:
        return {state: n for state, n in session.connection().execute(
            select(_h.state, func.count()).where(column == user_id).group_by(_h.state))}


def page_for_user(db: Database, user_id: str, page: int, size: int) -> tuple[list[Handoff], int]:
    """One page of the person's handoffs (as SDR or AE), newest first, and how many there are in all."""
    with db.read() as session:
        total = session.connection().execute(select(func.count()).select_from(HandoffRow.__table__)
                                             .where(_theirs(user_id))).scalar_one()
        rows = session.exec(select(HandoffRow).where(_theirs(user_id)).order_by(col(HandoffRow.id).desc())
                            .offset(page * size).limit(size))
        return [to_record(r[0]) for r in rows], int(total)
