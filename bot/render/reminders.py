"""Reminders, the channel announcement and its thread notes.

A reminder is rendered when delivered; one whose matter was settled meanwhile
renders as None and is skipped, so a settled item stops being chased at once.
"""
from __future__ import annotations


from slack_sdk.models.blocks import ActionsBlock, ButtonElement, ContextBlock, SectionBlock
from slack_sdk.models.blocks.basic_components import MarkdownTextObject

from bot.core.chase import Reminder, auto_reassigned, still_owed
from bot.core.handoff import MEETING_OUTCOMES, Event, Handoff, State, short_id
from bot.render.cards import ACCEPT, REASSIGN, REJECT, _facts_line, button_value, meeting_line, status_line
from bot.render.text import Message, clip, escape, local_time, mention

OUTCOME = "handoff_outcome"
CLOSE = "handoff_close"
KEEP = "handoff_keep"


def _md(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=clip(text, 3000))


def _name(h: Handoff) -> str:
    return f"*{short_id(h.id or 0)} {escape(h.company)}*"


def render_reminder(h: Handoff, r: Reminder, viewer_id: str, tz: str) -> Message | None:
    """None when its matter was settled meanwhile: the row is skipped, not posted."""
    kind, since, deadline = r.kind, r.since, r.deadline
    reassigned = auto_reassigned(r, h)
    if not (still_owed(r, h) or reassigned):
        return None
    value = button_value(h)
    buttons: list[ButtonElement] = []
    if kind == "heads_up":
        text = (f"⏰ {_name(h)} from {mention(h.sdr_id)} is waiting for you to accept or reject. "
                f"It is due by {local_time(deadline, tz)} (submitted {local_time(h.created_at, tz)}).")
        buttons = [ButtonElement(text="Accept", action_id=ACCEPT, value=value, style="primary"),
                   ButtonElement(text="Reject", action_id=REJECT, value=value, style="danger")]
    elif kind == "overdue":
        text = (f"🔴 {_name(h)} is overdue: {mention(h.ae_id)} owes {mention(h.sdr_id)} an accept or reject "
                f"since {local_time(deadline, tz)}.")
        buttons = [ButtonElement(text="Accept", action_id=ACCEPT, value=value, style="primary"),
                   ButtonElement(text="Reject", action_id=REJECT, value=value, style="danger")]
    elif kind == "escalation":
        if reassigned:
            text = (f"🚨 Escalation: {_name(h)} from {mention(h.sdr_id)} waited for {mention(r.ae)} to "
                    f"accept; overdue since {local_time(deadline, tz)}. I reassigned it to {mention(h.ae_id)}.")
        else:
            text = (f"🚨 Escalation: {_name(h)} from {mention(h.sdr_id)} has waited for {mention(h.ae_id)} to "
                    f"accept since {local_time(h.sla_start or h.created_at, tz)}; overdue since "
                    f"{local_time(deadline, tz)}.")
        if viewer_id[:1] in "UW":  # a manager can hand it to someone else; the channel just sees it
            buttons = [ButtonElement(text="Reassign", action_id=REASSIGN, value=value)]
    elif kind == "meeting_over":
        return None  # the card itself shows the outcome buttons
    elif kind == "outcome_missing":
        ended = h.meeting_end or since
        text = (f"📝 The meeting for {_name(h)} ended {local_time(ended, tz)}: {mention(h.ae_id)} owes its outcome "
                f"(completed, no-show, rescheduled) and the next step, since {local_time(since, tz)}.")
        buttons = [ButtonElement(text="Record outcome", action_id=OUTCOME, value=value, style="primary")]
    elif kind == "rebook":
        text = (f"📅 {_name(h)} was a no-show on {local_time(h.meeting_start, tz)}: {mention(h.sdr_id)}, please "
                "rebook it and record the new time.")
        buttons = [ButtonElement(text="Record new time", action_id=OUTCOME, value=value, style="primary")]
    elif kind == "close_or_keep":
        text = (f"❓ {_name(h)} has not been rebooked two weeks after its no-show. {mention(h.ae_id)}, close it "
                "or keep it open?")
        buttons = [ButtonElement(text="Close it", action_id=CLOSE, value=value, style="danger"),
                   ButtonElement(text="Keep it", action_id=KEEP, value=value)]
    elif kind == "next_step_overdue":
        text = (f"⌛ The next step for {_name(h)} was due {local_time(h.next_step_due, tz)}: "
                f"“{escape(h.next_step)}” (owner {mention(h.next_step_owner)}).")
        buttons = [ButtonElement(text="Update next step", action_id=OUTCOME, value=value)]
    else:
        return None
    blocks: list = [SectionBlock(text=_md(text))]
    if buttons:
        blocks.append(ActionsBlock(block_id="reminder", elements=buttons))
    return Message(clip(text, 3000), [b.to_dict() for b in blocks])


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
        parts.append(f"next step: {escape(clip(h.next_step, 200))} by {local_time(h.next_step_due, tz)} "
                     f"({mention(h.next_step_owner)})")
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
        "reject": f"❌ {who} rejected it: {escape(event.reason or '')}",
        "revise": f"✏️ {who} revised and resubmitted it.",
        "withdraw": f"↩️ {who} withdrew it.",
        "reassign": f"➡️ {who} reassigned it to {mention(detail.get('to_ae'))}.",
        "outcome": f"📝 {who} recorded: {escape(event.reason or '')}",
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
        text = f"📝 {who} updated {_name(h)}: {escape(event.reason if event else '')}"
        if h.completed_at:
            text += "\n🏁 The handoff is complete: accepted, met, and the next step is set."
    return Message(clip(text, 3000), [SectionBlock(text=_md(text)).to_dict()])
