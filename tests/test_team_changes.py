"""A running bot remembers the team each SDR last submitted with and checks the next form against it without
a read of its own; the write reads the team again in its transaction. So a team changed behind its back (the
CLI's `teams load`, another copy of the bot: here a Database handle of their own on the same database) counts
from the very next submission, never from a stale copy."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import time

import pytest

from bot.core.teams import Member, TeamPolicy
from bot.sandbox import DriverResponse, SlackStandIn
from bot.sandbox.local_bot import LocalBot
from storage import handoffs as store
from storage.db import Database
from storage.teams import replace_teams
from tests.flow import posts_to, submit
from tests.test_security import settle

AMER = TeamPolicy(
    id="amer", name="AMER", region="AMER", channel_id="C_AMER", tz="America/New_York",
    day_start=time(9), day_end=time(17), min_notice_hours=48,
    members=(Member("U_SDR1", "sdr"), Member("U_AE1", "ae")),
)
# More notice than the tests' meeting (Fri 27 Nov, from Mon 23 Nov) has: the form's rules refuse it.
STRICT = replace(AMER, min_notice_hours=200)


@pytest.fixture
def elsewhere(bot: LocalBot, db_url: str) -> Iterator[Database]:
    """The same database as another process sees it: the CLI, another copy of the bot."""
    other = Database(db_url)
    yield other
    other.close()


def stored(bot: LocalBot, handoff_id: int) -> str | None:
    handoff = store.get_handoff(bot.db, handoff_id)  # type: ignore[arg-type]
    assert handoff is not None
    return handoff.team_id


def accepted(response: DriverResponse) -> None:
    assert response.status == 200 and not response.body, response.body


def test_a_team_loaded_elsewhere_counts_from_the_next_submission(standin: SlackStandIn, bot: LocalBot,
                                                                 elsewhere: Database) -> None:
    standin.add_channel("C_AMER", "amer-sales")
    accepted(submit(standin, bot.driver))
    assert stored(bot, 1) is None  # in no team yet: nothing announced in a channel

    replace_teams(elsewhere.scoped(""), [AMER], bot.clock.now())
    accepted(submit(standin, bot.driver))
    assert stored(bot, 2) == "amer"
    settle(bot)
    assert len(posts_to(standin, "C_AMER")) == 1  # the team's channel hears of it at once

    replace_teams(elsewhere.scoped(""), [], bot.clock.now())  # the team is gone again
    accepted(submit(standin, bot.driver))
    assert stored(bot, 3) is None


def test_a_notice_changed_elsewhere_is_the_one_the_form_is_checked_against(standin: SlackStandIn, bot: LocalBot,
                                                                           elsewhere: Database) -> None:
    standin.add_channel("C_AMER", "amer-sales")
    replace_teams(elsewhere.scoped(""), [AMER], bot.clock.now())
    accepted(submit(standin, bot.driver))

    replace_teams(elsewhere.scoped(""), [STRICT], bot.clock.now())
    refused = submit(standin, bot.driver).json()
    assert "200 business hours" in refused["errors"]["meeting_start"]  # not the 48 it was submitted with

    replace_teams(elsewhere.scoped(""), [AMER], bot.clock.now())  # relaxed again: the form goes through
    accepted(submit(standin, bot.driver))
    assert [stored(bot, i) for i in (1, 2)] == ["amer", "amer"]
    assert store.get_handoff(bot.db, 3) is None  # type: ignore[arg-type]
