"""Teams in the database: rows ⇄ TeamPolicy. Every write is one transaction."""
from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any
from datetime import datetime, time

from sqlalchemy import bindparam, delete
from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from bot.core.teams import DEFAULT_REJECT_REASONS, Member, TeamPolicy
from storage.db import Database
from storage.models import Team, TeamMember
from storage.scoping import workspace_of


class MemberConflict(ValueError):
    """Saving would put people in two teams; `users` maps each to the team they are already in."""

    def __init__(self, users: dict[str, str]):
        super().__init__(", ".join(f"{u} is already in team {t!r}" for u, t in sorted(users.items())))
        self.users = users


_t, _m = Team.__table__.c, TeamMember.__table__.c
# Prebuilt Core reads for the acks' paths, each in two forms: a scoped session's (its workspace bound; these
# are out of reach of storage.scoping's ORM criteria) and an unscoped one's.
_TEAM = sa_select(Team.__table__).where(_t.id == bindparam("team_id"))
_MEMBERS = sa_select(TeamMember.__table__).where(_m.team_id == bindparam("team_id"))
_TEAM_OF = sa_select(_m.team_id).where(_m.user_id == bindparam("user_id")).order_by(_m.team_id).limit(1)
_DEFAULTS = (sa_select(_m.paired_ae_id, _t.region, _t.min_notice_hours)
             .join(Team.__table__, (_t.id == _m.team_id) & (_t.workspace == _m.workspace))
             .where(_m.user_id == bindparam("user_id"))
             .order_by(_m.role != "sdr", _m.team_id).limit(1))
_IN_WORKSPACE = {
    _TEAM: _TEAM.where(_t.workspace == bindparam("workspace")),
    _MEMBERS: _MEMBERS.where(_m.workspace == bindparam("workspace")),
    _TEAM_OF: _TEAM_OF.where(_m.workspace == bindparam("workspace")),
    _DEFAULTS: _DEFAULTS.where(_m.workspace == bindparam("workspace")),
}


def _read(session: Session, statement: Any, **params: Any) -> Any:
    workspace = workspace_of(session)
    if workspace is None:
        return session.connection().execute(statement, params)
    return session.connection().execute(_IN_WORKSPACE[statement], {**params, "workspace": workspace})


def _hhmm(value: time) -> str:
    return f"{value.hour:02d}:{value.minute:02d}"


def _time(text: str) -> time:
    hour, minute = text.split(":")
    return time(int(hour), int(minute))


def _reasons_json(reasons: tuple[tuple[str, str], ...]) -> str | None:
    """NULL for the default list, so a team that never chose its own follows the default as it grows."""
    return None if reasons == DEFAULT_REJECT_REASONS else json.dumps([list(r) for r in reasons])


def _reasons(text: str | None) -> tuple[tuple[str, str], ...]:
    return DEFAULT_REJECT_REASONS if not text else tuple((str(i), str(label)) for i, label in json.loads(text))


def to_rows(team: TeamPolicy, now: datetime) -> tuple[Team, list[TeamMember]]:
    row = Team(
        id=team.id, name=team.name, region=team.region, channel_id=team.channel_id, tz=team.tz,
        workdays=",".join(str(d) for d in sorted(team.workdays)),
        day_start=_hhmm(team.day_start), day_end=_hhmm(team.day_end),
        holiday_country=team.holiday_country, holiday_subdivision=team.holiday_subdivision,
        sync_weekday=team.sync_weekday, sync_time=_hhmm(team.sync_time),
        sla_hours=team.sla_hours, sla_from=team.sla_from, heads_up_fraction=team.heads_up_fraction,
        escalate_after_hours=team.escalate_after_hours, auto_reassign=team.auto_reassign,
        outcome_after_hours=team.outcome_after_hours, min_notice_hours=team.min_notice_hours,
        reject_reasons=_reasons_json(team.reject_reasons), empty_agenda=team.empty_agenda, updated_at=now,
    )
    # position keeps the file's order: it is the AEs' round-robin order.
    members = [TeamMember(team_id=team.id, user_id=m.user_id, role=m.role, manager_id=m.manager_id,
                          paired_ae_id=m.paired_ae_id, position=i) for i, m in enumerate(team.members)]
    return row, members


def from_rows(row: Team, members: Iterable[TeamMember]) -> TeamPolicy:
    return TeamPolicy(
        id=row.id, name=row.name, region=row.region, channel_id=row.channel_id, tz=row.tz,
        workdays=frozenset(int(d) for d in row.workdays.split(",") if d.strip()),
        day_start=_time(row.day_start), day_end=_time(row.day_end),
        holiday_country=row.holiday_country, holiday_subdivision=row.holiday_subdivision,
        sync_weekday=row.sync_weekday, sync_time=_time(row.sync_time),
        sla_hours=float(row.sla_hours), sla_from=row.sla_from, heads_up_fraction=float(row.heads_up_fraction),
        escalate_after_hours=float(row.escalate_after_hours), auto_reassign=bool(row.auto_reassign),
        outcome_after_hours=float(row.outcome_after_hours), min_notice_hours=int(row.min_notice_hours),
        reject_reasons=_reasons(row.reject_reasons), empty_agenda=row.empty_agenda or "note",
        members=tuple(Member(m.user_id, m.role, m.manager_id, m.paired_ae_id)
                      for m in sorted(members, key=lambda m: (m.position, m.user_id))),
    )


def _add(session: Session, team: TeamPolicy, now: datetime) -> None:
    row, members = to_rows(team, now)
    session.add(row)
    session.flush()  # the team row first: members reference it
    session.add_all(members)


def replace_teams(db: Database, teams: Iterable[TeamPolicy], now: datetime) -> None:
    """The whole set replaced in one transaction: on any error nothing changes."""
    with db.write() as session:
        session.exec(delete(TeamMember))  # type: ignore[call-overload]
        session.exec(delete(Team))  # type: ignore[call-overload]
        for team in teams:
            _add(session, team, now)


def save_team(db: Database, team: TeamPolicy, now: datetime) -> bool:
    """Insert or replace one team with its members; True if it is new.

    Raises MemberConflict (and changes nothing) if a member is already in another team:
    checked inside the write transaction, so two admins saving at once cannot both win.
    """
    with db.write() as session:
        users = [m.user_id for m in team.members]
        clash = session.exec(
            select(TeamMember).where(TeamMember.user_id.in_(users), TeamMember.team_id != team.id)  # type: ignore[attr-defined]
        ).all() if users else []
        if clash:
            raise MemberConflict({m.user_id: m.team_id for m in clash})
        existing = session.exec(select(Team).where(Team.id == team.id)).first()
        session.exec(delete(TeamMember).where(TeamMember.team_id == team.id))  # type: ignore[call-overload,arg-type]
        if existing is not None:
            session.delete(existing)
            session.flush()
        _add(session, team, now)
        return existing is None


def teams_by_workspace(db: Database) -> list[tuple[str, TeamPolicy]]:
    """Every team with its workspace (an unscoped read: the scheduler's look across workspaces)."""
    with db.read() as session:
        rows = session.exec(select(Team).order_by(Team.workspace, Team.id)).all()
        members = session.exec(select(TeamMember)).all()
    by_team: dict[tuple[str | None, str], list[TeamMember]] = {}
    for m in members:
        by_team.setdefault((m.workspace, m.team_id), []).append(m)
    return [(row.workspace or "", from_rows(row, by_team.get((row.workspace, row.id), []))) for row in rows]


def load_teams(db: Database) -> list[TeamPolicy]:
    with db.read() as session:
        rows = session.exec(select(Team).order_by(Team.id)).all()
        members = session.exec(select(TeamMember)).all()
    by_team: dict[tuple[str | None, str], list[TeamMember]] = {}
    for m in members:
        by_team.setdefault((m.workspace, m.team_id), []).append(m)
    return [from_rows(row, by_team.get((row.workspace, row.id), [])) for row in rows]


def team_in(session: Session, team_id: str) -> TeamPolicy | None:
    # Plain rows, not ORM objects: the form's and the Accept's acks wait for this read.
    row = _read(session, _TEAM, team_id=team_id).first()
    if row is None:
        return None
    return from_rows(row, _read(session, _MEMBERS, team_id=team_id).all())


def get_team(db: Database, team_id: str) -> TeamPolicy | None:
    with db.read() as session:
        return team_in(session, team_id)


def team_for_user(db: Database, user_id: str) -> TeamPolicy | None:
    with db.read() as session:
        return user_team_in(session, user_id)


def user_team_in(session: Session, user_id: str) -> TeamPolicy | None:
    """The team someone is in (the first by id, should they be in two), read in the caller's transaction."""
    team_id = _read(session, _TEAM_OF, user_id=user_id).scalar()
    return team_in(session, team_id) if team_id is not None else None


def submitter_team_in(session: Session, sdr_id: str, ae_id: str | None) -> TeamPolicy | None:
    """The team a new handoff belongs to: the SDR's, else the chosen AE's (an SDR in no team), else None."""
    return user_team_in(session, sdr_id) or (user_team_in(session, ae_id) if ae_id else None)


def submitter_team(db: Database, sdr_id: str, ae_id: str | None) -> TeamPolicy | None:
    with db.read() as session:
        return submitter_team_in(session, sdr_id, ae_id)


def form_defaults(db: Database, sdr_id: str) -> tuple[str | None, str, int] | None:
    """What the SDR's form opens with, from one read: (the paired AE, the region and the minimum notice of
    the SDR's team); None for someone in no team."""
    with db.read() as session:
        row = _read(session, _DEFAULTS, user_id=sdr_id).first()
    return (row[0], row[1], row[2]) if row is not None else None


def paired_ae(db: Database, sdr_id: str) -> str | None:
    """The AE prefilled in this SDR's form, if an admin paired them."""
    with db.read() as session:
        return session.exec(
            select(TeamMember.paired_ae_id).where(TeamMember.user_id == sdr_id, TeamMember.role == "sdr")
            .order_by(TeamMember.team_id)
        ).first()
