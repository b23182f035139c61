"""The Home tab, by role, and the paged list of someone's handoffs (also `/handoff list`).

Every list shows at most 20 items and says how many more there are; the whole view stays within
Slack's limits (100 blocks in a view, 50 in a message, 3,000 characters in a section).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    ImageBlock,
    SectionBlock,
)
from slack_sdk.models.blocks.basic_components import MarkdownTextObject
from slack_sdk.models.views import View

from bot.core.handoff import STATE_LABELS, Handoff, State, short_id
from bot.core.home import HomePage, Listing, Owed, Waiting
from bot.core.stats import rate, working_duration
from bot.render.stats import chunked, headline_lines, rep_table, sparkline
from bot.render.text import SECTION_TEXT_MAX, Message, clip, date_token, escape, mention

HOME_NEXT, HOME_PREV = "home_page_next", "home_page_prev"
LIST_NEXT, LIST_PREV = "list_page_next", "list_page_prev"
MAX_VIEW_BLOCKS = 100
MAX_MESSAGE_BLOCKS = 50
SHOWN = 20  # items per list before "and N more"

OWED_WORDS = {
    "rebook": "rebook the no-show",
    "revise": "rejected: revise and resubmit, or withdraw",
    "outcome": "record the meeting's outcome",
    "next_step": "record the next step",
}


def _md(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=clip(text, SECTION_TEXT_MAX))


def _name(h: Handoff) -> str:
    return f"*{short_id(h.id)}* {escape(clip(h.company, 80))}"


def handoff_line(h: Handoff, user_id: str, tz: str) -> str:
    other = f"to {mention(h.ae_id)}" if h.sdr_id == user_id else f"from {mention(h.sdr_id)}"
    return f"• {_name(h)} · {other} · {STATE_LABELS[State(h.state)]} · {date_token(h.updated_at, tz)}"


def _more(items: int) -> list[str]:
    return [f"_… and {items - SHOWN} more_"] if items > SHOWN else []


def listing_blocks(listing: Listing, user_id: str, tz: str, *, next_id: str, prev_id: str,
                   title: str = "*Your handoffs*") -> list:
    """One page of the list, and Previous / Next buttons when there is more."""
    if not listing.total:
        return [SectionBlock(text=_md("You have no handoffs yet. Type `/handoff` to start one."))]
    first = listing.page * listing.size + 1
    last = first + len(listing.handoffs) - 1
    heading = f"{title} · {first}–{last} of {listing.total}" if listing.handoffs else f"{title} · {listing.total}"
    lines: list[str] = []
    for role, rows in (("As SDR", [h for h in listing.handoffs if h.sdr_id == user_id]),
                       ("As AE", [h for h in listing.handoffs if h.sdr_id != user_id])):
        if rows:
            lines += [f"*{role}*", *(handoff_line(h, user_id, tz) for h in rows)]
    blocks: list = chunked(lines, heading)
    buttons = []
    if listing.page > 0:
        buttons.append(ButtonElement(text="Previous", action_id=prev_id, value=str(listing.page - 1)))
    if listing.page + 1 < listing.pages:
        buttons.append(ButtonElement(text="Next", action_id=next_id, value=str(listing.page + 1)))
    if buttons:
        blocks.append(ActionsBlock(block_id="paging", elements=buttons))
    return blocks


def list_message(listing: Listing, user_id: str, tz: str) -> Message:
    """`/handoff list`: a page of 20, paged with buttons (the answer is replaced in place)."""
    blocks = listing_blocks(listing, user_id, tz, next_id=LIST_NEXT, prev_id=LIST_PREV)
    return Message(f"Your handoffs: {listing.total}", [b.to_dict() for b in blocks][:MAX_MESSAGE_BLOCKS])


def _owed_lines(items: tuple[Owed, ...], tz: str, total: int) -> list[str]:
    return [f"• {_name(o.handoff)} · {OWED_WORDS[o.what]}"
            + (f" (meeting {date_token(o.handoff.meeting_start, tz)})" if o.what == "outcome" else "")
            for o in items[:SHOWN]] + _more(max(total, len(items)))


def _waiting_lines(items: tuple[Waiting, ...], tz: str) -> list[str]:
    return [f"• {_name(w.handoff)} from {mention(w.handoff.sdr_id)} · "
            + (f"🔴 {w.sla}" if w.overdue else w.sla)
            + (f" · due {date_token(w.deadline, tz)}" if w.deadline else "")
            for w in items[:SHOWN]] + _more(len(items))


def _sdr_blocks(home: HomePage) -> list:
    blocks: list = [HeaderBlock(text="As SDR")]
    blocks += chunked(_owed_lines(home.owed, home.tz, home.owed_total)
                      or ["Nothing: no no-shows to rebook, no rejections waiting."], "*What you owe*")
    states = " · ".join(f"{label} {n}" for label, n in home.by_state) or "none yet"
    own = home.own
    acceptance = (f"{rate(own.acceptance_rate)} ({own.accepted} of {own.accepted + own.rejected} decided)"
                  if own and own.accepted + own.rejected else "—")
    blocks.append(SectionBlock(text=_md(f"*Your handoffs by state* {states}\n"
                                        f"*Your acceptance rate* (last 30 days) {acceptance}")))
    return blocks


def _ae_blocks(home: HomePage) -> list:
    blocks: list = [HeaderBlock(text="As AE")]
    blocks += chunked(_waiting_lines(home.waiting, home.tz) or ["Nothing is waiting for you."],
                      f"*Waiting for you* ({len(home.waiting)}), SLA in working hours")
    missing = max(home.missing_total, len(home.missing))
    blocks += chunked(_owed_lines(home.missing, home.tz, missing) or ["None."],
                      f"*Meetings missing an outcome or next step* ({missing})")
    return blocks


def _manager_blocks(home: HomePage) -> list:
    stats = home.team
    assert stats is not None
    f = stats.figures
    blocks: list = [
        HeaderBlock(text=clip(f"Your team · {stats.period.name}", 150)),
        SectionBlock(text=_md(f"*Waiting now* {stats.waiting_now} · *overdue* {stats.overdue_now}\n"
                              + "\n".join(headline_lines(f, stats.previous)))),
    ]
    if stats.reps:
        blocks += chunked(rep_table(stats.reps), "*Per rep*")
    if home.chart_file:
        blocks.append(ImageBlock(alt_text="Handoffs per week, submitted and accepted",
                                 slack_file={"id": home.chart_file}, title="Weekly trend"))
    elif stats.trend:
        blocks.append(ContextBlock(elements=[_md(f"Weekly trend {sparkline(stats.trend)}")]))
    return blocks


def _since(at: datetime | None, now: datetime) -> str:
    if at is None:
        return "never (is the scheduler running?)"
    seconds = max(0, int((now - at).total_seconds()))
    return f"{working_duration_like(seconds)} ago"


def working_duration_like(seconds: int) -> str:
    """Wall-clock "2 min", "1 h 5 min", "45 s" (the health line's ages are not working hours)."""
    return f"{seconds} s" if seconds < 60 else working_duration(timedelta(seconds=seconds))


def _admin_blocks(home: HomePage) -> list:
    health = home.health
    assert health is not None
    teams = [f"• `{escape(t)}` {escape(name)} · {n} members" for t, name, n in health.teams[:SHOWN]]
    teams += _more(len(health.teams))
    counts = ", ".join(f"{n} {s}" for s, n in sorted(health.outbox.items())) or "empty"
    blocks: list = [HeaderBlock(text="Admin")]
    blocks += chunked(teams or ["No teams yet: `/handoff team` or `handoff-bot config import teams.yaml`."],
                      f"*Teams* ({len(health.teams)})")
    blocks.append(SectionBlock(text=_md(
        f"*Health* last scheduler tick {_since(health.last_tick, home.now)} · outbox backlog {health.backlog}"
        f" · stuck {health.stuck}" + (" (`handoff-bot doctor`)" if health.stuck else "") + f"\n_{counts}_")))
    return blocks


def home_view(home: HomePage) -> dict:
    blocks: list = [
        HeaderBlock(text="Handoff"),
        ContextBlock(elements=[_md("`/handoff` new · `/handoff list` · `/handoff stats [@person | team] "
                                   "[this week | last 30 days | quarter]` · `/handoff export` · `/handoff help`")]),
    ]
    for role, part in (("manager", _manager_blocks), ("ae", _ae_blocks), ("sdr", _sdr_blocks),
                       ("admin", _admin_blocks)):
        if role in home.roles and (role != "manager" or home.team is not None) and \
                (role != "admin" or home.health is not None):
            blocks.append(DividerBlock())
            blocks += part(home)
    if home.listing is not None:
        blocks.append(DividerBlock())
        blocks += listing_blocks(home.listing, home.user_id, home.tz, next_id=HOME_NEXT, prev_id=HOME_PREV)
    dicts = [b.to_dict() for b in blocks]
    if len(dicts) > MAX_VIEW_BLOCKS:  # never a refused publish: the list (with its buttons) is kept, the middle cut
        tail = [b.to_dict() for b in listing_blocks(home.listing, home.user_id, home.tz, next_id=HOME_NEXT,
                                                     prev_id=HOME_PREV)] if home.listing else []
        dicts = dicts[: MAX_VIEW_BLOCKS - len(tail) - 1] + [SectionBlock(text=_md("_(more on the next visit)_"))
                                                          .to_dict()] + tail
    return View(type="home", blocks=dicts).to_dict()


__all__ = ["HOME_NEXT", "HOME_PREV", "LIST_NEXT", "LIST_PREV", "home_view", "list_message", "listing_blocks"]
