"""Fixtures: a Slack stand-in on loopback and the real bot served against it, on a real SQLite file."""
from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from bot.runtime.clock import ManualClock
from bot.sandbox import SlackDriver, SlackStandIn
from bot.sandbox.local_bot import LocalBot

# Monday 23 Nov 2026, 14:00 UTC: 09:00 in New York, 15:00 in Berlin.
START = datetime(2026, 11, 23, 14, 0, tzinfo=timezone.utc)
ADMIN = "U_ADMIN"
PEOPLE = {
    "U_SDR1": ("alice", "America/New_York"),
    "U_SDR2": ("carol", "Europe/London"),
    "U_AE1": ("bob", "Europe/Berlin"),
    "U_AE2": ("dave", "America/Los_Angeles"),
    "U_STRANGER": ("eve", "UTC"),
    ADMIN: ("olga", "America/Chicago"),
}


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    s = SlackStandIn(token="xoxb-test-token").start()
    for user_id, (name, tz) in PEOPLE.items():
        s.add_user(user_id, name, tz=tz)
    s.add_user("U_BOT", "somebot", tz="UTC", is_bot=True)
    s.add_user("U_GONE", "gone", tz="UTC", deleted=True)
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    """A fresh database per test: a SQLite file, or, with HANDOFF_TEST_POSTGRES set to a server URL
    (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres), a new PostgreSQL database."""
    server = os.environ.get("HANDOFF_TEST_POSTGRES")
    if not server:
        yield f"sqlite:///{tmp_path / 'handoff.db'}"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"handoff_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def bot(standin: SlackStandIn, db_url: str, clock: ManualClock) -> Iterator[LocalBot]:
    with LocalBot(standin, db_url, clock=clock, admins=frozenset({ADMIN})) as running:
        yield running


@pytest.fixture
def driver(bot: LocalBot) -> SlackDriver:
    return bot.driver
