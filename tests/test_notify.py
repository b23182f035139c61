"""Who is told what, privately where it should be: through the real app, the real tick and the stand-in.

Coaching stays in DMs; every reminder about a handoff is redrawn in place once its matter is
settled; the AE and the extra attendees hear of an accept, a new time and a rebook; escalations
are broadcast from the channel thread.
"""
from __future__ import annotations

import json
import re
from datetime import date, timedelta

from conftest import ADMIN
from flow import handoff_submitted
from teams_fixture import (
    AE,
    AE2,
    AMER,
    AMER_CHANNEL,
    MANAGER,
    SDR,
    install,
    ny,
    outbox_rows,
    posts,
    reminders_to,
    settle,
    shown,
    tick_at,
    where,
)

from bot.sandbox import RecordedCall, SlackStandIn
from bot.sandbox.local_bot import LocalBot
from storage import handoffs as store

SE = "U_NSE"  # a solutions engineer, an extra attendee
MONDAY_9 = ny(2026, 11, 23, 9, 0)
MEETING = ny(2026, 11, 27, 10, 0)  # Fri 27 Nov 2026 10:00 New York, 45'
FEEDBACK = "They have no budget until Q3; ask about timing before the call."


def submitted(bot: LocalBot, standin: SlackStandIn, **answers) -> tuple[str, str]:
    """The SDR's /handoff through the real modal, with a solutions engineer and the manager invited."""
    standin.add_user(SE, "sam", tz="Europe/Berlin")
    bot.clock.set(MONDAY_9)  # type: ignore[union-attr]
    answers = {"user": SDR, "ae_id": AE, "meeting_start": int(MEETING.timestamp()), "meeting_kind": "evaluation_45",
               "attendees": [SE, MANAGER], **answers}
    card = handoff_submitted(standin, bot.driver, **answers)
    settle(bot)
    return card


def channel_calls(standin: SlackStandIn, channel: str) -> list[RecordedCall]:
    """Everything the bot said in a channel: posts, thread replies and edits."""
    return [c for c in standin.calls if c.method in ("chat.postMessage", "chat.update")
            and c.args.get("channel") == channel and c.ok]


def seen(standin: SlackStandIn, message: tuple[str, str]) -> dict:
    return standin.messages[message]


def buttons(message: dict) -> list[str]:
    return [e.get("action_id") for b in message.get("blocks") or [] if b.get("type") == "actions"
            for e in b.get("elements", [])]


def said(message: dict) -> str:
    return json.dumps(message, ensure_ascii=False)


def meeting_notices(standin: SlackStandIn, user: str) -> list[RecordedCall]:
    return [c for c in posts(standin, user) if "Your meeting" in (c.args.get("text") or "")]


def open_modal(bot: LocalBot, standin: SlackStandIn, user: str, action_id: str, message: tuple[str, str]) -> str:
    before = len(standin.calls_to("views.open"))
    assert bot.driver.click(user, action_id, message=message).status == 200
    bot.call(bot.wiring.background.drain())
    return standin.wait_for("views.open", count=before + 1)[before].response["view"]["id"]


def record_outcome(bot: LocalBot, standin: SlackStandIn, user: str, message: tuple[str, str], **answers) -> None:
    view = open_modal(bot, standin, user, "handoff_outcome", message)
    response = bot.driver.submit_view(user, view, answers)
    assert response.status == 200 and not response.body, response.body
    settle(bot)


# ---------------------------------------------------------------- coaching is private


def test_rejection_feedback_goes_to_the_sdr_and_manager_by_dm_and_never_to_the_channel(bot, standin):
    install(bot, standin, AMER)
    card = submitted(bot, standin)
    view = open_modal(bot, standin, AE, "handoff_reject", card)
    response = bot.driver.submit_view(AE, view, {"reason": "no_budget", "feedback": FEEDBACK})
    assert response.status == 200 and not response.body, response.body
    settle(bot)
    assert store.get_handoff(bot.db, 1).state == "rejected"

    in_channel = channel_calls(standin, AMER_CHANNEL)
    thread = [c for c in in_channel if c.method == "chat.postMessage" and c.args.get("thread_ts")]
    assert [c.args["text"] for c in thread] == [f"❌ Rejected by <@{AE}> — No budget"]
    everything = json.dumps([c.args for c in in_channel], ensure_ascii=False)
    assert "No budget" in everything and "Q3" not in everything and FEEDBACK not in everything
    # Nor in any message the channel holds now (announcement as edited, thread replies).
    assert not any("Q3" in said(m) for (channel, _ts), m in standin.messages.items() if channel == AMER_CHANNEL)

    to_sdr = [c for c in posts(standin, SDR) if "rejected *H-1" in (c.args.get("text") or "")]
    assert len(to_sdr) == 1 and FEEDBACK in said(seen(standin, where(to_sdr[0])))
    assert buttons(seen(standin, where(to_sdr[0]))) == ["handoff_revise", "handoff_withdraw"]
    to_manager = [c for c in posts(standin, MANAGER) if "For coaching" in (c.args.get("text") or "")]
    assert len(to_manager) == 1 and FEEDBACK in to_manager[0].args["text"]


# ---------------------------------------------------------------- settled in place


def test_a_heads_up_is_redrawn_without_buttons_once_accepted(bot, standin):
    install(bot, standin, AMER)
    card = submitted(bot, standin)
    tick_at(bot, ny(2026, 11, 23, 15, 0))
    [heads_up] = reminders_to(standin, AE, "⏰")
    reminder = where(heads_up)
    assert buttons(seen(standin, reminder)) == ["handoff_accept", "handoff_reject"]

    bot.clock.set(ny(2026, 11, 23, 15, 30))  # type: ignore[union-attr]
    bot.driver.click(AE, "handoff_accept", message=card)
    settle(bot)

    now = seen(standin, reminder)
    assert buttons(now) == []
    assert f"Accepted by <@{AE}>" in said(now)
    assert "Mon 23 Nov 2026, 15:30 EST" in shown(said(now))  # when, in the AE's zone
    assert "H-1 Acme Corp" in said(now)  # still says what it was about
    # The edit is an edit: the reminder was posted once.
    assert len(reminders_to(standin, AE, "⏰")) == 1
    assert len([c for c in standin.calls_to("chat.update") if c.ok and where(c) == reminder]) == 1
    # A later change owes a settled reminder no second edit.
    tick_at(bot, ny(2026, 11, 27, 10, 45))
    record_outcome(bot, standin, AE, card, outcome="completed", next_step="Send the proposal",
                   next_step_due=date(2026, 12, 3))
    assert store.get_handoff(bot.db, 1).completed_at is not None
    assert len([c for c in standin.calls_to("chat.update") if c.ok and where(c) == reminder]) == 1


def test_an_escalation_is_broadcast_and_settled_everywhere_when_the_manager_reassigns(bot, standin):
    install(bot, standin, AMER)
    submitted(bot, standin)
    for when in (ny(2026, 11, 23, 15, 0), ny(2026, 11, 23, 17, 0), ny(2026, 11, 24, 13, 0)):
        tick_at(bot, when)
    [to_manager] = reminders_to(standin, MANAGER, "🚨")
    [in_channel] = reminders_to(standin, AMER_CHANNEL, "🚨")
    assert in_channel.args.get("thread_ts") and in_channel.args.get("reply_broadcast") is True
    assert seen(standin, where(in_channel)).get("subtype") == "thread_broadcast"
    # Other thread replies are not broadcast.
    others = [c for c in posts(standin, AMER_CHANNEL) if c.args.get("thread_ts") and c is not in_channel]
    assert all(not c.args.get("reply_broadcast") for c in others)
    [overdue] = reminders_to(standin, AE, "🔴")
    assert buttons(seen(standin, where(to_manager))) == ["handoff_reassign"]

    view = open_modal(bot, standin, MANAGER, "handoff_reassign", where(to_manager))
    response = bot.driver.submit_view(MANAGER, view, {"new_ae": AE2})
    assert response.status == 200 and not response.body, response.body
    settle(bot)
    assert store.get_handoff(bot.db, 1).ae_id == AE2

    for reminder in (where(to_manager), where(in_channel), where(overdue)):
        now = seen(standin, reminder)
        assert buttons(now) == [], reminder
        assert f"Reassigned to <@{AE2}> by <@{MANAGER}>" in said(now), reminder
    heads_up = seen(standin, where(reminders_to(standin, AE, "⏰")[0]))
    assert buttons(heads_up) == [] and f"Reassigned to <@{AE2}>" in said(heads_up)


def test_a_reminder_still_queued_when_settled_is_neither_posted_nor_edited(bot, standin):
    install(bot, standin, AMER)
    card = submitted(bot, standin)
    standin.fail("chat.postMessage", status=500, times=1, channel=AE)
    tick_at(bot, ny(2026, 11, 23, 15, 0))  # the heads-up is claimed, its post fails once
    bot.driver.click(AE, "handoff_accept", message=card)
    settle(bot)
    bot.clock.advance(timedelta(seconds=30))  # type: ignore[union-attr]
    settle(bot)
    assert reminders_to(standin, AE, "⏰") == []
    rows = [r for r in outbox_rows(bot) if (r.message_key or "").startswith("reminder:h1:r1:heads_up")]
    assert sorted((r.op, r.status) for r in rows) == [("post", "skipped"), ("update", "skipped")]


# ---------------------------------------------------------------- the AE and the attendees are told


DATE_TOKEN = re.compile(r"<!date\^(\d+)\^[^|>]+\|[^>]+>")


def meeting_time(call: RecordedCall) -> int:
    match = DATE_TOKEN.search(call.args["text"])
    assert match, call.args["text"]
    return int(match.group(1))


def test_on_accept_the_attendees_are_told_the_meeting_time_and_the_ae_is_not_told_what_they_did(bot, standin):
    install(bot, standin, AMER)
    card = submitted(bot, standin)
    bot.driver.click(AE, "handoff_accept", message=card)
    settle(bot)
    for person in (SE, MANAGER):
        [told] = meeting_notices(standin, person)
        text = told.args["text"]
        assert text.startswith(f"✅ <@{AE}> accepted *H-1 Acme Corp* from <@{SDR}>. Your meeting: ")
        assert meeting_time(told) == int(MEETING.timestamp())
        assert "America/" not in text and "Europe/" not in text  # never a raw zone id
    assert meeting_notices(standin, AE) == [] and meeting_notices(standin, SDR) == []


def test_when_an_admin_accepts_for_the_ae_the_ae_is_told(bot, standin):
    install(bot, standin, AMER)
    card = submitted(bot, standin, attendees=[])
    bot.driver.click(ADMIN, "handoff_accept", message=card)
    settle(bot)
    [told] = meeting_notices(standin, AE)
    assert told.args["text"].startswith(f"✅ <@{ADMIN}> accepted *H-1 Acme Corp* for you. Your meeting: ")
    assert meeting_time(told) == int(MEETING.timestamp())


def test_a_rescheduled_meeting_is_told_to_the_attendees_with_its_new_time(bot, standin):
    install(bot, standin, AMER)
    card = submitted(bot, standin)
    bot.driver.click(AE, "handoff_accept", message=card)
    settle(bot)
    tick_at(bot, ny(2026, 11, 27, 10, 45))  # the meeting is over: the card offers Record outcome
    new_time = ny(2026, 12, 2, 10, 0)
    record_outcome(bot, standin, AE, card, outcome="rescheduled", new_meeting_start=int(new_time.timestamp()))
    for person in (SE, MANAGER):
        told = [c for c in meeting_notices(standin, person) if "new time" in c.args["text"]]
        assert len(told) == 1, [c.args["text"] for c in meeting_notices(standin, person)]
        assert told[0].args["text"].startswith("📅 *H-1 Acme Corp* has a new time. Your meeting: ")
        assert meeting_time(told[0]) == int(new_time.timestamp())
    assert meeting_notices(standin, AE) == []  # the AE moved it


def test_a_rebooked_no_show_is_told_to_the_ae_and_attendees_and_settles_the_nudge(bot, standin):
    install(bot, standin, AMER)
    card = submitted(bot, standin)
    bot.driver.click(AE, "handoff_accept", message=card)
    settle(bot)
    tick_at(bot, ny(2026, 11, 27, 10, 45))
    bot.clock.set(ny(2026, 11, 27, 14, 0))  # type: ignore[union-attr]
    record_outcome(bot, standin, AE, card, outcome="no_show")
    tick_at(bot, ny(2026, 12, 1, 14, 0))
    [nudge] = reminders_to(standin, SDR, "📅")
    assert buttons(seen(standin, where(nudge))) == ["handoff_outcome"]

    new_time = ny(2026, 12, 4, 11, 0)
    bot.clock.set(ny(2026, 12, 1, 15, 0))  # type: ignore[union-attr]
    record_outcome(bot, standin, SDR, where(nudge), outcome="rescheduled", new_meeting_start=int(new_time.timestamp()))
    for person in (AE, SE, MANAGER):
        told = [c for c in meeting_notices(standin, person) if "rebooked" in c.args["text"]]
        assert len(told) == 1, person
        assert told[0].args["text"].startswith("📅 *H-1 Acme Corp* is rebooked after the no-show. Your meeting: ")
        assert meeting_time(told[0]) == int(new_time.timestamp())
    now = seen(standin, where(nudge))
    assert buttons(now) == [] and f"New time set by <@{SDR}>" in said(now)
    assert str(int(new_time.timestamp())) in said(now)


def test_a_reassigned_card_says_who_moved_it_and_when(bot, standin):
    install(bot, standin, AMER)
    card = submitted(bot, standin)
    bot.clock.set(ny(2026, 11, 23, 10, 0))  # type: ignore[union-attr]
    view = open_modal(bot, standin, AE, "handoff_reassign", card)
    assert bot.driver.submit_view(AE, view, {"new_ae": AE2}).status == 200
    settle(bot)
    now = seen(standin, card)
    assert buttons(now) == []
    assert f"Reassigned to <@{AE2}> by <@{AE}> · " in said(now) and "Mon 23 Nov 2026, 10:00 EST" in shown(said(now))
