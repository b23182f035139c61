"""Several copies of the bot on one database, over HTTP, with the real clock: each reminder posted once,
and Slack's per-channel pacing held across the copies.

1,000 handoffs across 20 teams are written straight into the database, submitted a month ago, so each
one's escalation is due as soon as the copies start: 1,000 reminders, each owed to the team's manager
(a DM, unpaced) and to the team's channel (paced). Three `python -m bot run` processes share the
database (PostgreSQL: SQLite is single-writer, and a smaller two-process variant runs on it) and one
Slack stand-in, which records every call with the time it answered it.

The pacing is read from those recorded times: no two posts to one channel closer than the interval,
less a tolerance for the moments between a claim (when the channel's turn is taken) and the post
reaching Slack. The waits only bound how long the test waits for the processes.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter, defaultdict
from contextlib import ExitStack
from datetime import time as dtime
from datetime import timedelta
from pathlib import Path

import pytest
from conftest import reserve_port
from sqlalchemy import func, update
from sqlmodel import col, select
from test_scheduler_crash import utcnow, wait_until

from bot.core.handoff import Handoff, State
from bot.core.teams import Member, TeamPolicy
from bot.sandbox import SlackStandIn
from bot.services.handoffs import create_handoff
from storage import teams as team_store
from storage.db import Database
from storage.migrate import upgrade
from storage.models import OutboxMessage

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "xoxb-1111-2222-replicas"
INTERVAL = 0.3  # HANDOFF_CHANNEL_POST_INTERVAL: low, to keep the test short
TOLERANCE = 0.1  # between a claim taking the channel's turn and its post being answered


def team(i: int) -> TeamPolicy:
    """A team whose every hour is working time: what is due depends only on how old the rows are."""
    return TeamPolicy(
        id=f"team-{i}", name=f"Team {i}", region="AMER", channel_id=f"C_TEAM{i:02d}", tz="UTC",
        workdays=frozenset(range(7)), day_start=dtime(0, 0), day_end=dtime(23, 59),
        sla_hours=8.0, sla_from="submission", heads_up_fraction=0.75, escalate_after_hours=4.0, min_notice_hours=0,
        members=(Member(f"U_SDR{i}", "sdr", manager_id=f"U_MGR{i}"), Member(f"U_AE{i}", "ae", manager_id=f"U_MGR{i}"),
                 Member(f"U_MGR{i}", "manager")))


def seed(url: str, teams: int, per_team: int) -> None:
    db = Database(url)
    try:
        upgrade(db.engine)
        at = utcnow() - timedelta(days=30)
        policies = [team(i) for i in range(teams)]
        team_store.replace_teams(db, policies, at)
        for t in policies:
            for n in range(per_team):
                create_handoff(db, Handoff(
                    id=0, state=State.PENDING, revision=1, sdr_id=f"U_SDR{t.id[5:]}", ae_id=f"U_AE{t.id[5:]}",
                    company=f"Co {t.id} {n}", contact_name="Pat Lee", need="Docs", compelling_event="Launch",
                    created_at=at, updated_at=at, next_check_at=at, team_id=t.id, ae_tz="UTC", sla_start=at,
                    region="AMER", slack_team_id="T_HANDOFF", meeting_start=utcnow() + timedelta(days=30),
                    meeting_kind="discovery_15", submission_key=f"replica-{t.id}-{n}"))
        with db.write() as session:  # the cards and announcements went out back then
            session.execute(update(OutboxMessage).values(status="sent", sent_at=at))
    finally:
        db.close()


def reminders_sent(url: str) -> int:
    db = Database(url)
    try:
        with db.read() as session:
            return session.exec(select(func.count()).select_from(OutboxMessage).where(
                col(OutboxMessage.view) == "reminder", col(OutboxMessage.status) == "sent")).one()
    finally:
        db.close()


def reminder_keys(url: str) -> Counter[str]:
    db = Database(url)
    try:
        with db.read() as session:
            return Counter(session.exec(select(OutboxMessage.message_key).where(
                col(OutboxMessage.view) == "reminder", col(OutboxMessage.status) != "superseded")).all())
    finally:
        db.close()


class Replica:
    def __init__(self, url: str, api_url: str, cwd: Path, name: str):
        self._port = reserve_port()  # held while the process lives: no parallel test can take the port
        self.port = self._port.getsockname()[1]
        self.log = cwd / f"{name}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "HANDOFF_", "DATABASE_URL", "PORT"))}
        env.update(PYTHONPATH=str(ROOT), SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET="replica-secret",
                   SLACK_API_URL=api_url, DATABASE_URL=url, PORT=str(self.port), HOST="127.0.0.1",
                   HANDOFF_TICK_SECONDS="1", LOG_LEVEL="WARNING", HANDOFF_OUTBOX_LEASE_SECONDS="30",
                   HANDOFF_CHANNEL_POST_INTERVAL=str(INTERVAL))
        self._out = open(self.log, "w")
        self.proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env, cwd=cwd, stdout=self._out,
                                     stderr=subprocess.STDOUT, text=True)

    def output(self) -> str:
        return self.log.read_text()

    def stop(self) -> int | None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=30)
        self._out.close()
        self._port.close()
        return self.proc.returncode


def run_replicas(url: str, tmp_path: Path, *, replicas: int, teams: int, per_team: int) -> None:
    standin = SlackStandIn(token=TOKEN).start()
    try:
        for i in range(teams):
            for role in ("SDR", "AE", "MGR"):
                standin.add_user(f"U_{role}{i}", f"{role.lower()}{i}", tz="UTC")
            standin.add_channel(f"C_TEAM{i:02d}", f"team-{i}")
        seed(url, teams, per_team)
        owed = 2 * teams * per_team  # each escalation: the manager's DM and the team's channel
        with ExitStack() as stack:
            copies = [Replica(url, standin.base_url, tmp_path, f"replica-{n}") for n in range(replicas)]
            for copy in copies:
                stack.callback(copy.stop)

            def all_sent() -> bool:
                for copy in copies:
                    assert copy.proc.poll() is None, f"a copy exited:\n{copy.output()}"
                return reminders_sent(url) == owed

            wait_until(all_sent, f"the {owed} reminder posts are sent", timeout=300)
            time.sleep(3)  # more ticks and delivery passes in every copy: none may post anything again
            # Nothing failed while they ran side by side (a tick cut short by the stop below may log).
            logs = [copy.output() for copy in copies]
            assert all("Traceback" not in log for log in logs), "\n".join(logs)
            codes = [copy.stop() for copy in copies]
        assert codes == [0] * replicas, "\n".join(c.output() for c in copies)

        posts = [c for c in standin.calls_to("chat.postMessage") if c.ok]
        keys = Counter(c.args["metadata"]["event_payload"]["key"] for c in posts)
        assert len(keys) == owed and set(keys.values()) == {1}, keys.most_common(3)  # each posted once
        assert set(keys) == set(reminder_keys(url))  # and each is what the outbox owed
        by_channel: dict[str, list[float]] = defaultdict(list)
        for c in posts:
            if c.args["channel"].startswith("C"):
                by_channel[c.args["channel"]].append(c.at)
        assert len(by_channel) == teams and all(len(at) == per_team for at in by_channel.values())
        gaps = [b - a for at in map(sorted, by_channel.values()) for a, b in zip(at, at[1:], strict=False)]
        closest = min(gaps)
        assert closest >= INTERVAL - TOLERANCE, f"two posts to one channel {closest:.3f}s apart"
    finally:
        standin.stop()


def test_three_replicas_on_postgresql_post_each_of_1000_reminders_once_and_pace_channels(db_url, tmp_path):
    if not db_url.startswith("postgresql"):
        pytest.skip("several replicas need PostgreSQL: set HANDOFF_TEST_POSTGRES to a server URL")
    run_replicas(db_url, tmp_path, replicas=3, teams=20, per_team=50)


def test_two_processes_on_one_sqlite_file_post_each_reminder_once_and_pace_channels(db_url, tmp_path):
    if not db_url.startswith("sqlite"):
        pytest.skip("the SQLite variant of the replicas test")
    run_replicas(db_url, tmp_path, replicas=2, teams=4, per_team=10)
