"""What the bot exposes to Prometheus on GET /metrics (prometheus-client, text format).

Each app has its own CollectorRegistry, not the library's global one: several bots in one process
(the tests, the demo) keep their numbers apart. The outbox backlog is read when scraped, from one
grouped count, so nothing has to keep it up to date in between.
"""
from __future__ import annotations

import time
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from storage import outbox
from storage.db import Database

# What a Slack request is, from its body: a fixed set, so the label's values stay few.
REQUEST_KINDS = ("command", "action", "view_submission", "view_closed", "shortcut", "options", "event", "other",
                 "refused")
_KIND_BY_TYPE = {
    "block_actions": "action", "interactive_message": "action", "view_submission": "view_submission",
    "view_closed": "view_closed", "shortcut": "shortcut", "message_action": "shortcut",
    "block_suggestion": "options", "event_callback": "event", "url_verification": "event",
}
OUTBOX_STATUSES = ("pending", "sending", "sent", "skipped", "superseded", "dead", "unknown")
# Slack wants an answer within 3 s: the buckets are finest below that.
ACK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0)
TICK_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def request_kind(body: Any) -> str:
    """command, action, view_submission, … for a parsed Slack payload; "other" for anything else."""
    if not isinstance(body, dict):
        return "other"
    if "command" in body:
        return "command"
    return _KIND_BY_TYPE.get(str(body.get("type")), "other")


class Metrics:
    def __init__(self, db: Database) -> None:
        self._db = db
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter("handoff_slack_requests", "Slack requests answered, by kind and HTTP status",
                                ["kind", "status"], registry=self.registry)
        self.ack_seconds = Histogram("handoff_slack_ack_seconds",
                                     "From a Slack request received to its answer sent, by kind", ["kind"],
                                     buckets=ACK_BUCKETS, registry=self.registry)
        self.outbox = Gauge("handoff_outbox_messages", "Outbox messages by status (read at scrape time)",
                            ["status"], registry=self.registry)
        self.delivery_failures = Counter("handoff_delivery_failures",
                                         "Failed attempts to deliver an outbox message to Slack, by error",
                                         ["error"], registry=self.registry)
        self.tick_seconds = Histogram("handoff_tick_seconds", "How long a scheduler tick took",
                                      buckets=TICK_BUCKETS, registry=self.registry)
        self.last_tick = Gauge("handoff_last_tick_timestamp_seconds",
                               "When the last scheduler tick finished (Unix time)", registry=self.registry)
        self.tick_failures = Counter("handoff_tick_failures", "Scheduler ticks that raised", registry=self.registry)
        for status in OUTBOX_STATUSES:
            self.outbox.labels(status)  # present at 0 from the first scrape: a rate() needs a start

    def request(self, kind: str, status: int, seconds: float) -> None:
        kind = kind if kind in REQUEST_KINDS else "other"
        self.requests.labels(kind, str(status)).inc()
        self.ack_seconds.labels(kind).observe(seconds)

    def delivery_failed(self, error: str) -> None:
        self.delivery_failures.labels(error[:64]).inc()

    def ticked(self, seconds: float, *, failed: bool = False) -> None:
        self.tick_seconds.observe(seconds)
        self.last_tick.set(time.time())
        if failed:
            self.tick_failures.inc()

    async def scrape(self) -> tuple[bytes, str]:
        """The text exposition, with the outbox counted now; (body, content type)."""
        totals = await self._db.query(outbox.counts)
        for status in set(OUTBOX_STATUSES) | set(totals):
            self.outbox.labels(status).set(totals.get(status, 0))
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
