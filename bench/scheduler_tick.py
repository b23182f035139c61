"""One scheduler tick over 10k, 100k and 1M stored handoffs with ~1,000 due.

Run:  cd /work/main && .venv/bin/python bench/scheduler_tick.py [--quick] [--sizes 10000,100000] [--reps 5]

For each size N it builds, once, a temporary SQLite file with the real migrations
(storage.migrate.upgrade), three teams (storage.teams.replace_teams), N handoffs and N/2 sent
outbox rows, then copies that file (shutil) for every repetition, so each measurement starts
from the same state:

* the mix: 1,000 due at NOW (pending handoffs past their heads-up, some already past the
  deadline or the escalation, ~30% with the heads-up already claimed in the outbox; accepted
  handoffs whose meeting has ended without an outcome); and, not due, pending handoffs whose
  heads-up is ahead, accepted handoffs with a meeting ahead, no-shows to rebook later, next
  steps due later (next_check_at in the future) and finished ones -- completed, rejected,
  withdrawn, closed -- with next_check_at NULL. Half the outbox rows carry reminder dedupe keys.
* `bot.services.chase.claim_due_reminders(db, now, teams)`, the database part of a tick:
  - "idle": at a `now` before anything is due (0 due), on the fresh copy;
  - "1k due": at NOW, 1,000 due, reminders claimed;
  - "re-tick": at NOW again: the due rows were re-planned with next_check_at moved on, so ~0.
* the full `bot.services.chase.Chaser.tick` (load_teams + run_tick + the weekly agendas check) on
  another fresh copy, with a stub Deps: a ManualClock, the real Database, a no-op deliverer.
  The teams do not auto-reassign and this week's agendas are already posted (seeded in the
  outbox), so no Slack call is needed; building a weekly agenda (once per team per week) is
  not measured here.
* the baseline without next_check_at: load every stored handoff and plan_chase each one
  (10k and 100k only; 1M is extrapolated linearly).

It prints figures; it never fails on speed. Medians and maxima are over --reps copies.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import os
import platform
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import datetime, time as dtime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy  # noqa: E402
from sqlalchemy import event, text  # noqa: E402
from sqlalchemy.dialects import sqlite as sqlite_dialect  # noqa: E402
from sqlmodel import col, select  # noqa: E402

from bot.core.agenda import agenda_key  # noqa: E402
from bot.core.chase import ChaseFacts, plan_chase  # noqa: E402
from bot.runtime.clock import ManualClock  # noqa: E402
from bot.services.chase import TICK_LIMIT, Chaser, claim_due_reminders  # noqa: E402
from bot.services.context import Context, Installation  # noqa: E402
from bot.services.handoffs import Handoffs  # noqa: E402
from bot.core.teams import Member, TeamPolicy  # noqa: E402
from storage.chase import CHASE_COLUMNS  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import HandoffRow as Handoff  # noqa: E402
from storage.models import OutboxMessage  # noqa: E402
from storage.teams import load_teams, replace_teams  # noqa: E402

UTC = timezone.utc
NOW = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)  # a Wednesday: the teams' Monday syncs have passed
IDLE_NOW = NOW - timedelta(hours=6)  # before the earliest due next_check_at (NOW - 5h)
DUE = 1000
BATCH = 50_000
BASELINE_MAX = 100_000  # the full-scan baseline is run up to this size, extrapolated beyond


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
    """What the chase reads of a stored row, as the tick selects it (storage.chase.CHASE_COLUMNS)."""
    return ChaseFacts(**{c.key: getattr(h, c.key) for c in CHASE_COLUMNS})


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
    """What SQLAlchemy's SQLite DateTime stores for an aware UTC instant (UTCDateTime strips the zone)."""
    if dt is None:
        return None
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


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


def build(path: Path, n: int) -> dict[str, Any]:
    """The base file for size n: migrations, teams, then a bulk load with sqlite3 executemany."""
    t0 = time.perf_counter()
    db = Database(f"sqlite:///{path}")
    upgrade(db.engine)
    teams = make_teams()
    replace_teams(db, teams, NOW - timedelta(days=30))
    db.close()
    t_gen = time.perf_counter()
    rows, outbox, mix = generate(n, teams)
    t_load = time.perf_counter()
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=OFF")  # a bulk load of a throwaway file; WAL again below
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-1000000")
    con.execute("BEGIN")
    h_sql = f"INSERT INTO handoff ({', '.join(HANDOFF_COLUMNS)}) VALUES ({', '.join('?' * len(HANDOFF_COLUMNS))})"
    for i in range(0, len(rows), BATCH):
        con.executemany(h_sql, rows[i:i + BATCH])
    o_sql = f"INSERT INTO outbox ({', '.join(OUTBOX_COLUMNS)}) VALUES ({', '.join('?' * len(OUTBOX_COLUMNS))})"
    for i in range(0, len(outbox), BATCH):
        con.executemany(o_sql, outbox[i:i + BATCH])
    con.execute("COMMIT")
    con.execute("PRAGMA journal_mode=WAL")
    con.close()
    done = time.perf_counter()
    return {"gen_s": t_load - t_gen, "load_s": done - t_load, "total_s": done - t0, "mix": mix,
            "outbox": len(outbox), "mb": path.stat().st_size / 1e6}


# --- measuring -------------------------------------------------------------------------


class StatementCounter:
    def __init__(self, engine: sqlalchemy.engine.Engine):
        self.n = 0
        event.listen(engine, "before_cursor_execute", self._count)

    def _count(self, *_: Any) -> None:
        self.n += 1


def open_copy(base: Path, work: Path) -> Database:
    for suffix in ("", "-wal", "-shm"):
        Path(str(work) + suffix).unlink(missing_ok=True)
    shutil.copyfile(base, work)
    db = Database(f"sqlite:///{work}")
    with db.read() as session:  # the bot's connection is long-lived: open it outside the timing
        session.exec(text("SELECT 1"))  # type: ignore[call-overload]
    return db


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    gc.collect()
    t = time.perf_counter()
    result = fn()
    return (time.perf_counter() - t) * 1000, result


def measure_run_tick(base: Path, work: Path, teams: dict[str, TeamPolicy]) -> dict[str, Any]:
    db = open_copy(base, work)
    counter = StatementCounter(db.engine)
    try:
        idle_ms, idle = timed(lambda: claim_due_reminders(db, IDLE_NOW, teams))
        counter.n = 0
        due_ms, due = timed(lambda: claim_due_reminders(db, NOW, teams))
        statements = counter.n
        # The WAL checkpoint the running bot takes every few seconds on its own thread, off the tick.
        checkpoint_ms, _ = timed(db.checkpoint)
        again_ms, again = timed(lambda: claim_due_reminders(db, NOW, teams))
    finally:
        db.close()
    return {"idle_ms": idle_ms, "idle_examined": idle.examined, "due_ms": due_ms, "examined": due.examined,
            "claimed": due.claimed, "superseded": due.superseded, "statements": statements,
            "again_ms": again_ms, "again_examined": again.examined, "checkpoint_ms": checkpoint_ms}


def measure_chaser(base: Path, work: Path, loop: asyncio.AbstractEventLoop) -> dict[str, Any]:
    db = open_copy(base, work)
    ctx = Context(db=db, clock=ManualClock(NOW), people=None, installation=Installation(),  # type: ignore[arg-type]
                  wake_outbox=lambda: None)
    chaser = Chaser(ctx, Handoffs(ctx))
    try:
        due_ms, due = timed(lambda: loop.run_until_complete(chaser.tick()))
        again_ms, again = timed(lambda: loop.run_until_complete(chaser.tick()))
    finally:
        db.close()
    return {"due_ms": due_ms, "reminders": due.reminders, "agendas": len(due.agendas), "again_ms": again_ms,
            "again_examined": again.examined}


def plan_only_ms(base: Path, teams: dict[str, TeamPolicy]) -> float:
    """CPU cost of plan_chase alone for the due rows (the part of a tick no index can remove)."""
    db = Database(f"sqlite:///{base}")
    try:
        with db.read() as session:
            rows = session.exec(select(Handoff).where(col(Handoff.next_check_at) <= NOW)).all()
        facts = [(chase_facts(h), teams.get(h.team_id or ""), managers_of(h, teams.get(h.team_id or "")))
                 for h in rows]
    finally:
        db.close()
    ms, _ = timed(lambda: [plan_chase(f, t, NOW, m) for f, t, m in facts])
    return ms


def full_scan_ms(base: Path, teams: dict[str, TeamPolicy]) -> tuple[float, int]:
    """The tick without next_check_at: load every stored handoff and plan each (no claims, no writes)."""
    db = Database(f"sqlite:///{base}")
    try:
        def scan() -> int:
            with db.read() as session:
                rows = session.exec(select(Handoff)).all()
            for h in rows:
                team = teams.get(h.team_id or "")
                plan_chase(chase_facts(h), team, NOW, managers_of(h, team))
            return len(rows)
        return timed(scan)
    finally:
        db.close()


def query_plans(base: Path) -> list[tuple[str, str]]:
    select_tick = select(Handoff).where(col(Handoff.next_check_at) <= NOW).order_by(col(Handoff.next_check_at)) \
        .limit(TICK_LIMIT)
    select_taken = select(OutboxMessage.dedupe_key).where(col(OutboxMessage.dedupe_key).in_(["a", "b", "c"]))
    dialect = sqlite_dialect.dialect()
    statements = [
        ("due rows", str(select_tick.compile(dialect=dialect))),
        ("taken keys", str(select_taken.compile(dialect=dialect, compile_kwargs={"render_postcompile": True}))),
        ("re-plan", "UPDATE handoff SET next_check_at=? WHERE handoff.id = ? AND handoff.next_check_at = ?"),
        ("agenda_posted", str(select(OutboxMessage.dedupe_key).where(col(OutboxMessage.dedupe_key).in_(["x"]))
                              .compile(dialect=dialect, compile_kwargs={"render_postcompile": True}))),
    ]
    con = sqlite3.connect(base)
    out = []
    try:
        for name, sql in statements:
            plan = con.execute(f"EXPLAIN QUERY PLAN {sql}", [ts(NOW)] * sql.count("?")).fetchall()
            out.append((name, "; ".join(row[-1] for row in plan)))
    finally:
        con.close()
    return out


def med_max(values: list[float]) -> str:
    return f"{statistics.median(values):7.1f} / {max(values):7.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000", help="stored handoffs, comma-separated")
    parser.add_argument("--quick", action="store_true", help="10k and 100k only")
    parser.add_argument("--reps", type=int, default=5, help="fresh copies per size (median and max)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    sizes = [10_000, 100_000] if args.quick else [int(s) for s in args.sizes.split(",") if s.strip()]

    print("Handoff scheduler tick benchmark")
    print(f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, SQLAlchemy {sqlalchemy.__version__},"
          f" {os.cpu_count()} cores, {platform.machine()} {platform.system()}")
    print(f"now = {NOW.isoformat()}, due per size = {DUE}, TICK_LIMIT = {TICK_LIMIT}, reps = {args.reps}")
    tmp = Path(tempfile.mkdtemp(prefix="handoff-tick-"))
    teams = {t.id: t for t in make_teams()}
    loop = asyncio.new_event_loop()
    results: dict[int, dict[str, Any]] = {}
    started = time.perf_counter()
    try:
        for n in sizes:
            base, work = tmp / f"base-{n}.db", tmp / "work.db"
            info = build(base, n)
            teams = {t.id: t for t in _load(base)}
            print(f"\n[N={n:,}] built in {info['total_s']:.1f} s (generate {info['gen_s']:.1f} s, "
                  f"load {info['load_s']:.1f} s), {info['mb']:.0f} MB, outbox rows {info['outbox']:,}")
            print("  mix: " + ", ".join(f"{k} {v:,}" for k, v in info["mix"].items()))
            if n == sizes[0]:
                print("  EXPLAIN QUERY PLAN:")
                for name, plan in query_plans(base):
                    print(f"    {name:14s} {plan}")
            ticks = [measure_run_tick(base, work, teams) for _ in range(args.reps)]
            chaser = [measure_chaser(base, work, loop) for _ in range(args.reps)]
            plan_ms = plan_only_ms(base, teams)
            scan = full_scan_ms(base, teams) if n <= BASELINE_MAX else None
            results[n] = {"ticks": ticks, "chaser": chaser, "plan_ms": plan_ms, "scan": scan}
            t = ticks[0]
            print(f"  run_tick: examined {t['examined']}, claimed {t['claimed']}, superseded {t['superseded']}, "
                  f"{t['statements']} SQL statements; re-tick examined {t['again_examined']}; "
                  f"idle examined {t['idle_examined']}")
            print(f"  run_tick 1k due ms: " + ", ".join(f"{x['due_ms']:.1f}" for x in ticks))
            print(f"  plan_chase alone for the due rows: {plan_ms:.1f} ms")
            if scan:
                print(f"  full scan: {scan[1]:,} handoffs planned in {scan[0]:.0f} ms")
            for suffix in ("", "-wal", "-shm"):
                Path(str(work) + suffix).unlink(missing_ok=True)
            base.unlink()
    finally:
        loop.close()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)

    print("\nclaim_due_reminders and Chaser.tick (bot.services.chase), ms median / max over "
          f"{args.reps} fresh copies")
    header = (f"{'stored N':>10} {'due':>5} {'claimed':>7} {'run_tick 1k due':>17} {'re-tick (0 due)':>17}"
              f" {'idle (0 due)':>17} {'Chaser.tick 1k':>17} {'Chaser.tick 0':>17} {'plan_chase':>10}"
              f" {'full scan':>10}")
    print(header)
    print("-" * len(header))
    for n, r in results.items():
        t, c = r["ticks"], r["chaser"]
        scan = f"{r['scan'][0]:10.0f}" if r["scan"] else f"{'-':>10}"
        print(f"{n:>10,} {t[0]['examined']:>5} {t[0]['claimed']:>7} {med_max([x['due_ms'] for x in t]):>17}"
              f" {med_max([x['again_ms'] for x in t]):>17} {med_max([x['idle_ms'] for x in t]):>17}"
              f" {med_max([x['due_ms'] for x in c]):>17} {med_max([x['again_ms'] for x in c]):>17}"
              f" {r['plan_ms']:>10.1f} {scan}")

    def med(n: int, key: str, which: str = "ticks") -> float:
        return statistics.median(x[key] for x in results[n][which])

    print("\nWAL checkpoint after the 1k-due tick (taken off the tick, every 5 s on its own thread), ms median:")
    for n in results:
        print(f"  {n:>10,}: {med(n, 'checkpoint_ms'):.1f}")

    smallest = min(results)
    print("\ngrowth (median ms at N / median ms at the smallest N):")
    for n in sorted(results):
        if n == smallest:
            continue
        f = n // smallest
        print(f"  {n:,} / {smallest:,} (x{f} stored): run_tick 1k due x{med(n, 'due_ms') / med(smallest, 'due_ms'):.2f}, "
              f"re-tick x{med(n, 'again_ms') / med(smallest, 'again_ms'):.2f}, "
              f"idle x{med(n, 'idle_ms') / med(smallest, 'idle_ms'):.2f}, "
              f"Chaser.tick 1k due x{med(n, 'due_ms', 'chaser') / med(smallest, 'due_ms', 'chaser'):.2f}")
    scans = {n: r["scan"][0] for n, r in results.items() if r["scan"]}
    if scans:
        print("\nbaseline without next_check_at (load and plan every stored handoff, no claims):")
        for n, ms in scans.items():
            print(f"  {n:,}: {ms:.0f} ms = x{ms / med(n, 'due_ms'):.1f} the indexed tick with 1k due")
        biggest = max(scans)
        per_row = scans[biggest] / biggest
        for n in sorted(results):
            if n not in scans:
                print(f"  {n:,}: ~{per_row * n / 1000:.0f} s extrapolated linearly from {biggest:,} "
                      f"(not run: too slow) = x{per_row * n / med(n, 'due_ms'):.0f} the indexed tick")
    top = max(results)
    due_ms, idle_ms, chaser_ms = med(top, "due_ms"), med(top, "again_ms"), med(top, "due_ms", "chaser")
    verdict = "meets" if due_ms < 100 else "MISSES"
    print(f"\ntarget 'well under 100 ms per tick at 1M stored' -- at {top:,} stored: run_tick with 1k due "
          f"{due_ms:.0f} ms median ({verdict} it), Chaser.tick {chaser_ms:.0f} ms, a tick with nothing due "
          f"{idle_ms:.1f} ms; plan_chase alone for 1k due {results[top]['plan_ms']:.0f} ms.")
    print(f"total run time {time.perf_counter() - started:.0f} s")


def _load(base: Path) -> list[TeamPolicy]:
    db = Database(f"sqlite:///{base}")
    try:
        return load_teams(db)
    finally:
        db.close()


if __name__ == "__main__":
    main()
