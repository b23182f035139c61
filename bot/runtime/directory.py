"""Who people are (time zone, bot or not), from Slack's users.info, cached."""
from __future__ import annotations

import logging
import time
from dataclasses import replace

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.handoff import Person

log = logging.getLogger("handoff.directory")


class Directory:
    def __init__(self, client: AsyncWebClient, default_tz: str, ttl_seconds: float = 3600.0):
        self._client = client
        self._default_tz = default_tz
        self._ttl = ttl_seconds
        self._cache: dict[str, tuple[float, Person]] = {}

    async def person(self, user_id: str, fallback_tz: str | None = None) -> Person:
        """The user as Slack knows them. When Slack can't say their zone, `fallback_tz` (their team's)
        or the installation's default."""
        fallback = fallback_tz or self._default_tz
        hit = self._cache.get(user_id)
        if hit and time.monotonic() - hit[0] < self._ttl:
            return _with_tz(hit[1], fallback)
        try:
            response = await self._client.users_info(user=user_id)
        except SlackApiError as error:
            # A 5xx with a non-JSON body leaves the response data a str.
            data = error.response.data if isinstance(error.response.data, dict) else {}
            code = data.get("error") or f"http_{error.response.status_code}"
            if code == "user_not_found":
                return Person(user_id, fallback, deleted=True)
            log.warning("users.info failed for %s: %s", user_id, code)
            return Person(user_id, fallback)
        except Exception as error:  # network trouble must not block a submission
            log.warning("users.info failed for %s: %s", user_id, type(error).__name__)
            return Person(user_id, fallback)
        user = response["user"]
        person = Person(
            id=user_id,
            tz=user.get("tz") or "",  # "" = Slack does not know; the caller's fallback applies
            is_bot=bool(user.get("is_bot")) or user_id == "USLACKBOT",
            deleted=bool(user.get("deleted")),
        )
        self._cache[user_id] = (time.monotonic(), person)
        return _with_tz(person, fallback)

    async def tz(self, user_id: str, fallback_tz: str | None = None) -> str:
        return (await self.person(user_id, fallback_tz)).tz


def _with_tz(person: Person, fallback: str) -> Person:
    return person if person.tz else replace(person, tz=fallback)
