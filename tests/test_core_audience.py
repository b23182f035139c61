"""Who hears about each change: the Slack posts and edits the outbox owes, as pure values."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.audience import Owed, PostedReminder, owed_on_change, owed_on_submit
from bot.core.chase import Reminder
from bot.core.form import OutcomeInput
from bot.core.handoff import Action, Handoff, Person
from bot.core.lifecycle import (
    SYSTEM_ACTOR,
    Accept,
    Change,
    Close,
    Command,
    Keep,
    Reassign,
    RecordOutcome,
    Reject,
    Revise,
    Withdraw,
    apply,
    submit,
)

UTC = timezone.utc
START = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
SDR, AE, AE2, SDR_MANAGER, CHANNEL = "U_SDR", "U_AE", "U_AE2", "U_SDR_MGR", "C_TEAM"
VALUES = {"company": "Acme", "contact_name": "Jane Doe", "need": "SSO", "compelling_event": "Audit",
          "ae_id": AE, "meeting_start": START + timedelta(days=10), "meeting_kind": "demo"}
REJECT = (Reject("no_budget", "Budget frozen"), AE)
ACCEPT = (Accept(), AE)
NO_SHOW = (RecordOutcome(OutcomeInput("no_show", None, None, None, None), "UTC"), AE)
# Valid paths from a fresh handoff; the last step is the change under test.
PATHS: dict[Action, list[tuple[Command, str]]] = {
    Action.ACCEPT: [ACCEPT],
    Action.REJECT: [REJECT],
    Action.REVISE: [REJECT, (Revise({**VALUES, "ae_id": AE2}, "UTC"), SDR)],  # revised to another AE
    Action.WITHDRAW: [REJECT, (Withdraw(), SDR)],
    Action.REASSIGN: [(Reassign(Person(AE2)), AE)],
    Action.RECORD_OUTCOME: [ACCEPT, NO_SHOW],
    Action.CLOSE: [ACCEPT, NO_SHOW, (Close(), AE)],
    Action.KEEP: [ACCEPT, NO_SHOW, (Keep(), AE)],
}


def walk(path: list[tuple[Command, str]], handoff_id: int, revision: int) -> Change:
    h = submit(VALUES, sdr_id=SDR, team=None, ae_tz="UTC", now=START, submission_key="k", slack_team_id="T1")
    h = replace(h, id=handoff_id, revision=revision)
    changes = []
    for cmd, actor in path:
        change = apply(h, cmd, actor=actor, now=START, team=None, admins=frozenset(), card_revision=h.revision)
        assert isinstance(change, Change), change
        changes.append(change)
        h = change.after
    return changes[-1]


def keys(owed: list[Owed]) -> list[str]:
    return [o.message_key for o in owed]


@settings(max_examples=150, deadline=None)
@given(action=st.sampled_from(list(PATHS)), handoff_id=st.integers(1, 10**9), revision=st.integers(1, 50),
       event_id=st.integers(1, 10**9), channel=st.sampled_from([None, CHANNEL]),
       sdr_manager=st.sampled_from([None, SDR, SDR_MANAGER]))
def test_every_change_owes_the_right_messages(action: Action, handoff_id: int, revision: int, event_id: int,
                                              channel: str | None, sdr_manager: str | None) -> None:
    change = walk(PATHS[action], handoff_id, revision)
    before, after = change.before, change.after
    owed = owed_on_change(change, event_id=event_id, channel=channel, sdr_manager=sdr_manager)

    # The card the (old) AE holds is redrawn; so is the SDR's.
    assert Owed(before.ae_id, "update", "ae_card", f"ae_card:{handoff_id}:{before.revision}") in owed
    assert Owed(SDR, "update", "sdr_card", f"sdr_card:{handoff_id}") in owed
    # A new revision means a new card (for the new AE); its buttons carry the new revision.
    new_cards = [o for o in owed if o.view == "ae_card" and o.op == "post"]
    if action in (Action.REVISE, Action.REASSIGN):
        assert new_cards == [Owed(AE2, "post", "ae_card", f"ae_card:{handoff_id}:{before.revision + 1}")]
        assert after.revision == before.revision + 1
    else:
        assert new_cards == []
    # The channel's announcement is updated and the story goes on in its thread; no channel, no post there.
    note = Owed(CHANNEL, "post", "thread_note", f"note:{handoff_id}:{event_id}", thread_key=f"announce:{handoff_id}")
    assert (note in owed) is (channel is not None)
    assert all(o.conversation != CHANNEL for o in owed) is (channel is None)
    # Feedback is coaching: the SDR's manager reads a rejection, unless the SDR is their own manager.
    coaching = [o for o in owed if o.view == "notice_coaching"]
    wanted = action is Action.REJECT and sdr_manager == SDR_MANAGER
    assert coaching == ([Owed(SDR_MANAGER, "post", "notice_coaching", f"coach:{handoff_id}:{event_id}")]
                        if wanted else [])
    # Each message is claimed under its own key: two owed items must never collide.
    assert len(set(keys(owed))) == len(owed)


@pytest.mark.parametrize(("sdr_manager", "coached"), [(None, False), (SDR, False), (SDR_MANAGER, True)])
def test_coaching_goes_to_the_sdrs_manager_only(sdr_manager: str | None, coached: bool) -> None:
    owed = owed_on_change(walk([REJECT], 5, 1), event_id=8, sdr_manager=sdr_manager)
    assert (Owed(SDR_MANAGER, "post", "notice_coaching", "coach:5:8") in owed) is coached
    assert [o for o in owed if o.view == "notice_coaching" and o.conversation != SDR_MANAGER] == []


def test_rejection_notice_is_the_one_revise_and_withdraw_update() -> None:
    # The rejection notice carries Revise/Withdraw buttons: what follows must disarm that very message.
    rejected = walk([REJECT], 5, 3)
    posted = [o for o in owed_on_change(rejected, event_id=1) if o.view == "notice_rejected"]
    assert posted == [Owed(SDR, "post", "notice_rejected", "sdr_rejected:5:3")]
    for action in (Action.REVISE, Action.WITHDRAW):
        updated = [o for o in owed_on_change(walk(PATHS[action], 5, 3), event_id=2) if o.view == "notice_rejected"]
        assert updated == [Owed(SDR, "update", "notice_rejected", "sdr_rejected:5:3")]


def test_keep_is_silent_to_the_sdr_but_close_is_not() -> None:
    kept = owed_on_change(walk(PATHS[Action.KEEP], 9, 1), event_id=4)
    closed = owed_on_change(walk(PATHS[Action.CLOSE], 9, 1), event_id=4)
    assert [o.view for o in kept] == ["ae_card", "sdr_card"]
    assert Owed(SDR, "post", "notice_outcome", "notice:9:4") in closed


def test_submit_owes_both_cards_and_the_announcement() -> None:
    h: Handoff = replace(submit(VALUES, sdr_id=SDR, team=None, ae_tz="UTC", now=START, submission_key="k",
                                slack_team_id="T1"), id=12)
    assert owed_on_submit(h) == [Owed(AE, "post", "ae_card", "ae_card:12:1"),
                                 Owed(SDR, "post", "sdr_card", "sdr_card:12")]
    assert owed_on_submit(h, channel=CHANNEL)[-1] == Owed(CHANNEL, "post", "announcement", "announce:12")


# ---------------------------------------------------------------- the AE and the extra attendees

SE, SE2 = "U_SE", "U_SE2"
WITH_GUESTS = {**VALUES, "attendees": (SE, SE2, SDR_MANAGER)}
NEW_TIME = START + timedelta(days=12)


def walk_from(values: dict, path: list[tuple[Command, str]]) -> Change:
    h = submit(values, sdr_id=SDR, team=None, ae_tz="UTC", now=START, submission_key="k", slack_team_id="T1")
    h = replace(h, id=7)
    change = None
    for cmd, actor in path:
        change = apply(h, cmd, actor=actor, now=START, team=None, admins=frozenset({"U_ADMIN"}),
                       card_revision=h.revision)
        assert isinstance(change, Change), change
        h = change.after
    assert change is not None
    return change


def told(owed: list[Owed]) -> dict[str, str]:
    return {o.conversation: json.loads(o.payload or "{}")["news"] for o in owed if o.view == "notice_meeting"}


RESCHEDULE = RecordOutcome(OutcomeInput("rescheduled", NEW_TIME, None, None, None), "UTC")


@pytest.mark.parametrize(("path", "expected"), [
    # The AE accepted: the attendees hear; the AE knows, and the SDR has their own notice.
    ([ACCEPT], {SE: "accepted", SE2: "accepted", SDR_MANAGER: "accepted"}),
    # An admin accepted for the AE: the AE hears too.
    ([(Accept(), "U_ADMIN")], {AE: "accepted", SE: "accepted", SE2: "accepted", SDR_MANAGER: "accepted"}),
    # The AE moved the meeting: the attendees hear of the new time.
    ([ACCEPT, (RESCHEDULE, AE)], {SE: "rescheduled", SE2: "rescheduled", SDR_MANAGER: "rescheduled"}),
    # The SDR rebooked a no-show: the AE and the attendees hear.
    ([ACCEPT, NO_SHOW, (RESCHEDULE, SDR)], {AE: "rebooked", SE: "rebooked", SE2: "rebooked", SDR_MANAGER: "rebooked"}),
    # Nothing about the meeting changed: nobody extra hears.
    ([REJECT], {}), ([ACCEPT, NO_SHOW], {}), ([(Reassign(Person(AE2)), AE)], {}),
])
def test_the_ae_and_attendees_hear_of_accept_reschedule_and_rebook(path, expected) -> None:
    change = walk_from(WITH_GUESTS, path)
    owed = owed_on_change(change, event_id=3, channel=CHANNEL)
    assert told(owed) == expected
    assert all(o.op == "post" and o.message_key == f"meeting:7:3:{o.conversation}"
               for o in owed if o.view == "notice_meeting")
    assert len(set(keys(owed))) == len(owed)


def test_an_attendee_who_is_also_the_sdr_or_ae_hears_once() -> None:
    change = walk_from({**VALUES, "attendees": (SDR, AE, SE, SE)}, [(Accept(), "U_ADMIN")])
    assert [o.conversation for o in owed_on_change(change, event_id=1) if o.view == "notice_meeting"] == [AE, SE]


# ---------------------------------------------------------------- reminders settled in place


def posted(kind: str, h: Handoff, *, subject: int | None = None, conversation: str = AE,
           reassign_to: str | None = None) -> PostedReminder:
    meeting = int(h.meeting_start.timestamp()) if h.meeting_start else 0
    default = h.revision if kind in ("heads_up", "overdue", "escalation") else meeting
    r = Reminder(f"h{h.id}:{kind}", kind, (), START, START, default if subject is None else subject, AE,
                 reassign_to)
    return PostedReminder(conversation, f"reminder:{r.key}>{conversation}", json.dumps(r.to_payload()))


def settled(change: Change, reminders: list[PostedReminder]) -> list[str]:
    owed = owed_on_change(change, event_id=1, reminders=reminders)
    out = [o for o in owed if o.view == "reminder_settled"]
    assert all(o.op == "update" and o.dedupe_key is None for o in out)
    by_key = {p.message_key: p for p in reminders}
    assert all(by_key[o.message_key].conversation == o.conversation for o in out)
    return [json.loads(o.payload or "{}")["kind"] for o in out]


@pytest.mark.parametrize("action", [Action.ACCEPT, Action.REJECT, Action.REASSIGN, Action.WITHDRAW])
def test_a_decision_settles_the_acceptance_reminders_of_its_revision_only(action: Action) -> None:
    change = walk(PATHS[action] if action is not Action.WITHDRAW else [(Withdraw(), SDR)], 7, 2)
    h = change.before
    reminders = [posted("heads_up", h), posted("overdue", h), posted("escalation", h, conversation=SDR_MANAGER),
                 posted("escalation", h, conversation=CHANNEL),
                 posted("heads_up", h, subject=h.revision - 1)]  # an older revision's: settled long ago
    assert settled(change, reminders) == ["heads_up", "overdue", "escalation", "escalation"]


def test_an_auto_reassignment_keeps_its_escalation_live_until_the_new_ae_decides() -> None:
    start = walk([(Reassign(Person(AE2)), SYSTEM_ACTOR)], 7, 1)  # the escalation's own reassignment
    escalation = posted("escalation", start.before, conversation=SDR_MANAGER, reassign_to=AE2)
    assert settled(start, [escalation]) == []
    accepted = apply(start.after, Accept(), actor=AE2, now=START, team=None, admins=frozenset(),
                     card_revision=start.after.revision)
    assert isinstance(accepted, Change)
    assert settled(accepted, [escalation]) == ["escalation"]


def test_meeting_reminders_settle_when_what_they_ask_for_is_done() -> None:
    no_show = walk(PATHS[Action.RECORD_OUTCOME], 7, 1)
    h = no_show.after
    outcome = posted("outcome_missing", no_show.before)
    assert settled(no_show, [outcome]) == ["outcome_missing"]
    rebook, ask = posted("rebook", h, conversation=SDR), posted("close_or_keep", h)
    # Keeping it open answers "close or keep?"; the SDR still owes the rebook.
    assert settled(walk(PATHS[Action.KEEP], 7, 1), [rebook, ask]) == ["close_or_keep"]
    assert settled(walk(PATHS[Action.CLOSE], 7, 1), [rebook, ask]) == ["rebook", "close_or_keep"]
    rebooked = walk([ACCEPT, NO_SHOW, (RESCHEDULE, SDR)], 7, 1)
    assert settled(rebooked, [rebook, ask]) == ["rebook", "close_or_keep"]
