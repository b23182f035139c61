"""What the ack-latency bench runs against: the people, the requests, the concurrency levels, the targets."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from tests.flow import VALID

BENCH = Path(__file__).resolve().parents[1]
ROOT = BENCH.parent
TOKEN = "xoxb-bench-token"
SIGNING_SECRET = "bench-signing-secret"
PEOPLE = {
    "U_SDR1": ("alice", "America/New_York"),
    "U_SDR2": ("carol", "Europe/London"),
    "U_AE1": ("bob", "Europe/Berlin"),
    "U_AE2": ("dave", "America/Los_Angeles"),
    "U_ADMIN": ("olga", "America/Chicago"),
}
SDR = "U_SDR1"
AE = VALID["ae_id"]
LEVELS = (1, 10, 50)
KINDS = ("slash", "submit", "accept")
KIND_LABELS = {"slash": "/handoff", "submit": "view_submission", "accept": "Accept click"}
TARGET_RATIO = 1.5
TARGET_VIEWS_OPEN_MS = 300.0
QUIET = 0.3  # s without a new Slack call (and no outbox row open) before Handoff counts as idle

HANDOFF = "handoff"
BARE = "bare"          # Bolt defaults: process_before_response=False
BARE_PBR = "bare_pbr"  # process_before_response=True
SERVERS = (HANDOFF, BARE, BARE_PBR)
SERVER_LABELS = {HANDOFF: "Handoff", BARE: "bare (pbr=False, default)", BARE_PBR: "bare (pbr=True)"}


def meeting_answers() -> dict[str, Any]:
    """VALID, with the meeting moved to a weekday 15:00 UTC at least a week ahead (the bot runs on the real
    clock now, and outbound meetings need 48 business hours' notice)."""
    day = datetime.now(timezone.utc).date() + timedelta(days=7)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    meeting = datetime(day.year, day.month, day.day, 15, 0, tzinfo=timezone.utc)
    return {**VALID, "meeting_start": int(meeting.timestamp())}


ANSWERS = meeting_answers()
