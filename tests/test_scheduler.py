"""The scheduler chases what is owed: through the real app, the real tick and the stand-in.

Every test moves the injected clock, runs the scheduler's own job (`Chaser.tick`) and one
delivery pass, then reads what Slack (the stand-in) was asked to show. Time never comes from the
machine, so nothing here depends on how fast it runs.
"""
from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import date, datetime, timedelta

from bot.standin import SlackStandIn
from bot.standin.local_bot import LocalBot
from conftest import ADMIN
from flow import handoff_submitted, submit
from storage import handoffs as store
from teams_fixture import (
    AE, AE2, AMER, AMER_CHANNEL, EMEA, EMEA_CHANNEL, EU_AE, EU_SDR, MANAGER, SDR, STRANGER, action_ids, berlin,
    blocks_of, install, ny, outbox_rows, posts, reminders_to, settle, texts, tick, tick_at, utc, where,
)

HEADS_UP, OVERDUE, ESCALATION = "⏰", "🔴", "🚨"
OUTCOME_MISSING, REBOOK, CLOSE_OR_KEEP, NEXT_STEP = "📝 The meeting", "📅", "❓", "⌛"
MONDAY_9 = ny(2026, 11, 23, 9, 0)  # Mon 23 Nov 2026, 09:00 New York (the fixtures' START)
FAR_MEETING = int(ny(2026, 12, 14, 10, 0).timestamp())  # far enough not to start the after-meeting chase


def submitted(bot: LocalBot, standin: SlackStandIn, *, sdr: str = SDR, ae: str = AE, **answers) -> tuple[str, str]:
    """The SDR's /handoff to `ae` through the real modal; returns where the AE's card is."""
    answers.setdefault("meeting_start", FAR_MEETING)
    card = handoff_submitted(standin, bot.driver, user=sdr, ae_id=ae, **answers)
    settle(bot)
    return card


def announcement(standin: SlackStandIn, channel: str = AMER_CHANNEL, handoff: str = "H-1"):
    found = [c for c in posts(standin, channel) if f"New handoff *{handoff} " in (c.args.get("text") or "")]
    assert len(found) == 1, texts(posts(standin, channel))
    return found[0]


AGENDA = "SDR–sales sync"


def new_posts(standin: SlackStandIn, before: int) -> list:
    """Posts since `before`, leaving out the weekly agenda (it has its own test)."""
    return [c for c in posts(standin)[before:] if not (c.args.get("text") or "").startswith(AGENDA)]


def stored(bot: LocalBot, handoff_id: int = 1):
    h = store.get_handoff(bot.db, handoff_id)
    assert h is not None
    return h


# ---------------------------------------------------------------- the unaccepted ladder


def test_unaccepted_ladder_heads_up_overdue_escalation_each_once(bot, standin, clock):
    install(bot, standin, AMER)
    clock.set(MONDAY_9)
    submitted(bot, standin)
    h = stored(bot)
    assert (h.team_id, h.ae_tz, h.sla_start) == ("amer", "America/New_York", MONDAY_9)
    before = len(posts(standin))

    report = tick_at(bot, ny(2026, 11, 23, 14, 59))
    assert report.reminders == 0 and new_posts(standin, before) == []

    report = tick_at(bot, ny(2026, 11, 23, 15, 0))
    assert report.reminders == 1
    heads_up = reminders_to(standin, AE, HEADS_UP)
    assert len(heads_up) == 1 and len(new_posts(standin, before)) == 1
    text = heads_up[0].args["text"]
    assert "*H-1 Acme Corp*" in text and f"<@{SDR}>" in text and "Mon 23 Nov 2026, 17:00 EST" in text
    assert action_ids(heads_up[0]) == ["handoff_accept", "handoff_reject"]

    for minute in (0, 1, 30):  # ticking again owes nothing new
        assert tick_at(bot, ny(2026, 11, 23, 15, minute)).reminders == 0
    assert tick_at(bot, ny(2026, 11, 23, 16, 59)).reminders == 0
    assert len(new_posts(standin, before)) == 1

    tick_at(bot, ny(2026, 11, 23, 17, 0))
    overdue = reminders_to(standin, AE, OVERDUE)
    assert len(overdue) == 1 and "since Mon 23 Nov 2026, 17:00 EST" in overdue[0].args["text"]
    assert action_ids(overdue[0]) == ["handoff_accept", "handoff_reject"]
    assert len(new_posts(standin, before)) == 2

    # Overnight and Tuesday morning count no working time past the deadline until 09:00.
    for when in (ny(2026, 11, 23, 23, 0), ny(2026, 11, 24, 9, 0), ny(2026, 11, 24, 12, 59)):
        assert tick_at(bot, when).reminders == 0
    assert len(new_posts(standin, before)) == 2

    report = tick_at(bot, ny(2026, 11, 24, 13, 0))
    assert report.reminders == 2 and report.reassigned == []  # the manager and the channel
    to_manager = reminders_to(standin, MANAGER, ESCALATION)
    assert len(to_manager) == 1 and action_ids(to_manager[0]) == ["handoff_reassign"]
    assert f"<@{AE}>" in to_manager[0].args["text"]
    in_channel = reminders_to(standin, AMER_CHANNEL, ESCALATION)
    assert len(in_channel) == 1
    assert in_channel[0].args.get("thread_ts") == announcement(standin).response["ts"]
    assert action_ids(in_channel[0]) == []  # the channel sees it; the manager acts on it
    assert len(new_posts(standin, before)) == 4

    # Nothing else is ever owed for this revision.
    for when in (ny(2026, 11, 24, 13, 1), ny(2026, 11, 25, 13, 0), ny(2026, 12, 8, 13, 0)):
        assert tick_at(bot, when).reminders == 0
    assert len(new_posts(standin, before)) == 4
    assert stored(bot).next_check_at is None


def test_accepting_stops_the_chase_and_skips_a_reminder_still_queued(bot, standin, clock):
    install(bot, standin, AMER)
    clock.set(MONDAY_9)
    card = submitted(bot, standin)

    # The heads-up is claimed, but Slack fails it once: it stays queued for the AE.
    standin.fail("chat.postMessage", status=500, times=1)
    report = tick_at(bot, ny(2026, 11, 23, 15, 0))
    assert report.reminders == 1
    [row] = outbox_rows(bot, dedupe_key=f"h1:r1:heads_up>{AE}")
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "http_500")
    assert reminders_to(standin, AE, HEADS_UP) == []

    bot.driver.click(AE, "handoff_accept", message=card)
    settle(bot)
    assert stored(bot).state == "accepted"

    clock.advance(timedelta(seconds=5))  # past the backoff: the queued heads-up is tried again
    settle(bot)
    [row] = outbox_rows(bot, dedupe_key=f"h1:r1:heads_up>{AE}")
    assert (row.status, row.last_error) == ("skipped", "settled before it was sent")
    assert reminders_to(standin, AE, HEADS_UP) == []
    assert "Accepted by" in json.dumps(standin.messages[card])  # the card edit queued behind it went out

    before = len(posts(standin))
    for when in (ny(2026, 11, 23, 17, 0), ny(2026, 11, 24, 13, 0), ny(2026, 11, 30, 9, 0)):
        assert tick_at(bot, when).reminders == 0
    assert new_posts(standin, before) == []
    assert reminders_to(standin, AE, OVERDUE) == [] and reminders_to(standin, MANAGER, ESCALATION) == []


def test_catch_up_after_downtime_posts_only_the_latest_step(bot, standin, clock):
    install(bot, standin, AMER)
    clock.set(MONDAY_9)
    submitted(bot, standin)
    before = len(posts(standin))

    # The scheduler was down from Monday morning until Tuesday 13:00.
    report = tick_at(bot, ny(2026, 11, 24, 13, 0))
    assert (report.reminders, report.superseded) == (2, 2)
    assert len(reminders_to(standin, MANAGER, ESCALATION)) == 1
    assert len(reminders_to(standin, AMER_CHANNEL, ESCALATION)) == 1
    assert reminders_to(standin, AE, HEADS_UP) == [] and reminders_to(standin, AE, OVERDUE) == []
    assert len(new_posts(standin, before)) == 2
    for step in ("heads_up", "overdue"):
        [row] = outbox_rows(bot, dedupe_key=f"h1:r1:{step}>{AE}")
        assert (row.status, row.attempts) == ("superseded", 0)

    assert tick_at(bot, ny(2026, 11, 24, 14, 0)).reminders == 0
    assert len(new_posts(standin, before)) == 2


# ---------------------------------------------------------------- working time: holidays, DST, meeting end


def test_thanksgiving_is_not_a_working_day(bot, standin, clock):
    install(bot, standin, AMER)
    clock.set(ny(2026, 11, 25, 15, 0))  # Wed 25 Nov 2026; Thu 26 Nov is Thanksgiving
    submitted(bot, standin)

    for when in (ny(2026, 11, 25, 17, 0), ny(2026, 11, 26, 9, 0), ny(2026, 11, 26, 13, 0), ny(2026, 11, 26, 15, 0),
                 ny(2026, 11, 26, 17, 0), ny(2026, 11, 27, 12, 59)):
        assert tick_at(bot, when).reminders == 0, when
    # Wed 15–17 is 2 h; Friday 09–13 makes the 6 h of the heads-up, 09–15 the 8 h of the SLA.
    tick_at(bot, ny(2026, 11, 27, 13, 0))
    assert len(reminders_to(standin, AE, HEADS_UP)) == 1
    assert tick_at(bot, ny(2026, 11, 27, 14, 59)).reminders == 0
    assert reminders_to(standin, AE, OVERDUE) == []
    tick_at(bot, ny(2026, 11, 27, 15, 0))
    overdue = reminders_to(standin, AE, OVERDUE)
    assert len(overdue) == 1 and "Fri 27 Nov 2026, 15:00 EST" in overdue[0].args["text"]


def test_berlin_deadline_counts_across_the_spring_change(bot, standin, clock):
    install(bot, standin, EMEA)
    clock.set(berlin(2026, 3, 27, 15, 0))  # Fri 27 Mar 2026 15:00 CET = 14:00 UTC; clocks change Sun 29 Mar
    assert clock.now() == utc(2026, 3, 27, 14, 0)
    submitted(bot, standin, sdr=EU_SDR, ae=EU_AE)
    assert stored(bot).ae_tz == "Europe/Berlin"

    # The heads-up after 6 h (2 h on Friday, 4 h on Monday): Mon 30 Mar 13:00 CEST = 11:00 UTC.
    assert tick_at(bot, utc(2026, 3, 30, 10, 59)).reminders == 0
    assert tick_at(bot, utc(2026, 3, 30, 11, 0)).reminders == 1
    heads_up = reminders_to(standin, EU_AE, HEADS_UP)
    assert len(heads_up) == 1 and "due by Mon 30 Mar 2026, 15:00 CEST" in heads_up[0].args["text"]
    # The deadline after 8 h: Mon 30 Mar 15:00 CEST, which is 13:00 UTC (14:00 UTC without the change).
    assert tick_at(bot, utc(2026, 3, 30, 12, 59)).reminders == 0
    assert reminders_to(standin, EU_AE, OVERDUE) == []
    tick_at(bot, utc(2026, 3, 30, 13, 0))
    overdue = reminders_to(standin, EU_AE, OVERDUE)
    assert len(overdue) == 1 and "Mon 30 Mar 2026, 15:00 CEST" in overdue[0].args["text"]
    assert tick_at(bot, utc(2026, 3, 30, 14, 0)).reminders == 0
    assert len(reminders_to(standin, EU_AE, OVERDUE)) == 1


def test_new_york_deadline_counts_across_the_fall_change(bot, standin, clock):
    install(bot, standin, AMER)
    clock.set(ny(2026, 10, 30, 15, 0))  # Fri 30 Oct 2026 15:00 EDT = 19:00 UTC; clocks change Sun 1 Nov
    assert clock.now() == utc(2026, 10, 30, 19, 0)
    submitted(bot, standin, meeting_start=int(ny(2026, 11, 20, 10).timestamp()))

    # The heads-up after 6 h (2 h on Friday, 4 h on Monday): Mon 2 Nov 13:00 EST = 18:00 UTC.
    assert tick_at(bot, utc(2026, 11, 2, 17, 59)).reminders == 0
    assert tick_at(bot, utc(2026, 11, 2, 18, 0)).reminders == 1
    heads_up = reminders_to(standin, AE, HEADS_UP)
    assert len(heads_up) == 1 and "due by Mon 02 Nov 2026, 15:00 EST" in heads_up[0].args["text"]
    # The deadline after 8 h: Mon 2 Nov 15:00 EST, which is 20:00 UTC (19:00 UTC without the change).
    assert tick_at(bot, utc(2026, 11, 2, 19, 59)).reminders == 0
    assert reminders_to(standin, AE, OVERDUE) == []
    tick_at(bot, utc(2026, 11, 2, 20, 0))
    overdue = reminders_to(standin, AE, OVERDUE)
    assert len(overdue) == 1 and "Mon 02 Nov 2026, 15:00 EST" in overdue[0].args["text"]


def test_sla_from_meeting_end_starts_the_clock_when_the_meeting_ends(bot, standin, clock):
    install(bot, standin, AMER, sla_from="meeting_end")
    clock.set(MONDAY_9)
    meeting = ny(2026, 11, 27, 10, 0)  # Fri 27 Nov 2026 10:00 New York, a 45' evaluation call
    submitted(bot, standin, meeting_start=int(meeting.timestamp()), meeting_kind="evaluation_45")
    assert stored(bot).sla_start == ny(2026, 11, 27, 10, 45)

    # With the clock started at submission the heads-up would be Monday 15:00, the escalation Tuesday 13:00.
    for when in (ny(2026, 11, 23, 15, 0), ny(2026, 11, 24, 13, 0), ny(2026, 11, 27, 10, 45), ny(2026, 11, 27, 16, 44)):
        assert tick_at(bot, when).reminders == 0, when
    tick_at(bot, ny(2026, 11, 27, 16, 45))  # 6 h of working time after 10:45
    assert len(reminders_to(standin, AE, HEADS_UP)) == 1
    # 8 h: Fri 10:45–17:00 (6 h 15) and Mon 09:00–10:45.
    assert tick_at(bot, ny(2026, 11, 30, 10, 44)).reminders == 0
    tick_at(bot, ny(2026, 11, 30, 10, 45))
    overdue = reminders_to(standin, AE, OVERDUE)
    assert len(overdue) == 1 and "Mon 30 Nov 2026, 10:45 EST" in overdue[0].args["text"]
