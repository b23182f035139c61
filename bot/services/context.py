"""What every use case is given: the database, the clock, who people are, and the installation's settings."""
from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any, Protocol

from bot.core.clock import Clock
from bot.core.form import Policy
from bot.core.handoff import Person
from bot.core.teams import TeamPolicy
from storage.db import Database


class People(Protocol):
    """Who someone is (time zone, bot or not): Slack's users.info behind a cache, in production."""

    async def person(self, user_id: str, fallback_tz: str | None = None, *, quick: bool = False,
                     fresh: bool = False) -> Person:
        """quick: before an ack; answer within a short deadline, from the cache or the fallback zone if need be.
        fresh: the zone is stored in a record; a cached answer only a few minutes old will do."""
        ...

    async def tz(self, user_id: str, fallback_tz: str | None = None, *, quick: bool = False) -> str: ...

    def pending(self, user_id: str) -> bool:
        """Slack's answer for this user is still on its way: the last quick lookup was a fallback."""
        ...


@dataclass(frozen=True)
class Installation:
    """The settings the rules read, for people who have no team."""

    admins: frozenset[str] = frozenset()
    default_tz: str = "UTC"
    min_notice_hours: int = 48
    segment_thresholds: tuple[int, int] = (100, 2000)
    regions: tuple[str, ...] = ("AMER", "EMEA", "APAC")

    def policy_for(self, team: TeamPolicy | None) -> Policy:
        """The team's minimum notice when the SDR has a team; the installation's default otherwise."""
        notice = team.min_notice_hours if team else self.min_notice_hours
        return Policy(min_notice_hours=notice, segment_thresholds=self.segment_thresholds)


@dataclass(frozen=True)
class Context:
    db: Database
    clock: Clock
    people: People
    installation: Installation
    wake_outbox: Callable[[], None]  # a change owes messages: deliver them now, not at the next poll
    # Work to do after Slack has its ack (kept referenced, awaited at shutdown); None runs nothing later.
    later: Callable[[Coroutine[Any, Any, Any]], object] | None = None
