"""What the scheduler chases, and when: pure rules over one handoff, its team and the time.

Each reminder has a key that names what must not happen twice (handoff, revision or meeting,
step). After downtime only the most advanced step of a ladder is posted, so nobody gets three stale
reminders at once; the earlier ones it passes over are never posted (the ladder only moves on).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from typing import Any

from bot.core.handoff import Handoff, State, meeting_end
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
    team_id: str | None = None
    next_check_at: datetime | None = None


ACCEPTANCE_KINDS = ("heads_up", "overdue", "escalation")
MEETING_KINDS = ("meeting_over", "outcome_missing")
NO_SHOW_KINDS = ("rebook", "close_or_keep")


@dataclass(frozen=True)
class Reminder:
    key: str  # names what must not happen twice
    # heads_up | overdue | escalation | meeting_over | outcome_missing | rebook | close_or_keep | next_step_overdue
    kind: str
    to: tuple[str, ...]  # user ids, CHANNEL, CARD
    since: datetime  # when it became owed
    deadline: datetime | None = None
    subject: int = 0  # what it is about: the revision (acceptance), the meeting's or the next step's epoch
    ae: str | None = None  # who owed it when it was claimed
    reassign_to: str | None = None  # an escalation's auto-reassignment: to whom it moved

    def to_payload(self) -> dict[str, Any]:
        return {"kind": self.kind, "key": self.key, "subject": self.subject, "since": self.since.isoformat(),
                "deadline": self.deadline.isoformat() if self.deadline else None, "ae": self.ae,
                "reassign_to": self.reassign_to}

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> Reminder:
        subject = data.get("subject")
        if not isinstance(subject, int):  # claimed before reminders carried their subject
            match = re.search(r":(?:r|m|ns)(\d+)", data["key"])
            subject = int(match.group(1)) if match else 0
        deadline = data.get("deadline")
        return cls(data["key"], data["kind"], (), datetime.fromisoformat(data["since"]),
                   datetime.fromisoformat(deadline) if deadline else None, subject, data.get("ae"),
                   data.get("reassign_to"))


def _epoch(at: datetime | None) -> int | None:
    return int(at.timestamp()) if at is not None else None


def still_owed(r: Reminder, h: Handoff) -> bool:
    """Whether what the reminder asks for is still owed: a settled matter is not chased, even if queued."""
    if r.kind in ACCEPTANCE_KINDS:
        return h.state == State.PENDING and r.subject == h.revision
    if r.kind in MEETING_KINDS:
        return h.state == State.ACCEPTED and h.meeting_outcome is None and r.subject == _epoch(h.meeting_start)
    if r.kind in NO_SHOW_KINDS:
        return (h.state == State.ACCEPTED and h.meeting_outcome == "no_show"
                and r.subject == _epoch(h.meeting_start))
    if r.kind == "next_step_overdue":
        return h.state == State.ACCEPTED and r.subject == _epoch(h.next_step_due)
    return True


def auto_reassigned(r: Reminder, h: Handoff) -> bool:
    """An escalation whose own tick handed the handoff to the next AE: still news for the manager and channel."""
    return (r.kind == "escalation" and bool(r.reassign_to) and h.state == State.PENDING
            and h.ae_id == r.reassign_to and r.subject == h.revision - 1)


@dataclass(frozen=True)
class ChasePlan:
    due: list[Reminder] = field(default_factory=list)
    next_check_at: datetime | None = None
    reassign_to: str | None = None  # the next AE in turn, when the team reassigns on escalation
    # By due step's key: the earlier steps of its ladder it passes over (never posted, and never stored: the
    # ladder only moves on), and the later ones still ahead. One of those claimed already means the ladder
    # went past this step before its times moved later (a longer SLA, a new holiday): it is not posted.
    passed_over: dict[str, tuple[Reminder, ...]] = field(default_factory=dict)
    ahead: dict[str, tuple[Reminder, ...]] = field(default_factory=dict)


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


def acceptance_steps(h: ChaseFacts, team: TeamPolicy, cal: WorkingCalendar,
                     managers: tuple[str, ...]) -> list[Reminder]:
    start = h.sla_start or h.created_at
    sla = timedelta(hours=team.sla_hours)
    deadline = add_working_time(cal, start, sla)  # acceptance_deadline: `cal` is the AE's calendar
    heads_up = add_working_time(cal, start, sla * team.heads_up_fraction)
    escalate = add_working_time(cal, deadline, timedelta(hours=team.escalate_after_hours))
    base = f"h{h.id}:r{h.revision}"
    escalation_to = managers + ((CHANNEL,) if team.channel_id else ())
    return [
        Reminder(f"{base}:heads_up", "heads_up", (h.ae_id,), heads_up, deadline, h.revision, h.ae_id),
        Reminder(f"{base}:overdue", "overdue", (h.ae_id,), deadline, deadline, h.revision, h.ae_id),
        Reminder(f"{base}:escalation", "escalation", escalation_to or (h.ae_id,), escalate, deadline, h.revision,
                 h.ae_id),
    ]


def after_meeting_steps(h: ChaseFacts, team: TeamPolicy, cal: WorkingCalendar) -> list[list[Reminder]]:
    """Ladders of reminders after the meeting; within a ladder a later step supersedes an earlier one."""
    end = meeting_end(h.meeting_start, h.meeting_kind)
    ladders: list[list[Reminder]] = []
    if end is None or h.completed_at is not None:
        return ladders
    meeting = _epoch(h.meeting_start) or 0
    base = f"h{h.id}:m{meeting}"
    if h.meeting_outcome is None:
        ladders.append([Reminder(f"{base}:over", "meeting_over", (CARD,), end, subject=meeting, ae=h.ae_id)])
        owed = add_working_time(cal, end, timedelta(hours=team.outcome_after_hours))
        ladders.append([Reminder(f"{base}:outcome", "outcome_missing", (h.ae_id,), owed, subject=meeting,
                                 ae=h.ae_id)])
    elif h.meeting_outcome == "no_show" and h.outcome_at is not None:
        # "Keep it" restarts the ladder from a new outcome_at: its steps are new keys.
        base = f"{base}:noshow{int(h.outcome_at.timestamp())}"
        ladder = []
        step = workday_length(team) * REBOOK_EVERY_WORKDAYS
        until = h.outcome_at + REBOOK_FOR
        n, at = 1, add_working_time(cal, h.outcome_at, step)
        while at <= until:
            ladder.append(Reminder(f"{base}:rebook{n}", "rebook", (h.sdr_id,), at, subject=meeting, ae=h.ae_id))
            n, at = n + 1, add_working_time(cal, at, step)
        ladder.append(Reminder(f"{base}:close_or_keep", "close_or_keep", (h.ae_id,), next_working_moment(cal, until),
                               subject=meeting, ae=h.ae_id))
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
            due_at = _epoch(h.next_step_due) or 0
            ladders.append([Reminder(f"h{h.id}:ns{due_at}", "next_step_overdue", (h.next_step_owner,), h.next_step_due,
                                     subject=due_at, ae=h.ae_id)])
    due: list[Reminder] = []
    passed_over: dict[str, tuple[Reminder, ...]] = {}
    ahead: dict[str, tuple[Reminder, ...]] = {}
    next_check_at: datetime | None = None
    for ladder in ladders:
        passed = [r for r in ladder if r.since <= now]
        coming = [r for r in ladder if r.since > now]
        if passed:
            step = passed[-1]
            due.append(step)
            passed_over[step.key] = tuple(passed[:-1])
            ahead[step.key] = tuple(coming)
        for r in coming:
            if next_check_at is None or r.since < next_check_at:
                next_check_at = r.since
    reassign_to = None
    if team.auto_reassign and any(r.kind == "escalation" for r in due):
        reassign_to = next_in_turn(team.aes(), h.ae_id)
        due = [replace(r, reassign_to=reassign_to) if r.kind == "escalation" else r for r in due]
    return ChasePlan(due, next_check_at, reassign_to, passed_over, ahead)


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
