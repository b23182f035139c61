"""Hands every listener its services, and what the payload refers to, parsed once.

Listeners ask for them by name (Bolt injects context keys as arguments): `services`, `later`
(work to do after the ack) and `ref` (the handoff a clicked button or a submitted form is about,
None when the payload carries no valid reference).
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol

from slack_bolt.context.async_context import AsyncBoltContext

from bot.core.refs import HandoffRef
from bot.services import Services


class Later(Protocol):
    """Work that runs after Slack has its ack (kept referenced, logged if it fails)."""

    def spawn(self, coro: Coroutine[Any, Any, Any], *, name: str = "") -> Any: ...


Middleware = Callable[..., Awaitable[None]]


def provide(services: Services, later: Later) -> Middleware:
    async def middleware(context: AsyncBoltContext, body: dict[str, Any], next: Callable[[], Awaitable[None]]) -> None:
        context["services"] = services
        context["later"] = later
        context["ref"] = HandoffRef.parse(_carried(body))
        await next()

    return middleware


def _carried(body: dict[str, Any]) -> Any:
    """A button's value, or a modal's private_metadata."""
    if body.get("type") == "block_actions":
        actions = body.get("actions")
        return actions[0].get("value") if isinstance(actions, list) and actions and isinstance(actions[0], dict) \
            else None
    if body.get("type") == "view_submission":
        view = body.get("view")
        return view.get("private_metadata") if isinstance(view, dict) else None
    return None
