"""What the scheduler chases, and when: pure rules over one handoff, its team and the time.

Each reminder has a key that names what must not happen twice (handoff, revision or meeting,
step). After downtime only the most advanced step of a ladder is posted; the earlier ones it
supersedes are claimed without posting, so nobody gets three stale reminders at once.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from bot.core.handoff import MEETING_MINUTES, State
from bot.core.teams import TeamPolicy
from bot.core.working_time import WorkingCalendar, add_working_time, next_working_moment

CHANNEL = "#channel"  # audience: the team channel, in the handoff's announcement thread
CARD = "#card"  # audience: the AE's card, updated in place
REBOOK_EVERY_WORKDAYS = 2
REBOOK_FOR = timedelta(days=14)

DEFAULT_TEAM = TeamPolicy(id="", name="No team", region="", channel_id="", tz="UTC")


@dataclass(frozen=True)
class ChaseFacts:
    """What the chase reads of a handoff."""

    id: int
    state: str
    revision: int
    sdr_id: str
    ae_id: str
    ae_tz: str | None
    created_at: datetime
    sla_start: datetime | None
    meeting_start: datetime | None
    meeting_kind: str | None
    meeting_outcome: str | None
    outcome_at: datetime | None
    next_step_due: datetime | None
    next_step_owner: str | None
    completed_at: datetime | None


@dataclass(frozen=True)
class Reminder:
    key: str
    kind: str  # heads_up | overdue | escalation | meeting_over | outcome_missing | rebook | close_or_keep | next_step_overdue
    to: tuple[str, ...]  # user ids, CHANNEL, CARD
    since: datetime  # when it became owed
    deadline: datetime | None = None


@dataclass(frozen=True)
class ChasePlan:
    due: list[Reminder] = field(default_factory=list)
    superseded: list[Reminder] = field(default_factory=list)
    next_check_at: datetime | None = None
    reassign_to: str | None = None  # the next AE in turn, when the team reassigns on escalation


def meeting_end(meeting_start: datetime | None, meeting_kind: str | None) -> datetime | None:
    if meeting_start is None:
        return None
    return meeting_start + timedelta(minutes=MEETING_MINUTES.get(meeting_kind or "", 30))


def sla_start(team: TeamPolicy, *, at: datetime, meeting_end_at: datetime | None) -> datetime:
    """When the acceptance clock starts: at submission (or reassignment), or at the end of the meeting."""
    if team.sla_from == "meeting_end" and meeting_end_at is not None and meeting_end_at > at:
        return meeting_end_at
    return at


def workday_length(team: TeamPolicy) -> timedelta:
    end = team.day_end or time(23, 59, 59, 999999)
    hours = end.hour - team.day_start.hour + (end.minute - team.day_start.minute) / 60
    return timedelta(hours=hours)


def acceptance_deadline(team: TeamPolicy, *, start: datetime, ae_tz: str | None) -> datetime:
    """When the AE owes an accept or reject: the team's SLA in working hours, in the AE's zone."""
    return add_working_time(team.calendar(ae_tz or team.tz), start, timedelta(hours=team.sla_hours))


def acceptance_steps(h: ChaseFacts, team: TeamPolicy, cal: WorkingCalendar, managers: tuple[str, ...]) -> list[Reminder]:
    start = h.sla_start or h.created_at
    sla = timedelta(hours=team.sla_hours)
    deadline = acceptance_deadline(team, start=start, ae_tz=h.ae_tz)
    heads_up = add_working_time(cal, start, sla * team.heads_up_fraction)
    escalate = add_working_time(cal, deadline, timedelta(hours=team.escalate_after_hours))
    base = f"h{h.id}:r{h.revision}"
    escalation_to = managers + ((CHANNEL,) if team.channel_id else ())
    return [
        Reminder(f"{base}:heads_up", "heads_up", (h.ae_id,), heads_up, deadline),
        Reminder(f"{base}:overdue", "overdue", (h.ae_id,), deadline, deadline),
        Reminder(f"{base}:escalation", "escalation", escalation_to or (h.ae_id,), escalate, deadline),
    ]


def after_meeting_steps(h: ChaseFacts, team: TeamPolicy, cal: WorkingCalendar) -> list[list[Reminder]]:
    """Ladders of reminders after the meeting; within a ladder a later step supersedes an earlier one."""
    end = meeting_end(h.meeting_start, h.meeting_kind)
    ladders: list[list[Reminder]] = []
    if end is None or h.completed_at is not None:
        return ladders
    base = f"h{h.id}:m{int(h.meeting_start.timestamp())}"  # type: ignore[union-attr]
    if h.meeting_outcome is None:
        ladders.append([Reminder(f"{base}:over", "meeting_over", (CARD,), end)])
        owed = add_working_time(cal, end, timedelta(hours=team.outcome_after_hours))
        ladders.append([Reminder(f"{base}:outcome", "outcome_missing", (h.ae_id,), owed)])
    elif h.meeting_outcome == "no_show" and h.outcome_at is not None:
        # "Keep it" restarts the ladder from a new outcome_at: its steps are new keys.
        base = f"{base}:noshow{int(h.outcome_at.timestamp())}"
        ladder = []
        step = workday_length(team) * REBOOK_EVERY_WORKDAYS
        until = h.outcome_at + REBOOK_FOR
        n, at = 1, add_working_time(cal, h.outcome_at, step)
        while at <= until:
            ladder.append(Reminder(f"{base}:rebook{n}", "rebook", (h.sdr_id,), at))
            n, at = n + 1, add_working_time(cal, at, step)
        ladder.append(Reminder(f"{base}:close_or_keep", "close_or_keep", (h.ae_id,), next_working_moment(cal, until)))
        ladders.append(ladder)
    return ladders


def plan_chase(h: ChaseFacts, team: TeamPolicy | None, now: datetime, managers: tuple[str, ...] = ()) -> ChasePlan:
    """The reminders due now for this handoff, and when to look at it again (None: nothing left to chase)."""
    team = team or DEFAULT_TEAM
    cal = team.calendar(h.ae_tz or team.tz)
    ladders: list[list[Reminder]] = []
    if h.state == State.PENDING:
        ladders.append(acceptance_steps(h, team, cal, managers))
    elif h.state == State.ACCEPTED:
        ladders.extend(after_meeting_steps(h, team, cal))
        if h.next_step_due is not None and h.next_step_owner:
            key = f"h{h.id}:ns{int(h.next_step_due.timestamp())}"
            ladders.append([Reminder(key, "next_step_overdue", (h.next_step_owner,), h.next_step_due)])
    due: list[Reminder] = []
    superseded: list[Reminder] = []
    upcoming: list[datetime] = []
    for ladder in ladders:
        passed = [r for r in ladder if r.since <= now]
        if passed:
            due.append(passed[-1])
            superseded.extend(passed[:-1])
        upcoming.extend(r.since for r in ladder if r.since > now)
    reassign_to = None
    if team.auto_reassign and any(r.kind == "escalation" for r in due):
        reassign_to = next_in_turn(team.aes(), h.ae_id)
    return ChasePlan(due, superseded, min(upcoming) if upcoming else None, reassign_to)


def next_in_turn(aes: list[str], current: str) -> str | None:
    others = [a for a in aes if a != current]
    if not others:
        return None
    if current in aes:
        i = aes.index(current)
        for candidate in aes[i + 1:] + aes[:i]:
            if candidate != current:
                return candidate
    return others[0]


def assignment(team: TeamPolicy | None, *, ae_tz: str, at: datetime, meeting_start: datetime | None,
               meeting_kind: str | None) -> dict[str, object]:
    """What a (new or re-)assignment to an AE stores for the chase: the team, the AE's zone, the SLA start."""
    return {
        "team_id": team.id if team else None,
        "ae_tz": ae_tz,
        "sla_start": sla_start(team or DEFAULT_TEAM, at=at, meeting_end_at=meeting_end(meeting_start, meeting_kind)),
    }
