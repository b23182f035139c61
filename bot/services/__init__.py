"""Use cases: one per user action and per scheduler job, each one transaction. Handlers and the
scheduler call these; nothing else changes state."""
from __future__ import annotations

from dataclasses import dataclass

from bot.services.chase import Chaser
from bot.services.context import Context
from bot.services.handoffs import Handoffs
from bot.services.stats import StatsService
from bot.services.teams import Teams


@dataclass(frozen=True)
class Services:
    """What a listener is handed (by handlers.middleware), and the scheduler's job."""

    ctx: Context
    handoffs: Handoffs
    teams: Teams
    chaser: Chaser
    stats: StatsService
