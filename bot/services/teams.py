"""Teams: read for the rules, saved whole by admins (in Slack or from teams.yaml), one transaction each."""
from __future__ import annotations

from dataclasses import replace

from bot.core.teams import TeamPolicy
from bot.services.context import Context
from storage import teams as team_store
from storage.teams import MemberConflict

__all__ = ["MemberConflict", "Teams"]


class Teams:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    async def all(self) -> list[TeamPolicy]:
        return await self.ctx.db.query(team_store.load_teams)

    async def get(self, team_id: str) -> TeamPolicy | None:
        return await self.ctx.db.query(team_store.get_team, team_id)

    async def form_defaults(self, sdr_id: str) -> tuple[str | None, str | None]:
        """The paired AE and the region of the SDR's team, prefilled in a new form (None when not set)."""
        return await self.ctx.db.query(team_store.form_defaults, sdr_id)

    async def save(self, team: TeamPolicy) -> bool:
        """True if the team is new. Raises MemberConflict, changing nothing, if a member is in another team.

        The Slack form does not show the reject reasons or the empty-agenda choice (teams.yaml does):
        a team saved from it keeps the ones it has."""
        existing = await self.get(team.id)
        if existing is not None:
            team = replace(team, reject_reasons=existing.reject_reasons, empty_agenda=existing.empty_agenda)
        return await self.ctx.db.run(team_store.save_team, team, self.ctx.clock.now())
