"""Pieces the listeners share: reading a form's state, telling the clicker, one-click decisions."""
from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.form import Invalid
from bot.core.handoff import Action, Handoff
from bot.core.lifecycle import Command
from bot.core.refs import HandoffRef
from bot.render.modals import notice_modal
from bot.render.replies import refusal
from bot.services import Services
from bot.services.handoffs import Missing, Refusal, Result

log = logging.getLogger("handoff.handlers")

NOT_OURS = "That button is not one of mine; nothing changed."


def input_value(view: dict[str, Any], name: str) -> Any:
    """The raw state Slack sent for the input whose block and action are both `name`."""
    return view.get("state", {}).get("values", {}).get(name, {}).get(name, {})


def why_not(result: Result, action: Action) -> str:
    """What the asker is told when nothing changed."""
    if isinstance(result, Refusal):
        return refusal(result.decision, action.value, result.tz)
    if isinstance(result, Missing):
        return result.text
    return "Nothing changed."


async def tell(client: AsyncWebClient, body: dict[str, Any], text: str) -> None:
    """An ephemeral word to whoever clicked, where they clicked."""
    user = body["user"]["id"]
    channel = (body.get("channel") or {}).get("id") or body.get("container", {}).get("channel_id")
    try:
        if channel:
            await client.chat_postEphemeral(channel=channel, user=user, text=text)
        else:
            await client.chat_postMessage(channel=user, text=text)
    except Exception as error:  # a lost courtesy note must not hide the outcome
        log.warning("could not tell %s: %s", user, error)


async def one_click(services: Services, body: dict[str, Any], client: AsyncWebClient, ref: HandoffRef | None,
                    command: Command, *, check_revision: bool = True) -> Handoff | None:
    """A button that decides at once (accept, withdraw, close, keep); a click that changes nothing
    tells the clicker why."""
    if ref is None:
        await tell(client, body, NOT_OURS)
        return None
    result = await services.handoffs.act(ref.handoff_id, command, actor=body["user"]["id"],
                                         card_revision=ref.revision if check_revision else None)
    if isinstance(result, Handoff):
        return result
    await tell(client, body, why_not(result, command.action))
    return None


async def may_open(services: Services, body: dict[str, Any], client: AsyncWebClient, ref: HandoffRef | None,
                   action: Action, *, check_revision: bool = True) -> Handoff | None:
    """For a button that opens a form: the handoff, if the clicker may act on it now; else they are told why."""
    if ref is None:
        await tell(client, body, NOT_OURS)
        return None
    result = await services.handoffs.may(ref, action, body["user"]["id"], check_revision=check_revision)
    if isinstance(result, Handoff):
        return result
    await tell(client, body, why_not(result, action))
    return None


async def answer_form(ack: AsyncAck, result: Result, action: Action) -> None:
    """A submitted form's answer: inline errors, closed when it changed the handoff, else why not."""
    if isinstance(result, Invalid):
        await ack(response_action="errors", errors=result.errors)
    elif isinstance(result, Handoff):
        await ack()
    else:
        # Someone decided first (say, an Accept in the same second): say so instead of failing silently.
        await ack(response_action="update", view=notice_modal("Nothing changed", why_not(result, action)))


async def broken_form(ack: AsyncAck) -> None:
    await ack(response_action="update", view=notice_modal("Handoff", "This form is broken; start again."))
