"""Reminders, the channel announcement and its thread notes.

A reminder is rendered when delivered; one whose matter was settled meanwhile
renders as None and is skipped, so a settled item stops being chased at once.
"""
from __future__ import annotations

import json
from datetime import datetime, timedelta

from slack_sdk.models.blocks import ActionsBlock, ButtonElement, ContextBlock, SectionBlock
from slack_sdk.models.blocks.basic_components import MarkdownTextObject

from bot.core.handoff import MEETING_MINUTES, MEETING_OUTCOMES, State, short_id
from bot.render.cards import ACCEPT, REASSIGN, REJECT, _facts_line, button_value, meeting_line, status_line
from bot.render.text import Message, clip, escape, local_time, mention
from storage.models import AuditEvent, Handoff

OUTCOME = "handoff_outcome"
CLOSE = "handoff_close"
KEEP = "handoff_keep"


def _md(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=clip(text, 3000))


def _name(h: Handoff) -> str:
    return f"*{short_id(h.id or 0)} {escape(h.company)}*"


def still_owed(kind: str, key: str, h: Handoff) -> bool:
    """Whether what the reminder asks for is still owed (keys carry the revision or meeting they are about)."""
    if kind in ("heads_up", "overdue", "escalation"):
        return h.state == State.PENDING and f":r{h.revision}:" in key
    meeting = f":m{int(h.meeting_start.timestamp())}:" if h.meeting_start else "-"
    if kind in ("meeting_over", "outcome_missing"):
        return h.state == State.ACCEPTED and h.meeting_outcome is None and meeting in key
    if kind in ("rebook", "close_or_keep"):
        return h.state == State.ACCEPTED and h.meeting_outcome == "no_show" and meeting in key
    if kind == "next_step_overdue":
        due = f":ns{int(h.next_step_due.timestamp())}" if h.next_step_due else "-"
        return h.state == State.ACCEPTED and key.endswith(due)
    return True


def _auto_reassigned(payload: dict, h: Handoff) -> bool:
    """An escalation whose own tick handed the handoff to the next AE: still news for the manager and channel."""
    to = payload.get("reassign_to")
    return (payload["kind"] == "escalation" and bool(to) and h.state == State.PENDING and h.ae_id == to
            and f":r{h.revision - 1}:" in payload["key"])


def render_reminder(h: Handoff, payload: dict, viewer_id: str, tz: str, now: datetime) -> Message | None:
    kind, key = payload["kind"], payload["key"]
    reassigned = _auto_reassigned(payload, h)
    if not (still_owed(kind, key, h) or reassigned):
        return None
    since = datetime.fromisoformat(payload["since"])
    deadline = datetime.fromisoformat(payload["deadline"]) if payload.get("deadline") else None
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
            text = (f"🚨 Escalation: {_name(h)} from {mention(h.sdr_id)} waited for {mention(payload.get('ae'))} to "
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
        ended = h.meeting_start + timedelta(minutes=MEETING_MINUTES.get(h.meeting_kind or "", 30)) \
            if h.meeting_start else since
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


def render_thread_note(h: Handoff, event: AuditEvent | None, tz: str) -> Message:
    if event is None:
        return Message(f"{short_id(h.id or 0)} changed.")
    who = mention(event.actor)
    detail = json.loads(event.detail)
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


def render_notice_outcome(h: Handoff, event: AuditEvent | None, tz: str) -> Message:
    who = mention(event.actor if event else h.outcome_by)
    if h.state == State.CLOSED:
        text = f"🗄️ {who} closed {_name(h)}."
    else:
        text = f"📝 {who} updated {_name(h)}: {escape(event.reason if event else '')}"
        if h.completed_at:
            text += "\n🏁 The handoff is complete: accepted, met, and the next step is set."
    return Message(clip(text, 3000), [SectionBlock(text=_md(text)).to_dict()])
