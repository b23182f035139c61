"""Reminders, the channel announcement and its thread notes.

A reminder is rendered when delivered; one whose matter was settled meanwhile
renders as None and is skipped, so a settled item stops being chased at once.
"""
from __future__ import annotations

import json
from datetime import datetime, timezone

from slack_sdk.models.blocks import ActionsBlock, ButtonElement, ContextBlock, SectionBlock
from slack_sdk.models.blocks.basic_components import MarkdownTextObject

from bot.core.chase import Reminder, auto_reassigned, still_owed
from bot.core.handoff import MEETING_OUTCOMES, Event, Handoff, State, rejection_label, short_id
from bot.render.cards import (
    ACCEPT,
    REASSIGN,
    REJECT,
    _facts_line,
    button_value,
    meeting_line,
    status_line,
)
from bot.render.text import Message, clip, date_token, escape, mention

OUTCOME = "handoff_outcome"
CLOSE = "handoff_close"
KEEP = "handoff_keep"


def _md(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=clip(text, 3000))


def _name(h: Handoff) -> str:
    return f"*{short_id(h.id or 0)} {escape(h.company)}*"


def render_reminder(h: Handoff, r: Reminder, viewer_id: str, tz: str) -> Message | None:
    """None when its matter was settled meanwhile: the row is skipped, not posted."""
    if not (still_owed(r, h) or auto_reassigned(r, h)):
        return None
    said = _reminder_says(h, r, viewer_id, tz)
    if said is None:
        return None
    text, buttons = said
    blocks: list = [SectionBlock(text=_md(text))]
    if buttons:
        blocks.append(ActionsBlock(block_id="reminder", elements=buttons))
    # An escalation in the channel's thread is for the whole channel to see.
    broadcast = r.kind == "escalation" and viewer_id[:1] not in "UW"
    return Message(clip(text, 3000), [b.to_dict() for b in blocks], reply_broadcast=broadcast)


def render_reminder_settled(h: Handoff, r: Reminder, event: Event | None, viewer_id: str, tz: str) -> Message | None:
    """A posted reminder once its matter is settled: what it asked, then who settled it and when; no buttons."""
    said = _reminder_says(h, r, viewer_id, tz)
    if said is None:
        return None
    text = said[0]
    done = settled_line(h, event, tz)
    blocks = [SectionBlock(text=_md(text)), ContextBlock(elements=[_md(done)])]
    return Message(clip(f"{text} {done}", 3000), [b.to_dict() for b in blocks])


def settled_line(h: Handoff, event: Event | None, tz: str) -> str:
    """Who did what, and when, as the settled reminder shows it."""
    if event is None:
        return status_line(h, tz)
    who, when = mention(event.actor), date_token(event.at, tz)
    lines = {
        "accept": f"✅ Accepted by {who} · {when}",
        "reject": f"❌ Rejected by {who} · {when}",
        "revise": f"✏️ Revised and resubmitted by {who} · {when}",
        "withdraw": f"↩️ Withdrawn by {who} · {when}",
        "reassign": f"➡️ Reassigned to {mention(event.detail.get('to_ae'))} by {who} · {when}",
        "close": f"🗄️ Closed by {who} · {when}",
        "keep": f"🔁 Kept open by {who} · {when}",
    }
    if event.action == "outcome":
        if h.meeting_outcome is None and h.meeting_start is not None and h.meeting_start > event.at:
            return f"📅 New time set by {who} · {when}: the meeting is now {date_token(h.meeting_start, tz)}"
        return f"📝 Outcome recorded by {who} · {when}"
    return lines.get(event.action, f"Done by {who} · {when}")


def _reminder_says(h: Handoff, r: Reminder, viewer_id: str, tz: str) -> tuple[str, list[ButtonElement]] | None:
    """A reminder's words, short and to its reader, and the buttons that settle it."""
    kind, deadline = r.kind, r.deadline
    value = button_value(h)
    decide = [ButtonElement(text="Accept", action_id=ACCEPT, value=value, style="primary"),
              ButtonElement(text="Reject", action_id=REJECT, value=value, style="danger")]
    ae = r.ae or h.ae_id  # who owed it when it was sent, even once it has moved on
    if kind == "heads_up":
        return (f"⏰ {_name(h)} from {mention(h.sdr_id)} is waiting for you: accept or reject it, due by "
                f"{date_token(deadline, tz)}.", decide)
    if kind == "overdue":
        return (f"🔴 {_name(h)} is overdue since {date_token(deadline, tz)}: {mention(h.sdr_id)} is waiting for "
                "your accept or reject.", decide)
    if kind == "escalation":
        if r.reassign_to:
            text = (f"🚨 Escalation: {_name(h)} from {mention(h.sdr_id)} waited for {mention(ae)} past its deadline, "
                    f"{date_token(deadline, tz)}: I reassigned it to {mention(r.reassign_to)}.")
        else:
            text = (f"🚨 Escalation: {_name(h)} from {mention(h.sdr_id)} is overdue since "
                    f"{date_token(deadline, tz)}: {mention(ae)} has not accepted it.")
        # A manager can hand it to someone else; the channel just sees it.
        buttons = [ButtonElement(text="Reassign", action_id=REASSIGN, value=value)] if viewer_id[:1] in "UW" else []
        return text, buttons
    if kind == "outcome_missing":
        ended = h.meeting_end or r.since
        return (f"📝 The meeting for {_name(h)} ended {date_token(ended, tz)}: record its outcome and the next step.",
                [ButtonElement(text="Record outcome", action_id=OUTCOME, value=value, style="primary")])
    if kind == "rebook":
        met = datetime.fromtimestamp(r.subject, timezone.utc) if r.subject else h.meeting_start
        return (f"📅 {_name(h)} was a no-show on {date_token(met, tz)}: rebook it and record the new time.",
                [ButtonElement(text="Record new time", action_id=OUTCOME, value=value, style="primary")])
    if kind == "close_or_keep":
        return (f"❓ {_name(h)} has not been rebooked two weeks after its no-show: close it or keep it open?",
                [ButtonElement(text="Close it", action_id=CLOSE, value=value, style="danger"),
                 ButtonElement(text="Keep it", action_id=KEEP, value=value)])
    if kind == "next_step_overdue":
        due = datetime.fromtimestamp(r.subject, timezone.utc) if r.subject else h.next_step_due
        yours = "yours" if viewer_id == h.next_step_owner else mention(h.next_step_owner)
        return (f"⌛ The next step for {_name(h)} was due {date_token(due, tz)}: “{escape(h.next_step)}” "
                f"({yours}).", [ButtonElement(text="Update next step", action_id=OUTCOME, value=value)])
    return None  # meeting_over: the card itself shows the outcome buttons


def render_notice_meeting(h: Handoff, event: Event | None, payload: str | None, viewer_id: str, tz: str) -> Message:
    """For the AE (when someone else acted) and the extra attendees: the meeting they are in, and its time."""
    news = json.loads(payload or "{}").get("news", "accepted")
    meeting = f"Your meeting: {date_token(h.meeting_start, tz)}." if h.meeting_start else ""
    if h.meeting_start and h.meeting_link:
        meeting = meeting[:-1] + f" · <{h.meeting_link}|join>"
    who = mention(event.actor if event else h.decided_by)
    if news == "accepted":
        whose = "for you" if viewer_id == h.ae_id else f"from {mention(h.sdr_id)}"
        text = f"✅ {who} accepted {_name(h)} {whose}. {meeting}"
    elif news == "rebooked":
        text = f"📅 {_name(h)} is rebooked after the no-show. {meeting}"
    else:
        text = f"📅 {_name(h)} has a new time. {meeting}"
    text = text.strip()
    return Message(clip(text, 3000), [SectionBlock(text=_md(text)).to_dict()])


def render_announcement(h: Handoff, tz: str) -> Message:
    text = f"🤝 New handoff {_name(h)}: {mention(h.sdr_id)} → {mention(h.ae_id)}"
    blocks = [
        SectionBlock(text=_md(f"{text}\n{_facts_line(h)}")),
        SectionBlock(text=_md(meeting_line(h, tz))),
        ContextBlock(elements=[_md(status_line(h, tz) + outcome_line(h, tz))]),
    ]
    return Message(clip(text, 3000), [b.to_dict() for b in blocks])


def outcome_line(h: Handoff, tz: str) -> str:
    parts = []
    if h.meeting_outcome:
        parts.append(f"meeting: {MEETING_OUTCOMES[h.meeting_outcome]}")
    if h.next_step:
        due = date_token(h.next_step_due, tz, "{date_short_pretty}")
        parts.append(f"next step: {escape(clip(h.next_step, 200))} by {due} ({mention(h.next_step_owner)})")
    if h.completed_at:
        parts.append("🏁 complete")
    return (" · " + " · ".join(parts)) if parts else ""


def render_thread_note(h: Handoff, event: Event | None, tz: str) -> Message:
    if event is None:
        return Message(f"{short_id(h.id or 0)} changed.")
    who = mention(event.actor)
    detail = event.detail
    texts = {
        "accept": f"✅ {who} accepted it.",
        # The reason, never the feedback: that is coaching, sent to the SDR and their manager by DM.
        "reject": f"❌ Rejected by {who} — {escape(str(detail.get('label') or rejection_label(h)))}",
        "revise": f"✏️ {who} revised and resubmitted it.",
        "withdraw": f"↩️ {who} withdrew it.",
        "reassign": f"➡️ {who} reassigned it to {mention(detail.get('to_ae'))}.",
        "outcome": f"📝 {who} recorded: {outcome_words(event, tz)}",
        "close": f"🗄️ {who} closed it.",
        "keep": f"🔁 {who} kept it open after the no-show; the SDR is reminded to rebook.",
    }
    text = texts.get(event.action, f"{who}: {event.action}")
    if h.completed_at and event.action == "outcome":
        text += " 🏁 The handoff is complete: accepted, met, next step set."
    return Message(clip(text, 3000), [SectionBlock(text=_md(text)).to_dict()])


def render_notice_outcome(h: Handoff, event: Event | None, tz: str) -> Message:
    who = mention(event.actor if event else h.outcome_by)
    if h.state == State.CLOSED:
        text = f"🗄️ {who} closed {_name(h)}."
    else:
        text = f"📝 {who} updated {_name(h)}: {outcome_words(event, tz) if event else ''}"
        if h.completed_at:
            text += "\n🏁 The handoff is complete: accepted, met, and the next step is set."
    return Message(clip(text, 3000), [SectionBlock(text=_md(text)).to_dict()])


def outcome_words(event: Event, tz: str) -> str:
    """What an outcome recorded, its times as date tokens (each reader's own zone); an outcome stored
    before its detail was kept reads as its stored line."""
    detail = event.detail
    outcome = detail.get("outcome")
    if outcome not in MEETING_OUTCOMES:
        return escape(event.reason or "")
    words = MEETING_OUTCOMES[outcome]
    if isinstance(detail.get("meeting_start"), int):
        words += f" to {date_token(datetime.fromtimestamp(detail['meeting_start'], timezone.utc), tz)}"
    if isinstance(detail.get("next_step_due"), int) and detail.get("next_step"):
        due = date_token(datetime.fromtimestamp(detail["next_step_due"], timezone.utc), tz, "{date_short_pretty}")
        words += f"; next step: {escape(str(detail['next_step']))} (by {due})"
    return words
