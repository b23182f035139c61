"""Across workspaces: moving the records kept without OAuth (or of one workspace of an Enterprise Grid org, when
the org installs the app org-wide) into an installed one, and what the scheduler's pass over every workspace reads
first."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, insert, literal, select, text, update

from bot.core.agenda import agenda_slots
from bot.core.teams import TeamPolicy
from bot.core.workspaces import SINGLE
from storage.chase import agenda_claims
from storage.db import Database
from storage.models import (
    AuditEvent,
    HandoffCheck,
    HandoffRow,
    OutboxMessage,
    SlackMessage,
    Team,
    TeamMember,
    UTCDateTime,
)
from storage.teams import teams_by_workspace


class AdoptConflict(ValueError):
    """The workspace has teams of these ids already."""


def adopt(db: Database, workspace: str, source: str = SINGLE) -> dict[str, int]:
    """Every row of the workspace `source` (by default "", the install without OAuth) moved into `workspace`, in
    one transaction; how many, per table. Handoff ids are unique across workspaces: only teams can clash."""
    if source == workspace:
        raise AdoptConflict(f"the records are in {workspace!r} already; nothing moved")
    team, member = Team.__table__, TeamMember.__table__  # type: ignore[attr-defined]
    with db.write() as session:
        clash = session.execute(select(team.c.id).where(team.c.workspace == workspace, team.c.id.in_(
            select(team.c.id).where(team.c.workspace == source)))).scalars().all()
        if clash:
            raise AdoptConflict(f"{workspace} has teams {', '.join(sorted(clash))} already; nothing moved")
        moved = {}
        for model in (HandoffRow, HandoffCheck, AuditEvent, SlackMessage, OutboxMessage):
            table = model.__table__  # type: ignore[attr-defined]
            moved[table.name] = session.execute(
                update(table).where(table.c.workspace == source).values(workspace=workspace)).rowcount
        # Members reference their team by (workspace, id): the teams are copied, the members moved, then the
        # old teams deleted, so no moment has a member without its team.
        others = [c for c in team.c if c.name != "workspace"]
        moved[team.name] = session.execute(insert(team).from_select(
            ["workspace", *(c.name for c in others)],
            select(literal(workspace), *others).where(team.c.workspace == source))).rowcount
        moved[member.name] = session.execute(
            update(member).where(member.c.workspace == source).values(workspace=workspace)).rowcount
        session.execute(delete(team).where(team.c.workspace == source))
    return moved


# The workspaces with a handoff due a look, through handoff_check's index on (workspace, next_check_at): one
# probe for the next workspace and one for its earliest check, per workspace (a loose index scan), whatever
# the number of checks, due or not.
_DUE_WORKSPACES = text("""
    WITH RECURSIVE ws (workspace) AS (
        SELECT min(workspace) FROM handoff_check
        UNION ALL
        SELECT (SELECT min(c.workspace) FROM handoff_check c WHERE c.workspace > ws.workspace)
        FROM ws WHERE ws.workspace IS NOT NULL)
    SELECT workspace FROM ws WHERE workspace IS NOT NULL AND EXISTS (
        SELECT 1 FROM handoff_check c WHERE c.workspace = ws.workspace AND c.next_check_at <= :now)
""").bindparams(bindparam("now", type_=UTCDateTime()))


@dataclass(frozen=True)
class TickSurvey:
    due: set[str]  # workspaces with a handoff due a look
    teams: dict[str, list[TeamPolicy]]  # every workspace's teams
    claimed: dict[str, set[str]]  # per workspace, which of its teams' recent agenda slots were claimed


def tick_survey(db: Database, now: datetime) -> TickSurvey:
    """What the scheduler's pass over every workspace needs to know first, from unscoped reads."""
    with db.read() as session:
        due = set(session.execute(_DUE_WORKSPACES, {"now": now}).scalars())
    teams: dict[str, list[TeamPolicy]] = {}
    for workspace, team in teams_by_workspace(db):
        teams.setdefault(workspace, []).append(team)
    claimed: dict[str, set[str]] = {}
    keys = sorted({k for ts in teams.values() for t in ts for k in agenda_slots(t, now)})
    for workspace, key in agenda_claims(db, keys, teams.keys()):
        claimed.setdefault(workspace, set()).add(key)
    return TickSurvey(due, teams, claimed)
