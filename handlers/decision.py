"""The AE's card: Accept, and Reject with a reason and feedback."""
from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.handoff import Action
from bot.core.lifecycle import Accept, Reject
from bot.core.refs import HandoffRef
from bot.render.cards import ACCEPT, REJECT
from bot.render.modals import REJECT_CALLBACK, reject_modal
from bot.services import Services
from handlers.common import answer_form, broken_form, chosen, may_open, one_click, text_value
from handlers.middleware import Later


def register(app: AsyncApp) -> None:
    app.action(ACCEPT)(accept_clicked)
    app.action(REJECT)(reject_clicked)
    app.view(REJECT_CALLBACK)(reject_submitted)


async def accept_clicked(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, services: Services,
                         later: Later, ref: HandoffRef | None) -> None:
    await ack()
    later.spawn(one_click(services, body, client, ref, Accept()), name="accept")


async def reject_clicked(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, services: Services,
                         later: Later, ref: HandoffRef | None) -> None:
    await ack()
    later.spawn(_open_reject_form(services, body, client, ref), name="reject-form")


async def _open_reject_form(services: Services, body: dict[str, Any], client: AsyncWebClient,
                            ref: HandoffRef | None) -> None:
    if (h := await may_open(services, body, client, ref, Action.REJECT)) is not None:
        await client.views_open(trigger_id=body["trigger_id"],
                                view=reject_modal(handoff_id=h.id, company=h.company, revision=h.revision))


async def reject_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], services: Services,
                           ref: HandoffRef | None) -> None:
    reason, feedback = chosen(view, "reason"), text_value(view, "feedback")
    if ref is None:
        await broken_form(ack)
        return
    result = await services.handoffs.act(ref.handoff_id, Reject(reason, feedback), actor=body["user"]["id"],
                                         card_revision=ref.revision)
    await answer_form(ack, result, Action.REJECT)
