"""When a job last ran: one row per job name, overwritten each time (the admins' Home reads it)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import select

from storage.db import Database
from storage.models import Heartbeat


def beat(db: Database, name: str, at: datetime, detail: str | None = None) -> None:
    """One upsert: several copies of the bot beat at once (a delete then an insert let two of them
    insert the same name on PostgreSQL, and one tick failed)."""
    with db.write() as session:
        table = Heartbeat.__table__
        dialect = session.get_bind().dialect.name
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = insert(table).values(name=name, at=at, detail=detail)
        session.connection().execute(statement.on_conflict_do_update(
            index_elements=[table.c.name], set_={"at": statement.excluded.at, "detail": statement.excluded.detail}))


def last(db: Database, name: str) -> Heartbeat | None:
    with db.read() as session:
        row = session.exec(select(Heartbeat).where(Heartbeat.name == name)).first()
        if row is not None:
            session.expunge(row)
        return row
