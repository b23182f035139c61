"""The AE's card: Accept, and Reject with a reason and feedback."""
from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.services.context import Deps
from bot.core.handoff import REJECT_REASONS, Action, short_id, validate_rejection
from bot.render.cards import ACCEPT, REJECT
from bot.render.modals import REJECT_CALLBACK, notice_modal, reject_modal
from handlers.common import act, after_ack, input_value, one_click, permitted, view_ref

log = logging.getLogger("handoff.decision")


def register(app: AsyncApp, deps: Deps) -> None:
    app.action(ACCEPT)(after_ack(deps, _accept, "accept"))
    app.action(REJECT)(after_ack(deps, _open_reject_form, "reject-form"))

    @app.view(REJECT_CALLBACK)
    async def reject_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        reason = (input_value(view, "reason").get("selected_option") or {}).get("value")
        feedback = input_value(view, "feedback").get("value")
        errors = validate_rejection(reason, feedback)
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        meta = view_ref(view)
        actor = body["user"]["id"]
        feedback = (feedback or "").strip()
        updated, why = await act(
            deps, Action.REJECT, handoff_id=int(meta.get("id", 0)), actor=actor, card_revision=meta.get("rev"),
            changes={"decided_by": actor, "decided_at": deps.clock.now(), "rejection_reason": reason,
                     "rejection_feedback": feedback},
            reason=f"{REJECT_REASONS[reason or 'other']}: {feedback}",
        )
        if updated is None:
            # Someone decided first (say, an Accept in the same second): say so instead of failing silently.
            await ack(response_action="update", view=notice_modal("Nothing changed", why or "Nothing changed."))
            return
        await ack()
        log.info("%s rejected by %s (%s)", short_id(updated.id or 0), actor, reason)


async def _accept(deps: Deps, body: dict[str, Any], client: AsyncWebClient) -> None:
    if (updated := await one_click(deps, body, client, Action.ACCEPT)) is not None:
        log.info("%s accepted by %s", short_id(updated.id or 0), body["user"]["id"])


async def _open_reject_form(deps: Deps, body: dict[str, Any], client: AsyncWebClient) -> None:
    if (loaded := await permitted(deps, body, client, Action.REJECT)) is None:
        return
    handoff, facts = loaded
    await client.views_open(trigger_id=body["trigger_id"],
                            view=reject_modal(handoff_id=facts.id, company=handoff.company, revision=facts.revision))
