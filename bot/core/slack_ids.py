"""The shapes of Slack's ids, checked before an id from a payload reaches a record or mrkdwn.

Slack's ids are a type letter then upper-case letters and digits (`U024BE7LH`); "_" is accepted too,
for the local stand-in's readable ids (`U_AE1`), as teams.yaml does. Anything else (`U0SE><!channel`)
would end the `<@…>` it is rendered in and open a live mention: it is refused, never stored.
"""
from __future__ import annotations

import re
from typing import Any, TypeGuard

_BODY = r"[A-Z0-9_]{2,31}"
USER = re.compile(rf"[UW]{_BODY}")          # people and bots; W: Enterprise Grid users
CHANNEL = re.compile(rf"[CGD]{_BODY}")      # public, private, DM
TEAM = re.compile(rf"T{_BODY}")
ENTERPRISE = re.compile(rf"E{_BODY}")


def _shaped(pattern: re.Pattern[str], value: Any) -> TypeGuard[str]:
    return isinstance(value, str) and pattern.fullmatch(value) is not None


def is_user(value: Any) -> TypeGuard[str]:
    return _shaped(USER, value)


def is_channel(value: Any) -> TypeGuard[str]:
    return _shaped(CHANNEL, value)


def is_team(value: Any) -> TypeGuard[str]:
    return _shaped(TEAM, value)


def is_enterprise(value: Any) -> TypeGuard[str]:
    return _shaped(ENTERPRISE, value)


def user_or_none(value: Any) -> str | None:
    return value if is_user(value) else None
