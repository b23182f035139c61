"""The Home tab, by role: published when opened, and again for each Previous / Next click.

A manager's Home shows the weekly trend as an image: the chart is drawn and uploaded after the Home is
published (so opening the tab never waits on matplotlib or an upload), then the Home is published again
with it. An upload is remembered per chart, so the same figures are not uploaded twice.
"""
from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import replace
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.home import HomePage
from bot.core.slack_ids import is_user
from bot.render.chart import trend_png
from bot.render.home import HOME_NEXT, HOME_PREV, home_view
from bot.render.stats import scope_title
from bot.services import Services
from handlers.middleware import Later

log = logging.getLogger("handoff.home")
# The trend's figures -> the id of its uploaded chart, per workspace (Slack's address and the bot's token: a
# file id means nothing to another workspace, or to another stand-in in the tests).
_CHARTS: OrderedDict[tuple[object, ...], str] = OrderedDict()
_CHARTS_KEPT = 256


def register(app: AsyncApp) -> None:
    app.event("app_home_opened")(home_opened)
    app.action(HOME_NEXT)(home_paged)
    app.action(HOME_PREV)(home_paged)


async def home_opened(event: dict[str, Any], client: AsyncWebClient, services: Services, later: Later) -> None:
    user = event.get("user")
    if event.get("tab", "home") != "home" or not is_user(user):
        return  # another tab, or not a user Slack would name: nothing to publish
    await publish_home(services, client, later, user, 0)


async def home_paged(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, services: Services,
                     later: Later) -> None:
    await ack()
    try:
        page = max(0, int(body["actions"][0]["value"]))
    except (KeyError, IndexError, TypeError, ValueError):
        page = 0
    await publish_home(services, client, later, body["user"]["id"], page)


def _chart_key(client: AsyncWebClient, home: HomePage) -> tuple[object, ...] | None:
    if home.team is None or not any(w.submitted or w.accepted for w in home.team.trend):
        return None
    return (client.base_url, client.token, home.team.scope, *home.team.trend)


async def publish_home(services: Services, client: AsyncWebClient, later: Later, user: str, page: int) -> None:
    try:
        home = await services.stats.home(user, page)
        key = _chart_key(client, home)
        if key is not None and key in _CHARTS:
            home = replace(home, chart_file=_CHARTS[key])
        await client.views_publish(user_id=user, view=home_view(home))
    except Exception as error:
        log.warning("could not publish the home tab for %s: %s", user, error)
        return
    if key is not None and home.chart_file is None:
        later.spawn(_with_chart(client, user, home, key), name="home-chart")


async def _with_chart(client: AsyncWebClient, user: str, home: HomePage, key: tuple[object, ...]) -> None:
    assert home.team is not None
    try:
        png = trend_png(home.team.trend, f"Handoffs per week · {scope_title(home.team.scope)}")
        uploaded = await client.files_upload_v2(file=png, filename="handoff-trend.png", title="Weekly trend",
                                                alt_txt="Handoffs submitted and accepted per week")
        file_id = str(uploaded["file"]["id"])
        _CHARTS[key] = file_id
        while len(_CHARTS) > _CHARTS_KEPT:
            _CHARTS.popitem(last=False)
        await client.views_publish(user_id=user, view=home_view(replace(home, chart_file=file_id)))
    except Exception as error:  # the Home is up without its chart; say why in the log
        log.warning("could not add the trend chart to %s's home: %s", user, error)
