"""When a job last ran: one row per job name, overwritten each time (the admins' Home reads it)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert
from sqlmodel import select

from storage.db import Database
from storage.models import Heartbeat


def beat(db: Database, name: str, at: datetime, detail: str | None = None) -> None:
    with db.write() as session:
        conn = session.connection()
        conn.execute(delete(Heartbeat.__table__).where(Heartbeat.__table__.c.name == name))
        conn.execute(insert(Heartbeat.__table__), [{"name": name, "at": at, "detail": detail}])


def last(db: Database, name: str) -> Heartbeat | None:
    with db.read() as session:
        row = session.exec(select(Heartbeat).where(Heartbeat.name == name)).first()
        if row is not None:
            session.expunge(row)
        return row
