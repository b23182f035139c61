"""The Home tab per role, through app_home_opened and block_actions: what an SDR, an AE, a manager and an
admin see, paging past 20 items with 500 handoffs, and `/handoff list` paged within a message's limits."""
from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from conftest import ADMIN, local_bot

from bot.runtime.clock import ManualClock
from bot.sandbox import SlackStandIn, render_view
from bot.sandbox.local_bot import LocalBot
from tests.stats_history import NOW, seed_many
from tests.teams_fixture import AE, AMER, MANAGER, SDR, install, settle, tick, utc
from tests.test_commands import ask


def open_home(bot: LocalBot, standin: SlackStandIn, user: str, count: int = 1) -> dict[str, Any]:
    assert bot.driver.app_home_opened(user).status == 200
    calls = standin.wait_for("views.publish", count=count, where=lambda c: c.args.get("user_id") == user)
    return calls[count - 1].response["view"]


def shown(standin: SlackStandIn, view: dict[str, Any]) -> str:
    return render_view(view, standin.user_names())


def raw(view: dict[str, Any]) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


def test_sdr_home_shows_what_i_owe_my_states_and_acceptance(seeded: LocalBot, standin: SlackStandIn) -> None:
    view = open_home(seeded, standin, SDR)
    text = raw(view)
    assert "As SDR" in text and "As AE" not in text and "Your team" not in text and "Admin" not in text
    assert "*What you owe*" in text
    assert "*H-2* Company 2 · rebook the no-show" in text
    assert "*H-4* Company 4 · rejected: revise and resubmit, or withdraw" in text
    assert "*Your handoffs by state* Waiting for the AE 1 · Accepted 3 · Rejected 2" in text
    assert "*Your acceptance rate* (last 30 days) 60% (3 of 5 decided)" in text
    assert "*Your handoffs* · 1–6 of 6" in text


def test_ae_home_shows_the_queue_with_its_sla_clock_and_missing_outcomes(seeded: LocalBot,
                                                                        standin: SlackStandIn) -> None:
    text = raw(open_home(seeded, standin, AE))
    assert "As AE" in text and "*What you owe*" not in text
    assert "*Waiting for you* (1), SLA in working hours" in text
    assert "*H-6* Company 6 from <@U_NSDR> · 🔴 overdue by" in text  # Fri 17:00 deadline, now Mon 09:00
    assert "*Meetings missing an outcome or next step* (1)" in text
    assert "*H-3* Company 3 · record the next step" in text  # met, no next step


def test_manager_home_has_team_numbers_reps_and_the_trend_image(seeded: LocalBot, standin: SlackStandIn) -> None:
    first = raw(open_home(seeded, standin, MANAGER))
    assert "Your team · this week" in first
    assert "*Waiting now* 1 · *overdue* 1" in first
    assert f"<@{SDR}> SDR ·" in first and f"<@{AE}> AE ·" in first  # the per-rep table
    # The chart is drawn and uploaded after the first publish, then the Home is published again with it.
    second = open_home_again(standin, MANAGER)
    images = [b for b in second["blocks"] if b["type"] == "image"]
    assert len(images) == 1
    file_id = images[0]["slack_file"]["id"]
    assert standin.file_bytes(file_id).startswith(b"\x89PNG")
    assert standin.uploaded_files[file_id].channels == []  # private to the app, not posted anywhere
    # Opened again with the same figures: the chart is reused, not uploaded again.
    uploads = len(standin.calls_to("files.completeUploadExternal"))
    third = open_home(seeded, standin, MANAGER, count=3)
    assert [b for b in third["blocks"] if b["type"] == "image"][0]["slack_file"]["id"] == file_id
    settle(seeded)
    assert len(standin.calls_to("files.completeUploadExternal")) == uploads


def open_home_again(standin: SlackStandIn, user: str) -> dict[str, Any]:
    calls = standin.wait_for("views.publish", count=2, timeout=20, where=lambda c: c.args.get("user_id") == user)
    return calls[1].response["view"]


def test_admin_home_shows_teams_and_health(seeded: LocalBot, standin: SlackStandIn) -> None:
    before = raw(open_home(seeded, standin, ADMIN))
    assert "*Teams* (2)" in before and "`amer` AMER Mid-Market · 4 members" in before
    assert "last scheduler tick never (is the scheduler running?)" in before
    seeded.clock.set(NOW + timedelta(minutes=5))  # type: ignore[union-attr]
    tick(seeded)
    seeded.clock.set(NOW + timedelta(minutes=7))  # type: ignore[union-attr]
    after = raw(open_home(seeded, standin, ADMIN, count=2))
    assert "last scheduler tick 2 min ago · outbox backlog 0 · stuck 0" in after


def test_home_pages_past_20_within_slacks_limits(standin: SlackStandIn, db_url: str) -> None:
    with local_bot(standin, db_url, ManualClock(utc(2026, 12, 1, 15))) as bot:
        install(bot, standin, AMER)
        seed_many(bot.db, 500, utc(2026, 11, 20, 12))
        view = open_home(bot, standin, SDR)
        assert len(view["blocks"]) <= 100
        text = raw(view)
        assert "*Your handoffs* · 1–20 of 500" in text and "*As SDR*" in text
        assert text.count("Bulk ") == 20
        assert all(len(json.dumps(b)) < 3500 for b in view["blocks"])
        next_page = bot.driver.click(SDR, "home_page_next", view_id=view["id"])
        assert next_page.status == 200
        second = standin.wait_for("views.publish", count=2, where=lambda c: c.args.get("user_id") == SDR)[1]
        page2 = second.response["view"]
        assert "*Your handoffs* · 21–40 of 500" in raw(page2) and len(page2["blocks"]) <= 100
        actions = [e["action_id"] for b in page2["blocks"] if b["type"] == "actions" for e in b["elements"]]
        assert actions == ["home_page_prev", "home_page_next"]
        # The last page has no Next; Previous goes back.
        bot.driver.click(SDR, "home_page_next", view_id=page2["id"], value="24")
        last = standin.wait_for("views.publish", count=3, where=lambda c: c.args.get("user_id") == SDR)[2]
        assert "*Your handoffs* · 481–500 of 500" in raw(last.response["view"])
        assert "home_page_next" not in raw(last.response["view"])
        # The AE's Home: 500 waiting for them, the queue shows 20 and says how many more.
        ae_view = open_home(bot, standin, AE)
        assert len(ae_view["blocks"]) <= 100
        assert "*Waiting for you* (500)" in raw(ae_view) and "… and 480 more" in raw(ae_view)


def test_list_pages_past_20_in_place(standin: SlackStandIn, db_url: str) -> None:
    with local_bot(standin, db_url, ManualClock(utc(2026, 12, 1, 15))) as bot:
        install(bot, standin, AMER)
        seed_many(bot.db, 500, utc(2026, 11, 20, 12))
        body, text = ask(bot.driver, SDR, "list")
        assert len(body["blocks"]) <= 50
        assert "*Your handoffs* · 1–20 of 500" in text and text.count("Bulk ") == 20
        [button] = [e for b in body["blocks"] if b["type"] == "actions" for e in b["elements"]]
        assert button["action_id"] == "list_page_next" and button["value"] == "1"
        # The click on the ephemeral answer: Slack sends its response_url; the answer is replaced in place.
        payload = {
            "type": "block_actions", "user": bot.driver._user(SDR),
            "api_app_id": bot.driver.api_app_id, "token": "legacy", "trigger_id": standin.issue_trigger_id(SDR),
            "team": bot.driver._team(), "container": {"type": "message", "is_ephemeral": True},
            "channel": {"id": "C_GENERAL", "name": "general"},
            "response_url": standin.response_url_for(SDR, "C_GENERAL", "1.2"),
            "actions": [{"type": "button", "action_id": "list_page_next", "block_id": "paging", "value": "1",
                         "action_ts": "1"}],
        }
        assert bot.driver.post_payload(payload).status == 200
        [answer] = standin.wait_for("response_url")
        assert answer.args["replace_original"] in (True, "true")
        blocks = answer.args["blocks"]
        assert len(blocks) <= 50 and "21–40 of 500" in json.dumps(blocks, ensure_ascii=False)
