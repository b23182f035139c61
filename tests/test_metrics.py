"""GET /metrics as Prometheus scrapes it: real requests to the bot, then the numbers read back over HTTP."""
from __future__ import annotations

import json
import urllib.request
from typing import Any

from conftest import local_bot
from flow import submit
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import select
from test_resilience import settle, tick, wait_until

from bot.sandbox.local_bot import LocalBot
from storage.models import OutboxMessage


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of GET /metrics, by (name, sorted labels)."""
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def metrics_url(bot: LocalBot) -> str:
    return bot.url.replace("/slack/events", "/metrics")


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_requests_ack_latency_and_the_outbox_backlog_are_counted(bot, standin, driver, clock) -> None:
    before = scrape(metrics_url(bot))
    assert value(before, "handoff_outbox_messages", status="pending") == 0  # present at 0 from the start
    assert ("handoff_outbox_messages", (("status", "pending"),)) in before

    standin.fail("chat.postMessage", retry_after=600, times=100)  # Slack says wait: the cards stay owed
    response = submit(standin, driver)  # a slash command, then the modal's submission
    assert response.status == 200
    assert driver.slash_command("U_SDR1", forge_signature=True).status == 401
    settle(bot)
    owed = scrape(metrics_url(bot))
    assert value(owed, "handoff_slack_requests_total", kind="command", status="200") == 1
    assert value(owed, "handoff_slack_requests_total", kind="view_submission", status="200") == 1
    assert value(owed, "handoff_slack_requests_total", kind="refused", status="401") == 1
    assert value(owed, "handoff_slack_ack_seconds_count", kind="command") == 1
    assert value(owed, "handoff_slack_ack_seconds_count", kind="view_submission") == 1
    assert value(owed, "handoff_slack_ack_seconds_bucket", kind="view_submission", le="+Inf") == 1
    assert value(owed, "handoff_slack_ack_seconds_sum", kind="view_submission") > 0
    with bot.db.read() as session:
        pending = len(session.exec(select(OutboxMessage).where(OutboxMessage.status == "pending")).all())
    assert pending > 0
    assert value(owed, "handoff_outbox_messages", status="pending") == pending  # read at scrape time
    assert value(owed, "handoff_delivery_failures_total", error="ratelimited") >= 1

    standin.reset()
    tick(bot, clock, 601)  # Slack takes them now: the backlog is gone
    delivered = scrape(metrics_url(bot))
    assert value(delivered, "handoff_outbox_messages", status="pending") == 0
    assert value(delivered, "handoff_outbox_messages", status="sent") >= pending


def test_an_event_and_an_action_are_kinds_of_their_own(bot, driver) -> None:
    assert driver.app_home_opened("U_SDR1").status == 200
    samples = scrape(metrics_url(bot))
    assert value(samples, "handoff_slack_requests_total", kind="event", status="200") == 1
    assert value(samples, "handoff_slack_requests_total", kind="command", status="200") == 0


def test_delivery_failures_are_counted_by_error(bot, standin, clock) -> None:
    standin.add_channel("C_TEAM", "team-amer")
    standin.fail("chat.postMessage", error="channel_not_found", channel="C_TEAM")
    standin.fail("chat.postMessage", error="ratelimited", channel="C_GONE")
    now = clock.now()
    with bot.db.write() as session:
        for conversation in ("C_TEAM", "C_GONE"):
            session.add(OutboxMessage(conversation=conversation, op="post", view="snapshot",
                                      message_key=f"{conversation}:0", payload=json.dumps({"text": "agenda"}),
                                      next_attempt_at=now, created_at=now))
    bot.call(bot.wiring.deliverer.deliver_due())
    samples = scrape(metrics_url(bot))
    assert value(samples, "handoff_delivery_failures_total", error="channel_not_found") == 1
    assert value(samples, "handoff_delivery_failures_total", error="ratelimited") == 1
    assert value(samples, "handoff_outbox_messages", status="dead") == 1
    assert value(samples, "handoff_outbox_messages", status="pending") == 1


def test_ticks_are_timed_and_two_bots_in_one_process_keep_their_own_numbers(standin, db_url, clock, tmp_path) -> None:
    ticking = local_bot(standin, db_url, clock)
    ticking.settings = ticking.settings.__class__(**{**ticking.settings.__dict__, "tick_seconds": 3600.0})
    other_db = tmp_path / "other.db"
    with ticking, local_bot(standin, f"sqlite:///{other_db}", clock) as quiet:
        # The scheduler's first tick runs as soon as the bot serves.
        wait_until(lambda: value(scrape(metrics_url(ticking)), "handoff_tick_seconds_count") >= 1)
        samples: dict[Any, float] = scrape(metrics_url(ticking))
        assert value(samples, "handoff_last_tick_timestamp_seconds") > 0
        assert value(samples, "handoff_tick_failures_total") == 0
        assert quiet.driver.app_home_opened("U_SDR1").status == 200
        theirs, ours = scrape(metrics_url(quiet)), scrape(metrics_url(ticking))
        assert value(theirs, "handoff_tick_seconds_count") == 0  # tick_seconds=0: never ticks
        assert value(theirs, "handoff_slack_requests_total", kind="event", status="200") == 1
        assert value(ours, "handoff_slack_requests_total", kind="event", status="200") == 0
