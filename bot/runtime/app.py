"""Builds the Bolt app and the parts the server runs beside it. Nothing else lives here."""
from __future__ import annotations

from dataclasses import dataclass

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

import handlers
from bot.core.clock import Clock
from bot.runtime.clock import SystemClock
from bot.runtime.config import Settings
from bot.runtime.delivery import Deliverer, RetryConnectionErrorsButNotPosts
from bot.runtime.directory import Directory
from bot.runtime.metrics import Metrics
from bot.runtime.tasks import Background, Inflight
from bot.services import Services
from bot.services.chase import Chaser
from bot.services.context import Context, Installation
from bot.services.handoffs import Handoffs
from bot.services.stats import StatsService
from bot.services.teams import Teams
from storage.db import Database

SLACK_TIMEOUT_SECONDS = 10


@dataclass
class Wiring:
    """What the server, the outbox worker and the ticker share with the listeners' services."""

    settings: Settings
    db: Database
    clock: Clock
    slack: AsyncWebClient
    directory: Directory
    deliverer: Deliverer
    background: Background
    inflight: Inflight
    services: Services
    metrics: Metrics

    @property
    def chaser(self) -> Chaser:
        return self.services.chaser


def installation(settings: Settings) -> Installation:
    return Installation(admins=settings.admins, default_tz=settings.default_tz,
                        min_notice_hours=settings.min_notice_hours, segment_thresholds=settings.segment_thresholds,
                        regions=tuple(settings.regions))


def build_app(settings: Settings, db: Database, clock: Clock | None = None) -> tuple[AsyncApp, Wiring]:
    clock = clock or SystemClock()
    # One retry on a dropped connection (not for a post: it may have landed; the outbox looks in history);
    # 429s and 5xx are the outbox's to reschedule, not to sleep on.
    client = AsyncWebClient(
        token=settings.bot_token, base_url=settings.api_url, timeout=SLACK_TIMEOUT_SECONDS,
        retry_handlers=[RetryConnectionErrorsButNotPosts(max_retry_count=1)],
    )
    app = AsyncApp(
        client=client,
        signing_secret=settings.signing_secret or None,
        # Every HTTP request reaches Bolt through the front door (bot/runtime/intake.py), which has checked
        # the signature on the raw bytes already: Bolt's check would be a second HMAC over every body on the
        # event loop. Socket Mode has no signatures.
        request_verification_enabled=False,
        # Listeners ack first and hand slow work to background tasks, so Slack gets its
        # answer as soon as the listener returns, not on Bolt's 10 ms ack poll.
        process_before_response=True,
    )
    directory = Directory(client, settings.default_tz, quick_seconds=settings.lookup_deadline_seconds)
    inflight = Inflight()
    metrics = Metrics(db)
    deliverer = Deliverer(db, client, directory, clock, default_tz=settings.default_tz, inflight=inflight,
                          lease_seconds=settings.outbox_lease_seconds, metrics=metrics)
    deliverer.channel_post_interval = settings.channel_post_interval
    background = Background()
    ctx = Context(db=db, clock=clock, people=directory, installation=installation(settings),
                  wake_outbox=deliverer.kick, later=background.spawn)
    handoff_service = Handoffs(ctx)
    services = Services(ctx, handoff_service, Teams(ctx), Chaser(ctx, handoff_service), StatsService(ctx))
    handlers.register(app, services, background)
    return app, Wiring(settings, db, clock, client, directory, deliverer, background, inflight, services, metrics)
