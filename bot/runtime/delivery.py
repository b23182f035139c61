"""Delivers the outbox to Slack: in order per conversation, retrying what is transient.

A 429 is retried after its Retry-After; 5xx, timeouts and Slack's own transient
errors back off exponentially; errors that retrying cannot fix are recorded for
admins (`handoff-bot doctor`) instead of being retried forever.
"""
from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.clock import Clock
from bot.runtime.directory import Directory
from bot.core.handoff import short_id
from bot.render.cards import Viewer
from bot.render.text import Message
from bot.runtime.tasks import Inflight
from bot.render.views import render_snapshot, render_view
from storage import outbox
from storage.db import Database
from storage.models import SlackMessage

log = logging.getLogger("handoff.delivery")

TRANSIENT_ERRORS = frozenset({
    "ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout", "team_added_to_org",
})
MAX_BACKOFF = timedelta(minutes=10)
CHANNEL_POST_INTERVAL = 1.0
YIELD_TO_REQUESTS_SECONDS = 0.25
RECOVERY_EVERY_SECONDS = 30.0  # looking for rows a dead claimer left is for crashes, not every pass


def backoff(attempts: int) -> timedelta:
    return min(timedelta(seconds=2 ** max(attempts - 1, 0)), MAX_BACKOFF)


class Deliverer:
    def __init__(self, db: Database, client: AsyncWebClient, directory: Directory, clock: Clock,
                 default_tz: str = "UTC", poll_seconds: float = 1.0, inflight: Inflight | None = None,
                 lease_seconds: float = 60.0):
        self._db = db
        self._client = client
        self._directory = directory
        self._clock = clock
        self._default_tz = default_tz
        self._poll = poll_seconds
        self._lease = timedelta(seconds=lease_seconds)
        # Looking for rows a dead claimer left is for crashes: often enough to find them soon after their lease.
        self._recovery_every = min(RECOVERY_EVERY_SECONDS, lease_seconds / 2)
        self._wake = asyncio.Event()
        self._last_post: dict[str, float] = {}
        # Seconds between posts to one channel (Slack asks ~1/s); the local stand-in has no such limit.
        self.channel_post_interval = CHANNEL_POST_INTERVAL
        self._inflight = inflight or Inflight()
        self._last_recovery = float("-inf")
        self._lock = asyncio.Lock()

    def kick(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await self.deliver_due()
            except Exception:  # the loop must outlive a bad row or a database hiccup
                log.exception("outbox delivery pass failed")
            self._wake.clear()
            waiter = asyncio.ensure_future(self._wake.wait())
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait({waiter, stopper}, timeout=self._poll, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            stopper.cancel()

    async def deliver_due(self) -> int:
        """Deliver everything due now, conversation heads first; returns how many were settled."""
        settled = 0
        async with self._lock:
            while True:
                # Slack waits 3 s for an answer and not at all for a post: answers go first.
                await self._inflight.quiet(YIELD_TO_REQUESTS_SECONDS)
                loop = asyncio.get_running_loop()
                recover = loop.time() - self._last_recovery >= self._recovery_every
                runs = await self._db.run(outbox.claim_due, self._clock.now(), recover=recover, lease=self._lease)
                if recover:
                    self._last_recovery = loop.time()
                if not runs:
                    return settled
                outcomes: list[outbox.Outcome] = []
                posted: dict[str, SlackMessage] = {}
                results = await asyncio.gather(*(self._deliver_run(run, outcomes, posted) for run in runs))
                # One transaction records the whole pass: the writer is shared with every listener.
                await self._db.run(outbox.settle, outcomes)
                settled += sum(results)
                if not any(results):  # all rescheduled: nothing behind them may go yet
                    return settled

    async def _deliver_run(self, run: list[outbox.Delivery], outcomes: list[outbox.Outcome],
                           posted: dict[str, SlackMessage]) -> int:
        """One conversation's messages, in order; the first one rescheduled holds back the rest."""
        for i, d in enumerate(run):
            # A message posted earlier in this pass is what a later edit or thread reply refers to.
            if d.target is None and d.row.op == "update":
                d.target = posted.get(d.row.message_key)
            if d.thread is None and d.row.thread_key:
                d.thread = posted.get(d.row.thread_key)
            if not await self._deliver(d, outcomes, posted):
                for rest in run[i + 1:]:  # released unattempted, behind the one that must wait
                    rest.row.attempts -= 1
                    outcomes.append(outbox.Outcome(rest.row, "pending", at=rest.row.created_at))
                return i
        return len(run)

    async def _deliver(self, d: outbox.Delivery, outcomes: list[outbox.Outcome],
                       posted: dict[str, SlackMessage]) -> bool:
        """True when the row is settled (sent, skipped or dead), False when rescheduled."""
        row = d.row
        label = f"{short_id(row.handoff_id)} " if row.handoff_id else ""
        if row.op == "update" and d.target is None:
            outcomes.append(outbox.Outcome(row, "skipped", error="no posted message to update"))
            return True
        if row.payload is not None and row.view == "snapshot":
            message: Message | None = render_snapshot(row.payload)
        elif d.handoff is None:
            outcomes.append(outbox.Outcome(row, "dead", error="the record is gone"))
            return True
        else:
            person = row.conversation[:1] in "UW"
            tz = await self._directory.tz(row.conversation, d.team_tz) if person else (d.team_tz or self._default_tz)
            try:
                message = render_view(row.view, handoff=d.handoff, event=d.event, message_key=row.message_key,
                                      viewer=Viewer(row.conversation, tz, self._clock.now()), payload=row.payload)
            except Exception:  # a rendering bug must not wedge the conversation behind it
                log.exception("%scould not render %s", label, row.view)
                outcomes.append(outbox.Outcome(row, "dead", error="render failed"))
                return True
        if message is None:
            outcomes.append(outbox.Outcome(row, "skipped", error="settled before it was sent"))
            return True
        try:
            if row.op == "post":
                await self._pace(row.conversation)
                response = await self._client.chat_postMessage(
                    channel=row.conversation, text=message.text, blocks=message.blocks,
                    thread_ts=d.thread.ts if d.thread else None, unfurl_links=False, unfurl_media=False,
                    reply_broadcast=True if d.thread and message.reply_broadcast else None,
                )
            else:
                assert d.target is not None
                response = await self._client.chat_update(
                    channel=d.target.channel, ts=d.target.ts, text=message.text, blocks=message.blocks,
                )
        except SlackApiError as error:
            return await self._failed(row, label, error, outcomes)
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as error:
            at = self._clock.now() + backoff(row.attempts)
            log.warning("%s%s %s to %s: network error %s; retrying at %s", label, row.op, row.view,
                        row.conversation, type(error).__name__, at.isoformat())
            outcomes.append(outbox.Outcome(row, "pending", error=f"network: {type(error).__name__}", at=at))
            return False
        outcomes.append(outbox.Outcome(row, "sent", channel=response["channel"], ts=response["ts"],
                                       at=self._clock.now()))
        if row.op == "post":
            posted[row.message_key] = SlackMessage(key=row.message_key, handoff_id=row.handoff_id,
                                                   channel=response["channel"], ts=response["ts"],
                                                   posted_at=self._clock.now())
        return True

    async def _pace(self, conversation: str) -> None:
        """About one post a second per channel, as Slack asks; DMs are one person's and not paced."""
        if conversation[:1] not in "CG":
            return
        loop = asyncio.get_running_loop()
        wait = self._last_post.get(conversation, 0.0) + self.channel_post_interval - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        self._last_post[conversation] = loop.time()

    async def _failed(self, row, label: str, error: SlackApiError, outcomes: list[outbox.Outcome]) -> bool:
        status = error.response.status_code
        # A 5xx from a proxy or load balancer has a non-JSON body: slack_sdk leaves it as a str.
        data = error.response.data if isinstance(error.response.data, dict) else {}
        code = data.get("error") or f"http_{status}"
        if status == 429 or code == "ratelimited":
            retry_after = int(error.response.headers.get("Retry-After", error.response.headers.get("retry-after", 1)))
            at = self._clock.now() + timedelta(seconds=max(retry_after, 1))
        elif status >= 500 or code in TRANSIENT_ERRORS:
            at = self._clock.now() + backoff(row.attempts)
        else:
            log.error("%s%s %s to %s failed for good: %s", label, row.op, row.view, row.conversation, code)
            outcomes.append(outbox.Outcome(row, "dead", error=code))
            return True
        log.warning("%s%s %s to %s failed (%s); retrying at %s", label, row.op, row.view, row.conversation,
                    code, at.isoformat())
        outcomes.append(outbox.Outcome(row, "pending", error=code, at=at))
        return False
