"""Migration 0009 moves the chase's schedule out of the handoff row into handoff_check: a database from
before it keeps every next check, and the tick chases its due handoffs as before."""
from __future__ import annotations

from alembic import command
from conftest import local_bot
from sqlalchemy import inspect, text
from teams_fixture import AE, AMER, install, ny, reminders_to, tick_at
from test_scheduler import HEADS_UP, MONDAY_9, submitted

from storage import migrate
from storage.db import Database
from storage.models import UTCDateTime


def downgrade(url: str, revision: str) -> None:
    db = Database(url)
    try:
        with db.engine.connect() as conn, conn.begin():
            config = migrate._config()
            config.attributes["connection"] = conn
            command.downgrade(config, revision)
    finally:
        db.close()


def read(url: str, sql: str) -> list[tuple]:
    db = Database(url)
    try:
        with db.engine.connect() as conn:
            at = UTCDateTime().dialect_impl(conn.dialect).result_processor(conn.dialect, None)
            return [tuple(at(v) if k == 1 and at else v for k, v in enumerate(row)) for row in conn.execute(text(sql))]
    finally:
        db.close()


def tables(url: str) -> set[str]:
    db = Database(url)
    try:
        return set(inspect(db.engine).get_table_names())
    finally:
        db.close()


def columns(url: str, table: str) -> set[str]:
    db = Database(url)
    try:
        return {c["name"] for c in inspect(db.engine).get_columns(table)}
    finally:
        db.close()


def test_a_0008_database_keeps_its_schedule_and_the_tick_chases_its_due_handoffs(standin, db_url, clock):
    with local_bot(standin, db_url, clock) as bot:
        install(bot, standin, AMER)
        clock.set(MONDAY_9)
        submitted(bot, standin)
        submitted(bot, standin, company="Globex")
    # The database as migration 0008 left it: the next checks in the handoff rows (H-2 finished: none).
    downgrade(db_url, "0008")
    assert "handoff_check" not in tables(db_url)
    assert read(db_url, "SELECT id, next_check_at FROM handoff ORDER BY id") == [(1, MONDAY_9), (2, MONDAY_9)]
    db = Database(db_url)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE handoff SET next_check_at = NULL WHERE id = 2"))
    migrate.upgrade(db.engine)
    db.close()
    assert read(db_url, "SELECT handoff_id, next_check_at, workspace FROM handoff_check") == [(1, MONDAY_9, "")]
    assert "next_check_at" not in columns(db_url, "handoff")

    with local_bot(standin, db_url, clock) as bot:
        report = tick_at(bot, ny(2026, 11, 23, 15, 0))  # H-1's heads-up is due; H-2 is never looked at
        assert report.examined == 1 and report.reminders == 1
        [heads_up] = reminders_to(standin, AE, HEADS_UP)
        assert "*H-1 Acme Corp*" in heads_up.args["text"]
        assert tick_at(bot, ny(2026, 11, 23, 15, 1)).reminders == 0
        [(next_check,)] = read(db_url, "SELECT next_check_at FROM handoff_check WHERE handoff_id = 1")
        assert next_check is not None


def test_on_a_sqlite_older_than_3_35_the_column_stays_unused_and_the_bot_goes_on(standin, db_url, clock,
                                                                                   monkeypatch):
    """SQLite drops a column from 3.35 on (Debian 11 ships 3.34): older, migration 0009 leaves next_check_at
    in the handoff row, no longer read or written, and everything else is as on a newer one."""
    import sqlite3

    import pytest
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite's own version decides this path")
    with local_bot(standin, db_url, clock) as bot:
        install(bot, standin, AMER)
        clock.set(MONDAY_9)
        submitted(bot, standin)
    downgrade(db_url, "0008")
    with monkeypatch.context() as patched:
        patched.setattr(sqlite3.dbapi2, "sqlite_version_info", (3, 34, 1))  # what the migration asks the driver
        db = Database(db_url)
        migrate.upgrade(db.engine)
        db.close()
    assert "next_check_at" in columns(db_url, "handoff")
    assert read(db_url, "SELECT handoff_id, next_check_at FROM handoff_check") == [(1, MONDAY_9)]

    with local_bot(standin, db_url, clock) as bot:
        submitted(bot, standin, company="Globex")  # a new handoff leaves the old column empty
        report = tick_at(bot, ny(2026, 11, 23, 15, 0))
        assert report.examined == 2 and report.reminders == 2
        assert len(reminders_to(standin, AE, HEADS_UP)) == 2
    assert read(db_url, "SELECT id, next_check_at FROM handoff ORDER BY id") == [(1, MONDAY_9), (2, None)]
    assert len(read(db_url, "SELECT handoff_id, next_check_at FROM handoff_check")) == 2
