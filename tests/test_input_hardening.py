"""Hostile input through the front door: bodies Slack never sends, ids that would become mentions,
invisible text, dates in year 9999, ids too big for the database; and who may see a handoff."""
from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, time as dtime, timedelta, timezone

import pytest

from bot.core.form import FormInput, Policy, validate_submission
from bot.core.handoff import Person
from bot.core.slack_ids import is_channel, is_team, is_user
from bot.core.text import normalise
from bot.core.working_time import WorkingCalendar, add_working_time, working_time_between
from bot.sandbox import SlackDriver, SlackStandIn
from bot.sandbox.local_bot import SIGNING_SECRET, LocalBot
from storage.handoffs import audit_trail, get_handoff
from tests.conftest import START
from tests.flow import VALID, handoff_submitted, open_form, submit
from tests.test_security import count_rows, settle

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def post_raw(bot: LocalBot, body: bytes, content_type: str = FORM, *, signed: bool = True,
             headers: dict[str, str] | None = None) -> tuple[int, str]:
    """POST bytes as they are (not necessarily UTF-8), signed with the app's secret or not at all."""
    ts = str(int(time.time()))
    all_headers = {"Content-Type": content_type}
    if signed:
        digest = hmac.new(SIGNING_SECRET.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
        all_headers.update({"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v0=" + digest})
    all_headers.update(headers or {})
    request = urllib.request.Request(bot.url, data=body, headers=all_headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, resp.read().decode(errors="replace")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(errors="replace")


def payload(data: object) -> bytes:
    return urllib.parse.urlencode({"payload": json.dumps(data)}).encode()


MALFORMED = [
    (b"\xff\xfe\x00garbage", FORM),                      # not UTF-8
    (b"payload=%7Bnot json", FORM),                      # payload= that is not JSON
    (b"payload=%ff", FORM),
    (b"payload=[]", FORM), (b"payload=1", FORM), (b"payload=null", FORM),
    (b"{not json", JSON), (b"[]", JSON), (b"1", JSON), (b"null", JSON), (b'"text"', JSON),
    (b"", FORM), (b"&&&=", FORM),
    (b'{"type":"event_callback","event":{"type":"app_home_opened","user":5}}', JSON),
    (b'{"type":"event_callback","event":[]}', JSON),
    ("nested=" + "[" * 5000, FORM),
    (b"[" * 100_000, JSON),
]
ODD_SHAPES = [
    b"command=/handoff",                                                          # no user_id, no trigger_id
    b"command=/handoff&text=help",
    b"command=/handoff&user_id=U_SDR1",                                           # no trigger_id
    b"command=/handoff&user_id=U0SE%3E%3C%21channel&text=list&trigger_id=1.2",    # a user id that is markup
    payload({"type": "block_actions"}),
    payload({"type": "block_actions", "actions": 5, "user": {"id": "U_AE1"}, "trigger_id": "1"}),
    payload({"type": "block_actions", "actions": [{"action_id": "handoff_accept", "value": 5}], "user": "U_AE1"}),
    payload({"type": "block_actions", "actions": [{"action_id": "handoff_accept"}], "user": {"id": "U_AE1"},
             "trigger_id": "1", "channel": "C_GENERAL"}),
    payload({"type": "view_submission"}),
    payload({"type": "view_submission", "user": {"id": "U_SDR1"}, "view": {"callback_id": "handoff_submit"}}),
    payload({"type": "view_submission", "user": {"id": "U_SDR1"},
             "view": {"id": "V1", "type": "modal", "callback_id": "handoff_submit", "state": 5}}),
    payload({"type": 5}), payload({"type": "weird"}), payload({"type": "shortcut"}),
    json.dumps({"type": "event_callback", "event": {"type": "app_home_opened"}}).encode(),
    json.dumps({"type": "url_verification"}).encode(),  # answered {"challenge": null} by Bolt: polite, harmless
]


@pytest.mark.parametrize(("body", "content_type"), MALFORMED, ids=range(len(MALFORMED)))
def test_unsigned_malformed_body_is_401(bot: LocalBot, body: bytes | str, content_type: str) -> None:
    raw = body.encode() if isinstance(body, str) else body
    assert post_raw(bot, raw, content_type, signed=False)[0] == 401
    # A signature with a timestamp that is not a number is no signature either.
    assert post_raw(bot, raw, content_type, signed=False,
                    headers={"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=00"})[0] == 401


@pytest.mark.parametrize(("body", "content_type"), MALFORMED, ids=range(len(MALFORMED)))
def test_signed_malformed_body_is_400_and_one_log_line(bot: LocalBot, caplog: pytest.LogCaptureFixture,
                                                       body: bytes | str, content_type: str) -> None:
    raw = body.encode() if isinstance(body, str) else body
    caplog.set_level(logging.WARNING)
    status, _ = post_raw(bot, raw, content_type)
    assert 400 <= status < 500
    lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) <= 1 and not any(r.exc_info for r in lines), [r.getMessage() for r in lines]


@pytest.mark.parametrize("body", ODD_SHAPES, ids=range(len(ODD_SHAPES)))
def test_signed_shapes_slack_never_sends_are_4xx_one_line_and_change_nothing(
        standin: SlackStandIn, bot: LocalBot, caplog: pytest.LogCaptureFixture, body: bytes) -> None:
    caplog.set_level(logging.WARNING)
    status, answer = post_raw(bot, body, JSON if body.startswith(b"{") else FORM)
    # A refusal, or a polite answer (an inline "Required." for a form with no state).
    assert 400 <= status < 500 or status == 200, (status, answer)
    settle(bot)
    lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(lines) <= 1 and not any(r.exc_info for r in lines), [r.getMessage() for r in lines]
    if status != 200:
        assert len(lines) == 1
    assert count_rows(bot, "handoff") == 0 and count_rows(bot, "outbox") == 0
    assert [c.method for c in standin.calls if c.method not in ("auth.test", "users.info")] == []  # no writes


def test_unsigned_ssl_check_is_answered_empty(bot: LocalBot) -> None:
    assert post_raw(bot, b"ssl_check=1&token=legacy", signed=False) == (200, "")
    # Anything more than the probe needs a signature.
    assert post_raw(bot, b"ssl_check=1&command=/handoff&user_id=U_SDR1", signed=False)[0] == 401


def test_body_over_a_megabyte_is_413(bot: LocalBot) -> None:
    host, port = urllib.parse.urlsplit(bot.url).netloc.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:  # the size is refused from the header, before a byte of the body is read
        conn.putrequest("POST", "/slack/events")
        conn.putheader("Content-Type", FORM)
        conn.putheader("Content-Length", str(2_000_000))
        conn.endheaders()
        assert conn.getresponse().status == 413
    finally:
        conn.close()
    # Just under the limit is read (and refused for its signature, not its size).
    assert post_raw(bot, b"x" * 999_000, signed=False)[0] == 401


# ---------------------------------------------------------------------- ids (item 12)


def test_slack_id_shapes() -> None:
    assert is_user("U024BE7LH") and is_user("W0123ABCD") and is_user("U_AE1") and is_user("USLACKBOT")
    for bad in ("U0SE><!channel", "u024be7lh", "U", "C024BE7LH", "U024 BE7", "<@U024BE7LH>", 5, None, "U" + "A" * 40):
        assert not is_user(bad), bad
    assert is_channel("C024BE7LH") and is_channel("G0A") and is_channel("D_SDR1") and not is_channel("#general")
    assert is_team("T_HANDOFF") and not is_team("T<!here>")


def test_an_attendee_id_that_is_markup_is_an_inline_error_and_nothing_is_stored(
        standin: SlackStandIn, driver: SlackDriver, bot: LocalBot) -> None:
    response = submit(standin, driver, attendees=["U_AE2", "U0SE><!channel"])
    body = response.json()
    assert body is not None and body["response_action"] == "errors" and set(body["errors"]) == {"attendees"}
    response = submit(standin, driver, ae_id="U0SE><!channel")
    body = response.json()
    assert body is not None and set(body["errors"]) == {"ae_id"}
    settle(bot)
    assert count_rows(bot, "handoff") == 0 and count_rows(bot, "outbox") == 0
    assert "<!channel" not in json.dumps([c.args for c in standin.calls])
    assert standin.calls_to("users.info") == [] or all(
        c.args.get("user") != "U0SE><!channel" for c in standin.calls_to("users.info"))


def test_a_clicker_whose_id_is_markup_is_refused_before_any_listener(
        standin: SlackStandIn, driver: SlackDriver, bot: LocalBot) -> None:
    card = handoff_submitted(standin, driver)
    settle(bot)
    calls = len(standin.calls)
    body = driver.click("U_AE1", "handoff_accept", message=card).status  # the real click works...
    assert body == 200
    settle(bot)
    assert get_handoff(bot.db, 1).state == "accepted"
    standin_calls = len(standin.calls)
    assert standin_calls > calls
    # ...a forged-looking actor never reaches a listener.
    resp = driver.post_payload({"type": "block_actions", "user": {"id": "U0SE><!channel"}, "trigger_id": "1.2",
                                "team": {"id": "T_HANDOFF"}, "channel": {"id": card[0]},
                                "actions": [{"action_id": "handoff_withdraw", "value": "{}"}]})
    assert resp.status == 400
    settle(bot)
    assert len(standin.calls) == standin_calls


def test_reassigning_to_an_id_that_is_markup_is_an_inline_error(standin: SlackStandIn, driver: SlackDriver,
                                                               bot: LocalBot) -> None:
    card = handoff_submitted(standin, driver)
    settle(bot)
    before = len(standin.calls_to("views.open"))
    driver.click("U_AE1", "handoff_reassign", message=card)
    view = standin.wait_for("views.open", count=before + 1)[-1].response["view"]
    body = driver.submit_view("U_AE1", view["id"], {"new_ae": "U0SE><!channel", "note": "x"}).json()
    assert body is not None and set(body["errors"]) == {"new_ae"}
    assert get_handoff(bot.db, 1).ae_id == "U_AE1"
    assert all(c.args.get("user") != "U0SE><!channel" for c in standin.calls_to("users.info"))


# ---------------------------------------------------------------------- text (item 10)


def test_text_is_normalised() -> None:
    assert normalise("\u200b\u200c\u200d\ufeff") is None
    assert normalise("\u202eAcme\u202c Corp\u2066") == "Acme Corp"
    assert normalise(" \u00a0\u3000 ") is None
    assert normalise("Cafe\u0301") == "Caf\u00e9"  # NFC
    assert normalise("a\x00b\x1bc\x7f") == "abc"
    assert normalise("line one\n\tline two\u2028", multiline=True) == "line one\n\tline two\u2028".strip()
    assert normalise("two\nlines") == "twolines"  # a short field has no newlines to keep
    assert normalise("\ud800x") == "x"  # a lone surrogate (valid JSON, invalid UTF-8) cannot be stored


def test_a_company_of_only_zero_width_characters_is_required(standin: SlackStandIn, driver: SlackDriver,
                                                             bot: LocalBot) -> None:
    body = submit(standin, driver, company="\u200b\u200d\u2060\ufeff", need="\u202e\u202c").json()
    assert body is not None and set(body["errors"]) == {"company", "need"}
    assert body["errors"]["company"] == "Required."
    assert count_rows(bot, "handoff") == 0
    handoff_submitted(standin, driver, company="\u202eAcme\u200b Corp", notes="first\nsecond\u200b")
    h = get_handoff(bot.db, 1)
    assert (h.company, h.notes) == ("Acme Corp", "first\nsecond")


# ---------------------------------------------------------------------- dates (item 8)


def test_a_meeting_in_year_9999_is_an_inline_error(standin: SlackStandIn, driver: SlackDriver, bot: LocalBot) -> None:
    far = int(datetime(9999, 12, 31, 12, tzinfo=timezone.utc).timestamp())
    body = submit(standin, driver, meeting_start=far).json()
    assert body is not None and set(body["errors"]) == {"meeting_start"}
    assert "within the next year" in body["errors"]["meeting_start"]
    # An epoch no date can hold reads as no meeting at all.
    body = submit(standin, driver, meeting_start=10**30).json()
    assert body is not None and set(body["errors"]) == {"meeting_start"}
    assert count_rows(bot, "handoff") == 0


def test_meeting_bounds_in_the_rules() -> None:
    sdr = Person("U_SDR1", "America/New_York")
    form = FormInput(**{**VALID, "meeting_start": datetime(9999, 12, 31, tzinfo=timezone.utc)})  # type: ignore[arg-type]
    result = validate_submission(form, sdr=sdr, ae=None, now=START, policy=Policy())
    assert "meeting_start" in getattr(result, "errors", {})
    in_a_year = FormInput(**{**VALID, "meeting_start": START + timedelta(days=360)})  # type: ignore[arg-type]
    assert "meeting_start" not in getattr(validate_submission(in_a_year, sdr=sdr, ae=None, now=START,
                                                              policy=Policy()), "errors", {})


def test_working_time_arithmetic_refuses_spans_of_centuries() -> None:
    cal = WorkingCalendar.business_days("Europe/Berlin")
    with pytest.raises(ValueError, match="longer than"):
        working_time_between(cal, START, datetime(9999, 12, 31, tzinfo=timezone.utc))
    with pytest.raises(ValueError, match="longer than"):
        working_time_between(cal, datetime(9999, 12, 31, tzinfo=timezone.utc), START)
    with pytest.raises(ValueError, match="longer than"):
        add_working_time(cal, START, timedelta(days=365 * 100))
    assert working_time_between(cal, START, START + timedelta(days=7)) == timedelta(days=5)
    # A quarter of an hour a week: six working days would be eleven years of calendar; refused, not walked.
    sparse = WorkingCalendar("Europe/Berlin", frozenset({0}), dtime(0, 45), dtime(1, 0), frozenset())
    with pytest.raises(ValueError, match="longer than"):
        add_working_time(sparse, START, timedelta(days=6))


def test_a_next_step_centuries_away_is_an_inline_error(standin: SlackStandIn, driver: SlackDriver,
                                                       bot: LocalBot, clock) -> None:
    from tests.flow import MEETING

    card = handoff_submitted(standin, driver)
    driver.click("U_AE1", "handoff_accept", message=card)
    settle(bot)
    clock.set(MEETING + timedelta(hours=2))
    before = len(standin.calls_to("views.open"))
    driver.click("U_AE1", "handoff_outcome", message=card, value=json.dumps({"v": 1, "id": 1, "rev": 2}))
    view = standin.wait_for("views.open", count=before + 1)[-1].response["view"]
    body = driver.submit_view("U_AE1", view["id"], {"outcome": "completed", "next_step": "Pilot",
                                                    "next_step_due": "9999-12-31"}).json()
    assert body is not None and set(body["errors"]) == {"next_step_due"}
    body = driver.submit_view("U_AE1", view["id"], {"outcome": "rescheduled", "new_meeting_start": 253402257600}).json()
    assert body is not None and set(body["errors"]) == {"new_meeting_start"}
    body = driver.submit_view("U_AE1", view["id"], {"outcome": "completed", "next_step": "Pilot",
                                                    "next_step_due": "2026-12-01",
                                                    "next_step_owner": "U0SE><!channel"}).json()
    assert body is not None and set(body["errors"]) == {"next_step_owner"}
    assert get_handoff(bot.db, 1).meeting_outcome is None


# ---------------------------------------------------------------------- huge ids (item 11)


def test_a_button_naming_a_handoff_id_of_10_to_the_30_says_no_such_handoff(
        standin: SlackStandIn, driver: SlackDriver, bot: LocalBot) -> None:
    card = handoff_submitted(standin, driver)
    settle(bot)
    for action in ("handoff_accept", "handoff_reject"):
        before = len(standin.calls_to("chat.postEphemeral"))
        assert driver.click("U_AE1", action, message=card, value=json.dumps({"v": 1, "id": 10**30, "rev": 1})
                            ).status == 200
        told = standin.wait_for("chat.postEphemeral", count=before + 1)[-1]
        assert "no such handoff" in told.args["text"]
    settle(bot)
    assert get_handoff(bot.db, 1).state == "pending"


def test_show_with_a_huge_id_says_there_is_no_such_handoff(driver: SlackDriver, bot: LocalBot) -> None:
    response = driver.slash_command("U_SDR1", text="show H-" + "9" * 40)
    assert response.status == 200
    assert "There is no handoff H-99999" in response.json()["text"]
    response = driver.slash_command("U_SDR1", text="show H-9223372036854775808")  # 2**63: past SQLite's integers
    assert response.status == 200 and "There is no handoff" in response.json()["text"]


def test_a_form_whose_metadata_names_a_huge_id_is_refused(standin: SlackStandIn, driver: SlackDriver,
                                                          bot: LocalBot) -> None:
    view_id = open_form(standin, driver)
    standin.views[view_id]["private_metadata"] = json.dumps({"v": 1, "id": 10**30, "rev": 1})
    body = driver.submit_view("U_SDR1", view_id, VALID).json()
    assert body is not None and body["response_action"] == "update"
    assert count_rows(bot, "handoff") == 0


# ---------------------------------------------------------------------- show (item 7)


def test_show_is_for_the_handoffs_people_not_whoever_a_note_names(standin: SlackStandIn, driver: SlackDriver,
                                                                  bot: LocalBot) -> None:
    card = handoff_submitted(standin, driver, notes="Loop in U_STRANGER if pricing comes up",
                             agenda="U_STRANGER U_SDR2")
    settle(bot)
    before = len(standin.calls_to("views.open"))
    driver.click("U_AE1", "handoff_reassign", message=card)
    view = standin.wait_for("views.open", count=before + 1)[-1].response["view"]
    note = "U_STRANGER asked for this; cc <@U_STRANGER> U_SDR2"
    assert driver.submit_view("U_AE1", view["id"], {"new_ae": "U_AE2", "note": note}).status == 200
    settle(bot)
    assert "U_STRANGER" in json.dumps([e.reason for e in audit_trail(bot.db, 1)])  # the note is in the trail

    for outsider in ("U_STRANGER", "U_SDR2"):
        answer = driver.slash_command(outsider, text="show H-1").json()
        assert "You're not part of H-1" in answer["text"], outsider
        assert "Acme" not in json.dumps(answer)
    for party in ("U_SDR1", "U_AE1", "U_AE2", "U_ADMIN"):  # SDR, the AE before, the AE now, an admin
        answer = driver.slash_command(party, text="show H-1").json()
        assert "Acme" in json.dumps(answer), party


def test_a_team_member_whose_id_is_markup_is_an_inline_error(standin: SlackStandIn, driver: SlackDriver,
                                                             bot: LocalBot) -> None:
    from tests.test_team_admin import VALID_TEAM, new_team_modal

    view_id = new_team_modal(standin, driver, bot)
    body = driver.submit_view("U_ADMIN", view_id, {**VALID_TEAM, "sdrs": ["U_SDR1", "U0SE><!channel"]}).json()
    assert body is not None and body["response_action"] == "errors" and set(body["errors"]) == {"sdrs"}
    assert count_rows(bot, "team") == 0


def test_a_stored_id_that_is_markup_is_shown_not_parsed() -> None:
    from bot.render.text import mention

    assert mention("U_AE1") == "<@U_AE1>"
    assert mention("U0SE><!channel") == "U0SE&gt;&lt;!channel"


def test_an_unknown_verb_is_echoed_escaped(driver: SlackDriver, bot: LocalBot) -> None:
    answer = driver.slash_command("U_SDR1", text="<!channel> please").json()
    assert "&lt;!channel&gt;" in answer["text"] and "<!channel>" not in json.dumps(answer)


def _raised_in(relative: str) -> BaseException:
    """An error whose innermost frame is in the project file `relative` (as if that code had raised it)."""
    from pathlib import Path

    path = Path(__file__).resolve().parent.parent / relative
    try:
        exec(compile("raise TypeError(\"unsupported operand type(s) for +: 'int' and 'str'\")", str(path), "exec"))
    except TypeError as error:
        return error
    raise AssertionError("unreachable")


def test_a_type_error_past_the_handlers_is_ours_not_the_senders() -> None:
    from handlers.errors import raised_reading_the_payload

    # A handler reading an odd payload: the sender's fault, a 400 without a traceback.
    assert raised_reading_the_payload(_raised_in("handlers/common.py"))
    # Rendering, rules or storage only see parsed values: the same error there is a bug of ours (500, traceback).
    for layer in ("bot/render/stats.py", "bot/core/form.py", "storage/handoffs.py", "bot/services/stats.py"):
        assert not raised_reading_the_payload(_raised_in(layer)), layer
