"""The scheduler chases what is owed: through the real app, the real tick and the stand-in.

Every test moves the injected clock, runs the scheduler's own job (`Chaser.tick`) and one
delivery pass, then reads what Slack (the stand-in) was asked to show. Time never comes from the
machine, so nothing here depends on how fast it runs.
"""
from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import date, timedelta

from bot.sandbox import SlackStandIn
from bot.sandbox.local_bot import LocalBot
from conftest import local_bot
from flow import handoff_submitted
from bot.core.handoff import Handoff, Person, State
from bot.core.lifecycle import SYSTEM_ACTOR, Reassign
from bot.core.refs import HandoffRef
from bot.services.handoffs import Refusal
from bot.services.chase import claim_due_reminders
from bot.services.handoffs import create_handoff
from storage import handoffs as store
from storage import teams as team_store
from teams_fixture import (
    AE, AE2, AMER, AMER_CHANNEL, EMEA, EMEA_CHANNEL, EU_AE, EU_SDR, MANAGER, SDR, STRANGER, action_ids, berlin,
    blocks_of, install, ny, outbox_rows, posts, reminders_to, settle, shown, texts, tick, tick_at, utc, where,
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


def waiting(bot: LocalBot, count: int, created) -> None:  # noqa: ANN001
    """`count` handoffs of the AMER team waiting for acceptance since `created`, "Prospect 00", "Prospect 01"…"""
    for i in range(count):
        create_handoff(bot.db, Handoff(
            id=0, state=State.PENDING, revision=1, sdr_id=SDR, ae_id=AE, company=f"Prospect {i:02d}",
            contact_name="Pat Lee", need="Docs", compelling_event="Launch", created_at=created, updated_at=created,
            next_check_at=created, team_id="amer", ae_tz="America/New_York", sla_start=created, region="AMER",
            meeting_start=ny(2026, 12, 14, 10, 0), meeting_kind="discovery_15", slack_team_id="T_HANDOFF",
            submission_key=f"bulk-{i}"))
    settle(bot)


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
    assert len(overdue) == 1 and "since Mon 23 Nov 2026, 17:00 EST" in shown(overdue[0].args["text"])
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
    standin.fail("chat.postMessage", status=500, times=1, channel=AE)
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
    for step in ("heads_up", "overdue"):  # passed over: never owed, so nothing stored for them
        assert outbox_rows(bot, dedupe_key=f"h1:r1:{step}>{AE}") == []

    assert tick_at(bot, ny(2026, 11, 24, 14, 0)).reminders == 0
    assert len(new_posts(standin, before)) == 2


def test_a_ladder_never_steps_back_when_its_times_move_later(bot, standin, clock):
    # The escalation went out after downtime; then the steps move later (here the team doubles its SLA; an AE's
    # corrected time zone does the same) and the record is looked at again: the heads-up and the overdue
    # reminder, now the latest step passed, would read as news after the escalation. They are not posted.
    install(bot, standin, AMER)
    clock.set(MONDAY_9)
    submitted(bot, standin)
    report = tick_at(bot, ny(2026, 11, 24, 13, 0))
    assert report.reminders == 2 and len(reminders_to(standin, MANAGER, ESCALATION)) == 1
    before = len(posts(standin))

    install(bot, standin, AMER, sla_hours=16.0)  # heads-up Tue 13:00, deadline Tue 17:00, escalation Wed 13:00
    with bot.db.write() as session:
        store.set_next_check(session, 1, ny(2026, 11, 24, 13, 30))
    for when in (ny(2026, 11, 24, 13, 30), ny(2026, 11, 24, 17, 0), ny(2026, 11, 25, 13, 0)):
        report = tick_at(bot, when)
        assert (report.examined, report.reminders) == (1, 0)
    assert new_posts(standin, before) == []
    assert outbox_rows(bot, dedupe_key=f"h1:r1:heads_up>{AE}") == []
    assert outbox_rows(bot, dedupe_key=f"h1:r1:overdue>{AE}") == []


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
    assert len(overdue) == 1 and "Fri 27 Nov 2026, 15:00 EST" in shown(overdue[0].args["text"])


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
    assert len(heads_up) == 1 and "due by Mon 30 Mar 2026, 15:00 CEST" in shown(heads_up[0].args["text"])
    # The deadline after 8 h: Mon 30 Mar 15:00 CEST, which is 13:00 UTC (14:00 UTC without the change).
    assert tick_at(bot, utc(2026, 3, 30, 12, 59)).reminders == 0
    assert reminders_to(standin, EU_AE, OVERDUE) == []
    tick_at(bot, utc(2026, 3, 30, 13, 0))
    overdue = reminders_to(standin, EU_AE, OVERDUE)
    assert len(overdue) == 1 and "Mon 30 Mar 2026, 15:00 CEST" in shown(overdue[0].args["text"])
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
    assert len(heads_up) == 1 and "due by Mon 02 Nov 2026, 15:00 EST" in shown(heads_up[0].args["text"])
    # The deadline after 8 h: Mon 2 Nov 15:00 EST, which is 20:00 UTC (19:00 UTC without the change).
    assert tick_at(bot, utc(2026, 11, 2, 19, 59)).reminders == 0
    assert reminders_to(standin, AE, OVERDUE) == []
    tick_at(bot, utc(2026, 11, 2, 20, 0))
    overdue = reminders_to(standin, AE, OVERDUE)
    assert len(overdue) == 1 and "Mon 02 Nov 2026, 15:00 EST" in shown(overdue[0].args["text"])


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
    assert len(overdue) == 1 and "Mon 30 Nov 2026, 10:45 EST" in shown(overdue[0].args["text"])


# ---------------------------------------------------------------- after the meeting

MEETING = ny(2026, 11, 27, 10, 0)  # Fri 27 Nov 2026 10:00 New York, 45': over at 10:45


def accepted(bot: LocalBot, standin: SlackStandIn) -> tuple[str, str]:
    """A handoff with a meeting on Friday, accepted by its AE on Monday; returns the AE's card."""
    clock = bot.clock
    clock.set(MONDAY_9)  # type: ignore[union-attr]
    card = submitted(bot, standin, meeting_start=int(MEETING.timestamp()), meeting_kind="evaluation_45")
    bot.driver.click(AE, "handoff_accept", message=card)
    settle(bot)
    assert stored(bot).state == "accepted"
    return card


def card_buttons(standin: SlackStandIn, card: tuple[str, str]) -> list[str]:
    blocks = standin.messages[card].get("blocks") or []
    return [e.get("action_id") for b in blocks for e in b.get("elements", []) if e.get("action_id")]


def record_outcome(bot: LocalBot, standin: SlackStandIn, user: str, message: tuple[str, str], **answers):
    """Click the outcome button on a message, then submit the outcome modal it opens."""
    before = len(standin.calls_to("views.open"))
    bot.driver.click(user, "handoff_outcome", message=message)
    bot.call(bot.wiring.background.drain())
    view = standin.wait_for("views.open", count=before + 1)[before].response["view"]
    assert view["callback_id"] == "handoff_outcome_submit"
    response = bot.driver.submit_view(user, view["id"], answers)
    assert response.status == 200 and not response.body, response.body
    settle(bot)


def card_updates_with_outcome_button(standin: SlackStandIn, card: tuple[str, str]) -> list:
    return [c for c in standin.calls_to("chat.update") if c.ok and c.args.get("ts") == card[1]
            and "handoff_outcome" in action_ids(c)]


def test_meeting_over_then_outcome_owed_then_no_show_rebook_ladder_then_close(bot, standin, clock):
    install(bot, standin, AMER)
    card = accepted(bot, standin)
    assert "handoff_outcome" not in card_buttons(standin, card)

    assert tick_at(bot, ny(2026, 11, 27, 10, 44)).reminders == 0
    assert card_updates_with_outcome_button(standin, card) == []
    report = tick_at(bot, ny(2026, 11, 27, 10, 45))  # the meeting is over: the card gains the button
    assert report.reminders == 1
    [update] = card_updates_with_outcome_button(standin, card)
    assert "Record outcome" in json.dumps(blocks_of(update)) and "handoff_outcome" in card_buttons(standin, card)

    assert tick_at(bot, ny(2026, 11, 27, 12, 44)).reminders == 0
    assert reminders_to(standin, AE, OUTCOME_MISSING) == []
    tick_at(bot, ny(2026, 11, 27, 12, 45))  # outcome_after_hours (2 working hours) later
    [owed] = reminders_to(standin, AE, OUTCOME_MISSING)
    assert "ended Fri 27 Nov 2026, 10:45 EST" in shown(owed.args["text"]) and action_ids(owed) == ["handoff_outcome"]
    assert tick_at(bot, ny(2026, 11, 27, 13, 30)).reminders == 0
    assert len(reminders_to(standin, AE, OUTCOME_MISSING)) == 1

    clock.set(ny(2026, 11, 27, 14, 0))
    record_outcome(bot, standin, AE, card, outcome="no_show")
    h = stored(bot)
    assert (h.state, h.meeting_outcome, h.outcome_by, h.outcome_at) == ("accepted", "no_show", AE, clock.now())

    # Every 2 working days (16 working hours) from Fri 14:00: Tue 1 Dec 14:00, then Thu 3 Dec 14:00.
    for when in (ny(2026, 11, 30, 14, 0), ny(2026, 12, 1, 13, 59)):
        assert tick_at(bot, when).reminders == 0
    assert reminders_to(standin, SDR, REBOOK) == []
    tick_at(bot, ny(2026, 12, 1, 14, 0))
    [first] = reminders_to(standin, SDR, REBOOK)
    assert "*H-1 Acme Corp* was a no-show on Fri 27 Nov 2026, 10:00 EST" in shown(first.args["text"])
    assert action_ids(first) == ["handoff_outcome"]
    for when in (ny(2026, 12, 1, 14, 0), ny(2026, 12, 2, 9, 0), ny(2026, 12, 3, 13, 59)):
        assert tick_at(bot, when).reminders == 0
    assert len(reminders_to(standin, SDR, REBOOK)) == 1
    tick_at(bot, ny(2026, 12, 3, 14, 0))
    assert len(reminders_to(standin, SDR, REBOOK)) == 2
    assert tick_at(bot, ny(2026, 12, 3, 16, 0)).reminders == 0
    assert len(reminders_to(standin, SDR, REBOOK)) == 2
    sent = {r.dedupe_key for r in outbox_rows(bot, status="sent") if ":rebook" in (r.dedupe_key or "")}
    assert len(sent) == 2  # two different steps, each posted once

    # Two weeks after the no-show nobody rebooked: the AE is asked to close it or keep it.
    # Nobody ticked since Thursday: of the rebooks owed Mon 7 and Wed 9 Dec only the latest is posted.
    report = tick_at(bot, ny(2026, 12, 11, 13, 59))
    assert (report.reminders, report.superseded) == (1, 1)
    assert len(reminders_to(standin, SDR, REBOOK)) == 3
    assert reminders_to(standin, AE, CLOSE_OR_KEEP) == []
    tick_at(bot, ny(2026, 12, 11, 14, 0))
    [ask] = reminders_to(standin, AE, CLOSE_OR_KEEP)
    assert "two weeks after its no-show" in ask.args["text"]
    assert action_ids(ask) == ["handoff_close", "handoff_keep"]
    assert tick_at(bot, ny(2026, 12, 11, 15, 0)).reminders == 0

    bot.driver.click(AE, "handoff_close", message=where(ask))
    settle(bot)
    assert stored(bot).state == "closed"
    before = len(posts(standin))
    for when in (ny(2026, 12, 14, 14, 0), ny(2026, 12, 16, 14, 0), ny(2026, 12, 28, 14, 0)):
        assert tick_at(bot, when).reminders == 0
    assert new_posts(standin, before) == []
    assert len(reminders_to(standin, AE, CLOSE_OR_KEEP)) == 1 and len(reminders_to(standin, SDR, REBOOK)) == 3


def test_rescheduled_meeting_restarts_the_meeting_chase_for_the_new_time(bot, standin, clock):
    install(bot, standin, AMER)
    card = accepted(bot, standin)
    tick_at(bot, ny(2026, 11, 27, 10, 45))
    tick_at(bot, ny(2026, 11, 27, 12, 45))
    assert len(reminders_to(standin, AE, OUTCOME_MISSING)) == 1

    clock.set(ny(2026, 11, 27, 14, 0))
    new_time = ny(2026, 12, 2, 10, 0)  # Wed 2 Dec 10:00 New York
    record_outcome(bot, standin, AE, where(reminders_to(standin, AE, OUTCOME_MISSING)[0]),
                   outcome="rescheduled", new_meeting_start=int(new_time.timestamp()))
    h = stored(bot)
    assert (h.meeting_start, h.meeting_outcome) == (new_time, None)
    assert "handoff_outcome" not in card_buttons(standin, card)  # the new meeting has not happened yet

    updates = len(card_updates_with_outcome_button(standin, card))
    for when in (ny(2026, 11, 30, 12, 45), ny(2026, 12, 1, 12, 45), ny(2026, 12, 2, 10, 44)):
        assert tick_at(bot, when).reminders == 0
    assert len(reminders_to(standin, AE, OUTCOME_MISSING)) == 1

    assert tick_at(bot, ny(2026, 12, 2, 10, 45)).reminders == 1
    assert len(card_updates_with_outcome_button(standin, card)) == updates + 1
    assert "handoff_outcome" in card_buttons(standin, card)
    tick_at(bot, ny(2026, 12, 2, 12, 45))
    owed = reminders_to(standin, AE, OUTCOME_MISSING)
    assert len(owed) == 2 and "ended Wed 02 Dec 2026, 10:45 EST" in shown(owed[1].args["text"])
    assert tick_at(bot, ny(2026, 12, 3, 12, 45)).reminders == 0
    assert len(reminders_to(standin, AE, OUTCOME_MISSING)) == 2


def test_completed_with_a_next_step_completes_the_handoff_and_chases_the_step_once(bot, standin, clock):
    install(bot, standin, AMER)
    card = accepted(bot, standin)
    tick_at(bot, ny(2026, 11, 27, 10, 45))

    clock.set(ny(2026, 11, 27, 11, 0))
    record_outcome(bot, standin, AE, card, outcome="completed", next_step="Send the proposal",
                   next_step_due=date(2026, 12, 3), next_step_owner=SDR)
    h = stored(bot)
    assert h.completed_at == ny(2026, 11, 27, 11, 0)
    assert (h.next_step, h.next_step_owner, h.next_step_due) == ("Send the proposal", SDR, ny(2026, 12, 3, 17, 0))
    assert "🏁 complete" in json.dumps(standin.messages[card], ensure_ascii=False)
    thread = announcement(standin).response["ts"]
    notes = [c for c in posts(standin, AMER_CHANNEL) if c.args.get("thread_ts") == thread]
    assert any("The handoff is complete" in (c.args.get("text") or "") for c in notes), texts(notes)

    before = len(posts(standin))
    for when in (ny(2026, 11, 27, 12, 45), ny(2026, 11, 30, 9, 0), ny(2026, 12, 3, 16, 59)):
        assert tick_at(bot, when).reminders == 0
    assert new_posts(standin, before) == []
    tick_at(bot, ny(2026, 12, 3, 17, 0))
    [due] = reminders_to(standin, SDR, NEXT_STEP)
    assert "“Send the proposal”" in due.args["text"] and "(yours)" in due.args["text"]
    for when in (ny(2026, 12, 3, 17, 1), ny(2026, 12, 4, 17, 0), ny(2026, 12, 31, 17, 0)):
        assert tick_at(bot, when).reminders == 0
    assert len(reminders_to(standin, SDR, NEXT_STEP)) == 1
    assert reminders_to(standin, AE, NEXT_STEP) == [] and reminders_to(standin, AE, OUTCOME_MISSING) == []



def test_a_tick_over_more_than_a_batch_claims_each_once_a_batch_a_transaction(bot, standin, clock):
    """After downtime a tick owes many reminders at once: it claims them TICK_BATCH handoffs a transaction,
    so the one writer can be handed to a person's click between two, and still all of them in that one tick."""
    from sqlalchemy import event

    from bot.services.chase import TICK_BATCH
    install(bot, standin, AMER)
    created = MONDAY_9
    clock.set(created)
    count = TICK_BATCH * 2 + 30
    waiting(bot, count, created)
    tick_at(bot, ny(2026, 11, 23, 9, 30))  # the cards' first look, and last week's agenda settled
    reads: list[str] = []  # the due reads, one a batch, each in a transaction of its own with its claims

    def seen(conn, cursor, statement: str, *args) -> None:  # noqa: ANN001
        if "next_check_at <=" in statement and statement.lstrip().upper().startswith("SELECT"):
            reads.append(statement)
    event.listen(bot.db.engine, "before_cursor_execute", seen)
    try:
        report = tick_at(bot, ny(2026, 11, 23, 15, 0))  # past every heads-up
    finally:
        event.remove(bot.db.engine, "before_cursor_execute", seen)
    assert (report.examined, report.reminders) == (count, count)
    assert len(reads) == 3, reads  # 100, 100 and the last 30
    settle(bot)
    heads_ups = Counter(c.args["text"] for c in reminders_to(standin, AE, HEADS_UP))
    assert len(heads_ups) == count and set(heads_ups.values()) == {1}, heads_ups.most_common(2)
    assert tick_at(bot, ny(2026, 11, 23, 15, 1)).reminders == 0

def test_a_catching_up_tick_hands_the_writer_to_a_waiting_write_between_two_batches(bot, standin, clock):
    """The tick claims batch after batch on the database thread without going back to the event loop; a write
    queued meanwhile (a submission, a click) goes in after the batch in flight, not after the whole tick."""
    import asyncio
    import time

    from sqlalchemy import event

    from bot.services.chase import TICK_BATCH
    from storage import heartbeat
    install(bot, standin, AMER)
    clock.set(MONDAY_9)
    count = TICK_BATCH * 2 + 30
    waiting(bot, count, MONDAY_9)
    tick_at(bot, ny(2026, 11, 23, 9, 30))
    order: list[str] = []

    def probe(db) -> None:  # noqa: ANN001
        order.append("write")
        heartbeat.beat(db, "probe", MONDAY_9)

    def seen(conn, cursor, statement: str, *args) -> None:  # noqa: ANN001
        if "next_check_at <=" in statement and statement.lstrip().upper().startswith("SELECT"):
            order.append("batch")
            if order == ["batch"]:  # a write arrives while the first batch runs
                assert bot.loop is not None
                asyncio.run_coroutine_threadsafe(bot.db.run(probe), bot.loop)
                deadline = time.monotonic() + 10
                while not bot.db.writer_wanted() and time.monotonic() < deadline:
                    time.sleep(0.001)
    event.listen(bot.db.engine, "before_cursor_execute", seen)
    try:
        report = tick_at(bot, ny(2026, 11, 23, 15, 0))
    finally:
        event.remove(bot.db.engine, "before_cursor_execute", seen)
    assert order == ["batch", "write", "batch", "batch"]
    assert (report.examined, report.reminders) == (count, count)
    assert not bot.db.writer_wanted()


# ---------------------------------------------------------------- the weekly agenda


def test_weekly_agenda_each_team_at_its_own_hour_once_and_summarised_in_one_message(bot, standin, clock):
    install(bot, standin, AMER, EMEA)
    created = utc(2026, 11, 30, 8, 0)  # Mon 30 Nov 2026, before either team's sync
    clock.set(created)
    waiting(bot, 65, created)  # the AMER team has 65 handoffs waiting for acceptance

    def agenda_posts(channel: str) -> list:
        return [c for c in posts(standin, channel) if (c.args.get("text") or "").startswith(AGENDA)]

    # 08:31 UTC is 09:31 in Berlin (sync 09:30) and 03:31 in New York (sync 10:00).
    report = tick_at(bot, utc(2026, 11, 30, 8, 31))
    assert [k.split(":")[1] for k in report.agendas] == ["emea"]
    assert len(agenda_posts(EMEA_CHANNEL)) == 1 and agenda_posts(AMER_CHANNEL) == []
    assert agenda_posts(EMEA_CHANNEL)[0].args.get("thread_ts") is None

    assert tick_at(bot, utc(2026, 11, 30, 14, 59)).agendas == []  # 09:59 in New York
    report = tick_at(bot, utc(2026, 11, 30, 15, 0))
    assert [k.split(":")[1] for k in report.agendas] == ["amer"]
    amer = agenda_posts(AMER_CHANNEL)
    assert len(amer) == 1, texts(amer)  # 65 waiting handoffs: summarised in one message, not a wall
    [first] = amer
    assert first.args.get("thread_ts") is None and "AMER Mid-Market" in first.args["text"]
    assert len(blocks_of(first)) <= 50
    shown = json.dumps(blocks_of(first), ensure_ascii=False)
    listed = sum(f"*Prospect {i:02d}* · waiting for" in shown for i in range(65))
    assert f"…and {65 - listed} more" in shown
    assert len(agenda_posts(EMEA_CHANNEL)) == 1

    channel_posts = len(posts(standin, AMER_CHANNEL)) + len(posts(standin, EMEA_CHANNEL))
    for when in (utc(2026, 11, 30, 15, 0), utc(2026, 11, 30, 15, 1), utc(2026, 11, 30, 19, 59)):
        assert tick_at(bot, when).agendas == []
    assert len(posts(standin, AMER_CHANNEL)) + len(posts(standin, EMEA_CHANNEL)) == channel_posts


# ---------------------------------------------------------------- exactly once, whatever happens


LADDER_TIMES = [
    ny(2026, 11, 23, 14, 59), ny(2026, 11, 23, 15, 0), ny(2026, 11, 23, 15, 0), ny(2026, 11, 23, 15, 1),
    ny(2026, 11, 23, 16, 0), ny(2026, 11, 23, 16, 59), ny(2026, 11, 23, 17, 0), ny(2026, 11, 23, 17, 0),
    ny(2026, 11, 23, 17, 1), ny(2026, 11, 23, 20, 0), ny(2026, 11, 24, 9, 0), ny(2026, 11, 24, 10, 0),
    ny(2026, 11, 24, 12, 59), ny(2026, 11, 24, 13, 0), ny(2026, 11, 24, 13, 0), ny(2026, 11, 24, 13, 1),
    ny(2026, 11, 24, 14, 0), ny(2026, 11, 25, 9, 0), ny(2026, 11, 25, 13, 0), ny(2026, 11, 30, 10, 0),
]


def on_both(bots: list[LocalBot], make) -> list:
    """Run the same coroutine on two bots at the same moment, from two threads."""
    start = threading.Barrier(2)
    results: list = [None, None]
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            start.wait(timeout=10)
            results[i] = bots[i].call(make(bots[i]), timeout=60)
        except BaseException as error:  # noqa: BLE001 - reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=90)
    assert not errors, errors
    return results


def test_two_schedulers_on_one_database_post_every_reminder_once(bot, standin, clock, db_url):
    install(bot, standin, AMER)
    clock.set(MONDAY_9)
    for company in ("Acme Corp", "Globex", "Initech"):
        submitted(bot, standin, company=company)
    with local_bot(standin, db_url, clock) as other:
        bots = [bot, other]

        def both(make) -> list:
            return on_both(bots, make)

        claimed = 0
        agendas = []
        for when in LADDER_TIMES:
            clock.set(when)
            reports = both(lambda b: b.wiring.chaser.tick())
            claimed += sum(r.reminders for r in reports)
            agendas += [k for r in reports for k in r.agendas]
            both(lambda b: b.wiring.deliverer.deliver_due())
        for b in bots:
            settle(b)

    assert claimed == 3 * 4  # per handoff: heads-up, overdue, escalation to the manager and to the channel
    # Two Monday syncs (23 and 30 Nov), each ticked by both schedulers: one agenda each week.
    assert sorted(agendas) == ["agenda:amer:2026-W48", "agenda:amer:2026-W49"]
    ok = Counter((c.args["channel"], c.args.get("text")) for c in posts(standin))
    doubled = {k: n for k, n in ok.items() if n > 1}
    assert doubled == {}, doubled
    for company in ("Acme Corp", "Globex", "Initech"):
        for who, marker in ((AE, HEADS_UP), (AE, OVERDUE), (MANAGER, ESCALATION), (AMER_CHANNEL, ESCALATION)):
            found = [c for c in reminders_to(standin, who, marker) if f" {company}*" in c.args["text"]]
            assert len(found) == 1, (company, who, marker)
    rows = [r for r in outbox_rows(bot) if r.dedupe_key and r.dedupe_key.startswith("h")]
    assert len(rows) == len({r.dedupe_key for r in rows}) == 12
    assert {r.status for r in rows} == {"sent"}


def test_rate_limits_and_server_errors_delay_a_reminder_but_it_is_posted_once(bot, standin, clock):
    install(bot, standin, AMER, sync_weekday=2)  # no agenda this Monday to share Slack's failures with
    clock.set(MONDAY_9)
    submitted(bot, standin)
    standin.fail("chat.postMessage", status=429, retry_after=2, times=2)
    standin.fail("chat.postMessage", status=500, times=2)

    assert tick_at(bot, ny(2026, 11, 23, 15, 0)).reminders == 1
    [row] = outbox_rows(bot, dedupe_key=f"h1:r1:heads_up>{AE}")
    assert (row.status, row.last_error, row.next_attempt_at) == ("pending", "ratelimited", clock.now() + timedelta(seconds=2))
    settle(bot)
    assert reminders_to(standin, AE, HEADS_UP) == []

    for _ in range(8):  # past Retry-After, then the backoffs
        clock.advance(timedelta(seconds=5))
        settle(bot)
        assert tick(bot).reminders == 0
    failed = [c for c in posts(standin, AE, ok=False) if not c.ok]
    assert [c.status for c in failed] == [429, 429, 500, 500]
    assert len(reminders_to(standin, AE, HEADS_UP)) == 1
    [row] = outbox_rows(bot, dedupe_key=f"h1:r1:heads_up>{AE}")
    assert (row.status, row.attempts) == ("sent", 5)

    for _ in range(3):
        clock.advance(timedelta(minutes=10))
        tick(bot)
    assert len(reminders_to(standin, AE, HEADS_UP)) == 1


# ---------------------------------------------------------------- reassigning


def test_auto_reassign_hands_it_to_the_next_ae_at_escalation(bot, standin, clock):
    install(bot, standin, AMER, auto_reassign=True)
    clock.set(MONDAY_9)
    submitted(bot, standin)

    tick_at(bot, ny(2026, 11, 23, 15, 0))
    tick_at(bot, ny(2026, 11, 23, 17, 0))
    assert stored(bot).ae_id == AE
    report = tick_at(bot, ny(2026, 11, 24, 13, 0))
    assert report.reassigned == [1]
    h = stored(bot)
    assert (h.ae_id, h.revision, h.state, h.sla_start) == (AE2, 2, "pending", ny(2026, 11, 24, 13, 0))
    fresh = [c for c in posts(standin, AE2) if "handoff_accept" in action_ids(c)]
    assert len(fresh) == 1 and "Acme Corp" in fresh[0].args["text"]
    # The manager and the channel still hear of the breach, and that it moved on.
    [to_manager] = reminders_to(standin, MANAGER, ESCALATION)
    [in_channel] = reminders_to(standin, AMER_CHANNEL, ESCALATION)
    for said in (to_manager.args["text"], in_channel.args["text"]):
        assert f"waited for <@{AE}>" in said and f"reassigned it to <@{AE2}>" in said
    assert in_channel.args.get("thread_ts") == announcement(standin).response["ts"]
    thread = announcement(standin).response["ts"]
    notes = [c for c in posts(standin, AMER_CHANNEL) if c.args.get("thread_ts") == thread]
    assert any(f"reassigned it to <@{AE2}>" in (c.args.get("text") or "") for c in notes), texts(notes)

    # The new AE's own ladder starts from the reassignment: heads-up 6 working hours later.
    assert tick_at(bot, ny(2026, 11, 24, 16, 59)).reminders == 0
    tick_at(bot, ny(2026, 11, 25, 11, 0))  # Tue 13–17 (4 h) + Wed 9–11 (2 h)
    assert len(reminders_to(standin, AE2, HEADS_UP)) == 1
    assert len(reminders_to(standin, AE, HEADS_UP)) == 1  # the first AE is not chased again


def test_two_schedulers_escalating_at_once_reassign_only_once(bot, standin, clock, db_url):
    install(bot, standin, AMER, auto_reassign=True)
    clock.set(MONDAY_9)
    for company in ("Acme Corp", "Globex", "Initech", "Umbrella", "Hooli"):
        submitted(bot, standin, company=company)
    with local_bot(standin, db_url, clock) as other:
        bots = [bot, other]
        clock.set(ny(2026, 11, 24, 13, 0))
        reports = on_both(bots, lambda b: b.wiring.chaser.tick())
        for b in bots:
            settle(b)
        for when in (ny(2026, 11, 24, 13, 1), ny(2026, 11, 24, 14, 0)):
            clock.set(when)
            reports += on_both(bots, lambda b: b.wiring.chaser.tick())
            for b in bots:
                settle(b)

    assert sorted(i for r in reports for i in r.reassigned) == [1, 2, 3, 4, 5]
    for handoff_id in range(1, 6):
        h = stored(bot, handoff_id)
        assert (h.ae_id, h.revision) == (AE2, 2), handoff_id
        moves = [e for e in store.audit_trail(bot.db, handoff_id) if e.action == "reassign"]
        assert len(moves) == 1, [(e.actor, e.detail) for e in moves]
    cards = Counter(c.args["text"] for c in posts(standin, AE2) if "handoff_accept" in action_ids(c))
    assert len(cards) == 5 and set(cards.values()) == {1}
    assert len(reminders_to(standin, MANAGER, ESCALATION)) == 5


def test_a_second_scheduler_does_not_act_on_an_escalation_the_first_claimed(bot, standin, clock, db_url):
    install(bot, standin, AMER, auto_reassign=True)
    clock.set(MONDAY_9)
    submitted(bot, standin)
    with local_bot(standin, db_url, clock) as other:
        clock.set(ny(2026, 11, 24, 13, 0))
        # Scheduler A is inside its tick: it has just claimed the escalation (and will reassign it)...
        teams = {t.id: t for t in team_store.load_teams(bot.db)}
        claimed = claim_due_reminders(bot.db, clock.now(), teams)
        assert (claimed.claimed, [r.handoff_id for r in claimed.reassign]) == (2, [1])
        # ...when scheduler B ticks: the claim moved the next check on in the same transaction, so B
        # neither claims the escalation again nor reassigns it a second time.
        report = other.call(other.wiring.chaser.tick())
        assert (report.reminders, report.reassigned) == (0, [])
        settle(other)
    h = stored(bot)
    assert (h.ae_id, h.revision) == (AE, 1)
    assert [e for e in store.audit_trail(bot.db, 1) if e.action == "reassign"] == []


def test_without_auto_reassign_escalation_leaves_the_handoff_with_its_ae(bot, standin, clock):
    install(bot, standin, AMER)  # auto_reassign is off by default
    assert AMER.auto_reassign is False
    clock.set(MONDAY_9)
    submitted(bot, standin)
    report = tick_at(bot, ny(2026, 11, 24, 13, 0))
    assert report.reassigned == [] and report.reminders == 2
    h = stored(bot)
    assert (h.ae_id, h.revision) == (AE, 1)
    assert [c for c in posts(standin, AE2)] == []


def test_the_aes_manager_may_reassign_from_the_escalation_and_a_stranger_may_not(bot, standin, clock):
    install(bot, standin, AMER)
    clock.set(MONDAY_9)
    submitted(bot, standin)
    tick_at(bot, ny(2026, 11, 24, 13, 0))
    [escalation] = reminders_to(standin, MANAGER, ESCALATION)
    dm = where(escalation)

    opened = len(standin.calls_to("views.open"))
    bot.driver.click(STRANGER, "handoff_reassign", message=dm)
    settle(bot)
    assert len(standin.calls_to("views.open")) == opened
    refusals = [c for c in standin.calls_to("chat.postEphemeral") if c.args.get("user") == STRANGER]
    assert len(refusals) == 1
    assert stored(bot).ae_id == AE

    bot.driver.click(MANAGER, "handoff_reassign", message=dm)
    bot.call(bot.wiring.background.drain())
    view = standin.wait_for("views.open", count=opened + 1)[opened].response["view"]
    assert view["callback_id"] == "handoff_reassign_submit"
    response = bot.driver.submit_view(MANAGER, view["id"], {"new_ae": AE2, "note": "Noah is out this week."})
    assert response.status == 200 and not response.body, response.body
    settle(bot)
    h = stored(bot)
    assert (h.ae_id, h.revision) == (AE2, 2)
    assert [e.actor for e in store.audit_trail(bot.db, 1) if e.action == "reassign"] == [MANAGER]
    assert len([c for c in posts(standin, AE2) if "handoff_accept" in action_ids(c)]) == 1


def test_keeping_a_no_show_restarts_the_rebook_reminders(bot, standin, clock):
    install(bot, standin, AMER)
    card = accepted(bot, standin)
    tick_at(bot, ny(2026, 11, 27, 10, 45))  # the meeting is over: the card offers the outcome
    clock.set(ny(2026, 11, 27, 14, 0))
    record_outcome(bot, standin, AE, card, outcome="no_show")
    tick_at(bot, ny(2026, 12, 11, 14, 0))  # two weeks on, nobody rebooked: close or keep?
    [ask] = reminders_to(standin, AE, CLOSE_OR_KEEP)
    rebooks_before = len(reminders_to(standin, SDR, REBOOK))

    clock.set(ny(2026, 12, 11, 15, 0))
    bot.driver.click(AE, "handoff_keep", message=where(ask))
    settle(bot)
    assert stored(bot).state == "accepted"
    # The ladder starts again from the keep: 2 working days later the SDR is reminded again, once.
    assert tick_at(bot, ny(2026, 12, 15, 14, 59)).reminders == 0
    tick_at(bot, ny(2026, 12, 15, 15, 0))
    assert len(reminders_to(standin, SDR, REBOOK)) == rebooks_before + 1
    assert tick_at(bot, ny(2026, 12, 15, 16, 0)).reminders == 0
    assert len(reminders_to(standin, SDR, REBOOK)) == rebooks_before + 1



def test_a_rejection_reaches_the_sdrs_manager_as_coaching(bot, standin, clock):
    install(bot, standin, AMER)
    clock.set(MONDAY_9)
    card = submitted(bot, standin)
    before = len(standin.calls_to("views.open"))
    bot.driver.click(AE, "handoff_reject", message=card)
    view = standin.wait_for("views.open", count=before + 1)[-1].response["view"]["id"]
    bot.driver.submit_view(AE, view, {"reason": "no_budget", "feedback": "No budget until Q3; ask about timing."})
    settle(bot)
    to_manager = [c for c in posts(standin, MANAGER) if "For coaching" in (c.args.get("text") or "")]
    assert len(to_manager) == 1
    text = to_manager[0].args["text"]
    assert "H-1" in text and "No budget: No budget until Q3; ask about timing." in text
    assert not any(e.get("type") == "actions" for e in to_manager[0].args.get("blocks") or [])  # coaching, not a to-do


def test_auto_reassign_gives_way_to_a_person_who_reassigned_after_the_claim(bot, standin, clock):
    install(bot, standin, AMER, auto_reassign=True)
    clock.set(MONDAY_9)
    submitted(bot, standin)
    clock.set(ny(2026, 11, 24, 13, 0))
    teams = {t.id: t for t in team_store.load_teams(bot.db)}
    [claim] = claim_due_reminders(bot.db, clock.now(), teams).reassign  # the escalation, about revision 1
    assert (claim.handoff_id, claim.revision, claim.to_ae) == (1, 1, AE2)
    # Between the claim and its reassignment, the manager moves it to AE2, then back to AE with a word.
    handoffs = bot.wiring.services.handoffs
    moved = bot.call(handoffs.reassign(HandoffRef(1, 1), AE2, None, actor=MANAGER))
    moved = bot.call(handoffs.reassign(HandoffRef(1, 2), AE, "Keep it, call them today", actor=MANAGER))
    assert isinstance(moved, Handoff) and (moved.ae_id, moved.revision) == (AE, 3)
    # The scheduler's reassignment names the revision it was about (as Chaser.tick does): it is refused.
    late = bot.call(handoffs.act(1, Reassign(Person(AE2, "America/New_York"), "late"), actor=SYSTEM_ACTOR,
                                 card_revision=claim.revision))
    assert isinstance(late, Refusal) and late.decision.why == "stale"
    h = stored(bot)
    assert (h.ae_id, h.revision) == (AE, 3)
    assert [e.actor for e in store.audit_trail(bot.db, 1) if e.action == "reassign"] == [MANAGER, MANAGER]


def test_a_record_the_rules_cannot_plan_is_set_aside_and_the_tick_goes_on(bot, standin, clock):
    """A date from before dates were bounded (year 9999) must not wedge every tick behind it."""
    from sqlalchemy import update

    from storage.models import HandoffRow

    install(bot, standin, AMER)
    clock.set(MONDAY_9)
    submitted(bot, standin)
    submitted(bot, standin, company="Globex")
    far = utc(9999, 12, 31, 20, 0)
    with bot.db.write() as session:
        session.execute(update(HandoffRow).where(HandoffRow.id == 1).values(sla_start=far))
        store.set_next_check(session, 1, MONDAY_9)
    report = tick_at(bot, ny(2026, 11, 23, 15, 0))
    assert report.reminders == 1  # H-2's heads-up
    assert [c.args["text"] for c in reminders_to(standin, AE, HEADS_UP)][0].count("H-2") == 1
    assert stored(bot, 1).next_check_at is None and stored(bot, 2).next_check_at is not None
