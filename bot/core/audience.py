"""Who hears about what: the Slack posts and edits each change owes.

Pure. The outbox stores these in the same transaction as the change; the
views are rendered from the record when delivered, so they show the truth.
"""
from __future__ import annotations

from dataclasses import dataclass

from bot.core.handoff import Action


@dataclass(frozen=True)
class Owed:
    conversation: str  # user id (DM) or channel id
    op: str  # "post" | "update"
    view: str  # a render name in bot.render.views
    message_key: str
    dedupe_key: str | None = None
    thread_key: str | None = None


def ae_card_key(handoff_id: int, revision: int) -> str:
    return f"ae_card:{handoff_id}:{revision}"


def sdr_card_key(handoff_id: int) -> str:
    return f"sdr_card:{handoff_id}"


def rejection_key(handoff_id: int, revision: int) -> str:
    return f"sdr_rejected:{handoff_id}:{revision}"


def announcement_key(handoff_id: int) -> str:
    return f"announce:{handoff_id}"


def owed_on_submit(handoff_id: int, *, sdr_id: str, ae_id: str, channel: str | None = None) -> list[Owed]:
    owed = [
        Owed(ae_id, "post", "ae_card", ae_card_key(handoff_id, 1)),
        Owed(sdr_id, "post", "sdr_card", sdr_card_key(handoff_id)),
    ]
    if channel:
        owed.append(Owed(channel, "post", "announcement", announcement_key(handoff_id)))
    return owed


def owed_on_action(
    action: Action,
    handoff_id: int,
    *,
    sdr_id: str,
    old_ae: str,
    new_ae: str,
    old_revision: int,
    new_revision: int,
    event_id: int,
    channel: str | None = None,
    sdr_manager: str | None = None,
) -> list[Owed]:
    """The messages owed after `action` moved the handoff from old to new AE/revision."""
    old_card = Owed(old_ae, "update", "ae_card", ae_card_key(handoff_id, old_revision))
    sdr_card = Owed(sdr_id, "update", "sdr_card", sdr_card_key(handoff_id))
    notice = f"notice:{handoff_id}:{event_id}"
    if action is Action.ACCEPT:
        owed = [old_card, sdr_card, Owed(sdr_id, "post", "notice_accepted", notice)]
    elif action is Action.REJECT:
        owed = [old_card, sdr_card, Owed(sdr_id, "post", "notice_rejected", rejection_key(handoff_id, old_revision))]
        if sdr_manager and sdr_manager != sdr_id:
            # Feedback is coaching: the SDR's manager reads it too.
            owed.append(Owed(sdr_manager, "post", "notice_coaching", f"coach:{handoff_id}:{event_id}"))
    elif action is Action.REVISE:
        owed = [
            old_card,
            Owed(sdr_id, "update", "notice_rejected", rejection_key(handoff_id, old_revision)),
            Owed(new_ae, "post", "ae_card", ae_card_key(handoff_id, new_revision)),
            sdr_card,
        ]
    elif action is Action.WITHDRAW:
        # The rejection notice, if there is one, loses its Revise/Withdraw buttons.
        owed = [
            old_card,
            Owed(sdr_id, "update", "notice_rejected", rejection_key(handoff_id, old_revision)),
            sdr_card,
            Owed(old_ae, "post", "notice_withdrawn", notice),
        ]
    elif action is Action.REASSIGN:
        owed = [
            old_card,
            Owed(new_ae, "post", "ae_card", ae_card_key(handoff_id, new_revision)),
            sdr_card,
            Owed(sdr_id, "post", "notice_reassigned", notice),
        ]
    elif action in (Action.RECORD_OUTCOME, Action.CLOSE, Action.KEEP):
        owed = [old_card, sdr_card]
        if action is not Action.KEEP:
            owed.append(Owed(sdr_id, "post", "notice_outcome", notice))
    else:
        raise ValueError(action)
    if channel:
        # The announcement shows the record as it is now; the thread keeps the story.
        owed += [
            Owed(channel, "update", "announcement", announcement_key(handoff_id)),
            Owed(channel, "post", "thread_note", f"note:{handoff_id}:{event_id}",
                 thread_key=announcement_key(handoff_id)),
        ]
    return owed
