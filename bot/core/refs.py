"""What we hand Slack to give back later: button values and modal `private_metadata`.

Typed and versioned, parsed and validated in one place. Anything that does not parse is
"not ours" (None): a forged or mangled value never reaches a rule as half a reference.
Values written before versioning (no "v") read as version 1: cards already in Slack keep working.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

VERSION = 1
MAX_ID = 2**63 - 1  # what the database's integer key can hold
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")


def _load(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, str) or not raw or len(raw) > 3000:
        return None
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # deep nesting is a forgery too, not a crash
        return None
    version = data.get("v", VERSION) if isinstance(data, dict) else None
    if not isinstance(data, dict) or type(version) is not int or version != VERSION:
        return None
    return data


def _whole(value: Any) -> int | None:
    # bool is an int to Python, not to us; a huge number is a forgery, not a handoff.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        return None
    return value


def _dump(data: dict[str, Any]) -> str:
    return json.dumps({"v": VERSION, **data}, separators=(",", ":"))


@dataclass(frozen=True)
class HandoffRef:
    """A handoff as a card or form showed it: its id and the revision it was drawn for."""

    handoff_id: int
    revision: int

    def encode(self) -> str:
        return _dump({"id": self.handoff_id, "rev": self.revision})

    @classmethod
    def parse(cls, raw: Any) -> HandoffRef | None:
        data = _load(raw)
        if data is None:
            return None
        handoff_id = _whole(data.get("id", data.get("revise")))  # "revise": the form's key before v1
        revision = _whole(data.get("rev"))
        return cls(handoff_id, revision) if handoff_id is not None and revision is not None else None


@dataclass(frozen=True)
class TeamRef:
    """The team an edit form is about; None for a new team."""

    team_id: str | None

    def encode(self) -> str:
        return _dump({"team": self.team_id} if self.team_id else {})

    @classmethod
    def parse(cls, raw: Any) -> TeamRef | None:
        data = _load(raw or "{}")
        if data is None:
            return None
        team_id = data.get("team", data.get("id"))  # "id": the form's key before v1
        if team_id is None:
            return cls(None)
        return cls(team_id) if isinstance(team_id, str) and _SLUG.fullmatch(team_id) else None


def beyond_any_handoff(raw: Any) -> bool:
    """A reference of our shape whose id is a whole number no handoff can have (over MAX_ID, say 10**30):
    the answer is "no such handoff", not "not mine"."""
    data = _load(raw)
    number = data.get("id") if data is not None else None
    return isinstance(number, int) and not isinstance(number, bool) and number > MAX_ID


def blank(raw: Any) -> bool:
    """Metadata that names nothing: a new handoff's form."""
    if raw in (None, ""):
        return True
    data = _load(raw)
    return data is not None and not set(data) - {"v"}
