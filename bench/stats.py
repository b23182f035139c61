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

With `--against REV` (e.g. `--against main`) it measures this tree and REV's code (`git archive REV` into a temp
directory) in the same run: each tree seeds its own file with its own migrations, then `--rounds` rounds each
measure both trees, one process per tree per round, alternating which goes first, so the other work on the
machine weighs on both alike. It prints each tree's p50/p95 over all rounds, each round's p50, and whether both
trees gave the same answers (a digest of every period's Stats and the SDR's own Home figures).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(os.environ.get("HANDOFF_TREE") or Path(__file__).resolve().parents[1])  # whose code is measured
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


def measure(path: Path, reps: int) -> tuple[dict[str, list[float]], str, int]:
    """Samples (ms) per item on an already seeded file, a digest of the answers, the largest Home's blocks."""
    samples: dict[str, list[float]] = {}
    answers: list[str] = []
    standin = SlackStandIn(token="xoxb-bench").start()
    for user in [*SDRS, *AES, MANAGER]:
        standin.add_user(user, user.lower(), tz="America/New_York")
    try:
        with LocalBot(standin, f"sqlite:///{path}", clock=ManualClock(NOW), channel_post_interval=0.0) as bot:
            services = bot.wiring.services
            for period in ("this week", "last 30 days", "quarter"):
                answer = bot.call(services.stats.stats(MANAGER, Request(team=True, period=period)))
                answers.append(repr(answer.stats))
                samples[f"team stats, {period} ({answer.stats.figures.submitted:,} handoffs in it)"] = timed(
                    bot, lambda p=period: services.stats.stats(MANAGER, Request(team=True, period=p)), reps)
            answers.append(repr(bot.call(services.stats.home(SDRS[0])).own))
            client = bot.wiring.slack
            for who, user in (("manager", MANAGER), ("AE", AES[0]), ("SDR", SDRS[0])):
                samples[f"Home render + publish, {who}"] = timed(
                    bot, lambda u=user: publish_home(services, client, bot.wiring.background, u, 0), reps)
            bot.call(bot.wiring.background.drain())
            published = standin.calls_to("views.publish")
            assert published and all(c.ok for c in published), "a Home publish was refused"
            blocks = max(len(c.args["view"]["blocks"]) if isinstance(c.args["view"], dict)
                         else len(json.loads(c.args["view"])["blocks"]) for c in published)
    finally:
        standin.stop()
    return samples, hashlib.sha256("\n".join(answers).encode()).hexdigest()[:16], blocks


def target_of(name: str) -> int:
    return TARGET_STATS_MS if name.startswith("team stats") else TARGET_HOME_P95_MS


def print_table(samples: dict[str, list[float]]) -> None:
    print(f"\n{'what':<58} {'p50 ms':>8} {'p95 ms':>8}  target")
    for name, values in samples.items():
        p50, p95 = percentiles(values)
        print(f"{name:<58} {p50:>8.1f} {p95:>8.1f}  < {target_of(name)} ms {'ok' if p95 < target_of(name) else 'OVER'}")


def child(tree: Path, *args: str) -> str:
    env = {**os.environ, "HANDOFF_TREE": str(tree), "PYTHONPATH": str(tree)}
    done = subprocess.run([sys.executable, str(Path(__file__).resolve()), *args], env=env, cwd=tree,
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{tree}: {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def compare(against: str, size: int, reps: int, rounds: int) -> int:
    here = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp) / "base"
        base.mkdir()
        archive = subprocess.run(["git", "-C", str(here), "archive", against], capture_output=True, check=True)
        subprocess.run(["tar", "-x", "-C", str(base)], input=archive.stdout, check=True)
        trees = {against: base, "this tree": here}
        files = {name: Path(tmp) / f"{i}.db" for i, name in enumerate(trees)}
        for name, tree in trees.items():
            began = time.perf_counter()
            child(tree, "--seed-only", str(files[name]), "--size", str(size))
            print(f"{name}: seeded {size:,} handoffs with its migrations in {time.perf_counter() - began:.1f} s")
        pooled: dict[str, dict[str, list[float]]] = {name: {} for name in trees}
        per_round: dict[str, dict[str, list[float]]] = {name: {} for name in trees}
        digests: dict[str, set[str]] = {name: set() for name in trees}
        for r in range(rounds):
            order = list(trees) if r % 2 == 0 else list(reversed(trees))
            for name in order:
                got = json.loads(child(trees[name], "--measure", str(files[name]), "--reps", str(reps)))
                digests[name].add(got["digest"])
                for item, values in got["samples"].items():
                    pooled[name].setdefault(item, []).extend(values)
                    per_round[name].setdefault(item, []).append(percentiles(values)[0])
            print(f"round {r + 1} of {rounds} done ({' then '.join(order)})")
    print(f"\n{'what':<58} {'tree':<10} {'p50 ms':>8} {'p95 ms':>8}  {'p50 per round':<24} target")
    for item in pooled["this tree"]:
        for name in trees:
            values = pooled[name].get(item, [])
            if not values:
                continue
            p50, p95 = percentiles(values)
            rounds_p50 = ", ".join(f"{v:.0f}" for v in per_round[name][item])
            verdict = "ok" if p95 < target_of(item) else "OVER"
            print(f"{item:<58} {name[:10]:<10} {p50:>8.1f} {p95:>8.1f}  {rounds_p50:<24} "
                  f"< {target_of(item)} ms {verdict}")
    same = len(digests[against]) == 1 and digests[against] == digests["this tree"]
    print(f"same answers in both trees (every period's Stats, the SDR's own figures): {'yes' if same else 'NO'} "
          f"({', '.join(f'{n}: {sorted(d)}' for n, d in digests.items())})")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--reps", type=int, default=30)
    parser.add_argument("--against", metavar="REV", help="also measure REV's code (e.g. main), round by round")
    parser.add_argument("--rounds", type=int, default=3, help="with --against: rounds of both trees")
    parser.add_argument("--seed-only", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.seed_only:
        seed(args.seed_only, args.size)
        return 0
    if args.measure:
        samples, digest, blocks = measure(args.measure, args.reps)
        print(json.dumps({"samples": samples, "digest": digest, "blocks": blocks}))
        return 0
    if args.against:
        return compare(args.against, args.size, args.reps, args.rounds)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "stats.db"
        began = time.perf_counter()
        seed(path, args.size)
        took, size_mb = time.perf_counter() - began, path.stat().st_size / 1e6
        print(f"seeded {args.size:,} handoffs in {took:.1f} s ({size_mb:.0f} MB)")
        samples, digest, blocks = measure(path, args.reps)
    print_table(samples)
    print(f"largest Home published: {blocks} blocks (Slack's limit 100); answers' digest {digest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
