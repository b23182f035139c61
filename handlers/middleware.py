"""Hands every listener its services, and what the payload refers to, parsed once.

Listeners ask for them by name (Bolt injects context keys as arguments): `services`, `later`
(work to do after the ack) and `ref` (the handoff a clicked button or a submitted form is about,
None when the payload carries no valid reference).
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol

from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.response import BoltResponse

from bot.core import slack_ids
from bot.core.refs import HandoffRef
from bot.core.workspaces import workspace_key
from bot.services import Services

log = logging.getLogger("handoff.handlers")


class Later(Protocol):
    """Work that runs after Slack has its ack (kept referenced, logged if it fails)."""

    def spawn(self, coro: Coroutine[Any, Any, Any], *, name: str = "") -> Any: ...


Middleware = Callable[..., Awaitable[None]]


class ServicesFor(Protocol):
    """Each workspace's use cases, on a database view that sees only that workspace (bot.runtime.workspaces)."""

    def services_for(self, key: str, bot_token: str | None) -> Services: ...


def provide(workspaces: ServicesFor, later: Later) -> Middleware:
    async def middleware(context: AsyncBoltContext, body: dict[str, Any],
                         next: Callable[[], Awaitable[None]]) -> BoltResponse | None:
        if (problem := payload_problem(body)) is not None:
            # Slack never sends this: one line, a 400, and no listener sees it.
            log.warning("refused a %s payload: %s", _kind(body), problem)
            return BoltResponse(status=400, body="bad request")
        # The workspace of the installation Bolt authorized the request with: whatever a payload names, a
        # listener reads and changes only that workspace's records.
        key = workspace_key(context.enterprise_id, context.team_id, bool(context.is_enterprise_install))
        context["services"] = workspaces.services_for(key, context.bot_token)
        context["later"] = later
        context["ref"] = HandoffRef.parse(carried(body))
        await next()
        return None

    return middleware


def _kind(body: dict[str, Any]) -> str:
    return str(body.get("type") or body.get("command") or "untyped")[:40]


MALFORMED = "(not an object)"  # what id_of gives for {"user": "U1"}: no id shape matches it


def id_of(body: dict[str, Any], key: str) -> Any:
    """`body[key]["id"]` for interactivity, `body[key + "_id"]` for slash commands; None when absent."""
    holder = body.get(key)
    if holder is None:
        return body.get(f"{key}_id")
    return holder.get("id") if isinstance(holder, dict) else MALFORMED


def payload_problem(body: dict[str, Any]) -> str | None:
    """Why a payload the listeners would act on does not have Slack's shape, or None.

    Every user, channel and team id the listeners read is checked against Slack's id shapes here,
    once, before any of it reaches a record or a message."""
    kind = body.get("type")
    acting = kind in ("block_actions", "view_submission") or "command" in body
    if not acting:
        return None  # events and what nobody listens to: Bolt's matching and the listeners decide
    if not slack_ids.is_user(id_of(body, "user")):
        return "no valid user id"
    for key, valid in (("team", slack_ids.is_team), ("channel", slack_ids.is_channel),
                       ("enterprise", slack_ids.is_enterprise)):
        found = id_of(body, key)
        if found not in (None, "") and not valid(found):
            return f"a malformed {key} id"
    container = body.get("container")
    if container is not None and not isinstance(container, dict):
        return "a malformed container"
    if isinstance(container, dict) and container.get("channel_id") is not None \
            and not slack_ids.is_channel(container.get("channel_id")):
        return "a malformed channel id"
    if kind in ("block_actions",) or "command" in body:
        if not isinstance(body.get("trigger_id"), str):
            return "no trigger_id"
    if kind == "block_actions":
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions or not all(isinstance(a, dict) for a in actions):
            return "no actions"
    if kind == "view_submission":
        view = body.get("view")
        if not isinstance(view, dict) or not isinstance(view.get("id"), str):
            return "no view"
    if "command" in body and not isinstance(body.get("text", ""), str):
        return "a malformed text"
    return None


def carried(body: dict[str, Any]) -> Any:
    """A button's value, or a modal's private_metadata."""
    if body.get("type") == "block_actions":
        actions = body.get("actions")
        return actions[0].get("value") if isinstance(actions, list) and actions and isinstance(actions[0], dict) \
            else None
    if body.get("type") == "view_submission":
        view = body.get("view")
        return view.get("private_metadata") if isinstance(view, dict) else None
    return None
