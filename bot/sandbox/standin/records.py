"""What the stand-in keeps for inspection: the calls it answered and what people would see."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RecordedCall:
    """One Web API call as the stand-in saw and answered it."""

    method: str
    args: dict[str, Any]
    status: int
    response: dict[str, Any]
    at: float
    team_id: str | None = None  # the workspace the call's token belongs to (None: no valid token)

    @property
    def ok(self) -> bool:
        return self.status == 200 and bool(self.response.get("ok"))


@dataclass(frozen=True)
class StandInEvent:
    """Something a person would see in Slack, in the order it happened."""

    kind: str  # message|update|ephemeral|view_open|view_update|view_push|home|response_url
    audience: str  # user id (DMs, ephemerals, views) or channel id
    channel: str | None
    ts: str | None
    text: str
    blocks: list[dict[str, Any]] | None
    view: dict[str, Any] | None
    at: float
    thread_ts: str | None = None
    team_id: str | None = None  # the workspace it happened in


def public_view(view: dict[str, Any]) -> dict[str, Any]:
    """The view as Slack shows it: without the stand-in's private bookkeeping."""
    return {k: copy.deepcopy(v) for k, v in view.items() if not k.startswith("_")}
