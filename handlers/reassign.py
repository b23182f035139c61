"""Reassign: the AE, their manager or an admin hands the handoff to another AE, who gets a fresh card."""
from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.handoff import Action
from bot.core.refs import HandoffRef
from bot.core.slack_ids import is_user
from bot.core.text import normalise
from bot.render.cards import REASSIGN
from bot.render.modals import REASSIGN_CALLBACK, reassign_modal
from bot.services import Services
from handlers.common import answer_form, broken_form, chosen_user, may_open, text_value
from handlers.middleware import Later


def register(app: AsyncApp) -> None:
    app.action(REASSIGN)(reassign_clicked)
    app.view(REASSIGN_CALLBACK)(reassign_submitted)


async def reassign_clicked(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, services: Services,
                           later: Later, ref: HandoffRef | None) -> None:
    await ack()
    later.spawn(_open_form(services, body, client, ref), name="reassign-form")


async def _open_form(services: Services, body: dict[str, Any], client: AsyncWebClient, ref: HandoffRef | None) -> None:
    if (h := await may_open(services, body, client, ref, Action.REASSIGN)) is not None:
        await client.views_open(trigger_id=body["trigger_id"],
                                view=reassign_modal(handoff_id=h.id, company=h.company, revision=h.revision))


async def reassign_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], services: Services,
                             ref: HandoffRef | None) -> None:
    if ref is None:
        await broken_form(ack)
        return
    new_ae = chosen_user(view, "new_ae")
    note = normalise(text_value(view, "note"), multiline=True)
    # An id not of Slack's shape is no AE: the form answers "choose the AE" and nothing is looked up.
    result = await services.handoffs.reassign(ref, new_ae if is_user(new_ae) else None, note,
                                              actor=body["user"]["id"])
    await answer_form(ack, result, Action.REASSIGN)
