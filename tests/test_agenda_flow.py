"""The weekly agenda through the real app and scheduler, on the injected clock: only in the team's slot
(caught up the same working day, never days later), moved past a public holiday, never empty, one message.

Each test starts the bot at a chosen moment (the first start is the first tick), ticks the scheduler's own
job and one delivery pass, and reads what the Slack stand-in was asked to post.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from bot.core.handoff import Handoff, State
from bot.runtime.clock import ManualClock
from bot.sandbox import SlackStandIn
from bot.sandbox.local_bot import LocalBot
from bot.services.handoffs import create_handoff
from conftest import local_bot
from teams_fixture import AE, AMER, AMER_CHANNEL, EMEA, EMEA_CHANNEL, SDR, berlin, blocks_of, install, ny, \
    outbox_rows, posts, tick_at, utc

AGENDA = "SDR–sales sync"


def agenda_posts(standin: SlackStandIn, channel: str = AMER_CHANNEL) -> list:
    return [c for c in posts(standin, channel) if (c.args.get("text") or "").startswith(AGENDA)]


@contextmanager
def started_at(standin: SlackStandIn, db_url: str, clock: ManualClock, when: datetime) -> Iterator[LocalBot]:
    """The bot's first start at `when`."""
    clock.set(when)
    with local_bot(standin, db_url, clock) as bot:
        yield bot


@contextmanager
def agenda_log() -> Iterator[list[str]]:
    records: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())  # type: ignore[method-assign]
    logger = logging.getLogger("handoff.agenda")
    logger.addHandler(handler)
    old = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old)


def waiting(bot: LocalBot, count: int = 1, *, team: str = "amer", created: datetime | None = None) -> None:
    """`count` handoffs waiting for acceptance, stored through the service the form uses."""
    created = created or bot.clock.now()  # type: ignore[union-attr]
    for i in range(count):
        create_handoff(bot.db, Handoff(
            id=0, state=State.PENDING, revision=1, sdr_id=SDR, ae_id=AE, company=f"Prospect {i:02d}",
            contact_name="Pat Lee", need="Docs", compelling_event="Launch", created_at=created, updated_at=created,
            next_check_at=created, team_id=team, ae_tz="America/New_York", sla_start=created, region="AMER",
            meeting_start=ny(2026, 12, 14, 10, 0), meeting_kind="discovery_15", slack_team_id="T_HANDOFF",
            submission_key=f"bulk-{team}-{i}"))


# ---------------------------------------------------------------- the slot


def test_a_first_start_at_3am_posts_nothing_and_the_slot_posts_once(standin, db_url, clock):
    with agenda_log() as logged, started_at(standin, db_url, clock, ny(2026, 11, 30, 3, 0)) as bot:
        install(bot, standin, AMER)
        waiting(bot, 2)
        assert tick_at(bot, ny(2026, 11, 30, 3, 0)).agendas == []
        assert tick_at(bot, ny(2026, 11, 30, 9, 59)).agendas == []
        assert agenda_posts(standin) == []
        assert tick_at(bot, ny(2026, 11, 30, 10, 0)).agendas == ["agenda:amer:2026-W49"]
        for when in (ny(2026, 11, 30, 10, 1), ny(2026, 11, 30, 16, 59), ny(2026, 12, 1, 10, 0)):
            assert tick_at(bot, when).agendas == []
        [post] = agenda_posts(standin)
        assert "AMER Mid-Market · week of 30 Nov 2026" in post.args["text"]
    # Last week's sync (Mon 23 Nov) had passed before the first start: skipped and said once, not posted.
    missed = [line for line in logged if "not posted" in line]
    assert len(missed) == 1 and "agenda:amer:2026-W48" in missed[0], logged


def test_started_at_16_00_on_the_sync_day_it_catches_up(standin, db_url, clock):
    with started_at(standin, db_url, clock, ny(2026, 11, 30, 16, 0)) as bot:
        install(bot, standin, AMER)
        waiting(bot)
        assert tick_at(bot, ny(2026, 11, 30, 16, 0)).agendas == ["agenda:amer:2026-W49"]
        assert len(agenda_posts(standin)) == 1


def test_started_the_next_day_nothing_is_posted_and_the_miss_is_logged_once(standin, db_url, clock):
    with agenda_log() as logged:
        with started_at(standin, db_url, clock, ny(2026, 12, 1, 9, 0)) as bot:
            install(bot, standin, AMER)
            waiting(bot)
            for when in (ny(2026, 12, 1, 9, 0), ny(2026, 12, 1, 10, 0), ny(2026, 12, 3, 12, 0)):
                assert tick_at(bot, when).agendas == []
        with started_at(standin, db_url, clock, ny(2026, 12, 3, 13, 0)) as again:  # a restart says nothing new
            assert tick_at(again, ny(2026, 12, 3, 13, 0)).agendas == []
            [row] = outbox_rows(again, dedupe_key="agenda:amer:2026-W49:0")
            assert row.status == "superseded"
    assert agenda_posts(standin) == []
    assert len([line for line in logged if "agenda:amer:2026-W49 not posted" in line]) == 1, logged


def test_a_public_holiday_moves_the_agenda_to_the_next_working_day(standin, db_url, clock):
    # Thanksgiving, Thursday 26 Nov 2026, for a US team whose sync is on Thursdays at 10:00.
    with started_at(standin, db_url, clock, ny(2026, 11, 26, 8, 0)) as bot:
        install(bot, standin, AMER, sync_weekday=3)
        waiting(bot)
        for when in (ny(2026, 11, 26, 10, 0), ny(2026, 11, 26, 16, 0), ny(2026, 11, 27, 9, 59)):
            assert tick_at(bot, when).agendas == []
        assert tick_at(bot, ny(2026, 11, 27, 10, 0)).agendas == ["agenda:amer:2026-W48"]
        assert tick_at(bot, ny(2026, 11, 27, 11, 0)).agendas == []
        [post] = agenda_posts(standin)
        assert "week of 23 Nov 2026" in post.args["text"]


def test_the_slot_follows_the_team_zone_across_the_dst_change(standin, db_url, clock):
    # Berlin leaves summer time on Sun 25 Oct 2026: the 09:30 sync is 08:30 UTC on Monday 26, not 07:30.
    with started_at(standin, db_url, clock, berlin(2026, 10, 26, 6, 0)) as bot:
        install(bot, standin, EMEA)
        waiting(bot, team="emea")
        assert tick_at(bot, utc(2026, 10, 26, 7, 30)).agendas == []
        assert tick_at(bot, berlin(2026, 10, 26, 9, 29)).agendas == []
        assert tick_at(bot, utc(2026, 10, 26, 8, 30)).agendas == ["agenda:emea:2026-W44"]
        assert len(agenda_posts(standin, EMEA_CHANNEL)) == 1


# ---------------------------------------------------------------- what it says


def test_an_empty_week_says_so_in_one_line_by_default(standin, db_url, clock):
    with started_at(standin, db_url, clock, ny(2026, 11, 30, 10, 0)) as bot:
        install(bot, standin, AMER)
        assert tick_at(bot, ny(2026, 11, 30, 10, 0)).agendas == ["agenda:amer:2026-W49"]
        [post] = agenda_posts(standin)
        assert post.args["text"] == "SDR–sales sync · AMER Mid-Market · week of 30 Nov 2026: nothing to align on this week."
        assert len(blocks_of(post)) == 1


def test_an_empty_week_posts_nothing_when_the_team_chose_skip(standin, db_url, clock):
    with started_at(standin, db_url, clock, ny(2026, 11, 30, 10, 0)) as bot:
        install(bot, standin, AMER, empty_agenda="skip")
        assert tick_at(bot, ny(2026, 11, 30, 10, 0)).agendas == []
        waiting(bot)  # something turns up later that day: the week was decided, it stays quiet
        assert tick_at(bot, ny(2026, 11, 30, 14, 0)).agendas == []
        assert agenda_posts(standin) == []
        [row] = outbox_rows(bot, dedupe_key="agenda:amer:2026-W49:0")
        assert row.status == "superseded"


def test_a_team_with_80_items_gets_one_message_within_50_blocks(standin, db_url, clock):
    with started_at(standin, db_url, clock, ny(2026, 11, 30, 8, 0)) as bot:
        install(bot, standin, AMER)
        waiting(bot, 80)
        assert tick_at(bot, ny(2026, 11, 30, 10, 0)).agendas == ["agenda:amer:2026-W49"]
        [post] = agenda_posts(standin)
        assert post.args.get("thread_ts") is None
        assert [c for c in posts(standin, AMER_CHANNEL) if c.args.get("thread_ts")] == []
        blocks = blocks_of(post)
        assert len(blocks) <= 50
        shown = json.dumps(blocks, ensure_ascii=False)
        listed = sum(f"*Prospect {i:02d}* · waiting for" in shown for i in range(80))
        assert 0 < listed < 80
        assert f"…and {80 - listed} more · `/handoff list` shows yours" in shown
        assert "<!date^" in shown and "America/New_York" not in shown
