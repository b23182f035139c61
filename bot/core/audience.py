"""Who hears about what: the one table of the Slack posts and edits each change and reminder owes.

Pure. The outbox stores these in the same transaction as the change; the views are rendered
from the record when delivered, so they show the truth.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

from bot.core.chase import CARD, CHANNEL, Reminder
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
    status: str = "pending"  # "superseded": claimed so it is never posted, and not posted


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
                   sdr_manager: str | None = None) -> list[Owed]:
    """The messages owed after `change` moved the handoff (maybe to a new AE or revision)."""
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
        # The announcement shows the record as it is now; the thread keeps the story.
        owed += [
            Owed(channel, "update", "announcement", announcement_key(handoff_id)),
            Owed(channel, "post", "thread_note", f"note:{handoff_id}:{event_id}",
                 thread_key=announcement_key(handoff_id)),
        ]
    return owed


def owed_for_reminder(handoff_id: int, revision: int, ae_id: str, r: Reminder, *, channel: str | None,
                      superseded: bool = False) -> list[Owed]:
    """One message per audience of a reminder, each claimed under its own key. A superseded step
    is claimed without a message (after downtime only the latest step of a ladder is posted)."""
    owed = []
    status = "superseded" if superseded else "pending"
    payload = None if superseded else json.dumps(r.to_payload())
    for audience in r.to:
        dedupe = f"{r.key}>{audience}"
        if audience == CARD:
            owed.append(Owed(ae_id, "update", "ae_card", ae_card_key(handoff_id, revision), dedupe,
                             payload=payload, status=status))
        elif audience == CHANNEL:
            if channel:
                owed.append(Owed(channel, "post", "reminder", f"reminder:{dedupe}", dedupe,
                                 None if superseded else announcement_key(handoff_id), payload, status))
        else:
            owed.append(Owed(audience, "post", "reminder", f"reminder:{dedupe}", dedupe, payload=payload,
                             status=status))
    return owed


def owed_for_agenda(key: str, channel: str, messages: list[dict[str, object]]) -> list[Owed]:
    """The week's agenda: the first message in the channel, the rest in its thread, claimed by team and week."""
    return [Owed(channel, "post", "snapshot", f"{key}:{i}", f"{key}:{i}", f"{key}:0" if i else None,
                 json.dumps(message)) for i, message in enumerate(messages)]
