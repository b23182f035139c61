"""The team's numbers, from the records: handoffs per SDR, acceptance rate, time to accept, SLA breaches,
no-show rate, IQM → SAO conversion, reject reasons, completion rate; per period, per rep, per week.

Pure: slim rows of the handoffs, their decision events, the teams (for working calendars), a period
and the time in; plain values out. Working hours are counted as the agenda and the chase count them
(the AE's zone, the team's days, hours and holidays), with the same deadline.
"""
from __future__ import annotations

import math
import statistics
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import NamedTuple
from zoneinfo import ZoneInfo

from bot.core.chase import DEFAULT_TEAM
from bot.core.handoff import REJECT_REASONS, State
from bot.core.teams import TeamPolicy
from bot.core.working_time import (
    WorkingCalendar,
    add_working_time,
    local_to_utc,
    working_intervals,
    working_time_between,
)

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


def reach(period: Period) -> datetime:
    """What storage needs to read: the handoffs changed since the period before began, and those still waiting.
    Whatever a figure counts (a submission, a decision, an outcome, a deadline passed while waiting) changed
    the handoff inside the period, or left it waiting."""
    return period.previous_start


# --- the records the figures read ------------------------------------------------


class StatsRow(NamedTuple):
    """What the figures read of a handoff: a few columns (a named tuple: tens of thousands are built per answer,
    and a frozen dataclass costs several times as much to build)."""

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


class Decision(NamedTuple):
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


class WorkingTable:
    """A calendar's working periods over [lo, hi) with running totals, so the working time between two instants
    is two binary searches rather than a walk over the days between them: the numbers ask it for every accept
    of a quarter. Built from `working_intervals`, so it counts exactly as `working_time_between` and
    `add_working_time` do (a period's end counts as inside it); outside [lo, hi) they are asked instead."""

    def __init__(self, cal: WorkingCalendar, lo: datetime, hi: datetime):
        self.cal, self.lo, self.hi = cal, lo, hi
        self.starts: list[datetime] = []
        self.ends: list[datetime] = []
        self.before: list[timedelta] = []  # working time before each period, from lo
        self.through: list[timedelta] = []  # ... through its end
        total = timedelta(0)
        for start, end in working_intervals(cal, lo, hi):
            self.starts.append(start)
            self.ends.append(end)
            self.before.append(total)
            total += end - start
            self.through.append(total)

    def _covers(self, *instants: datetime) -> bool:
        return all(self.lo <= t < self.hi for t in instants)

    def _cumulative(self, at: datetime) -> timedelta:
        i = bisect_right(self.starts, at) - 1
        if i < 0:
            return timedelta(0)
        return self.before[i] + (min(at, self.ends[i]) - self.starts[i])

    def between(self, start: datetime, end: datetime) -> timedelta:
        if not self._covers(start, end):
            return working_time_between(self.cal, start, end)
        return self._cumulative(end) - self._cumulative(start)

    def add(self, start: datetime, amount: timedelta) -> datetime:
        if amount <= timedelta(0) or not self._covers(start):
            return add_working_time(self.cal, start, amount)
        target = self._cumulative(start) + amount
        i = bisect_left(self.through, target)
        if i == len(self.through):
            return add_working_time(self.cal, start, amount)  # beyond hi
        return self.starts[i] + (target - self.before[i])


@dataclass
class _Clock:
    """Working-time arithmetic per handoff, computed once per row however many figures (team, period before,
    each rep) ask for it, on a WorkingTable per calendar over [lo, hi)."""

    teams: Teams
    lo: datetime
    hi: datetime
    deadlines: dict[int, datetime | None] = field(default_factory=dict)
    waits: dict[tuple[int, datetime], timedelta] = field(default_factory=dict)
    tables: dict[WorkingCalendar, WorkingTable] = field(default_factory=dict)
    breaches: dict[tuple[int, datetime], bool] = field(default_factory=dict)
    by_row: dict[tuple[str | None, str | None], tuple[TeamPolicy, WorkingTable]] = field(default_factory=dict)

    def _table(self, row: StatsRow) -> tuple[TeamPolicy, WorkingTable]:
        key = (row.team_id, row.ae_tz)
        found = self.by_row.get(key)
        if found is None:
            team = _team(self.teams, row)
            cal = team.calendar(row.ae_tz or team.tz)
            if cal not in self.tables:
                self.tables[cal] = WorkingTable(cal, self.lo, self.hi)
            found = self.by_row[key] = (team, self.tables[cal])
        return found

    def deadline(self, row: StatsRow) -> datetime | None:
        """As bot.core.chase.acceptance_deadline counts it: the team's SLA in working hours, in the AE's zone."""
        if row.id not in self.deadlines:
            team, table = self._table(row)
            self.deadlines[row.id] = table.add(row.sla_start or row.created_at, timedelta(hours=team.sla_hours))
        return self.deadlines[row.id]

    def breached(self, row: StatsRow, period: Period, now: datetime) -> bool:
        """Its deadline fell in the period (and has passed) before the handoff stopped waiting."""
        key = (row.id, period.start)
        if key not in self.breaches:
            self.breaches[key] = self._breached(row, period, now)
        return self.breaches[key]

    def _breached(self, row: StatsRow, period: Period, now: datetime) -> bool:
        start = row.sla_start or row.created_at
        if start >= period.end or start < period.start - DEADLINE_REACH:
            return False
        left = _left_pending(row)
        team = self._table(row)[0]
        if left is not None and left - start <= timedelta(hours=team.sla_hours):
            return False  # decided within the SLA's length of wall time: within it in working time too
        deadline = self.deadline(row)
        if deadline is None or not period.contains(deadline) or deadline > now:
            return False
        return left is None or left > deadline

    def to_accept(self, row: StatsRow, at: datetime) -> timedelta:
        key = (row.id, at)
        if key not in self.waits:
            start = row.sla_start or row.created_at
            # Accepted before the clock started (before the meeting ended): no wait.
            self.waits[key] = timedelta(0) if start >= at else self._table(row)[1].between(start, at)
        return self.waits[key]


def clock_for(rows: Sequence[StatsRow], teams: Teams, now: datetime) -> _Clock:
    """One clock for these rows: tables from the earliest SLA start to well past now (deadlines run ahead)."""
    starts = [r.sla_start or r.created_at for r in rows]
    lo = min(starts, default=now) - timedelta(days=1)
    return _Clock(teams, lo, max(now, max(starts, default=now)) + timedelta(days=60))


def _left_pending(row: StatsRow) -> datetime | None:
    return None if row.state == State.PENDING else row.decided_at


def figures(rows: Sequence[StatsRow], decisions: Sequence[Decision], period: Period, teams: Teams,
            now: datetime, clock: _Clock | None = None, breached: frozenset[int] | None = None) -> Figures:
    """The period's figures over these rows (a team's, a rep's, everyone's) and their decisions."""
    clock = clock or clock_for(rows, teams, now)
    by_id = {r.id: r for r in rows}
    in_period = [d for d in decisions if period.contains(d.at) and d.handoff_id in by_id]
    accepts = [d for d in in_period if d.action == "accept"]
    rejects = [d for d in in_period if d.action == "reject"]
    waits = [clock.to_accept(by_id[d.handoff_id], d.at) for d in accepts]

    submitted = [r for r in rows if period.contains(r.created_at)]
    per_sdr = Counter(r.sdr_id for r in submitted)

    if breached is None:
        breaches = sum(1 for r in rows if clock.breached(r, period, now))
    else:  # worked out once for the whole team, counted here for a rep
        breaches = sum(1 for r in rows if r.id in breached)

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


def trend_weeks(now: datetime, tz: str, weeks: int = TREND_WEEKS) -> list[tuple[date, datetime, datetime]]:
    """The last `weeks` weeks (this one last), each (its Monday in `tz`, start, end) in UTC, for storage to count."""
    zone = ZoneInfo(tz)
    first = trend_start(now, tz, weeks).astimezone(zone).date()
    mondays = [first + timedelta(days=7 * i) for i in range(weeks + 1)]
    bounds = [_local_midnight(zone, m) for m in mondays]
    return [(mondays[i], bounds[i], bounds[i + 1]) for i in range(weeks)]


def weekly_trend(weeks: Sequence[tuple[date, datetime, datetime]],
                 counts: Sequence[tuple[int, int, int]]) -> tuple[WeekPoint, ...]:
    """Handoffs submitted, accepted and rejected per week, the oldest first, from storage's counts."""
    return tuple(WeekPoint(monday, *count) for (monday, _start, _end), count in zip(weeks, counts, strict=True))


# --- the whole answer --------------------------------------------------------------


def build_stats(scope: str, rows: Sequence[StatsRow], decisions: Sequence[Decision], period: Period, teams: Teams,
                now: datetime, reps: Iterable[tuple[str, str]] = (), trend: tuple[WeekPoint, ...] = ()) -> Stats:
    """The period against the one before, a line per rep (`reps`: (user, "sdr" | "ae")), the weekly trend."""
    now = _aware(now)
    clock = clock_for(rows, teams, now)
    breached = frozenset(r.id for r in rows if clock.breached(r, period, now))
    current = figures(rows, decisions, period, teams, now, clock, breached)
    previous = figures(rows, decisions, period.previous(), teams, now, clock)
    # Each rep's rows and decisions, bucketed in one pass (not filtered again per rep).
    owners = {r.id: r for r in rows}
    own_rows: dict[tuple[str, str], list[StatsRow]] = {}
    own_decisions: dict[tuple[str, str], list[Decision]] = {}
    for r in rows:
        own_rows.setdefault(("sdr", r.sdr_id), []).append(r)
        own_rows.setdefault(("ae", r.ae_id), []).append(r)
    for d in decisions:
        if (row := owners.get(d.handoff_id)) is not None and period.contains(d.at):
            own_decisions.setdefault(("sdr", row.sdr_id), []).append(d)
            own_decisions.setdefault(("ae", row.ae_id), []).append(d)
    lines = []
    for user, role in reps:
        own = own_rows.get((role, user), [])
        waiting = sum(1 for r in own if r.state == State.PENDING) if role == "ae" else 0
        lines.append(RepLine(user, role, figures(own, own_decisions.get((role, user), []), period, teams, now, clock,
                                                 breached), waiting))
    pending = [r for r in rows if r.state == State.PENDING]
    overdue = 0
    for r in pending:
        deadline = clock.deadline(r)
        overdue += deadline is not None and deadline <= now
    return Stats(scope, period, current, previous, tuple(lines), trend,
                 waiting_now=len(pending), overdue_now=overdue)


# --- the export ----------------------------------------------------------------------

EXPORT_COLUMNS = (
    "handoff", "created_at", "team", "region", "company", "sdr", "ae", "handoff_type", "state", "decided_at",
    "working_hours_to_accept", "sla_deadline", "sla_breached", "meeting_outcome", "completed_at", "reject_reason",
)


def export_rows(rows: Sequence[StatsRow], decisions: Sequence[Decision], start: datetime, end: datetime,
                teams: Teams, now: datetime) -> list[dict[str, object]]:
    """One line per handoff submitted in [start, end), for revenue operations' spreadsheet (ISO times, UTC)."""
    clock = clock_for(rows, teams, now)
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
    "reject_label", "resolve_period", "trend_start", "trend_weeks", "weekly_trend", "working_duration",
]
