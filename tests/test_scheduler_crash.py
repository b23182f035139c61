"""The scheduler in a real process, killed hard: a reminder is never posted twice and never silently lost.

The bot runs as `python -m bot run` with the real clock and a one-second tick, against the Slack
stand-in. The tests write the handoff rows straight into its SQLite file with times in the past, so
a reminder is due as soon as the process starts, whatever day the tests run on. The waits below only
bound how long the test waits for the process; nothing asserts on how fast it is.

These tests mostly wait on real processes and real time, so they are marked `slow` and start first
under xdist, beside the rest of the suite.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, time as dtime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import update
from sqlmodel import select

from bot.sandbox import SlackStandIn
from bot.core.teams import Member, TeamPolicy
from bot.runtime.delivery import RECOVERY_EVERY_SECONDS
from conftest import reserve_port
from storage import handoffs as store
from storage import teams as team_store
from storage.db import Database
from storage.migrate import upgrade
from bot.core.handoff import Handoff, State
from bot.services.handoffs import create_handoff
from storage.models import HandoffRow, OutboxMessage, SlackMessage

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "xoxb-1111-2222-crashcrash"
SIGNING_SECRET = "crash-signing-secret"
SDR, AE, MANAGER = "U_KSDR", "U_KAE", "U_KMGR"
ESCALATION = f"h1:r1:escalation>{MANAGER}"
# Every hour of every day is working time (up to a minute before midnight), so what is due
# depends only on how far in the past the rows are put, not on the day the tests run.
ALWAYS = TeamPolicy(
    id="always", name="Always on", region="AMER", channel_id="", tz="UTC",
    workdays=frozenset(range(7)), day_start=dtime(0, 0), day_end=dtime(23, 59),
    sla_hours=8.0, sla_from="submission", heads_up_fraction=0.75, escalate_after_hours=4.0, min_notice_hours=0,
    members=(Member(SDR, "sdr", manager_id=MANAGER), Member(AE, "ae", manager_id=MANAGER), Member(MANAGER, "manager")),
)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    """Wait for the process to do something on its own (bounds the wait; not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:.0f}s and still not: {what}")
        time.sleep(0.02)


# ---------------------------------------------------------------- the database the process uses


class Store:
    def __init__(self, url: str):
        """The database at `url` (the `db_url` fixture's: SQLite, or PostgreSQL in the PostgreSQL pass)."""
        self.url = url
        db = Database(self.url)
        upgrade(db.engine)
        db.close()

    @contextmanager
    def open(self) -> Iterator[Database]:
        db = Database(self.url)
        try:
            yield db
        finally:
            db.close()

    def rows(self, dedupe_key: str | None = None) -> list[OutboxMessage]:
        with self.open() as db, db.read() as session:
            query = select(OutboxMessage).order_by(OutboxMessage.id)
            if dedupe_key is not None:
                query = query.where(OutboxMessage.dedupe_key == dedupe_key)
            return list(session.exec(query).all())

    def status(self, dedupe_key: str) -> str | None:
        rows = self.rows(dedupe_key)
        assert len(rows) <= 1, f"{dedupe_key} claimed {len(rows)} times"
        return rows[0].status if rows else None

    def handoff(self) -> Handoff:
        with self.open() as db:
            h = store.get_handoff(db, 1)
        assert h is not None
        return h

    def seed(self, *, waiting: timedelta) -> None:
        """A team, and one handoff submitted `waiting` ago whose cards were delivered back then."""
        at = utcnow() - waiting
        with self.open() as db:
            team_store.replace_teams(db, [ALWAYS], at)
            create_handoff(db, Handoff(
                id=0, state=State.PENDING, revision=1, sdr_id=SDR, ae_id=AE, company="Crashco", contact_name="Pat Lee",
                need="Docs", compelling_event="Launch", created_at=at, updated_at=at, next_check_at=at,
                team_id=ALWAYS.id, ae_tz="UTC", sla_start=at, region="AMER", slack_team_id="T_HANDOFF",
                meeting_start=utcnow() + timedelta(days=30), meeting_kind="discovery_15", submission_key="crash-1"))
            with db.write() as session:
                session.execute(update(OutboxMessage).values(status="sent", sent_at=at))

    def move_back(self, *, sla_start: timedelta, next_check: timedelta) -> None:
        """While the bot is down: the handoff was submitted longer ago than the rows say."""
        now = utcnow()
        with self.open() as db, db.write() as session:
            session.execute(update(HandoffRow).where(HandoffRow.id == 1).values(
                created_at=now - sla_start, sla_start=now - sla_start))
            store.set_next_check(session, 1, now - next_check)

    def lease_ran_out(self, dedupe_key: str) -> None:
        """While the bot is down: the downtime lasted longer than the claim's lease."""
        with self.open() as db, db.write() as session:
            session.execute(update(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key)
                            .values(next_attempt_at=utcnow() - timedelta(minutes=5)))


# ---------------------------------------------------------------- the process


def env_for(store_: Store, api_url: str, port: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "HANDOFF_", "DATABASE_URL", "PORT"))}
    env.update(
        PYTHONPATH=str(ROOT), SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=api_url,
        DATABASE_URL=store_.url, PORT=str(port), HOST="127.0.0.1", HANDOFF_TICK_SECONDS="1", LOG_LEVEL="INFO",
        HANDOFF_OUTBOX_LEASE_SECONDS="30",  # expired claims are looked for every 15 s here, not every 30 s
    )
    return env


class BotProcess:
    def __init__(self, store_: Store, api_url: str, cwd: Path):
        self._port = reserve_port()  # held while the process lives: no parallel test can take the port
        self.port = self._port.getsockname()[1]
        self.log = cwd / f"bot-{self.port}.log"
        self._out = open(self.log, "w")
        self.proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env_for(store_, api_url, self.port),
                                     cwd=cwd, stdout=self._out, stderr=subprocess.STDOUT, text=True)

    def output(self) -> str:
        return self.log.read_text()

    def wait_healthy(self, timeout: float = 60) -> "BotProcess":
        def healthy() -> bool:
            assert self.proc.poll() is None, f"the bot exited:\n{self.output()}"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1) as response:
                    return json.loads(response.read()) == {"ok": True}
            except OSError:
                return False

        wait_until(healthy, "the bot answers /healthz", timeout)
        return self

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, whatever it was doing is cut off."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)
        self.close()

    def terminate(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=60)
        self.close()
        return code

    def close(self) -> None:
        if not self._out.closed:
            self._out.close()
        self._port.close()


@contextmanager
def running(store_: Store, api_url: str, cwd: Path) -> Iterator[BotProcess]:
    bot = BotProcess(store_, api_url, cwd)
    try:
        yield bot.wait_healthy()
    finally:
        if bot.proc.poll() is None:
            bot.proc.kill()
            bot.proc.wait(timeout=30)
        bot.close()


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    s = SlackStandIn(token=TOKEN).start()
    for user_id, name in ((SDR, "kim"), (AE, "kai"), (MANAGER, "kurt")):
        s.add_user(user_id, name, tz="UTC")
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def silent_slack() -> Iterator[str]:
    """A Slack that takes every connection and never answers: nothing sent to it is ever posted."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))  # the OS picks the port
    listener.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def hold() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
                held.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=hold, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/api/"
    finally:
        stop.set()
        thread.join(5)
        for conn in held:
            conn.close()
        listener.close()


def escalations(standin: SlackStandIn, *, ok_only: bool = False) -> list:
    return [c for c in standin.calls_to("chat.postMessage")
            if c.args.get("channel") == MANAGER and "Escalation" in (c.args.get("text") or "")
            and (c.ok or not ok_only)]


def doctor(store_: Store, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "HANDOFF_", "DATABASE_URL", "PORT"))}
    env.update(PYTHONPATH=str(ROOT), DATABASE_URL=store_.url)
    return subprocess.run([sys.executable, "-m", "bot", "doctor"], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=60)


# ---------------------------------------------------------------- the tests


def test_killed_between_claiming_and_posting_the_reminder_is_looked_for_then_posted_once(tmp_path, db_url, standin,
                                                                                         silent_slack):
    db = Store(db_url)
    db.seed(waiting=timedelta(days=30))  # heads-up, overdue and escalation all came due long ago

    first = BotProcess(db, silent_slack, tmp_path)  # Slack never answers this process
    try:
        first.wait_healthy()
        wait_until(lambda: db.status(ESCALATION) == "sending", "the escalation is claimed for posting")
    finally:
        first.kill()
    [row] = db.rows(ESCALATION)
    assert (row.status, row.attempts) == ("sending", 1) and row.unconfirmed_since is not None
    for step in ("heads_up", "overdue"):  # passed over: never owed
        assert db.status(f"h1:r1:{step}>{AE}") is None

    db.lease_ran_out(ESCALATION)  # the bot stayed down longer than the claim's lease
    with running(db, standin.base_url, tmp_path) as second:
        # The post's fate is unknown: the manager's DM is read for it (it is not there), then it is posted.
        wait_until(lambda: db.status(ESCALATION) == "sent", "the lost claim is looked for, then posted")
        time.sleep(3)  # later one-second ticks and delivery passes neither claim it again nor post it
        assert len(db.rows(ESCALATION)) == 1 and db.status(ESCALATION) == "sent"
        assert second.terminate() == 0
    [posted] = escalations(standin)
    history = standin.calls_to("conversations.history")
    assert [c.args["channel"] for c in history] == ["D_KMGR"] and history[0].at <= posted.at
    assert posted.args["metadata"]["event_payload"]["outbox_id"] == row.id

    report = doctor(db, tmp_path)
    assert report.returncode == 0 and "nothing stuck" in report.stdout, report.stdout + report.stderr


def test_killed_between_posting_and_recording_the_reminder_is_found_not_posted_again(tmp_path, db_url, standin):
    db = Store(db_url)
    db.seed(waiting=timedelta(days=30))
    # Slack takes the post, then answers 3 s later: the process is killed well before that.
    standin.fail("chat.postMessage", delay=3, times=1)

    first = BotProcess(db, standin.base_url, tmp_path)
    try:
        first.wait_healthy()
        wait_until(lambda: db.status(ESCALATION) == "sending", "the escalation is claimed for posting")
        # The slow rule is used up when the post reaches the stand-in: Slack has the request now.
        wait_until(lambda: not standin._state.rules, "the post reached Slack")
    finally:
        first.kill()  # before Slack answered: the bot never learns the post went through
    assert db.status(ESCALATION) == "sending"
    standin.wait_for("chat.postMessage", where=lambda c: c.args.get("channel") == MANAGER, timeout=30)
    assert len(escalations(standin, ok_only=True)) == 1  # it is in Slack

    # Restarted at once: the claim's lease is still running, then it runs out inside the new process.
    with running(db, standin.base_url, tmp_path) as second:
        time.sleep(3)  # ticks and delivery passes, the first of them looking for expired claims
        assert db.status(ESCALATION) == "sending", "taken over while its claim's lease was still running"
        assert len(escalations(standin)) == 1
        # The lease (30 s here) runs out now rather than being waited out; the process sees it on its
        # next look for expired claims, which it makes every half lease.
        db.lease_ran_out(ESCALATION)
        wait_until(lambda: db.status(ESCALATION) == "sent", "the post is found in the manager's DM",
                   RECOVERY_EVERY_SECONDS + 60)
        time.sleep(3)  # a few more ticks and delivery passes
        assert len(db.rows(ESCALATION)) == 1 and db.status(ESCALATION) == "sent"
        assert second.terminate() == 0
    [posted] = escalations(standin)  # posted once over the whole run, never twice
    with db.open() as database, database.read() as session:
        message = session.get(SlackMessage, db.rows(ESCALATION)[0].message_key)
    assert message is not None  # what a later edit of it finds
    assert (message.channel, message.ts) == (posted.response["channel"], posted.response["ts"])
    report = doctor(db, tmp_path)
    assert report.returncode == 0 and "nothing stuck" in report.stdout, report.stdout + report.stderr


def test_clean_restart_after_downtime_catches_up_once_with_the_latest_step(tmp_path, db_url, standin):
    db = Store(db_url)
    db.seed(waiting=timedelta(minutes=1))  # nothing due for hours

    with running(db, standin.base_url, tmp_path) as first:
        # The first tick planned the chase: the next look is at the heads-up, 6 working hours away.
        wait_until(lambda: (db.handoff().next_check_at or utcnow()) > utcnow() + timedelta(hours=5),
                   "the scheduler planned its next check")
        assert first.terminate() == 0
    assert standin.calls_to("chat.postMessage") == []

    # Down for 9 hours: the heads-up (6 h) and the deadline (8 h) passed; the escalation (12 h) has not.
    db.move_back(sla_start=timedelta(hours=9), next_check=timedelta(hours=3))
    with running(db, standin.base_url, tmp_path) as second:
        overdue_key = f"h1:r1:overdue>{AE}"
        wait_until(lambda: db.status(overdue_key) == "sent", "the overdue reminder is delivered")
        wait_until(lambda: (db.handoff().next_check_at or utcnow()) > utcnow() + timedelta(hours=2),
                   "the scheduler planned the escalation")
        time.sleep(3)  # more one-second ticks: none may post a missed step again
        assert second.terminate() == 0
        assert "Traceback" not in second.output()

    posted = [c for c in standin.calls_to("chat.postMessage") if c.ok]
    assert [c.args["channel"] for c in posted] == [AE]
    assert (posted[0].args.get("text") or "").startswith("🔴") and "Crashco" in posted[0].args["text"]
    assert db.status(f"h1:r1:heads_up>{AE}") is None
    assert db.status(f"h1:r1:escalation>{MANAGER}") is None
