"""Reject reasons through the real reject modal: the default list, a team's own list from teams.yaml,
only that team's ids accepted, and the label as chosen kept when the list changes later.
"""
from __future__ import annotations

import json
from typing import Any

from bot.core.team_config import parse_teams
from bot.sandbox import SlackStandIn
from bot.sandbox.local_bot import LocalBot
from flow import handoff_submitted, posts_to
from storage import handoffs as store
from storage.teams import load_teams, replace_teams
from test_team_admin import team_command
from tests.conftest import ADMIN

TEAM_YAML = """\
teams:
  - id: amer
    name: AMER
    region: AMER
    channel: C_AMER
    tz: America/New_York
    reject_reasons:
      - {id: no_compelling_event, label: No compelling event}
      - Timing
      - {id: works_council, label: Needs works council approval first}
    members:
      - {user: U_SDR1, role: sdr}
      - {user: U_AE1, role: ae}
"""


def settle(bot: LocalBot) -> None:
    bot.call(bot.wiring.background.drain())
    bot.call(bot.wiring.deliverer.deliver_due())


def reject_form(bot: LocalBot, standin: SlackStandIn, card: tuple[str, str]) -> dict[str, Any]:
    before = len(standin.calls_to("views.open"))
    assert bot.driver.click("U_AE1", "handoff_reject", message=card).status == 200
    view = standin.wait_for("views.open", count=before + 1)[before].response["view"]
    assert view["callback_id"] == "handoff_reject_submit"
    return view


def options(view: dict[str, Any]) -> list[tuple[str, str]]:
    [select] = [b["element"] for b in view["blocks"] if b.get("block_id") == "reason"]
    return [(o["value"], o["text"]["text"]) for o in select["options"]]


def rejection_notice(standin: SlackStandIn) -> str:
    found = [c for c in posts_to(standin, "U_SDR1") if "rejected *H-1" in (c.args.get("text") or "")]
    assert len(found) == 1
    return json.dumps(standin.messages[(found[0].response["channel"], found[0].response["ts"])], ensure_ascii=False)


def test_reject_for_timing_with_the_default_list(bot, standin, driver):
    card = handoff_submitted(standin, driver)  # the SDR and AE are in no team: the default list
    view = reject_form(bot, standin, card)
    listed = options(view)
    for reason in (("no_compelling_event", "No compelling event"), ("not_decision_path", "Not the decision maker's path"),
                   ("timing", "Timing"), ("no_budget", "No budget"), ("other", "Other")):
        assert reason in listed
    response = driver.submit_view("U_AE1", view["id"], {"reason": "timing", "feedback": "Budget opens in Q3."})
    assert response.status == 200 and not response.body, response.body
    settle(bot)
    h = store.get_handoff(bot.db, 1)
    assert h is not None and (h.state, h.rejection_reason, h.rejection_label) == ("rejected", "timing", "Timing")
    assert "*Reason:* Timing" in rejection_notice(standin)
    assert [e.reason for e in store.audit_trail(bot.db, 1) if e.action == "reject"] == ["Timing: Budget opens in Q3."]


def test_a_teams_own_reasons_are_the_ones_offered_and_accepted(bot, standin, driver):
    replace_teams(bot.db, parse_teams(TEAM_YAML), bot.clock.now())  # type: ignore[union-attr]
    card = handoff_submitted(standin, driver)
    view = reject_form(bot, standin, card)
    assert options(view) == [("no_compelling_event", "No compelling event"), ("timing", "Timing"),
                             ("works_council", "Needs works council approval first")]

    # A reason of the default list but not this team's (a forged or stale form) is refused inline.
    forged = {"type": "static_select", "selected_option": {"text": {"type": "plain_text", "text": "No budget"},
                                                           "value": "no_budget"}}
    response = driver.submit_view("U_AE1", view["id"], {"reason": forged, "feedback": "No money."})
    body = response.json()
    assert body is not None and body["response_action"] == "errors" and set(body["errors"]) == {"reason"}
    assert store.get_handoff(bot.db, 1).state == "pending"  # type: ignore[union-attr]

    response = driver.submit_view("U_AE1", view["id"], {"reason": "works_council", "feedback": "Ask HR first."})
    assert response.status == 200 and not response.body, response.body
    settle(bot)
    assert "Needs works council approval first" in rejection_notice(standin)

    # The team drops that reason later: the handoff still shows the label it was rejected with.
    replace_teams(bot.db, parse_teams(TEAM_YAML.replace(
        "      - {id: works_council, label: Needs works council approval first}\n", "")), bot.clock.now())  # type: ignore[union-attr]
    shown = driver.slash_command("U_SDR1", text="show H-1").json() or {}
    assert "Needs works council approval first" in json.dumps(shown, ensure_ascii=False)


def test_editing_a_team_in_slack_keeps_its_reasons_and_empty_agenda_choice(bot, standin, driver):
    yaml = TEAM_YAML.replace("    tz: America/New_York\n", "    tz: America/New_York\n    empty_agenda: skip\n")
    replace_teams(bot.db, parse_teams(yaml), bot.clock.now())  # type: ignore[union-attr]
    edit_id = team_command(standin, driver, bot, ADMIN, "team amer")
    response = driver.submit_view(ADMIN, edit_id, {"sla_hours": "24"})
    assert response.status == 200 and not response.body, response.body
    [team] = load_teams(bot.db)  # type: ignore[arg-type]
    assert team.sla_hours == 24.0
    assert [rid for rid, _ in team.reject_reasons] == ["no_compelling_event", "timing", "works_council"]
    assert team.empty_agenda == "skip"
