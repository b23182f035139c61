"""Pieces the listeners share: reading a form's state, telling the clicker, one-click decisions."""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

from slack_bolt.async_app import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.form import Invalid
from bot.core.handoff import Action, Handoff
from bot.core.lifecycle import Command
from bot.core.refs import HandoffRef, beyond_any_handoff
from bot.render.modals import notice_modal
from bot.render.replies import refusal
from bot.services import Services
from bot.services.handoffs import Missing, Refusal, Result
from handlers.middleware import carried

log = logging.getLogger("handoff.handlers")

NOT_OURS = "That button is not one of mine; nothing changed."
NO_SUCH_HANDOFF = "There is no such handoff; nothing changed."


def no_ref(body: dict[str, Any]) -> str:
    """What the clicker hears when the button carries no handoff we could have made."""
    return NO_SUCH_HANDOFF if beyond_any_handoff(carried(body)) else NOT_OURS


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def input_value(view: dict[str, Any], name: str) -> dict[str, Any]:
    """The raw state Slack sent for the input whose block and action are both `name`; {} when any
    level of it is missing or not an object."""
    values = _dict(_dict(_dict(view).get("state")).get("values"))
    return _dict(_dict(values.get(name)).get(name))


def text_value(view: dict[str, Any], name: str) -> str | None:
    raw = input_value(view, name).get("value")
    return raw if isinstance(raw, str) else None


def chosen(view: dict[str, Any], name: str) -> str | None:
    """A select's or radio's chosen value."""
    raw = _dict(input_value(view, name).get("selected_option")).get("value")
    return raw if isinstance(raw, str) else None


def chosen_user(view: dict[str, Any], name: str) -> str | None:
    """A users_select's user id, as sent (its shape is judged by the rules that use it)."""
    raw = input_value(view, name).get("selected_user")
    return raw if isinstance(raw, str) else None


# A datetimepicker's epoch seconds: bounded so no stamp Slack could not send reaches date arithmetic.
_EPOCH_MAX = int(datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone.utc).timestamp())


def chosen_time(view: dict[str, Any], name: str) -> datetime | None:
    raw = input_value(view, name).get("selected_date_time")
    if isinstance(raw, bool) or not isinstance(raw, (int, str)) or not str(raw).isdigit():
        return None
    epoch = int(str(raw)[:20])
    return datetime.fromtimestamp(epoch, tz=timezone.utc) if 0 < epoch < _EPOCH_MAX else None


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
        await tell(client, body, no_ref(body))
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
        await tell(client, body, no_ref(body))
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
