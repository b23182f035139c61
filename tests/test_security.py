"""Only Slack gets in: signatures, stale timestamps, garbage buttons, the health check, and tokens kept out of logs."""
from __future__ import annotations

import io
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request

from sqlalchemy import text

from bot.runtime.logs import RedactTokens
from bot.sandbox import SlackDriver, SlackStandIn
from bot.sandbox.local_bot import LocalBot
from storage.handoffs import audit_trail, get_handoff
from tests.flow import VALID, handoff_submitted, open_form


def settle(bot: LocalBot) -> None:
    """Finish background work and every due outbox row, so absence of a call is a fact."""
    bot.call(bot.wiring.background.drain())
    bot.call(bot.wiring.deliverer.deliver_due())


def count_rows(bot: LocalBot, table: str) -> int:
    with bot.db.engine.connect() as conn:
        return conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()


def base_url(bot: LocalBot) -> str:
    return bot.url.rsplit("/slack/events", 1)[0]


# ---------------------------------------------------------------------- request signatures


def test_forged_slash_command_is_refused(standin: SlackStandIn, driver: SlackDriver, bot: LocalBot) -> None:
    response = driver.slash_command("U_SDR1", forge_signature=True)
    assert response.status == 401
    settle(bot)
    assert standin.calls_to("views.open") == []
    # The same command, signed, does open the form: the 401 was the signature, nothing else.
    assert driver.slash_command("U_SDR1").status == 200
    assert len(standin.wait_for("views.open")) == 1


def test_stale_timestamp_is_refused(standin: SlackStandIn, driver: SlackDriver, bot: LocalBot) -> None:
    response = driver.slash_command("U_SDR1", timestamp=int(time.time()) - 600)
    assert response.status == 401
    response = driver.slash_command("U_SDR1", text="help", timestamp=int(time.time()) - 600)
    assert response.status == 401 and "/handoff list" not in response.body
    settle(bot)
    assert standin.calls_to("views.open") == []


def test_unsigned_request_is_refused(standin: SlackStandIn, driver: SlackDriver, bot: LocalBot) -> None:
    fields = {"command": "/handoff", "text": "help", "user_id": "U_SDR1", "team_id": "T_HANDOFF",
              "trigger_id": standin.issue_trigger_id("U_SDR1"), "channel_id": "C_GENERAL"}
    request = urllib.request.Request(
        bot.url, data=urllib.parse.urlencode(fields).encode(), method="POST",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            status, body = resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        status, body = err.code, err.read().decode()
    assert status == 401
    assert "/handoff list" not in body
    settle(bot)
    assert standin.calls_to("views.open") == []


def test_forged_view_submission_stores_nothing(standin: SlackStandIn, driver: SlackDriver, bot: LocalBot) -> None:
    view_id = open_form(standin, driver)
    response = driver.submit_view("U_SDR1", view_id, VALID, apply=False, forge_signature=True)
    assert response.status == 401
    settle(bot)
    assert count_rows(bot, "handoff") == 0 and count_rows(bot, "outbox") == 0
    assert standin.calls_to("chat.postMessage") == []


def test_forged_click_from_the_ae_changes_nothing(standin: SlackStandIn, driver: SlackDriver, bot: LocalBot) -> None:
    card = handoff_submitted(standin, driver)
    settle(bot)
    posted = len(standin.calls_to("chat.postMessage"))

    response = driver.click("U_AE1", "handoff_accept", message=card, forge_signature=True)
    assert response.status == 401
    settle(bot)
    assert get_handoff(bot.db, 1).state == "pending"
    assert [e.action for e in audit_trail(bot.db, 1)] == ["submitted"]
    assert standin.calls_to("chat.update") == [] and standin.calls_to("chat.postEphemeral") == []
    assert len(standin.calls_to("chat.postMessage")) == posted

    # The AE's real click still works on the same card.
    assert driver.click("U_AE1", "handoff_accept", message=card).status == 200
    settle(bot)
    assert get_handoff(bot.db, 1).state == "accepted"


def test_garbage_button_value_changes_nothing_and_tells_the_clicker(standin: SlackStandIn, driver: SlackDriver,
                                                                    bot: LocalBot) -> None:
    card = handoff_submitted(standin, driver)
    settle(bot)
    posted = len(standin.calls_to("chat.postMessage"))

    response = driver.click("U_AE1", "handoff_accept", message=card, value="not json")
    assert response.status == 200
    [told] = standin.wait_for("chat.postEphemeral")
    assert told.args["user"] == "U_AE1" and told.args["channel"] == card[0]
    assert "not one of mine" in told.args["text"] and "nothing changed" in told.args["text"]
    settle(bot)
    assert get_handoff(bot.db, 1).state == "pending"
    assert [e.action for e in audit_trail(bot.db, 1)] == ["submitted"]
    assert standin.calls_to("chat.update") == []
    assert len(standin.calls_to("chat.postMessage")) == posted
    # The card still offers the AE their decision.
    assert "handoff_accept" in json.dumps(standin.messages[card]["blocks"])


def test_reject_button_with_garbage_value_opens_no_form(standin: SlackStandIn, driver: SlackDriver,
                                                        bot: LocalBot) -> None:
    card = handoff_submitted(standin, driver)
    opened = len(standin.calls_to("views.open"))
    assert driver.click("U_AE1", "handoff_reject", message=card, value='{"id": "x"}').status == 200
    [told] = standin.wait_for("chat.postEphemeral")
    assert "not one of mine" in told.args["text"]
    settle(bot)
    assert len(standin.calls_to("views.open")) == opened
    assert get_handoff(bot.db, 1).state == "pending"


# ---------------------------------------------------------------------- health


def test_healthz(bot: LocalBot) -> None:
    with urllib.request.urlopen(base_url(bot) + "/healthz", timeout=10) as resp:
        assert resp.status == 200
        assert json.loads(resp.read()) == {"ok": True}


# ---------------------------------------------------------------------- logs


def test_tokens_are_redacted_from_log_records() -> None:
    record = logging.LogRecord("slack_sdk", logging.DEBUG, __file__, 1, "sending with token %s", ("xoxb-123-abc",), None)
    assert RedactTokens().filter(record) is True  # the line is kept, only scrubbed
    message = logging.Formatter("%(message)s").format(record)
    assert "[redacted]" in message
    assert "xoxb-123-abc" not in message and "123-abc" not in message

    inline = logging.LogRecord("x", logging.INFO, __file__, 1, "Authorization: Bearer xapp-1-A0-secret", None, None)
    RedactTokens().filter(inline)
    assert "secret" not in logging.Formatter("%(message)s").format(inline)


def test_tokens_are_redacted_through_a_handler() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactTokens())
    logger = logging.getLogger("handoff.test_security")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("token=%s and again %s", "xoxb-123-abc", "xoxp-9-zz")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    out = stream.getvalue()
    assert "[redacted]" in out and "xoxb-123-abc" not in out and "xoxp-9-zz" not in out
