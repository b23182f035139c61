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


_ZERO = timedelta(0)


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

    def _cumulative(self, at: datetime) -> timedelta:
        i = bisect_right(self.starts, at) - 1
        if i < 0:
            return _ZERO
        return self.before[i] + (min(at, self.ends[i]) - self.starts[i])

    def between(self, start: datetime, end: datetime) -> timedelta:
        lo, hi = self.lo, self.hi
        if not (lo <= start < hi and lo <= end < hi):
            return working_time_between(self.cal, start, end)
        return self._cumulative(end) - self._cumulative(start)

    def add(self, start: datetime, amount: timedelta) -> datetime:
        if amount <= _ZERO or not self.lo <= start < self.hi:
            return add_working_time(self.cal, start, amount)
        target = self._cumulative(start) + amount
        i = bisect_left(self.through, target)
        if i == len(self.through):
            return add_working_time(self.cal, start, amount)  # beyond hi
        return self.starts[i] + (target - self.before[i])


class _Clock:
    """Working-time arithmetic on a WorkingTable per calendar over [lo, hi): a deadline or a wait is two binary
    searches, however many rows ask."""

    def __init__(self, teams: Teams, lo: datetime, hi: datetime):
        self.teams, self.lo, self.hi = teams, lo, hi
        self.tables: dict[WorkingCalendar, WorkingTable] = {}
        self.by_key: dict[tuple[str | None, str | None], tuple[timedelta, WorkingTable]] = {}

    def table(self, team_id: str | None, ae_tz: str | None) -> tuple[timedelta, WorkingTable]:
        """The team's SLA and the working table in the AE's zone (the team's when unknown)."""
        key = (team_id, ae_tz)
        found = self.by_key.get(key)
        if found is None:
            team = self.teams.get(team_id or "", DEFAULT_TEAM)
            cal = team.calendar(ae_tz or team.tz)
            if cal not in self.tables:
                self.tables[cal] = WorkingTable(cal, self.lo, self.hi)
            found = self.by_key[key] = (timedelta(hours=team.sla_hours), self.tables[cal])
        return found

    def sla(self, team_id: str | None, ae_tz: str | None) -> timedelta:
        return self.table(team_id, ae_tz)[0]

    def deadline(self, team_id: str | None, ae_tz: str | None, start: datetime) -> datetime:
        """As bot.core.chase.acceptance_deadline counts it: the team's SLA in working hours, in the AE's zone."""
        sla, table = self.table(team_id, ae_tz)
        return table.add(start, sla)

    def to_accept(self, team_id: str | None, ae_tz: str | None, start: datetime, at: datetime) -> timedelta:
        # Accepted before the clock started (before the meeting ended): no wait.
        return timedelta(0) if start >= at else self.table(team_id, ae_tz)[1].between(start, at)


def clock_for(starts: Sequence[datetime], teams: Teams, now: datetime) -> _Clock:
    """One clock for these SLA starts: tables from the earliest to well past now (deadlines run ahead)."""
    lo = min(starts, default=now) - timedelta(days=1)
    return _Clock(teams, lo, max(now, max(starts, default=now)) + timedelta(days=60))


def _left_pending(row: StatsRow) -> datetime | None:
    return None if row.state == State.PENDING else row.decided_at


# --- what the database counts, per SDR and AE ------------------------------------------
# Plain counts (submitted, meetings held, rejects by reason) come counted from the database, one line per
# (SDR, AE) pair; only what needs working hours comes as rows: the period's accepts (time to accept) and
# the handoffs whose SLA deadline may have passed while they waited (breaches; those waiting now).


class Submitted(NamedTuple):
    sdr_id: str
    ae_id: str
    handoffs: int
    iqms: int  # meeting handoffs no longer waiting
    saos: int  # of those, accepted (now, or ever)


class Held(NamedTuple):
    sdr_id: str
    ae_id: str
    outcome: str  # completed | no_show
    meetings: int


class Rejects(NamedTuple):
    sdr_id: str
    ae_id: str
    reason: str | None  # the audit line, "No budget: feedback"
    rejects: int


class Accept(NamedTuple):
    handoff_id: int
    sdr_id: str
    ae_id: str
    team_id: str | None
    ae_tz: str | None
    start: datetime  # the SLA clock's start (sla_start, else created_at)
    at: datetime
    complete: bool  # the handoff is complete now (met, next step set)


class Clocked(NamedTuple):
    """A handoff still waiting, or decided late enough in a period that its deadline may have passed first."""

    sdr_id: str
    ae_id: str
    team_id: str | None
    ae_tz: str | None
    state: str
    start: datetime
    decided_at: datetime | None


@dataclass(frozen=True)
class PeriodCounts:
    submitted: Sequence[Submitted] = ()
    held: Sequence[Held] = ()
    rejects: Sequence[Rejects] = ()
    accepts: Sequence[Accept] = ()


@dataclass(frozen=True)
class StatsInputs:
    periods: tuple[PeriodCounts, ...]  # in the order asked: the period, then (if asked) the one before
    clocked: Sequence[Clocked]


Pair = tuple[str, str]  # (SDR, AE)


@dataclass
class _Tally:
    """One (SDR, AE) pair's share of one period's figures."""

    submitted: int = 0
    iqms: int = 0
    saos: int = 0
    rejected: int = 0
    waits: list[timedelta] = field(default_factory=list)
    accepted_ids: set[int] = field(default_factory=set)
    complete_ids: set[int] = field(default_factory=set)
    breaches: int = 0
    held: int = 0
    no_shows: int = 0
    reasons: Counter[str] = field(default_factory=Counter)


def _tallies(counts: PeriodCounts, breaches: Mapping[Pair, int], clock: _Clock) -> dict[Pair, _Tally]:
    out: dict[Pair, _Tally] = {}

    def at(sdr: str, ae: str) -> _Tally:
        found = out.get((sdr, ae))
        if found is None:
            found = out[(sdr, ae)] = _Tally()
        return found

    for s in counts.submitted:
        t = at(s.sdr_id, s.ae_id)
        t.submitted += s.handoffs
        t.iqms += s.iqms
        t.saos += s.saos
    for h in counts.held:
        t = at(h.sdr_id, h.ae_id)
        t.held += h.meetings
        t.no_shows += h.meetings if h.outcome == "no_show" else 0
    for r in counts.rejects:
        t = at(r.sdr_id, r.ae_id)
        t.rejected += r.rejects
        t.reasons[reject_label(r.reason)] += r.rejects
    for a in counts.accepts:
        t = at(a.sdr_id, a.ae_id)
        t.waits.append(clock.to_accept(a.team_id, a.ae_tz, a.start, a.at))
        t.accepted_ids.add(a.handoff_id)
        if a.complete:
            t.complete_ids.add(a.handoff_id)
    for pair, n in breaches.items():
        at(*pair).breaches += n
    return out


def _figures(groups: Iterable[tuple[Pair, _Tally]]) -> Figures:
    """A period's figures over these pairs' tallies (a team's: all of them; a rep's: theirs)."""
    per_sdr: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    waits: list[timedelta] = []
    submitted = iqms = saos = accepted = rejected = breaches = held = no_shows = accepted_rows = complete = 0
    for (sdr, _ae), t in groups:
        submitted += t.submitted
        if t.submitted:
            per_sdr[sdr] += t.submitted
        iqms += t.iqms
        saos += t.saos
        accepted += len(t.waits)
        rejected += t.rejected
        waits += t.waits
        accepted_rows += len(t.accepted_ids)  # a handoff is in one pair only
        complete += len(t.complete_ids)
        breaches += t.breaches
        held += t.held
        no_shows += t.no_shows
        reasons.update(t.reasons)
    decided = accepted + rejected
    return Figures(
        submitted=submitted,
        per_sdr=tuple(sorted(per_sdr.items(), key=lambda kv: (-kv[1], kv[0]))),
        accepted=accepted,
        rejected=rejected,
        acceptance_rate=accepted / decided if decided else None,
        accept_median=_median(waits),
        accept_p90=percentile(waits, 0.9),
        sla_breaches=breaches,
        meetings_held=held,
        no_shows=no_shows,
        no_show_rate=no_shows / held if held else None,
        iqms=iqms,
        saos=saos,
        iqm_to_sao=saos / iqms if iqms else None,
        reject_reasons=tuple(sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))),
        completed=complete,
        completion_rate=complete / accepted_rows if accepted_rows else None,
    )


def _breaches(clocked: Sequence[Clocked], periods: Sequence[Period], clock: _Clock,
              now: datetime) -> tuple[list[Counter[Pair]], int]:
    """Per period, the breaches per pair: a deadline that fell in the period (and has passed) before the handoff
    stopped waiting. And how many of those waiting now are past their deadline."""
    out: list[Counter[Pair]] = [Counter() for _ in periods]
    reach = [(i, p.start - DEADLINE_REACH, p.start, p.end) for i, p in enumerate(periods)]
    overdue = 0
    for sdr, ae, team_id, ae_tz, state, start, decided_at in clocked:
        sla, table = clock.table(team_id, ae_tz)
        deadline = None
        if state == State.PENDING:
            left = None
            deadline = table.add(start, sla)
            overdue += deadline <= now
        else:
            left = decided_at
            if left is not None and left - start <= sla:
                continue  # decided within the SLA's length of wall time: within it in working time too
        for i, earliest, begin, end in reach:
            if start >= end or start < earliest:
                continue
            if deadline is None:
                deadline = table.add(start, sla)
            if begin <= deadline < end and deadline <= now and (left is None or left > deadline):
                out[i][(sdr, ae)] += 1
    return out, overdue


def _clock(inputs: StatsInputs, teams: Teams, now: datetime) -> _Clock:
    starts = [c.start for c in inputs.clocked] + [a.start for p in inputs.periods for a in p.accepts]
    return clock_for(starts, teams, now)


def own_figures(inputs: StatsInputs, period: Period, teams: Teams, now: datetime, sdr_id: str) -> Figures:
    """An SDR's own figures for the period (the Home's), from inputs read for the period alone."""
    now = _aware(now)
    clock = _clock(inputs, teams, now)
    [breaches], _overdue = _breaches(inputs.clocked, [period], clock, now)
    tallies = _tallies(inputs.periods[0], breaches, clock)
    return _figures((pair, t) for pair, t in tallies.items() if pair[0] == sdr_id)



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


def build_stats(scope: str, inputs: StatsInputs, period: Period, teams: Teams, now: datetime,
                reps: Iterable[tuple[str, str]] = (), trend: tuple[WeekPoint, ...] = ()) -> Stats:
    """The period against the one before, a line per rep (`reps`: (user, "sdr" | "ae")), the weekly trend.
    `inputs` were read for (the period, the one before)."""
    now = _aware(now)
    clock = _clock(inputs, teams, now)
    (breaches, before_breaches), overdue = _breaches(inputs.clocked, [period, period.previous()], clock, now)
    current = _tallies(inputs.periods[0], breaches, clock)
    previous = _tallies(inputs.periods[1], before_breaches, clock)
    by_rep: dict[tuple[str, str], list[tuple[Pair, _Tally]]] = {}
    for pair, tally in current.items():
        by_rep.setdefault(("sdr", pair[0]), []).append((pair, tally))
        by_rep.setdefault(("ae", pair[1]), []).append((pair, tally))
    waiting = Counter(c.ae_id for c in inputs.clocked if c.state == State.PENDING)
    lines = tuple(RepLine(user, role, _figures(by_rep.get((role, user), [])), waiting[user] if role == "ae" else 0)
                  for user, role in reps)
    return Stats(scope, period, _figures(current.items()), _figures(previous.items()), lines, trend,
                 waiting_now=sum(waiting.values()), overdue_now=overdue)


# --- the export ----------------------------------------------------------------------

EXPORT_COLUMNS = (
    "handoff", "created_at", "team", "region", "company", "sdr", "ae", "handoff_type", "state", "decided_at",
    "working_hours_to_accept", "sla_deadline", "sla_breached", "meeting_outcome", "completed_at", "reject_reason",
)


def export_rows(rows: Sequence[StatsRow], decisions: Sequence[Decision], start: datetime, end: datetime,
                teams: Teams, now: datetime) -> list[dict[str, object]]:
    """One line per handoff submitted in [start, end), for revenue operations' spreadsheet (ISO times, UTC)."""
    clock = clock_for([r.sla_start or r.created_at for r in rows], teams, now)
    accepted_at: dict[int, datetime] = {}
    for d in sorted(decisions, key=lambda d: d.at):
        if d.action == "accept":
            accepted_at[d.handoff_id] = d.at
    out: list[dict[str, object]] = []
    for r in sorted(rows, key=lambda r: (r.created_at, r.id)):
        if not start <= r.created_at < end:
            continue
        start = r.sla_start or r.created_at
        deadline = clock.deadline(r.team_id, r.ae_tz, start)
        left = _left_pending(r)
        breached = deadline <= now and (left is None or left > deadline)
        wait = clock.to_accept(r.team_id, r.ae_tz, start, accepted_at[r.id]) if r.id in accepted_at else None
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
    "DEFAULT_PERIOD", "EXPORT_COLUMNS", "PERIODS", "Accept", "Clocked", "Decision", "Figures", "Held", "Period",
    "PeriodCounts", "Rejects", "RepLine", "Stats", "StatsInputs", "StatsRow", "Submitted", "WeekPoint", "build_stats",
    "export_rows", "own_figures", "parse_period", "percentile", "rate", "reach",
    "reject_label", "resolve_period", "trend_start", "trend_weeks", "weekly_trend", "working_duration",
]
