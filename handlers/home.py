"""The Home tab: the user's handoffs at a glance."""
from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.slack_ids import is_user
from bot.render.home import home_view
from bot.services import Services

log = logging.getLogger("handoff.home")


def register(app: AsyncApp) -> None:
    app.event("app_home_opened")(home_opened)


async def home_opened(event: dict[str, Any], client: AsyncWebClient, services: Services) -> None:
    user = event.get("user")
    if event.get("tab", "home") != "home" or not is_user(user):
        return  # another tab, or not a user Slack would name: nothing to publish
    handoffs = await services.handoffs.mine(user)
    tz = await services.ctx.people.tz(user, quick=True)
    try:
        await client.views_publish(user_id=user, view=home_view(user, handoffs, tz))
    except Exception as error:
        log.warning("could not publish the home tab for %s: %s", user, error)
