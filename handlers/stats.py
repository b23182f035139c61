"""`/handoff stats`, `/handoff export`, and paging `/handoff list`: numbers and files on demand.

The figures answer the command at once (ephemeral); the weekly trend chart and the CSV follow as files
in the asker's DM (files_upload_v2: an ephemeral answer cannot carry a file).
"""
from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.stats import EXPORT_COLUMNS
from bot.render.chart import trend_png
from bot.render.home import LIST_NEXT, LIST_PREV, list_message
from bot.render.replies import usage
from bot.render.spreadsheet import to_csv
from bot.render.stats import scope_title, stats_message
from bot.render.text import Message
from bot.services import Services
from bot.services.stats import Answer, Refused, parse_request
from handlers.middleware import Later

log = logging.getLogger("handoff.stats")


def register(app: AsyncApp) -> None:
    app.action(LIST_NEXT)(list_paged)
    app.action(LIST_PREV)(list_paged)


def _ephemeral(message: Message) -> dict[str, Any]:
    return {"response_type": "ephemeral", "text": message.text, "blocks": message.blocks}


async def dm_channel(client: AsyncWebClient, user: str) -> str:
    opened = await client.conversations_open(users=user)
    return str(opened["channel"]["id"])


async def stats_command(services: Services, later: Later, ack: AsyncAck, client: AsyncWebClient, user: str,
                        words: list[str]) -> None:
    request = parse_request(words)
    answer = request if isinstance(request, Refused) else await services.stats.stats(user, request)
    if isinstance(answer, Refused):
        await ack(**_ephemeral(usage(answer.text)))
        return
    await ack(**_ephemeral(stats_message(answer.stats, answer.tz)))
    later.spawn(_send_chart(client, user, answer), name="stats-chart")


async def _send_chart(client: AsyncWebClient, user: str, answer: Answer) -> None:
    stats = answer.stats
    if not any(w.submitted or w.accepted for w in stats.trend):
        return  # an empty chart says nothing
    try:
        png = trend_png(stats.trend, f"Handoffs per week · {scope_title(stats.scope)}")
        await client.files_upload_v2(channel=await dm_channel(client, user), file=png, filename="handoff-trend.png",
                                     title="Handoffs per week", alt_txt="Handoffs submitted and accepted per week",
                                     initial_comment=f"Weekly trend for {stats.scope}")
    except Exception as error:  # the figures were answered; a lost chart is logged, not raised
        log.warning("could not send the trend chart to %s: %s", user, error)


async def export_command(services: Services, later: Later, ack: AsyncAck, client: AsyncWebClient, user: str,
                         words: list[str]) -> None:
    request = parse_request(words)
    export = request if isinstance(request, Refused) else await services.stats.export(user, request)
    if isinstance(export, Refused):
        await ack(**_ephemeral(usage(export.text)))
        return
    await ack(**_ephemeral(Message(f"Exporting {len(export.rows)} handoffs: the CSV arrives in your DM.")))
    later.spawn(_send_csv(client, user, export.filename, to_csv(EXPORT_COLUMNS, export.rows)), name="export-csv")


async def _send_csv(client: AsyncWebClient, user: str, filename: str, content: str) -> None:
    try:
        await client.files_upload_v2(channel=await dm_channel(client, user), content=content, filename=filename,
                                     title=filename, snippet_type="csv", initial_comment="Your export")
    except Exception as error:
        log.warning("could not send the export to %s: %s", user, error)
        try:
            await client.chat_postMessage(channel=user, text="Sorry, Slack refused the export file; try again.")
        except Exception:
            pass


async def list_reply(services: Services, user: str, page: int = 0) -> Message:
    listing = await services.stats.listing(user, page)
    tz = await services.ctx.people.tz(user, quick=True) if listing.total else services.ctx.installation.default_tz
    return list_message(listing, user, tz)


async def list_paged(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, services: Services) -> None:
    await ack()
    try:
        page = max(0, int(body["actions"][0]["value"]))
    except (KeyError, IndexError, TypeError, ValueError):
        page = 0
    message = await list_reply(services, body["user"]["id"], page)
    await respond(text=message.text, blocks=message.blocks, replace_original=True, response_type="ephemeral")
