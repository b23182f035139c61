"""Who people are, when Slack is slow to say or says something odd: the ack never waits on users.info
past a short deadline, and a zone no zone database knows falls back to the team's, then UTC."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import time as dtime

import pytest
from conftest import ADMIN, wait_until

from bot.core.teams import Member, TeamPolicy
from bot.runtime.clock import ManualClock
from bot.sandbox import SlackDriver, SlackStandIn
from bot.sandbox.local_bot import LocalBot
from storage import handoffs as store
from storage.teams import replace_teams
from tests.flow import card_for, message_text, submit

TEAM = TeamPolicy(
    id="amer", name="AMER", region="AMER", channel_id="C_AMER", tz="America/New_York",
    day_start=dtime(9), day_end=dtime(17), min_notice_hours=48,
    members=(Member("U_SDR1", "sdr"), Member("U_AE1", "ae"), Member("U_MARS", "ae")),
)
SLACK_ACK_SECONDS = 3.0  # Slack drops an answer later than this: the driver waits no longer
USERS_INFO_DELAY = 6.0  # well past both the ack budget and the lookup deadline


@pytest.fixture
def quick_bot(standin: SlackStandIn, db_url: str, clock: ManualClock) -> Iterator[LocalBot]:
    with LocalBot(standin, db_url, clock=clock, admins=frozenset({ADMIN}), channel_post_interval=0.0,
                  lookup_deadline_seconds=0.2) as running:
        standin.add_channel("C_AMER", "amer-sales")
        assert running.db is not None
        replace_teams(running.db, [TEAM], clock.now())
        yield running


def slack_patient(bot: LocalBot) -> SlackDriver:
    """A driver that gives up when Slack would: 3 s after sending."""
    return SlackDriver(bot.url, bot.driver.signing_secret, bot.standin, timeout=SLACK_ACK_SECONDS)


@pytest.mark.slow
def test_a_slow_users_info_does_not_hold_the_ack_and_the_aes_zone_is_filled_in_after(
        standin: SlackStandIn, quick_bot: LocalBot) -> None:
    db = quick_bot.db
    assert db is not None
    standin.fail("users.info", delay=USERS_INFO_DELAY, times=2)  # the SDR's and the AE's lookups
    response = submit(standin, slack_patient(quick_bot), ae_id="U_AE1")  # U_AE1 is in Berlin
    assert response.status == 200 and not response.body, response.body  # acked in time, the modal closes
    handoff = store.get_handoff(db, 1)
    assert handoff is not None and handoff.ae_tz == "America/New_York"  # the team's zone, meanwhile
    # After the ack Slack's answer arrives, and the record is corrected through the service, with an audit line.
    wait_until(lambda: (h := store.get_handoff(db, 1)) is not None and h.ae_tz == "Europe/Berlin",
               "the AE's zone corrected to Slack's answer")
    trail = store.audit_trail(db, 1)
    corrected = [e for e in trail if e.action == "ae_zone"]
    assert len(corrected) == 1 and corrected[0].detail == {"ae": "U_AE1", "from": "America/New_York",
                                                           "to": "Europe/Berlin"}
    # The card waited for the real answer (it is posted after the ack): the meeting in Berlin time.
    assert "Fri 27 Nov 2026, 16:00 CET" in message_text(standin, card_for(standin, "U_AE1", timeout=30))


@pytest.mark.slow
def test_a_slow_users_info_does_not_hold_a_listing_or_a_home_tab(standin: SlackStandIn, quick_bot: LocalBot) -> None:
    driver = slack_patient(quick_bot)
    standin.fail("users.info", delay=USERS_INFO_DELAY, times=2)
    response = submit(standin, driver, ae_id="U_AE1")
    assert response.status == 200 and not response.body
    standin.fail("users.info", delay=USERS_INFO_DELAY, times=10)
    # A fresh user (nothing cached): `/handoff list` answers in time, in the fallback zone.
    listing = driver.slash_command("U_AE2", "list")
    assert listing.status == 200
    assert driver.app_home_opened("U_STRANGER").status == 200


def test_a_zone_nobody_knows_falls_back_to_the_teams_zone(
        standin: SlackStandIn, bot: LocalBot, caplog: pytest.LogCaptureFixture) -> None:
    standin.add_user("U_MARS", "marvin", tz="Mars/Olympus_Mons")
    standin.add_user("U_SDR1", "alice", tz="Mars/Olympus_Mons")  # the SDR too
    standin.add_channel("C_AMER", "amer-sales")
    assert bot.db is not None
    replace_teams(bot.db, [TEAM], bot.clock.now())  # type: ignore[union-attr]
    with caplog.at_level(logging.WARNING, logger="handoff.directory"):
        response = submit(standin, bot.driver, ae_id="U_MARS")
        assert response.status == 200 and not response.body, response.body  # no 500, no "couldn't save"
        card = card_for(standin, "U_MARS")
    handoff = store.get_handoff(bot.db, 1)
    assert handoff is not None and handoff.ae_tz == "America/New_York"  # the SLA clock counts in the team's zone
    assert "Fri 27 Nov 2026, 10:00 EST" in message_text(standin, card)  # the AE's card renders, in that zone
    warnings = [r for r in caplog.records if "Mars/Olympus_Mons" in r.getMessage()]
    assert {w.getMessage().split()[2] for w in warnings} == {"U_MARS", "U_SDR1"}  # one line per person


def test_a_zone_nobody_knows_without_a_team_falls_back_to_utc(standin: SlackStandIn, bot: LocalBot) -> None:
    standin.add_user("U_MARS", "marvin", tz="Mars/Olympus_Mons")
    response = submit(standin, bot.driver, ae_id="U_MARS")
    assert response.status == 200 and not response.body, response.body
    card_for(standin, "U_MARS")
    handoff = store.get_handoff(bot.db, 1)  # type: ignore[arg-type]
    assert handoff is not None and handoff.ae_tz == "UTC"


@pytest.mark.slow
def test_past_the_deadline_a_stale_cached_answer_beats_the_fallback_zone(standin: SlackStandIn) -> None:
    import asyncio

    from slack_sdk.web.async_client import AsyncWebClient

    from bot.runtime.directory import Directory

    async def story() -> tuple[str, str, bool, str]:
        client = AsyncWebClient(token=standin.token, base_url=standin.base_url)
        directory = Directory(client, "UTC", ttl_seconds=0.0, quick_seconds=0.2)  # every answer stale at once
        fresh = await directory.tz("U_AE1", "America/New_York")
        standin.fail("users.info", delay=2.0, times=2)  # U_AE1's lookup, then U_AE2's
        quick = await directory.tz("U_AE1", "America/New_York", quick=True)
        pending = directory.pending("U_AE1")
        nobody = await directory.tz("U_AE2", "America/New_York", quick=True)  # nothing cached: the fallback
        return fresh, quick, pending, nobody

    fresh, quick, pending, nobody = asyncio.run(story())
    assert fresh == quick == "Europe/Berlin"
    assert pending  # Slack's answer is still on its way
    assert nobody == "America/New_York"  # nothing cached for U_AE2 (Los Angeles): the fallback zone


@pytest.mark.slow
def test_a_reassignment_during_a_slow_users_info_is_acked_and_the_new_aes_zone_filled_in_after(
        standin: SlackStandIn, quick_bot: LocalBot) -> None:
    db = quick_bot.db
    assert db is not None
    driver = slack_patient(quick_bot)
    response = submit(standin, driver, ae_id="U_AE1")
    assert response.status == 200 and not response.body
    card = card_for(standin, "U_AE1")
    before = len(standin.calls_to("views.open"))
    driver.click("U_AE1", "handoff_reassign", message=card)
    view = standin.wait_for("views.open", count=before + 1)[-1].response["view"]
    standin.fail("users.info", delay=USERS_INFO_DELAY)  # U_AE2 (Los Angeles), not cached yet
    response = driver.submit_view("U_AE1", view["id"], {"new_ae": "U_AE2"})
    assert response.status == 200 and not response.body, response.body
    handoff = store.get_handoff(db, 1)
    assert handoff is not None and (handoff.ae_id, handoff.ae_tz) == ("U_AE2", "America/New_York")
    wait_until(lambda: (h := store.get_handoff(db, 1)) is not None and h.ae_tz == "America/Los_Angeles",
               "the new AE's zone corrected to Slack's answer")
    assert [e.detail for e in store.audit_trail(db, 1) if e.action == "ae_zone"] == [
        {"ae": "U_AE2", "from": "America/New_York", "to": "America/Los_Angeles"}]


def test_a_zone_stored_in_a_record_is_asked_again_once_the_cached_answer_is_a_few_minutes_old(
        standin: SlackStandIn) -> None:
    """Each copy of the bot caches users.info for an hour; a zone written into a record (fresh) is not
    taken from an answer older than `fresh_seconds` (0 here: every cached answer is too old)."""
    import asyncio

    from slack_sdk.web.async_client import AsyncWebClient

    from bot.runtime.directory import Directory

    async def story() -> tuple[str, str, str, str]:
        client = AsyncWebClient(token=standin.token, base_url=standin.base_url)
        directory = Directory(client, "UTC", fresh_seconds=0.0)
        before = await directory.tz("U_AE1")
        standin.add_user("U_AE1", "ae1", tz="Asia/Tokyo")  # they moved; Slack sends no event we listen to
        shown = await directory.tz("U_AE1")  # a time shown: the hour-long cache will do
        stored = (await directory.person("U_AE1", fresh=True)).tz  # a zone for a record: asked again
        directory.forget("U_AE1")
        standin.add_user("U_AE1", "ae1", tz="Europe/Paris")
        after_forget = await directory.tz("U_AE1")
        return before, shown, stored, after_forget

    before, shown, stored, after_forget = asyncio.run(story())
    assert (before, shown) == ("Europe/Berlin", "Europe/Berlin")
    assert stored == "Asia/Tokyo"
    assert after_forget == "Europe/Paris"
