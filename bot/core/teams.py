"""Teams as the rules see them: plain values, and the working calendar they imply."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, time
from functools import lru_cache

from bot.core.handoff import REJECT_REASONS
from bot.core.working_time import WorkingCalendar, holiday_dates

ROLES = ("sdr", "ae", "manager")
# Every year a handoff, an SLA or an agenda can plausibly fall in; loaded once per calendar (~0.1 s).
HOLIDAY_YEARS = range(2000, 2101)
SLA_FROM = ("meeting_end", "submission")
EMPTY_AGENDA = ("note", "skip")  # a week with nothing to align on: one short line, or no post
# (id, label) pairs, in the order the reject form lists them.
DEFAULT_REJECT_REASONS: tuple[tuple[str, str], ...] = tuple(REJECT_REASONS.items())


@dataclass(frozen=True)
class Member:
    user_id: str
    role: str  # sdr | ae | manager
    manager_id: str | None = None
    paired_ae_id: str | None = None


@dataclass(frozen=True)
class TeamPolicy:
    id: str
    name: str
    region: str
    channel_id: str
    tz: str
    workdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    day_start: time = time(9, 0)
    day_end: time = time(17, 0)
    holiday_country: str | None = None
    holiday_subdivision: str | None = None
    sync_weekday: int = 0
    sync_time: time = time(10, 0)
    sla_hours: float = 8.0
    sla_from: str = "meeting_end"
    heads_up_fraction: float = 0.75
    escalate_after_hours: float = 4.0
    auto_reassign: bool = False
    outcome_after_hours: float = 2.0
    min_notice_hours: int = 48
    members: tuple[Member, ...] = field(default=())
    reject_reasons: tuple[tuple[str, str], ...] = DEFAULT_REJECT_REASONS
    empty_agenda: str = "note"  # note | skip

    def calendar(self, tz: str | None = None) -> WorkingCalendar:
        """Working time in `tz` (the AE's zone) with this team's days, hours and holidays."""
        return _calendar(tz or self.tz, self.workdays, self.day_start, self.day_end,
                         self.holiday_country, self.holiday_subdivision)

    def member(self, user_id: str) -> Member | None:
        return next((m for m in self.members if m.user_id == user_id), None)

    def manager_of(self, user_id: str) -> str | None:
        member = self.member(user_id)
        return member.manager_id if member else None

    def aes(self) -> list[str]:
        return [m.user_id for m in self.members if m.role == "ae"]

    def reasons(self) -> dict[str, str]:
        """This team's reject reasons, id -> label, in the form's order."""
        return dict(self.reject_reasons)


def reject_reasons_for(team: TeamPolicy | None) -> dict[str, str]:
    """The reasons an AE may give on a handoff of `team` (the default list without a team)."""
    return team.reasons() if team is not None else dict(DEFAULT_REJECT_REASONS)


@lru_cache(maxsize=256)
def _calendar(tz: str, workdays: frozenset[int], start: time, end: time, country: str | None,
              subdivision: str | None) -> WorkingCalendar:
    holidays: frozenset[date] = frozenset()
    if country:
        holidays = holiday_dates(country, subdivision, HOLIDAY_YEARS)
    return WorkingCalendar(tz=tz, workdays=workdays, day_start=start, day_end=end, holidays=holidays)
