"""Per workspace: a Slack client with its bot token, a users.info cache and the use cases, on a database view
that sees only that workspace (storage.scoping). One entry, "", without OAuth; one per installation with it."""
from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.core.agenda import agenda_work
from bot.core.clock import Clock
from bot.core.workspaces import SINGLE
from bot.runtime.directory import Directory
from bot.runtime.installs import InstallationStore
from bot.services import Services
from bot.services.chase import Chaser, TickReport
from bot.services.context import Context, Installation
from bot.services.handoffs import Handoffs
from bot.services.stats import StatsService
from bot.services.teams import Teams
from storage import heartbeat
from storage.db import Database
from storage.workspaces import tick_survey


@dataclass
class Workspace:
    key: str
    client: AsyncWebClient
    directory: Directory
    services: Services


class Workspaces:
    def __init__(self, db: Database, clock: Clock, base_client: AsyncWebClient, installation: Installation,
                 default_tz: str, lookup_seconds: float, wake_outbox: Callable[[], None],
                 later: Callable[[Coroutine[Any, Any, Any]], object] | None,
                 store: InstallationStore | None = None):
        self.db = db
        self.clock = clock
        self.base_client = base_client  # its token is the single workspace's; its connection pool is everyone's
        self.installation = installation
        self.default_tz = default_tz
        self.lookup_seconds = lookup_seconds
        self.wake_outbox = wake_outbox
        self.later = later
        self.store = store  # None: one workspace, SLACK_BOT_TOKEN
        self._entries: dict[str, Workspace] = {}
        if store is None:
            self._entries[SINGLE] = self._make(SINGLE, base_client)

    def for_request(self, key: str, bot_token: str | None) -> Workspace:
        """The workspace a request came from, with the token Bolt's authorize found for it."""
        if self.store is None:
            return self._entries[SINGLE]
        return self._entry(key, bot_token)

    def services_for(self, key: str, bot_token: str | None) -> Services:
        return self.for_request(key, bot_token).services

    @property
    def single(self) -> Workspace | None:
        return self._entries.get(SINGLE) if self.store is None else None

    async def get(self, key: str) -> Workspace | None:
        """The workspace with its current bot token; None once it is no longer installed."""
        if self.store is None:
            return self._entries.get(key)
        bot = await self.store.async_find_bot_for(key)
        if bot is None or not bot.bot_token:
            return None
        return self._entry(key, bot.bot_token)

    def _entry(self, key: str, token: str | None) -> Workspace:
        entry = self._entries.get(key)
        if entry is None:
            client = AsyncWebClient(token=token, base_url=self.base_client.base_url, timeout=self.base_client.timeout,
                                    retry_handlers=list(self.base_client.retry_handlers))
            entry = self._entries[key] = self._make(key, client)
        elif token and entry.client.token != token:  # reinstalled, or a rotated token
            entry.client.token = token
        entry.client.session = self.base_client.session  # one connection pool for every Slack call
        return entry

    def _make(self, key: str, client: AsyncWebClient) -> Workspace:
        directory = Directory(client, self.default_tz, quick_seconds=self.lookup_seconds)
        ctx = Context(db=self.db.scoped(key), clock=self.clock, people=directory, installation=self.installation,
                      wake_outbox=self.wake_outbox, later=self.later)
        handoffs = Handoffs(ctx)
        services = Services(ctx, handoffs, Teams(ctx), Chaser(ctx, handoffs), StatsService(ctx))
        return Workspace(key, client, directory, services)

    async def tick(self) -> TickReport:
        """The scheduler's pass. With OAuth, over each installed workspace with a handoff due a look or an
        agenda to post or skip, each in its own scope (one workspace's teams never plan another's reminders);
        which ones is read once for all, so a workspace with nothing to do costs the tick nothing."""
        if self.store is None:
            return await self._entries[SINGLE].services.chaser.tick()
        now = self.clock.now()
        survey = await self.db.query(tick_survey, now)
        installed = await self.db.query(self.store.installed)
        busy = survey.due | {key for key, teams in survey.teams.items()
                             if any(agenda_work(t, now, survey.claimed.get(key, set())) for t in teams)}
        total = TickReport()
        for key in sorted(busy & installed):
            workspace = await self.get(key)
            if workspace is None:
                continue
            report = await workspace.services.chaser.tick(reminders=key in survey.due, beat=False)
            total.examined += report.examined
            total.reminders += report.reminders
            total.superseded += report.superseded
            total.agendas += report.agendas
            total.reassigned += report.reassigned
        await self.db.run(heartbeat.beat, "tick", now)
        return total
