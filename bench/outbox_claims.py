"""The outbox's claim and settle on one copy of the bot, with channel pacing in the database and without.

Run:  .venv/bin/python bench/outbox_claims.py [--rounds 20]

A temporary SQLite file with the real migrations; each round owes 400 posts (200 to 200 channels, one
each, and 200 DMs), then times `storage.outbox.claim_due` of them all and `storage.outbox.settle` of
their outcomes (sent), as the delivery worker does, once with `pacing` (the channels' turns taken at the
claim and released at the settle: storage.pacing) and once without (what the code did before pacing
moved into the database; the tests' bots still run so, with HANDOFF_CHANNEL_POST_INTERVAL 0). A channel
per post is the worst case for pacing's cost: a round usually posts to a few channels. It prints
figures; it never fails on speed.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.core.audience import Owed  # noqa: E402
from storage import handoffs as store  # noqa: E402
from storage import outbox  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402

NOW = datetime(2026, 3, 2, tzinfo=timezone.utc)
CHANNELS, DMS = 200, 200


def measure(rounds: int, pacing: timedelta | None) -> list[float]:
    times = []
    with tempfile.TemporaryDirectory() as directory:
        db = Database(f"sqlite:///{Path(directory) / 'bench.db'}")
        upgrade(db.engine)
        for r in range(rounds):
            with db.write() as session:
                store.enqueue_many(session, [
                    (None, Owed(f"C{i:04d}" if i < CHANNELS else f"U{i:04d}", "post", "snapshot", f"k{r}:{i}",
                                f"k{r}:{i}", payload="{}")) for i in range(CHANNELS + DMS)], event_id=None, now=NOW)
            started = time.perf_counter()
            claim = outbox.claim_due(db, NOW, limit=CHANNELS + DMS, pacing=pacing)
            assert len(claim.deliveries) == CHANNELS + DMS
            outbox.settle(db, [outbox.Outcome(d.row, "sent", channel=d.row.conversation, ts="1.0", at=NOW)
                               for d in claim.deliveries], pacing)
            times.append(time.perf_counter() - started)
            time.sleep(0.002)  # every channel's turn has come again by the next round (1 ms interval)
        db.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    for label, pacing in (("without pacing", None), ("pacing in the database", timedelta(milliseconds=1))):
        times = measure(args.rounds, pacing)
        print(f"{label:>24}: claim+settle of {CHANNELS + DMS} posts ({CHANNELS} channels) "
              f"median {statistics.median(times) * 1000:.1f} ms, min {min(times) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
