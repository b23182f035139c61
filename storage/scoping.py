"""One workspace's sessions see and write only that workspace's rows.

A scoped `Database` (`db.scoped(workspace)`) opens sessions that carry the workspace: every ORM
select, update and delete of a scoped table gets `workspace = ...` added (SQLAlchemy's
`with_loader_criteria`, its documented recipe for multi-tenant queries), every new row is stamped
with it, and a Core INSERT that does not name a workspace takes it from the connection's execution
options (storage.models.workspace_column). Core selects on tables (`Table.c`, not the classes),
which the ORM criteria do not reach, add `only(session, table)` themselves.

An unscoped session (the outbox worker, the scheduler's look across workspaces, migrations) sees
every row, and a row it inserts must name its workspace or the NOT NULL refuses it.
"""
from __future__ import annotations

import re
from typing import Any

from sqlalchemy import Table, event
from sqlalchemy.orm import ORMExecuteState, Session, with_loader_criteria
from sqlalchemy.sql.elements import ColumnElement

from storage.models import SCOPED_MODELS

WORKSPACE = "workspace"  # the session.info key and the execution option


class WrongWorkspace(RuntimeError):
    """A scoped session was asked to write a row of another workspace."""


def workspace_of(session: Session) -> str | None:
    value = session.info.get(WORKSPACE)
    return value if isinstance(value, str) else None


def only(session: Session, *tables: Table | Any) -> list[ColumnElement[bool]]:
    """The WHERE terms that keep a Core statement on these tables to the session's workspace ([] unscoped)."""
    workspace = workspace_of(session)
    if workspace is None:
        return []
    return [(t.c if isinstance(t, Table) else t.__table__.c).workspace == workspace for t in tables]


_SCOPED_TABLE = re.compile(
    r'\b(?:FROM|JOIN|UPDATE|INTO)\s+"?(?:' + "|".join(m.__tablename__ for m in SCOPED_MODELS) + r')\b"?',  # type: ignore[attr-defined]
    re.IGNORECASE)


def refuse_unscoped(_conn: Any, _cursor: Any, statement: str, _parameters: Any, context: Any,
                    _executemany: bool) -> None:
    """The last line of defence (an engine event, storage.db): a scoped connection's statement on a scoped
    table that never names a workspace would read or change every workspace's rows. Refused, not run."""
    if context is None or context.execution_options.get(WORKSPACE) is None:
        return
    if "workspace" not in statement and _SCOPED_TABLE.search(statement):
        raise WrongWorkspace(f"a statement on a scoped table without its workspace: {statement[:200]}")


@event.listens_for(Session, "do_orm_execute")
def _scope_statement(state: ORMExecuteState) -> None:
    workspace = workspace_of(state.session)
    if workspace is None or not (state.is_select or state.is_update or state.is_delete):
        return
    if state.is_column_load or state.is_relationship_load:
        return  # the parent's load was scoped already
    state.statement = state.statement.options(*[
        with_loader_criteria(model, lambda cls: cls.workspace == workspace, include_aliases=True)
        for model in SCOPED_MODELS
    ])


@event.listens_for(Session, "before_flush")
def _stamp_new_rows(session: Session, _context: Any, _instances: Any) -> None:
    workspace = workspace_of(session)
    if workspace is None:
        return
    for obj in session.new:
        if isinstance(obj, SCOPED_MODELS):
            if obj.workspace is None:  # type: ignore[attr-defined]
                obj.workspace = workspace  # type: ignore[attr-defined]
            elif obj.workspace != workspace:  # type: ignore[attr-defined]
                raise WrongWorkspace(f"a {type(obj).__name__} of another workspace in a scoped session")
