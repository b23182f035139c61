"""`/handoff stats`: the period's figures against the period before, per rep, and the weekly trend."""
from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from slack_sdk.models.blocks import ContextBlock, DividerBlock, HeaderBlock, SectionBlock
from slack_sdk.models.blocks.basic_components import MarkdownTextObject

from bot.core.stats import Figures, RepLine, Stats, WeekPoint, rate, working_duration
from bot.render.text import HEADER_MAX, SECTION_TEXT_MAX, Message, clip, escape, mention

BARS = "▁▂▃▄▅▆▇█"


def _md(text: str) -> MarkdownTextObject:
    return MarkdownTextObject(text=clip(text, SECTION_TEXT_MAX))


def _day(at: datetime, tz: str) -> str:
    return at.astimezone(ZoneInfo(tz)).strftime("%a %d %b %Y")


def _versus(now: str, before: str) -> str:
    return now if now == before else f"{now} (before: {before})"


def _count(n: int, total: int) -> str:
    return f"{n} of {total}"


def headline_lines(f: Figures, p: Figures | None = None) -> list[str]:
    """One line per figure; with `p`, each against the period before."""

    def v(now: str, before: str | None) -> str:
        return _versus(now, before) if before is not None else now

    return [
        f"*Handoffs* {v(str(f.submitted), str(p.submitted) if p else None)}",
        f"*Acceptance rate* {v(rate(f.acceptance_rate), rate(p.acceptance_rate) if p else None)}"
        f" · {f.accepted} accepted, {f.rejected} rejected",
        f"*Time to accept* (working hours) median "
        f"{v(working_duration(f.accept_median), working_duration(p.accept_median) if p else None)}"
        f" · p90 {v(working_duration(f.accept_p90), working_duration(p.accept_p90) if p else None)}",
        f"*SLA breaches* {v(str(f.sla_breaches), str(p.sla_breaches) if p else None)}",
        f"*No-show rate* {v(rate(f.no_show_rate), rate(p.no_show_rate) if p else None)}"
        f" · {_count(f.no_shows, f.meetings_held)} meetings",
        f"*IQM → SAO* {v(rate(f.iqm_to_sao), rate(p.iqm_to_sao) if p else None)} · {_count(f.saos, f.iqms)} IQMs",
        f"*Completion rate* {v(rate(f.completion_rate), rate(p.completion_rate) if p else None)}"
        f" · {_count(f.completed, f.accepted)} accepted are complete",
    ]


def sparkline(trend: tuple[WeekPoint, ...]) -> str:
    top = max((p.submitted for p in trend), default=0)
    if not top:
        return "no handoffs in these weeks"
    return "".join(BARS[min(len(BARS) - 1, round(p.submitted / top * (len(BARS) - 1)))] for p in trend)


def _counted(n: int, one: str, many: str | None = None) -> str:
    return f"{n} {one if n == 1 else many or one + 's'}"


def rep_table(reps: tuple[RepLine, ...]) -> list[str]:
    """Monospace lines per rep (mentions do not render inside code, so names go first, then the table)."""
    lines = []
    for r in reps:
        f = r.figures
        if r.role == "sdr":
            lines.append(f"• {mention(r.user_id)} SDR · {_counted(f.submitted, 'handoff')}"
                         f" · accepted {rate(f.acceptance_rate)}"
                         f" · no-shows {rate(f.no_show_rate)} · rejected {f.rejected}")
        else:
            lines.append(f"• {mention(r.user_id)} AE · {f.accepted} accepted, {f.rejected} rejected"
                         f" · median {working_duration(f.accept_median)}, p90 {working_duration(f.accept_p90)}"
                         f" · {_counted(f.sla_breaches, 'breach', 'breaches')} · {r.waiting} waiting")
    return lines


def chunked(lines: list[str], title: str) -> list[SectionBlock]:
    """Sections of whole lines under Slack's 3,000 characters each."""
    blocks: list[SectionBlock] = []
    chunk = [title]
    for line in lines:
        if sum(len(x) + 1 for x in chunk) + len(line) > SECTION_TEXT_MAX - 100:
            blocks.append(SectionBlock(text=_md("\n".join(chunk))))
            chunk = []
        chunk.append(line)
    blocks.append(SectionBlock(text=_md("\n".join(chunk))))
    return blocks


def stats_blocks(stats: Stats, tz: str, *, compare: bool = True, limit: int = 45) -> list[dict]:
    f, p = stats.figures, stats.previous
    period = stats.period
    end = period.end - timedelta(microseconds=1)
    blocks: list = [
        HeaderBlock(text=clip(f"Numbers · {scope_title(stats.scope)} · {period.name}", HEADER_MAX)),
        ContextBlock(elements=[_md(f"{_day(period.start, tz)} – {_day(end, tz)} · compared with "
                                   f"{_day(period.previous_start, tz)} – "
                                   f"{_day(period.previous_end - timedelta(microseconds=1), tz)} · now "
                                   f"{stats.waiting_now} waiting, {stats.overdue_now} overdue")]),
        SectionBlock(text=_md("\n".join(headline_lines(f, p if compare else None)))),
    ]
    if f.per_sdr:
        blocks += chunked([f"• {mention(u)} {n}" for u, n in f.per_sdr[:40]], "*Handoffs per SDR*")
    if f.reject_reasons:
        blocks += chunked([f"• {escape(label)}: {n}" for label, n in f.reject_reasons], "*Reject reasons*")
    if stats.reps:
        blocks.append(DividerBlock())
        blocks += chunked(rep_table(stats.reps), "*Per rep*")
    if stats.trend:
        weeks = " · ".join(f"{w.week_start:%d %b} {w.submitted}" for w in stats.trend)
        blocks.append(ContextBlock(elements=[_md(f"Weekly trend {sparkline(stats.trend)}  ({weeks})")]))
    return [b.to_dict() for b in blocks][:limit]


def scope_title(scope: str) -> str:
    """A header (or a chart's title) is plain text: a mention there would show as its raw id."""
    return "one person" if scope.startswith("<@") else scope


def stats_message(stats: Stats, tz: str) -> Message:
    f = stats.figures
    text = (f"Numbers for {stats.scope}, {stats.period.name}: {f.submitted} handoff{'' if f.submitted == 1 else 's'}, acceptance "
            f"{rate(f.acceptance_rate)}, median time to accept {working_duration(f.accept_median)}")
    return Message(text, stats_blocks(stats, tz))
