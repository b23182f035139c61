"""The weekly SDR–sales sync agenda: when it is due, what it says, how it is cut for Slack, what it reads."""
from __future__ import annotations

from dataclasses import replace

import json
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from slack_sdk.models.blocks import Block

from bot.core.agenda import (
    agenda_due,
    agenda_key,
    agenda_missed,
    agenda_slot,
    build_agenda,
    default_sla_deadline,
    nothing_to_align,
    sync_moment,
    working_duration,
)
from bot.render.agenda import render_agenda, render_nothing_to_align
from bot.core.teams import TeamPolicy
from storage import handoffs as store
from storage.agenda import agenda_inputs
from storage.db import Database
from storage.migrate import upgrade
from bot.core.handoff import Event, Handoff, State

UTC = timezone.utc
AMER = TeamPolicy(id="amer", name="AMER Mid-Market", region="AMER", channel_id="C_AMER", tz="America/New_York")
EMEA = TeamPolicy(id="emea", name="EMEA", region="EMEA", channel_id="C_EMEA", tz="Europe/Berlin")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# ---------------------------------------------------------------- when


@pytest.mark.parametrize(
    ("team", "now", "expected"),
    [
        # US: clocks spring forward Sun 8 Mar 2026 and fall back Sun 1 Nov 2026.
        (AMER, utc(2026, 3, 4, 12), utc(2026, 3, 2, 15)),  # Mon 2 Mar 10:00 EST
        (AMER, utc(2026, 3, 11, 12), utc(2026, 3, 9, 14)),  # Mon 9 Mar 10:00 EDT
        (AMER, utc(2026, 10, 28, 12), utc(2026, 10, 26, 14)),  # Mon 26 Oct 10:00 EDT
        (AMER, utc(2026, 11, 4, 12), utc(2026, 11, 2, 15)),  # Mon 2 Nov 10:00 EST
        # EU: Sun 29 Mar 2026 and Sun 25 Oct 2026.
        (EMEA, utc(2026, 3, 26, 12), utc(2026, 3, 23, 9)),  # Mon 23 Mar 10:00 CET
        (EMEA, utc(2026, 4, 1, 12), utc(2026, 3, 30, 8)),  # Mon 30 Mar 10:00 CEST
        (EMEA, utc(2026, 10, 21, 12), utc(2026, 10, 19, 8)),  # Mon 19 Oct 10:00 CEST
        (EMEA, utc(2026, 10, 28, 12), utc(2026, 10, 26, 9)),  # Mon 26 Oct 10:00 CET
        # Sunday 22:00 in New York is Monday in UTC, but still the week that began the Monday before.
        (AMER, utc(2026, 11, 2, 3), utc(2026, 10, 26, 14)),
        # Monday 00:30 in Berlin is Sunday in UTC, but already the new week.
        (EMEA, utc(2026, 10, 25, 23, 30), utc(2026, 10, 26, 9)),
    ],
)
def test_sync_moment_across_dst(team: TeamPolicy, now: datetime, expected: datetime) -> None:
    moment = sync_moment(team, now)
    assert moment == expected
    assert moment.tzinfo is not None and moment.utcoffset() == timedelta(0)


def test_sync_on_the_day_the_clocks_change() -> None:
    sunday_berlin = TeamPolicy(id="x", name="X", region="EMEA", channel_id="C", tz="Europe/Berlin",
                               sync_weekday=6, sync_time=time(10, 0))
    assert sync_moment(sunday_berlin, utc(2026, 3, 25, 12)) == utc(2026, 3, 29, 8)  # CEST from 03:00
    assert sync_moment(sunday_berlin, utc(2026, 10, 21, 12)) == utc(2026, 10, 25, 9)  # CET again
    # 02:30 does not exist on 8 Mar 2026 in New York: the sync falls at the jump (03:00 EDT).
    gap = TeamPolicy(id="y", name="Y", region="AMER", channel_id="C", tz="America/New_York",
                     sync_weekday=6, sync_time=time(2, 30))
    assert sync_moment(gap, utc(2026, 3, 4, 12)) == utc(2026, 3, 8, 7)


def test_agenda_key_is_iso_week_in_the_team_zone() -> None:
    assert agenda_key(AMER, utc(2026, 11, 23, 16)) == "agenda:amer:2026-W48"
    assert agenda_key(AMER, utc(2026, 11, 30, 3)) == "agenda:amer:2026-W48"  # Sunday night in New York
    assert agenda_key(EMEA, utc(2026, 11, 29, 23, 30)) == "agenda:emea:2026-W49"  # Monday in Berlin
    assert agenda_key(AMER, utc(2027, 1, 3, 12)) == "agenda:amer:2026-W53"  # ISO year, not calendar year
    assert agenda_key(AMER, utc(2027, 1, 4, 16)) == "agenda:amer:2027-W01"


def test_agenda_due_only_in_its_slot_the_same_working_day() -> None:
    moment = utc(2026, 11, 23, 15)  # Mon 10:00 EST; the working day ends 17:00 EST (22:00 UTC)
    assert agenda_due(AMER, utc(2026, 11, 23, 8), set()) is None  # a first start at 03:00 posts nothing
    assert agenda_due(AMER, moment - timedelta(seconds=1), set()) is None
    assert agenda_due(AMER, moment, set()) == "agenda:amer:2026-W48"
    assert agenda_due(AMER, moment + timedelta(hours=1), {"agenda:amer:2026-W48"}) is None
    # Down at the slot: caught up later the same working day...
    assert agenda_due(AMER, utc(2026, 11, 23, 21), {"agenda:amer:2026-W47"}) == "agenda:amer:2026-W48"
    assert agenda_missed(AMER, utc(2026, 11, 23, 21), {"agenda:amer:2026-W47"}) is None
    # ...but not after it: the day is missed, once, and not posted days later.
    assert agenda_due(AMER, utc(2026, 11, 23, 22), set()) is None
    assert agenda_due(AMER, utc(2026, 11, 26, 12), {"agenda:amer:2026-W47"}) is None
    missed = agenda_missed(AMER, utc(2026, 11, 24, 14), {"agenda:amer:2026-W47"})
    assert missed is not None and missed.key == "agenda:amer:2026-W48"
    assert agenda_missed(AMER, utc(2026, 11, 24, 14), {"agenda:amer:2026-W48"}) is None
    # A week whose sync has not come yet is not owed, whatever was missed before it.
    assert agenda_due(AMER, utc(2026, 11, 30, 14), set()) is None
    assert agenda_due(AMER, utc(2026, 11, 30, 15), {"agenda:amer:2026-W48"}) == "agenda:amer:2026-W49"


def test_a_sync_set_after_the_working_day_closes_at_midnight() -> None:
    late = replace(AMER, sync_time=time(18, 0))
    slot = agenda_slot(late, date(2026, 11, 23))
    assert slot is not None and (slot.opens, slot.closes) == (utc(2026, 11, 23, 23), utc(2026, 11, 24, 5))


US = replace(AMER, holiday_country="US")


def test_a_holiday_moves_the_sync_to_the_next_working_day_keeping_its_week() -> None:
    # Thanksgiving, Thu 26 Nov 2026: a Thursday sync goes out on Friday at the same time.
    thursday = replace(US, sync_weekday=3)
    slot = agenda_slot(thursday, date(2026, 11, 23))
    assert slot is not None and (slot.day, slot.moved_from, slot.key) == (
        date(2026, 11, 27), date(2026, 11, 26), "agenda:amer:2026-W48")
    assert agenda_due(thursday, utc(2026, 11, 26, 15), set()) is None
    assert agenda_due(thursday, utc(2026, 11, 27, 15), set()) == "agenda:amer:2026-W48"
    # Christmas falls on Friday 25 Dec 2026 and New Year on Friday 1 Jan 2027: each Friday sync moves into
    # the next week's Monday, under its own week's key, so each week still posts once.
    friday = replace(US, sync_weekday=4)
    assert agenda_due(friday, utc(2026, 12, 25, 15), set()) is None
    assert agenda_due(friday, utc(2026, 12, 28, 15), set()) == "agenda:amer:2026-W52"
    assert agenda_due(friday, utc(2027, 1, 1, 15), {"agenda:amer:2026-W52"}) is None
    assert agenda_due(friday, utc(2027, 1, 4, 15), {"agenda:amer:2026-W52"}) == "agenda:amer:2026-W53"
    # A sync on a day the team does not work moves too.
    sunday = replace(US, sync_weekday=6)
    assert agenda_due(sunday, utc(2026, 11, 30, 15), set()) == "agenda:amer:2026-W48"


def test_the_slot_across_the_dst_change() -> None:
    # Berlin leaves summer time on Sun 25 Oct 2026: Monday's 10:00 is 09:00 UTC, not 08:00.
    assert agenda_due(EMEA, utc(2026, 10, 26, 8, 30), set()) is None
    assert agenda_due(EMEA, utc(2026, 10, 26, 9), set()) == "agenda:emea:2026-W44"
    assert agenda_due(EMEA, utc(2026, 10, 26, 15, 59), set()) == "agenda:emea:2026-W44"  # 16:59 CET
    assert agenda_due(EMEA, utc(2026, 10, 26, 16), set()) is None  # 17:00 CET: the day is over


# ---------------------------------------------------------------- what

NOW = utc(2026, 11, 23, 15)  # Monday 10:00 in New York; the week is from Mon 16 Nov 15:00 UTC
_ids = iter(range(1, 10_000))


def handoff(id: int, state: str, created: datetime, sdr: str = "U_SDR1", ae: str = "U_AE1", **kw: Any) -> Handoff:
    values: dict[str, Any] = dict(
        id=id, state=State(state), revision=1, submission_key=f"view-{id}", sdr_id=sdr, ae_id=ae, company=f"Company {id}",
        contact_name="Jane Doe", need="CI at scale", compelling_event="Renewal in Q1", team_id="amer",
        created_at=created, updated_at=kw.pop("updated_at", created),
    )
    values.update(kw)
    return Handoff(**values)


def event(handoff_id: int, at: datetime, action: str, actor: str, from_state: str | None, to_state: str | None,
          reason: str | None = None) -> Event:
    return Event(id=next(_ids), handoff_id=handoff_id, at=at, actor=actor, action=action,
                      from_state=from_state, to_state=to_state, reason=reason)


def submitted(h: Handoff) -> Event:
    return event(h.id or 0, h.created_at, "submitted", h.sdr_id, None, "pending")


def decided(h: Handoff, at: datetime, action: str, reason: str | None = None) -> Event:
    to = {"accept": "accepted", "reject": "rejected"}[action]
    return event(h.id or 0, at, action, h.ae_id, "pending", to, reason)


def week_of_handoffs() -> tuple[list[Handoff], list[Event]]:
    """Times in UTC; New York's working day is 14:00-22:00 UTC in November."""
    h1 = handoff(1, "pending", utc(2026, 11, 20, 14), sla_start=utc(2026, 11, 20, 14))  # deadline Fri 22:00 UTC
    h2 = handoff(2, "pending", utc(2026, 11, 23, 14, 30), sdr="U_SDR2", ae="U_AE2",
                 meeting_start=utc(2026, 11, 25, 15))  # deadline Tue 09:30 EST
    h3 = handoff(3, "pending", utc(2026, 11, 18, 15), sla_start=utc(2026, 11, 20, 16))  # deadline Mon 11:00 EST
    h4 = handoff(4, "accepted", utc(2026, 11, 17, 14), ae="U_AE2", sla_start=utc(2026, 11, 17, 14),
                 meeting_start=utc(2026, 11, 24, 16), next_step="Send the security questionnaire",
                 next_step_due=utc(2026, 11, 20, 22), next_step_owner="U_AE2")
    h5 = handoff(5, "accepted", utc(2026, 11, 9, 14), sdr="U_SDR2", sla_start=utc(2026, 11, 16, 14),
                 meeting_start=utc(2026, 11, 16, 13), meeting_outcome="no_show", outcome_at=utc(2026, 11, 17, 15))
    h6 = handoff(6, "accepted", utc(2026, 10, 5, 14), meeting_start=utc(2026, 11, 18, 14),
                 meeting_outcome="completed", outcome_at=utc(2026, 11, 18, 15), next_step="Pilot kickoff",
                 next_step_due=utc(2026, 11, 30, 15), next_step_owner="U_SDR1", completed_at=utc(2026, 11, 18, 15))
    h7 = handoff(7, "rejected", utc(2026, 11, 19, 15), sdr="U_SDR2", decided_by="U_AE1",
                 decided_at=utc(2026, 11, 19, 18), rejection_reason="no_budget",
                 rejection_feedback="They froze spend until Q2")
    h8 = handoff(8, "accepted", utc(2026, 11, 16, 16), meeting_start=utc(2026, 11, 16, 18),
                 meeting_outcome="completed", outcome_at=utc(2026, 11, 19, 15))  # deadline Tue 17 16:00 UTC
    h9 = handoff(9, "withdrawn", utc(2026, 10, 1, 14), meeting_start=utc(2026, 11, 25, 14))
    h10 = handoff(10, "rejected", utc(2026, 10, 20, 14), decided_at=utc(2026, 11, 2, 14), rejection_reason="other",
                  rejection_feedback="old")
    handoffs = [h1, h2, h3, h4, h5, h6, h7, h8, h9, h10]
    events = [submitted(h) for h in handoffs] + [
        decided(h4, utc(2026, 11, 17, 17), "accept"),  # 3 working hours
        decided(h5, utc(2026, 11, 16, 20), "accept"),  # 6 working hours after its meeting ended
        decided(h6, utc(2026, 10, 6, 14), "accept"),
        decided(h7, utc(2026, 11, 19, 18), "reject", "No budget: They froze spend until Q2"),
        decided(h8, utc(2026, 11, 18, 14, 30), "accept"),  # late: 6 + 8 + 0.5 working hours
        decided(h10, utc(2026, 11, 2, 14), "reject", "Other: old"),
    ]
    return handoffs, events


def ids(items: Any) -> list[int]:
    return [getattr(i, "handoff", i).id for i in items]


def test_build_agenda_sections() -> None:
    handoffs, events = week_of_handoffs()
    agenda = build_agenda(AMER, handoffs, events, NOW, default_sla_deadline(AMER))

    assert {sdr: ids(hs) for sdr, hs in agenda.created_by_sdr.items()} == {"U_SDR1": [8, 4, 3, 1], "U_SDR2": [7, 2]}

    assert ids(agenda.waiting) == [1, 3, 2]  # by deadline: the overdue one first
    w1, w3, w2 = agenda.waiting
    assert (w1.sla_state, w1.overdue, w1.age) == ("overdue by 1 h", True, timedelta(hours=9))
    assert (w3.sla_state, w3.overdue, w3.age) == ("due in 1 h", False, timedelta(hours=24))
    assert (w2.sla_state, w2.overdue, w2.age) == ("on track", False, timedelta(minutes=30))
    assert w3.deadline == utc(2026, 11, 23, 16)

    assert ids(agenda.upcoming_meetings) == [4, 2]  # not the withdrawn one, not past ones
    assert [(p.handoff.id, p.overdue) for p in agenda.pipeline] == [(4, True), (6, False)]
    assert ids(agenda.no_shows) == [5]

    [rejection] = agenda.rejections
    assert (rejection.handoff.id, rejection.by, rejection.reason, rejection.feedback) == (
        7, "U_AE1", "No budget", "They froze spend until Q2")

    items = {(i.owner, i.what, i.handoff.id) for i in agenda.action_items}
    assert items == {
        ("U_AE2", "next_step", 4), ("U_SDR1", "next_step", 6), ("U_SDR2", "rebook", 5),
        ("U_AE1", "accept", 1), ("U_AE1", "accept", 3), ("U_AE2", "accept", 2),
    }
    accept_1 = next(i for i in agenda.action_items if i.handoff.id == 1)
    assert accept_1.due == utc(2026, 11, 20, 22) and accept_1.overdue


def test_build_agenda_numbers() -> None:
    handoffs, events = week_of_handoffs()
    n = build_agenda(AMER, handoffs, events, NOW, default_sla_deadline(AMER)).numbers
    assert n.submitted == 6  # 1, 2, 3, 4, 7, 8
    assert (n.accepted, n.rejected, n.acceptance_rate) == (3, 1, 0.75)
    assert n.median_hours_to_accept == 6.0  # of 3, 6 and 14.5
    assert n.sla_breaches == 2  # 1 still pending past its deadline, 8 accepted after it
    assert (n.no_shows, n.meetings_with_outcome) == (1, 3)
    assert n.no_show_rate == pytest.approx(1 / 3)


def test_empty_week_has_no_rates() -> None:
    agenda = build_agenda(AMER, [], [], NOW, default_sla_deadline(AMER))
    n = agenda.numbers
    assert (n.acceptance_rate, n.median_hours_to_accept, n.no_show_rate, n.sla_breaches) == (None, None, None, 0)
    assert nothing_to_align(agenda)
    [message] = render_nothing_to_align(AMER, date(2026, 11, 23))
    assert message.text == "SDR–sales sync · AMER Mid-Market · week of 23 Nov 2026: nothing to align on this week."
    assert len(message.blocks) == 1


def test_a_week_with_something_lists_only_the_parts_that_have_something() -> None:
    h = handoff(1, "pending", utc(2026, 11, 20, 14), sla_start=utc(2026, 11, 20, 14))
    agenda = build_agenda(AMER, [h], [submitted(h)], NOW, default_sla_deadline(AMER))
    assert not nothing_to_align(agenda)
    [message] = render_agenda(AMER, agenda, NOW)
    text = json.dumps(message.blocks, ensure_ascii=False)
    assert message.blocks[0]["text"]["text"] == "SDR–sales sync · AMER Mid-Market · week of 23 Nov 2026"
    assert "Waiting for acceptance* (1)" in text and "*Rejections*" not in text
    assert "Nothing this week: meetings in the coming week, next steps, no-shows to rebook, rejections." in text
    # Times are Slack date tokens (each reader's own zone), never an IANA id; durations in working hours.
    deadline = int(utc(2026, 11, 20, 22).timestamp())
    assert f"<!date^{deadline}^{{date_short_pretty}} {{time}}|Fri 20 Nov 17:00 EST>" in text
    assert "America/New_York" not in text
    assert "Waiting 9 h of working time" in text and "overdue by 1 h" in text


@pytest.mark.parametrize(("amount", "said"), [
    (timedelta(0), "under 1 min"), (timedelta(seconds=20), "under 1 min"), (timedelta(minutes=45), "45 min"),
    (timedelta(hours=3, minutes=20), "3 h 20 min"), (timedelta(hours=2), "2 h"), (timedelta(hours=14.5), "14 h 30 min"),
])
def test_working_durations_read_as_people_say_them(amount: timedelta, said: str) -> None:
    assert working_duration(amount) == said


def test_rejection_feedback_from_the_trail_after_a_revision() -> None:
    """Rejected, revised (pending again): the row's rejection fields are gone or stale, the trail has them."""
    h = handoff(1, "pending", utc(2026, 11, 17, 14), revision=2)
    events = [submitted(h), decided(h, utc(2026, 11, 17, 16), "reject", "Too small: Only 5 seats"),
              event(1, utc(2026, 11, 18, 14), "revise", "U_SDR1", "rejected", "pending")]
    agenda = build_agenda(AMER, [h], events, NOW, default_sla_deadline(AMER))
    [r] = agenda.rejections
    assert (r.reason, r.feedback) == ("Too small", "Only 5 seats")
    assert agenda.waiting[0].since == utc(2026, 11, 18, 14)  # waiting since the resubmission


# ---------------------------------------------------------------- render


def check_slack_limits(messages: list[Any]) -> None:
    for message in messages:
        assert 1 <= len(message.blocks) <= 50
        assert len(message.text) <= 3000
        for raw in message.blocks:
            block = Block.parse(raw)
            assert block is not None
            block.validate_json()
            if raw["type"] == "section":
                assert len(raw.get("text", {}).get("text", "")) <= 3000
                assert all(len(f["text"]) <= 2000 for f in raw.get("fields", []))


def test_render_summarises_a_long_agenda_in_one_message() -> None:
    created = utc(2026, 11, 20, 14)
    handoffs = [handoff(i, "pending", created + timedelta(minutes=i), ae=f"U_AE{i % 7}") for i in range(1, 121)]
    agenda = build_agenda(AMER, handoffs, [submitted(h) for h in handoffs], NOW, default_sla_deadline(AMER))
    messages = render_agenda(AMER, agenda, NOW)
    assert len(messages) == 1  # summarised, not split into a wall
    check_slack_limits(messages)
    [message] = messages
    assert message.blocks[0]["type"] == "header"
    everything = json.dumps(message.blocks, ensure_ascii=False)
    shown = [h.id for h in handoffs if f"H-{h.id} *Company {h.id}* · waiting for" in everything]
    assert 1 <= len(shown) < 120
    assert f"…and {120 - len(shown)} more · `/handoff list` shows yours" in everything
    assert "This week's numbers" in everything  # the numbers always make it


def test_render_escapes_hostile_text() -> None:
    handoffs, events = week_of_handoffs()
    hostile = "<!channel> Acme & <@U_BOSS|boss> <https://evil.example|click>"
    handoffs = [replace(h, company=hostile, next_step="Call <!here> now" if h.next_step else None) for h in handoffs]
    handoffs[6] = replace(handoffs[6], rejection_feedback="Bad fit <!everyone> & " + "&" * 3000)
    messages = render_agenda(AMER, build_agenda(AMER, handoffs, events, NOW, default_sla_deadline(AMER)), NOW)
    check_slack_limits(messages)
    everything = json.dumps([m.blocks for m in messages] + [m.text for m in messages])
    for smuggled in ("<!channel>", "<!here>", "<!everyone>", "<@U_BOSS", "<https://evil"):
        assert smuggled not in everything
    assert "&lt;!channel&gt; Acme &amp; &lt;@U_BOSS|boss&gt;" in everything
    assert "<@U_SDR1>" in everything and "<@U_AE2>" in everything  # real mentions stay
    # Times read in the team's zone.
    assert "Tue 24 Nov 11:00 EST" in everything


def test_the_channel_agenda_names_the_reason_but_never_the_coaching() -> None:
    handoffs, events = week_of_handoffs()
    handoffs[6] = replace(handoffs[6], rejection_feedback="Your discovery notes were thin on budget")
    messages = render_agenda(AMER, build_agenda(AMER, handoffs, events, NOW, default_sla_deadline(AMER)), NOW)
    everything = json.dumps([m.blocks for m in messages] + [m.text for m in messages])
    assert "Rejections* (" in everything and "feedback sent to the SDR" in everything
    assert "thin on budget" not in everything


# ---------------------------------------------------------------- storage


def test_agenda_inputs_reads_what_matters(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'agenda.db'}")
    upgrade(db.engine)
    old = NOW - timedelta(days=30)
    rows = {
        "recent": handoff(1, "accepted", NOW - timedelta(days=2), completed_at=NOW - timedelta(days=1),
                          next_step=None),
        "old_pending": handoff(2, "pending", old),
        "old_open_accepted": handoff(3, "accepted", old),
        "old_with_next_step": handoff(4, "accepted", old, completed_at=old, next_step="QBR",
                                      next_step_due=NOW + timedelta(days=3)),
        "rejected_this_week": handoff(5, "rejected", old, decided_at=NOW - timedelta(days=3),
                                      updated_at=NOW - timedelta(days=3)),
        "rejected_long_ago": handoff(6, "rejected", old, decided_at=old),
        "withdrawn_long_ago": handoff(7, "withdrawn", old),
        "completed_long_ago": handoff(8, "accepted", old, completed_at=old, meeting_outcome="completed",
                                      outcome_at=old),
        "other_team": handoff(9, "pending", NOW - timedelta(days=1), team_id="emea"),
        "no_team": handoff(10, "pending", NOW - timedelta(days=1), team_id=None),
    }
    with db.write() as session:
        for name, h in rows.items():
            rows[name] = stored = store.insert_handoff(session, h)
            store.add_event(session, stored.id, at=h.created_at, actor=h.sdr_id, action="submitted", from_state=None,
                            to_state="pending")
            store.add_event(session, stored.id, at=h.created_at + timedelta(hours=1), actor=h.ae_id, action="accept",
                            from_state="pending", to_state="accepted")
    try:
        handoffs, events = agenda_inputs(db, "amer", NOW)
        assert [h.id for h in handoffs] == [1, 2, 3, 4, 5]
        assert sorted({e.handoff_id for e in events}) == [1, 2, 3, 4, 5]
        assert len(events) == 10
        assert all(h.created_at.tzinfo is not None for h in handoffs)
        # What it reads is what the agenda is built from.
        agenda = build_agenda(AMER, handoffs, events, NOW, default_sla_deadline(AMER))
        assert [p.handoff.id for p in agenda.pipeline] == [4]
    finally:
        db.close()
