"""The outbox's view names, each rendered from the record at delivery time.

None means there is nothing to say any more (a reminder whose matter was settled): the row is skipped.
"""
from __future__ import annotations

import json

from bot.core.chase import Reminder
from bot.render import cards, reminders
from bot.render.cards import Viewer
from bot.render.text import Message
from bot.core.handoff import Event, Handoff


def card_revision(message_key: str) -> int:
    """Keys like "ae_card:42:3" name the revision the card was posted for."""
    tail = message_key.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def render_snapshot(payload: str | None) -> Message:
    """A message rendered when it was owed (the weekly agenda), posted as it was."""
    data = json.loads(payload or "{}")
    return Message(data.get("text", ""), data.get("blocks", []))


def render_view(view: str, *, handoff: Handoff, event: Event | None, message_key: str, viewer: Viewer,
                payload: str | None = None) -> Message | None:
    if view == "ae_card":
        return cards.render_ae_card(handoff, viewer, card_revision(message_key), event)
    if view == "sdr_card":
        return cards.render_sdr_card(handoff, viewer)
    if view == "notice_accepted":
        return cards.render_notice_accepted(handoff, viewer, event)
    if view == "notice_rejected":
        return cards.render_notice_rejected(handoff, viewer, card_revision(message_key))
    if view == "notice_coaching":
        return cards.render_notice_coaching(handoff, event)
    if view == "notice_withdrawn":
        return cards.render_notice_withdrawn(handoff, viewer)
    if view == "notice_reassigned":
        return cards.render_notice_reassigned(handoff, viewer, event)
    if view == "notice_outcome":
        return reminders.render_notice_outcome(handoff, event, viewer.tz)
    if view == "announcement":
        return reminders.render_announcement(handoff, viewer.tz)
    if view == "thread_note":
        return reminders.render_thread_note(handoff, event, viewer.tz)
    if view == "reminder":
        return reminders.render_reminder(handoff, Reminder.from_payload(json.loads(payload or "{}")), viewer.user_id,
                                         viewer.tz)
    if view == "reminder_settled":
        return reminders.render_reminder_settled(handoff, Reminder.from_payload(json.loads(payload or "{}")), event,
                                                 viewer.user_id, viewer.tz)
    if view == "notice_meeting":
        return reminders.render_notice_meeting(handoff, event, payload, viewer.user_id, viewer.tz)
    raise KeyError(f"unknown view {view!r}")
