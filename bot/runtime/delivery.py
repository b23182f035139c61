"""Delivers the outbox to Slack: each conversation a lane of its own, in order, retrying what is transient.

Only a conversation's head is claimed, right before it is sent: one slow or hung conversation holds up
nobody else's, and a process killed mid-post leaves at most one message per conversation in doubt.
Every Web API call has a deadline. Every post carries its outbox key as Slack message metadata, so a
post whose answer never came (a timeout, a dropped connection, `internal_error` or a 5xx, a process
killed mid-call) is looked for in the conversation's history before it is posted again: found, it is
recorded as sent; not found, it is posted. Never a guess: if history cannot be read (a missing scope,
a channel the bot is not in) the post is kept as 'unknown' for admins (`handoff-bot doctor`).

A 429 waits for its Retry-After; 5xx, timeouts and Slack's own transient errors back off exponentially;
errors that retrying cannot fix are recorded for admins instead of being retried forever.
"""
from __future__ import annotations

import asyncio
import contextlib
import email.utils
import logging
import math
import time
from collections.abc import Awaitable
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncConnectionErrorRetryHandler

from bot.core.clock import Clock
from bot.core.handoff import short_id
from bot.render.cards import Viewer
from bot.render.text import Message
from bot.render.views import render_snapshot, render_view
from bot.runtime.metrics import Metrics
from bot.runtime.tasks import Inflight
from bot.runtime.workspaces import Workspace, Workspaces
from storage import outbox
from storage.db import Database

log = logging.getLogger("handoff.delivery")
T = TypeVar("T")

TRANSIENT_ERRORS = frozenset({
    "ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout", "team_added_to_org",
})
# Slack's words for "it is possible some aspect of the operation succeeded": the post may be in Slack.
AMBIGUOUS_ERRORS = frozenset({"internal_error", "fatal_error", "service_unavailable"})
NETWORK_ERRORS = (aiohttp.ClientError, asyncio.TimeoutError, OSError)
MAX_BACKOFF = timedelta(minutes=10)
CHANNEL_POST_INTERVAL = 1.0
YIELD_TO_REQUESTS_SECONDS = 0.25
# A claim waits for this long without a new request: back-to-back requests leave gaps of a millisecond or
# two, and a claim started in one held up the next ack (bench/ack_latency.py at 1 and 10 concurrent).
REQUEST_LULL_SECONDS = 0.02
RECOVERY_EVERY_SECONDS = 30.0  # looking for rows a dead claimer left is for crashes, not every pass
CALL_DEADLINE_SECONDS = 15.0  # a Web API call, retries included (the session's own timeout is shorter)
MAX_LANES = 200  # conversations delivered at once
LANE_SHARE_OF_LEASE = 0.75  # a message's whole delivery (history, render, post) ends within this much of its lease
METADATA_EVENT_TYPE = "handoff_outbox"
# History is read from a little before the first unanswered claim: Slack's clock and ours may differ.
HISTORY_MARGIN = timedelta(minutes=10)
HISTORY_PAGE = 200
HISTORY_PAGES = 25
RETRY_AFTER_DEFAULT_SECONDS = 1.0
RETRY_AFTER_MAX_SECONDS = MAX_BACKOFF.total_seconds()


def backoff(attempts: int) -> timedelta:
    return min(timedelta(seconds=2 ** max(attempts - 1, 0)), MAX_BACKOFF)


def retry_after_seconds(value: str | None, now: datetime) -> float:
    """How long a 429 asks to wait: Retry-After is delta-seconds (an integer; a float is taken too) or an
    HTTP-date. Missing, unparseable, past or non-finite: a second. Never more than MAX_BACKOFF."""
    if value is None:
        return RETRY_AFTER_DEFAULT_SECONDS
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return RETRY_AFTER_DEFAULT_SECONDS
        if when.tzinfo is None:  # an HTTP-date is always GMT
            when = when.replace(tzinfo=timezone.utc)
        seconds = (when - now).total_seconds()
    if not math.isfinite(seconds) or seconds <= 0:
        return RETRY_AFTER_DEFAULT_SECONDS
    return min(max(seconds, RETRY_AFTER_DEFAULT_SECONDS), RETRY_AFTER_MAX_SECONDS)


def post_metadata(row: Any) -> dict[str, Any]:
    """Slack message metadata naming the outbox row a post delivers: how history tells whether it went."""
    return {"event_type": METADATA_EVENT_TYPE, "event_payload": {"key": row.message_key, "outbox_id": row.id}}


def carries(message: dict[str, Any], row: Any) -> bool:
    metadata = message.get("metadata") or {}
    payload = metadata.get("event_payload") or {}
    return (metadata.get("event_type") == METADATA_EVENT_TYPE and payload.get("key") == row.message_key
            and str(payload.get("outbox_id")) == str(row.id))


def _extra(row: Any, error: str) -> dict[str, Any]:
    """The fields a JSON log line carries for a delivery failure (LOG_FORMAT=json)."""
    return {"handoff_id": row.handoff_id, "outbox_id": row.id, "conversation": row.conversation, "error": error}


class RetryConnectionErrorsButNotPosts(AsyncConnectionErrorRetryHandler):
    """slack_sdk's one retry on a dropped connection, except for chat.postMessage: a post may have landed
    before the connection dropped, and sending it again blindly could post it twice. The outbox looks
    in the conversation's history instead."""

    async def _can_retry_async(self, *, state: Any, request: Any, response: Any = None,
                               error: Exception | None = None) -> bool:
        if str(request.url).rstrip("/").endswith("chat.postMessage"):
            return False
        return await super()._can_retry_async(state=state, request=request, response=response, error=error)


class _Unreadable(Exception):
    """History cannot tell whether a post went through (no access, or too much of it to search)."""


class Deliverer:
    def __init__(self, db: Database, workspaces: Workspaces, clock: Clock,
                 default_tz: str = "UTC", poll_seconds: float = 1.0, inflight: Inflight | None = None,
                 lease_seconds: float = 60.0, metrics: Metrics | None = None):
        self._db = db
        self._metrics = metrics
        self._workspaces = workspaces  # each row goes out with its own workspace's bot token
        self._clock = clock
        self._default_tz = default_tz
        self._poll = poll_seconds
        self._lease = timedelta(seconds=lease_seconds)
        # Looking for rows a dead claimer left is for crashes: often enough to find them soon after their lease.
        self._recovery_every = min(RECOVERY_EVERY_SECONDS, lease_seconds / 2)
        self._wake = asyncio.Event()
        self._stop: asyncio.Event | None = None
        self._next_post: dict[str, float] = {}  # channel -> when (loop time) it may be posted to again
        self._dm_channels: dict[tuple[str, str], str] = {}  # (workspace, user) -> the bot's DM channel with them
        # Seconds between posts to one channel (Slack asks ~1/s); the local stand-in has no such limit.
        self.channel_post_interval = CHANNEL_POST_INTERVAL
        self.call_deadline = CALL_DEADLINE_SECONDS
        self._inflight = inflight or Inflight()
        self._last_recovery = float("-inf")
        self._lock = asyncio.Lock()

    def kick(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        self._stop = stop
        while not stop.is_set():
            self._wake.clear()  # before the pass: a kick during it is seen after it
            try:
                await self.deliver_due()
            except Exception:  # the loop must outlive a bad row or a database hiccup
                log.exception("outbox delivery pass failed")
            waiter = asyncio.ensure_future(self._wake.wait())
            stopper = asyncio.ensure_future(stop.wait())
            await asyncio.wait({waiter, stopper}, timeout=self._poll, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            stopper.cancel()

    async def deliver_due(self) -> int:
        """Deliver what is due, each conversation in its own lane, until no lane has anything due;
        returns how many messages were settled (sent, skipped or given up).

        A lane's message is claimed right before it is sent and settled as soon as it is done (with the
        next heads claimed in the same transaction): a lane never waits for a slower one, and a message
        owed meanwhile (a kick) or falling due (the poll) is claimed while slow lanes are still out."""
        async with self._lock:
            loop = asyncio.get_running_loop()
            lanes: dict[asyncio.Task[outbox.Outcome], str] = {}
            done: list[outbox.Outcome] = []
            settled = 0
            try:
                while True:
                    waiting: set[str] = set()
                    if self._stop is not None and self._stop.is_set():  # shutting down: finish, claim nothing
                        await self._db.run(outbox.settle, done, self._pacing())
                    else:
                        # Slack waits 3 s for an answer and not at all for a post: answers go first.
                        await self._inflight.quiet(YIELD_TO_REQUESTS_SECONDS, REQUEST_LULL_SECONDS)
                        self._wake.clear()
                        # Lanes that finished while we waited are settled by this claim too: one transaction
                        # for all of them rather than one each (a claim costs the acks' CPU as well).
                        for task in [t for t in lanes if t.done()]:
                            del lanes[task]
                            done.append(task.result())
                        recover = loop.time() - self._last_recovery >= self._recovery_every
                        now = loop.time()
                        self._next_post = {c: at for c, at in self._next_post.items() if at > now}
                        claim = await self._db.run(
                            outbox.claim_due, self._clock.now(), limit=MAX_LANES - len(lanes),
                            skip=set(self._next_post), recover=recover, lease=self._lease, settle_first=done,
                            pacing=self._pacing())
                        if recover:
                            self._last_recovery = loop.time()
                        waiting = claim.waiting
                        if claim.paced:  # another copy of the bot holds these channels' turns
                            # Held until its post is answered (for a lease at most): asked again an interval on.
                            wall, now = time.time(), loop.time()
                            for channel, at in claim.paced.items():
                                wait = min(max(0.0, at.timestamp() - wall), self.channel_post_interval)
                                self._next_post[channel] = now + wait
                            waiting |= set(claim.paced)
                        for d in claim.deliveries:
                            task = loop.create_task(self._lane(d), name=f"outbox:{d.row.conversation}")
                            lanes[task] = d.row.conversation
                    settled += sum(o.status != "pending" for o in done)
                    done = []
                    if not lanes and not waiting:
                        return settled
                    timeout = self._poll
                    if waiting:  # a paced channel's next message: claim it as soon as the channel may be posted to
                        timeout = min(timeout, max(0.0, min(self._next_post[c] for c in waiting) - loop.time()))
                    woken = loop.create_task(self._wake.wait())
                    try:
                        finished, _ = await asyncio.wait({*lanes, woken}, timeout=timeout,
                                                         return_when=asyncio.FIRST_COMPLETED)
                    finally:
                        woken.cancel()
                    for task in finished:
                        if task in lanes:
                            del lanes[task]
                            done.append(task.result())
            except Exception:
                # The database failed us: let the lanes out finish and record what they did if it can.
                # Whatever stays claimed is looked at again when its lease runs out (posts in history first).
                if lanes:
                    results = await asyncio.gather(*lanes, return_exceptions=True)
                    done += [r for r in results if isinstance(r, outbox.Outcome)]
                    lanes.clear()
                with contextlib.suppress(Exception):
                    await self._db.run(outbox.settle, done, self._pacing())
                raise
            finally:
                for task in lanes:  # cancelled (shutdown): those rows stay claimed until their lease runs out
                    task.cancel()

    async def _lane(self, d: outbox.Delivery) -> outbox.Outcome:
        # Done well inside the claim's lease, or another copy of the bot could take the message over meanwhile.
        try:
            return await asyncio.wait_for(self._deliver(d), self._lease.total_seconds() * LANE_SHARE_OF_LEASE)
        except TimeoutError as error:
            return self._network_error(d, f"{short_id(d.row.handoff_id)} " if d.row.handoff_id else "", error,
                                       ambiguous=True)
        except Exception as error:  # a bug must not leave the row claimed: treat it like a lost answer
            log.exception("delivering outbox #%s failed unexpectedly", d.row.id, extra=_extra(d.row, "internal"))
            self._count_failure("internal")
            return outbox.Outcome(d.row, "pending", error=f"internal: {type(error).__name__}",
                                  at=self._clock.now() + backoff(d.row.attempts),
                                  unconfirmed_since=self._unconfirmed(d, ambiguous=True))

    async def _call(self, call: Awaitable[T]) -> T:
        """Every Web API call has a deadline: one slow answer holds up only its own lane."""
        return await asyncio.wait_for(call, self.call_deadline)

    async def _deliver(self, d: outbox.Delivery) -> outbox.Outcome:
        """Send one message; the outcome is sent, skipped or dead (settled), pending (again later) or unknown."""
        row = d.row
        label = f"{short_id(row.handoff_id)} " if row.handoff_id else ""
        ws = await self._workspaces.get(row.workspace or "")
        if ws is None:  # uninstalled (or its tokens revoked) since the message was owed
            log.warning("%s%s to %s: the workspace %s is no longer installed; not sent", label, row.view,
                        row.conversation, row.workspace, extra=_extra(row, "not_installed"))
            return outbox.Outcome(row, "dead", error="workspace not installed")
        if row.op == "update" and d.target is None:
            return outbox.Outcome(row, "skipped", error="no posted message to update")
        if row.payload is not None and row.view == "snapshot":
            message: Message | None = render_snapshot(row.payload)
        elif d.handoff is None:
            return outbox.Outcome(row, "dead", error="the record is gone")
        else:
            person = row.conversation[:1] in "UW"
            tz = await ws.directory.tz(row.conversation, d.team_tz) if person else (d.team_tz or self._default_tz)
            try:
                message = render_view(row.view, handoff=d.handoff, event=d.event, message_key=row.message_key,
                                      viewer=Viewer(row.conversation, tz, self._clock.now()), payload=row.payload)
            except Exception:  # a rendering bug must not wedge the conversation behind it
                log.exception("%scould not render %s", label, row.view, extra=_extra(row, "render_failed"))
                self._count_failure("render_failed")
                return outbox.Outcome(row, "dead", error="render failed")
        if message is None:
            return outbox.Outcome(row, "skipped", error="settled before it was sent")
        if row.op == "update":
            assert d.target is not None
            try:
                response = await self._call(ws.client.chat_update(
                    channel=d.target.channel, ts=d.target.ts, text=message.text, blocks=message.blocks))
            except SlackApiError as error:
                return self._failed(d, label, error, ambiguous=False, ws=ws)  # an edit is safe to make twice
            except NETWORK_ERRORS as error:
                return self._network_error(d, label, error, ambiguous=False)
            return outbox.Outcome(row, "sent", channel=response["channel"], ts=response["ts"], at=self._clock.now())
        if d.unconfirmed_since is not None:  # an earlier attempt's answer never came: is it in Slack?
            found = await self._look_up(d, label, ws)
            if found is not None:
                return found
        self._paced(row.conversation)
        try:
            response = await self._call(ws.client.chat_postMessage(
                channel=row.conversation, text=message.text, blocks=message.blocks,
                thread_ts=d.thread.ts if d.thread else None, unfurl_links=False, unfurl_media=False,
                reply_broadcast=True if d.thread and message.reply_broadcast else None,
                metadata=post_metadata(row)))
        except SlackApiError as error:
            status = error.response.status_code
            code = error.response.data.get("error") if isinstance(error.response.data, dict) else None
            return self._failed(d, label, error, ambiguous=status >= 500 or code in AMBIGUOUS_ERRORS, ws=ws)
        except NETWORK_ERRORS as error:  # a timeout or a dropped connection: the post may have landed
            return self._network_error(d, label, error, ambiguous=True)
        return outbox.Outcome(row, "sent", channel=response["channel"], ts=response["ts"], at=self._clock.now())

    def _pacing(self) -> timedelta | None:
        """The interval for a claim to take channels' turns in the database (on the wall clock, shared by
        every copy of the bot; not the injected clock); None when channels are not paced."""
        if self.channel_post_interval <= 0:
            return None
        return timedelta(seconds=self.channel_post_interval)

    def _paced(self, conversation: str) -> None:
        """About one post a second per channel, as Slack asks (the next claim waits for it); DMs are not paced.
        This copy of the bot remembers it (no claim asks the database about the channel meanwhile); the
        claim took the channel's turn in the database for the others."""
        if outbox.is_channel(conversation):
            self._next_post[conversation] = asyncio.get_running_loop().time() + self.channel_post_interval

    @staticmethod
    def _unconfirmed(d: outbox.Delivery, *, ambiguous: bool) -> datetime | None:
        """Since when the post may be in Slack: from this claim if its answer is in doubt, else as before."""
        if d.row.op != "post":
            return None
        return (d.unconfirmed_since or d.claimed_at) if ambiguous else d.unconfirmed_since

    async def _look_up(self, d: outbox.Delivery, label: str, ws: Workspace) -> outbox.Outcome | None:
        """Whether an earlier attempt put this post in Slack, from the conversation's history (the thread's
        replies for a reply): the outcome if it did or if history cannot say, None if it is not there."""
        row = d.row
        assert d.unconfirmed_since is not None
        oldest = f"{(d.unconfirmed_since - HISTORY_MARGIN).timestamp():.6f}"
        try:
            channel = await self._history_channel(ws, row.conversation)
            ts = await self._find(ws, row, channel, d.thread.ts if d.thread else None, oldest)
        except SlackApiError as error:
            status = error.response.status_code
            code = (error.response.data.get("error") if isinstance(error.response.data, dict) else None) \
                or f"http_{status}"
            if status == 429 or status >= 500 or code in TRANSIENT_ERRORS:
                return self._failed(d, label, error, ambiguous=True, ws=ws)
            return self._unknown(d, label, f"history unreadable: {code}")
        except _Unreadable as error:
            return self._unknown(d, label, str(error))
        except NETWORK_ERRORS as error:
            return self._network_error(d, label, error, ambiguous=True)
        if ts is None:
            log.info("%s%s to %s: not in Slack after an unanswered attempt; posting it", label, row.view,
                     row.conversation)
            return None
        log.warning("%s%s to %s was in Slack already (ts %s): recorded, not posted again", label, row.view,
                    row.conversation, ts)
        return outbox.Outcome(row, "sent", channel=channel, ts=ts, at=self._clock.now())

    def _count_failure(self, error: str) -> None:
        if self._metrics is not None:
            self._metrics.delivery_failed(error)

    def _unknown(self, d: outbox.Delivery, label: str, why: str) -> outbox.Outcome:
        self._count_failure("unknown")
        log.error("%s%s to %s: cannot tell whether an unanswered post went through (%s); kept for "
                  "`handoff-bot doctor`", label, d.row.view, d.row.conversation, why, extra=_extra(d.row, "unknown"))
        return outbox.Outcome(d.row, "unknown", error=why, unconfirmed_since=d.unconfirmed_since)

    async def _history_channel(self, ws: Workspace, conversation: str) -> str:
        """Where a post to `conversation` lives: a DM's channel id for a person (conversations.open)."""
        if conversation[:1] not in "UW":
            return conversation
        if (ws.key, conversation) not in self._dm_channels:
            opened = await self._call(ws.client.conversations_open(users=conversation))
            self._dm_channels[(ws.key, conversation)] = opened["channel"]["id"]
        return self._dm_channels[(ws.key, conversation)]

    async def _find(self, ws: Workspace, row: Any, channel: str, thread_ts: str | None, oldest: str) -> str | None:
        """The ts of the message carrying this row's metadata, or None when there is none."""
        cursor = None
        for _ in range(HISTORY_PAGES):
            args: dict[str, Any] = dict(channel=channel, oldest=oldest, include_all_metadata=True,
                                        limit=HISTORY_PAGE, cursor=cursor)
            page = await self._call(ws.client.conversations_replies(ts=thread_ts, **args) if thread_ts
                                    else ws.client.conversations_history(**args))
            for message in page.get("messages") or []:
                if carries(message, row):
                    return str(message["ts"])
            cursor = (page.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return None
        raise _Unreadable(f"history too long to search ({HISTORY_PAGES * HISTORY_PAGE}+ messages since the attempt)")

    def _network_error(self, d: outbox.Delivery, label: str, error: BaseException, *,
                       ambiguous: bool) -> outbox.Outcome:
        row = d.row
        at = self._clock.now() + backoff(row.attempts)
        timed_out = isinstance(error, asyncio.TimeoutError)
        kind = "no answer in time" if timed_out else f"network error {type(error).__name__}"
        self._count_failure("timeout" if timed_out else "network")
        log.warning("%s%s %s to %s: %s; %s at %s", label, row.op, row.view, row.conversation, kind,
                    "looking in history, then retrying" if ambiguous and row.op == "post" else "retrying",
                    at.isoformat(), extra=_extra(row, "timeout" if timed_out else "network"))
        return outbox.Outcome(row, "pending", error=f"network: {type(error).__name__}", at=at,
                              unconfirmed_since=self._unconfirmed(d, ambiguous=ambiguous))

    def _failed(self, d: outbox.Delivery, label: str, error: SlackApiError, *, ambiguous: bool,
                ws: Workspace) -> outbox.Outcome:
        row = d.row
        status = error.response.status_code
        # A 5xx from a proxy or load balancer has a non-JSON body: slack_sdk leaves it as a str.
        data = error.response.data if isinstance(error.response.data, dict) else {}
        code = data.get("error") or f"http_{status}"
        unconfirmed = self._unconfirmed(d, ambiguous=ambiguous)
        self._count_failure(code)
        if status == 429 or code == "ratelimited":
            headers = error.response.headers or {}
            value = next((str(v) for k, v in headers.items() if k.lower() == "retry-after"), None)
            at = self._clock.now() + timedelta(seconds=retry_after_seconds(value, self._clock.now()))
        elif status >= 500 or code in TRANSIENT_ERRORS:
            at = self._clock.now() + backoff(row.attempts)
        else:
            log.error("%s%s %s to %s failed for good: %s", label, row.op, row.view, row.conversation, code,
                      extra=_extra(row, code))
            if row.conversation[:1] in "UW":  # e.g. deactivated: what the cache says of them may be stale too
                ws.directory.forget(row.conversation)
            return outbox.Outcome(row, "dead", error=code)
        log.warning("%s%s %s to %s failed (%s); retrying at %s", label, row.op, row.view, row.conversation,
                    code, at.isoformat(), extra=_extra(row, code))
        return outbox.Outcome(row, "pending", error=code, at=at, unconfirmed_since=unconfirmed)
