"""After the meeting: the outcome and the next step; and Close / Keep for a no-show nobody rebooked."""
from __future__ import annotations

import logging
from datetime import date, datetime, timezone
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.services.context import Deps
from bot.core.handoff import Action, OutcomeInput, record_outcome, short_id
from bot.render.modals import OUTCOME_CALLBACK, notice_modal, outcome_modal
from bot.render.reminders import CLOSE, KEEP, OUTCOME
from handlers.common import act, after_ack, input_value, load_facts, one_click, permitted, tell, view_ref

log = logging.getLogger("handoff.outcome")


def read_outcome(view: dict[str, Any]) -> OutcomeInput:
    epoch = input_value(view, "new_meeting_start").get("selected_date_time")
    raw_due = input_value(view, "next_step_due").get("selected_date")
    try:
        due = date.fromisoformat(raw_due) if isinstance(raw_due, str) else None
    except ValueError:
        due = None
    return OutcomeInput(
        outcome=(input_value(view, "outcome").get("selected_option") or {}).get("value"),
        new_meeting_start=datetime.fromtimestamp(int(epoch), tz=timezone.utc) if str(epoch or "").isdigit() else None,
        next_step=input_value(view, "next_step").get("value"),
        next_step_due=due,
        next_step_owner=input_value(view, "next_step_owner").get("selected_user"),
    )


def register(app: AsyncApp, deps: Deps) -> None:
    app.action(OUTCOME)(after_ack(deps, _open_form, "outcome-form"))

    @app.view(OUTCOME_CALLBACK)
    async def outcome_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        actor = body["user"]["id"]
        meta = view_ref(view)
        loaded = await load_facts(deps, int(meta.get("id", 0)))
        if loaded is None:
            await ack(response_action="update", view=notice_modal("Nothing changed", "That handoff no longer exists."))
            return
        handoff, facts = loaded
        changes, errors, line = record_outcome(
            read_outcome(view), actor=actor, ae_id=facts.ae_id, tz=await deps.directory.tz(actor),
            now=deps.clock.now(), existing_next_step=handoff.next_step)
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        updated, why = await act(deps, Action.RECORD_OUTCOME, handoff_id=facts.id, actor=actor,
                                 card_revision=meta.get("rev"), changes=changes, reason=line)
        if updated is None:
            await ack(response_action="update", view=notice_modal("Nothing changed", why or "Nothing changed."))
            return
        await ack()
        log.info("%s outcome recorded by %s: %s", short_id(facts.id), actor, line)

    app.action(CLOSE)(after_ack(deps, _close, "close"))
    app.action(KEEP)(after_ack(deps, _keep, "keep"))


async def _open_form(deps: Deps, body: dict[str, Any], client: AsyncWebClient) -> None:
    # Reminders may be older than the card: the outcome form does not insist on the card's revision.
    if (loaded := await permitted(deps, body, client, Action.RECORD_OUTCOME, check_revision=False)) is None:
        return
    handoff, facts = loaded
    await client.views_open(trigger_id=body["trigger_id"], view=outcome_modal(
        handoff_id=facts.id, company=handoff.company, revision=facts.revision, prefill=handoff.model_dump()))


async def _close(deps: Deps, body: dict[str, Any], client: AsyncWebClient) -> None:
    await _close_or_keep(deps, body, client, Action.CLOSE)


async def _keep(deps: Deps, body: dict[str, Any], client: AsyncWebClient) -> None:
    await _close_or_keep(deps, body, client, Action.KEEP)


async def _close_or_keep(deps: Deps, body: dict[str, Any], client: AsyncWebClient, action: Action) -> None:
    # Keeping it restarts the rebook ladder from now; closing ends the chase.
    closing = action is Action.CLOSE
    updated = await one_click(deps, body, client, action, outcome=True, check_revision=False,
                              reason="closed after a no-show nobody rebooked" if closing else "kept open after a no-show")
    if updated is not None:
        name = short_id(updated.id or 0)
        await tell(client, body, f"{name} closed." if closing else
                   f"{name} kept open: I'll keep reminding the SDR to rebook.")
