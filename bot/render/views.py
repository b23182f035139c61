"""The outbox's view names, each rendered from the record at delivery time."""
from __future__ import annotations

from bot.render import cards
from bot.render.cards import Viewer
from bot.render.text import Message
from storage.models import AuditEvent, Handoff


def card_revision(message_key: str) -> int:
    """Keys like "ae_card:42:3" name the revision the card was posted for."""
    tail = message_key.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else 0


def render_view(view: str, *, handoff: Handoff, event: AuditEvent | None, message_key: str, viewer: Viewer) -> Message:
    if view == "ae_card":
        return cards.render_ae_card(handoff, viewer, card_revision(message_key))
    if view == "sdr_card":
        return cards.render_sdr_card(handoff, viewer)
    if view == "notice_accepted":
        return cards.render_notice_accepted(handoff, viewer, event)
    if view == "notice_rejected":
        return cards.render_notice_rejected(handoff, viewer, card_revision(message_key))
    if view == "notice_withdrawn":
        return cards.render_notice_withdrawn(handoff, viewer)
    if view == "notice_reassigned":
        return cards.render_notice_reassigned(handoff, viewer, event)
    raise KeyError(f"unknown view {view!r}")
