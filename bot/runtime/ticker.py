"""The tick: APScheduler 3.11 runs the chase every few seconds in the bot's event loop.

APScheduler only keeps time; the database is the truth (see bot.services.chase). After downtime
the first tick catches up what came due, once.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import datetime, timezone

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot.runtime.metrics import Metrics
from bot.services.chase import Chaser

log = logging.getLogger("handoff.scheduler")
PRUNE_EVERY_SECONDS = 3600.0


class Ticker:
    """Runs the chaser every `seconds` in the bot's event loop; one tick at a time, missed ticks coalesced."""

    def __init__(self, chaser: Chaser, seconds: float, metrics: Metrics | None = None,
                 prune: Callable[[], Awaitable[int]] | None = None):
        self._chaser = chaser
        self._prune = prune
        self._metrics = metrics
        self._seconds = seconds
        self._scheduler: AsyncIOScheduler | None = None
        self._running: set[asyncio.Task[None]] = set()  # the jobs in progress: a tick, a prune
        self._stopping = False

    def start(self) -> None:
        if self._seconds <= 0:
            return
        self._scheduler = AsyncIOScheduler(timezone="UTC")
        # The first tick runs at once: what came due while the bot was down is caught up, once.
        self._scheduler.add_job(self._run, IntervalTrigger(seconds=self._seconds), id="chase", max_instances=1,
                                coalesce=True, misfire_grace_time=None, next_run_time=datetime.now(timezone.utc))
        if self._prune is not None:  # housekeeping, off the hot path: the first an hour after start
            self._scheduler.add_job(self._pruned, IntervalTrigger(seconds=PRUNE_EVERY_SECONDS), id="prune",
                                    max_instances=1, coalesce=True, misfire_grace_time=None)
        self._scheduler.start()

    @contextlib.contextmanager
    def _job(self) -> Iterator[bool]:
        """Tracks a job in progress, so a stop waits for it; yields False for one handed to the loop just
        before the stop (nothing to start then)."""
        task = asyncio.current_task()
        assert task is not None
        self._running.add(task)
        try:
            yield not self._stopping
        finally:
            self._running.discard(task)

    async def _pruned(self) -> None:
        with self._job() as go:
            if go:
                await self._prune_once()

    async def _prune_once(self) -> None:
        assert self._prune is not None
        try:
            deleted = await self._prune()
        except Exception:  # the next hour tries again
            log.exception("pruning the outbox failed")
            return
        if deleted:
            log.info("outbox: %d delivered rows past their retention deleted", deleted, extra={"pruned": deleted})

    async def _run(self) -> None:
        with self._job() as go:
            if go:
                await self._tick()

    async def _tick(self) -> None:
        started, failed = time.perf_counter(), False
        try:
            await self._chaser.tick()
        except Exception:  # the next tick tries again; the database keeps what is owed
            failed = True
            log.exception("scheduler tick failed")
        finally:
            if self._metrics is not None:
                self._metrics.ticked(time.perf_counter() - started, failed=failed)

    def shutdown(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)

    async def stop(self, timeout: float = 10.0) -> None:
        """No more ticks, and the jobs running (if any) finish: one transaction, not cancelled midway.
        APScheduler's shutdown cancels the jobs in progress, so it comes after they are done."""
        self._stopping = True
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.pause()
        # A job APScheduler has just handed to the loop starts now and sees the stop.
        await asyncio.sleep(0)
        if self._running:
            await asyncio.wait(set(self._running), timeout=timeout)
        self.shutdown()
