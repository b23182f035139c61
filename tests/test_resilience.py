"""The store never loses a handoff: Slack failing, the bot restarting, and delivery order.

Retries are measured on the injected clock: a test moves the clock and runs a delivery pass
(`deliver_due`) itself, so whether a message went out never depends on how fast the machine is.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from sqlmodel import select

from bot.sandbox import SlackStandIn
from bot.sandbox.local_bot import LocalBot
from conftest import START, local_bot
from flow import VALID, card_for, handoff_submitted, posts_to, submit
from storage import handoffs as store
from storage.models import OutboxMessage


# ---------------------------------------------------------------------- helpers


def settle(bot: LocalBot) -> None:
    """Let the listeners' background work finish, then run one delivery pass at the clock's time."""
    bot.call(bot.wiring.background.drain())
    bot.call(bot.wiring.deliverer.deliver_due())


def tick(bot: LocalBot, clock, seconds: float) -> None:
    clock.advance(timedelta(seconds=seconds))
    bot.call(bot.wiring.deliverer.deliver_due())


def ae_cards(standin: SlackStandIn, user: str = "U_AE1") -> list[Any]:
    return [c for c in posts_to(standin, user) if "handoff_accept" in str(c.args)]


def sdr_cards(standin: SlackStandIn, user: str = "U_SDR1") -> list[Any]:
    return [c for c in posts_to(standin, user) if "You handed off" in (c.args.get("text") or "")]


def failed_posts(standin: SlackStandIn, status: int | None = None) -> list[Any]:
    return [c for c in standin.calls_to("chat.postMessage") if not c.ok and (status is None or c.status == status)]


def outbox(bot: LocalBot, **where: Any) -> list[OutboxMessage]:
    with bot.db.read() as session:
        query = select(OutboxMessage).order_by(OutboxMessage.id)
        for name, value in where.items():
            query = query.where(getattr(OutboxMessage, name) == value)
        return list(session.exec(query).all())


def ae_card_row(bot: LocalBot, handoff_id: int = 1, revision: int = 1) -> OutboxMessage:
    rows = outbox(bot, message_key=f"ae_card:{handoff_id}:{revision}", op="post")
    assert len(rows) == 1
    return rows[0]


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait for something the bot does on its own thread (not a timing assertion: it only bounds the wait)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition never came true"
        time.sleep(0.01)


@contextmanager
def running(standin: SlackStandIn, db_url: str, clock) -> Iterator[LocalBot]:
    with local_bot(standin, db_url, clock) as bot:
        yield bot


def stored(bot: LocalBot, handoff_id: int = 1):
    h = store.get_handoff(bot.db, handoff_id)
    assert h is not None, f"H-{handoff_id} was not stored"
    return h


# ---------------------------------------------------------------------- Slack failing


def test_rate_limit_holds_the_card_until_retry_after_then_posts_it_once(bot, standin, driver, clock):
    # Both posts the submission owes (AE card, SDR card) are answered 429, so which goes first does not matter.
    standin.fail("chat.postMessage", status=429, retry_after=3, times=2)
    response = submit(standin, driver)
    assert response.status == 200 and not response.body, response.body
    h = stored(bot)
    assert (h.company, h.state, h.ae_id) == ("Acme Corp", "pending", "U_AE1")

    settle(bot)
    limited = failed_posts(standin, 429)
    assert len(limited) == 2 and {c.args["channel"] for c in limited} == {"U_AE1", "U_SDR1"}
    row = ae_card_row(bot)
    assert (row.status, row.last_error, row.next_attempt_at) == ("pending", "ratelimited", START + timedelta(seconds=3))
    assert ae_cards(standin) == []

    tick(bot, clock, 2)
    tick(bot, clock, 0.9)
    assert ae_cards(standin) == []  # still inside Retry-After

    tick(bot, clock, 0.1)  # three seconds after the 429
    assert len(ae_cards(standin)) == 1
    assert len(sdr_cards(standin)) == 1
    tick(bot, clock, 3600)
    assert len(ae_cards(standin)) == 1 and len(sdr_cards(standin)) == 1
    row = ae_card_row(bot)
    assert (row.status, row.attempts) == ("sent", 2)


def test_server_errors_back_off_then_deliver_once(bot, standin, driver, clock):
    standin.fail("chat.postMessage", status=500, times=4)  # each of the two posts fails twice
    handoff = submit(standin, driver)
    assert handoff.status == 200 and not handoff.body
    settle(bot)
    assert len(failed_posts(standin, 500)) == 2
    assert ae_card_row(bot).next_attempt_at == START + timedelta(seconds=1)

    tick(bot, clock, 1)  # second try fails too; the next waits twice as long
    assert len(failed_posts(standin, 500)) == 4
    assert ae_card_row(bot).next_attempt_at == START + timedelta(seconds=3)
    assert ae_cards(standin) == []

    tick(bot, clock, 1)
    assert ae_cards(standin) == []
    tick(bot, clock, 1)
    assert len(ae_cards(standin)) == 1 and len(sdr_cards(standin)) == 1
    tick(bot, clock, 600)
    assert len(ae_cards(standin)) == 1 and len(sdr_cards(standin)) == 1
    assert len(failed_posts(standin)) == 4
    assert all(r.status == "sent" for r in outbox(bot))


def test_permanent_error_is_recorded_dead_and_not_retried(bot, standin, driver, clock):
    standin.fail("chat.postMessage", error="channel_not_found")  # the first post the outbox makes
    response = submit(standin, driver)
    assert response.status == 200 and not response.body
    settle(bot)

    dead = outbox(bot, status="dead")
    assert len(dead) == 1
    assert (dead[0].last_error, dead[0].attempts) == ("channel_not_found", 1)
    lost_to = dead[0].conversation
    other = ({"U_AE1", "U_SDR1"} - {lost_to}).pop()
    assert len(posts_to(standin, other)) == 1  # the other conversation got its card
    tries = [c for c in standin.calls_to("chat.postMessage") if c.args.get("channel") == lost_to]
    assert len(tries) == 1 and tries[0].response["error"] == "channel_not_found"

    for _ in range(5):
        tick(bot, clock, 3600)
    tries = [c for c in standin.calls_to("chat.postMessage") if c.args.get("channel") == lost_to]
    assert len(tries) == 1  # never tried again
    dead = outbox(bot, status="dead")
    assert len(dead) == 1 and dead[0].attempts == 1
    assert stored(bot).state == "pending"  # the handoff itself is intact

    # The dead row blocks nothing queued behind it for the same person: H-2 reaches both.
    response = submit(standin, driver, company="Globex")
    assert response.status == 200 and not response.body
    settle(bot)
    assert [c.response["ok"] for c in standin.calls_to("chat.postMessage")
            if c.args.get("channel") == lost_to] == [False, True]
    assert len(posts_to(standin, other)) == 2
    assert all(r.status == "sent" for r in outbox(bot, handoff_id=2))
    assert "Globex" in str(posts_to(standin, lost_to)[0].args)


def test_restart_delivers_the_owed_card_once(standin, db_url, clock):
    with running(standin, db_url, clock) as first:
        standin.fail("chat.postMessage", status=500, times=2)
        response = submit(standin, first.driver)
        assert response.status == 200 and not response.body
        settle(first)
        assert ae_cards(standin) == [] and len(failed_posts(standin)) == 2
        assert stored(first).state == "pending"
    # The first bot is gone with the card still owed.

    with running(standin, db_url, clock) as second:
        clock.advance(timedelta(seconds=1))
        settle(second)
        assert len(ae_cards(standin)) == 1 and len(sdr_cards(standin)) == 1
        tick(second, clock, 3600)
        assert len(ae_cards(standin)) == 1 and len(sdr_cards(standin)) == 1

        listing = second.driver.slash_command("U_SDR1", "list")
        body = listing.json()
        assert body is not None and body["response_type"] == "ephemeral"
        assert "H-1" in json.dumps(body) and "Acme Corp" in json.dumps(body)

        card = card_for(standin, "U_AE1")
        second.driver.click("U_AE1", "handoff_accept", message=card)
        settle(second)
        assert stored(second).state == "accepted"
        assert "Accepted by <@U_AE1>" in json.dumps(standin.messages[card])


def test_a_post_in_flight_at_shutdown_is_not_lost_or_doubled(standin, db_url, clock):
    standin.fail("chat.postMessage", delay=1.0, times=2)  # Slack is slow to answer both posts
    with running(standin, db_url, clock) as first:
        response = submit(standin, first.driver)
        assert response.status == 200 and not response.body
        wait_until(lambda: any(r.status == "sending" for r in outbox(first)))
    # Stopping waited for the outbox pass in flight.

    with running(standin, db_url, clock) as second:
        settle(second)
        clock.advance(timedelta(minutes=5))  # past any claim's lease
        settle(second)
        assert len(ae_cards(standin)) == 1 and len(sdr_cards(standin)) == 1
        assert [r.status for r in outbox(second)] == ["sent", "sent"]


def test_card_posted_before_a_restart_still_works_after_it(standin, db_url, clock):
    with running(standin, db_url, clock) as first:
        card = handoff_submitted(standin, first.driver)
        settle(first)

    with running(standin, db_url, clock) as second:
        response = second.driver.click("U_AE1", "handoff_accept", message=card)
        assert response.status == 200
        settle(second)
        h = stored(second)
        assert (h.state, h.decided_by) == ("accepted", "U_AE1")
        assert "Accepted by <@U_AE1>" in json.dumps(standin.messages[card])
        assert [e.action for e in store.audit_trail(second.db, 1)] == ["submitted", "accept"]


def test_reject_modal_opened_before_a_restart_can_be_submitted_after_it(standin, db_url, clock):
    with running(standin, db_url, clock) as first:
        card = handoff_submitted(standin, first.driver)
        settle(first)
        before = len(standin.calls_to("views.open"))
        first.driver.click("U_AE1", "handoff_reject", message=card)
        view = standin.wait_for("views.open", count=before + 1)[before].response["view"]
        assert view["callback_id"] == "handoff_reject_submit"

    with running(standin, db_url, clock) as second:
        response = second.driver.submit_view("U_AE1", view["id"], {"reason": "wrong_territory",
                                                                   "feedback": "EMEA owns this account."})
        assert response.status == 200 and not response.body, response.body
        settle(second)
        h = stored(second)
        assert (h.state, h.rejection_reason, h.rejection_feedback) == (
            "rejected", "wrong_territory", "EMEA owns this account.")
        assert "Rejected by <@U_AE1>" in json.dumps(standin.messages[card])
        notice = [c for c in posts_to(standin, "U_SDR1") if "rejected *H-1" in (c.args.get("text") or "")]
        assert len(notice) == 1 and "EMEA owns this account." in json.dumps(notice[0].args)


def test_directory_failure_at_submission_loses_nothing(bot, standin, driver):
    standin.fail("users.info", status=500, times=50)  # Slack cannot say who anyone is, for the whole flow
    response = submit(standin, driver)
    assert response.status == 200 and not response.body, response.body
    assert len([c for c in standin.calls_to("users.info") if c.status == 500]) >= 2
    h = stored(bot)
    assert (h.sdr_id, h.ae_id, h.company, h.need) == ("U_SDR1", "U_AE1", VALID["company"], VALID["need"])
    settle(bot)
    assert len(ae_cards(standin)) == 1 and len(sdr_cards(standin)) == 1


def test_the_sdr_hears_in_the_order_owed(bot, standin, driver, clock):
    card = handoff_submitted(standin, driver)
    settle(bot)
    sdr = sdr_cards(standin)[0]
    sdr_channel = sdr.response["channel"]

    # The edits fail once (both cards, so which goes first does not matter): the accepted DM,
    # owed after the SDR's card edit, must wait behind it.
    standin.fail("chat.update", status=500, times=2)
    driver.click("U_AE1", "handoff_accept", message=card)
    settle(bot)
    assert len([c for c in standin.calls_to("chat.update") if c.status == 500]) == 2
    accepted = lambda: [c for c in posts_to(standin, "U_SDR1") if "accepted *H-1" in (c.args.get("text") or "")]
    assert accepted() == []

    tick(bot, clock, 1)
    assert len(accepted()) == 1
    to_sdr = [c for c in standin.calls if c.ok and c.method in ("chat.update", "chat.postMessage")
              and c.args.get("channel") in ("U_SDR1", sdr_channel)]
    kinds = [(c.method, "accepted *H-1" in (c.args.get("text") or "")) for c in to_sdr]
    assert kinds == [("chat.postMessage", False), ("chat.update", False), ("chat.postMessage", True)]
    assert to_sdr[1].args["ts"] == sdr.response["ts"]
