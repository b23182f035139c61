"""Numbers on demand: who may see which figures, and what each person's Home holds.

An SDR or an AE sees their own numbers; a manager their team's and each of its reps'; admins everything.
Anyone else asking is told, politely, what they can see instead.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import NamedTuple

from bot.core.home import (
    PAGE_SIZE,
    Health,
    HomePage,
    Listing,
    ae_missing,
    ae_waiting,
    roles_of,
    sdr_owes,
    state_counts,
)
from bot.core.stats import (
    DEFAULT_PERIOD,
    Period,
    Stats,
    build_stats,
    export_rows,
    own_figures,
    parse_period,
    reach,
    resolve_period,
    trend_weeks,
    weekly_trend,
)
from bot.core.teams import TeamPolicy
from bot.services.context import Context
from storage import heartbeat
from storage import home as home_store
from storage import outbox as outbox_store
from storage import teams as team_store
from storage.stats import Scope, export_inputs, stats_inputs, weekly_counts

PERIOD_WORDS = frozenset({"this", "last", "week", "w", "quarter", "q", "month", "30d", "30"})
USER_REF = re.compile(r"<@([UW][A-Z0-9_]+)(?:\|[^>]*)?>|@?([UW][A-Z0-9_]{2,})")


@dataclass(frozen=True)
class Request:
    """`/handoff stats [@person | team [id] | everyone] [this week | last 30 days | quarter]`, parsed."""

    user_id: str | None = None
    team: bool = False
    team_id: str | None = None  # with team: a named team (admins), else the asker's
    everyone: bool = False
    period: str = DEFAULT_PERIOD


@dataclass(frozen=True)
class Refused:
    text: str


@dataclass(frozen=True)
class Answer:
    stats: Stats
    tz: str  # where its days were counted


@dataclass(frozen=True)
class Export:
    filename: str
    rows: list[dict[str, object]]


def parse_request(words: list[str]) -> Request | Refused:
    """The words after `stats` (or `export`)."""
    rest = list(words)
    request = Request()
    if rest and (match := USER_REF.fullmatch(rest[0])):
        request = replace(request, user_id=match.group(1) or match.group(2))
        rest = rest[1:]
    elif rest and rest[0].lower() == "team":
        request = replace(request, team=True)
        rest = rest[1:]
        if rest and rest[0].lower() not in PERIOD_WORDS:
            request = replace(request, team_id=rest[0].lower())
            rest = rest[1:]
    elif rest and rest[0].lower() in ("everyone", "all"):
        request = replace(request, everyone=True)
        rest = rest[1:]
    period = parse_period(rest)
    if period is None:
        return Refused(f"I don't know the period `{' '.join(rest)[:40]}`: say `this week`, `last 30 days` "
                       "or `quarter`.")
    return replace(request, period=period)


class _Asked(NamedTuple):
    label: str
    scope: Scope
    team: TeamPolicy | None
    tz: str
    now: datetime
    period: Period


class StatsService:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    def _admin(self, user_id: str) -> bool:
        return user_id in self.ctx.installation.admins

    async def _team_for(self, user_id: str) -> TeamPolicy | None:
        return await self.ctx.db.query(team_store.team_for_user, user_id)

    async def _teams(self) -> dict[str, TeamPolicy]:
        return {t.id: t for t in await self.ctx.db.query(team_store.load_teams)}

    async def _target(self, viewer: str, request: Request) -> tuple[str, Scope, TeamPolicy | None] | Refused:
        """(what it is called, whose handoffs, the team whose zone counts the days), or why not."""
        admin = self._admin(viewer)
        mine = await self._team_for(viewer)
        manages = mine if mine is not None and (m := mine.member(viewer)) is not None and m.role == "manager" else None
        if request.everyone:
            if not admin:
                return Refused("Everyone's numbers are for admins. Try `/handoff stats` for yours"
                               + (" or `/handoff stats team` for your team's." if manages else "."))
            return "everyone", Scope(), None
        if request.team:
            team = (await self.ctx.db.query(team_store.get_team, request.team_id)) if request.team_id else mine
            if team is None:
                return Refused(f"There is no team `{request.team_id}`." if request.team_id else
                               "You're not in a team yet; an admin can add you with `/handoff team`.")
            if not admin and (manages is None or manages.id != team.id):
                return Refused(f"{team.name}'s numbers are for its managers and admins. "
                               "Here is what you can see: `/handoff stats` (your own).")
            return f"team {team.name}", Scope(team_id=team.id), team
        user = request.user_id
        if user is None:
            if manages is not None:
                return f"team {manages.name}", Scope(team_id=manages.id), manages
            if admin and mine is None:
                return "everyone", Scope(), None
            user = viewer
        if user != viewer and not admin:
            theirs = await self._team_for(user)
            if manages is None or theirs is None or theirs.id != manages.id:
                return Refused(f"<@{user}>'s numbers are for their team's managers and admins. "
                               "`/handoff stats` shows yours.")
        return f"<@{user}>", Scope(user_id=user), (await self._team_for(user)) if user != viewer else mine

    async def _asked(self, viewer: str, request: Request) -> _Asked | Refused:
        """Whose numbers, over which period, read in which zone (the team's, else the viewer's)."""
        target = await self._target(viewer, request)
        if isinstance(target, Refused):
            return target
        label, scope, team = target
        tz = team.tz if team else await self.ctx.people.tz(viewer, quick=True)
        now = self.ctx.clock.now()
        return _Asked(label, scope, team, tz, now, resolve_period(request.period, now, tz))

    async def stats(self, viewer: str, request: Request) -> Answer | Refused:
        asked = await self._asked(viewer, request)
        if isinstance(asked, Refused):
            return asked
        label, scope, team, tz, now, period = asked
        inputs = await self.ctx.db.query(stats_inputs, scope, [(period.start, period.end),
                                                               (period.previous_start, period.previous_end)],
                                         reach(period))
        weeks = trend_weeks(now, tz)
        trend = weekly_trend(weeks, await self.ctx.db.query(weekly_counts, scope, weeks))
        reps = [(m.user_id, m.role) for m in team.members if m.role in ("sdr", "ae")] \
            if team is not None and scope.team_id else []
        return Answer(build_stats(label, inputs, period, await self._teams(), now, reps, trend), tz)

    async def export(self, viewer: str, request: Request) -> Export | Refused:
        """The period's handoffs as spreadsheet rows, for whoever may see the same figures."""
        asked = await self._asked(viewer, request)
        if isinstance(asked, Refused):
            return asked
        scope, period = asked.scope, asked.period
        rows = await export_between(self.ctx, scope, period.start, period.end)
        name = scope.team_id or scope.user_id or "everyone"
        return Export(f"handoffs-{name}-{period.start:%Y%m%d}-{period.end:%Y%m%d}.csv", rows)

    # --- the Home ------------------------------------------------------------------

    async def listing(self, viewer: str, page: int = 0) -> Listing:
        """One page of the viewer's handoffs; past the end (the list shrank since), the last page."""
        page = max(page, 0)
        handoffs, total = await self.ctx.db.query(home_store.page_for_user, viewer, page, PAGE_SIZE)
        if page > 0 and not handoffs and total:
            page = (total - 1) // PAGE_SIZE
            handoffs, total = await self.ctx.db.query(home_store.page_for_user, viewer, page, PAGE_SIZE)
        return Listing(tuple(handoffs), page, total)

    async def home(self, viewer: str, page: int = 0) -> HomePage:
        ctx = self.ctx
        now = ctx.clock.now()
        team = await self._team_for(viewer)
        roles = roles_of(viewer, team, ctx.installation.admins)
        tz = await ctx.people.tz(viewer, team.tz if team else None, quick=True)
        teams = await self._teams()
        home = HomePage(viewer, tz, now, roles, listing=await self.listing(viewer, page))
        if "sdr" in roles:
            counts = await ctx.db.query(home_store.state_counts, viewer, "sdr")
            period = resolve_period(DEFAULT_PERIOD, now, tz)
            inputs = await ctx.db.query(stats_inputs, Scope(user_id=viewer), [(period.start, period.end)],
                                        reach(period))
            owed, owed_total = await ctx.db.query(home_store.sdr_owed, viewer)
            home = replace(home, owed=sdr_owes(viewer, owed), owed_total=owed_total, by_state=state_counts(counts),
                           own=own_figures(inputs, period, teams, now, viewer))
        if "ae" in roles:
            pending = await ctx.db.query(home_store.ae_waiting, viewer)
            missing, missing_total = await ctx.db.query(home_store.ae_missing, viewer, now)
            home = replace(home, waiting=ae_waiting(viewer, pending, teams, now),
                           missing=ae_missing(viewer, missing, now), missing_total=missing_total)
        if "manager" in roles and team is not None:
            answer = await self.stats(viewer, Request(team=True, period="this week"))
            if isinstance(answer, Answer):
                home = replace(home, team=answer.stats)
        if "admin" in roles:
            beat = await ctx.db.query(heartbeat.last, "tick")
            health = Health(tuple((t.id, t.name, len(t.members)) for t in teams.values()),
                            beat.at if beat else None, await ctx.db.query(outbox_store.counts))
            home = replace(home, health=health)
        return home


async def export_between(ctx: Context, scope: Scope, start: datetime, end: datetime) -> list[dict[str, object]]:
    rows, decisions = await ctx.db.query(export_inputs, scope, start, end)
    teams = {t.id: t for t in await ctx.db.query(team_store.load_teams)}
    return export_rows(rows, decisions, start, end, teams, ctx.clock.now())
