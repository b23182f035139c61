"""The scheduler's pass with many workspaces installed (OAuth), most with nothing to do.

    .venv/bin/python bench/workspaces_tick.py              # 300 workspaces, 7 ticks
    .venv/bin/python bench/workspaces_tick.py --workspaces 1000

Each workspace has a team; one in ten has a handoff due a look. Prints the tick (bot.runtime.workspaces:
one read across workspaces, then only the busy ones visited) against a baseline measured in the same run:
every workspace's chase run in turn, as a pass that visits them all would. The real bot on loopback against
the Slack stand-in, a temporary SQLite file. Figures only, never pass/fail.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime, time as dtime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from slack_sdk.oauth.installation_store.models.bot import Bot  # noqa: E402

from bot.core.teams import Member, TeamPolicy  # noqa: E402
from bot.runtime.clock import ManualClock  # noqa: E402
from bot.sandbox import SlackStandIn  # noqa: E402
from bot.sandbox.local_bot import LocalBot  # noqa: E402
from storage import teams as team_store  # noqa: E402
from storage.models import HandoffCheck, HandoffRow  # noqa: E402

NOW = datetime(2026, 11, 24, 19, 0, tzinfo=timezone.utc)  # a Tuesday afternoon in New York: no agenda due
TEAM = TeamPolicy(id="amer", name="AMER", region="AMER", channel_id="C_AMER", tz="America/New_York",
                  sync_weekday=0, sync_time=dtime(10, 0), members=(Member("U_SDR", "sdr"), Member("U_AE", "ae")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspaces", type=int, default=300)
    parser.add_argument("--ticks", type=int, default=7)
    args = parser.parse_args()
    n = args.workspaces
    with tempfile.TemporaryDirectory() as tmp, \
            SlackStandIn(token="xoxb-x", client_id="bench", client_secret="bench").start() as standin:
        clock = ManualClock(NOW)
        with LocalBot(standin, f"sqlite:///{Path(tmp) / 'ws.db'}", clock=clock, bot_token="", client_id="bench",
                      client_secret="bench", channel_post_interval=0.0) as bot:
            store = bot.wiring.workspaces.store
            assert store is not None and bot.db is not None
            keys = [f"T{i:05d}" for i in range(n)]
            for i, key in enumerate(keys):
                bot.call(store.async_save_bot(Bot(app_id="A", enterprise_id=None, team_id=key, bot_token=f"xoxb-{key}",
                                                  bot_id="B", bot_user_id="U", installed_at=time.time())))
                team_store.replace_teams(bot.db.scoped(key), [replace(TEAM, channel_id=f"C{i}")], NOW)
            bot.call(bot.wiring.chaser.tick(), timeout=600)  # last Monday's agendas, missed: skipped once each
            busy = keys[::10]

            def owe_a_look() -> None:  # a handoff due a look in one workspace in ten (moved on each tick)
                with bot.db.write() as session:  # type: ignore[union-attr]
                    for key in busy:
                        row = HandoffRow(workspace=key, state="withdrawn", submission_key=f"k-{key}-{time.time()}",
                                         sdr_id="U_SDR", ae_id="U_AE", company="C", contact_name="N", need="n",
                                         compelling_event="e", created_at=NOW, updated_at=NOW)
                        session.add(row)
                        session.flush()
                        session.add(HandoffCheck(handoff_id=row.id, workspace=key,
                                                 next_check_at=clock.now() - timedelta(minutes=1)))

            survey, every = [], []
            for _ in range(args.ticks):
                owe_a_look()
                started = time.perf_counter()
                bot.call(bot.wiring.chaser.tick(), timeout=600)
                survey.append((time.perf_counter() - started) * 1000)
                owe_a_look()
                started = time.perf_counter()
                for key in keys:
                    workspace = bot.call(bot.wiring.workspaces.get(key))
                    bot.call(workspace.services.chaser.tick(), timeout=600)
                every.append((time.perf_counter() - started) * 1000)
    med_s, med_e = statistics.median(survey), statistics.median(every)
    print(f"{n} workspaces installed, each with a team; {len(busy)} with a handoff due a look; {args.ticks} ticks")
    print(f"  tick (one survey, busy ones visited): median {med_s:7.1f} ms, max {max(survey):7.1f} ms")
    print(f"  baseline (every workspace visited):   median {med_e:7.1f} ms, max {max(every):7.1f} ms")
    print(f"  ratio baseline / tick: {med_e / med_s:.1f}x; per idle workspace ~{(med_e - med_s) / (n - len(busy)):.2f} ms saved")


if __name__ == "__main__":
    main()
