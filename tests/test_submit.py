"""The SDR's side: `/handoff` opens the form, a valid submission is stored and announced, an invalid one is not.

Everything goes through the front door: signed requests to the running app, a Slack stand-in on loopback
recording every Web API call, a real SQLite file.
"""
from __future__ import annotations

import json
import threading
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text

from bot.sandbox import SlackDriver, SlackStandIn
from bot.sandbox.local_bot import LocalBot
from bot.core.refs import HandoffRef
from storage.handoffs import audit_trail, get_handoff
from tests.conftest import START
from tests.flow import MEETING, VALID, card_for, handoff_submitted, open_form, posts_to, submit

NEW_YORK = ZoneInfo("America/New_York")


# ---------------------------------------------------------------------- helpers


def settle(bot: LocalBot) -> None:
    """Finish whatever the app owes right now: background work after acks, then every due outbox row.

    After this, anything the app was going to post has been posted, so "nothing was posted" is a fact,
    not a race.
    """
    bot.call(bot.wiring.background.drain())
    bot.call(bot.wiring.deliverer.deliver_due())


def count_rows(bot: LocalBot, table: str) -> int:
    with bot.db.engine.connect() as conn:
        return conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()


def ae_cards(standin: SlackStandIn, ae: str = "U_AE1") -> list:
    return [c for c in posts_to(standin, ae) if "handoff_accept" in json.dumps(c.args.get("blocks"))]


def mrkdwn_texts(blocks: list[dict[str, Any]]) -> list[str]:
    """Every mrkdwn text object in a message's blocks (section text and fields, context elements)."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(blocks)
    return found


def blocks_of(call) -> list[dict[str, Any]]:
    blocks = call.args.get("blocks") or []
    return json.loads(blocks) if isinstance(blocks, str) else blocks


def card_text(standin: SlackStandIn, where: tuple[str, str]) -> str:
    message = standin.messages[where]
    return "\n".join([message["text"], *mrkdwn_texts(message["blocks"])])


def sdr_card(standin: SlackStandIn, sdr: str = "U_SDR1"):
    [call] = standin.wait_for("chat.postMessage", where=lambda c: c.args.get("channel") == sdr
                              and "You handed off" in c.args.get("text", ""))
    return call


def assert_nothing_happened(bot: LocalBot, standin: SlackStandIn) -> None:
    settle(bot)
    assert count_rows(bot, "handoff") == 0
    assert count_rows(bot, "audit_event") == 0
    assert count_rows(bot, "outbox") == 0
    assert standin.calls_to("chat.postMessage") == []
    assert standin.calls_to("chat.update") == []


# ---------------------------------------------------------------------- the form


EXPECTED_FIELDS = {
    "company": "plain_text_input",
    "contact_name": "plain_text_input",
    "contact_title": "plain_text_input",
    "contact_email": "email_text_input",
    "crm_url": "url_text_input",
    "employee_count": "number_input",
    "region": "static_select",
    "source": "radio_buttons",
    "handoff_type": "radio_buttons",
    "ae_id": "users_select",
    "meeting_start": "datetimepicker",
    "meeting_kind": "static_select",
    "attendees": "multi_users_select",
    "need": "plain_text_input",
    "compelling_event": "plain_text_input",
    "before_scenario": "plain_text_input",
    "after_scenario": "plain_text_input",
    "outcomes": "plain_text_input",
    "required_capabilities": "plain_text_input",
    "metrics": "plain_text_input",
    "decision_path": "plain_text_input",
    "seats": "number_input",
    "enterprise_needs": "checkboxes",
    "agenda": "plain_text_input",
    "notes": "plain_text_input",
}
# Slack marks the rest "(optional)"; the meeting start only while a meeting type is chosen.
REQUIRED = {"company", "contact_name", "source", "handoff_type", "ae_id", "meeting_start", "need", "compelling_event"}


def test_slash_command_opens_the_form_with_an_empty_ack(standin: SlackStandIn, driver: SlackDriver, bot: LocalBot) -> None:
    response = driver.slash_command("U_SDR1")
    assert response.status == 200 and response.body == ""
    [call] = standin.wait_for("views.open")
    view = call.response["view"]
    assert view["type"] == "modal" and view["callback_id"] == "handoff_submit"
    assert standin.open_views("U_SDR1") == [view["id"]]

    inputs = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    for block_id, element_type in EXPECTED_FIELDS.items():
        assert block_id in inputs, f"the form has no {block_id} input"
        element = inputs[block_id]["element"]
        assert element["type"] == element_type, block_id
        assert element["action_id"] == block_id  # the handler reads state[block_id][block_id]
    mandatory = {block_id for block_id, block in inputs.items() if not block.get("optional", False)}
    assert mandatory == REQUIRED
    # Opening the form wrote nothing and told nobody anything.
    settle(bot)
    assert count_rows(bot, "handoff") == 0 and standin.calls_to("chat.postMessage") == []


# ---------------------------------------------------------------------- a valid submission


def test_valid_submission_is_stored_and_announced(standin: SlackStandIn, driver: SlackDriver, bot: LocalBot) -> None:
    response = submit(standin, driver)
    assert response.status == 200 and response.body == ""  # the modal closes
    assert standin.open_views("U_SDR1") == []

    stored = get_handoff(bot.db, 1)
    assert stored is not None
    assert (stored.company, stored.contact_name, stored.contact_email) == ("Acme Corp", "Jane Doe", "jane@acme.example")
    assert (stored.sdr_id, stored.ae_id, stored.state, stored.revision) == ("U_SDR1", "U_AE1", "pending", 1)
    assert stored.meeting_start == MEETING
    assert (stored.employee_count, stored.segment, stored.seats) == (250, "Mid-Market", 40)
    assert stored.enterprise_needs == ("saml_sso",)
    assert stored.created_at == START
    [event] = audit_trail(bot.db, 1)
    assert (event.actor, event.action, event.from_state, event.to_state) == ("U_SDR1", "submitted", None, "pending")

    card = card_for(standin, "U_AE1")
    assert card[0] == "D_AE1"
    ae_text = card_text(standin, card)
    assert "H-1" in ae_text and "Acme Corp" in ae_text and "<@U_SDR1>" in ae_text
    # The AE (Berlin) reads the meeting in Berlin time, the SDR (New York) in hers.
    assert "Fri 27 Nov 2026, 16:00 CET" in ae_text
    assert "Mid-Market (250 employees)" in ae_text
    blocks = standin.messages[card]["blocks"]
    [actions] = [b for b in blocks if b["type"] == "actions"]
    assert [e["action_id"] for e in actions["elements"]] == ["handoff_accept", "handoff_reject", "handoff_reassign"]
    assert all(HandoffRef.parse(e["value"]) == HandoffRef(1, 1) for e in actions["elements"])

    sdr = sdr_card(standin)
    sdr_text = "\n".join([sdr.args["text"], *mrkdwn_texts(blocks_of(sdr))])
    assert sdr.response["channel"] == "D_SDR1"
    assert "H-1" in sdr_text and "<@U_AE1>" in sdr_text
    assert "Fri 27 Nov 2026, 10:00 EST" in sdr_text
    assert "16:00 CET" not in sdr_text


@pytest.mark.parametrize(("employees", "segment"), [
    ("50", "SMB"), ("99", "SMB"), ("100", "Mid-Market"), ("250", "Mid-Market"),
    ("1999", "Mid-Market"), ("2,000", "Large"), ("2000", "Large"),
])
def test_segment_follows_employee_count(standin: SlackStandIn, driver: SlackDriver, bot: LocalBot,
                                        employees: str, segment: str) -> None:
    card = handoff_submitted(standin, driver, employee_count=employees)
    count = int(employees.replace(",", ""))
    assert get_handoff(bot.db, 1).segment == segment
    assert f"{segment} ({count:,} employees)" in card_text(standin, card)


@pytest.mark.parametrize(("seats", "needs", "banner"), [
    ("40", ["saml_sso"], True),
    ("16", [], True),
    ("15", [], False),
    ("3", ["saml_sso"], True),
    ("3", ["enterprise_pricing"], True),
    ("3", ["invoicing"], True),
    ("3", ["audit_logs"], False),
    ("", [], False),
])
def test_direct_pass_banner(standin: SlackStandIn, driver: SlackDriver, bot: LocalBot,
                            seats: str, needs: list[str], banner: bool) -> None:
    card = handoff_submitted(standin, driver, seats=seats, enterprise_needs=needs)
    assert ("Meets the direct-pass rules" in card_text(standin, card)) is banner


# ---------------------------------------------------------------------- invalid submissions


# Monday 14:00 UTC is 09:00 in New York: 48 business hours (Mon-Fri, whole days) later is Wed 25 Nov 09:00 there.
WED_1300_UTC = datetime(2026, 11, 25, 13, 0, tzinfo=timezone.utc)  # 47 business hours away
WED_1400_UTC = datetime(2026, 11, 25, 14, 0, tzinfo=timezone.utc)  # exactly 48
WED_1500_UTC = datetime(2026, 11, 25, 15, 0, tzinfo=timezone.utc)  # 49

INVALID = [
    pytest.param({"meeting_start": int((START - timedelta(hours=1)).timestamp())}, "meeting_start", "passed", id="past"),
    pytest.param({"meeting_start": int(START.timestamp())}, "meeting_start", "passed", id="now"),
    pytest.param({"meeting_start": int(WED_1300_UTC.timestamp())}, "meeting_start", "Earliest: Wed 25 Nov 09:00",
                 id="outbound-too-soon"),
    pytest.param({"meeting_start": None}, "meeting_start", "When is the meeting", id="no-meeting"),
    pytest.param({"meeting_start": None, "handoff_type": "joint_iqm"}, "meeting_start", "When is the meeting",
                 id="no-meeting-joint-iqm"),
    pytest.param({"employee_count": "-3"}, "employee_count", "whole number", id="employees-negative"),
    pytest.param({"employee_count": "2.5"}, "employee_count", "whole number", id="employees-decimal"),
    pytest.param({"employee_count": "lots"}, "employee_count", "whole number", id="employees-words"),
    pytest.param({"seats": "1e3"}, "seats", "whole number", id="seats-exponent"),
    pytest.param({"contact_email": "jane@"}, "contact_email", "not an email", id="email"),
    pytest.param({"crm_url": "javascript:alert(1)"}, "crm_url", "https://", id="crm-javascript"),
    pytest.param({"crm_url": "not a url"}, "crm_url", "https://", id="crm-not-a-url"),
    pytest.param({"crm_url": "https://crm.example.com/?q=<!channel>"}, "crm_url", "https://", id="crm-mention"),
    pytest.param({"crm_url": "https://evil.example/|Official-CRM"}, "crm_url", "https://", id="crm-relabel"),
    pytest.param({"meeting_link": "https://meet.example/x>y"}, "meeting_link", "https://", id="meeting-link-angle"),
    pytest.param({"ae_id": "U_SDR1"}, "ae_id", "yourself", id="ae-is-sdr"),
    pytest.param({"ae_id": "U_BOT"}, "ae_id", "bot", id="ae-is-bot"),
    pytest.param({"ae_id": "U_GONE"}, "ae_id", "deactivated", id="ae-deactivated"),
    pytest.param({"ae_id": "U_NOBODY"}, "ae_id", "can't find that person", id="ae-not-in-workspace"),
    pytest.param({"company": "C" * 151}, "company", "150", id="company-too-long"),
    pytest.param({"need": "n" * 3001}, "need", "3,000", id="need-too-long"),
]


@pytest.mark.parametrize(("answers", "block_id", "says"), INVALID)
def test_invalid_input_answers_inline_and_changes_nothing(
    standin: SlackStandIn, driver: SlackDriver, bot: LocalBot, answers: dict[str, Any], block_id: str, says: str,
) -> None:
    view_id = open_form(standin, driver)
    block_ids = {b["block_id"] for b in standin.views[view_id]["blocks"]}
    response = driver.submit_view("U_SDR1", view_id, {**VALID, **answers})
    assert response.status == 200
    body = response.json()
    assert body is not None and body["response_action"] == "errors", response.body
    assert set(body["errors"]) == {block_id}, body["errors"]
    assert block_id in block_ids  # shown under the input that is wrong
    assert says in body["errors"][block_id]
    assert standin.open_views("U_SDR1") == [view_id]  # the modal stays open with what was typed
    assert_nothing_happened(bot, standin)


def test_missing_required_fields_each_get_an_error(standin: SlackStandIn, driver: SlackDriver, bot: LocalBot) -> None:
    view_id = open_form(standin, driver)
    blank = {"company": "", "contact_name": "   ", "ae_id": None, "need": "", "compelling_event": "",
             "meeting_start": None}
    response = driver.submit_view("U_SDR1", view_id, {**VALID, **blank})
    body = response.json()
    assert response.status == 200 and body is not None and body["response_action"] == "errors"
    assert set(body["errors"]) == REQUIRED - {"source", "handoff_type"}  # radios always hold a choice
    assert_nothing_happened(bot, standin)


def test_outbound_notice_names_the_earliest_time(standin: SlackStandIn, driver: SlackDriver, bot: LocalBot) -> None:
    response = submit(standin, driver, meeting_start=int(WED_1300_UTC.timestamp()))
    message = response.json()["errors"]["meeting_start"]
    # An input's error is plain text (no date tokens): the SDR's own zone, named as their clock does.
    assert "48 business hours" in message and "America/New_York" not in message
    assert "47 h away" in message  # working time, as people say it
    assert "Earliest: Wed 25 Nov 09:00 EST" in message
    assert_nothing_happened(bot, standin)


@pytest.mark.parametrize("meeting", [WED_1400_UTC, WED_1500_UTC], ids=["exactly-48h", "49h"])
def test_outbound_meeting_with_enough_notice_is_accepted(standin: SlackStandIn, driver: SlackDriver, bot: LocalBot,
                                                         meeting: datetime) -> None:
    handoff_submitted(standin, driver, meeting_start=int(meeting.timestamp()))
    assert get_handoff(bot.db, 1).meeting_start == meeting


def test_inbound_meeting_needs_no_minimum_notice(standin: SlackStandIn, driver: SlackDriver, bot: LocalBot) -> None:
    handoff_submitted(standin, driver, source="inbound", meeting_start=int(WED_1300_UTC.timestamp()))
    stored = get_handoff(bot.db, 1)
    assert (stored.source, stored.meeting_start) == ("inbound", WED_1300_UTC)


def test_direct_pass_needs_no_meeting(standin: SlackStandIn, driver: SlackDriver, bot: LocalBot) -> None:
    card = handoff_submitted(standin, driver, handoff_type="direct_pass", meeting_start=None)
    stored = get_handoff(bot.db, 1)
    assert (stored.handoff_type, stored.meeting_start) == ("direct_pass", None)
    assert "Meeting:* none (direct pass)" in card_text(standin, card)


def test_minimum_notice_skips_the_weekend_in_the_sdr_zone(standin: SlackStandIn, driver: SlackDriver, bot: LocalBot,
                                                         clock) -> None:
    clock.set(datetime(2026, 11, 27, 16, 0, tzinfo=NEW_YORK))  # Friday 16:00 in New York
    monday = datetime(2026, 11, 30, 10, 0, tzinfo=NEW_YORK)  # 8 + 10 = 18 business hours away
    response = submit(standin, driver, meeting_start=int(monday.timestamp()))
    body = response.json()
    assert body is not None and body["response_action"] == "errors"
    assert "Earliest: Tue 01 Dec 16:00" in body["errors"]["meeting_start"]
    assert count_rows(bot, "handoff") == 0

    tuesday = datetime(2026, 12, 1, 17, 0, tzinfo=NEW_YORK)  # 8 + 24 + 17 = 49 business hours away
    handoff_submitted(standin, driver, meeting_start=int(tuesday.timestamp()))
    assert get_handoff(bot.db, 1).meeting_start == tuesday.astimezone(timezone.utc)
    assert count_rows(bot, "handoff") == 1


# ---------------------------------------------------------------------- re-sent submissions


def test_resent_submission_creates_one_handoff(standin: SlackStandIn, driver: SlackDriver, bot: LocalBot) -> None:
    view_id = open_form(standin, driver)
    first = driver.submit_view("U_SDR1", view_id, VALID, apply=False)
    second = driver.submit_view("U_SDR1", view_id, VALID, apply=False)
    assert (first.status, first.body) == (200, "")
    assert (second.status, second.body) == (200, "")  # the SDR sees the modal close, not an error
    card_for(standin, "U_AE1")
    settle(bot)
    assert count_rows(bot, "handoff") == 1
    assert count_rows(bot, "audit_event") == 1
    assert len(ae_cards(standin)) == 1
    assert len([c for c in posts_to(standin, "U_SDR1") if "You handed off" in c.args.get("text", "")]) == 1


def test_simultaneous_resends_create_one_handoff(standin: SlackStandIn, driver: SlackDriver, bot: LocalBot) -> None:
    view_id = open_form(standin, driver)
    answers: list = []
    threads = [threading.Thread(target=lambda: answers.append(driver.submit_view("U_SDR1", view_id, VALID, apply=False)))
               for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [(a.status, a.body) for a in answers] == [(200, "")] * 3
    settle(bot)
    assert count_rows(bot, "handoff") == 1
    assert len(ae_cards(standin)) == 1


def test_two_forms_make_two_handoffs(standin: SlackStandIn, driver: SlackDriver, bot: LocalBot) -> None:
    """The other side of de-duplication: a second form is a second handoff."""
    handoff_submitted(standin, driver)
    submit(standin, driver, company="Globex")
    card_for(standin, "U_AE1", count=2)
    settle(bot)
    assert count_rows(bot, "handoff") == 2
    assert get_handoff(bot.db, 2).company == "Globex"


# ---------------------------------------------------------------------- hostile text


HOSTILE = "<!channel> *bold* <https://evil.example|click>"


def test_hostile_text_is_escaped_in_every_post(standin: SlackStandIn, driver: SlackDriver, bot: LocalBot) -> None:
    card = handoff_submitted(standin, driver, company=HOSTILE, need="<!here> call <@U_STRANGER> now")
    sdr_card(standin)
    settle(bot)
    assert get_handoff(bot.db, 1).company == HOSTILE  # the record keeps what was typed
    posts = standin.calls_to("chat.postMessage")
    assert len(posts) == 2
    for call in posts:
        texts = [call.args["text"], *mrkdwn_texts(blocks_of(call))]
        for t in texts:
            assert "<!channel>" not in t, t
            assert "<!here>" not in t, t
            assert "<https://evil.example" not in t, t
            assert "<@U_STRANGER>" not in t, t
        assert any("&lt;!channel&gt;" in t for t in texts)
    assert "&lt;!here&gt; call &lt;@U_STRANGER&gt; now" in card_text(standin, card)
