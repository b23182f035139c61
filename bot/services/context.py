"""What every listener needs, built once and handed to each surface's `register`."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.runtime.clock import Clock
from bot.runtime.config import Settings
from bot.runtime.delivery import Deliverer
from bot.runtime.directory import Directory
from bot.core.handoff import Policy
from bot.runtime.tasks import Background, Inflight
from bot.core.teams import TeamPolicy
from storage import teams as team_store
from storage.db import Database


@dataclass
class Deps:
    settings: Settings
    db: Database
    clock: Clock
    directory: Directory
    deliverer: Deliverer
    background: Background
    slack: AsyncWebClient
    inflight: Inflight
    chaser: Any = None  # bot.runtime.scheduler.Chaser, built once the deps exist

    @property
    def admins(self) -> frozenset[str]:
        return self.settings.admins

    @property
    def policy(self) -> Policy:
        return Policy(min_notice_hours=self.settings.min_notice_hours,
                      segment_thresholds=self.settings.segment_thresholds)

    def policy_for(self, team: TeamPolicy | None) -> Policy:
        """The team's minimum notice when the SDR has a team; the installation's default otherwise."""
        if team is None:
            return self.policy
        return Policy(min_notice_hours=team.min_notice_hours, segment_thresholds=self.settings.segment_thresholds)

    async def team_for(self, user_id: str) -> TeamPolicy | None:
        return await self.db.query(team_store.team_for_user, user_id)

    async def team(self, team_id: str | None) -> TeamPolicy | None:
        return await self.db.query(team_store.get_team, team_id) if team_id else None
