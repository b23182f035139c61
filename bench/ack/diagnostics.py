"""The load generator's own noise, kept out of the figures: logging counted not printed, GC pauses, progress."""
from __future__ import annotations

import collections
import logging
import sys
import time


class _Counter(logging.Handler):
    """Keeps WARNING+ records out of the table but counts them for the summary."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.by_key: collections.Counter[tuple[str, str]] = collections.Counter()
        self.samples: dict[tuple[str, str], str] = {}

    def emit(self, record: logging.LogRecord) -> None:
        key = (record.name, str(record.msg)[:80])
        self.by_key[key] += 1
        if key not in self.samples:
            try:
                self.samples[key] = " ".join(record.getMessage().split())[:200]
            except Exception:
                self.samples[key] = str(record.msg)[:200]


LOG_COUNTER = _Counter()


class _GcPauses:
    """The longest garbage-collector pause in the load generator (the apps' own pauses are in their latencies)."""

    def __init__(self) -> None:
        self.started = 0.0
        self.longest: dict[int, float] = {}
        self.active = False  # only pauses during timed runs count

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if not self.active:
            return
        if phase == "start":
            self.started = time.perf_counter()
        else:
            gen = info.get("generation", -1)
            self.longest[gen] = max(self.longest.get(gen, 0.0), time.perf_counter() - self.started)


GC_PAUSES = _GcPauses()


def quiet_logging() -> None:
    root = logging.getLogger()
    for h in list(root.handlers):
        root.removeHandler(h)
    root.addHandler(LOG_COUNTER)
    root.setLevel(logging.WARNING)
    for name in ("aiohttp", "asyncio"):
        logging.getLogger(name).setLevel(logging.WARNING)


class _Progress:
    """Progress lines on stderr, timed from the first (so module imports don't count, as in one file)."""

    def __init__(self) -> None:
        self.started: float | None = None

    def __call__(self, text: str) -> None:
        if self.started is None:
            self.started = time.monotonic()
        print(f"[{time.monotonic() - self.started:5.1f}s] {text}", file=sys.stderr, flush=True)


progress = _Progress()
