"""What every listener needs, built once and handed to each surface's `register`."""
from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock
from bot.config import Settings
from bot.delivery import Deliverer
from bot.directory import Directory
from bot.handoffs import Policy
from bot.tasks import Background
from storage.db import Database


@dataclass
class Deps:
    settings: Settings
    db: Database
    clock: Clock
    directory: Directory
    deliverer: Deliverer
    background: Background

    @property
    def admins(self) -> frozenset[str]:
        return self.settings.admins

    @property
    def policy(self) -> Policy:
        return Policy(min_notice_hours=self.settings.min_notice_hours,
                      segment_thresholds=self.settings.segment_thresholds)
