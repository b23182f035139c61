"""The team's numbers, from the records: handoffs per SDR, acceptance rate, time to accept, SLA breaches,
no-show rate, IQM → SAO conversion, reject reasons, completion rate; per period, per rep, per week.

Pure: slim rows of the handoffs, their decision events, the teams (for working calendars), a period
and the time in; plain values out. Working hours are counted as the agenda and the chase count them
(the AE's zone, the team's days, hours and holidays), with the same deadline.
"""
from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from bot.core.chase import DEFAULT_TEAM, acceptance_deadline
from bot.core.handoff import REJECT_REASONS, State
from bot.core.teams import TeamPolicy
from bot.core.working_time import local_to_utc, working_time_between

PERIODS = ("this week", "last 30 days", "quarter")
DEFAULT_PERIOD = "last 30 days"
TREND_WEEKS = 8
MEETING_TYPES = ("qualified_meeting", "joint_iqm")  # a direct pass has no IQM
HELD = ("completed", "no_show")  # a reschedule is neither held nor missed
# How far before a period a handoff's clock may start and its deadline still fall inside it:
# an 8-hour SLA over a long weekend and a holiday week, with room to spare.
DEADLINE_REACH = timedelta(days=21)


# --- periods -------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC, named as the asker named it, with the stretch before it to compare with."""

    name: str
    start: datetime
    end: datetime
    previous_start: datetime
    previous_end: datetime

    def contains(self, at: datetime | None) -> bool:
        return at is not None and self.start <= at < self.end

    def previous(self) -> Period:
        return Period(f"before {self.name}", self.previous_start, self.previous_end,
                      self.previous_start - (self.previous_end - self.previous_start), self.previous_start)


def _aware(now: datetime) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(timezone.utc)


def _local_midnight(zone: ZoneInfo, day: date) -> datetime:
    return local_to_utc(zone, datetime(day.year, day.month, day.day))


def parse_period(words: Sequence[str]) -> str | None:
    """"this week", "week", "last 30 days", "30d", "month", "quarter", "q" → a period name; None if unknown."""
    text = " ".join(w.lower() for w in words).strip()
    if text in ("", "last 30 days", "30 days", "30d", "month", "last month"):
        return DEFAULT_PERIOD
    if text in ("this week", "week", "w"):
        return "this week"
    if text in ("quarter", "this quarter", "q"):
        return "quarter"
    return None


def resolve_period(name: str, now: datetime, tz: str) -> Period:
    """The period up to `now`, its days counted in `tz` (the viewer's team's zone). The previous stretch is
    the same span one unit back: last week to this hour, the 30 days before, the previous quarter to this day."""
    now = _aware(now)
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    if name == "this week":
        monday = local.date() - timedelta(days=local.weekday())
        start = _local_midnight(zone, monday)
        prev_start = _local_midnight(zone, monday - timedelta(days=7))
        return Period(name, start, now, prev_start, prev_start + (now - start))
    if name == "quarter":
        first_month = 3 * ((local.month - 1) // 3) + 1
        first = date(local.year, first_month, 1)
        prev_first = date(first.year - 1, 10, 1) if first_month == 1 else date(first.year, first_month - 3, 1)
        start = _local_midnight(zone, first)
        prev_start = _local_midnight(zone, prev_first)
        return Period(name, start, now, prev_start, min(prev_start + (now - start), start))
    if name == DEFAULT_PERIOD:
        start = now - timedelta(days=30)
        return Period(name, start, now, start - timedelta(days=30), start)
    raise ValueError(f"unknown period {name!r}; one of {', '.join(PERIODS)}")


def reach(period: Period, now: datetime, tz: str) -> datetime:
    """The earliest instant whose records can change the figures of this period, the one before it, or the
    weekly trend: what storage needs to read."""
    return min(period.previous_start, trend_start(now, tz)) - DEADLINE_REACH


# --- the records the figures read ------------------------------------------------


@dataclass(frozen=True)
class StatsRow:
    """What the figures read of a handoff: a few columns, so 100k of them load in a blink."""

    id: int
    state: str
    sdr_id: str
    ae_id: str
    team_id: str | None
    ae_tz: str | None
    handoff_type: str
    created_at: datetime
    sla_start: datetime | None
    decided_at: datetime | None
    meeting_outcome: str | None
    outcome_at: datetime | None
    completed_at: datetime | None
    company: str = ""
    region: str | None = None
    rejection_reason: str | None = None


@dataclass(frozen=True)
class Decision:
    """An accept or a reject from the audit trail: when, by whom, and the reason line ("No budget: …")."""

    handoff_id: int
    at: datetime
    action: str  # accept | reject
    actor: str
    reason: str | None = None


# --- the figures -------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    submitted: int
    per_sdr: tuple[tuple[str, int], ...]  # (SDR, handoffs submitted), most first
    accepted: int
    rejected: int
    acceptance_rate: float | None  # accepted / decided, among the period's decisions
    accept_median: timedelta | None  # working time from the SLA clock's start to the accept
    accept_p90: timedelta | None
    sla_breaches: int  # deadlines in the period that passed before the handoff stopped waiting
    meetings_held: int  # outcomes completed or no-show recorded in the period
    no_shows: int
    no_show_rate: float | None
    iqms: int  # meeting handoffs submitted in the period and no longer waiting
    saos: int  # of those, accepted
    iqm_to_sao: float | None
    reject_reasons: tuple[tuple[str, int], ...]  # (label, count), most first
    completed: int  # of the period's accepts, how many are complete (met + next step)
    completion_rate: float | None


@dataclass(frozen=True)
class RepLine:
    user_id: str
    role: str  # sdr | ae
    figures: Figures
    waiting: int = 0  # pending on this AE now


@dataclass(frozen=True)
class WeekPoint:
    week_start: date  # Monday, in the team's zone
    submitted: int
    accepted: int
    rejected: int

    @property
    def acceptance_rate(self) -> float | None:
        decided = self.accepted + self.rejected
        return self.accepted / decided if decided else None


@dataclass(frozen=True)
class Stats:
    scope: str  # "team AMER Mid-Market", "<@U1>", "everyone"
    period: Period
    figures: Figures
    previous: Figures
    reps: tuple[RepLine, ...] = ()
    trend: tuple[WeekPoint, ...] = ()
    waiting_now: int = 0
    overdue_now: int = 0


Teams = Mapping[str, TeamPolicy]


def _team(teams: Teams, row: StatsRow) -> TeamPolicy:
    return teams.get(row.team_id or "", DEFAULT_TEAM)


def percentile(values: Sequence[timedelta], fraction: float) -> timedelta | None:
    """Nearest-rank percentile (p90 of ten values is the ninth): a value someone actually waited."""
    if not values:
        return None
    ordered = sorted(values)
    rank = min(len(ordered), max(1, math.ceil(round(fraction * len(ordered), 9))))
    return ordered[rank - 1]


def _median(values: Sequence[timedelta]) -> timedelta | None:
    if not values:
        return None
    return timedelta(seconds=statistics.median(v.total_seconds() for v in values))


def reject_label(reason: str | None) -> str:
    """The reason's label from the audit line, "No budget: feedback" → "No budget"."""
    label, sep, _feedback = (reason or "").partition(": ")
    return label.strip() if sep and label.strip() else REJECT_REASONS["other"]


@dataclass
class _Clock:
    """Working-time arithmetic per handoff, computed once per row even when several figures ask."""

    teams: Teams
    deadlines: dict[int, datetime | None] = field(default_factory=dict)

    def deadline(self, row: StatsRow) -> datetime | None:
        if row.id not in self.deadlines:
            start = row.sla_start or row.created_at
            self.deadlines[row.id] = acceptance_deadline(_team(self.teams, row), start=start, ae_tz=row.ae_tz)
        return self.deadlines[row.id]

    def to_accept(self, row: StatsRow, at: datetime) -> timedelta:
        start = row.sla_start or row.created_at
        if start >= at:  # accepted before the clock started (before the meeting ended): no wait
            return timedelta(0)
        team = _team(self.teams, row)
        return working_time_between(team.calendar(row.ae_tz or team.tz), start, at)


def _left_pending(row: StatsRow) -> datetime | None:
    return None if row.state == State.PENDING else row.decided_at


def figures(rows: Sequence[StatsRow], decisions: Sequence[Decision], period: Period, teams: Teams,
            now: datetime, clock: _Clock | None = None) -> Figures:
    """The period's figures over these rows (a team's, a rep's, everyone's) and their decisions."""
    clock = clock or _Clock(teams)
    by_id = {r.id: r for r in rows}
    in_period = [d for d in decisions if period.contains(d.at) and d.handoff_id in by_id]
    accepts = [d for d in in_period if d.action == "accept"]
    rejects = [d for d in in_period if d.action == "reject"]
    waits = [clock.to_accept(by_id[d.handoff_id], d.at) for d in accepts]

    submitted = [r for r in rows if period.contains(r.created_at)]
    per_sdr = Counter(r.sdr_id for r in submitted)

    breaches = 0
    for r in rows:
        start = r.sla_start or r.created_at
        if start >= period.end or start < period.start - DEADLINE_REACH:
            continue
        deadline = clock.deadline(r)
        if deadline is None or not period.contains(deadline) or deadline > now:
            continue
        left = _left_pending(r)
        if left is None or left > deadline:
            breaches += 1

    held = [r for r in rows if r.meeting_outcome in HELD and period.contains(r.outcome_at)]
    no_shows = sum(1 for r in held if r.meeting_outcome == "no_show")

    ever_accepted = {d.handoff_id for d in decisions if d.action == "accept"}
    iqms = [r for r in submitted if r.handoff_type in MEETING_TYPES and r.state != State.PENDING]
    saos = [r for r in iqms if r.id in ever_accepted or r.state in (State.ACCEPTED, State.CLOSED)]

    accepted_rows = {d.handoff_id for d in accepts}
    complete = sum(1 for i in accepted_rows if by_id[i].completed_at is not None)
    reasons = Counter(reject_label(d.reason) for d in rejects)
    decided = len(accepts) + len(rejects)
    return Figures(
        submitted=len(submitted),
        per_sdr=tuple(sorted(per_sdr.items(), key=lambda kv: (-kv[1], kv[0]))),
        accepted=len(accepts),
        rejected=len(rejects),
        acceptance_rate=len(accepts) / decided if decided else None,
        accept_median=_median(waits),
        accept_p90=percentile(waits, 0.9),
        sla_breaches=breaches,
        meetings_held=len(held),
        no_shows=no_shows,
        no_show_rate=no_shows / len(held) if held else None,
        iqms=len(iqms),
        saos=len(saos),
        iqm_to_sao=len(saos) / len(iqms) if iqms else None,
        reject_reasons=tuple(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
        completed=complete,
        completion_rate=complete / len(accepted_rows) if accepted_rows else None,
    )


# --- the weekly trend --------------------------------------------------------------


def trend_start(now: datetime, tz: str, weeks: int = TREND_WEEKS) -> datetime:
    zone = ZoneInfo(tz)
    local = _aware(now).astimezone(zone).date()
    monday = local - timedelta(days=local.weekday())
    return _local_midnight(zone, monday - timedelta(days=7 * (weeks - 1)))


def weekly_trend(rows: Sequence[StatsRow], decisions: Sequence[Decision], now: datetime, tz: str,
                 weeks: int = TREND_WEEKS) -> tuple[WeekPoint, ...]:
    """Handoffs submitted, accepted and rejected per week (Mondays in `tz`), the oldest first, this week last."""
    zone = ZoneInfo(tz)
    first = trend_start(now, tz, weeks).astimezone(zone).date()
    mondays = [first + timedelta(days=7 * i) for i in range(weeks)]

    def week_of(at: datetime) -> date:
        day = at.astimezone(zone).date()
        return day - timedelta(days=day.weekday())

    ids = {r.id for r in rows}
    submitted = Counter(week_of(r.created_at) for r in rows if r.created_at >= trend_start(now, tz, weeks))
    accepted = Counter(week_of(d.at) for d in decisions if d.action == "accept" and d.handoff_id in ids)
    rejected = Counter(week_of(d.at) for d in decisions if d.action == "reject" and d.handoff_id in ids)
    return tuple(WeekPoint(m, submitted[m], accepted[m], rejected[m]) for m in mondays)


# --- the whole answer --------------------------------------------------------------


def build_stats(scope: str, rows: Sequence[StatsRow], decisions: Sequence[Decision], period: Period, teams: Teams,
                now: datetime, tz: str, reps: Iterable[tuple[str, str]] = ()) -> Stats:
    """The period against the one before, a line per rep (`reps`: (user, "sdr" | "ae")), the weekly trend."""
    now = _aware(now)
    clock = _Clock(teams)
    current = figures(rows, decisions, period, teams, now, clock)
    previous = figures(rows, decisions, period.previous(), teams, now, clock)
    lines = []
    for user, role in reps:
        own = [r for r in rows if (r.sdr_id if role == "sdr" else r.ae_id) == user]
        ids = {r.id for r in own}
        waiting = sum(1 for r in own if r.state == State.PENDING) if role == "ae" else 0
        lines.append(RepLine(user, role, figures(own, [d for d in decisions if d.handoff_id in ids], period, teams,
                                                 now, clock), waiting))
    pending = [r for r in rows if r.state == State.PENDING]
    overdue = 0
    for r in pending:
        deadline = clock.deadline(r)
        overdue += deadline is not None and deadline <= now
    return Stats(scope, period, current, previous, tuple(lines), weekly_trend(rows, decisions, now, tz),
                 waiting_now=len(pending), overdue_now=overdue)


# --- the export ----------------------------------------------------------------------

EXPORT_COLUMNS = (
    "handoff", "created_at", "team", "region", "company", "sdr", "ae", "handoff_type", "state", "decided_at",
    "working_hours_to_accept", "sla_deadline", "sla_breached", "meeting_outcome", "completed_at", "reject_reason",
)


def export_rows(rows: Sequence[StatsRow], decisions: Sequence[Decision], start: datetime, end: datetime,
                teams: Teams, now: datetime) -> list[dict[str, object]]:
    """One line per handoff submitted in [start, end), for revenue operations' spreadsheet (ISO times, UTC)."""
    clock = _Clock(teams)
    accepted_at: dict[int, datetime] = {}
    for d in sorted(decisions, key=lambda d: d.at):
        if d.action == "accept":
            accepted_at[d.handoff_id] = d.at
    out: list[dict[str, object]] = []
    for r in sorted(rows, key=lambda r: (r.created_at, r.id)):
        if not start <= r.created_at < end:
            continue
        deadline = clock.deadline(r)
        left = _left_pending(r)
        breached = deadline is not None and deadline <= now and (left is None or left > deadline)
        wait = clock.to_accept(r, accepted_at[r.id]) if r.id in accepted_at else None
        out.append({
            "handoff": f"H-{r.id}", "created_at": _iso(r.created_at), "team": r.team_id or "",
            "region": r.region or "", "company": r.company, "sdr": r.sdr_id, "ae": r.ae_id,
            "handoff_type": r.handoff_type, "state": str(r.state), "decided_at": _iso(r.decided_at),
            "working_hours_to_accept": "" if wait is None else f"{wait / timedelta(hours=1):.2f}",
            "sla_deadline": _iso(deadline), "sla_breached": "yes" if breached else "no",
            "meeting_outcome": r.meeting_outcome or "", "completed_at": _iso(r.completed_at),
            "reject_reason": REJECT_REASONS.get(r.rejection_reason or "", r.rejection_reason or "")
            if r.state == State.REJECTED else "",
        })
    return out


def _iso(at: datetime | None) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ") if at else ""


# --- words -------------------------------------------------------------------------


def working_duration(amount: timedelta | None) -> str:
    """"3 h 20 min", "45 min", "0 min"; "—" when there is nothing to measure (never "0.0")."""
    if amount is None:
        return "—"
    minutes = int(round(amount.total_seconds() / 60))
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{hours} h {minutes} min"
    if hours:
        return f"{hours} h"
    return f"{minutes} min"


def rate(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


__all__ = [
    "DEFAULT_PERIOD", "EXPORT_COLUMNS", "PERIODS", "Decision", "Figures", "Period", "RepLine", "Stats", "StatsRow",
    "WeekPoint", "build_stats", "export_rows", "figures", "parse_period", "percentile", "rate", "reach",
    "reject_label", "resolve_period", "trend_start", "weekly_trend", "working_duration",
]
