"""Builds the Bolt app and the parts the server runs beside it. Nothing else lives here."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.web.async_client import AsyncWebClient

import handlers
from bot.core.clock import Clock
from bot.runtime.clock import SystemClock
from bot.runtime.config import Settings
from bot.runtime.delivery import Deliverer, RetryConnectionErrorsButNotPosts
from bot.runtime.installs import InstallationStore, StateStore, forget_revoked_tokens
from bot.runtime.metrics import Metrics
from bot.runtime.tasks import Background, Inflight
from bot.runtime.workspaces import Workspaces
from bot.services import Services
from bot.services.context import Installation
from storage.db import Database

SLACK_TIMEOUT_SECONDS = 10
log = logging.getLogger("handoff.app")
# What the app asks for when installed (app.yaml's bot scopes; a test keeps the two alike).
BOT_SCOPES = ("commands", "chat:write", "chat:write.public", "users:read", "files:write", "channels:history",
              "groups:history", "im:history", "im:write")


@dataclass
class Wiring:
    """What the server, the outbox worker and the ticker share with the listeners' services."""

    settings: Settings
    db: Database
    clock: Clock
    slack: AsyncWebClient  # carries the connection pool every workspace's client shares
    workspaces: Workspaces
    deliverer: Deliverer
    background: Background
    inflight: Inflight
    metrics: Metrics

    @property
    def chaser(self) -> Workspaces:
        """The scheduler's job: each workspace's chase in turn."""
        return self.workspaces

    @property
    def services(self) -> Services:
        """The single workspace's use cases (without OAuth)."""
        single = self.workspaces.single
        assert single is not None, "with OAuth, services belong to a workspace: wiring.workspaces.get(key)"
        return single.services


def installation(settings: Settings) -> Installation:
    return Installation(admins=settings.admins, default_tz=settings.default_tz,
                        min_notice_hours=settings.min_notice_hours, segment_thresholds=settings.segment_thresholds,
                        regions=tuple(settings.regions))


def build_app(settings: Settings, db: Database, clock: Clock | None = None) -> tuple[AsyncApp, Wiring]:
    clock = clock or SystemClock()
    # One retry on a dropped connection (not for a post: it may have landed; the outbox looks in history);
    # 429s and 5xx are the outbox's to reschedule, not to sleep on. With OAuth it has no token: Bolt gives each
    # request a copy with its workspace's, and the outbox one per workspace (bot.runtime.workspaces).
    client = AsyncWebClient(
        token=None if settings.oauth else settings.bot_token, base_url=settings.api_url,
        timeout=SLACK_TIMEOUT_SECONDS, retry_handlers=[RetryConnectionErrorsButNotPosts(max_retry_count=1)],
    )
    store = InstallationStore(db, settings.client_id) if settings.oauth else None
    oauth_flow = None
    if store is not None:
        oauth_flow = AsyncOAuthFlow(
            # oauth.v2.access goes to SLACK_API_URL too (the stand-in in tests and the demo).
            client=AsyncWebClient(base_url=settings.api_url, timeout=SLACK_TIMEOUT_SECONDS),
            settings=AsyncOAuthSettings(
                client_id=settings.client_id, client_secret=settings.client_secret, scopes=list(BOT_SCOPES),
                installation_store=store, installation_store_bot_only=True, state_store=StateStore(db),
                redirect_uri=settings.oauth_redirect_uri, install_path="/slack/install",
                redirect_uri_path="/slack/oauth_redirect", install_page_rendering_enabled=True,
            ),
        )
    app = AsyncApp(
        client=client,
        signing_secret=settings.signing_secret or None,
        oauth_flow=oauth_flow,
        # Every HTTP request reaches Bolt through the front door (bot/runtime/intake.py), which has checked
        # the signature on the raw bytes already: Bolt's check would be a second HMAC over every body on the
        # event loop. Socket Mode has no signatures.
        request_verification_enabled=False,
        # Listeners ack first and hand slow work to background tasks, so Slack gets its
        # answer as soon as the listener returns, not on Bolt's 10 ms ack poll.
        process_before_response=True,
    )
    if store is not None:
        forget_revoked_tokens(app, store)  # app_uninstalled, tokens_revoked: the tokens are deleted
    else:
        # One workspace, one token: if it goes, an operator has to reinstall; say so once, loudly.
        async def token_gone(event: dict[str, Any]) -> None:
            log.error("Slack says the app was uninstalled or its token revoked (%s): nothing can be posted "
                      "until it is reinstalled and SLACK_BOT_TOKEN updated", str(event.get("type"))[:40])

        app.event("app_uninstalled")(token_gone)
        app.event("tokens_revoked")(token_gone)
    inflight = Inflight()
    metrics = Metrics(db)
    background = Background()
    workspaces = Workspaces(db, clock, client, installation(settings), settings.default_tz,
                            settings.lookup_deadline_seconds, wake_outbox=lambda: deliverer.kick(),
                            later=background.spawn, store=store)
    deliverer = Deliverer(db, workspaces, clock, default_tz=settings.default_tz, inflight=inflight,
                          lease_seconds=settings.outbox_lease_seconds, metrics=metrics)
    deliverer.channel_post_interval = settings.channel_post_interval
    handlers.register(app, workspaces, background)
    return app, Wiring(settings, db, clock, client, workspaces, deliverer, background, inflight, metrics)
