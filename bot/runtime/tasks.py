"""Work that runs after Slack has its ack: kept referenced, logged if it fails, awaited at shutdown."""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger("handoff.tasks")


class Background:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, Any], *, name: str = "") -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro, name=name or None)
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            log.error("background task %s failed", task.get_name(), exc_info=error)

    async def drain(self, timeout: float = 10.0) -> None:
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=timeout)

    def __len__(self) -> int:
        return len(self._tasks)


class Inflight:
    """How many Slack requests are being answered right now: deferred work yields to them."""

    def __init__(self) -> None:
        self.count = 0
        self.last_arrival = float("-inf")  # time.monotonic() of the latest request

    def begin(self) -> None:
        self.count += 1
        self.last_arrival = time.monotonic()

    def end(self) -> None:
        self.count -= 1

    async def quiet(self, max_wait: float, lull: float = 0.0) -> None:
        """Wait until no request is in flight and none came in for `lull` seconds (a burst is over, not just
        between two of its requests), or `max_wait` seconds at most (work must still progress)."""
        deadline = time.monotonic() + max_wait
        while time.monotonic() < deadline:
            if not self.count:
                wait = self.last_arrival + lull - time.monotonic()
                if wait <= 0:
                    return
                await asyncio.sleep(min(wait, deadline - time.monotonic()))
            else:
                await asyncio.sleep(0.005)
