"""Who people are (time zone, bot or not), from Slack's users.info, cached.

Lookups made before an ack (`quick=True`) wait for Slack at most `quick_seconds`: Slack drops a
request not answered within 3 s. Past that they answer from what is known (a cached answer, even a
stale one, else the caller's fallback zone), while the users.info call runs on and fills the cache
for the next lookup; `pending` says whether an answer is still on its way.

The cache is per process (each copy of the bot has its own) and Slack's user_change events are not
subscribed, so it is kept correct by age: an answer is used for an hour (`ttl_seconds`) where it only
shows a time, but a zone stored in a record (the AE's, on submission and reassignment: `fresh=True`) is
asked of Slack again once the cached answer is five minutes old (`fresh_seconds`). So a stored zone is at
most five minutes behind Slack when Slack answers in time, and when it does not, the record is corrected
when it does (bot.services.handoffs). A call about someone that fails for good (a DM to a deactivated
user) drops what is cached about them: the next lookup asks Slack.
"""
from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.handoff import Person

log = logging.getLogger("handoff.directory")

QUICK_SECONDS = 1.0  # before an ack: Slack gives 3 s for the whole answer
FRESH_SECONDS = 300.0  # how old a cached answer may be for a zone that is stored in a record


class Directory:
    def __init__(self, client: AsyncWebClient, default_tz: str, ttl_seconds: float = 3600.0,
                 quick_seconds: float = QUICK_SECONDS, fresh_seconds: float = FRESH_SECONDS):
        self._client = client
        self._default_tz = known_zone(default_tz) or "UTC"
        self._ttl = ttl_seconds
        self.quick_seconds = quick_seconds
        self.fresh_seconds = fresh_seconds
        # Kept past the TTL: a stale answer is a better fallback than none when Slack is slow.
        self._cache: dict[str, tuple[float, Person]] = {}
        self._fetching: dict[str, asyncio.Task[Person | None]] = {}

    async def person(self, user_id: str, fallback_tz: str | None = None, *, quick: bool = False,
                     fresh: bool = False) -> Person:
        """The user as Slack knows them. When Slack can't say their zone (or names one no zone database
        knows), `fallback_tz` (their team's), else the installation's default, else UTC. `fresh`: the
        answer is stored in a record; a cached one older than `fresh_seconds` is asked again."""
        fallback = known_zone(fallback_tz) or self._default_tz
        hit = self._cache.get(user_id)
        max_age = min(self._ttl, self.fresh_seconds) if fresh else self._ttl
        if hit and time.monotonic() - hit[0] < max_age:
            return _with_tz(hit[1], fallback)
        fetch = self._fetch(user_id)
        try:
            if quick:
                # shield: a deadline missed here must not cancel the call; its answer still fills the cache.
                person = await asyncio.wait_for(asyncio.shield(fetch), timeout=self.quick_seconds)
            else:
                person = await fetch
        except TimeoutError:
            log.warning("users.info for %s took over %.1fs; answering from %s meanwhile", user_id,
                        self.quick_seconds, "the cache" if hit else "the fallback zone")
            return _with_tz(hit[1], fallback) if hit else Person(user_id, fallback)
        if person is None:  # Slack did not answer usefully
            return _with_tz(hit[1], fallback) if hit else Person(user_id, fallback)
        return _with_tz(person, fallback)

    async def tz(self, user_id: str, fallback_tz: str | None = None, *, quick: bool = False) -> str:
        return (await self.person(user_id, fallback_tz, quick=quick)).tz

    def forget(self, user_id: str) -> None:
        """Slack refused a call about this user for good: what is cached may be wrong; ask next time."""
        self._cache.pop(user_id, None)

    def pending(self, user_id: str) -> bool:
        """A users.info call for this user is still on its way (a quick lookup just answered without it)."""
        task = self._fetching.get(user_id)
        return task is not None and not task.done()

    def _fetch(self, user_id: str) -> asyncio.Task[Person | None]:
        """One users.info call per user at a time; concurrent lookups share it."""
        task = self._fetching.get(user_id)
        if task is None or task.done():
            task = asyncio.get_running_loop().create_task(self._users_info(user_id),
                                                          name=f"users.info {user_id}")
            self._fetching[user_id] = task
            task.add_done_callback(lambda t: self._forget(user_id, t))
        return task

    def _forget(self, user_id: str, task: asyncio.Task[Person | None]) -> None:
        if self._fetching.get(user_id) is task:
            del self._fetching[user_id]

    async def _users_info(self, user_id: str) -> Person | None:
        try:
            response = await self._client.users_info(user=user_id)
        except SlackApiError as error:
            # A 5xx with a non-JSON body leaves the response data a str.
            data = error.response.data if isinstance(error.response.data, dict) else {}
            code = data.get("error") or f"http_{error.response.status_code}"
            if code == "user_not_found":
                return Person(user_id, "", deleted=True, missing=True)
            log.warning("users.info failed for %s: %s", user_id, code)
            return None
        except Exception as error:  # network trouble must not block a submission
            log.warning("users.info failed for %s: %s", user_id, type(error).__name__)
            return None
        user = response["user"]
        raw_tz = user.get("tz") or ""
        tz = known_zone(raw_tz) or ""  # "" = no usable zone; the caller's fallback applies
        if raw_tz and not tz:
            log.warning("users.info gave %s the zone %r, which no zone database knows; using their team's "
                        "zone, else %s", user_id, str(raw_tz)[:64], self._default_tz)
        person = Person(
            id=user_id,
            tz=tz,
            is_bot=bool(user.get("is_bot")) or user_id == "USLACKBOT",
            deleted=bool(user.get("deleted")),
        )
        self._cache[user_id] = (time.monotonic(), person)
        return person


@lru_cache(maxsize=512)
def known_zone(name: str | None) -> str | None:
    """`name` if it is an IANA zone this machine knows, else None. Slack has sent zones zoneinfo lacks."""
    if not name or not isinstance(name, str):
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        return None
    return name


def _with_tz(person: Person, fallback: str) -> Person:
    return person if person.tz else replace(person, tz=fallback)
