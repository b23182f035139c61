"""Who hears about what: the one table of the Slack posts and edits each change and reminder owes.

Pure. The outbox stores these in the same transaction as the change; the views are rendered
from the record when delivered, so they show the truth.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import orjson

from bot.core.chase import CARD, CHANNEL, Reminder, auto_reassigned, still_owed
from bot.core.handoff import Action, Handoff
from bot.core.lifecycle import Change


@dataclass(frozen=True)
class Owed:
    conversation: str  # user id (DM) or channel id
    op: str  # "post" | "update"
    view: str  # a render name in bot.render.views
    message_key: str
    dedupe_key: str | None = None  # claimed once: a reminder is never owed twice
    thread_key: str | None = None  # post into the thread of this message
    payload: str | None = None  # JSON: a reminder's details, or a snapshot
    status: str = "pending"  # "superseded": claimed so it is never posted (a week's agenda with nothing to say)


@dataclass(frozen=True)
class PostedReminder:
    """A reminder the outbox posted (or still holds to post) about a handoff: a change may settle it."""

    conversation: str
    message_key: str
    payload: str  # the reminder's details as claimed (Reminder.to_payload)


def ae_card_key(handoff_id: int, revision: int) -> str:
    return f"ae_card:{handoff_id}:{revision}"


def sdr_card_key(handoff_id: int) -> str:
    return f"sdr_card:{handoff_id}"


def rejection_key(handoff_id: int, revision: int) -> str:
    return f"sdr_rejected:{handoff_id}:{revision}"


def announcement_key(handoff_id: int) -> str:
    return f"announce:{handoff_id}"


def owed_on_submit(h: Handoff, *, channel: str | None = None) -> list[Owed]:
    owed = [
        Owed(h.ae_id, "post", "ae_card", ae_card_key(h.id, h.revision)),
        Owed(h.sdr_id, "post", "sdr_card", sdr_card_key(h.id)),
    ]
    if channel:
        owed.append(Owed(channel, "post", "announcement", announcement_key(h.id)))
    return owed


def owed_on_change(change: Change, *, event_id: int, channel: str | None = None,
                   sdr_manager: str | None = None, reminders: Sequence[PostedReminder] = ()) -> list[Owed]:
    """The messages owed after `change` moved the handoff (maybe to a new AE or revision).

    `reminders` are those posted about the handoff: each one this change settles is redrawn in place
    (who did what, when; no buttons), wherever it went."""
    before, after, action = change.before, change.after, change.action
    handoff_id, sdr_id = after.id, after.sdr_id
    old_card = Owed(before.ae_id, "update", "ae_card", ae_card_key(handoff_id, before.revision))
    sdr_card = Owed(sdr_id, "update", "sdr_card", sdr_card_key(handoff_id))
    old_rejection = Owed(sdr_id, "update", "notice_rejected", rejection_key(handoff_id, before.revision))
    new_card = Owed(after.ae_id, "post", "ae_card", ae_card_key(handoff_id, after.revision))
    notice = f"notice:{handoff_id}:{event_id}"
    if action is Action.ACCEPT:
        owed = [old_card, sdr_card, Owed(sdr_id, "post", "notice_accepted", notice)]
    elif action is Action.REJECT:
        owed = [old_card, sdr_card, Owed(sdr_id, "post", "notice_rejected", rejection_key(handoff_id, before.revision))]
        if sdr_manager and sdr_manager != sdr_id:
            # Feedback is coaching: the SDR's manager reads it too.
            owed.append(Owed(sdr_manager, "post", "notice_coaching", f"coach:{handoff_id}:{event_id}"))
    elif action is Action.REVISE:
        owed = [old_card, old_rejection, new_card, sdr_card]
    elif action is Action.WITHDRAW:
        # The rejection notice, if there is one, loses its Revise/Withdraw buttons.
        owed = [old_card, old_rejection, sdr_card, Owed(before.ae_id, "post", "notice_withdrawn", notice)]
    elif action is Action.REASSIGN:
        owed = [old_card, new_card, sdr_card, Owed(sdr_id, "post", "notice_reassigned", notice)]
    else:  # outcome, close, keep
        owed = [old_card, sdr_card]
        if action is not Action.KEEP:
            owed.append(Owed(sdr_id, "post", "notice_outcome", notice))
    if channel:
        # The announcement shows the record as it is now; the thread keeps the story (a rejection's
        # reason, never its feedback: that is coaching, for the SDR and their manager only).
        owed += [
            Owed(channel, "update", "announcement", announcement_key(handoff_id)),
            Owed(channel, "post", "thread_note", f"note:{handoff_id}:{event_id}",
                 thread_key=announcement_key(handoff_id)),
        ]
    owed += owed_to_attendees(change, event_id=event_id)
    owed += [Owed(p.conversation, "update", "reminder_settled", p.message_key, payload=p.payload)
             for p in reminders if settles(change, Reminder.from_payload(json.loads(p.payload)))]
    return owed


def meeting_news(change: Change) -> str | None:
    """What the people in the meeting need to hear of this change: "accepted", "rescheduled", "rebooked"."""
    before, after = change.before, change.after
    if change.action is Action.ACCEPT:
        return "accepted"
    if change.action is Action.RECORD_OUTCOME and after.meeting_start != before.meeting_start:
        return "rebooked" if before.meeting_outcome == "no_show" else "rescheduled"
    return None


def owed_to_attendees(change: Change, *, event_id: int) -> list[Owed]:
    """The AE (unless they did it) and every extra attendee hear of an accept, a new time or a rebook.
    The SDR hears through their own notices; nobody hears twice."""
    news = meeting_news(change)
    if news is None:
        return []
    after = change.after
    told = {after.sdr_id, change.actor}
    owed = []
    payload = json.dumps({"news": news})
    for person in (after.ae_id, *after.attendees):
        if person in told or person[:1] not in "UW":
            continue
        told.add(person)
        owed.append(Owed(person, "post", "notice_meeting", f"meeting:{after.id}:{event_id}:{person}",
                         payload=payload))
    return owed


def live(r: Reminder, h: Handoff) -> bool:
    """Whether a posted reminder still asks for something (and so keeps its buttons)."""
    return still_owed(r, h) or auto_reassigned(r, h)


def settles(change: Change, r: Reminder) -> bool:
    """A reminder is settled by the change after which it no longer asks for anything (or that answered
    it: keeping a no-show open answers "close it or keep it?", though the rebook is still owed)."""
    if not live(r, change.before):
        return False
    return not live(r, change.after) or (change.action is Action.KEEP and r.kind == "close_or_keep")


def reminder_keys(r: Reminder) -> list[str]:
    """The dedupe key of each message a reminder makes (one per audience): claimed once, never twice."""
    return [f"{r.key}>{audience}" for audience in r.to]


def owed_for_reminder(handoff_id: int, revision: int, ae_id: str, r: Reminder, *, channel: str | None) -> list[Owed]:
    """One message per audience of a reminder, each claimed under its own key."""
    owed = []
    payload = orjson.dumps(r.to_payload()).decode()  # a thousand at once when a tick catches up: in C
    for audience, dedupe in zip(r.to, reminder_keys(r), strict=True):
        if audience == CARD:
            owed.append(Owed(ae_id, "update", "ae_card", ae_card_key(handoff_id, revision), dedupe, payload=payload))
        elif audience == CHANNEL:
            if channel:
                owed.append(Owed(channel, "post", "reminder", f"reminder:{dedupe}", dedupe,
                                 announcement_key(handoff_id), payload))
        else:
            owed.append(Owed(audience, "post", "reminder", f"reminder:{dedupe}", dedupe, payload=payload))
    return owed


def owed_for_agenda(key: str, channel: str, messages: list[dict[str, object]]) -> list[Owed]:
    """The week's agenda: the first message in the channel, the rest in its thread, claimed by team and week."""
    return [Owed(channel, "post", "snapshot", f"{key}:{i}", f"{key}:{i}", f"{key}:0" if i else None,
                 json.dumps(message)) for i, message in enumerate(messages)]
