"""`/handoff team` through the real app over signed HTTP: refusal, the modals, inline errors, saving, prefill."""
from __future__ import annotations

from datetime import time
from typing import Any

from bot.render.team_modals import NEW_TEAM
from bot.sandbox import SlackDriver, SlackStandIn
from bot.sandbox.local_bot import LocalBot
from bot.core.teams import Member, TeamPolicy
from storage.teams import load_teams, save_team
from tests.conftest import ADMIN, START
from tests.flow import open_form, posts_to

VALID_TEAM: dict[str, Any] = {
    "team_id": "amer-mm",
    "name": "AMER Mid-Market",
    "region": "AMER",
    "channel": "C_AMER",
    "tz": "America/New_York",
    "workdays": ["0", "1", "2", "3", "4"],
    "day_start": "09:00",
    "day_end": "17:00",
    "holiday_country": "US",
    "holiday_subdivision": "CA",
    "sync_day": "0",
    "sync_time": "10:00",
    "sla_hours": "8",
    "sla_from": "meeting_end",
    "heads_up": "0.75",
    "escalate_after_hours": "4",
    "auto_reassign": ["auto_reassign"],
    "outcome_after_hours": "2",
    "min_notice_hours": "48",
    "sdrs": ["U_SDR1", "U_SDR2"],
    "aes": ["U_AE1", "U_AE2"],
    "managers": [ADMIN],
    "lines": "U_SDR1 paired_ae=U_AE1\nU_AE2 manager=U_STRANGER",
}


def settle(bot: LocalBot) -> None:
    bot.call(bot.wiring.background.drain())


def team_command(standin: SlackStandIn, driver: SlackDriver, bot: LocalBot, user: str, text: str) -> str:
    """Type `/handoff <text>` as `user`; return the id of the modal that opens."""
    before = len(standin.calls_to("views.open"))
    response = driver.slash_command(user, text=text)
    assert response.status == 200 and not response.body, response.body
    call = standin.wait_for("views.open", count=before + 1)[-1]
    assert call.ok, call.response
    return call.response["view"]["id"]


def new_team_modal(standin: SlackStandIn, driver: SlackDriver, bot: LocalBot) -> str:
    view_id = team_command(standin, driver, bot, ADMIN, "team")
    assert standin.views[view_id]["callback_id"] == "team_pick"
    picked = driver.submit_view(ADMIN, view_id, {"team": NEW_TEAM})
    assert picked.status == 200 and picked.json()["response_action"] == "update", picked.body
    assert standin.views[view_id]["callback_id"] == "team_edit"  # the picker became the edit form
    return view_id


def test_a_non_admin_is_refused_ephemerally(standin: SlackStandIn, driver: SlackDriver, bot: LocalBot) -> None:
    for text in ("team", "team amer"):
        response = driver.slash_command("U_SDR1", text=text)
        assert response.status == 200
        body = response.json()
        assert body is not None and body["response_type"] == "ephemeral"
        assert "Only Handoff admins can edit teams" in body["text"] and f"<@{ADMIN}>" in body["text"]
    settle(bot)
    assert standin.calls_to("views.open") == []
    assert standin.calls_to("chat.postMessage") == []


def test_invalid_values_answer_inline(standin: SlackStandIn, driver: SlackDriver, bot: LocalBot) -> None:
    view_id = new_team_modal(standin, driver, bot)
    bad = {**VALID_TEAM, "team_id": "AMER MM", "tz": "Mars/Olympus", "day_start": "18:00", "day_end": "09:00",
           "holiday_country": "XX", "heads_up": "1", "workdays": [], "aes": ["U_AE1", "U_SDR1"],
           "lines": "U_SDR1 paired_ae=U_AE2"}
    response = driver.submit_view(ADMIN, view_id, bad)
    body = response.json()
    assert response.status == 200 and body is not None and body["response_action"] == "errors", response.body
    errors = body["errors"]
    assert "Mars/Olympus" in errors["tz"]
    assert errors["day_end"] == "The day must end after it starts."
    assert "lower-case" in errors["team_id"]
    assert "XX" in errors["holiday_country"]
    assert "fraction" in errors["heads_up"]
    assert "working day" in errors["workdays"]
    assert "already listed as SDR" in errors["aes"]
    assert set(errors) <= {b["block_id"] for b in standin.views[view_id]["blocks"]}  # Slack shows each by its field
    assert load_teams(bot.db) == []  # type: ignore[arg-type]

    # The pairing must name one of the team's AEs.
    response = driver.submit_view(ADMIN, view_id, {**VALID_TEAM, "lines": "U_SDR1 paired_ae=U_SDR2"})
    assert "is not among this team's AEs" in response.json()["errors"]["lines"]
    assert load_teams(bot.db) == []  # type: ignore[arg-type]


def test_a_valid_team_is_stored_and_the_admin_told(standin: SlackStandIn, driver: SlackDriver, bot: LocalBot) -> None:
    view_id = new_team_modal(standin, driver, bot)
    response = driver.submit_view(ADMIN, view_id, VALID_TEAM)
    assert response.status == 200 and not response.body, response.body
    assert view_id not in standin.open_views(ADMIN)
    [team] = load_teams(bot.db)  # type: ignore[arg-type]
    assert team == TeamPolicy(
        id="amer-mm", name="AMER Mid-Market", region="AMER", channel_id="C_AMER", tz="America/New_York",
        holiday_country="US", holiday_subdivision="CA", sync_weekday=0, sync_time=time(10, 0), auto_reassign=True,
        members=(Member(ADMIN, "manager"), Member("U_SDR1", "sdr", ADMIN, "U_AE1"), Member("U_SDR2", "sdr", ADMIN),
                 Member("U_AE1", "ae", ADMIN), Member("U_AE2", "ae", "U_STRANGER")))
    told = standin.wait_for("chat.postMessage", where=lambda c: c.args.get("channel") == ADMIN)
    assert "Created team *AMER Mid-Market* (`amer-mm`): 2 SDRs, 2 AEs, 1 manager" in told[0].args["text"]

    # `/handoff team amer-mm` opens the stored team directly, everything filled in; saving again updates it.
    edit_id = team_command(standin, driver, bot, ADMIN, "team amer-mm")
    edit = standin.views[edit_id]
    assert edit["callback_id"] == "team_edit"
    elements = {b["block_id"]: b.get("element", {}) for b in edit["blocks"]}
    assert "team_id" not in elements  # an existing team keeps its id
    assert elements["tz"]["initial_value"] == "America/New_York"
    assert elements["channel"]["initial_conversation"] == "C_AMER"
    assert elements["aes"]["initial_users"] == ["U_AE1", "U_AE2"]
    response = driver.submit_view(ADMIN, edit_id, {"sla_hours": "24", "sla_from": "submission"})
    assert response.status == 200 and not response.body, response.body
    [updated] = load_teams(bot.db)  # type: ignore[arg-type]
    assert (updated.sla_hours, updated.sla_from) == (24.0, "submission")
    assert updated.members == team.members  # the untouched member fields read back the same
    assert len(posts_to(standin, ADMIN)) == 2


def test_a_person_cannot_join_a_second_team(standin: SlackStandIn, driver: SlackDriver, bot: LocalBot) -> None:
    bot.call(bot.wiring.db.run(save_team, TeamPolicy(  # type: ignore[union-attr]
        id="emea", name="EMEA", region="EMEA", channel_id="C_EMEA", tz="Europe/Berlin",
        members=(Member("U_AE1", "ae"),)), START))
    view_id = new_team_modal(standin, driver, bot)
    response = driver.submit_view(ADMIN, view_id, {**VALID_TEAM, "lines": ""})
    assert "already in team 'emea'" in response.json()["errors"]["aes"]
    assert [t.id for t in load_teams(bot.db)] == ["emea"]  # type: ignore[arg-type]


def test_an_sdrs_paired_ae_is_prefilled(standin: SlackStandIn, driver: SlackDriver, bot: LocalBot) -> None:
    bot.call(bot.wiring.db.run(save_team, TeamPolicy(  # type: ignore[union-attr]
        id="amer", name="AMER", region="AMER", channel_id="C_AMER", tz="America/New_York",
        members=(Member("U_SDR1", "sdr", paired_ae_id="U_AE2"), Member("U_SDR2", "sdr"), Member("U_AE2", "ae"))),
        START))
    open_form(standin, driver, "U_SDR1")
    sent = standin.calls_to("views.open")[-1].args["view"]
    [ae_block] = [b for b in sent["blocks"] if b.get("block_id") == "ae_id"]
    assert ae_block["element"]["initial_user"] == "U_AE2"

    open_form(standin, driver, "U_SDR2")  # not paired: nothing chosen for them
    sent = standin.calls_to("views.open")[-1].args["view"]
    [ae_block] = [b for b in sent["blocks"] if b.get("block_id") == "ae_id"]
    assert "initial_user" not in ae_block["element"]
