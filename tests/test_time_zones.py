"""Whose clock counts: the AE's zone from Slack, the team's when Slack does not know it."""
from __future__ import annotations

from datetime import time

from bot.sandbox import SlackStandIn
from bot.sandbox.local_bot import LocalBot
from bot.core.teams import Member, TeamPolicy
from storage import handoffs as store
from storage.teams import replace_teams
from tests.flow import handoff_submitted, message_text

TEAM = TeamPolicy(
    id="amer", name="AMER", region="AMER", channel_id="C_AMER", tz="America/New_York",
    day_start=time(9), day_end=time(17), min_notice_hours=48,
    members=(Member("U_SDR1", "sdr"), Member("U_ZONELESS", "ae"), Member("U_AE1", "ae")),
)


def test_an_ae_without_a_zone_in_slack_counts_in_the_teams_zone(standin: SlackStandIn, bot: LocalBot) -> None:
    standin.add_user("U_ZONELESS", "zed", tz=None)  # type: ignore[arg-type]
    standin.add_channel("C_AMER", "amer-sales")
    assert bot.db is not None
    replace_teams(bot.db, [TEAM], bot.clock.now())  # type: ignore[union-attr]
    card = handoff_submitted(standin, bot.driver, ae_id="U_ZONELESS")
    handoff = store.get_handoff(bot.db, 1)
    assert handoff is not None and handoff.ae_tz == "America/New_York" and handoff.team_id == "amer"
    # The meeting (Fri 27 Nov 15:00 UTC) reads in New York time on the card, not in UTC.
    assert "Fri 27 Nov 2026, 10:00 EST" in message_text(standin, card)


def test_an_ae_with_a_zone_counts_in_their_own(standin: SlackStandIn, bot: LocalBot) -> None:
    standin.add_channel("C_AMER", "amer-sales")
    assert bot.db is not None
    replace_teams(bot.db, [TEAM], bot.clock.now())  # type: ignore[union-attr]
    card = handoff_submitted(standin, bot.driver, ae_id="U_AE1")  # U_AE1 is in Berlin
    handoff = store.get_handoff(bot.db, 1)
    assert handoff is not None and handoff.ae_tz == "Europe/Berlin"
    assert "Fri 27 Nov 2026, 16:00 CET" in message_text(standin, card)
