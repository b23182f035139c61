"""`/handoff`: opens the form at once; `help`, `list`, `show H-42`, `stats` answer ephemerally; `export` sends a
CSV; `team` is for admins."""
from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.handoff import parse_short_id
from bot.render import replies
from bot.render.modals import new_handoff_modal
from bot.render.text import Message, escape
from bot.services import Services
from bot.services.handoffs import Missing
from bot.services.teams import FormDefaults
from handlers import stats, team_admin
from handlers.middleware import Later

log = logging.getLogger("handoff.command")


def register(app: AsyncApp) -> None:
    app.command("/handoff")(handoff_command)


def _ephemeral(message: Message) -> dict[str, Any]:
    return {"response_type": "ephemeral", "text": message.text, "blocks": message.blocks}


async def handoff_command(ack: AsyncAck, command: dict[str, Any], client: AsyncWebClient, services: Services,
                          later: Later) -> None:
    words = (command.get("text") or "").split()
    user = command["user_id"]
    verb = words[0].lower() if words else "new"
    if verb == "new" and len(words) <= 1:
        await ack()
        # The trigger_id dies 3 s after the command: open the form before anything else.
        # (Measured both ways in bench/ack_latency.py: opening it before answering Slack made
        # the answer wait for a Slack round trip, 8-14x the bare app's p99 at 50 concurrent.)
        later.spawn(_open_form(services, client, command["trigger_id"], user), name="open-form")
    elif verb == "team":
        await team_admin.team_command(services, later, ack, client, command, words[1:])
    elif verb == "help":
        await ack(**_ephemeral(replies.help_text()))
    elif verb == "list" and len(words) == 1:
        await ack(**_ephemeral(await stats.list_reply(services, user)))
    elif verb == "stats":
        await stats.stats_command(services, later, ack, client, user, words[1:])
    elif verb == "export":
        await stats.export_command(services, later, ack, client, user, words[1:])
    elif verb == "show" and len(words) == 2 and (handoff_id := parse_short_id(words[1])) is not None:
        await ack(**_ephemeral(await _details(services, user, handoff_id, words[1])))
    elif verb == "show" and len(words) == 2 and re.fullmatch(r"[Hh]-?\d+", words[1]):
        # More digits than any handoff id has (H-1000000000000000000000000000000): no such handoff.
        await ack(**_ephemeral(replies.usage(replies.not_found(words[1][:24].upper() + "…"))))
    else:
        problem = "`/handoff show` needs a handoff id, like `H-42`." if verb == "show" else (
            f"I don't know `{escape(' '.join(words)[:50])}`.")
        await ack(**_ephemeral(replies.usage(problem)))


async def _open_form(services: Services, client: AsyncWebClient, trigger_id: str, user: str) -> None:
    # A fast local read, before views.open so the form opens with the SDR's paired AE and their team's
    # region already chosen.
    try:
        defaults = await services.teams.form_defaults(user)
    except Exception as error:  # a missing prefill must never cost the SDR the form
        log.warning("could not look up the form defaults of %s: %s", user, error)
        defaults = FormDefaults(None, None, services.ctx.installation.min_notice_hours)
    view = new_handoff_modal(regions=services.ctx.installation.regions, ae_id=defaults.ae_id, region=defaults.region,
                             notice_hours=defaults.notice_hours)
    try:
        await client.views_open(trigger_id=trigger_id, view=view)
    except Exception as error:
        log.warning("could not open the handoff form for %s: %s", user, error)
        try:
            await client.chat_postMessage(
                channel=user, text="Sorry, Slack didn't let me open the form in time. Please type `/handoff` again.")
        except Exception:
            pass


async def _details(services: Services, user: str, handoff_id: int, raw: str) -> Message:
    found = await services.handoffs.details(handoff_id, user)
    if isinstance(found, Missing):
        return replies.usage(replies.not_found(raw))
    if found is None:
        return replies.usage(f"You're not part of {raw.upper()}: only its SDR, AE, attendees and admins can see it.")
    handoff, events = found
    return replies.handoff_details(handoff, events, await services.ctx.people.tz(user, quick=True))
