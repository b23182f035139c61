"""Many workspaces: each installed through Slack's OAuth flow (Bolt's, against the stand-in's oauth.v2.access),
each served on its own records: nobody in one sees, counts or touches another's handoffs or teams."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import time

import pytest
from sqlalchemy import func, select
from sqlmodel import select as orm_select

from conftest import OAUTH_CLIENT, oauth_bot
from bot.core.teams import Member, TeamPolicy
from bot.runtime.config import ConfigError, load_settings
from bot.sandbox import SlackDriver, SlackStandIn
from bot.sandbox.local_bot import LocalBot, _get
from storage import teams as team_store
from storage.models import HandoffRow, OutboxMessage, Team
from bot.runtime.clock import ManualClock
from tests.flow import card_for, open_form, submit
from tests.teams_fixture import settle, tick_at, ny

# slack_sdk sends the client's credentials with aiohttp's BasicAuth, which warns of aiohttp 4.
pytestmark = pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning")

CLIENT_ID, CLIENT_SECRET = OAUTH_CLIENT
ACME, BOLT = "T_ACME", "T_BOLTCO"
# Each workspace's people; the same team id ("amer") in both, with its own channel.
PEOPLE = {ACME: ("U_ASDR", "U_AAE", "U_AMGR", "C_ACME"), BOLT: ("U_BSDR", "U_BAE", "U_BMGR", "C_BOLT")}


def team_of(workspace: str) -> TeamPolicy:
    sdr, ae, manager, channel = PEOPLE[workspace]
    return TeamPolicy(
        id="amer", name=f"AMER {workspace}", region="AMER", channel_id=channel, tz="America/New_York",
        day_start=time(9, 0), day_end=time(17, 0), holiday_country="US", sync_weekday=0, sync_time=time(10, 0),
        sla_hours=8.0, sla_from="submission", heads_up_fraction=0.75, escalate_after_hours=4.0,
        min_notice_hours=0,
        members=(Member(sdr, "sdr", manager_id=manager, paired_ae_id=ae), Member(ae, "ae", manager_id=manager),
                 Member(manager, "manager")),
    )


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    s = SlackStandIn(token="xoxb-unused", client_id=CLIENT_ID, client_secret=CLIENT_SECRET).start()
    for workspace, name in ((ACME, "Acme"), (BOLT, "Bolt Co")):
        s.add_workspace(workspace, name=name, domain=name.lower().replace(" ", ""))
        sdr, ae, manager, channel = PEOPLE[workspace]
        for user, who in ((sdr, "sdr"), (ae, "ae"), (manager, "mgr")):
            s.add_user(user, f"{who}-{workspace.lower()}", tz="America/New_York", team_id=workspace)
        s.add_channel(channel, "amer-sales", team_id=workspace)  # the same channel name in both
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def bot(standin: SlackStandIn, db_url: str) -> Iterator[LocalBot]:
    with oauth_bot(standin, db_url) as running:
        yield running


def install(bot: LocalBot, standin: SlackStandIn, workspace: str) -> str:
    """What a workspace admin does (bot.sandbox.local_bot): /slack/install, Add to Slack, back with a code."""
    status, page = bot.install(workspace, PEOPLE[workspace][2])  # the manager installs it
    assert status == 200, page
    return page


@pytest.fixture
def both(bot: LocalBot, standin: SlackStandIn) -> tuple[SlackDriver, SlackDriver]:
    for workspace in (ACME, BOLT):
        install(bot, standin, workspace)
        assert bot.clock is not None
        team_store.replace_teams(bot.db.scoped(workspace), [team_of(workspace)], bot.clock.now())
    return bot.driver.for_workspace(ACME), bot.driver.for_workspace(BOLT)


def _ephemerals(standin: SlackStandIn, user: str) -> list[str]:
    return [e.text for e in standin.events if e.kind in ("ephemeral", "response_url") and e.audience == user]


def test_installing_through_oauth_stores_each_workspaces_token(bot: LocalBot, standin: SlackStandIn):
    page = install(bot, standin, ACME)
    assert "slack://app?team=T_ACME" in page  # Bolt's own "open Slack" success page
    install(bot, standin, BOLT)
    [access_a, access_b] = standin.calls_to("oauth.v2.access")
    assert (access_a.team_id, access_b.team_id) == (ACME, BOLT)
    found = {w: bot.call(bot.wiring.workspaces.get(w)) for w in (ACME, BOLT, "T_NEVER")}
    assert found["T_NEVER"] is None
    assert found[ACME].client.token != found[BOLT].client.token  # type: ignore[union-attr]
    # Each token is the one Slack issued for that workspace.
    assert found[ACME].client.token == access_a.response["access_token"]  # type: ignore[union-attr]


def test_a_redirect_nobody_started_here_installs_nothing(bot: LocalBot, standin: SlackStandIn):
    base = bot.url.removesuffix("/slack/events")
    code = standin.authorize(ACME, "U_AMGR")
    status, _page, _ = _get(f"{base}/slack/oauth_redirect?code={code}&state=made-up")  # no state cookie either
    assert status >= 400
    assert standin.calls_to("oauth.v2.access") == []
    assert bot.call(bot.wiring.workspaces.get(ACME)) is None


def test_nobody_in_one_workspace_sees_or_touches_anothers_handoffs(bot: LocalBot, standin: SlackStandIn, both):
    acme, bolt = both
    assert submit(standin, acme, "U_ASDR", ae_id="U_AAE").status == 200
    card = card_for(standin, "U_AAE")
    settle(bot)
    # Everything about Acme's handoff went out with Acme's token, into Acme.
    acme_calls = [c for c in standin.calls if c.method in ("chat.postMessage", "views.open")]
    assert acme_calls and all(c.ok and c.team_id == ACME for c in acme_calls)

    # Bolt's AE clicks Accept on Acme's card (the button's own value, signed by Slack for Bolt Co).
    before = len(standin.calls_to("chat.update"))
    assert bolt.click("U_BAE", "handoff_accept", message=card).status == 200
    settle(bot)
    # The answer the bot tried to give (into Acme's DM, which Bolt Co's token cannot reach, as in Slack):
    # that handoff does not exist, where Bolt Co can see; not "only the assigned AE may accept".
    [told] = [c.args for c in standin.calls_to("chat.postEphemeral") if c.args.get("user") == "U_BAE"]
    assert told["text"] == "That handoff no longer exists.", told
    assert len(standin.calls_to("chat.update")) == before
    with bot.db.read() as session:
        [row] = session.exec(orm_select(HandoffRow)).all()
    assert (row.workspace, row.state, row.id) == (ACME, "pending", 1)

    # Nor can they read it, list it or count it.
    shown = bolt.slash_command("U_BSDR", "show H-1")
    assert shown.status == 200 and "There is no handoff H-1." in shown.body, shown.body
    answers = [bolt.slash_command("U_BMGR", verb) for verb in ("list", "stats team amer")]
    settle(bot)
    seen_by_bolt = " ".join([a.json()["text"] if a.json() else a.body for a in answers] + _ephemerals(standin, "U_BMGR") + [
        str(c.args) for c in standin.calls if c.team_id == BOLT])
    assert all(a.status == 200 for a in answers)
    assert "Your handoffs: 0" in seen_by_bolt and "team AMER T_BOLTCO, last 30 days: 0 handoffs" in seen_by_bolt
    # The same question in Acme counts Acme's one handoff (a minute on: a period ends at the asking).
    bot.clock.set(ny(2026, 11, 23, 9, 1))  # type: ignore[union-attr]
    acme_stats = acme.slash_command("U_AMGR", "stats team amer").json()
    assert acme_stats is not None and "team AMER T_ACME, last 30 days: 1 handoff," in acme_stats["text"], acme_stats
    assert "Acme Corp" not in seen_by_bolt and "H-1" not in seen_by_bolt, seen_by_bolt

    # Acme's own AE accepts it, in Acme.
    assert acme.click("U_AAE", "handoff_accept", message=card).status == 200
    settle(bot)
    with bot.db.read() as session:
        assert session.exec(orm_select(HandoffRow.state)).one() == "accepted"


def test_each_workspace_has_its_own_team_of_the_same_name(bot: LocalBot, standin: SlackStandIn, both):
    acme, bolt = both
    with bot.db.read() as session:
        rows = session.exec(orm_select(Team.workspace, Team.id, Team.channel_id)).all()
    assert sorted(rows) == [(ACME, "amer", "C_ACME"), (BOLT, "amer", "C_BOLT")]
    # The paired AE prefilled in each workspace's form is that workspace's.
    open_form(standin, acme, "U_ASDR")
    open_form(standin, bolt, "U_BSDR")
    views = standin.calls_to("views.open")
    assert [(c.team_id, "U_AAE" in str(c.args), "U_BAE" in str(c.args)) for c in views] == [
        (ACME, True, False), (BOLT, False, True)]
    # An admin of one workspace changes its team; the other's is untouched.
    changed = replace(team_of(ACME), sla_hours=2.0)
    team_store.save_team(bot.db.scoped(ACME), changed, bot.clock.now())  # type: ignore[union-attr]
    assert team_store.get_team(bot.db.scoped(BOLT), "amer").sla_hours == 8.0  # type: ignore[union-attr]
    assert team_store.get_team(bot.db.scoped(ACME), "amer").sla_hours == 2.0  # type: ignore[union-attr]


def test_the_scheduler_chases_each_workspace_with_its_own_token(bot: LocalBot, standin: SlackStandIn, both):
    acme, bolt = both
    for driver, (sdr, ae, _m, _c) in ((acme, PEOPLE[ACME]), (bolt, PEOPLE[BOLT])):
        assert submit(standin, driver, sdr, ae_id=ae).status == 200
        card_for(standin, ae)
    settle(bot)
    report = tick_at(bot, ny(2026, 11, 24, 15, 0))  # past both 8-hour SLAs, into the escalations
    assert report.reminders >= 2
    posts = [c for c in standin.calls_to("chat.postMessage")]
    assert posts and all(c.ok for c in posts), [c.response for c in posts if not c.ok]
    for workspace, (sdr, ae, manager, channel) in PEOPLE.items():
        mine = {sdr, ae, manager, channel}
        assert {c.team_id for c in posts if c.args.get("channel") in mine} == {workspace}
    # Each reminder's outbox row names its workspace; a dedupe key is claimed once per workspace.
    with bot.db.read() as session:
        per = dict(session.execute(select(OutboxMessage.workspace, func.count()).group_by(OutboxMessage.workspace))
                   .all())
    assert set(per) == {ACME, BOLT}


def test_an_uninstalled_workspace_is_no_longer_served_or_posted_to(bot: LocalBot, standin: SlackStandIn, both):
    acme, bolt = both
    assert bolt.app_uninstalled().status == 200
    settle(bot)
    assert bot.call(bot.wiring.workspaces.get(BOLT)) is None
    before = len(standin.calls_to("views.open"))
    response = bolt.slash_command("U_BSDR")
    assert response.status == 200  # Bolt answers through the response_url: install the app first
    assert any("install" in t.lower() for t in _ephemerals(standin, "U_BSDR")), _ephemerals(standin, "U_BSDR")
    assert len(standin.calls_to("views.open")) == before
    # Acme is served as before.
    open_form(standin, acme, "U_ASDR")


def test_a_workspace_that_never_installed_is_not_served(bot: LocalBot, standin: SlackStandIn, both):
    standin.add_workspace("T_STRANGER", name="Stranger", domain="stranger")
    standin.add_user("U_SX", "sx", team_id="T_STRANGER")
    before = len(standin.calls)
    response = bot.driver.for_workspace("T_STRANGER").slash_command("U_SX")
    assert response.status == 200
    assert any("install" in t.lower() for t in _ephemerals(standin, "U_SX")), _ephemerals(standin, "U_SX")
    # No Web API call for (or with) a stranger: only Bolt's answer through the command's response_url.
    assert [c.method for c in standin.calls[before:]] == ["response_url"]


def test_oauth_settings_are_checked_together():
    base = {"SLACK_SIGNING_SECRET": "s", "DATABASE_URL": "sqlite:///x.db"}
    settings = load_settings({**base, "SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "topsecret-9"}, dotenv=False)
    assert settings.oauth and settings.bot_token == "" and "topsecret-9" not in repr(settings)
    for extra, said in (({"SLACK_CLIENT_ID": "1.2"}, "go together"),
                        ({"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "c", "SLACK_BOT_TOKEN": "xoxb-1"},
                         "unset SLACK_BOT_TOKEN"),
                        ({"SLACK_CLIENT_ID": "1.2", "SLACK_CLIENT_SECRET": "c", "SLACK_APP_TOKEN": "xapp-1"},
                         "Socket Mode serves one workspace"),
                        ({}, "SLACK_BOT_TOKEN is missing")):
        with pytest.raises(ConfigError) as error:
            load_settings({**base, **extra}, dotenv=False)
        assert said in " ".join(error.value.problems)


def test_one_workspace_without_oauth_hears_its_token_was_revoked(standin: SlackStandIn, db_url: str, caplog):
    standin.add_token("xoxb-single", ACME)
    with LocalBot(standin, db_url, bot_token="xoxb-single", channel_post_interval=0.0) as single:
        response = single.driver.for_workspace(ACME).app_uninstalled()
    assert response.status == 200
    assert any("reinstalled" in r.getMessage() for r in caplog.records if r.levelname == "ERROR")


def test_an_install_upgraded_to_workspaces_keeps_its_teams_and_can_move_them_into_one(tmp_path, monkeypatch, capsys):
    """A database from before migration 0008 (one workspace): its rows are the workspace "" after the upgrade,
    and `handoff-bot workspaces --adopt` moves them into an installed workspace."""
    from sqlalchemy import text

    from bot.cli import main as cli
    from storage.db import Database
    from storage.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'old.db'}"
    db = Database(url)
    upgrade(db.engine, "0007")
    with db.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO team (id, name, region, channel_id, tz, workdays, day_start, day_end, sync_weekday, "
            "sync_time, sla_hours, sla_from, heads_up_fraction, escalate_after_hours, auto_reassign, "
            "outcome_after_hours, min_notice_hours, updated_at) VALUES ('amer', 'AMER', 'AMER', 'C_ACME', "
            "'America/New_York', '0,1,2,3,4', '09:00', '17:00', 0, '10:00', 8, 'submission', 0.75, 4, 0, 2, 48, "
            "'2026-11-01 00:00:00')"))
        conn.execute(text("INSERT INTO team_member (team_id, user_id, role, position) VALUES "
                          "('amer', 'U_ASDR', 'sdr', 0), ('amer', 'U_AAE', 'ae', 1)"))
    upgrade(db.engine)
    [kept] = team_store.load_teams(db.scoped(""))
    assert (kept.id, [m.user_id for m in kept.members]) == ("amer", ["U_ASDR", "U_AAE"])
    assert team_store.load_teams(db.scoped(ACME)) == []
    db.close()

    monkeypatch.setenv("DATABASE_URL", url)
    assert cli(["workspaces", "--adopt", ACME]) == 0
    assert "moved into T_ACME:" in (said := capsys.readouterr().out) and "1 team, 2 team_member" in said, said
    db = Database(url)
    try:
        assert [t.id for t in team_store.load_teams(db.scoped(ACME))] == ["amer"]
        assert team_store.load_teams(db.scoped("")) == []
        assert team_store.team_for_user(db.scoped(ACME), "U_AAE") is not None
        # A second "amer" kept without OAuth would clash with the adopted one: refused, nothing moved.
        team_store.replace_teams(db.scoped(""), [team_of(BOLT)], ny(2026, 11, 23, 9, 0))
    finally:
        db.close()
    assert cli(["workspaces", "--adopt", ACME]) == 2
    assert "T_ACME has teams amer already; nothing moved" in capsys.readouterr().err


def test_a_workspace_installed_through_one_copy_is_served_at_once_by_another(standin: SlackStandIn, db_url: str):
    """Two copies of the bot on one database: a workspace one copy found not installed a moment ago is served
    by it as soon as the other copy installs it (not a minute later, when a cached "no" would run out)."""
    clock = ManualClock(ny(2026, 11, 23, 9, 0))
    oauth = dict(clock=clock, channel_post_interval=0.0, bot_token="", client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    with LocalBot(standin, db_url, **oauth) as first, LocalBot(standin, db_url, **oauth) as second:
        acme = first.driver.for_workspace(ACME)
        assert acme.slash_command("U_ASDR").status == 200
        assert standin.calls_to("views.open") == []  # not installed: Bolt's install message instead
        assert second.install(ACME, "U_AMGR")[0] == 200
        open_form(standin, acme, "U_ASDR")  # through the first copy
