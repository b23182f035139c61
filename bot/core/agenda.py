"""The weekly SDR–sales sync agenda: when it is due, and what it says.

Pure: handoffs, their audit events and the current time in; plain values out. No SQL, no Slack,
no system clock. The audit trail gives the times (submitted, accept, reject); the handoff row
gives the current state.
"""
from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from bot.core.chase import acceptance_deadline
from bot.core.handoff import REJECT_REASONS, Event, Handoff, State
from bot.core.teams import TeamPolicy
from bot.core.working_time import WorkingCalendar, local_to_utc, working_time_between

WEEK = timedelta(days=7)
HOUR = timedelta(hours=1)
DECISIONS = ("accept", "reject")
HELD_OUTCOMES = ("completed", "no_show")  # a reschedule is neither held nor missed


# --- when ----------------------------------------------------------------------


def _require_aware(now: datetime) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(timezone.utc)


def sync_moment(team: TeamPolicy, now: datetime) -> datetime:
    """This ISO week's sync (team.sync_weekday at team.sync_time, wall clock in team.tz), as aware UTC.

    The week is the one `now` falls in *in the team's zone*, so Sunday evening in New York is
    still that week even though it is Monday in UTC.
    """
    zone = ZoneInfo(team.tz)
    local_day = _require_aware(now).astimezone(zone).date()
    monday = local_day - timedelta(days=local_day.weekday())
    day = monday + timedelta(days=team.sync_weekday % 7)
    # Each local time is resolved on its own, so 10:00 stays 10:00 across DST; a time in the
    # spring-forward gap resolves to the instant the clocks jump, like working_time does.
    return local_to_utc(zone, datetime.combine(day, team.sync_time.replace(tzinfo=None, fold=0)))


def agenda_key(team: TeamPolicy, now: datetime) -> str:
    """The once-a-week key, e.g. "agenda:amer:2026-W48" (ISO year-week of the sync, in team.tz)."""
    year, week, _ = sync_moment(team, now).astimezone(ZoneInfo(team.tz)).isocalendar()
    return f"agenda:{team.id}:{year}-W{week:02d}"


def agenda_due(team: TeamPolicy, now: datetime, posted_keys: set[str]) -> str | None:
    """The key to post now, or None. Only the current week counts: missed weeks are not replayed."""
    if _require_aware(now) < sync_moment(team, now):
        return None
    key = agenda_key(team, now)
    return None if key in posted_keys else key


def default_sla_deadline(team: TeamPolicy) -> Callable[[Handoff], datetime | None]:
    """The acceptance deadline as bot.core.chase counts it: sla_hours of working time in the AE's zone
    from sla_start (or creation). Returned for any state, so breaches of decided handoffs show."""

    def deadline(h: Handoff) -> datetime | None:
        start = h.sla_start or h.created_at
        return acceptance_deadline(team, start=start, ae_tz=h.ae_tz) if start else None

    return deadline


# --- what ----------------------------------------------------------------------


@dataclass(frozen=True)
class Waiting:
    handoff: Handoff
    since: datetime  # when it (last) entered pending
    age: timedelta  # working time since then, in the team calendar
    deadline: datetime | None
    sla_state: str  # "on track" | "due in 3h" | "overdue by 5h"
    overdue: bool


@dataclass(frozen=True)
class PipelineItem:
    handoff: Handoff
    overdue: bool


@dataclass(frozen=True)
class Rejection:
    handoff: Handoff
    at: datetime
    by: str | None
    reason: str  # the label, e.g. "No budget"
    feedback: str


@dataclass(frozen=True)
class ActionItem:
    owner: str
    what: str  # "next_step" | "rebook" | "accept"
    handoff: Handoff
    due: datetime | None
    text: str | None = None  # the next step's own words (user text: escape when rendering)
    overdue: bool = False


@dataclass(frozen=True)
class Numbers:
    submitted: int
    accepted: int
    rejected: int
    acceptance_rate: float | None  # accepted / decided among this week's decisions
    median_hours_to_accept: float | None  # working hours, AE's calendar
    sla_breaches: int
    no_shows: int
    meetings_with_outcome: int
    no_show_rate: float | None


@dataclass(frozen=True)
class Agenda:
    week_start: datetime  # now - 7 days
    now: datetime
    created_by_sdr: dict[str, tuple[Handoff, ...]]
    waiting: tuple[Waiting, ...]
    upcoming_meetings: tuple[Handoff, ...]
    pipeline: tuple[PipelineItem, ...]
    no_shows: tuple[Handoff, ...]
    rejections: tuple[Rejection, ...]
    numbers: Numbers
    action_items: tuple[ActionItem, ...]


def _hours(amount: timedelta) -> str:
    hours = amount / HOUR
    if hours < 1:
        return "<1h"
    return f"{hours:.0f}h" if hours >= 10 else f"{hours:.1f}".rstrip("0").rstrip(".") + "h"


def _ae_calendar(team: TeamPolicy, h: Handoff) -> WorkingCalendar:
    return team.calendar(h.ae_tz or team.tz)


def _pending_since(h: Handoff, events: Sequence[Event], before: datetime | None = None) -> datetime:
    """When the handoff last entered pending (submission or resubmission); reassigning keeps it pending."""
    entered = [e.at for e in events
               if e.to_state == State.PENDING and e.from_state != State.PENDING and (before is None or e.at <= before)]
    return max(entered) if entered else h.created_at


def _left_pending(h: Handoff, events: Sequence[Event]) -> datetime | None:
    """When the current revision stopped waiting (accepted, rejected, withdrawn); None if still pending."""
    if h.state == State.PENDING:
        return None
    left = [e.at for e in events if e.from_state == State.PENDING and e.to_state not in (None, State.PENDING)]
    return max(left) if left else (h.decided_at or h.updated_at)


def sla_state(deadline: datetime | None, now: datetime, cal: WorkingCalendar, team: TeamPolicy) -> tuple[str, bool]:
    """("on track" | "due in Xh" | "overdue by Xh", overdue). Hours are working hours in the AE's calendar;
    "due in" starts where the heads-up reminder does."""
    if deadline is None:
        return "on track", False  # the clock has not started (e.g. it starts at the meeting's end)
    if now >= deadline:
        return f"overdue by {_hours(working_time_between(cal, deadline, now))}", True
    left = working_time_between(cal, now, deadline)
    if left <= timedelta(hours=team.sla_hours) * (1 - team.heads_up_fraction):
        return f"due in {_hours(left)}", False
    return "on track", False


def _rejection_of(h: Handoff, event: Event | None, latest: bool) -> Rejection:
    """Reason and feedback: the row's fields if they belong to this rejection (the latest one, and the
    handoff is still rejected), else the audit line ("No budget: feedback", as handlers.decision writes it)."""
    at = event.at if event else (h.decided_at or h.updated_at)
    by = event.actor if event else h.decided_by
    if latest and h.state == State.REJECTED and h.rejection_reason:
        label = REJECT_REASONS.get(h.rejection_reason, h.rejection_reason)
        return Rejection(h, at, by, label, h.rejection_feedback or "")
    text = (event.reason if event else None) or ""
    label, sep, feedback = text.partition(": ")
    if not sep:
        label, feedback = REJECT_REASONS["other"], text
    return Rejection(h, at, by, label, feedback)


_FAR = datetime.max.replace(tzinfo=timezone.utc)  # sorts "no date" last


@dataclass(frozen=True)
class _Week:
    """What every agenda section reads: the rows in creation order, each one's audit trail, and the week."""
    team: TeamPolicy
    now: datetime
    rows: list[Handoff]
    by_id: dict[int, Handoff]
    trails: dict[int, list[Event]]
    events: Sequence[Event]  # as given: the numbers count decisions across all of them

    @property
    def start(self) -> datetime:
        return self.now - WEEK

    def trail(self, h: Handoff) -> list[Event]:
        return self.trails.get(h.id or 0, [])

    def in_week(self, at: datetime | None) -> bool:
        return at is not None and self.start <= at < self.now


def _index(team: TeamPolicy, handoffs: Sequence[Handoff], events: Sequence[Event], now: datetime) -> _Week:
    trails: dict[int, list[Event]] = {}
    for e in sorted(events, key=lambda e: (e.at, e.id or 0)):
        trails.setdefault(e.handoff_id, []).append(e)
    rows = sorted(handoffs, key=lambda h: (h.created_at, h.id or 0))
    return _Week(team, now, rows, {h.id: h for h in rows}, trails, events)


def _created_by_sdr(w: _Week) -> dict[str, tuple[Handoff, ...]]:
    """Handoffs created this week, per SDR."""
    created: dict[str, list[Handoff]] = {}
    for h in w.rows:
        if w.in_week(h.created_at):
            created.setdefault(h.sdr_id, []).append(h)
    return {sdr: tuple(hs) for sdr, hs in created.items()}


def _waiting(w: _Week, sla_deadline: Callable[[Handoff], datetime | None],
             deadlines: dict[int, datetime | None]) -> list[Waiting]:
    """Waiting for acceptance, soonest deadline first. Fills `deadlines` so the numbers reuse them."""
    team_cal = w.team.calendar()
    waiting: list[Waiting] = []
    for h in w.rows:
        if h.state != State.PENDING:
            continue
        since = _pending_since(h, w.trail(h))
        deadline = deadlines[h.id or 0] = sla_deadline(h)
        label, overdue = sla_state(deadline, w.now, _ae_calendar(w.team, h), w.team)
        age = working_time_between(team_cal, since, w.now) if since < w.now else timedelta(0)
        waiting.append(Waiting(h, since, age, deadline, label, overdue))
    waiting.sort(key=lambda x: (x.deadline or _FAR, x.since, x.handoff.id or 0))
    return waiting


def _upcoming(w: _Week) -> list[Handoff]:
    """Meetings in the 7 days ahead that are still on (accepted or awaiting acceptance)."""
    week_end = w.now + WEEK
    return sorted(
        (h for h in w.rows if h.state in (State.ACCEPTED, State.PENDING) and h.meeting_start is not None
         and w.now <= h.meeting_start < week_end),
        key=lambda h: (h.meeting_start, h.id or 0),
    )


def _pipeline(w: _Week) -> list[PipelineItem]:
    """The pipeline by next-step date: overdue ones have the earliest dates, so they come first;
    steps without a date go last."""
    return sorted(
        (PipelineItem(h, h.next_step_due is not None and h.next_step_due < w.now)
         for h in w.rows if h.state == State.ACCEPTED and h.next_step),
        key=lambda p: (p.handoff.next_step_due or _FAR, p.handoff.id or 0),
    )


def _no_shows(w: _Week) -> list[Handoff]:
    """Missed meetings not yet rebooked (a withdrawn handoff needs no rebook)."""
    return [h for h in w.rows
            if h.meeting_outcome == "no_show" and h.completed_at is None and h.state != State.WITHDRAWN]


def _rejections(w: _Week) -> list[Rejection]:
    """Each reject event of the week (a handoff rejected, revised and rejected again shows twice),
    or the row itself when its trail is missing."""
    rejections: list[Rejection] = []
    for h in w.rows:
        all_rejects = [e for e in w.trail(h) if e.action == "reject"]
        if all_rejects:
            rejections.extend(_rejection_of(h, e, e is all_rejects[-1]) for e in all_rejects if w.in_week(e.at))
        elif h.state == State.REJECTED and w.in_week(h.decided_at):
            rejections.append(_rejection_of(h, None, True))
    rejections.sort(key=lambda r: (r.at, r.handoff.id or 0))
    return rejections


def _hours_to_accept(w: _Week, accepted: list[Event]) -> list[float]:
    """Working hours from the SLA clock's start to each acceptance, in the AE's calendar."""
    hours: list[float] = []
    for e in accepted:
        h = w.by_id[e.handoff_id]
        start = h.sla_start if h.sla_start is not None else _pending_since(h, w.trail(h), before=e.at)
        # Accepted before the clock started (e.g. before the meeting ended) counts as 0.
        spent = working_time_between(_ae_calendar(w.team, h), start, e.at) if start < e.at else timedelta(0)
        hours.append(spent / HOUR)
    return hours


def _sla_breaches(w: _Week, sla_deadline: Callable[[Handoff], datetime | None],
                  deadlines: dict[int, datetime | None]) -> int:
    """Deadlines falling this week that passed before the handoff stopped waiting."""
    breaches = 0
    for h in w.rows:
        deadline = deadlines[h.id or 0] if (h.id or 0) in deadlines else sla_deadline(h)
        if deadline is None or not w.in_week(deadline):
            continue
        left = _left_pending(h, w.trail(h))
        if left is None or left > deadline:
            breaches += 1
    return breaches


def _numbers(w: _Week, sla_deadline: Callable[[Handoff], datetime | None],
             deadlines: dict[int, datetime | None]) -> Numbers:
    """The week's numbers."""
    decisions = [e for e in w.events if e.action in DECISIONS and w.in_week(e.at) and e.handoff_id in w.by_id]
    accepted = [e for e in decisions if e.action == "accept"]
    hours_to_accept = _hours_to_accept(w, accepted)
    breaches = _sla_breaches(w, sla_deadline, deadlines)
    held = [h for h in w.rows if h.meeting_outcome in HELD_OUTCOMES and w.in_week(h.outcome_at)]
    missed = sum(1 for h in held if h.meeting_outcome == "no_show")
    return Numbers(
        submitted=sum(1 for h in w.rows if w.in_week(h.created_at)),
        accepted=len(accepted),
        rejected=len(decisions) - len(accepted),
        acceptance_rate=len(accepted) / len(decisions) if decisions else None,
        median_hours_to_accept=statistics.median(hours_to_accept) if hours_to_accept else None,
        sla_breaches=breaches,
        no_shows=missed,
        meetings_with_outcome=len(held),
        no_show_rate=missed / len(held) if held else None,
    )


def _action_items(pipeline: list[PipelineItem], no_shows: list[Handoff], waiting: list[Waiting]) -> list[ActionItem]:
    """Who owes what: next steps (their owner, else the AE), rebooks (the SDR), acceptances (the AE)."""
    items: list[ActionItem] = []
    for p in pipeline:
        h = p.handoff
        items.append(ActionItem(h.next_step_owner or h.ae_id, "next_step", h, h.next_step_due, h.next_step, p.overdue))
    for h in no_shows:
        items.append(ActionItem(h.sdr_id, "rebook", h, None))
    for x in waiting:
        items.append(ActionItem(x.handoff.ae_id, "accept", x.handoff, x.deadline, None, x.overdue))
    items.sort(key=lambda i: (i.owner, i.due or _FAR, i.handoff.id or 0))
    return items


def build_agenda(
    team: TeamPolicy,
    handoffs: Sequence[Handoff],
    events: Sequence[Event],
    now: datetime,
    sla_deadline: Callable[[Handoff], datetime | None],
) -> Agenda:
    """Everything the weekly sync goes through, for the 7 days before `now` and the 7 after."""
    now = _require_aware(now)
    w = _index(team, handoffs, events, now)
    created = _created_by_sdr(w)
    # Deadlines are computed once, for the waiting handoffs, and reused by the numbers.
    deadlines: dict[int, datetime | None] = {}
    waiting = _waiting(w, sla_deadline, deadlines)
    upcoming = _upcoming(w)
    pipeline = _pipeline(w)
    no_shows = _no_shows(w)
    rejections = _rejections(w)
    numbers = _numbers(w, sla_deadline, deadlines)
    return Agenda(
        week_start=w.start,
        now=now,
        created_by_sdr=created,
        waiting=tuple(waiting),
        upcoming_meetings=tuple(upcoming),
        pipeline=tuple(pipeline),
        no_shows=tuple(no_shows),
        rejections=tuple(rejections),
        numbers=numbers,
        action_items=tuple(_action_items(pipeline, no_shows, waiting)),
    )


def week_of(team: TeamPolicy, now: datetime) -> date:
    """The Monday of the sync's week, in the team's zone (for the header)."""
    local = sync_moment(team, now).astimezone(ZoneInfo(team.tz)).date()
    return local - timedelta(days=local.weekday())


__all__ = [
    "ActionItem", "Agenda", "Numbers", "PipelineItem", "Rejection", "Waiting", "agenda_due", "agenda_key",
    "build_agenda", "default_sla_deadline", "sla_state", "sync_moment", "week_of",
]
