"""Ephemeral answers: help, the usage line, lists, the full record, refusals."""
from __future__ import annotations


from slack_sdk.models.blocks import ContextBlock, DividerBlock, HeaderBlock, SectionBlock
from slack_sdk.models.blocks.basic_components import MarkdownTextObject

from bot.core.handoff import STATE_LABELS, Decision, Event, Handoff, State, rejection_label, short_id
from bot.render.cards import _record_blocks, _facts_line, status_line
from bot.render.reminders import outcome_words
from bot.render.text import HEADER_MAX, Message, clip, date_token, escape, mention

USAGE = ("Usage: `/handoff` (new handoff) · `/handoff list` · `/handoff show H-42` · `/handoff team [id]` (admins)"
         " · `/handoff stats [@person | team] [this week | last 30 days | quarter]` · `/handoff export` · `/handoff help`")

HELP = (
    "*Handoff* hands a qualified prospect from an SDR to an AE.\n"
    "• `/handoff`: open the form; the AE gets a card to *Accept* or *Reject*.\n"
    "• `/handoff list`: your handoffs, as SDR and as AE, with their status.\n"
    "• `/handoff show H-42`: everything about one handoff, with its audit trail.\n"
    "• `/handoff stats [@person | team] [this week | last 30 days | quarter]`: the numbers (yours; a manager's "
    "team and reps; admins everyone's), with a weekly trend chart in your DM.\n"
    "• `/handoff export [@person | team] [period]`: the same handoffs as a CSV file in your DM.\n"
    "• `/handoff team [id]`: admins edit a team (channel, time zone, hours, holidays, SLA, members).\n"
    "• `/handoff help`: this message.\n"
    "A rejection comes back to the SDR with the AE's feedback; the SDR can revise and resubmit or withdraw. "
    "The AE (or an admin) can reassign to another AE. After the meeting the AE records its outcome and the "
    "next step; the bot chases what slips: unaccepted handoffs, missing outcomes, no-shows, overdue next steps."
)


def _md(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=clip(text, 3000))


def usage(problem: str | None = None) -> Message:
    text = f"{problem}\n{USAGE}" if problem else USAGE
    return Message(text, [SectionBlock(text=_md(text)).to_dict()])


def help_text() -> Message:
    return Message(HELP, [SectionBlock(text=_md(HELP)).to_dict()])


def handoff_list(user_id: str, handoffs: list[Handoff], tz: str) -> Message:
    if not handoffs:
        text = "You have no handoffs yet. Type `/handoff` to start one."
        return Message(text, [SectionBlock(text=_md(text)).to_dict()])
    blocks: list = [HeaderBlock(text="Your handoffs")]
    for role, rows in (("As SDR", [h for h in handoffs if h.sdr_id == user_id]),
                       ("As AE", [h for h in handoffs if h.ae_id == user_id and h.sdr_id != user_id])):
        if not rows:
            continue
        lines = [
            f"• *{short_id(h.id or 0)}* {escape(h.company)} · "
            f"{'to ' + mention(h.ae_id) if role == 'As SDR' else 'from ' + mention(h.sdr_id)} · "
            f"{STATE_LABELS[State(h.state)]} · {date_token(h.updated_at, tz)}"
            for h in rows
        ]
        blocks.append(SectionBlock(text=_md(f"*{role}*\n" + "\n".join(lines))))
    text = f"Your handoffs: {len(handoffs)}"
    return Message(text, [b.to_dict() for b in blocks[:50]])


def handoff_details(h: Handoff, events: list[Event], tz: str) -> Message:
    blocks: list = [
        HeaderBlock(text=clip(f"{short_id(h.id or 0)} {h.company}", HEADER_MAX)),
        SectionBlock(text=_md(f"SDR {mention(h.sdr_id)} → AE {mention(h.ae_id)} · {_facts_line(h)}")),
        ContextBlock(elements=[_md(status_line(h, tz))]),
        *_record_blocks(h, tz),
    ]
    if h.rejection_feedback:
        reason = rejection_label(h)
        blocks.append(SectionBlock(text=_md(f"*Last rejection:* {reason}\n{escape(h.rejection_feedback)}")))
    blocks.append(DividerBlock())
    trail = []
    for e in events:
        move = f"{e.from_state or '—'} → {e.to_state}" if e.to_state else ""
        line = f"• {date_token(e.at, tz)} · {mention(e.actor)} · *{e.action}* {move}"
        if e.action == "outcome":
            line += f" · “{outcome_words(e, tz)}”"
        elif e.action == "ae_zone":
            line += " · the AE's time zone, as Slack gives it"
        elif e.reason:
            line += f" · “{escape(clip(e.reason, 200))}”"
        detail = e.detail
        if detail.get("to_ae"):
            line += f" · to {mention(detail['to_ae'])}"
        trail.append(line)
    # Keep the whole trail but within the block limits: chunks of lines per section.
    chunk: list[str] = []
    for line in ["*Audit trail*"] + trail:
        if sum(len(x) + 1 for x in chunk) + len(line) > 2900:
            blocks.append(SectionBlock(text=_md("\n".join(chunk))))
            chunk = []
        chunk.append(line)
    blocks.append(SectionBlock(text=_md("\n".join(chunk))))
    return Message(f"{short_id(h.id or 0)} {escape(h.company)}", [b.to_dict() for b in blocks[:50]])


def refusal(decision: Decision, action: str, tz: str) -> str:
    """What the clicker is told when their click changes nothing."""
    f = decision.handoff
    assert f is not None
    name = short_id(f.id)
    if decision.why == "forbidden":
        if action in ("accept", "reject", "reassign", "close", "keep"):
            return f"Only the assigned AE ({mention(f.ae_id)}) or an admin can {action} {name}. Nothing changed."
        if action in ("outcome", "record the outcome of"):
            return (f"Only its AE ({mention(f.ae_id)}), its SDR ({mention(f.sdr_id)}) or an admin can record the "
                    f"outcome of {name}. Nothing changed.")
        return f"Only the SDR who submitted it ({mention(f.sdr_id)}) or an admin can {action} {name}. Nothing changed."
    if decision.why == "stale":
        return f"This card is out of date: {name} has changed since. Use the latest card; nothing changed."
    if decision.why == "already":
        state = STATE_LABELS[f.state].lower()
        by = f" by {mention(f.decided_by)}" if f.decided_by else ""
        when = f" on {date_token(f.decided_at, tz)}" if f.decided_at else ""
        if f.state == State.PENDING:
            return f"{name} is waiting for the AE again (it was revised or reassigned). Nothing changed."
        return f"{name} was already {state}{by}{when}. Nothing changed."
    return f"{name}: nothing changed."


def not_found(text: str) -> str:
    return f"There is no handoff {text}. Try `/handoff list`."
