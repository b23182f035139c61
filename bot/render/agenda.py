"""The weekly SDR–sales sync agenda as Slack messages: the channel post, then thread continuations.

Slack allows at most 50 blocks a message and 3,000 characters a section (2,000 a field), so the
agenda is cut into messages; a part that spills over repeats its title in the next one.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, SectionBlock
from slack_sdk.models.blocks.basic_components import MarkdownTextObject

from bot.core.agenda import ActionItem, Agenda, Numbers, week_of
from bot.core.handoff import HANDOFF_TYPES, STATE_LABELS, Handoff, State, short_id
from bot.render.text import (
    FIELD_TEXT_MAX,
    HEADER_MAX,
    MESSAGE_TEXT_MAX,
    SECTION_TEXT_MAX,
    Message,
    clip,
    escape,
    mention,
)
from bot.core.teams import TeamPolicy

MAX_BLOCKS = 50
TITLE = "SDR–sales sync"
FEEDBACK_MAX = 1200  # a rejection's feedback, escaped; the card has the whole text
NEXT_STEP_MAX = 400
COMPANY_MAX = 200
_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")


def _user(text: str | None, limit: int) -> str:
    """User text escaped, then cut without leaving half an entity (escaping can grow it 5×)."""
    escaped = escape(text)
    if len(escaped) <= limit:
        return escaped
    return _PARTIAL_ENTITY.sub("", escaped[: limit - 1]) + "…"


def _md(text: str, limit: int = SECTION_TEXT_MAX) -> MarkdownTextObject:
    return MarkdownTextObject(text=clip(text, limit))


def _section(text: str) -> SectionBlock:
    return SectionBlock(text=_md(text))


def _when(at: datetime | None, tz: str) -> str:
    if at is None:
        return "no date"
    return at.astimezone(ZoneInfo(tz)).strftime("%a %d %b %H:%M %Z")


def _day(at: datetime | None, tz: str) -> str:
    if at is None:
        return "no date"
    return at.astimezone(ZoneInfo(tz)).strftime("%a %d %b")


def _hours(amount: timedelta) -> str:
    hours = amount.total_seconds() / 3600
    if hours < 1:
        return f"{round(hours * 60)}m"
    return f"{hours:.0f}h" if hours >= 10 else f"{hours:.1f}".rstrip("0").rstrip(".") + "h"


def _name(h: Handoff) -> str:
    return f"{short_id(h.id or 0)} *{_user(h.company, COMPANY_MAX)}*"


def _state(h: Handoff) -> str:
    try:
        return STATE_LABELS[State(h.state)]
    except ValueError:
        return h.state


def _pct(part: int, whole: int, rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.0%} ({part} of {whole})"


def _packed(lines: Iterable[str], head: str = "") -> list[SectionBlock]:
    """Lines joined into as few sections as fit in Slack's 3,000 characters."""
    blocks: list[SectionBlock] = []
    current = head
    for line in lines:
        line = clip(line, SECTION_TEXT_MAX - len(head) - 1)
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > SECTION_TEXT_MAX and current and current != head:
            blocks.append(_section(current))
            current = f"{head}\n{line}" if head else line
        else:
            current = candidate
    if current and current != head:
        blocks.append(_section(current))
    return blocks


# --- the parts: (title, body blocks, what to say when empty) --------------------


def _created(agenda: Agenda, tz: str) -> list[SectionBlock]:
    blocks: list[SectionBlock] = []
    for sdr, handoffs in sorted(agenda.created_by_sdr.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        lines = (f"• {_name(h)} → {mention(h.ae_id)} · {HANDOFF_TYPES.get(h.handoff_type, h.handoff_type)}"
                 f" · {_state(h)} · {_day(h.created_at, tz)}" for h in handoffs)
        blocks.extend(_packed(lines, head=f"{mention(sdr)} · {len(handoffs)}"))
    return blocks


def _waiting(agenda: Agenda, tz: str) -> list[SectionBlock]:
    blocks = []
    for w in agenda.waiting:
        h = w.handoff
        flag = "🔴" if w.overdue else ("🟠" if w.sla_state.startswith("due") else "🟢")
        deadline = f" (deadline {_when(w.deadline, tz)})" if w.deadline else ""
        blocks.append(_section(
            f"{flag} {_name(h)} · waiting for {mention(h.ae_id)} from {mention(h.sdr_id)}\n"
            f"Waiting {_hours(w.age)} of working time · *{w.sla_state}*{deadline}"))
    return blocks


def _meetings(agenda: Agenda, tz: str) -> list[SectionBlock]:
    blocks = []
    for h in agenda.upcoming_meetings:
        pending = " · ⏳ not accepted yet" if h.state == State.PENDING else ""
        blocks.append(_section(
            f"📅 *{_when(h.meeting_start, tz)}* · {_name(h)} · {HANDOFF_TYPES.get(h.handoff_type, h.handoff_type)}"
            f" · {mention(h.sdr_id)} with {mention(h.ae_id)}{pending}"))
    return blocks


def _pipeline(agenda: Agenda, tz: str) -> list[SectionBlock]:
    blocks = []
    for p in agenda.pipeline:
        h = p.handoff
        flag = "🔴 *overdue* · " if p.overdue else ""
        owner = h.next_step_owner or h.ae_id
        blocks.append(_section(
            f"{flag}*{_day(h.next_step_due, tz)}* · {_name(h)} · {mention(owner)}\n"
            f"Next step: {_user(h.next_step, NEXT_STEP_MAX)}"))
    return blocks


def _no_shows(agenda: Agenda, tz: str) -> list[SectionBlock]:
    return [_section(f"👻 {_name(h)} · meeting {_when(h.meeting_start, tz)} · {mention(h.sdr_id)} to rebook"
                     f" with {mention(h.ae_id)}")
            for h in agenda.no_shows]


def _rejections(agenda: Agenda, tz: str) -> list[SectionBlock]:
    blocks = []
    for r in agenda.rejections:
        feedback = _user(r.feedback, FEEDBACK_MAX) or "(no feedback)"
        blocks.append(_section(
            f"❌ {_name(r.handoff)} · from {mention(r.handoff.sdr_id)} · rejected by {mention(r.by)}"
            f" {_day(r.at, tz)} · *{_user(r.reason, 200)}*\n> {feedback.replace(chr(10), chr(10) + '> ')}"))
    return blocks


def _numbers(n: Numbers) -> list[SectionBlock]:
    median = "—" if n.median_hours_to_accept is None else f"{n.median_hours_to_accept:.1f} working hours"
    fields = [
        f"*Handoffs*\n{n.submitted}",
        f"*Acceptance rate*\n{_pct(n.accepted, n.accepted + n.rejected, n.acceptance_rate)}",
        f"*Median time to accept*\n{median}",
        f"*SLA breaches*\n{n.sla_breaches}",
        f"*No-show rate*\n{_pct(n.no_shows, n.meetings_with_outcome, n.no_show_rate)}",
    ]
    return [SectionBlock(fields=[_md(f, FIELD_TEXT_MAX) for f in fields])]


def _item_line(item: ActionItem, tz: str) -> str:
    h = item.handoff
    late = " · 🔴 *overdue*" if item.overdue else ""
    if item.what == "accept":
        return f"• Accept or reject {_name(h)} · by {_when(item.due, tz)}{late}"
    if item.what == "rebook":
        return f"• Rebook the no-show {_name(h)} with {mention(h.ae_id)} · as soon as possible"
    return f"• {_name(h)}: {_user(item.text, NEXT_STEP_MAX)} · by {_day(item.due, tz)}{late}"


def _actions(agenda: Agenda, tz: str) -> list[SectionBlock]:
    owners: dict[str, list[ActionItem]] = {}
    for item in agenda.action_items:
        owners.setdefault(item.owner, []).append(item)
    blocks: list[SectionBlock] = []
    for owner, items in owners.items():
        blocks.extend(_packed((_item_line(i, tz) for i in items), head=mention(owner)))
    return blocks


# --- assembly -------------------------------------------------------------------


def render_agenda(team: TeamPolicy, agenda: Agenda, now: datetime) -> list[Message]:
    """The agenda as messages of at most 50 blocks: the first is the channel post, the rest go in its thread."""
    tz = team.tz
    week = week_of(team, now)
    title = f"{TITLE} · {team.name} · week of {week:%d %b %Y}"
    zone_now = now.astimezone(ZoneInfo(tz))
    n = agenda.numbers
    parts: list[tuple[str, list[SectionBlock], str]] = [
        (f"🆕 *Handoffs created this week* ({n.submitted})", _created(agenda, tz), "No new handoffs this week."),
        (f"⏳ *Waiting for acceptance* ({len(agenda.waiting)})", _waiting(agenda, tz), "No handoffs waiting. 🎉"),
        (f"📅 *Meetings and IQMs in the coming week* ({len(agenda.upcoming_meetings)})", _meetings(agenda, tz),
         "No meetings booked for the coming week."),
        (f"📈 *Pipeline by next-step date* ({len(agenda.pipeline)})", _pipeline(agenda, tz),
         "Nothing in the pipeline with a next step."),
        (f"👻 *No-shows to rebook* ({len(agenda.no_shows)})", _no_shows(agenda, tz), "No no-shows to rebook. 🎉"),
        (f"❌ *Rejections and feedback* ({len(agenda.rejections)}): alignment on messaging",
         _rejections(agenda, tz), "No rejections this week."),
        ("📊 *This week's numbers*", _numbers(n), ""),
        (f"✅ *Action items* ({len(agenda.action_items)})", _actions(agenda, tz), "No open action items."),
    ]

    messages: list[list[Block | None]] = [[
        HeaderBlock(text=clip(title, HEADER_MAX)),
        ContextBlock(elements=[_md(f"The 7 days to {zone_now:%a %d %b %H:%M %Z} and the 7 ahead · times in {tz}")]),
    ]]
    for heading, body, empty in parts:
        if not body:
            body = [_section(f"{heading}\n{empty}")]
            heading = ""
        current = messages[-1]
        # Keep a title with at least its first entry.
        if len(current) + (2 if heading else 1) > MAX_BLOCKS:
            current = [None]
            messages.append(current)
        if heading:
            current.append(_section(heading))
        for block in body:
            if len(current) + 1 > MAX_BLOCKS:
                current = [None, _section(f"{heading} (continued)")] if heading else [None]
                messages.append(current)
            current.append(block)

    total = len(messages)
    summary = (f"new handoffs {n.submitted} · waiting {len(agenda.waiting)} · meetings coming"
               f" {len(agenda.upcoming_meetings)} · no-shows to rebook {len(agenda.no_shows)}")
    out: list[Message] = []
    for index, blocks in enumerate(messages, start=1):
        if index == 1:
            text = f"{escape(title)}: {summary}"
        else:
            text = f"{escape(title)} (continued {index}/{total})"
            blocks[0] = ContextBlock(elements=[_md(text)])
        # to_dict() validates each block against Slack's limits.
        out.append(Message(clip(text, MESSAGE_TEXT_MAX), [b.to_dict() for b in blocks if b is not None]))
    return out
