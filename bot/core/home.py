"""What each person's Home says, by role: an SDR's debts and figures, an AE's queue with its SLA clock,
a manager's team numbers, an admin's teams and health. Pure: records and the time in, plain values out.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from bot.core.agenda import sla_state
from bot.core.chase import DEFAULT_TEAM, acceptance_deadline
from bot.core.handoff import STATE_LABELS, Handoff, State
from bot.core.stats import Figures, Stats
from bot.core.teams import TeamPolicy

PAGE_SIZE = 20


@dataclass(frozen=True)
class Owed:
    handoff: Handoff
    what: str  # rebook | revise | outcome | next_step
    overdue: bool = False


@dataclass(frozen=True)
class Waiting:
    handoff: Handoff
    deadline: datetime | None
    sla: str  # "on track" | "due in 3h" | "overdue by 5h"
    overdue: bool


@dataclass(frozen=True)
class Health:
    teams: tuple[tuple[str, str, int], ...]  # (id, name, members)
    last_tick: datetime | None
    outbox: Mapping[str, int]  # status -> rows

    @property
    def backlog(self) -> int:
        return self.outbox.get("pending", 0) + self.outbox.get("sending", 0)

    @property
    def stuck(self) -> int:
        return self.outbox.get("dead", 0) + self.outbox.get("unknown", 0)


@dataclass(frozen=True)
class Listing:
    """One page of the person's handoffs, newest first."""

    handoffs: tuple[Handoff, ...]
    page: int
    total: int
    size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))


@dataclass(frozen=True)
class HomePage:
    user_id: str
    tz: str
    now: datetime
    roles: frozenset[str]  # sdr | ae | manager | admin
    owed: tuple[Owed, ...] = ()  # the first few; owed_total counts them all
    owed_total: int = 0
    by_state: tuple[tuple[str, int], ...] = ()
    own: Figures | None = None  # the SDR's own figures, last 30 days
    waiting: tuple[Waiting, ...] = ()
    missing: tuple[Owed, ...] = ()  # the first few; missing_total counts them all
    missing_total: int = 0
    team: Stats | None = None  # a manager's team
    chart_file: str | None = None  # the trend chart, uploaded (a Slack file id)
    health: Health | None = None
    listing: Listing | None = None


def roles_of(user_id: str, team: TeamPolicy | None, admins: frozenset[str]) -> frozenset[str]:
    """The person's role in their team, plus admin; someone with no team sees both sides of their handoffs."""
    roles: set[str] = {"admin"} if user_id in admins else set()
    member = team.member(user_id) if team else None
    roles.add(member.role if member else "sdr")
    if not member:
        roles.add("ae")
    return frozenset(roles)


def sdr_owes(user_id: str, open_handoffs: Sequence[Handoff]) -> tuple[Owed, ...]:
    """What an SDR owes: no-shows to rebook, rejections to revise or withdraw."""
    owed = []
    for h in open_handoffs:
        if h.sdr_id != user_id:
            continue
        if h.state == State.ACCEPTED and h.meeting_outcome == "no_show" and h.completed_at is None:
            owed.append(Owed(h, "rebook"))
        elif h.state == State.REJECTED:
            owed.append(Owed(h, "revise"))
    return tuple(owed)


def state_counts(counts: Mapping[str, int]) -> tuple[tuple[str, int], ...]:
    return tuple((STATE_LABELS[s], counts.get(s.value, 0)) for s in State if counts.get(s.value, 0))


def ae_waiting(user_id: str, open_handoffs: Sequence[Handoff], teams: Mapping[str, TeamPolicy],
               now: datetime) -> tuple[Waiting, ...]:
    """Pending on this AE, the nearest deadline first, each with its SLA clock in working hours."""
    out = []
    for h in open_handoffs:
        if h.ae_id != user_id or h.state != State.PENDING:
            continue
        team = teams.get(h.team_id or "", DEFAULT_TEAM)
        deadline = acceptance_deadline(team, start=h.sla_start or h.created_at, ae_tz=h.ae_tz)
        label, overdue = sla_state(deadline, now, team.calendar(h.ae_tz or team.tz), team)
        out.append(Waiting(h, deadline, label, overdue))
    out.sort(key=lambda w: (w.deadline or now, w.handoff.id))
    return tuple(out)


def ae_missing(user_id: str, open_handoffs: Sequence[Handoff], now: datetime) -> tuple[Owed, ...]:
    """Accepted meetings that are over and have no outcome, or were held and have no next step."""
    out = []
    for h in open_handoffs:
        if h.ae_id != user_id or h.state != State.ACCEPTED or h.completed_at is not None:
            continue
        end = h.meeting_end
        if h.meeting_outcome is None and end is not None and end <= now:
            out.append(Owed(h, "outcome", overdue=True))
        elif h.meeting_outcome == "completed" and not h.next_step:
            out.append(Owed(h, "next_step"))
    out.sort(key=lambda o: (o.handoff.meeting_start or now, o.handoff.id))
    return tuple(out)


__all__ = ["PAGE_SIZE", "Health", "HomePage", "Listing", "Owed", "Waiting", "ae_missing", "ae_waiting", "roles_of",
           "sdr_owes", "state_counts"]
