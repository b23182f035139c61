"""Pieces the listeners share: reading payloads, telling the clicker, applying a decided action."""
from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.services.context import Deps
from bot.core.handoff import Action, Decision, Facts, decide
from bot.render.replies import refusal
from bot.core.teams import TeamPolicy
from storage import handoffs as store
from storage.models import Handoff

log = logging.getLogger("handoff.handlers")


Work = Callable[[Deps, dict[str, Any], AsyncWebClient], Awaitable[None]]


def after_ack(deps: Deps, work: Work, name: str) -> Callable[..., Awaitable[None]]:
    """A button listener that answers Slack at once and does `work` right after."""

    async def listener(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        deps.background.spawn(work(deps, body, client), name=name)

    return listener


def button_ref(body: dict[str, Any]) -> tuple[int, int] | None:
    """(handoff id, card revision) from a clicked button's value, or None if it is not ours."""
    try:
        value = json.loads(body["actions"][0]["value"])
        return int(value["id"]), int(value["rev"])
    except (KeyError, IndexError, ValueError, TypeError):
        return None


def view_ref(view: dict[str, Any]) -> dict[str, Any]:
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
        return meta if isinstance(meta, dict) else {}
    except ValueError:
        return {}


def input_value(view: dict[str, Any], name: str) -> Any:
    """The raw state Slack sent for the input whose block and action are both `name`."""
    return view.get("state", {}).get("values", {}).get(name, {}).get(name, {})


async def tell(client: AsyncWebClient, body: dict[str, Any], text: str) -> None:
    """An ephemeral word to whoever clicked, where they clicked."""
    user = body["user"]["id"]
    channel = (body.get("channel") or {}).get("id") or body.get("container", {}).get("channel_id")
    try:
        if channel:
            await client.chat_postEphemeral(channel=channel, user=user, text=text)
        else:
            await client.chat_postMessage(channel=user, text=text)
    except Exception as error:  # a lost courtesy note must not hide the outcome
        log.warning("could not tell %s: %s", user, error)


async def load_facts(deps: Deps, handoff_id: int) -> tuple[Handoff, Facts] | None:
    handoff = await deps.db.query(store.get_handoff, handoff_id)
    return (handoff, store.facts_of(handoff)) if handoff else None


def managers_of_ae(team: TeamPolicy | None, handoff: Handoff) -> frozenset[str]:
    """The AE's manager in the handoff's team: the one an escalation asks to reassign."""
    manager = team.manager_of(handoff.ae_id) if team else None
    return frozenset({manager}) if manager else frozenset()


async def permitted(deps: Deps, body: dict[str, Any], client: AsyncWebClient, action: Action, *,
                    check_revision: bool = True) -> tuple[Handoff, Facts] | None:
    """For a button that opens a form: the handoff, if the clicker may act on it now; else they are told why."""
    ref = button_ref(body)
    if ref is None:
        await tell(client, body, "That button is not one of mine; nothing changed.")
        return None
    loaded = await load_facts(deps, ref[0])
    if loaded is None:
        await tell(client, body, "That handoff no longer exists.")
        return None
    handoff, facts = loaded
    actor = body["user"]["id"]
    decision = decide(action, actor=actor, facts=facts, admins=deps.admins,
                      card_revision=ref[1] if check_revision else None,
                      managers=managers_of_ae(await deps.team(handoff.team_id), handoff))
    if not decision.ok:
        await tell(client, body, refusal(decision, action.value, await deps.directory.tz(actor)))
        return None
    return loaded


async def act(
    deps: Deps,
    action: Action,
    *,
    handoff_id: int,
    actor: str,
    card_revision: int | None,
    changes: dict[str, Any] | None = None,
    reason: str | None = None,
    detail: dict[str, Any] | None = None,
) -> tuple[Handoff | None, str | None]:
    """Decide and, if allowed, apply. Returns (updated handoff, None) or (None, why not, for the actor)."""
    loaded = await load_facts(deps, handoff_id)
    if loaded is None:
        return None, "That handoff no longer exists."
    for _attempt in range(3):
        handoff, facts = loaded
        team = await deps.team(handoff.team_id)
        decision: Decision = decide(action, actor=actor, facts=facts, admins=deps.admins, card_revision=card_revision,
                                    managers=managers_of_ae(team, handoff))
        if not decision.ok:
            tz = await deps.directory.tz(actor)
            return None, refusal(decision, action.value, tz)
        assert decision.to_state is not None
        updated = await deps.db.run(
            store.apply_action, facts, action, actor=actor, to_state=decision.to_state,
            now=deps.clock.now(), changes=changes, reason=reason, detail=detail,
            channel=team.channel_id if team else None,
            sdr_manager=team.manager_of(facts.sdr_id) if team else None,
        )
        if updated is not None:
            deps.deliverer.kick()
            return updated, None
        # Someone else changed it between our read and our write: read again and re-decide.
        loaded = await load_facts(deps, handoff_id)
        if loaded is None:
            return None, "That handoff no longer exists."
    return None, "The handoff is changing fast; try again in a moment."


async def one_click(deps: Deps, body: dict[str, Any], client: AsyncWebClient, action: Action, *,
                    outcome: bool = False, reason: str | None = None, check_revision: bool = True) -> Handoff | None:
    """A button that decides at once (accept, withdraw, close, keep): who and when are recorded as the
    decision, or as the outcome; a click that changes nothing tells the clicker why."""
    ref = button_ref(body)
    if ref is None:
        await tell(client, body, "That button is not one of mine; nothing changed.")
        return None
    actor, now = body["user"]["id"], deps.clock.now()
    changes = {"outcome_by": actor, "outcome_at": now} if outcome else {"decided_by": actor, "decided_at": now}
    updated, why = await act(deps, action, handoff_id=ref[0], actor=actor,
                             card_revision=ref[1] if check_revision else None, changes=changes, reason=reason)
    if updated is None:
        await tell(client, body, why or "Nothing changed.")
    return updated
