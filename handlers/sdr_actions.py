"""The SDR's buttons: revise and resubmit (the form, prefilled), withdraw."""
from __future__ import annotations

import dataclasses
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.handoff import Action, short_id
from bot.core.lifecycle import Withdraw
from bot.core.refs import HandoffRef
from bot.render.cards import REVISE, WITHDRAW
from bot.render.modals import handoff_modal
from bot.services import Services
from handlers.common import may_open, one_click
from handlers.middleware import Later


def register(app: AsyncApp) -> None:
    app.action(REVISE)(revise_clicked)
    app.action(WITHDRAW)(withdraw_clicked)


async def revise_clicked(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, services: Services,
                         later: Later, ref: HandoffRef | None) -> None:
    await ack()
    later.spawn(_open_revision(services, body, client, ref), name="revise-form")


async def _open_revision(services: Services, body: dict[str, Any], client: AsyncWebClient,
                         ref: HandoffRef | None) -> None:
    if (h := await may_open(services, body, client, ref, Action.REVISE)) is None:
        return
    notice = (await services.teams.form_defaults(h.sdr_id)).notice_hours
    view = handoff_modal(regions=services.ctx.installation.regions, prefill=dataclasses.asdict(h),
                         metadata=HandoffRef(h.id, h.revision).encode(), title=f"Revise {short_id(h.id)}",
                         notice_hours=notice)
    await client.views_open(trigger_id=body["trigger_id"], view=view)


async def withdraw_clicked(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, services: Services,
                           later: Later, ref: HandoffRef | None) -> None:
    await ack()
    later.spawn(one_click(services, body, client, ref, Withdraw()), name="withdraw")
