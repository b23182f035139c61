"""Apply Alembic migrations; run at start and by `handoff-bot migrate`.

Two bots starting at once on a fresh database would race in Alembic (on SQLite, one fails with
"database is locked"), so migrations run under a lock: the second waits, then finds the database at
head and has nothing to do. PostgreSQL: a session advisory lock. SQLite: an exclusive lock (fcntl,
stdlib) on a file beside the database, held for the whole upgrade; an in-memory database is one
process's own and needs none.
"""
from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

MIGRATIONS = Path(__file__).parent / "migrations"
# pg_advisory_lock takes a bigint; any fixed number works as long as nothing else in the database uses it.
ADVISORY_LOCK_KEY = 0x48414E444F4646  # "HANDOFF"


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    with _migration_lock(engine) as locked:
        if locked is not None:  # migrate on the connection holding the lock
            _upgrade_on(locked, revision)
        else:
            with engine.connect() as connection:
                _upgrade_on(connection, revision)


def _upgrade_on(connection: Connection, revision: str) -> None:
    config = _config()
    config.attributes["connection"] = connection
    with connection.begin():
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator[Connection | None]:
    """Hold the migration lock for the block. On PostgreSQL it yields the connection holding the
    (session) advisory lock, to migrate on; elsewhere None."""
    if engine.dialect.name == "postgresql":
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
            connection.commit()
            try:
                yield connection
            finally:
                with contextlib.suppress(Exception):  # a dropped connection has released it anyway
                    connection.rollback()
                    connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": ADVISORY_LOCK_KEY})
                    connection.commit()
        return
    path = _sqlite_file(engine)
    if path is None:
        yield None
        return
    # Beside the database, not in it: locking the database file itself would fight SQLite's own locks.
    fd = os.open(f"{path}.migrate-lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # blocks until the other process's upgrade is done
        yield None
    finally:
        os.close(fd)  # releases the lock


def _sqlite_file(engine: Engine) -> str | None:
    """The database file of a SQLite engine; None for other databases and for in-memory ones."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database
    if not database or database == ":memory:" or database.startswith("file::memory:") or "mode=memory" in str(
            engine.url):
        return None
    return database
