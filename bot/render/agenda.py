"""The weekly SDR–sales sync agenda as one Slack message.

Slack allows at most 50 blocks a message and 3,000 characters a section (2,000 a field). An agenda
that would need more is summarised, not split into a wall of messages: each part shows its first
entries and a line "…and N more" pointing at `/handoff list`. Parts with nothing in them share one
line. Times are Slack date tokens, so each reader sees their own zone.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import Block, ContextBlock, HeaderBlock, SectionBlock
from slack_sdk.models.blocks.basic_components import MarkdownTextObject

from bot.core.agenda import ActionItem, Agenda, Numbers, week_of, working_duration
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
ACTIONS = "✅ *Action items*"
TITLE = "SDR–sales sync"
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
    """A date and time each reader sees in their own zone; the fallback (old clients) in the team's."""
    if at is None:
        return "no date"
    fallback = at.astimezone(ZoneInfo(tz)).strftime("%a %d %b %H:%M %Z")
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} {{time}}|{fallback}>"


def _day(at: datetime | None, tz: str) -> str:
    if at is None:
        return "no date"
    fallback = at.astimezone(ZoneInfo(tz)).strftime("%a %d %b")
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}}|{fallback}>"


def _name(h: Handoff) -> str:
    return f"{short_id(h.id or 0)} *{_user(h.company, COMPANY_MAX)}*"


def _state(h: Handoff) -> str:
    try:
        return STATE_LABELS[State(h.state)]
    except ValueError:
        return h.state


def _pct(part: int, whole: int, rate: float | None) -> str:
    return "—" if rate is None else f"{rate:.0%} ({part} of {whole})"


Entry = tuple[SectionBlock, int]  # a block and how many agenda items it shows


def _packed(lines: Iterable[str], head: str = "") -> list[Entry]:
    """Lines joined into as few sections as fit in Slack's 3,000 characters."""
    entries: list[Entry] = []
    current, count = head, 0
    for line in lines:
        line = clip(line, SECTION_TEXT_MAX - len(head) - 1)
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > SECTION_TEXT_MAX and count:
            entries.append((_section(current), count))
            current, count = (f"{head}\n{line}" if head else line), 1
        else:
            current, count = candidate, count + 1
    if count:
        entries.append((_section(current), count))
    return entries


def _one_each(blocks: Iterable[SectionBlock]) -> list[Entry]:
    return [(b, 1) for b in blocks]


# --- the parts ------------------------------------------------------------------


def _created(agenda: Agenda, tz: str) -> list[Entry]:
    entries: list[Entry] = []
    for sdr, handoffs in sorted(agenda.created_by_sdr.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        lines = (f"• {_name(h)} → {mention(h.ae_id)} · {HANDOFF_TYPES.get(h.handoff_type, h.handoff_type)}"
                 f" · {_state(h)} · {_day(h.created_at, tz)}" for h in handoffs)
        entries.extend(_packed(lines, head=f"{mention(sdr)} · {len(handoffs)}"))
    return entries


def _waiting(agenda: Agenda, tz: str) -> list[Entry]:
    blocks = []
    for w in agenda.waiting:
        h = w.handoff
        flag = "🔴" if w.overdue else ("🟠" if w.sla_state.startswith("due") else "🟢")
        deadline = f" (deadline {_when(w.deadline, tz)})" if w.deadline else ""
        blocks.append(_section(
            f"{flag} {_name(h)} · waiting for {mention(h.ae_id)} from {mention(h.sdr_id)}\n"
            f"Waiting {working_duration(w.age)} of working time · *{w.sla_state}*{deadline}"))
    return _one_each(blocks)


def _meetings(agenda: Agenda, tz: str) -> list[Entry]:
    blocks = []
    for h in agenda.upcoming_meetings:
        pending = " · ⏳ not accepted yet" if h.state == State.PENDING else ""
        blocks.append(_section(
            f"📅 *{_when(h.meeting_start, tz)}* · {_name(h)} · {HANDOFF_TYPES.get(h.handoff_type, h.handoff_type)}"
            f" · {mention(h.sdr_id)} with {mention(h.ae_id)}{pending}"))
    return _one_each(blocks)


def _pipeline(agenda: Agenda, tz: str) -> list[Entry]:
    blocks = []
    for p in agenda.pipeline:
        h = p.handoff
        flag = "🔴 *overdue* · " if p.overdue else ""
        owner = h.next_step_owner or h.ae_id
        blocks.append(_section(
            f"{flag}*{_day(h.next_step_due, tz)}* · {_name(h)} · {mention(owner)}\n"
            f"Next step: {_user(h.next_step, NEXT_STEP_MAX)}"))
    return _one_each(blocks)


def _no_shows(agenda: Agenda, tz: str) -> list[Entry]:
    return _one_each(_section(f"👻 {_name(h)} · meeting {_when(h.meeting_start, tz)} · {mention(h.sdr_id)} to rebook"
                              f" with {mention(h.ae_id)}")
                     for h in agenda.no_shows)


def _rejections(agenda: Agenda, tz: str) -> list[Entry]:
    # The reason is for the room; the feedback is coaching and went to the SDR and their manager by DM.
    return _one_each(_section(
        f"❌ {_name(r.handoff)} · from {mention(r.handoff.sdr_id)} · rejected by {mention(r.by)}"
        f" {_day(r.at, tz)} · *{_user(r.reason, 200)}*" + (" · feedback sent to the SDR" if r.feedback else ""))
        for r in agenda.rejections)


def _numbers(n: Numbers) -> SectionBlock:
    median = "—" if n.median_hours_to_accept is None else working_duration(timedelta(hours=n.median_hours_to_accept))
    fields = [
        f"*Handoffs*\n{n.submitted}",
        f"*Acceptance rate*\n{_pct(n.accepted, n.accepted + n.rejected, n.acceptance_rate)}",
        f"*Median time to accept*\n{median} of working time" if n.median_hours_to_accept is not None
        else f"*Median time to accept*\n{median}",
        f"*SLA breaches*\n{n.sla_breaches}",
        f"*No-show rate*\n{_pct(n.no_shows, n.meetings_with_outcome, n.no_show_rate)}",
    ]
    return SectionBlock(fields=[_md(f, FIELD_TEXT_MAX) for f in fields])


def _item_line(item: ActionItem, tz: str) -> str:
    h = item.handoff
    late = " · 🔴 *overdue*" if item.overdue else ""
    if item.what == "accept":
        return f"• Accept or reject {_name(h)} · by {_when(item.due, tz)}{late}"
    if item.what == "rebook":
        return f"• Rebook the no-show {_name(h)} with {mention(h.ae_id)} · as soon as possible"
    return f"• {_name(h)}: {_user(item.text, NEXT_STEP_MAX)} · by {_day(item.due, tz)}{late}"


def _actions(agenda: Agenda, tz: str) -> list[Entry]:
    owners: dict[str, list[ActionItem]] = {}
    for item in agenda.action_items:
        owners.setdefault(item.owner, []).append(item)
    entries: list[Entry] = []
    for owner, items in owners.items():
        entries.extend(_packed((_item_line(i, tz) for i in items), head=mention(owner)))
    return entries


# --- assembly -------------------------------------------------------------------


def _title(team: TeamPolicy, week: date) -> str:
    return f"{TITLE} · {team.name} · week of {week:%d %b %Y}"


def _more(hidden: int) -> ContextBlock:
    return ContextBlock(elements=[_md(f"…and {hidden} more · `/handoff list` shows yours, "
                                      "`/handoff show H-n` one in full")])


def _fit(parts: list[tuple[str, list[Entry]]], budget: int) -> int | None:
    """The most entries each part may show so that everything fits in `budget` blocks; None if all fit."""
    def size(cap: int | None) -> int:
        return sum(1 + (len(e) if cap is None or len(e) <= cap else cap + 1) for _, e in parts)
    if size(None) <= budget:
        return None
    cap = max(len(e) for _, e in parts)
    while cap > 1 and size(cap) > budget:
        cap -= 1
    return cap


def render_agenda(team: TeamPolicy, agenda: Agenda, now: datetime, week: date | None = None) -> list[Message]:
    """The agenda as one message of at most 50 blocks (a list, for the outbox's snapshot post)."""
    tz = team.tz
    title = _title(team, week or week_of(team, now))
    n = agenda.numbers
    candidates: list[tuple[str, list[Entry], str]] = [
        (f"🆕 *Handoffs created this week* ({n.submitted})", _created(agenda, tz), "new handoffs"),
        (f"⏳ *Waiting for acceptance* ({len(agenda.waiting)})", _waiting(agenda, tz), "handoffs waiting"),
        (f"📅 *Meetings and IQMs in the coming week* ({len(agenda.upcoming_meetings)})", _meetings(agenda, tz),
         "meetings in the coming week"),
        (f"📈 *Pipeline by next-step date* ({len(agenda.pipeline)})", _pipeline(agenda, tz), "next steps"),
        (f"👻 *No-shows to rebook* ({len(agenda.no_shows)})", _no_shows(agenda, tz), "no-shows to rebook"),
        (f"❌ *Rejections* ({len(agenda.rejections)}): alignment on messaging",
         _rejections(agenda, tz), "rejections"),
        (f"{ACTIONS} ({len(agenda.action_items)})", _actions(agenda, tz), "open action items"),
    ]
    parts = [(heading, entries) for heading, entries, _ in candidates if entries]
    quiet = [what for _, entries, what in candidates if not entries]

    head: list[Block] = [
        HeaderBlock(text=clip(title, HEADER_MAX)),
        ContextBlock(elements=[_md(f"The 7 days to {_when(now, tz)} and the 7 ahead · times in your own zone")]),
    ]
    tail: list[Block] = [ContextBlock(elements=[_md("Nothing this week: " + ", ".join(quiet) + ".")])] if quiet else []
    tail += [_section("📊 *This week's numbers*"), _numbers(n)]
    cap = _fit(parts, MAX_BLOCKS - len(head) - len(tail))
    blocks = list(head)
    for heading, entries in parts:
        if heading.startswith(ACTIONS):  # the numbers come before the action items, as the sync goes
            blocks += tail
            tail = []
        blocks.append(_section(heading))
        shown = entries if cap is None else entries[:cap]
        blocks.extend(block for block, _ in shown)
        if hidden := sum(count for _, count in entries[len(shown):]):
            blocks.append(_more(hidden))
    blocks += tail
    summary = (f"new handoffs {n.submitted} · waiting {len(agenda.waiting)} · meetings coming"
               f" {len(agenda.upcoming_meetings)} · no-shows to rebook {len(agenda.no_shows)}")
    text = f"{escape(title)}: {summary}"
    # to_dict() validates each block against Slack's limits.
    return [Message(clip(text, MESSAGE_TEXT_MAX), [b.to_dict() for b in blocks])]


def render_nothing_to_align(team: TeamPolicy, week: date) -> list[Message]:
    """A week with nothing on the agenda, and a team that wants to hear so: one short line."""
    title = _title(team, week)
    text = f"{escape(title)}: nothing to align on this week."
    return [Message(clip(text, MESSAGE_TEXT_MAX), [
        _section(f"*{escape(title)}* · Nothing to align on this week.").to_dict()])]
