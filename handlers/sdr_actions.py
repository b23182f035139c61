"""The SDR's buttons: revise and resubmit (the form, prefilled), withdraw."""
from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.services.context import Deps
from bot.core.handoff import Action, short_id
from bot.render.cards import REVISE, WITHDRAW
from bot.render.modals import handoff_modal
from handlers.common import after_ack, one_click, permitted

log = logging.getLogger("handoff.sdr")


def register(app: AsyncApp, deps: Deps) -> None:
    app.action(REVISE)(after_ack(deps, _open_revision, "revise-form"))
    app.action(WITHDRAW)(after_ack(deps, _withdraw, "withdraw"))


async def _open_revision(deps: Deps, body: dict[str, Any], client: AsyncWebClient) -> None:
    if (loaded := await permitted(deps, body, client, Action.REVISE)) is None:
        return
    handoff, facts = loaded
    prefill = handoff.model_dump()
    prefill["attendees"] = json.loads(handoff.attendees)
    prefill["enterprise_needs"] = json.loads(handoff.enterprise_needs)
    view = handoff_modal(regions=deps.settings.regions, prefill=prefill,
                         metadata={"revise": facts.id, "rev": facts.revision}, title=f"Revise {short_id(facts.id)}")
    await client.views_open(trigger_id=body["trigger_id"], view=view)


async def _withdraw(deps: Deps, body: dict[str, Any], client: AsyncWebClient) -> None:
    if (updated := await one_click(deps, body, client, Action.WITHDRAW)) is not None:
        log.info("%s withdrawn by %s", short_id(updated.id or 0), body["user"]["id"])
