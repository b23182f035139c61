"""The messages people get: the AE's card, the SDR's card, and the notices."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    SectionBlock,
)
from slack_sdk.models.blocks.basic_components import MarkdownTextObject

from bot.core.handoff import (
    ENTERPRISE_NEEDS,
    HANDOFF_TYPES,
    MEETING_KINDS,
    MEETING_MINUTES,
    rejection_label,
    SOURCES,
    Event,
    Handoff,
    State,
    short_id,
)
from bot.core.form import direct_pass_reasons
from bot.core.refs import HandoffRef
from bot.render.modals import QUALIFICATION
from bot.render.text import (
    FIELD_TEXT_MAX,
    HEADER_MAX,
    SECTION_TEXT_MAX,
    Message,
    clip,
    date_token,
    escape,
    mention,
)

ACCEPT = "handoff_accept"
REJECT = "handoff_reject"
REASSIGN = "handoff_reassign"
REVISE = "handoff_revise"
WITHDRAW = "handoff_withdraw"


@dataclass(frozen=True)
class Viewer:
    """Who the message is for, so times read in their own zone."""

    user_id: str
    tz: str
    now: datetime | None = None  # when rendered: the outcome buttons appear once the meeting is over


def button_value(handoff: Handoff, revision: int | None = None) -> str:
    return HandoffRef(handoff.id, revision or handoff.revision).encode()


def _md(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=clip(text, SECTION_TEXT_MAX))


def _title(handoff: Handoff) -> str:
    return f"{short_id(handoff.id or 0)} {handoff.company}"


def _facts_line(h: Handoff) -> str:
    parts = [HANDOFF_TYPES.get(h.handoff_type, h.handoff_type), SOURCES.get(h.source, h.source)]
    if h.segment:
        parts.append(f"{h.segment} ({h.employee_count:,} employees)")
    if h.region:
        parts.append(escape(h.region))
    return " · ".join(parts)


def meeting_line(h: Handoff, tz: str) -> str:
    if h.meeting_start is None:
        return "*Meeting:* none (direct pass)"
    text = f"*Meeting:* {date_token(h.meeting_start, tz)}"
    if h.meeting_kind:
        text += f" ({MEETING_MINUTES[h.meeting_kind]} min) · {MEETING_KINDS[h.meeting_kind]}"
    if h.meeting_link:
        text += f" · <{h.meeting_link}|join>"
    attendees = h.attendees
    if attendees:
        text += " · with " + ", ".join(mention(a) for a in attendees)
    return text


def status_line(h: Handoff, tz: str) -> str:
    """Where the handoff stands: who did what, when (each reader sees the time in their own zone)."""
    if h.state == State.PENDING:
        return f"⏳ Waiting for {mention(h.ae_id)} to accept · submitted {date_token(h.created_at, tz)}"
    if h.state == State.ACCEPTED:
        return f"✅ Accepted by {mention(h.decided_by)} · {date_token(h.decided_at, tz)}"
    if h.state == State.REJECTED:
        return (f"❌ Rejected by {mention(h.decided_by)} · {date_token(h.decided_at, tz)} · "
                f"{rejection_label(h)}")
    if h.state == State.WITHDRAWN:
        return f"↩️ Withdrawn by {mention(h.decided_by)} · {date_token(h.decided_at, tz)}"
    if h.state == State.CLOSED:
        return f"🗄️ Closed by {mention(h.outcome_by)} · {date_token(h.outcome_at, tz)}"
    return h.state


def _record_blocks(h: Handoff, tz: str) -> list:
    """The prospect and the qualification, as the AE needs to read them."""
    blocks: list = [SectionBlock(text=_md(meeting_line(h, tz)))]
    reasons = direct_pass_reasons(h.seats, h.enterprise_needs)
    if reasons:
        blocks.append(SectionBlock(text=_md("⚡ *Meets the direct-pass rules:* " + ", ".join(reasons))))
    contact = escape(h.contact_name) + (f", {escape(h.contact_title)}" if h.contact_title else "")
    fields = [f"*Contact*\n{contact}"]
    if h.contact_email:
        fields.append(f"*Email*\n{escape(h.contact_email)}")
    if h.crm_url:
        fields.append(f"*CRM*\n<{h.crm_url}|open record>")
    if h.seats is not None:
        fields.append(f"*Seats*\n{h.seats:,}")
    needs = h.enterprise_needs
    if needs:
        fields.append("*Enterprise needs*\n" + ", ".join(ENTERPRISE_NEEDS.get(n, n) for n in needs))
    blocks.append(SectionBlock(fields=[_md(clip(f, FIELD_TEXT_MAX)) for f in fields[:10]]))
    for name, label, _placeholder, _optional in QUALIFICATION:
        value = getattr(h, name)
        if value:
            blocks.append(SectionBlock(text=_md(f"*{label}*\n{escape(value)}")))
    if h.agenda:
        blocks.append(SectionBlock(text=_md(f"*Proposed agenda*\n{escape(h.agenda)}")))
    if h.notes:
        blocks.append(SectionBlock(text=_md(f"*Notes*\n{escape(h.notes)}")))
    return blocks


def render_ae_card(h: Handoff, viewer: Viewer, card_revision: int, event: Event | None = None) -> Message:
    current = card_revision == h.revision and viewer.user_id == h.ae_id
    title = _title(h)
    blocks: list = [
        HeaderBlock(text=clip(f"🤝 Handoff {title}", HEADER_MAX)),
        SectionBlock(text=_md(f"{mention(h.sdr_id)} handed you *{escape(h.company)}*\n{_facts_line(h)}")),
        *_record_blocks(h, viewer.tz),
        DividerBlock(),
    ]
    if not current:
        # Who moved it on, and when (the change that closed this card, when that is what is redrawing it).
        moved = event is not None and event.action in ("reassign", "revise")
        by = f" by {mention(event.actor)} · {date_token(event.at, viewer.tz)}" if event and moved else ""
        when = f" · {date_token(event.at, viewer.tz)}" if event and moved else ""
        if h.ae_id != viewer.user_id:
            note = f"➡️ Reassigned to {mention(h.ae_id)}{by}: this card is closed."
        else:
            note = f"✏️ The SDR revised this handoff{when}: see the newer card."
        if h.state == State.WITHDRAWN:
            note = status_line(h, viewer.tz)
        blocks.append(ContextBlock(elements=[_md(note)]))
    else:
        blocks.append(ContextBlock(elements=[_md(status_line(h, viewer.tz))]))
        if h.state == State.REJECTED and h.rejection_feedback:
            blocks.append(SectionBlock(text=_md(f"*Your feedback:* {escape(h.rejection_feedback)}")))
        if h.state == State.PENDING:
            value = button_value(h)
            blocks.append(ActionsBlock(block_id="decision", elements=[
                ButtonElement(text="Accept", action_id=ACCEPT, value=value, style="primary"),
                ButtonElement(text="Reject", action_id=REJECT, value=value, style="danger"),
                ButtonElement(text="Reassign", action_id=REASSIGN, value=value),
            ]))
        elif h.state == State.ACCEPTED:
            blocks.extend(_after_meeting_blocks(h, viewer))
    text = f"{mention(h.sdr_id)} handed you {short_id(h.id or 0)} {escape(h.company)}: {status_line(h, viewer.tz)}"
    return Message(clip(text, 3000), [b.to_dict() for b in blocks])


def meeting_over(h: Handoff, now: datetime | None) -> bool:
    end = h.meeting_end
    return end is not None and now is not None and now >= end


def _after_meeting_blocks(h: Handoff, viewer: Viewer) -> list:
    """Once the meeting is over: its outcome and the next step, and the button to record them."""
    from bot.render.reminders import OUTCOME, outcome_line

    blocks: list = []
    line = outcome_line(h, viewer.tz)
    if line:
        blocks.append(ContextBlock(elements=[_md(line.lstrip(" ·"))]))
    if h.completed_at is None and (meeting_over(h, viewer.now) or h.meeting_outcome or h.meeting_start is None):
        label = "Record outcome" if h.meeting_outcome is None and h.meeting_start else "Update next step"
        blocks.append(ActionsBlock(block_id="after_meeting", elements=[
            ButtonElement(text=label, action_id=OUTCOME, value=button_value(h), style="primary")]))
    return blocks


def render_sdr_card(h: Handoff, viewer: Viewer) -> Message:
    blocks: list = [
        HeaderBlock(text=clip(f"📤 You handed off {_title(h)}", HEADER_MAX)),
        SectionBlock(text=_md(f"To {mention(h.ae_id)} · {_facts_line(h)}")),
        SectionBlock(text=_md(meeting_line(h, viewer.tz))),
        ContextBlock(elements=[_md(status_line(h, viewer.tz))]),
    ]
    if h.state == State.ACCEPTED:
        blocks.extend(_after_meeting_blocks(h, viewer))
    if h.state in (State.PENDING, State.REJECTED):
        blocks.append(ActionsBlock(block_id="sdr", elements=_sdr_buttons(h)))
    text = f"You handed off {short_id(h.id or 0)} {escape(h.company)} to {mention(h.ae_id)}: {status_line(h, viewer.tz)}"
    return Message(clip(text, 3000), [b.to_dict() for b in blocks])


def _sdr_buttons(h: Handoff) -> list[ButtonElement]:
    value = button_value(h)
    buttons = []
    if h.state == State.REJECTED:
        buttons.append(ButtonElement(text="Revise and resubmit", action_id=REVISE, value=value, style="primary"))
    buttons.append(ButtonElement(
        text="Withdraw", action_id=WITHDRAW, value=value,
        confirm=ConfirmObject(title="Withdraw this handoff?", text=f"{short_id(h.id or 0)} will be closed and the AE told.",
                              confirm="Withdraw", deny="Keep it")))
    return buttons


def render_notice_accepted(h: Handoff, viewer: Viewer, event: Event | None) -> Message:
    at = event.at if event else h.decided_at
    who = event.actor if event else h.decided_by
    text = f"✅ {mention(who)} accepted *{short_id(h.id or 0)} {escape(h.company)}* · {date_token(at, viewer.tz)}"
    return Message(clip(text, 3000), [SectionBlock(text=_md(text)).to_dict()])


def render_notice_rejected(h: Handoff, viewer: Viewer, card_revision: int) -> Message:
    """The rejection as coaching; its buttons live while this revision is the rejected one."""
    reason = rejection_label(h)
    live = h.state == State.REJECTED and h.revision == card_revision
    head = f"❌ {mention(h.decided_by)} rejected *{short_id(h.id or 0)} {escape(h.company)}*"
    blocks: list = [SectionBlock(text=_md(head))]
    if live or h.revision == card_revision:
        blocks.append(SectionBlock(text=_md(f"*Reason:* {reason}\n*Feedback:* {escape(h.rejection_feedback)}")))
    if live:
        blocks.append(ActionsBlock(block_id="rejected", elements=_sdr_buttons(h)))
    elif h.state == State.WITHDRAWN:
        blocks.append(ContextBlock(elements=[_md(status_line(h, viewer.tz))]))
    else:
        blocks.append(ContextBlock(elements=[_md(f"✏️ Revised and resubmitted · now: {status_line(h, viewer.tz)}")]))
    return Message(clip(f"{head}: {reason}", 3000), [b.to_dict() for b in blocks])


def render_notice_coaching(h: Handoff, event: Event | None) -> Message:
    """The rejection as the SDR's manager reads it: the AE's words, as they were given."""
    said = escape(event.reason) if event and event.reason else "no feedback recorded"
    who = mention(event.actor if event else h.decided_by)
    text = (f"🎓 For coaching: {who} rejected *{short_id(h.id or 0)} {escape(h.company)}* from "
            f"{mention(h.sdr_id)}.\n> {said}")
    return Message(clip(text, 3000), [SectionBlock(text=_md(text)).to_dict()])


def render_notice_withdrawn(h: Handoff, viewer: Viewer) -> Message:
    text = f"↩️ {mention(h.decided_by)} withdrew *{short_id(h.id or 0)} {escape(h.company)}*. Nothing more to do."
    return Message(text, [SectionBlock(text=_md(text)).to_dict()])


def render_notice_reassigned(h: Handoff, viewer: Viewer, event: Event | None) -> Message:
    detail = event.detail if event else {}
    text = (f"➡️ {mention(event.actor if event else None)} reassigned *{short_id(h.id or 0)} {escape(h.company)}* "
            f"from {mention(detail.get('from_ae'))} to {mention(detail.get('to_ae'))}")
    if event and event.reason:
        text += f"\n> {escape(event.reason)}"
    return Message(clip(text, 3000), [SectionBlock(text=_md(text)).to_dict()])
