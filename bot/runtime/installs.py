"""Where OAuth installations and install states are kept: slack_sdk's SQLAlchemy stores, in the bot's database.

slack_sdk's async SQLAlchemy stores need an async engine (a second driver per database); its sync stores on
the bot's own engine, run on the database threads, are the same tables and the same code. Bolt asks for a
workspace's bot token on every request, so a found bot is kept for a minute; a delete (uninstall, revoked
tokens) or a new install drops it at once in this process, and other processes within the minute. That a
workspace is not installed is not kept: installed through another copy, it is served at once by this one.

Between requests (the outbox, the scheduler) a workspace is known by its key alone (bot.core.workspaces): a
workspace's install by its team id, whatever org it is in, an org-wide install by the org's id. slack_sdk's
lookups and deletes match the enterprise id and the team id exactly (a missing one as NULL), which a key cannot
always give: a workspace of an Enterprise Grid org installed on its own is stored with its org's id, an org-wide
install without a team. So the key's lookups and deletes here match what the key names and nothing else.
"""
from __future__ import annotations

import time
from logging import Logger, getLogger
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.async_state_store import AsyncOAuthStateStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import Table, desc, select
from sqlalchemy.sql.elements import ColumnElement

from bot.core.workspaces import installation_of, workspace_key
from storage.db import Database

BOT_CACHE_SECONDS = 60.0
STATE_SECONDS = 600  # an install link works for ten minutes
log = getLogger("handoff.installs")


class InstallationStore(AsyncInstallationStore):
    def __init__(self, db: Database, client_id: str, cache_seconds: float = BOT_CACHE_SECONDS):
        self._db = db
        self._store = SQLAlchemyInstallationStore(client_id=client_id, engine=db.engine, logger=log)
        self._cache_seconds = cache_seconds
        self._bots: dict[str, tuple[float, Bot]] = {}

    @property
    def logger(self) -> Logger:
        return log

    async def async_save(self, installation: Installation) -> None:
        await self._db.run(lambda _db: self._store.save(installation))
        self._forget(installation.enterprise_id, installation.team_id, installation.is_enterprise_install)
        log.info("installed in %s", workspace_key(installation.enterprise_id, installation.team_id,
                                                  bool(installation.is_enterprise_install)))

    async def async_save_bot(self, bot: Bot) -> None:
        await self._db.run(lambda _db: self._store.save_bot(bot))
        self._forget(bot.enterprise_id, bot.team_id, bot.is_enterprise_install)

    async def async_find_bot(self, *, enterprise_id: str | None, team_id: str | None,
                             is_enterprise_install: bool | None = False) -> Bot | None:
        key = workspace_key(enterprise_id, team_id, bool(is_enterprise_install))
        hit = self._bots.get(key)
        if hit is not None and time.monotonic() - hit[0] < self._cache_seconds:
            return hit[1]
        bot = await self._db.query(lambda _db: self._store.find_bot(
            enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=is_enterprise_install))
        if bot is not None:  # "not installed" is not kept: an install through another copy counts at once
            self._bots[key] = (time.monotonic(), bot)
        return bot

    async def async_find_bot_for(self, key: str) -> Bot | None:
        """The bot token of a workspace key (the outbox and the scheduler have no payload to name the org)."""
        hit = self._bots.get(key)
        if hit is not None and time.monotonic() - hit[0] < self._cache_seconds:
            return hit[1]
        bot = await self._db.query(lambda _db: self._bot_of(key))
        if bot is not None:
            self._bots[key] = (time.monotonic(), bot)
        return bot

    async def async_delete_workspace(self, key: str, *, bot_only: bool = False) -> None:
        """Forget a workspace key's bot token (and, unless ``bot_only``, its installations): the app was
        uninstalled, or its tokens revoked. An org-wide install's uninstall may come authorized for a workspace
        of the org (Slack's reference shows one so): slack_sdk's delete by (enterprise, that team) would leave
        the org's token, so it is deleted by the org's key."""
        tables = [self._store.bots] if bot_only else [self._store.bots, self._store.installations]

        def delete(_db: Database) -> None:
            with self._db.engine.begin() as conn:
                for table in tables:
                    conn.execute(table.delete().where(table.c.client_id == self._store.client_id,
                                                      *self._named_by(table, key)))

        await self._db.run(delete)
        self._bots.pop(key, None)
        log.info("%s of %s deleted", "bot token" if bot_only else "installation", key)

    def _bot_of(self, key: str) -> Bot | None:
        bots = self._store.bots
        query = (select(bots).where(bots.c.client_id == self._store.client_id, bots.c.bot_token.is_not(None),
                                    *self._named_by(bots, key))
                 .order_by(desc(bots.c.installed_at)).limit(1))
        with self._db.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        return None if row is None else self._store.build_bot_entity(row)

    @staticmethod
    def _named_by(table: Table, key: str) -> list[ColumnElement[bool]]:
        """The rows of one workspace key: an org-wide install's by its org, a workspace's by its team id."""
        enterprise_id, team_id, org = installation_of(key)
        if org:
            return [table.c.enterprise_id == enterprise_id, table.c.is_enterprise_install.is_(True)]
        return [table.c.team_id == team_id, table.c.is_enterprise_install.is_(False)]

    async def async_find_installation(self, *, enterprise_id: str | None, team_id: str | None,
                                      user_id: str | None = None,
                                      is_enterprise_install: bool | None = False) -> Installation | None:
        return await self._db.query(lambda _db: self._store.find_installation(
            enterprise_id=enterprise_id, team_id=team_id, user_id=user_id,
            is_enterprise_install=is_enterprise_install))

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self._db.run(lambda _db: self._store.delete_bot(enterprise_id=enterprise_id, team_id=team_id))
        self._forget(enterprise_id, team_id, False)
        self._forget(enterprise_id, team_id, True)
        log.info("bot token of %s deleted", workspace_key(enterprise_id, team_id))

    async def async_delete_installation(self, *, enterprise_id: str | None, team_id: str | None,
                                        user_id: str | None = None) -> None:
        await self._db.run(lambda _db: self._store.delete_installation(
            enterprise_id=enterprise_id, team_id=team_id, user_id=user_id))

    async def async_delete_all(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self.async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)
        await self.async_delete_installation(enterprise_id=enterprise_id, team_id=team_id)

    def installed(self, db: Database) -> set[str]:
        """Every workspace with a bot token (blocking: call on a database thread)."""
        bots = self._store.bots
        with db.engine.connect() as conn:
            rows = conn.execute(select(bots.c.enterprise_id, bots.c.team_id, bots.c.is_enterprise_install)
                                .where(bots.c.client_id == self._store.client_id)).all()
        return {workspace_key(e, t, bool(org)) for e, t, org in rows}

    def _forget(self, enterprise_id: str | None, team_id: str | None, is_enterprise_install: Any) -> None:
        self._bots.pop(workspace_key(enterprise_id, team_id, bool(is_enterprise_install)), None)


class StateStore(AsyncOAuthStateStore):
    """The one-time `state` of an install link, so a redirect nobody started from here is refused."""

    def __init__(self, db: Database, expiration_seconds: int = STATE_SECONDS):
        self._db = db
        self._store = SQLAlchemyOAuthStateStore(expiration_seconds=expiration_seconds, engine=db.engine, logger=log)

    @property
    def logger(self) -> Logger:
        return log

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        return await self._db.run(lambda _db: self._store.issue())

    async def async_consume(self, state: str) -> bool:
        return await self._db.run(lambda _db: self._store.consume(state))


def forget_revoked_tokens(app: AsyncApp, store: InstallationStore) -> None:
    """app_uninstalled deletes the workspace's installation, tokens_revoked its bot token: by the key Bolt authorized
    the event's installation with, as every request is served (Bolt's own listeners delete by the event's enterprise
    and team ids, which leave an org-wide install's token when the event names a workspace of the org). No user
    tokens are asked for (installation_store_bot_only), so none are revoked."""

    async def app_uninstalled(context: AsyncBoltContext) -> None:
        await store.async_delete_workspace(_key(context))

    async def tokens_revoked(event: dict[str, Any], context: AsyncBoltContext) -> None:
        tokens = event.get("tokens")
        if isinstance(tokens, dict) and tokens.get("bot"):
            await store.async_delete_workspace(_key(context), bot_only=True)

    app.event("app_uninstalled")(app_uninstalled)
    app.event("tokens_revoked")(tokens_revoked)


def _key(context: AsyncBoltContext) -> str:
    return workspace_key(context.enterprise_id, context.team_id, bool(context.is_enterprise_install))
