"""The weekly SDR–sales sync agenda: when it is due, and what it says.

Pure: handoffs, their audit events and the current time in; plain values out. No SQL, no Slack,
no system clock. The audit trail gives the times (submitted, accept, reject); the handoff row
gives the current state.
"""
from __future__ import annotations

import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from bot.core.chase import acceptance_deadline
from bot.core.handoff import REJECT_REASONS, Event, Handoff, State, rejection_label
from bot.core.teams import TeamPolicy
from bot.core.working_time import WorkingCalendar, local_to_utc, working_duration, working_time_between

WEEK = timedelta(days=7)
HOUR = timedelta(hours=1)
DECISIONS = ("accept", "reject")
HELD_OUTCOMES = ("completed", "no_show")  # a reschedule is neither held nor missed


# --- when ----------------------------------------------------------------------


def _require_aware(now: datetime) -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(timezone.utc)


def _local_week(team: TeamPolicy, now: datetime) -> date:
    """The Monday of the ISO week `now` falls in, in the team's zone."""
    local_day = _require_aware(now).astimezone(ZoneInfo(team.tz)).date()
    return local_day - timedelta(days=local_day.weekday())


def _at(team: TeamPolicy, day: date, wall: time) -> datetime:
    # Each local time is resolved on its own, so 10:00 stays 10:00 across DST; a time in the
    # spring-forward gap resolves to the instant the clocks jump, like working_time does.
    return local_to_utc(ZoneInfo(team.tz), datetime.combine(day, wall.replace(tzinfo=None, fold=0)))


def sync_moment(team: TeamPolicy, now: datetime) -> datetime:
    """This ISO week's sync (team.sync_weekday at team.sync_time, wall clock in team.tz), as aware UTC,
    as configured (before any holiday moves it: see agenda_slot).

    The week is the one `now` falls in *in the team's zone*, so Sunday evening in New York is
    still that week even though it is Monday in UTC.
    """
    monday = _local_week(team, now)
    return _at(team, monday + timedelta(days=team.sync_weekday % 7), team.sync_time)


def agenda_key(team: TeamPolicy, now: datetime) -> str:
    """The once-a-week key, e.g. "agenda:amer:2026-W48" (ISO year-week of the sync, in team.tz)."""
    return _key(team, _local_week(team, now))


def _key(team: TeamPolicy, monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"agenda:{team.id}:{year}-W{week:02d}"


MOVE_LIMIT = 31  # days a sync may move past holidays before it is given up for that week


@dataclass(frozen=True)
class AgendaSlot:
    """When a week's agenda may go out: from the sync time until the end of that working day.

    `day` is the sync day, or the next working day when the sync day is a public holiday or not a
    workday for the team (`moved_from` is then the day it was meant for). The key stays the sync
    week's, so a sync moved into the next week still posts once.
    """

    key: str
    week: date  # the Monday of the sync's ISO week, team zone
    day: date  # the day it goes out, team zone
    opens: datetime  # UTC
    closes: datetime  # UTC
    moved_from: date | None = None


def _is_working_day(team: TeamPolicy, day: date) -> bool:
    return day.weekday() in team.workdays and day not in team.calendar().holidays


def agenda_slot(team: TeamPolicy, week: date) -> AgendaSlot | None:
    """The slot of the sync of the ISO week starting on Monday `week`; None if no working day follows it
    within MOVE_LIMIT days (a calendar of holidays only)."""
    planned = week + timedelta(days=team.sync_weekday % 7)
    day = planned
    while not _is_working_day(team, day):
        day += timedelta(days=1)
        if day - planned > timedelta(days=MOVE_LIMIT):
            return None
    opens = _at(team, day, team.sync_time)
    # Caught up until the end of that working day; a sync set at or after the day's end closes at midnight.
    closes = _at(team, day, team.day_end) if team.sync_time < team.day_end else \
        _at(team, day + timedelta(days=1), time(0, 0))
    return AgendaSlot(_key(team, week), week, day, opens, closes, planned if day != planned else None)


def _slots(team: TeamPolicy, now: datetime) -> list[AgendaSlot]:
    """The slots that can be open or just closed at `now`: this week's sync and last week's (a holiday
    may have moved last week's into this one)."""
    monday = _local_week(team, now)
    slots = (agenda_slot(team, monday - WEEK), agenda_slot(team, monday))
    return [s for s in slots if s is not None]


def agenda_slots(team: TeamPolicy, now: datetime) -> list[str]:
    """The keys agenda_due and agenda_missed may look at for `now` (to read what was claimed)."""
    return [s.key for s in _slots(team, now)]


def agenda_due_slot(team: TeamPolicy, now: datetime, claimed: set[str]) -> AgendaSlot | None:
    """The slot open at `now` whose agenda nobody claimed yet, or None.

    Due only from the sync time to the end of that working day: a first start at 03:00 posts
    nothing, a start at 16:00 the same day catches up, a start the next day does not.
    """
    now = _require_aware(now)
    return next((s for s in _slots(team, now) if s.opens <= now < s.closes and s.key not in claimed), None)


def agenda_due(team: TeamPolicy, now: datetime, claimed: set[str]) -> str | None:
    """The key to post now, or None (see agenda_due_slot)."""
    slot = agenda_due_slot(team, now, claimed)
    return slot.key if slot else None


def agenda_missed(team: TeamPolicy, now: datetime, claimed: set[str]) -> AgendaSlot | None:
    """The latest slot that closed before `now` unclaimed: skipped, not posted days later. The caller
    claims it as skipped so it is logged once; older weeks are not looked at."""
    now = _require_aware(now)
    closed = [s for s in _slots(team, now) if s.closes <= now]
    latest = max(closed, key=lambda s: s.closes, default=None)
    return latest if latest is not None and latest.key not in claimed else None


def agenda_work(team: TeamPolicy, now: datetime, claimed: set[str]) -> bool:
    """Whether a tick at `now` has anything to do about this team's agenda: one due, or one missed to skip."""
    return bool(team.channel_id) and (agenda_due_slot(team, now, claimed) is not None
                                      or agenda_missed(team, now, claimed) is not None)


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
        return f"overdue by {working_duration(working_time_between(cal, deadline, now))}", True
    left = working_time_between(cal, now, deadline)
    if left <= timedelta(hours=team.sla_hours) * (1 - team.heads_up_fraction):
        return f"due in {working_duration(left)}", False
    return "on track", False


def _rejection_of(h: Handoff, event: Event | None, latest: bool) -> Rejection:
    """Reason and feedback: the row's fields if they belong to this rejection (the latest one, and the
    handoff is still rejected), else the audit line ("No budget: feedback", as handlers.decision writes it)."""
    at = event.at if event else (h.decided_at or h.updated_at)
    by = event.actor if event else h.decided_by
    if latest and h.state == State.REJECTED and h.rejection_reason:
        label = rejection_label(h)
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
        try:
            deadline = sla_deadline(h)
        except (ValueError, OverflowError):  # a date past what the arithmetic allows: no deadline to show
            deadline = None
        deadlines[h.id or 0] = deadline
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


def nothing_to_align(agenda: Agenda) -> bool:
    """No section has anything and the week's numbers are all zero: the team's empty_agenda choice applies
    (one short line, or no post) instead of a wall of empty sections."""
    n = agenda.numbers
    return not (agenda.created_by_sdr or agenda.waiting or agenda.upcoming_meetings or agenda.pipeline
                or agenda.no_shows or agenda.rejections or agenda.action_items
                or n.submitted or n.accepted or n.rejected or n.sla_breaches or n.meetings_with_outcome)


def week_of(team: TeamPolicy, now: datetime) -> date:
    """The Monday of the sync's week, in the team's zone (for the header)."""
    local = sync_moment(team, now).astimezone(ZoneInfo(team.tz)).date()
    return local - timedelta(days=local.weekday())


__all__ = [
    "ActionItem", "Agenda", "AgendaSlot", "Numbers", "PipelineItem", "Rejection", "Waiting", "agenda_due",
    "agenda_due_slot", "agenda_key", "agenda_missed", "agenda_slot", "agenda_slots", "build_agenda",
    "default_sla_deadline", "nothing_to_align", "sla_state", "sync_moment", "week_of", "working_duration",
]
