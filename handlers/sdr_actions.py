"""The SDR's buttons: revise and resubmit (the form, prefilled), withdraw."""
from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.deps import Deps
from bot.handoffs import Action, short_id
from bot.render.cards import REVISE, WITHDRAW
from bot.render.modals import handoff_modal
from handlers.common import act, after_ack, button_ref, permitted, tell

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
    ref = button_ref(body)
    if ref is None:
        await tell(client, body, "That button is not one of mine; nothing changed.")
        return
    actor = body["user"]["id"]
    updated, why = await act(deps, Action.WITHDRAW, handoff_id=ref[0], actor=actor, card_revision=ref[1],
                             changes={"decided_by": actor, "decided_at": deps.clock.now()})
    if updated is None:
        await tell(client, body, why or "Nothing changed.")
    else:
        log.info("%s withdrawn by %s", short_id(ref[0]), actor)
