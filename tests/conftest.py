"""Fixtures: a Slack stand-in on loopback and the real bot served against it, on a real SQLite file."""
from __future__ import annotations

import os
import shutil
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.runtime.clock import ManualClock
from bot.sandbox import SlackDriver, SlackStandIn
from bot.sandbox.local_bot import LocalBot
from storage.db import Database, server_admin
from storage.migrate import upgrade

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


def reserve_port() -> socket.socket:
    """A loopback port the OS picks, for a server in a subprocess that can only be told a port number.

    Keep the returned socket open until that server has bound the port (or is gone). It is bound with
    SO_REUSEADDR and never listens, so uvicorn (which binds with SO_REUSEADDR) can take the port while
    the OS hands it to no other socket, in this process or another xdist worker. A probe socket closed
    before the subprocess binds would leave that gap open to a parallel test."""
    held = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    held.bind(("127.0.0.1", 0))
    return held


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    """Bounds how long a test waits for work it cannot await (a process, work after the ack); not a
    timing assertion."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:.0f}s and still not: {what}")
        time.sleep(0.02)


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


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite database migrated from empty to head by the real Alembic migrations, once per test
    process (each xdist worker has its own base temp directory); each test starts from a copy of it."""
    path = tmp_path_factory.mktemp("template") / "handoff.db"
    db = Database(f"sqlite:///{path}")
    try:
        upgrade(db.engine)
    finally:
        db.close()  # checkpoints the WAL into the file, so the file alone is the whole database
    return path


@pytest.fixture(scope="session")
def migrated_postgres() -> Iterator[str | None]:
    """With HANDOFF_TEST_POSTGRES set, a PostgreSQL database migrated to head once per test process, the
    template each test's database is created from (CREATE DATABASE ... TEMPLATE copies it, schema and
    alembic_version alike); None otherwise."""
    server = os.environ.get("HANDOFF_TEST_POSTGRES")
    if not server:
        yield None
        return
    name = f"handoff_template_{uuid.uuid4().hex[:12]}"
    with server_admin(server) as admin:
        admin.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            db = Database(make_url(server).set(database=name).render_as_string(hide_password=False))
            try:
                upgrade(db.engine)
            finally:
                db.close()  # a template must have no connections when it is copied
            yield name
        finally:
            admin.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def db_url(tmp_path: Path, request: pytest.FixtureRequest, migrated_postgres: str | None) -> Iterator[str]:
    """A fresh database per test, migrated to head: a SQLite file, or, with HANDOFF_TEST_POSTGRES set to a
    server URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres), a new PostgreSQL database."""
    server = os.environ.get("HANDOFF_TEST_POSTGRES")
    if not server:
        path = tmp_path / "handoff.db"
        # A copy of the migrated file: the same schema the migrations make, without running them per test.
        shutil.copyfile(request.getfixturevalue("migrated_sqlite"), path)
        yield f"sqlite:///{path}"
        return
    name = f"handoff_test_{uuid.uuid4().hex[:12]}"
    with server_admin(server) as admin:
        admin.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{migrated_postgres}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with server_admin(server) as admin:
            admin.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def local_bot(standin: SlackStandIn, db_url: str, clock: ManualClock) -> LocalBot:
    """The bot as the tests run it (start it with `with`). Channel posts are not paced: the pacing (a
    post a second per channel, Slack's rate limit) sleeps in real time, not on the tests' clock, and the
    stand-in has no rate limit to respect."""
    return LocalBot(standin, db_url, clock=clock, admins=frozenset({ADMIN}), channel_post_interval=0.0)


OAUTH_CLIENT = ("1234.5678", "oauth-client-secret")  # the app's client id and secret in the OAuth tests


def oauth_bot(standin: SlackStandIn, db_url: str) -> LocalBot:
    """The bot serving every workspace that installs it (no bot token), on a Monday morning in New York."""
    from zoneinfo import ZoneInfo

    clock = ManualClock(datetime(2026, 11, 23, 9, 0, tzinfo=ZoneInfo("America/New_York")))
    return LocalBot(standin, db_url, clock=clock, channel_post_interval=0.0, bot_token="",
                    client_id=OAUTH_CLIENT[0], client_secret=OAUTH_CLIENT[1])


@pytest.fixture
def bot(standin: SlackStandIn, db_url: str, clock: ManualClock) -> Iterator[LocalBot]:
    with local_bot(standin, db_url, clock) as running:
        yield running


@pytest.fixture
def seeded(standin: SlackStandIn, db_url: str) -> Iterator[LocalBot]:
    """The numbers' tests: the bot at the hand-worked history's NOW, teams AMER and EMEA, that history."""
    from tests.stats_history import NOW, seed_history
    from tests.teams_fixture import AMER, EMEA, install

    with local_bot(standin, db_url, ManualClock(NOW)) as running:
        install(running, standin, AMER, EMEA)
        seed_history(running.db)
        yield running


@pytest.fixture
def driver(bot: LocalBot) -> SlackDriver:
    return bot.driver


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked `slow` (mostly waiting on real processes) run first: under xdist they then overlap
    with the rest instead of being the last thing a worker does while the others sit idle.

    With HANDOFF_TEST_POSTGRES set (the PostgreSQL pass) only the tests that reach a database through the
    `db_url` fixture run, and those marked `postgres`: the rest (the pure core, and tests about a SQLite
    file of their own) would only repeat the SQLite pass."""
    if os.environ.get("HANDOFF_TEST_POSTGRES"):
        keep = [item for item in items if "db_url" in getattr(item, "fixturenames", ())
                or item.get_closest_marker("postgres") is not None]
        dropped = [item for item in items if item not in keep]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = keep
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable: order kept otherwise
