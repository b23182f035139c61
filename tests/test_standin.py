"""Tests of the Slack stand-in, the signed-request driver and the transcript renderer."""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox import SlackDriver, SlackStandIn, describe_event, render_blocks, render_view

TOKEN = "xoxb-test"
SECRET = "shh-signing-secret"


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    s = SlackStandIn(token=TOKEN).start()
    s.add_user("U_SDR1", name="alice", real_name="Alice SDR", tz="America/New_York")
    s.add_user("U_AE1", name="bob", real_name="Bob AE", tz="Europe/London")
    s.add_user("U_GONE", name="gone", deleted=True)
    s.add_channel("C_AMER", name="amer-sales")
    yield s
    s.stop()


@pytest.fixture
def client(standin: SlackStandIn) -> WebClient:
    return WebClient(token=TOKEN, base_url=standin.base_url)


class _Capture(BaseHTTPRequestHandler):
    """A stand-in *app*: records what the driver sends, answers with a canned body."""

    received: list[dict[str, Any]]
    reply: str = ""

    def do_POST(self) -> None:  # noqa: N802 (http.server API)
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        self.received.append({"headers": dict(self.headers), "body": body})
        data = self.reply.encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json" if data else "text/plain")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def app_server() -> Iterator[type[_Capture]]:
    handler = type("Handler", (_Capture,), {"received": [], "reply": ""})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    handler.url = f"http://127.0.0.1:{server.server_address[1]}/slack/events"  # type: ignore[attr-defined]
    yield handler
    server.shutdown()
    server.server_close()


def _driver(standin: SlackStandIn, app: type[_Capture]) -> SlackDriver:
    return SlackDriver(app_url=app.url, signing_secret=SECRET, standin=standin)  # type: ignore[attr-defined]


CARD = [
    {"type": "header", "text": {"type": "plain_text", "text": "New handoff: Acme Corp"}},
    {
        "type": "section",
        "fields": [
            {"type": "mrkdwn", "text": "*SDR*\n<@U_SDR1>"},
            {"type": "mrkdwn", "text": "*Deal size*\n$40k &amp; up"},
            {"type": "mrkdwn", "text": "*Meeting*\n<!date^1763800000^{date_short}|Nov 22>"},
        ],
    },
    {"type": "context", "elements": [{"type": "mrkdwn", "text": "Notes: <https://acme.test|Acme site>"}]},
    {"type": "divider"},
    {
        "type": "actions",
        "block_id": "decide",
        "elements": [
            {"type": "button", "action_id": "accept", "text": {"type": "plain_text", "text": "Accept"},
             "style": "primary", "value": "h-1"},
            {"type": "button", "action_id": "reject", "text": {"type": "plain_text", "text": "Reject"},
             "style": "danger", "value": "h-1"},
        ],
    },
]

MODAL = {
    "type": "modal",
    "callback_id": "handoff_new",
    "private_metadata": "meta-1",
    "title": {"type": "plain_text", "text": "New handoff"},
    "submit": {"type": "plain_text", "text": "Send"},
    "close": {"type": "plain_text", "text": "Cancel"},
    "blocks": [
        {"type": "input", "block_id": "company", "label": {"type": "plain_text", "text": "Company"},
         "element": {"type": "plain_text_input", "action_id": "company_name"}},
        {"type": "input", "block_id": "seats", "label": {"type": "plain_text", "text": "Seats"},
         "element": {"type": "number_input", "action_id": "seats", "is_decimal_allowed": False}},
        {"type": "input", "block_id": "region", "label": {"type": "plain_text", "text": "Region"},
         "element": {"type": "static_select", "action_id": "region", "options": [
             {"text": {"type": "plain_text", "text": "Americas"}, "value": "amer"},
             {"text": {"type": "plain_text", "text": "EMEA"}, "value": "emea"}]}},
        {"type": "input", "block_id": "flags", "optional": True, "label": {"type": "plain_text", "text": "Flags"},
         "element": {"type": "checkboxes", "action_id": "flags", "options": [
             {"text": {"type": "plain_text", "text": "Urgent"}, "value": "urgent"},
             {"text": {"type": "plain_text", "text": "Renewal"}, "value": "renewal"}]}},
        {"type": "input", "block_id": "ae", "label": {"type": "plain_text", "text": "AE"},
         "element": {"type": "users_select", "action_id": "ae"}},
        {"type": "input", "block_id": "when", "label": {"type": "plain_text", "text": "Meeting"},
         "element": {"type": "datetimepicker", "action_id": "when"}},
        {"type": "input", "block_id": "day", "optional": True, "label": {"type": "plain_text", "text": "Day"},
         "element": {"type": "datepicker", "action_id": "day"}},
    ],
}


# ---------------------------------------------------------------------- Web API


async def test_post_message_to_user_lands_in_dm(standin: SlackStandIn) -> None:
    client = AsyncWebClient(token=TOKEN, base_url=standin.base_url)
    resp = await client.chat_postMessage(channel="U_SDR1", text="hello", blocks=CARD)
    assert resp["channel"] == "D_SDR1"
    assert resp["message"]["bot_id"] == "B_HANDOFF" and resp["message"]["user"] == "U_HANDOFF_BOT"
    stored = standin.messages[("D_SDR1", resp["ts"])]
    assert stored["text"] == "hello" and stored["blocks"][0]["type"] == "header"
    [call] = standin.wait_for("chat.postMessage")
    assert call.args["channel"] == "U_SDR1" and call.response["ts"] == resp["ts"]
    assert standin.events[-1].kind == "message" and standin.events[-1].audience == "U_SDR1"
    opened = await client.conversations_open(users="U_SDR1")
    assert opened["channel"]["id"] == "D_SDR1"
    # ts values increase and never repeat.
    second = await client.chat_postMessage(channel="C_AMER", text="again", thread_ts=resp["ts"])
    assert float(second["ts"]) > float(resp["ts"])
    assert standin.messages[("C_AMER", second["ts"])]["thread_ts"] == resp["ts"]


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_post_message_errors(standin: SlackStandIn, client: WebClient) -> None:
    cases = [
        ({"channel": "U_NOBODY", "text": "x"}, "channel_not_found"),
        ({"channel": "C_NOWHERE", "text": "x"}, "channel_not_found"),
        ({"channel": "U_GONE", "text": "x"}, "account_inactive"),
        ({"channel": "C_AMER"}, "no_text"),
        ({"channel": "C_AMER", "text": "x" * 40_001}, "msg_too_long"),
    ]
    for kwargs, error in cases:
        with pytest.raises(SlackApiError) as info:
            client.chat_postMessage(**kwargs)
        assert info.value.response["error"] == error, kwargs
    assert not standin.wait_for("chat.postMessage", count=0)
    assert [c.response["error"] for c in standin.calls_to("chat.postMessage")] == [e for _, e in cases]


def test_auth_and_unknown_method(standin: SlackStandIn) -> None:
    assert WebClient(token=TOKEN, base_url=standin.base_url).auth_test()["user_id"] == "U_HANDOFF_BOT"
    with pytest.raises(SlackApiError) as info:
        WebClient(token="xoxb-wrong", base_url=standin.base_url).auth_test()
    assert info.value.response["error"] == "invalid_auth"
    with pytest.raises(SlackApiError) as info:
        WebClient(base_url=standin.base_url).auth_test()
    assert info.value.response["error"] == "not_authed"
    with pytest.raises(SlackApiError) as info:
        WebClient(token=TOKEN, base_url=standin.base_url).api_call("chat.meMessage", json={"channel": "C_AMER"})
    assert info.value.response["error"] == "unknown_method"


def test_chat_update_edits_message(standin: SlackStandIn, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="C_AMER", text="card", blocks=CARD)
    updated = client.chat_update(
        channel="C_AMER", ts=posted["ts"], text="accepted",
        blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "Accepted by <@U_AE1>"}}],
    )
    assert updated["ts"] == posted["ts"] and updated["text"] == "accepted"
    msg = standin.messages[("C_AMER", posted["ts"])]
    assert msg["text"] == "accepted" and len(msg["blocks"]) == 1
    assert [e.kind for e in standin.events] == ["message", "update"]
    with pytest.raises(SlackApiError) as info:
        client.chat_update(channel="C_AMER", ts="1.000001", text="nope")
    assert info.value.response["error"] == "message_not_found"
    link = client.chat_getPermalink(channel="C_AMER", message_ts=posted["ts"])
    assert link["permalink"].endswith("/archives/C_AMER/p" + posted["ts"].replace(".", ""))


def test_invalid_blocks_rejected(client: WebClient) -> None:
    bad = [
        [{"type": "no_such_block"}],
        [{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}],
        [{"type": "divider"}] * 51,
    ]
    for blocks in bad:
        with pytest.raises(SlackApiError) as info:
            client.chat_postMessage(channel="C_AMER", text="x", blocks=blocks)
        assert info.value.response["error"] == "invalid_blocks"
    # Form-encoded JSON strings are parsed like Slack does.
    ok = client.api_call("chat.postMessage", data={"channel": "C_AMER", "text": "x", "blocks": json.dumps(CARD)})
    assert ok["ok"]


def test_trigger_id_expiry_and_reuse(standin: SlackStandIn, client: WebClient) -> None:
    trigger = standin.issue_trigger_id("U_SDR1")
    opened = client.views_open(trigger_id=trigger, view=MODAL)
    view = opened["view"]
    assert view["id"].startswith("V") and view["callback_id"] == "handoff_new"
    assert view["state"] == {"values": {}} and view["private_metadata"] == "meta-1" and view["hash"]
    assert standin.view_user(view["id"]) == "U_SDR1" and standin.open_views("U_SDR1") == [view["id"]]
    for trigger_id, error in [(trigger, "exchanged_trigger_id"), ("123.456.abc", "invalid_trigger_id")]:
        with pytest.raises(SlackApiError) as info:
            client.views_open(trigger_id=trigger_id, view=MODAL)
        assert info.value.response["error"] == error
    standin.trigger_ttl = 0.05
    stale = standin.issue_trigger_id("U_SDR1")
    time.sleep(0.1)
    with pytest.raises(SlackApiError) as info:
        client.views_open(trigger_id=stale, view=MODAL)
    assert info.value.response["error"] == "expired_trigger_id"


def test_views_update_push_publish(standin: SlackStandIn, client: WebClient) -> None:
    view = client.views_open(trigger_id=standin.issue_trigger_id("U_SDR1"), view=MODAL)["view"]
    with pytest.raises(SlackApiError) as info:
        client.views_update(view_id=view["id"], hash="stale.hash", view=MODAL)
    assert info.value.response["error"] == "hash_conflict"
    with pytest.raises(SlackApiError) as info:
        client.views_update(view_id="V_NOPE", view=MODAL)
    assert info.value.response["error"] == "not_found"
    updated = client.views_update(view_id=view["id"], hash=view["hash"], view={**MODAL, "private_metadata": "m2"})
    assert updated["view"]["id"] == view["id"] and standin.views[view["id"]]["private_metadata"] == "m2"
    pushed = client.views_push(trigger_id=standin.issue_trigger_id("U_SDR1"), view=MODAL)["view"]
    assert pushed["previous_view_id"] == view["id"] and pushed["root_view_id"] == view["id"]
    too_many = {**MODAL, "blocks": [{"type": "divider"}] * 101}
    with pytest.raises(SlackApiError) as info:
        client.views_open(trigger_id=standin.issue_trigger_id("U_SDR1"), view=too_many)
    assert info.value.response["error"] == "invalid_arguments"
    home = client.views_publish(user_id="U_AE1", view={"type": "home", "blocks": CARD})["view"]
    assert home["type"] == "home" and standin.home_view("U_AE1")["id"] == home["id"]
    assert [e.kind for e in standin.events] == ["view_open", "view_update", "view_push", "home"]


async def test_rate_limit_seen_by_client(standin: SlackStandIn) -> None:
    client = AsyncWebClient(token=TOKEN, base_url=standin.base_url)
    standin.fail("chat.postMessage", status=429, retry_after=7)
    with pytest.raises(SlackApiError) as info:
        await client.chat_postMessage(channel="C_AMER", text="x")
    assert info.value.response.status_code == 429
    assert info.value.response.headers["Retry-After"] == "7"
    assert info.value.response["error"] == "ratelimited"
    standin.fail("chat.postMessage", error="channel_not_found")
    with pytest.raises(SlackApiError) as info:
        await client.chat_postMessage(channel="C_AMER", text="x")
    assert info.value.response["error"] == "channel_not_found"
    standin.fail("chat.postMessage", status=500)
    with pytest.raises(SlackApiError) as info:
        await client.chat_postMessage(channel="C_AMER", text="x")
    assert info.value.response.status_code == 500
    assert (await client.chat_postMessage(channel="C_AMER", text="x"))["ok"]  # rules are used up
    assert [c.status for c in standin.calls] == [429, 200, 500, 200]


def test_delay_trips_client_timeout(standin: SlackStandIn) -> None:
    standin.fail("auth.test", delay=0.3)
    with pytest.raises(Exception):
        WebClient(token=TOKEN, base_url=standin.base_url, timeout=0.1).auth_test()


def test_users_info_shape(client: WebClient) -> None:
    user = client.users_info(user="U_SDR1")["user"]
    assert user["id"] == "U_SDR1" and user["team_id"] == "T_HANDOFF" and user["name"] == "alice"
    assert user["real_name"] == "Alice SDR" and user["profile"]["display_name"] == "alice"
    assert user["tz"] == "America/New_York" and user["tz_offset"] in (-18000, -14400)
    assert user["tz_label"].startswith("Eastern") and user["deleted"] is False and user["is_bot"] is False
    with pytest.raises(SlackApiError) as info:
        client.users_info(user="U_NOBODY")
    assert info.value.response["error"] == "user_not_found"


def test_wait_for_lists_calls_on_timeout(standin: SlackStandIn, client: WebClient) -> None:
    client.auth_test()
    with pytest.raises(AssertionError, match="auth.test"):
        standin.wait_for("chat.postMessage", timeout=0.05)
    standin.reset()
    assert standin.calls == [] and standin.events == []


def test_response_url_recorded(standin: SlackStandIn, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="C_AMER", text="card", blocks=CARD)
    url = standin.response_url_for("U_AE1", "C_AMER", posted["ts"])
    body = json.dumps({"replace_original": True, "text": "Accepted"}).encode()
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as resp:
        assert resp.read() == b"ok"
    [call] = standin.calls_to("response_url")
    assert call.args["text"] == "Accepted"
    event = standin.events[-1]
    assert event.kind == "response_url" and event.audience == "U_AE1"
    assert standin.messages[("C_AMER", posted["ts"])]["text"] == "Accepted"


# ---------------------------------------------------------------------- driver


def test_driver_signature_verifies(standin: SlackStandIn, app_server: type[_Capture]) -> None:
    driver = _driver(standin, app_server)
    verifier = SignatureVerifier(SECRET)
    assert driver.slash_command("U_SDR1", text="new").status == 200
    assert driver.slash_command("U_SDR1", forge_signature=True).status == 200
    assert driver.event({"type": "app_home_opened", "user": "U_SDR1"}, timestamp=int(time.time()) - 600).status == 200
    good, forged, stale = app_server.received
    assert verifier.is_valid_request(good["body"], good["headers"])
    assert not verifier.is_valid_request(forged["body"], forged["headers"])
    assert not verifier.is_valid_request(stale["body"], stale["headers"])  # too old
    fields = dict(urllib.parse.parse_qsl(good["body"]))
    assert good["headers"]["Content-Type"] == "application/x-www-form-urlencoded"
    assert fields["command"] == "/handoff" and fields["text"] == "new" and fields["user_id"] == "U_SDR1"
    assert fields["trigger_id"] and fields["response_url"].startswith(standin.url + "/respond/")
    envelope = json.loads(stale["body"])
    assert envelope["type"] == "event_callback" and envelope["event"]["type"] == "app_home_opened"


def test_submit_view_builds_state(standin: SlackStandIn, client: WebClient, app_server: type[_Capture]) -> None:
    driver = _driver(standin, app_server)
    view = client.views_open(trigger_id=standin.issue_trigger_id("U_SDR1"), view=MODAL)["view"]
    resp = driver.submit_view(
        "U_SDR1", view["id"],
        {"company_name": "Acme", "seats": 40, "region": "emea", "flags": ["urgent"], "ae": "U_AE1", "when": 1763800000},
    )
    assert resp.status == 200 and resp.json() is None
    sent = app_server.received[-1]
    payload = json.loads(dict(urllib.parse.parse_qsl(sent["body"]))["payload"])
    assert payload["type"] == "view_submission" and payload["user"]["id"] == "U_SDR1"
    assert payload["view"]["id"] == view["id"] and payload["view"]["callback_id"] == "handoff_new"
    assert payload["view"]["private_metadata"] == "meta-1" and "_user_id" not in payload["view"]
    values = payload["view"]["state"]["values"]
    assert values["company"]["company_name"] == {"type": "plain_text_input", "value": "Acme"}
    assert values["seats"]["seats"] == {"type": "number_input", "value": "40"}
    assert values["region"]["region"] == {
        "type": "static_select",
        "selected_option": {"text": {"type": "plain_text", "text": "EMEA"}, "value": "emea"},
    }
    assert values["flags"]["flags"]["selected_options"] == [
        {"text": {"type": "plain_text", "text": "Urgent"}, "value": "urgent"}
    ]
    assert values["ae"]["ae"] == {"type": "users_select", "selected_user": "U_AE1"}
    assert values["when"]["when"] == {"type": "datetimepicker", "selected_date_time": 1763800000}
    assert values["day"]["day"] == {"type": "datepicker", "selected_date": None}  # unanswered
    assert standin.open_views("U_SDR1") == []  # empty ack closes the modal
    with pytest.raises(KeyError, match="nope"):
        driver.submit_view("U_SDR1", view["id"], {"nope": 1})
    with pytest.raises(ValueError, match="apac"):
        driver.submit_view("U_SDR1", view["id"], {"region": "apac"})


def test_click_sends_block_actions(standin: SlackStandIn, client: WebClient, app_server: type[_Capture]) -> None:
    driver = _driver(standin, app_server)
    posted = client.chat_postMessage(channel="U_AE1", text="card", blocks=CARD)
    driver.click("U_AE1", "reject", message=(posted["channel"], posted["ts"]))
    payload = json.loads(dict(urllib.parse.parse_qsl(app_server.received[-1]["body"]))["payload"])
    assert payload["type"] == "block_actions"
    assert payload["container"] == {
        "type": "message", "message_ts": posted["ts"], "channel_id": "D_AE1", "is_ephemeral": False
    }
    [action] = payload["actions"]
    assert action["action_id"] == "reject" and action["block_id"] == "decide" and action["value"] == "h-1"
    assert payload["message"]["ts"] == posted["ts"] and payload["response_url"].startswith(standin.url)


def test_a_dispatching_input_sends_block_actions_and_an_update_keeps_what_was_typed(
        standin: SlackStandIn, client: WebClient, app_server: type[_Capture]) -> None:
    """Slack's rules: only an input block with dispatch_action sends block_actions, with the view and
    everything entered so far; views.update keeps an entry where block_id, action_id and type stay."""
    driver = _driver(standin, app_server)
    dispatching = {**MODAL, "blocks": [{**b, "dispatch_action": True} if b["block_id"] == "region" else b
                                       for b in MODAL["blocks"]]}
    view = client.views_open(trigger_id=standin.issue_trigger_id("U_SDR1"), view=dispatching)["view"]
    with pytest.raises(ValueError, match="dispatch_action"):
        driver.click("U_SDR1", "seats", view_id=view["id"], value=3)
    driver.click("U_SDR1", "region", view_id=view["id"], value="emea", answers={"company_name": "Acme", "seats": 40})
    payload = json.loads(dict(urllib.parse.parse_qsl(app_server.received[-1]["body"]))["payload"])
    assert payload["container"] == {"type": "view", "view_id": view["id"]} and payload["view"]["hash"] == view["hash"]
    [action] = payload["actions"]
    assert (action["block_id"], action["action_id"], action["selected_option"]["value"]) == ("region", "region", "emea")
    values = payload["view"]["state"]["values"]
    assert values["company"]["company_name"]["value"] == "Acme" and values["region"]["region"]["selected_option"]
    assert values["day"]["day"] == {"type": "datepicker", "selected_date": None}  # every input, as Slack sends

    # The app redraws the view: "seats" is gone, the company input renamed; the rest is kept.
    blocks = [b for b in dispatching["blocks"] if b["block_id"] != "seats"]
    blocks = [{**b, "element": {**b["element"], "action_id": "company"}} if b["block_id"] == "company" else b
              for b in blocks]
    client.views_update(view_id=view["id"], hash=view["hash"], view={**dispatching, "blocks": blocks})
    kept = standin.views[view["id"]]["state"]["values"]
    assert kept == {"region": {"region": values["region"]["region"]}}
    with pytest.raises(SlackApiError) as info:  # the hash of the view before the update is stale now
        client.views_update(view_id=view["id"], hash=view["hash"], view=dispatching)
    assert info.value.response["error"] == "hash_conflict"
    # A submission carries what is kept, unless typed again.
    driver.submit_view("U_SDR1", view["id"], {"company": "Globex"})
    submitted = json.loads(dict(urllib.parse.parse_qsl(app_server.received[-1]["body"]))["payload"])
    assert submitted["view"]["state"]["values"]["region"]["region"]["selected_option"]["value"] == "emea"
    assert submitted["view"]["state"]["values"]["company"]["company"]["value"] == "Globex"


# ---------------------------------------------------------------------- transcript


def test_transcript_renders_card(standin: SlackStandIn, client: WebClient) -> None:
    users = {"U_SDR1": "alice"}
    text = render_blocks(CARD, users)
    lines = text.splitlines()
    assert lines[0] == "# New handoff: Acme Corp"
    assert lines[1].startswith("SDR: @alice") and "Deal size: $40k & up" in lines[1]
    assert lines[2] == "Meeting: Nov 22"
    assert lines[3] == "  · Notes: Acme site (https://acme.test)"
    assert lines[4].startswith("───")
    assert lines[5] == "[*Accept*]  [!Reject!]"
    modal = render_view(MODAL)
    assert modal.splitlines()[0] == "=== Modal: New handoff ==="
    assert "Company* : <plain_text_input>" in modal and "Flags : <checkboxes>" in modal
    assert modal.splitlines()[-1] == "[ Cancel ]  [*Send*]"
    client.chat_postMessage(channel="U_SDR1", text="card", blocks=CARD)
    described = describe_event(standin.events[-1], standin.user_names())
    assert described.startswith("@alice · DM · new message\n# New handoff")


# ---------------------------------------------------------------------- history, metadata and held answers


def _meta(key: str) -> dict[str, Any]:
    return {"event_type": "handoff_outbox", "event_payload": {"key": key}}


def test_history_pages_newest_first_with_metadata_only_when_asked(standin: SlackStandIn, client: WebClient) -> None:
    posted = [client.chat_postMessage(channel="C_AMER", text=f"m{i}", metadata=_meta(f"k{i}"))["ts"] for i in range(5)]
    reply = client.chat_postMessage(channel="C_AMER", text="in thread", thread_ts=posted[0])["ts"]

    plain = client.conversations_history(channel="C_AMER")
    assert [m["ts"] for m in plain["messages"]] == posted[::-1]  # newest first; the thread reply is not in it
    assert all("metadata" not in m for m in plain["messages"]) and plain["has_more"] is False
    assert plain["messages"][-1]["reply_count"] == 1 and plain["messages"][-1]["latest_reply"] == reply

    seen, cursor = [], None
    while True:
        page = client.conversations_history(channel="C_AMER", oldest=posted[1], limit=2, cursor=cursor,
                                            include_all_metadata=True)
        seen += [m["metadata"]["event_payload"]["key"] for m in page["messages"]]
        cursor = page["response_metadata"]["next_cursor"]
        assert page["has_more"] is bool(cursor)
        if not cursor:
            break
    assert seen == ["k4", "k3", "k2"]  # oldest is exclusive
    inclusive = client.conversations_history(channel="C_AMER", oldest=posted[1], latest=posted[3], inclusive=True)
    assert [m["ts"] for m in inclusive["messages"]] == posted[3:0:-1]

    thread = client.conversations_replies(channel="C_AMER", ts=posted[0], include_all_metadata=True)
    assert [m["ts"] for m in thread["messages"]] == [posted[0], reply]
    assert thread["messages"][0]["metadata"] == _meta("k0")


def test_history_refuses_as_slack_does(standin: SlackStandIn, client: WebClient) -> None:
    standin.add_channel("C_OUTSIDE", name="sales", is_member=False)
    dm = client.chat_postMessage(channel="U_SDR1", text="hi")["channel"]
    cases = [
        (lambda: client.conversations_history(channel="U_SDR1"), "channel_not_found"),  # a user id is no channel
        (lambda: client.conversations_history(channel="C_NOWHERE"), "channel_not_found"),
        (lambda: client.conversations_history(channel="C_OUTSIDE"), "not_in_channel"),
        (lambda: client.conversations_replies(channel="C_AMER", ts="1.000001"), "thread_not_found"),
        (lambda: client.chat_postMessage(channel="C_AMER", text="x", metadata={"event_payload": {}}),
         "invalid_metadata_schema"),
    ]
    for call, error in cases:
        with pytest.raises(SlackApiError) as info:
            call()
        assert info.value.response["error"] == error
    assert client.conversations_history(channel=dm)["messages"][0]["text"] == "hi"
    standin.scopes = frozenset({"chat:write", "im:write"})
    with pytest.raises(SlackApiError) as info:
        client.conversations_history(channel=dm)
    assert (info.value.response["error"], info.value.response["needed"]) == ("missing_scope", "im:history")
    assert client.conversations_open(users="U_SDR1")["channel"]["id"] == dm


def test_a_held_answer_with_the_call_made_or_not(standin: SlackStandIn, client: WebClient) -> None:
    quick = WebClient(token=TOKEN, base_url=standin.base_url, timeout=1)
    standin.hold("chat.postMessage", applied=True)
    with pytest.raises(TimeoutError):
        quick.chat_postMessage(channel="C_AMER", text="made")
    standin.hold("chat.postMessage", applied=False)
    with pytest.raises(TimeoutError):
        quick.chat_postMessage(channel="C_AMER", text="never made")
    standin.wait_held(2)
    assert [m["text"] for m in standin.messages.values()] == ["made"]
    standin.release()  # the call never made is answered 503, and still not made
    deadline = time.monotonic() + 5
    while not [c for c in standin.calls_to("chat.postMessage") if c.status == 503]:
        assert time.monotonic() < deadline, "the held call was never answered"
        time.sleep(0.01)
    assert [m["text"] for m in standin.messages.values()] == ["made"]
