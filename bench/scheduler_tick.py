"""One scheduler tick over 10k, 100k and 1M stored handoffs with ~1,000 due, on SQLite and PostgreSQL.

Run:  .venv/bin/python bench/scheduler_tick.py [--quick] [--sizes 10000,100000] [--reps 5]
          [--database-url sqlite] [--database-url postgresql+psycopg://user:pw@host:5432/postgres]
          [--against REV]

Backends: SQLite (temporary files) always, and PostgreSQL when a server URL is given with --database-url,
or else in HANDOFF_TEST_POSTGRES, or else printed by .ci/postgres (skipped, with the reason, when none
starts). Give --database-url sqlite alone for SQLite only.

For each backend and size N it builds one base database with the real migrations up to 0008
(storage.migrate.upgrade; LOAD_REVISION, the schema the loader writes: next_check_at in the handoff row),
three teams (storage.teams.replace_teams), N handoffs and N/2 sent outbox rows: the secondary indexes are
dropped, the rows bulk-loaded (sqlite3 executemany; PostgreSQL COPY), the indexes made again. Then each
tree measured migrates a copy of it to its own head with its own migrations (0009 moves next_check_at to
handoff_check; the time is printed), and PostgreSQL's copies are VACUUM ANALYZEd, as autovacuum leaves a table.

* the mix: 1,000 due at NOW (pending handoffs past their heads-up, some already past the deadline or
  the escalation, ~30% with the heads-up already claimed in the outbox; accepted handoffs whose meeting
  has ended without an outcome); and, not due, pending handoffs whose heads-up is ahead, accepted ones
  with a meeting ahead, no-shows to rebook later, next steps due later and finished ones (completed,
  rejected, withdrawn, closed) with next_check_at NULL. Half the outbox rows carry reminder dedupe keys.
* each measurement starts from the base state, physically the same: SQLite on a copy of the file
  (shutil), PostgreSQL on a database made from the base one as its template (STRATEGY FILE_COPY);
* `bot.services.chase.claim_due_reminders(db, now, teams)`, the database part of a tick: "idle" at a
  `now` before anything is due; "1k due" at NOW; "re-tick" at NOW again (the due rows were re-planned,
  so ~0);
* the full `Chaser.tick` (load_teams + the claims + the weekly agendas check + the heartbeat) from the
  base state again, with a stub Deps: a ManualClock, the real Database, a no-op deliverer. The teams do
  not auto-reassign and this week's agendas are already posted, so no Slack call is needed;
* each child process first runs an untimed 1k-due tick on a copy of its own, as a running bot has ticked
  before (calendars and the working days' periods are built once per process; PostgreSQL's prepared statements
  are per connection, and the measured copy's connection is new, so its first executions are planned afresh);
* logging is set up as the bot sets it up (INFO, text; to /dev/null), so the tick's one line per
  reminder owed is part of its cost;
* the baseline without next_check_at: load every stored handoff and plan_chase each one (up to 100k;
  beyond, extrapolated linearly); `--against REV` also measures REV's code (`git archive REV` into a
  temporary directory; REV's migrations must reach LOAD_REVISION) on the same rows, rep by rep in
  alternating order, and says whether both trees claimed the same rows (a digest of the claimed outbox
  rows and the next checks).

Each rep of each tree runs in a process of its own. It prints wall-clock medians and maxima (and the
bench process's CPU time, which a busy machine inflates less); it never fails on speed.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import json
import os
import platform
import random
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from datetime import time as dtime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parents[1]
# A child measuring another tree (--against) imports that tree's code.
TREE = Path(os.environ.get("HANDOFF_TREE", str(HERE)))
if str(TREE) not in sys.path:
    sys.path.insert(0, str(TREE))

import sqlalchemy  # noqa: E402
from sqlalchemy import bindparam, event, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlmodel import select  # noqa: E402

from bot.core.agenda import agenda_key  # noqa: E402
from bot.core.chase import ChaseFacts, plan_chase  # noqa: E402
from bot.core.teams import Member, TeamPolicy  # noqa: E402
from bot.runtime.clock import ManualClock  # noqa: E402
from bot.services.chase import TICK_LIMIT, Chaser, claim_due_reminders  # noqa: E402
from bot.services.context import Context, Installation  # noqa: E402
from bot.services.handoffs import Handoffs  # noqa: E402
from storage.db import Database, server_admin  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import HandoffRow as Handoff  # noqa: E402
from storage.models import UTCDateTime  # noqa: E402
from storage.teams import load_teams, replace_teams  # noqa: E402

UTC = timezone.utc
NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # a Wednesday: the teams' Monday syncs have passed
IDLE_NOW = NOW - timedelta(hours=6)  # before the earliest due next_check_at (NOW - 5h)
DUE = 1000
BATCH = 50_000
BASELINE_MAX = 100_000  # the full-scan baseline is run up to this size, extrapolated beyond
TABLES = ("handoff", "outbox")
LOAD_REVISION = "0008"  # the schema the rows are loaded into; each tree migrates a copy to its own head


# --- teams -------------------------------------------------------------------------


def make_teams() -> list[TeamPolicy]:
    teams = []
    for tid, tz, country in (("amer", "America/New_York", "US"), ("emea", "Europe/Berlin", "DE"),
                             ("apac", "Asia/Singapore", None)):
        up = tid.upper()
        mgr = f"U_{up}_MGR"
        members = [Member(mgr, "manager")]
        members += [Member(f"U_{up}_SDR{i}", "sdr", mgr, f"U_{up}_AE{i}") for i in range(1, 4)]
        members += [Member(f"U_{up}_AE{i}", "ae", mgr) for i in range(1, 5)]
        teams.append(TeamPolicy(id=tid, name=f"{up} team", region=up, channel_id=f"C_{up}", tz=tz,
                                holiday_country=country, sync_weekday=0, sync_time=dtime(10, 0),
                                members=tuple(members)))
    return teams


def chase_facts(h: Handoff) -> ChaseFacts:
    """What the chase reads of a stored row (every ChaseFacts field the row has, by name)."""
    return ChaseFacts(**{name: getattr(h, name) for name in ChaseFacts.__dataclass_fields__ if hasattr(h, name)})


def managers_of(h: Handoff, team: TeamPolicy | None) -> tuple[str, ...]:  # as Chaser.tick does
    manager = team.manager_of(h.ae_id) if team else None
    return (manager,) if manager else ()


# --- data ----------------------------------------------------------------------------

HANDOFF_COLUMNS = (
    "id", "state", "revision", "submission_key", "slack_team_id", "sdr_id", "ae_id", "company", "contact_name",
    "contact_title", "contact_email", "crm_url", "employee_count", "segment", "region", "source", "handoff_type",
    "meeting_start", "meeting_kind", "meeting_link", "attendees", "need", "compelling_event", "seats",
    "enterprise_needs", "decided_by", "decided_at", "rejection_reason", "created_at", "updated_at",
    "team_id", "ae_tz", "sla_start", "meeting_outcome", "outcome_by", "outcome_at", "next_step", "next_step_due",
    "next_step_owner", "completed_at", "next_check_at",
)
OUTBOX_COLUMNS = ("conversation", "op", "view", "message_key", "handoff_id", "thread_key", "dedupe_key", "status",
                  "attempts", "next_attempt_at", "created_at", "sent_at", "payload")
NEED = "Consolidate three legacy support tools; 40 agents; SSO required by security before renewal."
EVENT = "Current contract ends 31 March; board wants one vendor."


def ts(dt: datetime | None) -> str | None:
    """What SQLAlchemy's SQLite DateTime stores for an aware UTC instant (UTCDateTime strips the zone); as
    text in UTC it is what PostgreSQL's COPY reads too (the loading session's zone is UTC). Every instant
    here is NOW (UTC) plus or minus a timedelta, so isoformat is enough (strftime took half the build)."""
    if dt is None:
        return None
    return dt.isoformat(" ", "microseconds")[:26]


def generate(n: int, teams: list[TeamPolicy], seed: int = 7) -> tuple[list[tuple], list[tuple], dict[str, int]]:
    """N handoff rows (DUE of them due at NOW) and the outbox rows: N/2 sent, with realistic dedupe keys."""
    rng = random.Random(seed)
    rows: list[tuple] = []
    outbox: list[tuple] = []
    mix = {"due_pending": 0, "due_meeting_over": 0, "pending_ahead": 0, "meeting_ahead": 0, "no_show_rebook": 0,
           "next_step_ahead": 0, "completed": 0, "rejected": 0, "withdrawn": 0, "closed": 0}
    due_ids = set(rng.sample(range(1, n + 1), min(DUE, n)))
    H = timedelta(hours=1)
    for hid in range(1, n + 1):
        team = teams[hid % len(teams)]
        up = team.id.upper()
        k = hid % 4 + 1
        sdr, ae = f"U_{up}_SDR{k % 3 + 1}", f"U_{up}_AE{k}"
        state, meeting_start, kind, outcome, outcome_at, completed_at = "pending", None, "demo", None, None, None
        next_step, next_step_due, next_step_owner, decided_at, next_check = None, None, None, None, None
        r = rng.random()
        if hid in due_ids:
            if rng.random() < 0.7:
                cat = "due_pending"
                created = NOW - rng.uniform(24, 96) * H
                sla_start = created
                next_check = NOW - rng.uniform(1 / 60, 5) * H
                meeting_start = NOW + rng.uniform(48, 240) * H
                if rng.random() < 0.3:  # its heads-up was already claimed on an earlier tick
                    dedupe = f"h{hid}:r1:heads_up>{ae}"
                    outbox.append((ae, "post", "reminder", f"reminder:{dedupe}", hid, None, dedupe, "sent", 1,
                                   ts(created), ts(created), ts(created), None))
            else:
                cat = "due_meeting_over"
                state = "accepted"
                meeting_start = NOW - rng.uniform(1.2, 5.8) * H  # ended 0.2-4.8 h ago
                created = meeting_start - rng.uniform(72, 400) * H
                sla_start, decided_at = created, created + 2 * H
                next_check = meeting_start + H  # its end: a demo is 60 minutes
        else:
            created = NOW - timedelta(days=rng.uniform(7, 1100))
            sla_start = created
            if r < 0.03:
                cat = "pending_ahead"
                created = sla_start = NOW - rng.uniform(0, 4) * H
                next_check = NOW + rng.uniform(1, 24) * H
                meeting_start = NOW + rng.uniform(48, 240) * H
            elif r < 0.09:
                cat, state = "meeting_ahead", "accepted"
                meeting_start = NOW + rng.uniform(2, 500) * H
                decided_at = created + 3 * H
                next_check = meeting_start + H
            elif r < 0.11:
                cat, state, outcome = "no_show_rebook", "accepted", "no_show"
                meeting_start = NOW - rng.uniform(2, 40) * H
                outcome_at = meeting_start + 2 * H
                decided_at = created + 3 * H
                next_check = NOW + rng.uniform(2, 48) * H
            elif r < 0.15:
                cat, state, outcome = "next_step_ahead", "accepted", "completed"
                meeting_start = NOW - rng.uniform(24, 400) * H
                outcome_at, decided_at = meeting_start + 2 * H, created + 3 * H
                next_step, next_step_due, next_step_owner = "Send the security questionnaire", \
                    NOW + rng.uniform(2, 300) * H, ae
                next_check = next_step_due
            elif r < 0.70:
                cat, state, outcome = "completed", "accepted", "completed"
                meeting_start = created + rng.uniform(50, 300) * H
                outcome_at = meeting_start + 2 * H
                decided_at, completed_at = created + 3 * H, outcome_at
            elif r < 0.85:
                cat, state, decided_at = "rejected", "rejected", created + 4 * H
            elif r < 0.95:
                cat, state = "withdrawn", "withdrawn"
            else:
                cat, state, outcome = "closed", "closed", "no_show"
                meeting_start = created + 100 * H
                outcome_at = completed_at = meeting_start + 300 * H
                decided_at = created + 3 * H
        mix[cat] += 1
        rows.append((
            hid, state, 1, f"V{hid:09d}", "T_BENCH", sdr, ae, f"Company {hid}", f"Contact {hid}", "VP Support",
            f"contact{hid}@example.com", f"https://crm.example.com/accounts/{hid}", 250, "mid_market", team.region,
            "outbound", "qualified_meeting", ts(meeting_start), kind, "https://meet.example.com/abc-defg-hij",
            "[]", NEED, EVENT, 40, "[\"saml_sso\"]", ae if decided_at else None, ts(decided_at),
            "no_budget" if state == "rejected" else None, ts(created), ts(completed_at or decided_at or created),
            team.id, team.tz, ts(sla_start), outcome, ae if outcome else None, ts(outcome_at), next_step,
            ts(next_step_due), next_step_owner, ts(completed_at), ts(next_check),
        ))
    # N/2 sent outbox rows in all: half are reminders (with dedupe keys), half cards and announcements (none).
    target = n // 2
    hid = 0
    while len(outbox) < target:
        hid = hid % n + 1
        if hid in due_ids:
            continue
        team = teams[hid % len(teams)]
        ae = f"U_{team.id.upper()}_AE{hid % 4 + 1}"
        when = ts(NOW - timedelta(days=rng.uniform(1, 1000)))
        if len(outbox) % 2:
            outbox.append((ae, "post", "ae_card", f"ae_card:{hid}:1", hid, None, None, "sent", 1, when, when, when,
                           None))
        else:
            dedupe = f"h{hid}:r1:heads_up>{ae}"
            outbox.append((ae, "post", "reminder", f"reminder:{dedupe}", hid, None, dedupe, "sent", 1, when, when,
                           when, '{"kind": "heads_up"}'))
    # This week's agendas are already posted, as on every tick after the Monday sync.
    for team in teams:
        key = agenda_key(team, NOW)
        when = ts(NOW - timedelta(days=2))
        outbox.append((team.channel_id, "post", "snapshot", f"{key}:0", None, None, f"{key}:0", "sent", 1, when, when,
                       when, "{}"))
    return rows, outbox, mix


# --- building -------------------------------------------------------------------------


def server_of(url: str, database: str) -> str:
    return make_url(url).set(database=database).render_as_string(hide_password=False)


def build(backend: str, n: int, tmp: Path) -> tuple[str, dict[str, Any]]:
    """The loaded database for size n (a SQLite file's URL, or a new PostgreSQL database's): migrations to
    LOAD_REVISION, teams, then the rows bulk-loaded with the secondary indexes dropped and made again."""
    t0 = time.perf_counter()
    if backend == "sqlite":
        url = f"sqlite:///{tmp / f'base-{n}.db'}"
    else:
        name = f"handoff_tick_{n}_{uuid.uuid4().hex[:8]}"
        with server_admin(backend) as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        url = server_of(backend, name)
    try:
        db = Database(url)
        upgrade(db.engine, LOAD_REVISION)
        teams = make_teams()
        replace_teams(db, teams, NOW - timedelta(days=30))
        db.close()
        t_gen = time.perf_counter()
        rows, outbox, mix = generate(n, teams)
        t_load = time.perf_counter()
        if backend == "sqlite":
            load_sqlite(make_url(url).database or "", rows, outbox)
        else:
            load_postgres(url, rows, outbox)
    except BaseException:
        drop(backend, url)
        raise
    done = time.perf_counter()
    del rows, outbox
    return url, {"gen_s": t_load - t_gen, "load_s": done - t_load, "total_s": done - t0, "mix": mix,
                 "outbox": n // 2 + 3}


def load_sqlite(path: str, rows: list[tuple], outbox: list[tuple]) -> None:
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=OFF")  # a bulk load of a throwaway file; WAL again below
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-1000000")
    indexes = con.execute("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
                          f"AND tbl_name IN {TABLES}").fetchall()
    con.execute("BEGIN")
    for name, _ in indexes:
        con.execute(f'DROP INDEX "{name}"')
    for table, columns, data in (("handoff", HANDOFF_COLUMNS, rows), ("outbox", OUTBOX_COLUMNS, outbox)):
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        for i in range(0, len(data), BATCH):
            con.executemany(sql, data[i:i + BATCH])
    for _, sql in indexes:
        con.execute(sql)
    con.execute("COMMIT")
    con.execute("PRAGMA journal_mode=WAL")
    con.close()


def load_postgres(url: str, rows: list[tuple], outbox: list[tuple]) -> None:
    import psycopg

    conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as con:
        con.execute("SET TIME ZONE 'UTC'")  # the rows' instants are UTC text
        indexes = con.execute(
            "SELECT indexname, indexdef FROM pg_indexes i WHERE schemaname = 'public' AND tablename = ANY(%s) "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = "
            "(quote_ident(i.schemaname) || '.' || quote_ident(i.indexname))::regclass)", (list(TABLES),)).fetchall()
        with con.transaction():
            for name, _ in indexes:
                con.execute(f'DROP INDEX "{name}"')
            for table, columns, data in (("handoff", HANDOFF_COLUMNS, rows), ("outbox", OUTBOX_COLUMNS, outbox)):
                with con.cursor().copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in data:
                        copy.write_row(row)
            for _, sql in indexes:
                con.execute(sql)
            con.execute("SELECT setval(pg_get_serial_sequence('handoff', 'id'), (SELECT max(id) FROM handoff))")


def copy_of(url: str, path: Path, name: str) -> str:
    """A physical copy of a database: SQLite's file copied to `path`; on PostgreSQL a database `name` made from
    it as its template (a file copy; its pages are not in the server's cache yet)."""
    if url.startswith("sqlite"):
        shutil.copyfile(make_url(url).database or "", path)
        return f"sqlite:///{path}"
    with server_admin(server_of(url, "postgres")) as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{make_url(url).database}" STRATEGY FILE_COPY'))
    return server_of(url, name)


def migrated(tree: Path, loaded: str, tmp: Path, tag: str) -> tuple[str, float]:
    """A copy of the loaded database migrated to `tree`'s head by its own code (in a child process); the
    migration's seconds. PostgreSQL's copy is then VACUUM ANALYZEd, as autovacuum leaves a table."""
    url = copy_of(loaded, tmp / f"{Path(make_url(loaded).database or '').stem}-{tag}.db",
                  f"{make_url(loaded).database}_{tag}")
    env = {**os.environ, "HANDOFF_TREE": str(tree), "PYTHONPATH": str(tree)}
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--upgrade", url], env=env, cwd=tree,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        drop("sqlite" if url.startswith("sqlite") else loaded, url)
        raise SystemExit(f"{tree}: migrating {url} failed:\n{done.stderr[-3000:]}")
    return url, float(done.stdout.strip().splitlines()[-1])


def upgrade_child(url: str) -> float:
    """This tree's migrations to head on `url`; seconds taken (the VACUUM ANALYZE after it not counted)."""
    db = Database(url)
    try:
        started = time.perf_counter()
        upgrade(db.engine)
        seconds = time.perf_counter() - started
    finally:
        db.close()
    if not url.startswith("sqlite"):
        import psycopg

        conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        with psycopg.connect(conninfo, autocommit=True) as con:
            con.execute("VACUUM ANALYZE")
    return seconds


def drop(backend: str, url: str) -> None:
    if backend == "sqlite":
        for suffix in ("", "-wal", "-shm", ".migrate-lock"):
            Path((make_url(url).database or "") + suffix).unlink(missing_ok=True)
    else:
        with server_admin(backend) as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))



# --- measuring (in a child process per rep and tree) -------------------------------------


class StatementCounter:
    def __init__(self, engine: sqlalchemy.engine.Engine):
        self.n = 0
        event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, *_: Any) -> None:
        self.n += 1


def timed(fn: Callable[[], Any]) -> tuple[float, float, Any]:
    """Wall-clock and this process's CPU milliseconds."""
    gc.collect()
    t, c = time.perf_counter(), time.process_time()
    result = fn()
    return (time.perf_counter() - t) * 1000, (time.process_time() - c) * 1000, result


@contextmanager
def fresh(base_url: str, work: Path) -> Iterator[Database]:
    """The base state, physically the same every time: a copy of the SQLite file; on PostgreSQL a database
    made from the base one as its template (a file copy; its pages are not in the server's cache yet)."""
    copy = None
    if base_url.startswith("sqlite"):
        for suffix in ("", "-wal", "-shm"):
            Path(str(work) + suffix).unlink(missing_ok=True)
    else:
        copy = f"{make_url(base_url).database}_w{uuid.uuid4().hex[:6]}"
    url = copy_of(base_url, work, copy or "")
    db = Database(url)
    with db.read() as session:  # the bot's connection is long-lived: open it outside the timing
        session.exec(text("SELECT 1"))  # type: ignore[call-overload]
    try:
        # The bot's scheduler runs on the database as its one workspace sees it (bot.runtime.workspaces):
        # statements name the workspace, as the claims' indexes expect (trees from before workspaces: as is).
        yield db.scoped("") if hasattr(db, "scoped") else db
    finally:
        db.close()
        for suffix in ("", "-wal", "-shm"):
            Path(str(work) + suffix).unlink(missing_ok=True)
        if copy is not None:
            with server_admin(server_of(base_url, "postgres")) as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{copy}" WITH (FORCE)'))


def claimed_digest(db: Database, last: int) -> str:
    """The messages a tick owed and the next checks it set, whichever code wrote them: trees from before
    steps passed over were no longer stored (as 'superseded' rows) compare on the rest; payloads by value."""
    with db.engine.connect() as conn:
        rows = [(*r[:-1], r[-1] and json.dumps(json.loads(r[-1]), sort_keys=True)) for r in conn.execute(
            text("SELECT conversation, op, view, message_key, handoff_id, thread_key, dedupe_key, status, payload "
                 "FROM outbox WHERE id > :last AND status <> 'superseded' ORDER BY dedupe_key, message_key"),
            {"last": last}).all()]
        # Wherever the tree keeps the schedule: handoff_check (0009) or the handoff row (before).
        where = ("handoff_check", "handoff_id") if "handoff_check" in sqlalchemy.inspect(conn).get_table_names() \
            else ("handoff", "id")
        checks = conn.execute(text(f"SELECT {where[1]}, next_check_at FROM {where[0]} WHERE next_check_at > :now "
                                   f"AND next_check_at < :soon ORDER BY {where[1]}")
                              .bindparams(bindparam("now", NOW, type_=UTCDateTime()),
                                          bindparam("soon", NOW + timedelta(days=1), type_=UTCDateTime()))).all()
    digest = hashlib.sha256(repr([tuple(r) for r in rows]).encode())
    digest.update(repr([(i, str(at)[:19]) for i, at in checks]).encode())
    return digest.hexdigest()[:16]


def quiet_logging() -> None:
    """The bot's own logging set-up (INFO, text), written to /dev/null."""
    import logging

    try:
        from bot.runtime.logs import setup_logging
        setup_logging("INFO")
    except ImportError:
        logging.basicConfig(level=logging.INFO)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(open(os.devnull, "w"))


def measure(base_url: str, work: Path) -> dict[str, Any]:
    quiet_logging()
    out: dict[str, Any] = {}
    with fresh(base_url, work) as db:
        # The bot ticks every few seconds in one process: what a process builds once (the teams' calendars,
        # the working days' periods) is built by a first 1k-due tick on a copy of its own.
        teams = {t.id: t for t in load_teams(db)}
        claim_due_reminders(db, NOW, teams)
    # The running bot keeps what it loaded at start out of the collector's sight (settle_garbage_collector):
    # a full collection during a tick walks only what the tick made.
    gc.collect()
    gc.freeze()
    with fresh(base_url, work) as db:
        with db.engine.connect() as conn:
            last = conn.execute(text("SELECT coalesce(max(id), 0) FROM outbox")).scalar_one()
        counter = StatementCounter(db.engine)
        idle_ms, _, idle = timed(lambda: claim_due_reminders(db, IDLE_NOW, teams))
        counter.n = 0
        due_ms, due_cpu, due = timed(lambda: claim_due_reminders(db, NOW, teams))
        statements = counter.n
        # The WAL checkpoint the running bot takes every few seconds on its own thread, off the tick.
        checkpoint_ms, _, _ = timed(db.checkpoint)
        again_ms, _, again = timed(lambda: claim_due_reminders(db, NOW, teams))
        digest = claimed_digest(db, last)
    out["run_tick"] = {"idle_ms": idle_ms, "idle_examined": idle.examined, "due_ms": due_ms, "due_cpu": due_cpu,
                       "examined": due.examined, "claimed": due.claimed, "superseded": due.superseded,
                       "statements": statements, "again_ms": again_ms, "again_examined": again.examined,
                       "checkpoint_ms": checkpoint_ms, "digest": digest}
    loop = asyncio.new_event_loop()
    try:
        with fresh(base_url, work) as db:
            ctx = Context(db=db, clock=ManualClock(NOW), people=None,  # type: ignore[arg-type]
                          installation=Installation(), wake_outbox=lambda: None)
            chaser = Chaser(ctx, Handoffs(ctx))
            due_ms, due_cpu, due = timed(lambda: loop.run_until_complete(chaser.tick()))
            again_ms, _, again = timed(lambda: loop.run_until_complete(chaser.tick()))
    finally:
        loop.close()
    out["chaser"] = {"due_ms": due_ms, "due_cpu": due_cpu, "reminders": due.reminders, "agendas": len(due.agendas),
                     "again_ms": again_ms, "again_examined": again.examined}
    # Chaser.tick claims TICK_BATCH handoffs a transaction: the longest the one writer is held, first batch of 1k due.
    from bot.services import chase as chase_service
    batch = getattr(chase_service, "TICK_BATCH", None)
    if batch is not None:
        with fresh(base_url, work) as db:
            out["batch"] = {"size": batch, "ms": timed(lambda: claim_due_reminders(db, NOW, teams, batch))[0]}
    return out


def plan_only_ms(base_url: str, teams: dict[str, TeamPolicy]) -> float:
    """CPU cost of plan_chase alone for the due rows (the part of a tick no index can remove)."""
    from storage.models import HandoffCheck  # this tree's schema (a child measuring another tree never gets here)

    for team in teams.values():
        team.calendar()
    db = Database(base_url)
    try:
        with db.read() as session:
            rows = session.exec(select(Handoff).join(HandoffCheck, HandoffCheck.handoff_id == Handoff.id)
                                .where(HandoffCheck.next_check_at <= NOW)).all()
        facts = [(chase_facts(h), teams.get(h.team_id or ""), managers_of(h, teams.get(h.team_id or "")))
                 for h in rows]
    finally:
        db.close()
    ms, _, _ = timed(lambda: [plan_chase(f, t, NOW, m) for f, t, m in facts])
    return ms


def full_scan_ms(base_url: str, teams: dict[str, TeamPolicy]) -> tuple[float, int]:
    """The tick without next_check_at: load every stored handoff and plan each (no claims, no writes)."""
    db = Database(base_url)
    try:
        def scan() -> int:
            with db.read() as session:
                rows = session.exec(select(Handoff)).all()
            for h in rows:
                team = teams.get(h.team_id or "")
                plan_chase(chase_facts(h), team, NOW, managers_of(h, team))
            return len(rows)
        ms, _, n = timed(scan)
        return ms, n
    finally:
        db.close()


def query_plans(base_url: str) -> list[tuple[str, str]]:
    """How the database runs the tick's statements (EXPLAIN)."""
    at = ts(NOW)
    statements = [
        ("due rows", "SELECT h.id, h.state, h.team_id FROM handoff_check c JOIN handoff h ON h.id = c.handoff_id "
                     f"WHERE c.workspace = '' AND c.next_check_at <= '{{at}}' ORDER BY c.next_check_at "
                     f"LIMIT {TICK_LIMIT}"),
        ("taken keys", "SELECT dedupe_key FROM outbox WHERE workspace = '' AND dedupe_key IN ('a', 'b', 'c')"),
        ("next check", "UPDATE handoff_check SET next_check_at = '{at}' WHERE handoff_id = 42 AND workspace = ''"),
    ]
    db = Database(base_url)
    out = []
    try:
        with db.engine.connect() as conn:
            for name, sql in statements:
                sql = sql.replace("{at}", at or "")
                if db.is_sqlite:
                    plan = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}").fetchall()
                    out.append((name, "; ".join(str(row[-1]) for row in plan)))
                else:
                    plan = conn.exec_driver_sql(f"EXPLAIN {sql}").fetchall()
                    out.append((name, "; ".join(str(row[0]).strip() for row in plan)))
    finally:
        db.close()
    return out


def _load(base_url: str) -> list[TeamPolicy]:
    db = Database(base_url)
    try:
        return load_teams(db)
    finally:
        db.close()


# --- the run ---------------------------------------------------------------------------------


def child(tree: Path, base_url: str, work: Path) -> dict[str, Any]:
    env = {**os.environ, "HANDOFF_TREE": str(tree), "PYTHONPATH": str(tree)}
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--measure", base_url, "--work", str(work)],
                          env=env, cwd=tree, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{tree}: measuring {base_url} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def postgres_server(given: list[str]) -> tuple[list[str], str | None]:
    """The backends to run: SQLite always, PostgreSQL from --database-url, HANDOFF_TEST_POSTGRES or .ci/postgres."""
    if given:
        return [("sqlite" if u == "sqlite" or u.startswith("sqlite") else u) for u in given], None
    url = os.environ.get("HANDOFF_TEST_POSTGRES")
    if not url and (HERE / ".ci" / "postgres").exists():
        done = subprocess.run([str(HERE / ".ci" / "postgres")], capture_output=True, text=True, check=False)
        if done.returncode == 0 and done.stdout.strip():
            url = done.stdout.strip().splitlines()[-1]
        else:
            return ["sqlite"], f"PostgreSQL skipped: .ci/postgres did not start one ({done.stderr.strip()[-200:]})"
    return (["sqlite", url], None) if url else (["sqlite"], "PostgreSQL skipped: no server URL given")


def label(backend: str) -> str:
    return "SQLite" if backend == "sqlite" else "PostgreSQL"


def med_max(values: list[float]) -> str:
    return f"{statistics.median(values):7.1f} / {max(values):7.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="stored handoffs, comma-separated")
    parser.add_argument("--quick", action="store_true", help="10k and 100k only, 3 reps")
    parser.add_argument("--reps", type=int, default=5, help="fresh states per size and tree (median and max)")
    parser.add_argument("--database-url", action="append", default=[], metavar="URL",
                        help="'sqlite' or a PostgreSQL server URL (a database per size is made there); repeatable")
    parser.add_argument("--against", metavar="REV", help="also measure REV's code, rep by rep, alternating")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    parser.add_argument("--measure", help=argparse.SUPPRESS)  # a child: one rep on this base database
    parser.add_argument("--work", help=argparse.SUPPRESS)
    parser.add_argument("--upgrade", help=argparse.SUPPRESS)  # a child: this tree's migrations on a copy
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a stopped run still drops its databases
    if args.measure:
        print(json.dumps(measure(args.measure, Path(args.work))))
        return
    if args.upgrade:
        print(upgrade_child(args.upgrade))
        return
    sizes = [10_000, 100_000] if args.quick else [int(s) for s in args.sizes.split(",") if s.strip()]
    reps = 3 if args.quick and args.reps == 5 else args.reps
    backends, skipped = postgres_server(args.database_url)

    print("Handoff scheduler tick benchmark")
    print(f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, SQLAlchemy {sqlalchemy.__version__},"
          f" {os.cpu_count()} cores, {platform.machine()} {platform.system()}, load {os.getloadavg()[0]:.1f}")
    print(f"now = {NOW.isoformat()}, due per size = {DUE}, TICK_LIMIT = {TICK_LIMIT}, reps = {reps}")
    if skipped:
        print(skipped)
    tmp = Path(tempfile.mkdtemp(prefix="handoff-tick-"))
    trees = {"this tree": HERE}
    if args.against:
        other = tmp / "against"
        other.mkdir()
        archive = subprocess.run(["git", "-C", str(HERE), "archive", args.against], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(other)], input=archive.stdout, check=True)
        trees[args.against] = other
    results: dict[tuple[str, int], dict[str, Any]] = {}
    started = time.perf_counter()
    try:
        for backend in backends:
            for n in sizes:
                loaded, info = build(backend, n, tmp)
                bases: dict[str, str] = {}
                try:
                    migrations = {}
                    for i, (name, tree) in enumerate(trees.items()):
                        bases[name], migrations[name] = migrated(tree, loaded, tmp, f"t{i}")
                    drop(backend, loaded)
                    base = bases["this tree"]
                    teams = {t.id: t for t in _load(base)}
                    print(f"\n[{label(backend)} N={n:,}] built in {info['total_s']:.1f} s (generate "
                          f"{info['gen_s']:.1f} s, load {info['load_s']:.1f} s), outbox rows {info['outbox']:,}; "
                          "migrated from " + LOAD_REVISION + " to head in " +
                          ", ".join(f"{s:.1f} s ({name})" for name, s in migrations.items()))
                    print("  mix: " + ", ".join(f"{k} {v:,}" for k, v in info["mix"].items()))
                    if n == sizes[0]:
                        print("  query plans:")
                        for name, plan in query_plans(base):
                            print(f"    {name:11s} {plan}")
                    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in trees}
                    for rep in range(reps):
                        order = list(trees) if rep % 2 == 0 else list(reversed(trees))
                        for name in order:
                            runs[name].append(child(trees[name], bases[name], tmp / "work.db"))
                    plan_ms = plan_only_ms(base, teams)
                    scan = full_scan_ms(base, teams) if n <= BASELINE_MAX else None
                finally:
                    for url in (loaded, *bases.values()):
                        drop(backend, url)
                results[(backend, n)] = {"runs": runs, "plan_ms": plan_ms, "scan": scan}
                for name, got in runs.items():
                    t = got[0]["run_tick"]
                    print(f"  {name}: run_tick examined {t['examined']}, claimed {t['claimed']}, superseded "
                          f"{t['superseded']}, {t['statements']} SQL statements; re-tick examined "
                          f"{t['again_examined']}; digest {', '.join(sorted({g['run_tick']['digest'] for g in got}))}")
                    print(f"  {name}: run_tick 1k due ms: " + ", ".join(f"{g['run_tick']['due_ms']:.1f}" for g in got)
                          + "; Chaser.tick 1k due ms: " + ", ".join(f"{g['chaser']['due_ms']:.1f}" for g in got))
                print(f"  plan_chase alone for the due rows: {plan_ms:.1f} ms")
                if scan:
                    print(f"  full scan: {scan[1]:,} handoffs planned in {scan[0]:.0f} ms")
    finally:
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    report(results, trees, reps)
    print(f"total run time {time.perf_counter() - started:.0f} s")


def report(results: dict[tuple[str, int], dict[str, Any]], trees: dict[str, Path], reps: int) -> None:
    def values(key: tuple[str, int], name: str, part: str, field: str) -> list[float]:
        return [g[part][field] for g in results[key]["runs"][name]]

    def med(key: tuple[str, int], name: str, part: str, field: str) -> float:
        return statistics.median(values(key, name, part, field))

    print(f"\nms, median / max over {reps} fresh states (wall clock; cpu = the bench process's CPU, median)")
    header = (f"{'backend':<10} {'stored N':>10} {'tree':<10} {'run_tick 1k due':>17} {'cpu':>6} {'1st':>7}"
              f" {'re-tick':>17} {'idle':>17} {'Chaser.tick 1k':>17} {'Chaser.tick 0':>17} {'plan_chase':>10}"
              f" {'full scan':>10}")
    print(header)
    print("-" * len(header))
    for (backend, n), r in results.items():
        for name in trees:
            scan = f"{r['scan'][0]:10.0f}" if r["scan"] else f"{'-':>10}"
            first = values((backend, n), name, "run_tick", "due_ms")[0]
            print(f"{label(backend):<10} {n:>10,} {name[:10]:<10}"
                  f" {med_max(values((backend, n), name, 'run_tick', 'due_ms')):>17}"
                  f" {med((backend, n), name, 'run_tick', 'due_cpu'):>6.0f} {first:>7.1f}"
                  f" {med_max(values((backend, n), name, 'run_tick', 'again_ms')):>17}"
                  f" {med_max(values((backend, n), name, 'run_tick', 'idle_ms')):>17}"
                  f" {med_max(values((backend, n), name, 'chaser', 'due_ms')):>17}"
                  f" {med_max(values((backend, n), name, 'chaser', 'again_ms')):>17}"
                  f" {r['plan_ms']:>10.1f} {scan}")
    if len(trees) > 1:
        print("\nsame claims in both trees (digest of the claimed outbox rows and the next checks set):")
        for (backend, n), r in results.items():
            digests = {name: {g["run_tick"]["digest"] for g in got} for name, got in r["runs"].items()}
            same = len({d for ds in digests.values() for d in ds}) == 1
            print(f"  {label(backend)} {n:,}: {'yes' if same else 'NO'} ({digests})")
            this, other = (statistics.median(values((backend, n), name, "run_tick", "due_ms")) for name in trees)
            print(f"    run_tick 1k due: this tree {this:.0f} ms against {other:.0f} ms = x{other / this:.1f} faster")
    sqlite_scans = {n: r["scan"][0] for (b, n), r in results.items() if b == "sqlite" and r["scan"]}
    if sqlite_scans:
        biggest = max(sqlite_scans)
        per_row = sqlite_scans[biggest] / biggest
        print("\nbaseline without next_check_at (load and plan every stored handoff, no claims; SQLite):")
        for backend, n in results:
            if backend != "sqlite":
                continue
            tick = med((backend, n), "this tree", "run_tick", "due_ms")
            if n in sqlite_scans:
                print(f"  {n:,}: {sqlite_scans[n]:.0f} ms = x{sqlite_scans[n] / tick:.1f} the indexed tick with 1k due")
            else:
                print(f"  {n:,}: ~{per_row * n / 1000:.0f} s extrapolated linearly from {biggest:,} (not run: too slow)"
                      f" = x{per_row * n / tick:.0f} the indexed tick")
    print("\nWAL checkpoint after the 1k-due tick (SQLite; off the tick, every 5 s on its own thread), ms median:")
    for (backend, n) in results:
        if backend == "sqlite":
            print(f"  {n:>10,}: {med((backend, n), 'this tree', 'run_tick', 'checkpoint_ms'):.1f}")
    for backend in dict.fromkeys(b for b, _ in results):
        top = max(n for b, n in results if b == backend)
        due_ms = med((backend, top), "this tree", "run_tick", "due_ms")
        chaser_ms = med((backend, top), "this tree", "chaser", "due_ms")
        idle_ms = med((backend, top), "this tree", "run_tick", "again_ms")
        verdict = "meets" if due_ms < 100 else "MISSES"
        batches = [g["batch"] for g in results[(backend, top)]["runs"]["this tree"] if "batch" in g]
        held = (f" Chaser.tick holds the writer a batch of {batches[0]['size']} handoffs at a time: "
                f"{med_max([b['ms'] for b in batches])} ms (median / max)." if batches else "")
        print(f"\ntarget 'under 100 ms per tick at 1M stored', {label(backend)} at {top:,} stored: run_tick with 1k"
              f" due {due_ms:.0f} ms median ({verdict} it), Chaser.tick {chaser_ms:.0f} ms, a tick with nothing due"
              f" {idle_ms:.1f} ms; plan_chase alone for 1k due {results[(backend, top)]['plan_ms']:.0f} ms.{held}")


if __name__ == "__main__":
    main()
