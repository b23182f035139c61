"""Moving the records of an install without OAuth (the workspace "") into an installed workspace, once."""
from __future__ import annotations

from sqlalchemy import delete, insert, literal, select, update

from bot.core.workspaces import SINGLE
from storage.db import Database
from storage.models import AuditEvent, HandoffRow, OutboxMessage, SlackMessage, Team, TeamMember


class AdoptConflict(ValueError):
    """The workspace has teams of these ids already."""


def adopt(db: Database, workspace: str) -> dict[str, int]:
    """Every row of the workspace "" moved into `workspace`, in one transaction; how many, per table."""
    team, member = Team.__table__, TeamMember.__table__  # type: ignore[attr-defined]
    with db.write() as session:
        clash = session.execute(select(team.c.id).where(team.c.workspace == workspace, team.c.id.in_(
            select(team.c.id).where(team.c.workspace == SINGLE)))).scalars().all()
        if clash:
            raise AdoptConflict(f"{workspace} has teams {', '.join(sorted(clash))} already; nothing moved")
        moved = {}
        for model in (HandoffRow, AuditEvent, SlackMessage, OutboxMessage):
            table = model.__table__  # type: ignore[attr-defined]
            moved[table.name] = session.execute(
                update(table).where(table.c.workspace == SINGLE).values(workspace=workspace)).rowcount
        # Members reference their team by (workspace, id): the teams are copied, the members moved, then the
        # old teams deleted, so no moment has a member without its team.
        others = [c for c in team.c if c.name != "workspace"]
        moved[team.name] = session.execute(insert(team).from_select(
            ["workspace", *(c.name for c in others)],
            select(literal(workspace), *others).where(team.c.workspace == SINGLE))).rowcount
        moved[member.name] = session.execute(
            update(member).where(member.c.workspace == SINGLE).values(workspace=workspace)).rowcount
        session.execute(delete(team).where(team.c.workspace == SINGLE))
    return moved
