"""The SDR's form: new handoffs and revisions. Errors answer inline; a valid one is stored before anything else."""
from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.core.form import FormInput
from bot.core.handoff import Action
from bot.core.refs import HandoffRef, blank
from bot.render.modals import HANDOFF_CALLBACK
from bot.services import Services
from handlers.common import answer_form, broken_form, chosen, chosen_time, chosen_user, input_value, text_value
from handlers.middleware import id_of

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
