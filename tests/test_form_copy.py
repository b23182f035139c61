"""The form says what is optional the way Slack does, drops the meeting inputs for a direct pass and
prefills the SDR's team region; and every message, reply and view speaks in each reader's own zone
(date tokens, never an IANA id) and in working hours ("3 h 20 min", never "0.0").

Through the real app: signed requests, the Slack stand-in on loopback, a real SQLite file.
"""
from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

from conftest import ADMIN
from flow import VALID, card_for, open_form
from teams_fixture import AE, AMER, EMEA, EU_AE, EU_SDR, MANAGER, SDR, install, ny, posts, settle, tick_at, where

from bot.sandbox import SlackStandIn
from bot.sandbox.local_bot import LocalBot
from storage import handoffs as store

MEETING_INPUTS = {"meeting_start", "meeting_kind", "meeting_link"}
SE = "U_NSE"  # a solutions engineer in Berlin, invited to the meeting


def inputs(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["block_id"]: b for b in view["blocks"] if b.get("type") == "input"}


def updates(standin: SlackStandIn) -> list:
    return [c for c in standin.calls_to("views.update") if c.ok]


def choose_type(bot: LocalBot, standin: SlackStandIn, view_id: str, handoff_type: str, user: str = SDR,
                **typed: Any) -> dict[str, Any]:
    """Choose a handoff type in the open form (after typing `typed`); return the view Slack now shows."""
    before = len(updates(standin))
    response = bot.driver.click(user, "handoff_type", view_id=view_id, value=handoff_type, answers=typed)
    assert response.status == 200 and not response.body, response.body
    bot.call(bot.wiring.background.drain())
    call = standin.wait_for("views.update", count=before + 1)[before]
    assert call.args["view_id"] == view_id
    return standin.views[view_id]


def form_answers(**changes: Any) -> dict[str, Any]:
    return {**{k: v for k, v in VALID.items() if k not in MEETING_INPUTS}, "ae_id": AE, **changes}


# ---------------------------------------------------------------------- optional, the way Slack shows it


def test_optional_inputs_are_flagged_by_slack_and_not_written_in_labels(bot: LocalBot, standin: SlackStandIn) -> None:
    install(bot, standin, AMER)
    view = standin.views[open_form(standin, bot.driver, SDR)]
    blocks = inputs(view)
    required = {"company", "contact_name", "source", "handoff_type", "ae_id", "meeting_start", "need",
                "compelling_event"}
    assert {b for b, block in blocks.items() if not block.get("optional")} == required
    assert all(blocks[b]["optional"] is True for b in set(blocks) - required)
    labels = json.dumps([b.get("label") for b in blocks.values()]).lower()
    hints = json.dumps([b.get("hint") for b in blocks.values()]).lower()
    assert "optional" not in labels + hints  # Slack writes "(optional)" itself, after the label
    assert "required" not in hints
    assert blocks["handoff_type"].get("dispatch_action") is True
    assert blocks["handoff_type"]["element"]["type"] == "radio_buttons"


# ---------------------------------------------------------------------- meeting inputs and the direct pass


def test_choosing_direct_pass_drops_the_meeting_inputs_and_keeps_what_was_typed(bot: LocalBot,
                                                                                 standin: SlackStandIn) -> None:
    install(bot, standin, AMER)
    bot.clock.set(ny(2026, 11, 23, 9, 0))  # type: ignore[union-attr]
    view_id = open_form(standin, bot.driver, SDR)
    opened = standin.views[view_id]
    assert MEETING_INPUTS <= set(inputs(opened))

    shown = choose_type(bot, standin, view_id, "direct_pass", company="Globex", need="SSO for 300 people")
    [call] = updates(standin)
    assert call.args["hash"] == opened["hash"]  # an update made for the view as it was clicked
    assert not MEETING_INPUTS & set(inputs(shown))
    assert {"company", "need", "attendees", "ae_id"} <= set(inputs(shown))
    entered = shown["state"]["values"]
    assert entered["company"]["company"]["value"] == "Globex"  # Slack kept what was typed
    assert entered["need"]["need"]["value"] == "SSO for 300 people"
    assert entered["handoff_type"]["handoff_type"]["selected_option"]["value"] == "direct_pass"

    answers = form_answers()
    for typed in ("company", "need", "handoff_type"):
        answers.pop(typed)
    response = bot.driver.submit_view(SDR, view_id, answers)
    assert response.status == 200 and not response.body, response.body
    stored = store.get_handoff(bot.db, 1)
    assert (stored.company, stored.need, stored.handoff_type) == ("Globex", "SSO for 300 people", "direct_pass")
    assert (stored.meeting_start, stored.meeting_kind, stored.meeting_link) == (None, None, None)


def test_choosing_a_meeting_type_again_brings_the_meeting_inputs_back(bot: LocalBot, standin: SlackStandIn) -> None:
    install(bot, standin, AMER, min_notice_hours=24)
    view_id = open_form(standin, bot.driver, SDR)
    order = [b["block_id"] for b in standin.views[view_id]["blocks"]]
    choose_type(bot, standin, view_id, "direct_pass", company="Globex")
    back = choose_type(bot, standin, view_id, "joint_iqm")
    assert [b["block_id"] for b in back["blocks"]] == order  # where they were, after the AE
    assert MEETING_INPUTS <= set(inputs(back)) and not inputs(back)["meeting_start"].get("optional")
    assert inputs(back)["meeting_start"]["hint"]["text"] == "Outbound meetings need 24 business hours' notice."
    assert back["state"]["values"]["company"]["company"]["value"] == "Globex"
    # A meeting type needs its meeting again.
    response = bot.driver.submit_view(SDR, view_id, form_answers(company="Globex", handoff_type="joint_iqm"))
    assert "meeting_start" in response.json()["errors"]


def test_a_stale_click_does_not_overwrite_a_newer_form(bot: LocalBot, standin: SlackStandIn) -> None:
    """views.update carries the hash of the view clicked: Slack refuses it once the view has changed."""
    install(bot, standin, AMER)
    view_id = open_form(standin, bot.driver, SDR)
    first = json.loads(json.dumps(standin.views[view_id]))
    choose_type(bot, standin, view_id, "direct_pass")
    # The first click arrives again, late, with the view as it was then.
    payload = {"type": "block_actions", "user": {"id": SDR, "username": "nina", "name": "nina", "team_id": "T_TEST"},
               "api_app_id": bot.driver.api_app_id, "token": "legacy", "trigger_id": standin.issue_trigger_id(SDR),
               "team": {"id": bot.driver.team_id, "domain": bot.driver.team_domain},
               "container": {"type": "view", "view_id": view_id}, "view": first,
               "actions": [{"type": "radio_buttons", "block_id": "handoff_type", "action_id": "handoff_type",
                            "selected_option": {"text": {"type": "plain_text", "text": "Joint IQM"},
                                                "value": "joint_iqm"}, "action_ts": "1.0"}]}
    assert bot.driver.post_payload(payload).status == 200
    bot.call(bot.wiring.background.drain())
    [_, stale] = standin.calls_to("views.update")
    assert stale.response["error"] == "hash_conflict"
    assert not MEETING_INPUTS & set(inputs(standin.views[view_id]))  # the newer form stands


def test_meeting_values_left_from_before_are_ignored_for_a_direct_pass(bot: LocalBot, standin: SlackStandIn) -> None:
    """A client that still shows the meeting inputs sends them with a direct pass: they are not kept,
    and not judged (a time in the past is no error when there is no meeting)."""
    install(bot, standin, AMER)
    bot.clock.set(ny(2026, 11, 23, 9, 0))  # type: ignore[union-attr]
    view_id = open_form(standin, bot.driver, SDR)
    response = bot.driver.submit_view(SDR, view_id, {
        **VALID, "ae_id": AE, "handoff_type": "direct_pass", "meeting_kind": "demo",
        "meeting_start": int(ny(2026, 11, 20, 9, 0).timestamp()), "meeting_link": "https://meet.example/x"})
    assert response.status == 200 and not response.body, response.body
    stored = store.get_handoff(bot.db, 1)
    assert (stored.handoff_type, stored.meeting_start, stored.meeting_kind, stored.meeting_link) == (
        "direct_pass", None, None, None)


def test_revising_a_direct_pass_opens_without_the_meeting_inputs(bot: LocalBot, standin: SlackStandIn) -> None:
    install(bot, standin, AMER)
    bot.clock.set(ny(2026, 11, 23, 9, 0))  # type: ignore[union-attr]
    response = bot.driver.submit_view(SDR, open_form(standin, bot.driver, SDR),
                                      form_answers(handoff_type="direct_pass"))
    assert response.status == 200 and not response.body, response.body
    card = card_for(standin, AE)
    rejected = _reject(bot, standin, card)
    before = len(standin.calls_to("views.open"))
    bot.driver.click(SDR, "handoff_revise", message=rejected)
    bot.call(bot.wiring.background.drain())
    revise = standin.wait_for("views.open", count=before + 1)[before].response["view"]
    assert not MEETING_INPUTS & set(inputs(revise))
    chosen = inputs(revise)["handoff_type"]["element"]["initial_option"]["value"]
    assert chosen == "direct_pass"


def _reject(bot: LocalBot, standin: SlackStandIn, card: tuple[str, str], user: str = AE) -> tuple[str, str]:
    """The AE rejects; return where the SDR's rejection message is."""
    before = len(standin.calls_to("views.open"))
    bot.driver.click(user, "handoff_reject", message=card)
    bot.call(bot.wiring.background.drain())
    view = standin.wait_for("views.open", count=before + 1)[before].response["view"]["id"]
    response = bot.driver.submit_view(user, view, {"reason": "no_budget", "feedback": "No budget until Q3."})
    assert response.status == 200 and not response.body, response.body
    settle(bot)
    [told] = [c for c in posts(standin, SDR) if "handoff_revise" in json.dumps(c.args.get("blocks"))]
    return where(told)


# ---------------------------------------------------------------------- the region


def test_the_region_is_prefilled_from_the_sdrs_team(bot: LocalBot, standin: SlackStandIn) -> None:
    install(bot, standin, AMER, EMEA)
    emea = inputs(standin.views[open_form(standin, bot.driver, EU_SDR)])
    assert emea["region"]["element"]["initial_option"]["value"] == "EMEA"
    assert "initial_user" not in emea["ae_id"]["element"]  # not paired
    amer = inputs(standin.views[open_form(standin, bot.driver, SDR)])
    assert amer["region"]["element"]["initial_option"]["value"] == "AMER"
    assert amer["ae_id"]["element"]["initial_user"] == AE  # and the paired AE, as before
    # Someone in no team chooses for themselves.
    loner = inputs(standin.views[open_form(standin, bot.driver, "U_SDR1")])
    assert "initial_option" not in loner["region"]["element"]
    # The notice the rules will ask, said under the meeting start: the team's (none), else the default.
    assert "hint" not in amer["meeting_start"]
    assert loner["meeting_start"]["hint"]["text"] == "Outbound meetings need 48 business hours' notice."

    response = bot.driver.submit_view(EU_SDR, open_form(standin, bot.driver, EU_SDR),
                                      {k: v for k, v in VALID.items() if k != "region"} | {"ae_id": EU_AE})
    assert response.status == 200 and not response.body, response.body
    assert store.get_handoff(bot.db, 1).region == "EMEA"


# ---------------------------------------------------------------------- the copy, everywhere

IANA = re.compile(r"\b(?:Africa|America|Antarctica|Asia|Atlantic|Australia|Europe|Indian|Pacific|Etc)/[A-Z][A-Za-z_]+")
ANY_IANA = re.compile(r"[A-Z][a-z]+/[A-Z][A-Za-z_]+")
DECIMAL_HOURS = re.compile(r"\b\d+\.\d+\s*(?:h|hrs?|hours?)\b|(?i:time to accept|median|p90|waiting)\W{0,3}\d+\.\d+")
BARE_HOURS = re.compile(r"\bis \d+ away\b")
FIXED_TIME = re.compile(r"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d\d \w{3}(?: \d{4})?,? \d\d:\d\d")


def _words(node: Any, key: str = "") -> list[str]:
    """Every piece of text a person reads: message text, text objects, labels, hints, errors."""
    if isinstance(node, dict):
        return [w for k, v in node.items() for w in _words(v, k)]
    if isinstance(node, list):
        return [w for v in node for w in _words(v, key)]
    if isinstance(node, str) and key in ("blocks", "view"):  # the Web API takes them JSON-encoded too
        return _words(json.loads(node), key)
    if isinstance(node, str) and key in ("text", "alt_text", "initial_comment"):
        return [node]
    return []


def _outside_tokens(text: str) -> str:
    """The text without its date tokens: what is left must not hold a time in one fixed zone."""
    return re.sub(r"<!date\^\d+\^[^|>]*\|[^>]*>", "", text)


def test_no_view_or_reply_shows_a_zone_id_a_fixed_zone_time_or_decimal_hours(bot: LocalBot,
                                                                              standin: SlackStandIn) -> None:
    install(bot, standin, AMER, min_notice_hours=48)
    standin.add_user(SE, "sam", tz="Europe/Berlin")
    driver = bot.driver
    said: list[str] = []  # acks: replies
    errors: list[str] = []  # acks: a form's inline errors

    def ack(response) -> None:
        assert response.status == 200, response.body
        if response.body:
            body = response.json()
            said.extend(_words(body))
            errors.extend(str(v) for v in (body.get("errors") or {}).values())

    def ask(user: str, text: str) -> None:
        ack(driver.slash_command(user, text=text))

    bot.clock.set(ny(2026, 11, 23, 9, 0))  # type: ignore[union-attr]
    meeting = ny(2026, 11, 27, 10, 0)
    view_id = open_form(standin, driver, SDR)
    ack(driver.submit_view(SDR, view_id, {**VALID, "ae_id": AE, "region": "AMER",  # too soon: an inline error
                                          "meeting_start": int(ny(2026, 11, 24, 10, 0).timestamp())}))
    ack(driver.submit_view(SDR, view_id, {**VALID, "ae_id": AE, "meeting_start": int(meeting.timestamp()),
                                          "meeting_kind": "evaluation_45", "attendees": [SE, MANAGER]}))
    card = card_for(standin, AE)
    settle(bot)
    # The chase: heads-up, overdue, escalation; then a late accept.
    for when in (ny(2026, 11, 23, 15, 0), ny(2026, 11, 23, 17, 30), ny(2026, 11, 24, 14, 0)):
        tick_at(bot, when)
    _, accept = driver.find_button(standin.messages[card]["blocks"], "handoff_accept")
    driver.click(AE, "handoff_accept", message=card)
    settle(bot)
    # A second accept on the card as it was: "already accepted … on …".
    driver.click(AE, "handoff_accept", message=card, value=accept["value"])
    settle(bot)
    # The meeting, its outcome owed, then rescheduled with a next step.
    tick_at(bot, ny(2026, 11, 27, 13, 0))
    before = len(standin.calls_to("views.open"))
    driver.click(AE, "handoff_outcome", message=card)
    bot.call(bot.wiring.background.drain())
    outcome = standin.wait_for("views.open", count=before + 1)[before].response["view"]["id"]
    ack(driver.submit_view(AE, outcome, {"outcome": "rescheduled",
                                         "new_meeting_start": int(ny(2026, 12, 2, 10, 0).timestamp()),
                                         "next_step": "Send the proposal", "next_step_due": date(2026, 12, 3)}))
    settle(bot)
    tick_at(bot, ny(2026, 11, 30, 10, 0))  # the weekly agenda, Monday 10:00 New York
    tick_at(bot, ny(2026, 12, 4, 17, 30))  # the next step is overdue, the outcome owed again
    # A second handoff, rejected: coaching by DM, the revise form.
    ack(driver.submit_view(SDR, open_form(standin, driver, SDR),
                           form_answers(company="Initech", handoff_type="direct_pass")))
    [second] = standin.wait_for("chat.postMessage", where=lambda c: c.args.get("channel") == AE
                                and "Initech" in c.args.get("text", "") and "handoff_accept" in str(c.args))
    rejected = _reject(bot, standin, where(second))
    driver.click(SDR, "handoff_revise", message=rejected)
    settle(bot)
    choose_type(bot, standin, open_form(standin, driver, SDR), "direct_pass")
    for user in (SDR, AE, SE, MANAGER, ADMIN):
        for text in ("list", "show H-1", "show H-2", "help", "stats"):
            ask(user, text)
        ack(driver.app_home_opened(user))
    settle(bot)

    shown_methods = ("chat.postMessage", "chat.update", "chat.postEphemeral", "views.open", "views.update",
                     "views.publish", "views.push", "response_url")
    calls = [c for c in standin.calls if c.method in shown_methods and c.ok]
    assert {"chat.postMessage", "chat.update", "views.open", "views.update", "views.publish"} <= {c.method for c in calls}
    texts = said + errors + [w for c in calls for w in _words(c.args)]
    assert any("Earliest:" in e for e in errors)
    assert any("<!date^" in t for t in texts)
    assert any("Send the proposal" in t for t in texts), [t for t in texts if "recorded" in t or "Rescheduled" in t]
    problems = [t for t in texts if IANA.search(t) or ANY_IANA.search(t) or DECIMAL_HOURS.search(t)
                or BARE_HOURS.search(t)]
    assert problems == []
    # A time outside a date token is in one fixed zone; the only place for one is an input's error
    # (plain text, where Slack renders no token), in the SDR's own zone.
    fixed = [t for t in said + [w for c in calls for w in _words(c.args)] if FIXED_TIME.search(_outside_tokens(t))]
    assert fixed == []
