"""After the meeting: the outcome and the next step; and Close / Keep for a no-show nobody rebooked."""
from __future__ import annotations

import dataclasses
from datetime import date
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.form import OutcomeInput
from bot.core.handoff import Action, short_id
from bot.core.lifecycle import Close, Keep
from bot.core.refs import HandoffRef
from bot.render.modals import OUTCOME_CALLBACK, outcome_modal
from bot.render.reminders import CLOSE, KEEP, OUTCOME
from bot.services import Services
from handlers.common import (
    answer_form,
    broken_form,
    chosen,
    chosen_time,
    chosen_user,
    input_value,
    may_open,
    one_click,
    tell,
    text_value,
)
from handlers.middleware import Later


def register(app: AsyncApp) -> None:
    app.action(OUTCOME)(outcome_clicked)
    app.view(OUTCOME_CALLBACK)(outcome_submitted)
    app.action(CLOSE)(close_clicked)
    app.action(KEEP)(keep_clicked)


def read_outcome(view: dict[str, Any]) -> OutcomeInput:
    raw_due = input_value(view, "next_step_due").get("selected_date")
    try:
        due = date.fromisoformat(raw_due) if isinstance(raw_due, str) and len(raw_due) == 10 else None
    except ValueError:
        due = None
    return OutcomeInput(
        outcome=chosen(view, "outcome"),
        new_meeting_start=chosen_time(view, "new_meeting_start"),
        next_step=text_value(view, "next_step"),
        next_step_due=due,
        next_step_owner=chosen_user(view, "next_step_owner"),
    )


async def outcome_clicked(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, services: Services,
                          later: Later, ref: HandoffRef | None) -> None:
    await ack()
    later.spawn(_open_form(services, body, client, ref), name="outcome-form")


async def _open_form(services: Services, body: dict[str, Any], client: AsyncWebClient, ref: HandoffRef | None) -> None:
    # Reminders may be older than the card: the outcome form does not insist on the card's revision.
    h = await may_open(services, body, client, ref, Action.RECORD_OUTCOME, check_revision=False)
    if h is not None:
        await client.views_open(trigger_id=body["trigger_id"], view=outcome_modal(
            handoff_id=h.id, company=h.company, revision=h.revision, prefill=dataclasses.asdict(h)))


async def outcome_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], services: Services,
                            ref: HandoffRef | None) -> None:
    if ref is None:
        await broken_form(ack)
        return
    result = await services.handoffs.record_outcome(ref, read_outcome(view), actor=body["user"]["id"])
    await answer_form(ack, result, Action.RECORD_OUTCOME)


async def close_clicked(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, services: Services,
                        later: Later, ref: HandoffRef | None) -> None:
    await ack()
    later.spawn(_close_or_keep(services, body, client, ref, closing=True), name="close")


async def keep_clicked(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, services: Services,
                       later: Later, ref: HandoffRef | None) -> None:
    await ack()
    later.spawn(_close_or_keep(services, body, client, ref, closing=False), name="keep")


async def _close_or_keep(services: Services, body: dict[str, Any], client: AsyncWebClient, ref: HandoffRef | None,
                         *, closing: bool) -> None:
    updated = await one_click(services, body, client, ref, Close() if closing else Keep(), check_revision=False)
    if updated is not None:
        name = short_id(updated.id)
        await tell(client, body, f"{name} closed." if closing else
                   f"{name} kept open: I'll keep reminding the SDR to rebook.")
