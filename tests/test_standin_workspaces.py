"""The stand-in as Slack with many workspaces: OAuth installs, tokens answered as their workspace, isolation."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.request.internals import extract_enterprise_id, extract_team_id
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.oauth.installation_store import FileInstallationStore
from slack_sdk.oauth.state_store import FileOAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox import SlackDriver, SlackStandIn

# slack_sdk's own way of sending the client's credentials (aiohttp's BasicAuth) warns of aiohttp 4.
pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")

TOKEN = "xoxb-test"
MODAL = {"type": "modal", "callback_id": "m", "title": {"type": "plain_text", "text": "M"},
         "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}]}


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    s = SlackStandIn(token=TOKEN, client_id="cid.123", client_secret="s3cret").start()
    s.add_user("U_SDR1", name="alice")  # the default workspace, T_HANDOFF
    s.add_channel("C_AMER", name="amer-sales")
    s.add_workspace("T_ACME", name="Acme", domain="acme")
    s.add_user("U_ACME1", name="wile", team_id="T_ACME")
    s.add_channel("C_ACME", name="amer-sales", team_id="T_ACME")  # the same name, another workspace
    yield s
    s.stop()


def _error(call: object) -> str:
    with pytest.raises(SlackApiError) as info:
        call()  # type: ignore[operator]
    return str(info.value.response["error"])


def _install(standin: SlackStandIn, team_id: str = "T_ACME", installer: str = "U_ACME1") -> str:
    code = standin.authorize(team_id, installer)
    return str(WebClient(base_url=standin.base_url).oauth_v2_access(
        client_id="cid.123", client_secret="s3cret", code=code)["access_token"])


def test_oauth_v2_access_answers_in_slacks_shape_and_the_token_is_that_workspaces(standin: SlackStandIn) -> None:
    code = standin.authorize("T_ACME", "U_ACME1", scopes=["commands", "chat:write"], user_scopes=["search:read"])
    # Form fields (client_id / client_secret in the body) are the other way Slack takes the client's credentials.
    raw = WebClient(base_url=standin.base_url).api_call(
        "oauth.v2.access", data={"client_id": "cid.123", "client_secret": "s3cret", "code": code})
    answer = raw.data
    assert isinstance(answer, dict)
    token = answer.pop("access_token")
    user = answer.pop("authed_user")
    assert answer == {
        "ok": True, "app_id": "A_HANDOFF", "scope": "commands,chat:write", "token_type": "bot",
        "bot_user_id": "U_BOT_T_ACME", "team": {"id": "T_ACME", "name": "Acme"},
        "enterprise": None, "is_enterprise_install": False,
    }
    assert token.startswith("xoxb-T_ACME-")
    assert user["id"] == "U_ACME1" and user["scope"] == "search:read" and user["token_type"] == "user"
    who = WebClient(token=token, base_url=standin.base_url).auth_test()
    assert (who["team_id"], who["user_id"], who["bot_id"], who["team"], who["url"]) == (
        "T_ACME", "U_BOT_T_ACME", "B_T_ACME", "Acme", "https://acme.slack.com/")
    assert who["is_enterprise_install"] is False
    # The secret is not kept in the record.
    [call] = standin.calls_to("oauth.v2.access")
    assert call.args["client_secret"] == "(redacted)" and call.team_id == "T_ACME"


def test_oauth_code_is_single_use_and_the_client_must_authenticate(standin: SlackStandIn) -> None:
    client = WebClient(base_url=standin.base_url)
    code = standin.authorize("T_ACME", "U_ACME1")
    assert _error(lambda: client.oauth_v2_access(client_id="cid.123", client_secret="wrong", code=code)) \
        == "bad_client_secret"
    assert _error(lambda: client.oauth_v2_access(client_id="nope", client_secret="s3cret", code=code)) \
        == "invalid_client_id"
    assert _error(lambda: client.oauth_v2_access(client_id="cid.123", client_secret="s3cret", code="made.up")) \
        == "invalid_code"
    # The refusals did not use the code up.
    assert client.oauth_v2_access(client_id="cid.123", client_secret="s3cret", code=code)["ok"]
    assert _error(lambda: client.oauth_v2_access(client_id="cid.123", client_secret="s3cret", code=code)) \
        == "invalid_code"
    # The installer is a user of the workspace being installed in, and only of it.
    with pytest.raises(ValueError):
        standin.authorize("T_ACME", "U_SDR1")


async def test_async_web_client_oauth_v2_access_as_bolt_calls_it(standin: SlackStandIn) -> None:
    """slack_sdk sends the client id and secret as HTTP Basic auth, the code and redirect_uri as form fields."""
    code = standin.authorize("T_ACME", "U_ACME1", redirect_uri="https://handoff.example/slack/oauth_redirect")
    client = AsyncWebClient(base_url=standin.base_url)
    answer = await client.oauth_v2_access(
        code=code, client_id="cid.123", client_secret="s3cret",
        redirect_uri="https://handoff.example/slack/oauth_redirect")
    assert answer["team"] == {"id": "T_ACME", "name": "Acme"} and answer["bot_user_id"] == "U_BOT_T_ACME"
    who = await client.auth_test(token=answer["access_token"])  # what run_installation does next
    assert who["bot_id"] == "B_T_ACME" and who["team_id"] == "T_ACME"
    code = standin.authorize("T_ACME", "U_ACME1", redirect_uri="https://handoff.example/slack/oauth_redirect")
    with pytest.raises(SlackApiError) as info:
        await client.oauth_v2_access(code=code, client_id="cid.123", client_secret="s3cret",
                                     redirect_uri="https://evil.example/cb")
    assert info.value.response["error"] == "bad_redirect_uri"


async def test_bolt_oauth_flow_installs_into_a_grid_workspace(standin: SlackStandIn, tmp_path: Path) -> None:
    """Bolt's own callback handling: state check, oauth.v2.access, auth.test, the installation stored."""
    standin.add_workspace("T_GRID", name="Grid Sales", domain="grid-sales", enterprise_id="E_ORG",
                          enterprise_name="Org")
    store = FileInstallationStore(base_dir=str(tmp_path / "installs"))
    flow = AsyncOAuthFlow(
        client=AsyncWebClient(base_url=standin.base_url),
        settings=AsyncOAuthSettings(
            client_id="cid.123", client_secret="s3cret", scopes=["commands", "chat:write"],
            installation_store=store,
            state_store=FileOAuthStateStore(expiration_seconds=60, base_dir=str(tmp_path / "states")),
        ),
    )
    state = await flow.issue_new_state(AsyncBoltRequest(body=""))
    code = standin.authorize("T_GRID", "U_GRID_ADMIN")
    response = await flow.handle_callback(AsyncBoltRequest(
        body="", query=f"code={code}&state={state}",
        headers={"cookie": f"{flow.settings.state_utils.cookie_name}={state}"}))
    assert response.status == 200, response.body
    installed = await store.async_find_installation(enterprise_id="E_ORG", team_id="T_GRID")
    assert installed is not None and installed.bot_token is not None
    assert (installed.bot_id, installed.bot_user_id, installed.user_id, installed.enterprise_name) == (
        "B_T_GRID", "U_BOT_T_GRID", "U_GRID_ADMIN", "Org")
    assert standin.token_team(installed.bot_token) == "T_GRID"
    assert [c.team_id for c in standin.calls_to("auth.test")] == ["T_GRID"]


def test_each_token_is_answered_as_its_workspace(standin: SlackStandIn) -> None:
    acme = WebClient(token=_install(standin), base_url=standin.base_url)
    home = WebClient(token=TOKEN, base_url=standin.base_url)
    assert home.auth_test()["team_id"] == "T_HANDOFF" and home.auth_test()["user_id"] == "U_HANDOFF_BOT"
    assert acme.auth_test()["team_id"] == "T_ACME"
    standin.add_token("xoxb-fixed", "T_ACME")
    assert WebClient(token="xoxb-fixed", base_url=standin.base_url).auth_test()["bot_id"] == "B_T_ACME"
    assert _error(WebClient(token="xoxb-unknown", base_url=standin.base_url).auth_test) == "invalid_auth"
    # The bot's post carries its workspace's bot and team.
    posted = acme.chat_postMessage(channel="C_ACME", text="hi")["message"]
    assert (posted["team"], posted["bot_id"], posted["user"]) == ("T_ACME", "B_T_ACME", "U_BOT_T_ACME")
    assert home.chat_postMessage(channel="#amer-sales", text="hi")["channel"] == "C_AMER"  # names are per workspace
    assert acme.chat_postMessage(channel="#amer-sales", text="hi")["channel"] == "C_ACME"


def test_workspaces_do_not_see_each_others_people_or_conversations(standin: SlackStandIn) -> None:
    acme = WebClient(token=_install(standin), base_url=standin.base_url)
    home = WebClient(token=TOKEN, base_url=standin.base_url)
    assert acme.users_info(user="U_ACME1")["user"]["team_id"] == "T_ACME"
    assert home.users_info(user="U_SDR1")["user"]["team_id"] == "T_HANDOFF"
    assert _error(lambda: acme.users_info(user="U_SDR1")) == "user_not_found"
    assert _error(lambda: home.users_info(user="U_ACME1")) == "user_not_found"
    assert _error(lambda: acme.chat_postMessage(channel="C_AMER", text="x")) == "channel_not_found"
    assert _error(lambda: home.chat_postMessage(channel="C_ACME", text="x")) == "channel_not_found"
    assert _error(lambda: acme.chat_postMessage(channel="U_SDR1", text="x")) == "channel_not_found"
    assert _error(lambda: acme.chat_postMessage(channel="D_SDR1", text="x")) == "channel_not_found"
    assert _error(lambda: acme.conversations_open(users="U_SDR1")) == "user_not_found"
    assert _error(lambda: acme.chat_postEphemeral(channel="C_ACME", user="U_SDR1", text="x")) == "user_not_found"
    assert _error(lambda: acme.views_publish(user_id="U_SDR1", view={"type": "home", "blocks": []})) \
        == "user_not_found"
    ts = home.chat_postMessage(channel="C_AMER", text="x")["ts"]
    assert _error(lambda: acme.chat_update(channel="C_AMER", ts=ts, text="y")) == "channel_not_found"
    # Its own people it reaches.
    assert acme.conversations_open(users="U_ACME1")["channel"]["id"] == "D_ACME1"
    assert acme.chat_postMessage(channel="U_ACME1", text="x")["channel"] == "D_ACME1"


def test_trigger_ids_and_views_belong_to_a_workspace(standin: SlackStandIn) -> None:
    acme = WebClient(token=_install(standin), base_url=standin.base_url)
    home = WebClient(token=TOKEN, base_url=standin.base_url)
    trigger = standin.issue_trigger_id("U_SDR1")  # a T_HANDOFF user's click
    assert _error(lambda: acme.views_open(trigger_id=trigger, view=MODAL)) == "invalid_trigger_id"
    view = home.views_open(trigger_id=trigger, view=MODAL)["view"]  # still unused: its own workspace takes it
    assert view["team_id"] == view["app_installed_team_id"] == "T_HANDOFF"
    assert _error(lambda: acme.views_update(view_id=view["id"], view=MODAL)) == "not_found"
    theirs = acme.views_open(trigger_id=standin.issue_trigger_id("U_ACME1"), view=MODAL)["view"]
    assert (theirs["team_id"], theirs["bot_id"]) == ("T_ACME", "B_T_ACME")


def test_revoked_token_answers_token_revoked(standin: SlackStandIn) -> None:
    token = _install(standin)
    acme = WebClient(token=token, base_url=standin.base_url)
    assert acme.auth_test()["ok"]
    standin.revoke(token)
    assert _error(acme.auth_test) == "token_revoked"
    assert _error(lambda: acme.chat_postMessage(channel="C_ACME", text="x")) == "token_revoked"
    assert standin.token_team(token) is None
    assert WebClient(token=TOKEN, base_url=standin.base_url).auth_test()["ok"]  # the others carry on


def test_auth_revoke_and_uninstall_end_only_that_workspaces_tokens(standin: SlackStandIn) -> None:
    first, second = _install(standin), _install(standin)
    acme = WebClient(token=first, base_url=standin.base_url)
    assert acme.auth_revoke(test=True)["revoked"] is True and acme.auth_test()["ok"]  # test=true only asks
    assert acme.auth_revoke()["revoked"] is True
    assert _error(acme.auth_test) == "token_revoked"
    assert standin.uninstall("T_ACME") == [second]
    assert _error(WebClient(token=second, base_url=standin.base_url).auth_test) == "token_revoked"
    assert WebClient(token=TOKEN, base_url=standin.base_url).auth_test()["team_id"] == "T_HANDOFF"


def test_driver_uninstall_revokes_then_tells_the_app(standin: SlackStandIn) -> None:
    received: list[dict[str, object]] = []

    class App(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server API)
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), App)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    try:
        token = _install(standin)
        driver = SlackDriver(f"http://127.0.0.1:{server.server_address[1]}/slack/events", "secret", standin, "T_ACME")
        assert driver.app_uninstalled().status == 200
    finally:
        server.shutdown()
        server.server_close()
    assert standin.token_team(token) is None and standin.token_team(TOKEN) == "T_HANDOFF"
    events = [(r["team_id"], r["event"]) for r in received]
    assert [(team, e["type"]) for team, e in events] == [  # type: ignore[index]
        ("T_ACME", "tokens_revoked"), ("T_ACME", "app_uninstalled")]
    assert events[0][1]["tokens"] == {"bot": ["U_BOT_T_ACME"]}  # type: ignore[index]


def test_a_failure_can_hit_one_workspace_only(standin: SlackStandIn) -> None:
    acme = WebClient(token=_install(standin), base_url=standin.base_url, retry_handlers=[])
    home = WebClient(token=TOKEN, base_url=standin.base_url, retry_handlers=[])
    standin.fail("chat.postMessage", retry_after=3, team_id="T_ACME")
    assert home.chat_postMessage(channel="C_AMER", text="x")["ok"]  # not its workspace: the rule waits
    with pytest.raises(SlackApiError) as info:
        acme.chat_postMessage(channel="C_ACME", text="x")
    assert info.value.response.status_code == 429
    assert acme.chat_postMessage(channel="C_ACME", text="x")["ok"]  # used up


def test_recorded_calls_and_events_carry_the_workspace(standin: SlackStandIn) -> None:
    acme = WebClient(token=_install(standin), base_url=standin.base_url)
    home = WebClient(token=TOKEN, base_url=standin.base_url)
    home.chat_postMessage(channel="C_AMER", text="home")
    acme.chat_postMessage(channel="C_ACME", text="acme")
    with pytest.raises(SlackApiError):
        WebClient(token="xoxb-nobody", base_url=standin.base_url).chat_postMessage(channel="C_AMER", text="x")
    assert [c.team_id for c in standin.calls_to("chat.postMessage")] == ["T_HANDOFF", "T_ACME", None]
    assert [c.args["text"] for c in standin.calls_to("chat.postMessage", team_id="T_ACME")] == ["acme"]
    assert [(e.text, e.team_id) for e in standin.events] == [("home", "T_HANDOFF"), ("acme", "T_ACME")]


def test_driver_speaks_for_its_workspace(standin: SlackStandIn) -> None:
    """Payloads carry the workspace (and its Enterprise Grid org) where Slack puts them, so Bolt routes them."""
    standin.add_workspace("T_GRID", name="Grid", domain="grid", enterprise_id="E_ORG", enterprise_name="Org")
    standin.add_user("U_GRID1", name="gus", team_id="T_GRID")
    home = SlackDriver("http://127.0.0.1:9/unused", "secret", standin)
    grid = home.for_workspace("T_GRID")
    fields = grid.slash_command_fields("U_GRID1", "list", channel_id=standin.workspace("T_GRID").general_channel_id)
    assert (fields["team_id"], fields["team_domain"], fields["enterprise_id"], fields["enterprise_name"]) == (
        "T_GRID", "grid", "E_ORG", "Org")
    assert "enterprise_id" not in home.slash_command_fields("U_SDR1")
    envelope = grid.event_envelope({"type": "app_home_opened", "user": "U_GRID1"})
    assert envelope["authorizations"] == [{"enterprise_id": "E_ORG", "team_id": "T_GRID", "user_id": "U_BOT_T_GRID",
                                           "is_bot": True, "is_enterprise_install": False}]
    assert (extract_team_id(envelope), extract_enterprise_id(envelope)) == ("T_GRID", "E_ORG")
    plain = home.event_envelope({"type": "app_home_opened", "user": "U_SDR1"})
    assert (extract_team_id(plain), extract_enterprise_id(plain)) == ("T_HANDOFF", None)
    # A modal opened with the grid workspace's token, from a trigger its driver issued.
    standin.add_token("xoxb-grid", "T_GRID")
    grid_client = WebClient(token="xoxb-grid", base_url=standin.base_url)
    view = grid_client.views_open(trigger_id=grid.issue_trigger_id("U_GRID1"), view=MODAL)["view"]
    payload = grid.view_submission_payload("U_GRID1", view["id"])
    assert payload["team"] == {"id": "T_GRID", "domain": "grid", "enterprise_id": "E_ORG", "enterprise_name": "Org"}
    assert payload["user"]["team_id"] == "T_GRID" and payload["enterprise"] == {"id": "E_ORG", "name": "Org"}
    assert payload["is_enterprise_install"] is False
    assert (extract_team_id(payload), extract_enterprise_id(payload)) == ("T_GRID", "E_ORG")
    assert _error(lambda: WebClient(token=TOKEN, base_url=standin.base_url).views_open(
        trigger_id=grid.issue_trigger_id("U_GRID1"), view=MODAL)) == "invalid_trigger_id"
