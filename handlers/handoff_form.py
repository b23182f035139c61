"""The SDR's form: new handoffs and revisions. Errors answer inline; a valid one is stored before anything else."""
from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.core.chase import assignment
from bot.services.context import Deps
from bot.core.handoff import Action, FormInput, Invalid, short_id, validate_submission
from bot.render.modals import HANDOFF_CALLBACK, notice_modal
from handlers.common import act, input_value, view_ref
from storage import handoffs as store

log = logging.getLogger("handoff.form")

TEXT_FIELDS = (
    "company", "contact_name", "contact_title", "contact_email", "crm_url", "employee_count", "meeting_link",
    "need", "compelling_event", "before_scenario", "after_scenario", "outcomes", "required_capabilities",
    "metrics", "decision_path", "seats", "agenda", "notes",
)
CHOICE_FIELDS = ("region", "source", "handoff_type", "meeting_kind")


def read_form(view: dict[str, Any]) -> FormInput:
    """Slack's view state as a FormInput; missing or odd shapes read as empty."""
    values: dict[str, Any] = {}
    for name in TEXT_FIELDS:
        raw = input_value(view, name).get("value")
        values[name] = raw if isinstance(raw, str) else None
    for name in CHOICE_FIELDS:
        option = input_value(view, name).get("selected_option") or {}
        values[name] = option.get("value") if isinstance(option, dict) else None
    values["ae_id"] = input_value(view, "ae_id").get("selected_user")
    values["attendees"] = tuple(u for u in input_value(view, "attendees").get("selected_users") or [] if isinstance(u, str))
    values["enterprise_needs"] = tuple(
        o.get("value") for o in input_value(view, "enterprise_needs").get("selected_options") or [] if isinstance(o, dict))
    epoch = input_value(view, "meeting_start").get("selected_date_time")
    values["meeting_start"] = (
        datetime.fromtimestamp(int(epoch), tz=timezone.utc) if isinstance(epoch, (int, float, str)) and str(epoch).isdigit()
        else None)
    return FormInput(**values)


def register(app: AsyncApp, deps: Deps) -> None:
    @app.view(HANDOFF_CALLBACK)
    async def handoff_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        sdr_id = body["user"]["id"]
        form = read_form(view)
        team = await deps.team_for(sdr_id) or (await deps.team_for(form.ae_id) if form.ae_id else None)
        zone = team.tz if team else None  # when Slack does not know someone's zone, their team's
        sdr = await deps.directory.person(sdr_id, zone)
        ae = await deps.directory.person(form.ae_id, zone) if form.ae_id else None
        now = deps.clock.now()
        result = validate_submission(form, sdr=sdr, ae=ae, now=now, policy=deps.policy_for(team))
        if isinstance(result, Invalid):
            await ack(response_action="errors", errors=result.errors)
            return
        values = dict(result.values)
        values.update(assignment(team, ae_tz=ae.tz if ae else zone or deps.settings.default_tz, at=now,
                                 meeting_start=values["meeting_start"], meeting_kind=values["meeting_kind"]))  # type: ignore[arg-type]
        if not values.get("region") and team:
            values["region"] = team.region
        meta = view_ref(view)
        if "revise" in meta:
            await _revise(ack, deps, sdr_id, meta, values)
            return
        try:
            handoff, created = await deps.db.run(
                store.create_handoff, values, sdr_id=sdr_id,
                slack_team_id=(body.get("team") or {}).get("id", ""), submission_key=view["id"], now=now,
                channel=team.channel_id if team else None,
            )
        except Exception:
            log.exception("could not store a handoff from %s", sdr_id)
            # Keep the modal open with everything typed: nothing is lost, the SDR can press submit again.
            await ack(response_action="errors",
                      errors={"company": "Couldn't save just now; nothing was lost. Press Hand off again."})
            return
        await ack()
        if created:
            log.info("%s submitted by %s for %s", short_id(handoff.id or 0), sdr_id, handoff.ae_id)
            deps.deliverer.kick()


async def _revise(ack: AsyncAck, deps: Deps, sdr_id: str, meta: dict[str, Any], values: dict[str, Any]) -> None:
    changes = dict(values)  # decided_by/at keep the last decision: the rejection notice still names who
    try:
        handoff_id, revision = int(meta["revise"]), int(meta["rev"])
    except (KeyError, ValueError, TypeError):
        await ack(response_action="update", view=notice_modal("Handoff", "This form is broken; start again."))
        return
    updated, why = await act(deps, Action.REVISE, handoff_id=handoff_id, actor=sdr_id, card_revision=revision,
                             changes=changes, detail={"ae": values.get("ae_id")})
    if updated is None:
        await ack(response_action="update", view=notice_modal("Nothing changed", why or "Nothing changed."))
        return
    await ack()
    log.info("%s revised by %s (revision %s)", short_id(handoff_id), sdr_id, updated.revision)
