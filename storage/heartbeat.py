"""When a job last ran: one row per job name, overwritten each time (the admins' Home reads it)."""
from __future__ import annotations

from datetime import datetime

from sqlmodel import select

from storage.db import Database
from storage.models import Heartbeat
from storage.upsert import upsert


def beat(db: Database, name: str, at: datetime, detail: str | None = None) -> None:
    with db.write() as session:
        # Two schedulers beat at once on one database: an upsert, not a delete then an insert.
        upsert(session.connection(), Heartbeat.__table__, [{"name": name, "at": at, "detail": detail}], ["name"])


def last(db: Database, name: str) -> Heartbeat | None:
    with db.read() as session:
        row = session.exec(select(Heartbeat).where(Heartbeat.name == name)).first()
        if row is not None:
            session.expunge(row)
        return row
