"""Who people are (time zone, bot or not), from Slack's users.info, cached."""
from __future__ import annotations

import logging
import time

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.handoffs import Person

log = logging.getLogger("handoff.directory")


class Directory:
    def __init__(self, client: AsyncWebClient, default_tz: str, ttl_seconds: float = 3600.0):
        self._client = client
        self._default_tz = default_tz
        self._ttl = ttl_seconds
        self._cache: dict[str, tuple[float, Person]] = {}

    async def person(self, user_id: str) -> Person:
        """The user as Slack knows them; if Slack can't say, a person in the default zone."""
        hit = self._cache.get(user_id)
        if hit and time.monotonic() - hit[0] < self._ttl:
            return hit[1]
        try:
            response = await self._client.users_info(user=user_id)
        except SlackApiError as error:
            # A 5xx with a non-JSON body leaves the response data a str.
            data = error.response.data if isinstance(error.response.data, dict) else {}
            code = data.get("error") or f"http_{error.response.status_code}"
            if code == "user_not_found":
                return Person(user_id, self._default_tz, deleted=True)
            log.warning("users.info failed for %s: %s", user_id, code)
            return Person(user_id, self._default_tz)
        except Exception as error:  # network trouble must not block a submission
            log.warning("users.info failed for %s: %s", user_id, type(error).__name__)
            return Person(user_id, self._default_tz)
        user = response["user"]
        person = Person(
            id=user_id,
            tz=user.get("tz") or self._default_tz,
            is_bot=bool(user.get("is_bot")) or user_id == "USLACKBOT",
            deleted=bool(user.get("deleted")),
        )
        self._cache[user_id] = (time.monotonic(), person)
        return person

    async def tz(self, user_id: str) -> str:
        return (await self.person(user_id)).tz
