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
    retry_after: int | None
    error: str | None
    delay: float
    channel: str | None = None  # only calls to this channel (or user, for a DM) fail


@dataclass
class _State:
    calls: list[RecordedCall] = field(default_factory=list)
    events: list[StandInEvent] = field(default_factory=list)
    rules: list[_FailRule] = field(default_factory=list)


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

    def calls_to(self, method: str) -> list[RecordedCall]:
        return [c for c in self.calls if c.method == method]

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
        retry_after: int | None = None,
        error: str | None = None,
        delay: float = 0.0,
        channel: str | None = None,
    ) -> None:
        """Make the next ``times`` calls to ``method`` fail.

        error= answers HTTP 200 ``{"ok": false, "error": error}``; retry_after
        (or status=429) answers 429 ratelimited; otherwise status (default 500).
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
            self._state.rules.append(_FailRule(method, status, times, retry_after, error, delay, channel))

    def _take_rule(self, method: str, channel: object = None) -> _FailRule | None:
        with self._lock:
            for rule in self._state.rules:
                if rule.method == method and rule.remaining > 0 and rule.channel in (None, channel):
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

    def _record(self, method: str, args: dict[str, Any], status: int, response: dict[str, Any]) -> None:
        with self._recorded:
            self._state.calls.append(RecordedCall(method, args, status, response, time.time()))
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
    ) -> None:
        with self._lock:
            self._state.events.append(
                StandInEvent(
                    kind, audience, channel, ts, text or "",
                    copy.deepcopy(blocks), public_view(view) if view else None, time.time(), thread_ts,
                )
            )
