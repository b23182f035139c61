"""An org-wide (Enterprise Grid) install: one OAuth install for a whole org, whose workspaces share its people,
its handoffs and its token; a separate workspace installed beside it sees none of it. Driven over signed HTTP
against the stand-in, installed through the real OAuth redirect."""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import time

import pytest
from sqlmodel import select as orm_select

from conftest import OAUTH_CLIENT, oauth_bot
from bot.core.teams import Member, TeamPolicy
from bot.sandbox import SlackDriver, SlackStandIn
from bot.sandbox.driver import JSON
from bot.sandbox.local_bot import LocalBot
from storage import teams as team_store
from storage.models import HandoffRow, OutboxMessage
from tests.flow import card_for, open_form, submit
from tests.teams_fixture import ny, settle, tick_at

# slack_sdk sends the client's credentials with aiohttp's BasicAuth, which warns of aiohttp 4.
pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")

CLIENT_ID, CLIENT_SECRET = OAUTH_CLIENT
ORG, SALES, SUCCESS = "E_GLOBEX", "T_GXSALES", "T_GXSUCCESS"  # one org, two workspaces
SOLO = "T_SOLO"  # a workspace of its own, installed on its own
# Globex's SDR and manager are in its sales workspace, its AE in its success workspace; the team's channel is
# in sales. Solo has its own people and a team with the same id.
SDR, AE, MGR, CHANNEL = "W_GSDR", "W_GAE", "W_GMGR", "C_GXAMER"
SOLO_SDR, SOLO_AE, SOLO_MGR, SOLO_CHANNEL = "U_SSDR", "U_SAE", "U_SMGR", "C_SOLO"


def team(sdr: str, ae: str, manager: str, channel: str, name: str) -> TeamPolicy:
    return TeamPolicy(
        id="amer", name=name, region="AMER", channel_id=channel, tz="America/New_York",
        day_start=time(9, 0), day_end=time(17, 0), holiday_country="US", sync_weekday=0, sync_time=time(10, 0),
        sla_hours=8.0, sla_from="submission", heads_up_fraction=0.75, escalate_after_hours=4.0, min_notice_hours=0,
        members=(Member(sdr, "sdr", manager_id=manager, paired_ae_id=ae), Member(ae, "ae", manager_id=manager),
                 Member(manager, "manager")),
    )


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    s = SlackStandIn(token="xoxb-unused", client_id=CLIENT_ID, client_secret=CLIENT_SECRET).start()
    s.add_workspace(SALES, name="Globex Sales", domain="globex-sales", enterprise_id=ORG, enterprise_name="Globex")
    s.add_workspace(SUCCESS, name="Globex Success", domain="globex-success", enterprise_id=ORG,
                    enterprise_name="Globex")
    s.add_workspace(SOLO, name="Solo", domain="solo")
    for user, name, workspace in ((SDR, "gsdr", SALES), (MGR, "gmgr", SALES), (AE, "gae", SUCCESS),
                                  (SOLO_SDR, "ssdr", SOLO), (SOLO_AE, "sae", SOLO), (SOLO_MGR, "smgr", SOLO)):
        s.add_user(user, name, tz="America/New_York", team_id=workspace)
    s.add_channel(CHANNEL, "amer-sales", team_id=SALES)
    s.add_channel(SOLO_CHANNEL, "amer-sales", team_id=SOLO)
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def bot(standin: SlackStandIn, db_url: str) -> Iterator[LocalBot]:
    with oauth_bot(standin, db_url) as running:
        yield running


@pytest.fixture
def installed(bot: LocalBot, standin: SlackStandIn) -> tuple[SlackDriver, SlackDriver, SlackDriver]:
    """Globex installed org-wide by its manager, Solo by its own; each with its team "amer"."""
    status, page = bot.install(ORG, MGR, org_wide=True)
    assert status == 200, page
    status, page = bot.install(SOLO, SOLO_MGR)
    assert status == 200, page
    assert bot.clock is not None
    team_store.replace_teams(bot.db.scoped(ORG), [team(SDR, AE, MGR, CHANNEL, "AMER Globex")], bot.clock.now())
    team_store.replace_teams(bot.db.scoped(SOLO), [team(SOLO_SDR, SOLO_AE, SOLO_MGR, SOLO_CHANNEL, "AMER Solo")],
                             bot.clock.now())
    return bot.driver.for_workspace(SALES), bot.driver.for_workspace(SUCCESS), bot.driver.for_workspace(SOLO)


def test_an_org_wide_install_stores_one_token_for_the_org(bot: LocalBot, standin: SlackStandIn, monkeypatch, capsys):
    status, page = bot.install(ORG, MGR, org_wide=True)
    assert status == 200, page
    [access] = standin.calls_to("oauth.v2.access")
    assert access.response["team"] is None and access.response["is_enterprise_install"] is True
    assert access.response["enterprise"] == {"id": ORG, "name": "Globex"}
    # Bolt asked who the token is (auth.test), and Slack answered as the org.
    [who] = standin.calls_to("auth.test")
    assert (who.response["team_id"], who.response["is_enterprise_install"]) == (ORG, True)
    # Bolt's success page sends an org admin to add the app to the org's workspaces.
    assert "enterprise.slack.com/manage/organization/apps/profile/" in page, page
    # The org's key finds the token; a workspace of the org has no install of its own.
    org = bot.call(bot.wiring.workspaces.get(ORG))
    assert org is not None and org.client.token == access.response["access_token"]
    assert bot.call(bot.wiring.workspaces.get(SALES)) is None
    assert bot.call(bot.wiring.workspaces.get(SOLO)) is None
    # `handoff-bot workspaces` lists the org by its id.
    from bot.cli import main as cli

    monkeypatch.setenv("DATABASE_URL", bot.settings.database_url)
    monkeypatch.setenv("SLACK_CLIENT_ID", CLIENT_ID)
    assert cli(["workspaces"]) == 0
    assert capsys.readouterr().out.split() == [ORG, "0", "handoffs", "0", "teams", "installed", "org-wide"]


def test_a_handoff_across_two_workspaces_of_the_org(bot: LocalBot, standin: SlackStandIn, installed):
    sales, success, _solo = installed
    # The SDR in the sales workspace opens the form: the paired AE, from the success workspace, is prefilled.
    open_form(standin, sales, SDR)
    [opened] = standin.calls_to("views.open")
    assert opened.ok and opened.team_id == ORG and AE in json.dumps(opened.args["view"])
    assert opened.response["view"]["team_id"] == SALES
    assert opened.response["view"]["app_installed_team_id"] == ORG
    assert submit(standin, sales, SDR, ae_id=AE).status == 200
    card = card_for(standin, AE)  # the AE's DM, in the other workspace, with the org's token
    settle(bot)
    with bot.db.read() as session:
        [row] = session.exec(orm_select(HandoffRow)).all()
    assert (row.workspace, row.slack_team_id, row.ae_id, row.state) == (ORG, SALES, AE, "pending")
    posted = [c for c in standin.calls_to("chat.postMessage")]
    assert posted and all(c.ok and c.team_id == ORG for c in posted), [c.response for c in posted if not c.ok]
    assert CHANNEL in {c.args["channel"] for c in posted}  # the team's channel, in the sales workspace

    # The AE accepts in the success workspace: the same org, the same handoff.
    assert success.click(AE, "handoff_accept", message=card).status == 200
    settle(bot)
    with bot.db.read() as session:
        assert session.exec(orm_select(HandoffRow.state)).one() == "accepted"
    # Each sees it in their own workspace's /handoff list, and on their Home tab (an event: authorized for the org).
    for driver, who in ((sales, SDR), (success, AE)):
        listed = driver.slash_command(who, "list")
        assert listed.status == 200 and "H-1" in listed.body, listed.body
        assert driver.app_home_opened(who).status == 200
        standin.wait_for("views.publish", where=lambda c, who=who: c.args.get("user_id") == who)
        settle(bot)
        home = standin.home_view(who)
        assert home is not None and "Acme Corp" in json.dumps(home), home


def test_the_scheduler_chases_with_the_orgs_token(bot: LocalBot, standin: SlackStandIn, installed):
    sales, _success, solo = installed
    assert submit(standin, sales, SDR, ae_id=AE).status == 200
    assert submit(standin, solo, SOLO_SDR, ae_id=SOLO_AE).status == 200
    card_for(standin, AE)
    card_for(standin, SOLO_AE)
    settle(bot)
    before = len(standin.calls_to("chat.postMessage"))
    report = tick_at(bot, ny(2026, 11, 24, 15, 0))  # past both 8-hour SLAs, into the escalations
    settle(bot)
    assert report.reminders >= 2
    chased = standin.calls_to("chat.postMessage")[before:]
    assert chased and all(c.ok for c in chased), [c.response for c in chased if not c.ok]
    to_globex = {c.team_id for c in chased if c.args.get("channel") in (SDR, AE, MGR, CHANNEL)}
    to_solo = {c.team_id for c in chased if c.args.get("channel") in (SOLO_SDR, SOLO_AE, SOLO_MGR, SOLO_CHANNEL)}
    assert (to_globex, to_solo) == ({ORG}, {SOLO})
    with bot.db.read() as session:
        keys = {w for w in session.exec(orm_select(OutboxMessage.workspace)).all()}
    assert keys == {ORG, SOLO}


def test_a_workspace_installed_beside_the_org_sees_none_of_it(bot: LocalBot, standin: SlackStandIn, installed):
    sales, success, solo = installed
    assert submit(standin, sales, SDR, ae_id=AE).status == 200
    card = card_for(standin, AE)
    settle(bot)
    # Solo's AE clicks Accept with Globex's button value: no such handoff in Solo.
    assert solo.click(SOLO_AE, "handoff_accept", message=card).status == 200
    settle(bot)
    told = [c.args["text"] for c in standin.calls_to("chat.postEphemeral") if c.args.get("user") == SOLO_AE]
    assert told == ["That handoff no longer exists."], told
    shown = solo.slash_command(SOLO_SDR, "show H-1")
    assert shown.status == 200 and "There is no handoff H-1." in shown.body, shown.body
    # Nor can Solo's token reach Globex's people: its AE is not to be picked in Solo.
    refused = submit(standin, solo, SOLO_SDR, ae_id=AE)
    assert refused.status == 200, refused.body
    assert "can't find that person in this workspace" in refused.json()["errors"]["ae_id"]  # type: ignore[index]
    with bot.db.read() as session:
        rows = session.exec(orm_select(HandoffRow.workspace, HandoffRow.ae_id)).all()
    assert sorted(rows) == [(ORG, AE)], rows
    # A user of the org counts the org's handoff, in either of its workspaces.
    bot.clock.set(ny(2026, 11, 23, 9, 1))  # type: ignore[union-attr]
    for driver in (sales, success):
        stats = driver.slash_command(MGR, "stats team amer").json()
        assert stats is not None and "team AMER Globex, last 30 days: 1 handoff," in stats["text"], stats
    stats = solo.slash_command(SOLO_MGR, "stats team amer").json()
    assert stats is not None and "team AMER Solo, last 30 days: 0 handoffs" in stats["text"], stats
    # The org's export holds the org's one handoff, sent to the manager's DM with the org's token.
    assert sales.slash_command(MGR, "export team").status == 200
    [done] = standin.wait_for("files.completeUploadExternal", timeout=20,
                              where=lambda c: "csv" in str(c.response.get("files")))
    [shared] = done.response["files"]
    lines = standin.file_bytes(shared["id"]).decode().splitlines()
    assert done.team_id == ORG and len(lines) == 2 and lines[1].startswith("H-1,"), lines


@pytest.mark.parametrize("authorized_team", [None, SUCCESS], ids=["org-authorization", "workspace-in-authorization"])
def test_uninstalling_the_org_stops_serving_it(bot: LocalBot, standin: SlackStandIn, installed,
                                                authorized_team: str | None):
    """Slack's uninstall of an org-wide app: tokens_revoked and app_uninstalled, authorized for the org. Bolt's own
    tests show the authorization without a team; Slack's reference shows one with a workspace's id: either way
    the org's token goes, and the workspace installed beside it stays."""
    sales, success, solo = installed
    assert submit(standin, sales, SDR, ae_id=AE).status == 200
    card_for(standin, AE)
    settle(bot)
    revoked = standin.uninstall(ORG)
    assert revoked
    for event in ({"type": "tokens_revoked", "tokens": {"bot": [standin.org(ORG).bot_user_id]}},
                  {"type": "app_uninstalled"}):
        envelope = success.event_envelope(event)
        envelope["authorizations"][0]["team_id"] = authorized_team
        assert success.post(json.dumps(envelope), JSON).status == 200
    settle(bot)
    assert bot.call(bot.wiring.workspaces.get(ORG)) is None
    # Nothing more for the org: not served, not chased.
    before = len(standin.calls)
    response = sales.slash_command(SDR)
    assert response.status == 200
    assert [c.method for c in standin.calls[before:]] == ["response_url"]  # Bolt's "install the app first"
    tick_at(bot, ny(2026, 11, 24, 15, 0))
    settle(bot)
    assert not [c for c in standin.calls[before:] if c.method == "chat.postMessage"]
    # The org's records stay; Solo is served as before.
    with bot.db.read() as session:
        assert session.exec(orm_select(HandoffRow.workspace)).all() == [ORG]
    open_form(standin, solo, SOLO_SDR)


def test_the_driver_speaks_for_an_org_wide_app(standin: SlackStandIn):
    """Payloads from any workspace of an org with the app installed org-wide carry the org and say so."""
    from slack_bolt.request.internals import extract_enterprise_id, extract_is_enterprise_install, extract_team_id
    from slack_sdk import WebClient

    code = standin.authorize_org(ORG, MGR)
    answer = WebClient(base_url=standin.base_url).oauth_v2_access(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, code=code)
    token = answer["access_token"]
    org = WebClient(token=token, base_url=standin.base_url)
    who = org.auth_test()
    assert (who["team_id"], who["enterprise_id"], who["is_enterprise_install"], who["url"]) == (
        ORG, ORG, True, "https://e-globex.enterprise.slack.com/")
    # One token for every workspace of the org: its people and channels; not Solo's.
    assert org.users_info(user=AE)["user"]["team_id"] == SUCCESS
    assert org.users_info(user=SDR)["user"]["enterprise_user"]["enterprise_id"] == ORG
    assert org.chat_postMessage(channel=CHANNEL, text="hi")["ok"]
    assert org.chat_postMessage(channel=AE, text="hi")["channel"] == "D_GAE"
    from slack_sdk.errors import SlackApiError
    with pytest.raises(SlackApiError):
        org.users_info(user=SOLO_AE)
    with pytest.raises(SlackApiError):
        org.chat_postMessage(channel=SOLO_CHANNEL, text="x")

    driver = SlackDriver("http://127.0.0.1:9/unused", "secret", standin, SUCCESS)
    fields = driver.slash_command_fields(AE, "list")
    assert (fields["team_id"], fields["enterprise_id"], fields["is_enterprise_install"]) == (SUCCESS, ORG, "true")
    envelope = driver.event_envelope({"type": "app_home_opened", "user": AE})
    assert envelope["authorizations"] == [{"enterprise_id": ORG, "team_id": None, "user_id": "W_BOT_E_GLOBEX",
                                           "is_bot": True, "is_enterprise_install": True}]
    assert (extract_team_id(envelope), extract_enterprise_id(envelope), extract_is_enterprise_install(envelope)) \
        == (None, ORG, True)
    view = org.views_open(trigger_id=driver.issue_trigger_id(AE), view={
        "type": "modal", "title": {"type": "plain_text", "text": "M"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}]})["view"]
    assert (view["team_id"], view["app_installed_team_id"]) == (SUCCESS, ORG)
    payload = driver.view_submission_payload(AE, view["id"])
    assert payload["is_enterprise_install"] is True and payload["enterprise"] == {"id": ORG, "name": "Globex"}
    assert (extract_team_id(payload), extract_enterprise_id(payload)) == (ORG, ORG)
    # Solo's driver is untouched by the org's install.
    solo = driver.for_workspace(SOLO)
    assert solo.slash_command_fields(SOLO_SDR)["is_enterprise_install"] == "false"


def test_a_workspace_of_an_org_installed_on_its_own_is_served_and_chased(bot: LocalBot, standin: SlackStandIn,
                                                                         db_url: str):
    """Not org-wide: one workspace of a Grid org installs the app for itself. Its records are the workspace's,
    and the outbox and the scheduler, which know it by its team id alone, find its token (stored with its org's
    id), in a copy of the bot that has served no request of it (a restart, a replica)."""
    initech, sdr, ae, manager, channel = "T_INITECH", "W_ISDR", "W_IAE", "W_IMGR", "C_INITECH"
    standin.add_workspace(initech, name="Initech", domain="initech", enterprise_id="E_INITECH",
                          enterprise_name="Initech Group")
    for user, name in ((sdr, "isdr"), (ae, "iae"), (manager, "imgr")):
        standin.add_user(user, name, tz="America/New_York", team_id=initech)
    standin.add_channel(channel, "amer-sales", team_id=initech)
    status, page = bot.install(initech, manager)
    assert status == 200, page
    [access] = standin.calls_to("oauth.v2.access")
    assert access.response["enterprise"] == {"id": "E_INITECH", "name": "Initech Group"}
    assert access.response["is_enterprise_install"] is False
    team_store.replace_teams(bot.db.scoped(initech), [team(sdr, ae, manager, channel, "AMER Initech")],
                             bot.clock.now())  # type: ignore[union-attr]
    driver = bot.driver.for_workspace(initech)
    assert not driver.org_wide
    assert submit(standin, driver, sdr, ae_id=ae).status == 200
    card_for(standin, ae)  # delivered by the outbox
    settle(bot)
    before = len(standin.calls_to("chat.postMessage"))
    with LocalBot(standin, db_url, clock=bot.clock, channel_post_interval=0.0, bot_token="", client_id=CLIENT_ID,
                  client_secret=CLIENT_SECRET) as restarted:
        assert tick_at(restarted, ny(2026, 11, 24, 15, 0)).reminders >= 1
        settle(restarted)
    chased = standin.calls_to("chat.postMessage")[before:]
    assert chased and all(c.ok and c.team_id == initech for c in chased)
    with bot.db.read() as session:
        assert session.exec(orm_select(HandoffRow.workspace)).all() == [initech]


def test_a_workspace_installed_on_its_own_moves_into_its_orgs_install(bot: LocalBot, standin: SlackStandIn,
                                                                      monkeypatch, capsys):
    """The sales workspace had the app on its own; then the org installs it org-wide, and every payload from
    sales is the org's: `handoff-bot workspaces --adopt E… --from T…` moves sales' records into the org."""
    from bot.cli import main as cli

    local_ae = "W_GAE2"
    standin.add_user(local_ae, "gae2", tz="America/New_York", team_id=SALES)
    assert bot.install(SALES, MGR)[0] == 200
    assert bot.clock is not None
    team_store.replace_teams(bot.db.scoped(SALES), [team(SDR, local_ae, MGR, CHANNEL, "AMER Globex")],
                             bot.clock.now())
    sales = bot.driver.for_workspace(SALES)
    assert submit(standin, sales, SDR, ae_id=local_ae).status == 200
    card_for(standin, local_ae)
    settle(bot)

    assert bot.install(ORG, MGR, org_wide=True)[0] == 200
    assert sales.org_wide
    listed = sales.slash_command(SDR, "list")
    assert "H-1" not in listed.body, listed.body  # the org's records: none yet

    monkeypatch.setenv("DATABASE_URL", bot.settings.database_url)
    assert cli(["workspaces", "--adopt", ORG, "--from", SALES]) == 0
    said = capsys.readouterr().out
    assert said.startswith(f"moved into {ORG}: 1 handoff,") and "1 team," in said, said
    assert cli(["workspaces", "--adopt", ORG, "--from", ORG]) == 2
    assert "nothing moved" in capsys.readouterr().err

    listed = sales.slash_command(SDR, "list")
    assert listed.status == 200 and "H-1" in listed.body, listed.body
    with bot.db.read() as session:
        assert session.exec(orm_select(HandoffRow.workspace)).all() == [ORG]
    before = len(standin.calls_to("chat.postMessage"))
    assert tick_at(bot, ny(2026, 11, 24, 15, 0)).reminders >= 1
    settle(bot)
    chased = standin.calls_to("chat.postMessage")[before:]
    assert chased and all(c.ok and c.team_id == ORG for c in chased), [c.response for c in chased]
