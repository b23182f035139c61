"""`/handoff help | list | show H-n`: ephemeral answers in the HTTP response, and the audit trail behind `show`."""
from __future__ import annotations

from typing import Any

import pytest

from bot.render.replies import USAGE
from bot.sandbox import SlackDriver, SlackStandIn
from bot.sandbox.local_bot import LocalBot
from tests.flow import handoff_submitted


def settle(bot: LocalBot) -> None:
    """Finish background work and every due outbox row, so absence of a call is a fact."""
    bot.call(bot.wiring.background.drain())
    bot.call(bot.wiring.deliverer.deliver_due())


def mrkdwn_texts(node: Any) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        if node.get("type") in ("mrkdwn", "plain_text") and isinstance(node.get("text"), str):
            found.append(node["text"])
        for value in node.values():
            found.extend(mrkdwn_texts(value))
    elif isinstance(node, list):
        for item in node:
            found.extend(mrkdwn_texts(item))
    return found


def ask(driver: SlackDriver, user: str, text: str) -> tuple[dict[str, Any], str]:
    """Type `/handoff <text>`; return the ephemeral answer and all its visible text."""
    response = driver.slash_command(user, text=text)
    assert response.status == 200, response.body
    body = response.json()
    assert body is not None, f"expected a JSON answer to /handoff {text!r}, got {response.body!r}"
    assert body["response_type"] == "ephemeral"
    return body, "\n".join([body["text"], *mrkdwn_texts(body.get("blocks") or [])])


def no_modal_opened(bot: LocalBot, standin: SlackStandIn, expected: int = 0) -> None:
    settle(bot)
    assert len(standin.calls_to("views.open")) == expected


def accept(bot: LocalBot, standin: SlackStandIn, driver: SlackDriver, card: tuple[str, str]) -> None:
    assert driver.click("U_AE1", "handoff_accept", message=card).status == 200
    settle(bot)


# ---------------------------------------------------------------------- help and usage


def test_help_is_ephemeral(standin: SlackStandIn, driver: SlackDriver, bot: LocalBot) -> None:
    _, text = ask(driver, "U_SDR1", "help")
    for piece in ("`/handoff`", "`/handoff list`", "`/handoff show H-42`", "`/handoff help`", "Accept", "Reject"):
        assert piece in text
    no_modal_opened(bot, standin)
    assert standin.calls_to("chat.postMessage") == []  # answered in the HTTP response, not posted


@pytest.mark.parametrize(("words", "problem"), [
    ("frobnicate", "I don't know `frobnicate`"),
    ("show", "`/handoff show` needs a handoff id"),
    ("show banana", "`/handoff show` needs a handoff id"),
    ("list everything", "I don't know `list everything`"),
    ("payload", "I don't know `payload`"),  # Bolt's own body parser reads any body saying "payload" as empty
    ("show payload", "`/handoff show` needs a handoff id"),
])
def test_unknown_or_incomplete_commands_answer_with_usage(standin: SlackStandIn, driver: SlackDriver, bot: LocalBot,
                                                          words: str, problem: str) -> None:
    _, text = ask(driver, "U_SDR1", words)
    assert problem in text
    assert USAGE in text
    no_modal_opened(bot, standin)


# ---------------------------------------------------------------------- list


def test_list_shows_each_side_of_the_handoff(standin: SlackStandIn, driver: SlackDriver, bot: LocalBot) -> None:
    card = handoff_submitted(standin, driver)
    opened = len(standin.calls_to("views.open"))

    _, sdr = ask(driver, "U_SDR1", "list")
    assert "*As SDR*" in sdr and "*As AE*" not in sdr
    assert "*H-1* Acme Corp · to <@U_AE1> · Waiting for the AE" in sdr

    _, ae = ask(driver, "U_AE1", "list")
    assert "*As AE*" in ae and "*As SDR*" not in ae
    assert "*H-1* Acme Corp · from <@U_SDR1> · Waiting for the AE" in ae

    _, nobody = ask(driver, "U_STRANGER", "list")
    assert "no handoffs" in nobody and "H-1" not in nobody

    accept(bot, standin, driver, card)
    _, after = ask(driver, "U_SDR1", "list")
    assert "*H-1* Acme Corp · to <@U_AE1> · Accepted" in after
    no_modal_opened(bot, standin, expected=opened)


def test_list_is_in_the_readers_time_zone(standin: SlackStandIn, driver: SlackDriver, bot: LocalBot) -> None:
    handoff_submitted(standin, driver)
    _, sdr = ask(driver, "U_SDR1", "list")
    _, ae = ask(driver, "U_AE1", "list")
    assert "Mon 23 Nov 2026, 09:00 EST" in sdr  # 14:00 UTC in New York
    assert "Mon 23 Nov 2026, 15:00 CET" in ae  # and in Berlin


# ---------------------------------------------------------------------- show and the audit trail


def trail_lines(text: str) -> list[str]:
    trail = text.split("*Audit trail*", 1)[1]
    return [line for line in trail.splitlines() if line.startswith("• ")]


def test_show_has_the_record_and_one_audit_line_per_change(standin: SlackStandIn, driver: SlackDriver,
                                                          bot: LocalBot) -> None:
    card = handoff_submitted(standin, driver)
    opened = len(standin.calls_to("views.open"))

    _, before = ask(driver, "U_SDR1", "show H-1")
    assert "H-1 Acme Corp" in before
    assert "SDR <@U_SDR1> → AE <@U_AE1>" in before
    assert "Jane Doe, VP Engineering" in before and "Docs for 40 engineers" in before
    [submitted] = trail_lines(before)
    # Each reader's Slack shows the time in their own zone; the fallback is the asker's (New York).
    assert submitted == ("• <!date^1795442400^{date_short_pretty} at {time}|Mon 23 Nov 2026, 09:00 EST> · "
                         "<@U_SDR1> · *submitted* — → pending")

    accept(bot, standin, driver, card)
    _, after = ask(driver, "U_SDR1", "show h-1")  # ids are case-insensitive
    lines = trail_lines(after)
    assert len(lines) == 2
    assert lines[0] == submitted
    assert "<@U_AE1> · *accept* pending → accepted" in lines[1]
    assert "Accepted by <@U_AE1>" in after
    no_modal_opened(bot, standin, expected=opened)


def test_show_is_for_the_people_on_the_handoff_and_admins(standin: SlackStandIn, driver: SlackDriver,
                                                         bot: LocalBot) -> None:
    handoff_submitted(standin, driver)

    _, stranger = ask(driver, "U_STRANGER", "show H-1")
    assert "You're not part of H-1" in stranger
    assert "Acme Corp" not in stranger and "Audit trail" not in stranger and "Jane Doe" not in stranger

    _, admin = ask(driver, "U_ADMIN", "show H-1")
    assert "H-1 Acme Corp" in admin and "*Audit trail*" in admin and "Jane Doe" in admin
    assert "Mon 23 Nov 2026, 08:00 CST" in admin  # the admin reads times in Chicago

    _, ae = ask(driver, "U_AE1", "show H-1")
    assert "*Audit trail*" in ae


def test_show_of_a_missing_handoff(standin: SlackStandIn, driver: SlackDriver, bot: LocalBot) -> None:
    handoff_submitted(standin, driver)
    _, text = ask(driver, "U_ADMIN", "show H-999")
    assert "There is no handoff H-999" in text
    assert "Acme Corp" not in text
