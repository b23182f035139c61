"""Time is injected: the rules take `now` as a value; the services ask a Clock for it."""
from __future__ import annotations

from datetime import datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime: ...
