"""The load generator: n signed requests at a given concurrency, timed one by one, and percentiles."""
from __future__ import annotations

import asyncio
import collections
import math
import time
from dataclasses import dataclass, field
from typing import Awaitable, Callable

import aiohttp

from .payloads import signed_headers


@dataclass
class Sent:
    latency: float          # seconds, send -> full response
    sent_wall: float        # time.time() just before sending
    status: int
    body: bytes
    meta: str


@dataclass
class RunResult:
    sent: list[Sent] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # transport errors (timeouts, resets)
    wall: float = 0.0  # seconds from the first send to the last answer

    @property
    def rate(self) -> float:
        return len(self.sent) / self.wall if self.wall else float("nan")

    @property
    def latencies(self) -> list[float]:
        return [s.latency for s in self.sent if s.status == 200]

    def non_200(self) -> collections.Counter[int]:
        return collections.Counter(s.status for s in self.sent if s.status != 200)


# make(i) -> (body bytes, content type, meta); awaited before the clock starts for each request.
Maker = Callable[[int], Awaitable[tuple[bytes, str, str]]]


async def run_load(session: aiohttp.ClientSession, url: str, n: int, concurrency: int, make: Maker) -> RunResult:
    """n requests with `concurrency` of them in flight at once (each worker sends its next when its last answers)."""
    result = RunResult()
    indexes = iter(range(n))

    async def worker() -> None:
        for i in indexes:
            body, ctype, meta = await make(i)
            headers = signed_headers(body, ctype)
            sent_wall = time.time()
            t0 = time.perf_counter()
            try:
                async with session.post(url, data=body, headers=headers) as resp:
                    answer = await resp.read()
                    status = resp.status
            except Exception as error:  # a timeout or reset is a finding, not a crash
                result.errors.append(f"{type(error).__name__}: {error}"[:200])
                continue
            result.sent.append(Sent(time.perf_counter() - t0, sent_wall, status, answer, meta))

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.wall = time.perf_counter() - started
    return result


def new_session(concurrency: int) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30))


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]
