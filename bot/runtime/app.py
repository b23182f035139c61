"""Builds the Bolt app and everything its listeners share. Nothing else lives here."""
from __future__ import annotations

from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

import handlers
from bot.runtime.clock import Clock, SystemClock
from bot.runtime.config import Settings
from bot.runtime.delivery import Deliverer
from bot.services.context import Deps
from bot.runtime.directory import Directory
from bot.runtime.scheduler import Chaser
from bot.runtime.tasks import Background, Inflight
from storage.db import Database

SLACK_TIMEOUT_SECONDS = 10


def build_app(settings: Settings, db: Database, clock: Clock | None = None) -> tuple[AsyncApp, Deps]:
    clock = clock or SystemClock()
    # One retry on a dropped connection; 429s and 5xx are the outbox's to reschedule, not to sleep on.
    client = AsyncWebClient(
        token=settings.bot_token, base_url=settings.api_url, timeout=SLACK_TIMEOUT_SECONDS,
        retry_handlers=[AsyncConnectionErrorRetryHandler(max_retry_count=1)],
    )
    app = AsyncApp(
        client=client,
        signing_secret=settings.signing_secret or None,
        request_verification_enabled=not settings.socket_mode,
        # Listeners ack first and hand slow work to background tasks, so Slack gets its
        # answer as soon as the listener returns, not on Bolt's 10 ms ack poll.
        process_before_response=True,
    )
    directory = Directory(client, settings.default_tz)
    inflight = Inflight()
    deps = Deps(
        settings=settings, db=db, clock=clock, directory=directory,
        deliverer=Deliverer(db, client, directory, clock, default_tz=settings.default_tz, inflight=inflight),
        inflight=inflight,
        background=Background(),
        slack=client,
    )
    deps.chaser = Chaser(deps)
    handlers.register(app, deps)
    return app, deps
