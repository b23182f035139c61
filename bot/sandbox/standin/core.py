"""The part of the stand-in every API family builds on: the lock, the record, failure rules, ids."""

from __future__ import annotations

import asyncio
import copy
import itertools
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from .records import RecordedCall, StandInEvent, public_view
from .wire import short


@dataclass
class _FailRule:
    method: str
    status: int
    remaining: int
    retry_after: int | float | str | None  # a 429's Retry-After header, as is (seconds, an HTTP-date, garbage)
    error: str | None
    delay: float
    channel: str | None = None  # only calls to this channel (or user, for a DM) fail
    hold: str | None = None  # "applied": done, answer held; "lost": never done, answer held; "cut": done, no answer
    team_id: str | None = None  # only calls with this workspace's tokens fail


@dataclass
class _State:
    calls: list[RecordedCall] = field(default_factory=list)
    events: list[StandInEvent] = field(default_factory=list)
    rules: list[_FailRule] = field(default_factory=list)
    held: int = 0  # calls whose answer is being held right now


class StandInCore:
    """Recording, inspection and failure injection; SlackStandIn adds the API families and the server."""

    def __init__(self, token: str, host: str, port: int) -> None:
        self.token = token
        self.host = host
        self.port = port
        self._lock = threading.RLock()
        # Notified on every recorded call, so wait_for() wakes as soon as one lands rather than polling.
        self._recorded = threading.Condition(self._lock)
        self._record_count = 0
        self._state = _State()
        self._ids = itertools.count(1)
        self._last_ts_us = 0
        self._loop: asyncio.AbstractEventLoop | None = None  # the server's loop, while it runs
        self._holding: list[asyncio.Event] = []  # one per held answer; set (on the server's loop) by release()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        # slack_sdk joins base_url + method, so the trailing slash matters.
        return f"{self.url}/api/"

    # ------------------------------------------------------------------ inspection

    @property
    def calls(self) -> list[RecordedCall]:
        with self._lock:
            return list(self._state.calls)

    @property
    def events(self) -> list[StandInEvent]:
        with self._lock:
            return list(self._state.events)

    def calls_to(self, method: str, team_id: str | None = None) -> list[RecordedCall]:
        """Calls to ``method``; with ``team_id``, only those made with that workspace's tokens."""
        return [c for c in self.calls if c.method == method and (team_id is None or c.team_id == team_id)]

    def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,
        where: Callable[[RecordedCall], bool] | None = None,
    ) -> list[RecordedCall]:
        """Block until ``count`` successful matching calls exist."""
        deadline = time.monotonic() + timeout
        while True:
            with self._lock:
                seen = self._record_count
            matching = [c for c in self.calls_to(method) if c.ok and (where is None or where(c))]
            if len(matching) >= count:
                return matching
            left = deadline - time.monotonic()
            if left <= 0:
                seen_calls = "\n".join(
                    f"  {c.method} status={c.status} ok={c.response.get('ok')} "
                    f"error={c.response.get('error')} args={short(c.args)}"
                    for c in self.calls
                ) or "  (none)"
                raise AssertionError(
                    f"expected {count} successful {method} call(s) within {timeout}s, "
                    f"got {len(matching)}. Calls seen:\n{seen_calls}"
                )
            with self._recorded:
                if self._record_count == seen:  # nothing new since the check above: sleep until something is
                    self._recorded.wait(left)

    def reset(self) -> None:
        """Forget calls, events and failure rules; keep the directory."""
        with self._lock:
            self._state = _State()

    # ------------------------------------------------------------------ failure injection

    def fail(
        self,
        method: str,
        *,
        status: int | None = None,
        times: int = 1,
        retry_after: int | float | str | None = None,
        error: str | None = None,
        delay: float = 0.0,
        channel: str | None = None,
        team_id: str | None = None,
    ) -> None:
        """Make the next ``times`` calls to ``method`` fail (with ``team_id``: only that workspace's).

        error= answers HTTP 200 ``{"ok": false, "error": error}``; retry_after
        (or status=429) answers 429 ratelimited, with ``Retry-After: <retry_after>`` as given
        (a string goes out as is: an HTTP-date, or garbage); otherwise status (default 500).
        A bare ``delay`` only slows the answer down, which is enough to trip a
        client timeout.
        """
        if status is None:
            if error is not None:
                status = 200
            elif retry_after is not None:
                status = 429
            elif delay > 0:
                status = 0  # 0 = answer normally after the delay
            else:
                status = 500
        with self._lock:
            self._state.rules.append(_FailRule(method, status, times, retry_after, error, delay, channel,
                                               team_id=team_id))

    def hold(self, method: str, *, applied: bool, times: int = 1, channel: str | None = None) -> None:
        """Hold the answer to the next ``times`` calls to ``method`` until ``release()`` (or ``stop()``).

        applied=True: the call takes effect at once (a post is in the channel, recorded as an ok call)
        and only its answer is held, as when Slack did the work and the answer was lost. applied=False:
        the call never takes effect, as when it got no further than Slack's front door; released, it is
        answered 503 and recorded so. ``wait_held()`` says when a call is being held."""
        with self._lock:
            self._state.rules.append(_FailRule(method, 0, times, None, None, 0.0, channel,
                                               "applied" if applied else "lost"))

    def cut(self, method: str, *, times: int = 1, channel: str | None = None) -> None:
        """The next ``times`` calls take effect, then the connection is closed without an answer."""
        with self._lock:
            self._state.rules.append(_FailRule(method, 0, times, None, None, 0.0, channel, "cut"))

    def wait_held(self, count: int = 1, timeout: float = 10.0) -> None:
        """Block until ``count`` calls are being held."""
        deadline = time.monotonic() + timeout
        with self._recorded:
            while self._state.held < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"expected {count} held call(s) within {timeout}s, have {self._state.held}")
                self._recorded.wait(left)

    def release(self) -> None:
        """Let every answer held now go out."""
        loop = self._loop
        with self._lock:
            holding, self._holding = self._holding, []
        if loop is not None and not loop.is_closed():
            for event in holding:
                loop.call_soon_threadsafe(event.set)

    async def _held(self) -> None:
        """Wait, on the server's loop, until release()."""
        event = asyncio.Event()
        with self._recorded:
            self._holding.append(event)
            self._state.held += 1
            self._recorded.notify_all()
        try:
            await event.wait()
        finally:
            with self._lock:
                self._state.held = max(0, self._state.held - 1)  # reset() may have started a new count

    def _take_rule(self, method: str, channel: object = None, team_id: str | None = None) -> _FailRule | None:
        with self._lock:
            for rule in self._state.rules:
                if (rule.method == method and rule.remaining > 0 and rule.channel in (None, channel)
                        and rule.team_id in (None, team_id)):
                    rule.remaining -= 1
                    if rule.remaining == 0:
                        self._state.rules.remove(rule)
                    return rule
        return None

    # ------------------------------------------------------------------ helpers

    def _next_ts(self) -> str:
        # Real-time based, strictly increasing, unique.
        now_us = int(time.time() * 1_000_000)
        with self._lock:
            now_us = max(now_us, self._last_ts_us + 1)
            self._last_ts_us = now_us
        return f"{now_us // 1_000_000}.{now_us % 1_000_000:06d}"

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._ids):010d}"

    def _record(
        self, method: str, args: dict[str, Any], status: int, response: dict[str, Any], team_id: str | None = None
    ) -> None:
        with self._recorded:
            self._state.calls.append(RecordedCall(method, args, status, response, time.time(), team_id))
            self._record_count += 1
            self._recorded.notify_all()

    def _emit(
        self,
        kind: str,
        audience: str,
        *,
        channel: str | None = None,
        ts: str | None = None,
        text: str = "",
        blocks: list[dict[str, Any]] | None = None,
        view: dict[str, Any] | None = None,
        thread_ts: str | None = None,
        team_id: str | None = None,
    ) -> None:
        with self._lock:
            self._state.events.append(
                StandInEvent(
                    kind, audience, channel, ts, text or "",
                    copy.deepcopy(blocks), public_view(view) if view else None, time.time(), thread_ts,
                    team_id or (view or {}).get("team_id") or self._team_of(channel or audience),
                )
            )

    def _team_of(self, conversation_or_user: str) -> str | None:
        """The workspace a user or conversation belongs to; the directory knows."""
        return None
