"""Reassign: the AE or an admin hands the handoff to another AE, who gets a fresh card."""
from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.chase import assignment
from bot.services.context import Deps
from bot.core.handoff import Action, short_id, validate_reassignment
from bot.render.cards import REASSIGN
from bot.render.modals import REASSIGN_CALLBACK, notice_modal, reassign_modal
from handlers.common import act, after_ack, input_value, load_facts, permitted, view_ref

log = logging.getLogger("handoff.reassign")


def register(app: AsyncApp, deps: Deps) -> None:
    app.action(REASSIGN)(after_ack(deps, _open_form, "reassign-form"))

    @app.view(REASSIGN_CALLBACK)
    async def reassign_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        meta = view_ref(view)
        actor = body["user"]["id"]
        new_ae_id = input_value(view, "new_ae").get("selected_user")
        note = (input_value(view, "note").get("value") or "").strip() or None
        loaded = await load_facts(deps, int(meta.get("id", 0)))
        if loaded is None:
            await ack(response_action="update", view=notice_modal("Nothing changed", "That handoff no longer exists."))
            return
        handoff, facts = loaded
        team = await deps.team(handoff.team_id)
        new_ae = await deps.directory.person(new_ae_id, team.tz if team else None) if new_ae_id else None
        errors = validate_reassignment(new_ae, facts)
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        updated, why = await act(
            deps, Action.REASSIGN, handoff_id=facts.id, actor=actor, card_revision=meta.get("rev"),
            # The new AE's acceptance clock starts now, in their own time zone.
            changes={"ae_id": new_ae_id, **assignment(
                team, ae_tz=new_ae.tz if new_ae else deps.settings.default_tz,
                at=deps.clock.now(), meeting_start=handoff.meeting_start, meeting_kind=handoff.meeting_kind)},
            reason=note, detail={"from_ae": facts.ae_id, "to_ae": new_ae_id},
        )
        if updated is None:
            await ack(response_action="update", view=notice_modal("Nothing changed", why or "Nothing changed."))
            return
        await ack()
        log.info("%s reassigned by %s from %s to %s", short_id(facts.id), actor, facts.ae_id, new_ae_id)


async def _open_form(deps: Deps, body: dict[str, Any], client: AsyncWebClient) -> None:
    if (loaded := await permitted(deps, body, client, Action.REASSIGN)) is None:
        return
    handoff, facts = loaded
    await client.views_open(trigger_id=body["trigger_id"],
                            view=reassign_modal(handoff_id=facts.id, company=handoff.company, revision=facts.revision))
