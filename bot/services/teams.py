"""Teams: read for the rules, saved whole by admins (in Slack or from teams.yaml), one transaction each."""
from __future__ import annotations

from dataclasses import dataclass, replace

from bot.core.teams import TeamPolicy
from bot.services.context import Context
from storage import teams as team_store
from storage.teams import MemberConflict

__all__ = ["FormDefaults", "MemberConflict", "Teams"]


@dataclass(frozen=True)
class FormDefaults:
    ae_id: str | None  # the SDR's paired AE
    region: str | None  # their team's
    notice_hours: int  # the minimum notice for outbound meetings: their team's, else the installation's


class Teams:
    def __init__(self, ctx: Context):
        self.ctx = ctx

    async def all(self) -> list[TeamPolicy]:
        return await self.ctx.db.query(team_store.load_teams)

    async def get(self, team_id: str) -> TeamPolicy | None:
        return await self.ctx.db.query(team_store.get_team, team_id)

    async def form_defaults(self, sdr_id: str) -> FormDefaults:
        """What the SDR's form opens with: their paired AE and their team's region (None when not set),
        and the minimum notice the form's rules will ask of their meetings."""
        found = await self.ctx.db.query(team_store.form_defaults, sdr_id)
        if found is None:
            return FormDefaults(None, None, self.ctx.installation.min_notice_hours)
        return FormDefaults(*found)

    async def save(self, team: TeamPolicy) -> bool:
        """True if the team is new. Raises MemberConflict, changing nothing, if a member is in another team.

        The Slack form does not show the reject reasons or the empty-agenda choice (teams.yaml does):
        a team saved from it keeps the ones it has."""
        existing = await self.get(team.id)
        if existing is not None:
            team = replace(team, reject_reasons=existing.reject_reasons, empty_agenda=existing.empty_agenda)
        return await self.ctx.db.run(team_store.save_team, team, self.ctx.clock.now())
