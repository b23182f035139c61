"""The SDR's form: new handoffs and revisions. Errors answer inline; a valid one is stored before anything else."""
from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.form import FormInput
from bot.core.handoff import Action
from bot.core.refs import HandoffRef, blank
from bot.render.modals import HANDOFF_CALLBACK, HANDOFF_TYPE, form_for_type
from bot.services import Services
from handlers.common import answer_form, broken_form, chosen, chosen_time, chosen_user, input_value, text_value
from handlers.middleware import Later, id_of

log = logging.getLogger("handoff.form")

TEXT_FIELDS = (
    "company", "contact_name", "contact_title", "contact_email", "crm_url", "employee_count", "meeting_link",
    "need", "compelling_event", "before_scenario", "after_scenario", "outcomes", "required_capabilities",
    "metrics", "decision_path", "seats", "agenda", "notes",
)
CHOICE_FIELDS = ("region", "source", "handoff_type", "meeting_kind")


def read_form(view: dict[str, Any]) -> FormInput:
    """Slack's view state as a FormInput; missing or odd shapes read as empty."""
    values: dict[str, Any] = {name: text_value(view, name) for name in TEXT_FIELDS}
    values.update({name: chosen(view, name) for name in CHOICE_FIELDS})
    values["ae_id"] = chosen_user(view, "ae_id")
    users = input_value(view, "attendees").get("selected_users")
    values["attendees"] = tuple(u for u in users if isinstance(u, str)) if isinstance(users, list) else ()
    needs = input_value(view, "enterprise_needs").get("selected_options")
    values["enterprise_needs"] = tuple(o.get("value") for o in needs if isinstance(o, dict)
                                       and isinstance(o.get("value"), str)) if isinstance(needs, list) else ()
    values["meeting_start"] = chosen_time(view, "meeting_start")
    return FormInput(**values)


def register(app: AsyncApp) -> None:
    app.view(HANDOFF_CALLBACK)(handoff_submitted)
    app.action(HANDOFF_TYPE)(handoff_type_chosen)


async def handoff_type_chosen(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient, services: Services,
                              later: Later) -> None:
    """The SDR chose a handoff type in the open form: a direct pass drops the meeting inputs, a meeting
    type brings them back. Everything typed stays (Slack keeps inputs whose ids did not change)."""
    await ack()
    view, action = body.get("view"), (body.get("actions") or [{}])[0]
    if not isinstance(view, dict) or view.get("callback_id") != HANDOFF_CALLBACK or not isinstance(view.get("id"), str):
        return
    option = action.get("selected_option")
    chosen_type = option.get("value") if isinstance(option, dict) else None
    later.spawn(_show_for_type(services, client, body["user"]["id"], view,
                               chosen_type if isinstance(chosen_type, str) else None), name="form-type")


async def _show_for_type(services: Services, client: AsyncWebClient, user: str, view: dict[str, Any],
                         handoff_type: str | None) -> None:
    notice = (await services.teams.form_defaults(user)).notice_hours
    try:
        # The hash: if the form changed since this click (a quicker second click), Slack refuses
        # this stale update rather than overwrite the newer one.
        await client.views_update(view_id=view["id"], hash=view.get("hash"),
                                  view=form_for_type(view, handoff_type, notice))
    except SlackApiError as error:
        log.info("did not update the handoff form %s: %s", view["id"], error.response.get("error"))


async def handoff_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], services: Services,
                            ref: HandoffRef | None) -> None:
    sdr_id = body["user"]["id"]
    if ref is None and not blank(view.get("private_metadata")):
        await broken_form(ack)
        return
    try:
        result = await services.handoffs.submit_form(
            read_form(view), sdr_id=sdr_id, revising=ref, submission_key=view["id"],
            slack_team_id=id_of(body, "team") or "")
    except Exception:
        log.exception("could not store a handoff from %s", sdr_id)
        # Keep the modal open with everything typed: nothing is lost, the SDR can press submit again.
        await ack(response_action="errors",
                  errors={"company": "Couldn't save just now; nothing was lost. Press Hand off again."})
        return
    await answer_form(ack, result, Action.REVISE)
