"""The numbers over a long history: a team's stats with 100k handoffs, and the Home render + publish.

Run:  .venv/bin/python bench/stats.py [--size 100000] [--reps 30]

It builds one temporary SQLite file with the real migrations, one team (AMER: 20 SDRs, 10 AEs, a manager;
New York, US holidays, 8-hour SLA from submission), and `--size` handoffs spread over the two years before
NOW (~140 a day): 72% accepted (80% of those met, 20% no-shows; most met ones complete), 15% rejected with
a reason, 8% withdrawn, 5% still waiting; each with its audit lines (submitted, then its decision). Then it
serves the real bot against the Slack stand-in on loopback (LocalBot, a ManualClock at NOW) and times:

* `StatsService.stats` (the two set-wise reads + the figures, this period and the one before, per rep and
  the 8-week trend) for the manager's `team` in each period: this week, last 30 days, quarter;
* the Home, rendered and published to the stand-in (`handlers.home.publish_home`: the reads, the render,
  views.publish over HTTP), for the manager (team numbers for this week), an AE and an SDR.

p50/p95 over --reps runs each (after one warm-up run), against the targets: stats under 500 ms, Home
publish p95 under 300 ms. It prints figures; it never fails on speed.
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from bot.core.chase import acceptance_deadline  # noqa: E402
from bot.core.handoff import REJECT_REASONS  # noqa: E402
from bot.core.teams import Member, TeamPolicy  # noqa: E402
from bot.runtime.clock import ManualClock  # noqa: E402
from bot.sandbox import SlackStandIn  # noqa: E402
from bot.sandbox.local_bot import LocalBot  # noqa: E402
from bot.services.stats import Request  # noqa: E402
from handlers.home import publish_home  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import AuditEvent, HandoffRow  # noqa: E402
from storage.teams import replace_teams  # noqa: E402

UTC = timezone.utc
NOW = datetime(2026, 11, 18, 16, 0, tzinfo=UTC)  # a Wednesday, 11:00 in New York
SDRS = [f"U_SDR{i:02d}" for i in range(20)]
AES = [f"U_AE{i:02d}" for i in range(10)]
MANAGER = "U_MGR"
TEAM = TeamPolicy(id="amer", name="AMER", region="AMER", channel_id="C_AMER", tz="America/New_York",
                  holiday_country="US", sla_hours=8.0, sla_from="submission",
                  members=tuple([Member(s, "sdr", MANAGER) for s in SDRS] + [Member(a, "ae", MANAGER) for a in AES]
                                + [Member(MANAGER, "manager")]))
TARGET_STATS_MS, TARGET_HOME_P95_MS = 500, 300


def seed(path: Path, size: int) -> None:
    db = Database(f"sqlite:///{path}")
    upgrade(db.engine)
    replace_teams(db, [TEAM], NOW)
    rng = random.Random(7)
    span = timedelta(days=730)
    handoffs: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    reasons = list(REJECT_REASONS)
    for i in range(1, size + 1):
        created = NOW - span + span * (i / size) - timedelta(minutes=rng.randint(0, 90))
        sdr, ae = rng.choice(SDRS), rng.choice(AES)
        roll = rng.random()
        recent = NOW - created < timedelta(days=5)
        state = "pending" if recent and roll < 0.5 else (
            "accepted" if roll < 0.72 else "rejected" if roll < 0.87 else "withdrawn" if roll < 0.95 else "pending")
        if state == "pending" and not recent:
            state = "withdrawn"
        decided = created + timedelta(hours=rng.uniform(0.2, 40)) if state != "pending" else None
        if decided is not None and decided > NOW:
            decided, state = None, "pending"
        row: dict[str, Any] = dict(
            rejection_reason=None, meeting_outcome=None, outcome_at=None, next_step=None, next_step_due=None,
            completed_at=None, id=i, state=state, revision=1, submission_key=f"bench-{i}", slack_team_id="T",
            sdr_id=sdr, ae_id=ae,
            company=f"Company {i}", contact_name="Jane", source="outbound", handoff_type="qualified_meeting",
            attendees="[]", need="CI", compelling_event="Renewal", enterprise_needs="[]", created_at=created,
            updated_at=decided or created, team_id="amer", ae_tz="America/New_York", sla_start=created,
            decided_by=ae if decided else None, decided_at=decided, meeting_start=created + timedelta(days=3),
            meeting_kind="demo", region="AMER",
        )
        if state == "rejected":
            row["rejection_reason"] = rng.choice(reasons)
        if state == "accepted" and created + timedelta(days=4) < NOW:
            outcome = "no_show" if rng.random() < 0.2 else "completed"
            row.update(meeting_outcome=outcome, outcome_at=created + timedelta(days=3, hours=2),
                       updated_at=created + timedelta(days=3, hours=2))
            if outcome == "completed" and rng.random() < 0.8:
                row.update(next_step="Pricing", next_step_due=created + timedelta(days=10),
                           completed_at=created + timedelta(days=3, hours=2))
        handoffs.append(row)
        events.append(dict(handoff_id=i, at=created, actor=sdr, action="submitted", from_state=None,
                           to_state="pending", reason=None, detail="{}"))
        if decided is not None:
            action = {"accepted": "accept", "rejected": "reject", "withdrawn": "withdraw"}[state]
            reason = f"{REJECT_REASONS[row['rejection_reason']]}: too early" if state == "rejected" else None
            events.append(dict(handoff_id=i, at=decided, actor=ae if action != "withdraw" else sdr, action=action,
                               from_state="pending", to_state=state, reason=reason, detail="{}"))
    with db.write() as session:
        conn = session.connection()
        for start in range(0, len(handoffs), 5000):
            conn.execute(insert(HandoffRow.__table__), handoffs[start:start + 5000])
        for start in range(0, len(events), 10000):
            conn.execute(insert(AuditEvent.__table__), events[start:start + 10000])
    db.close()
    assert acceptance_deadline(TEAM, start=NOW, ae_tz=None) > NOW


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, max(0, int(round(0.95 * len(ordered))) - 1))]
    return statistics.median(ordered), p95


def timed(bot: LocalBot, make: Any, reps: int) -> list[float]:
    bot.call(make())  # warm-up: caches of calendars and holidays, the first query plans
    out = []
    for _ in range(reps):
        start = time.perf_counter()
        bot.call(make())
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "stats.db"
        began = time.perf_counter()
        seed(path, args.size)
        size_mb = path.stat().st_size / 1e6
        print(f"seeded {args.size:,} handoffs in {time.perf_counter() - began:.1f} s ({size_mb:.0f} MB)")
        standin = SlackStandIn(token="xoxb-bench").start()
        for user in [*SDRS, *AES, MANAGER]:
            standin.add_user(user, user.lower(), tz="America/New_York")
        try:
            with LocalBot(standin, f"sqlite:///{path}", clock=ManualClock(NOW), channel_post_interval=0.0) as bot:
                services = bot.wiring.services
                results: list[tuple[str, float, float, float]] = []
                for period in ("this week", "last 30 days", "quarter"):
                    answer = bot.call(services.stats.stats(MANAGER, Request(team=True, period=period)))
                    figures = answer.stats.figures
                    samples = timed(bot, lambda p=period: services.stats.stats(MANAGER, Request(team=True, period=p)),
                                    args.reps)
                    p50, p95 = percentiles(samples)
                    results.append((f"team stats, {period} ({figures.submitted:,} handoffs in it)", p50, p95,
                                    TARGET_STATS_MS))
                client = bot.wiring.slack
                for who, user in (("manager", MANAGER), ("AE", AES[0]), ("SDR", SDRS[0])):
                    samples = timed(bot, lambda u=user: publish_home(services, client, bot.wiring.background, u, 0),
                                    args.reps)
                    p50, p95 = percentiles(samples)
                    results.append((f"Home render + publish, {who}", p50, p95, TARGET_HOME_P95_MS))
                bot.call(bot.wiring.background.drain())
                published = standin.calls_to("views.publish")
                assert published and all(c.ok for c in published), "a Home publish was refused"
                blocks = max(len(c.args["view"]["blocks"]) if isinstance(c.args["view"], dict)
                             else len(json.loads(c.args["view"])["blocks"]) for c in published)
        finally:
            standin.stop()
    print(f"\n{'what':<58} {'p50 ms':>8} {'p95 ms':>8}  target")
    for name, p50, p95, target in results:
        verdict = "ok" if p95 < target else "OVER"
        print(f"{name:<58} {p50:>8.1f} {p95:>8.1f}  < {target} ms {verdict}")
    print(f"largest Home published: {blocks} blocks (Slack's limit 100)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
