"""Teams as code: parse/dump round trip, line-numbered validation, storage, and the CLI import/export."""
from __future__ import annotations

import subprocess
import sys
from datetime import datetime, time, timezone
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from bot.core.team_config import TeamConfigError, dump_teams, parse_teams
from bot.core.teams import DEFAULT_REJECT_REASONS, Member, TeamPolicy
from storage.db import Database
from storage.migrate import upgrade
from storage.teams import MemberConflict, load_teams, paired_ae, replace_teams, save_team, team_for_user
from tests.test_cli import clean_env

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 23, 14, 0, tzinfo=timezone.utc)

GOOD = """\
teams:
  - id: amer
    name: AMER Mid-Market
    region: AMER
    channel: C0123ABCD
    tz: America/New_York
    members:
      - {user: U_MGR, role: manager}
      - {user: U_SDR, role: sdr, manager: U_MGR, paired_ae: U_AE}
      - {user: U_AE, role: ae, manager: U_MGR}
"""


def errors_of(text: str) -> list[str]:
    with pytest.raises(TeamConfigError) as caught:
        parse_teams(text)
    return caught.value.errors


def team_yaml(extra: str = "", members: str = "") -> str:
    """One valid team (lines 1-6), with `extra` keys from line 7 on."""
    return ("teams:\n  - id: t\n    name: T\n    region: R\n    channel: C1\n    tz: UTC\n" + extra
            + ("    members:\n" + members if members else ""))


# ---------------------------------------------------------------------- parsing


def test_defaults_and_a_full_team() -> None:
    [team] = parse_teams(GOOD)
    assert team == TeamPolicy(
        id="amer", name="AMER Mid-Market", region="AMER", channel_id="C0123ABCD", tz="America/New_York",
        members=(Member("U_MGR", "manager"), Member("U_SDR", "sdr", "U_MGR", "U_AE"), Member("U_AE", "ae", "U_MGR")))
    [full] = parse_teams(team_yaml(
        '    workdays: [sun, 0, Tuesday, wed, thu]\n'
        '    hours: {start: 08:30, end: "16:45"}\n'  # an unquoted 08:30 is read as typed, not as base-60
        '    holidays: {country: AU, subdivision: NSW}\n'
        '    sync: {day: fri, time: "15:00"}\n'
        '    sla: {hours: 24, from: submission, heads_up_at: 0.5, escalate_after_hours: 2.5, auto_reassign: true}\n'
        '    outcome_reminder_after_hours: 1\n'
        '    min_notice_hours: 24\n'))
    assert full.workdays == frozenset({6, 0, 1, 2, 3})
    assert (full.day_start, full.day_end) == (time(8, 30), time(16, 45))
    assert (full.holiday_country, full.holiday_subdivision) == ("AU", "NSW")
    assert (full.sync_weekday, full.sync_time) == (4, time(15, 0))
    assert (full.sla_hours, full.sla_from, full.heads_up_fraction, full.escalate_after_hours, full.auto_reassign) == (
        24.0, "submission", 0.5, 2.5, True)
    assert (full.outcome_after_hours, full.min_notice_hours) == (1.0, 24)


def test_norway_is_a_country_not_false() -> None:
    [team] = parse_teams(team_yaml("    holidays: {country: NO}\n"))
    assert team.holiday_country == "NO"


@pytest.mark.parametrize(("extra", "members", "expected"), [
    ("    tz2: UTC\n", "", "teams.yaml:7: team 't' has unknown key `tz2`"),
    ("    sla: {hours: 8, form: submission}\n", "", "teams.yaml:7: sla has unknown key `form` (did you mean `from`?)"),
    ("    workdays: [mon, funday]\n", "", "teams.yaml:7: workdays entry must be a day name"),
    ("    workdays: [mon, 7]\n", "", "teams.yaml:7: workdays entry must be a day name"),
    ("    workdays: []\n", "", "teams.yaml:7: workdays must be a non-empty list"),
    ("    hours: {start: \"17:00\", end: \"09:00\"}\n", "", "teams.yaml:7: hours.end (09:00) must be after hours.start (17:00)"),
    ("    hours: {start: \"9am\"}\n", "", "teams.yaml:7: hours.start must be a time \"HH:MM\""),
    ("    holidays: {country: XX}\n", "", "teams.yaml:7: unknown country or subdivision for holidays: 'XX'"),
    ("    holidays: {country: US, subdivision: ZZ}\n", "", "teams.yaml:7: unknown country or subdivision for holidays: 'US/ZZ'"),
    ("    holidays: {subdivision: CA}\n", "", "teams.yaml:7: holidays needs `country`"),
    ("    sync: {day: someday}\n", "", "teams.yaml:7: sync.day must be a day name"),
    ("    sync: {time: \"24:00\"}\n", "", "teams.yaml:7: sync.time must be a time"),
    ("    sla: {hours: 0}\n", "", "teams.yaml:7: sla.hours must be more than 0"),
    ("    sla: {hours: eight}\n", "", "teams.yaml:7: sla.hours must be a number, got 'eight'"),
    ("    sla: {from: lunch}\n", "", "teams.yaml:7: sla.from must be one of meeting_end, submission"),
    ("    sla: {heads_up_at: 1.5}\n", "", "teams.yaml:7: sla.heads_up_at must be more than 0 and at most 1"),
    ("    sla: {heads_up_at: 1}\n", "", "teams.yaml:7: sla.heads_up_at is a fraction of the SLA below 1"),
    ("    sla: {escalate_after_hours: -1}\n", "", "teams.yaml:7: sla.escalate_after_hours must be at least 0"),
    ("    sla: {auto_reassign: maybe}\n", "", "teams.yaml:7: sla.auto_reassign must be true or false"),
    ("    outcome_reminder_after_hours: .nan\n", "", "teams.yaml:7: outcome_reminder_after_hours must be a number"),
    ("    min_notice_hours: 4.5\n", "", "teams.yaml:7: min_notice_hours must be a whole number"),
    ("    min_notice_hours: true\n", "", "teams.yaml:7: min_notice_hours must be a whole number"),
    ("    members: {user: U1}\n", "", "teams.yaml:7: members must be a list"),
    ("    empty_agenda: silent\n", "", "teams.yaml:7: empty_agenda must be one of note, skip"),
    ("    reject_reasons: []\n", "", "teams.yaml:7: reject_reasons must be a non-empty list"),
    ("    reject_reasons: Timing\n", "", "teams.yaml:7: reject_reasons must be a non-empty list"),
    ("    reject_reasons:\n      - Timing\n      - {id: timing, label: Bad timing}\n", "",
     "teams.yaml:9: reject reason id 'timing' is listed twice (first on line 8)"),
    ("    reject_reasons:\n      - {id: a, label: Timing}\n      - {id: b, label: TIMING}\n", "",
     "teams.yaml:9: reject reason label 'TIMING' is listed twice (first on line 8)"),
    ("    reject_reasons:\n      - {id: Bad Id, label: Timing}\n", "",
     "teams.yaml:8: reject reason id 'Bad Id' is not valid: use lower-case letters, digits and _"),
    ("    reject_reasons:\n      - {id: timing}\n", "", "teams.yaml:8: a reject reason is missing `label`"),
    ("    reject_reasons:\n      - {id: timing, label: Timing, why: x}\n", "",
     "teams.yaml:8: a reject reason has unknown key `why`"),
    ("    reject_reasons:\n      - \"???\"\n", "", "teams.yaml:8: reject reason '???' needs an id"),
    ("    reject_reasons:\n      - " + "x" * 76 + "\n", "", "teams.yaml:8: reject reason label 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'… "
     "is 76 characters; Slack shows at most 75"),
    ("    reject_reasons: [" + ", ".join(f"r{i}" for i in range(21)) + "]\n", "",
     "teams.yaml:7: reject_reasons lists 21 reasons; at most 20 fit the reject form"),
    ("", "      - {user: bob, role: sdr}\n", "teams.yaml:8: user 'bob' is not valid: expected a Slack user id"),
    ("", "      - {user: U1, role: boss}\n", "teams.yaml:8: role must be one of sdr, ae, manager, got 'boss'"),
    ("", "      - {user: U1}\n", "teams.yaml:8: a member is missing `role`"),
    ("", "      - {role: sdr}\n", "teams.yaml:8: a member is missing `user`"),
    ("", "      - {user: U1, role: sdr, manger: U2}\n", "teams.yaml:8: a member has unknown key `manger` (did you mean `manager`?)"),
    ("", "      - {user: U1, role: sdr, manager: U1}\n", "teams.yaml:8: U1 cannot be their own manager"),
    ("", "      - {user: U1, role: sdr, manager: boss}\n", "teams.yaml:8: manager 'boss' is not valid"),
    ("", "      - {user: U1, role: ae, paired_ae: U2}\n      - {user: U2, role: ae}\n",
     "teams.yaml:8: only an SDR can have a paired_ae"),
    ("", "      - {user: U1, role: sdr, paired_ae: U2}\n      - {user: U2, role: sdr}\n",
     "teams.yaml:8: paired_ae U2 is not an AE of this team"),
    ("", "      - {user: U1, role: sdr}\n      - {user: U1, role: ae}\n",
     "teams.yaml:9: U1 is already in this team (line 8); a person belongs to one team only"),
])
def test_each_problem_names_its_line(extra: str, members: str, expected: str) -> None:
    errors = errors_of(team_yaml(extra, members))
    assert any(e.startswith(expected) for e in errors), errors


@pytest.mark.parametrize(("text", "expected"), [
    ("", "teams.yaml:1: the file is empty"),
    ("teams: [\n  - id: x\n", "teams.yaml:2: YAML syntax error"),
    ("teams:\n  - id: a\n   name: b\n", "teams.yaml:3: YAML syntax error"),
    ("team:\n  - id: a\n", "teams.yaml:1: the file has unknown key `team` (did you mean `teams`?)"),
    ("- id: a\n", "teams.yaml:1: the file must be a mapping"),
    ("teams: {id: a}\n", "teams.yaml:1: `teams` must be a list"),
    ("teams:\n  - just a string\n", "teams.yaml:2: a team must be a mapping"),
    ("teams:\n  - id: a\n    id: b\n", "teams.yaml:3: team 'a' repeats `id` (first on line 2)"),
    ("teams:\n  - name: A\n", "teams.yaml:2: a team is missing `id`"),
    ("teams:\n  - id: Big Team\n", "teams.yaml:2: id 'Big Team' is not valid"),
    ("teams:\n  - id: a\n    name: A\n    region: R\n    channel: '#sales'\n    tz: UTC\n",
     "teams.yaml:5: channel '#sales' is not valid: expected a Slack channel id"),
    ("teams:\n  - id: a\n    name: A\n    region: R\n    channel: C1\n    tz: Mars/Olympus\n",
     "teams.yaml:6: unknown time zone 'Mars/Olympus'"),
    ("teams:\n  - id: a\n    name: ''\n    region: R\n    channel: C1\n    tz: UTC\n",
     "teams.yaml:3: name must be a non-empty text"),
])
def test_file_level_problems(text: str, expected: str) -> None:
    errors = errors_of(text)
    assert any(e.startswith(expected) for e in errors), errors


def test_missing_keys_and_duplicates_across_teams() -> None:
    text = GOOD + (
        "  - id: amer\n"                                  # line 11
        "    name: Again\n"
        "    region: AMER\n"
        "    channel: C2\n"
        "    members:\n"
        "      - {user: U_SDR, role: sdr}\n"              # line 16
    )
    errors = errors_of(text)
    assert "teams.yaml:11: team 'amer' is missing `tz`" in errors
    assert "teams.yaml:11: team id 'amer' is used twice (first on line 2)" in errors
    assert "teams.yaml:16: U_SDR is already in team 'amer' (line 9); a person belongs to one team only" in errors
    assert errors == sorted(errors, key=lambda e: int(e.split(":")[1]))  # in file order


def test_every_problem_is_reported_at_once() -> None:
    errors = errors_of(team_yaml("    tz2: x\n    sla: {hours: -1}\n    min_notice_hours: x\n"))
    assert [e.split(":")[1] for e in errors] == ["7", "8", "9"]


def test_the_source_name_is_used() -> None:
    with pytest.raises(TeamConfigError) as caught:
        parse_teams("teams: 3\n", source="conf/teams.yaml")
    assert caught.value.errors[0].startswith("conf/teams.yaml:1: ")


def test_shipped_teams_yaml_parses() -> None:
    teams = parse_teams((ROOT / "teams.yaml").read_text())
    assert [t.id for t in teams] == ["amer", "emea", "apac"]
    by_id = {t.id: t for t in teams}
    assert (by_id["amer"].tz, by_id["amer"].holiday_country, by_id["amer"].sync_time) == (
        "America/New_York", "US", time(10, 0))
    assert (by_id["emea"].tz, by_id["emea"].holiday_country, by_id["emea"].sync_time) == (
        "Europe/Berlin", "DE", time(9, 30))
    assert (by_id["apac"].tz, by_id["apac"].holiday_country, by_id["apac"].holiday_subdivision) == (
        "Australia/Sydney", "AU", "NSW")
    for team in teams:
        roles = [m.role for m in team.members]
        assert (roles.count("sdr"), roles.count("ae"), roles.count("manager")) == (2, 2, 1)
        assert (team.sla_hours, team.sla_from, team.min_notice_hours, team.sync_weekday) == (
            8.0, "meeting_end", 48, 0)
        assert any(m.paired_ae_id for m in team.members)
    assert parse_teams(dump_teams(teams)) == teams


# ---------------------------------------------------------------------- round trip

_user = st.from_regex(r"U[A-Z0-9]{2,8}", fullmatch=True)
_hours = st.one_of(st.integers(0, 100).map(float), st.floats(0, 100, allow_nan=False).map(lambda x: round(x, 3)))
_clock = st.builds(time, st.integers(0, 23), st.sampled_from([0, 15, 30, 45, 59]))
_text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1,
                max_size=30).map(str.strip).filter(bool)


@st.composite
def _reasons(draw: st.DrawFn) -> tuple[tuple[str, str], ...]:
    """The default list, or a team's own: unique ids and labels, within Slack's limits."""
    if draw(st.booleans()):
        return DEFAULT_REJECT_REASONS
    ids = draw(st.lists(st.from_regex(r"[a-z0-9][a-z0-9_]{0,20}", fullmatch=True), min_size=1, max_size=20,
                        unique=True))
    labels = draw(st.lists(_text.map(lambda t: t[:75].strip()).filter(bool), min_size=len(ids), max_size=len(ids),
                           unique_by=str.casefold))
    return tuple(zip(ids, labels))


@st.composite
def _team(draw: st.DrawFn, team_id: str, taken: set[str]) -> TeamPolicy:
    users = draw(st.lists(_user.filter(lambda u: u not in taken), max_size=6, unique=True))
    taken.update(users)
    roles = [draw(st.sampled_from(["sdr", "ae", "manager"])) for _ in users]
    aes = [u for u, r in zip(users, roles) if r == "ae"]
    members = []
    for user, role in zip(users, roles):
        manager = draw(st.one_of(st.none(), _user.filter(lambda u, me=user: u != me)))
        paired = draw(st.one_of(st.none(), st.sampled_from(aes))) if role == "sdr" and aes else None
        members.append(Member(user, role, manager, paired))
    start = draw(_clock)
    end = draw(_clock.filter(lambda t: t > start)) if start < time(23, 59) else None
    if end is None:
        start, end = time(9, 0), time(17, 0)
    holidays = draw(st.sampled_from([(None, None), ("US", None), ("US", "CA"), ("DE", "BY"), ("AU", "NSW"), ("NO", None)]))
    return TeamPolicy(
        id=team_id, name=draw(_text), region=draw(_text), channel_id=draw(st.from_regex(r"[CG][A-Z0-9]{2,10}", fullmatch=True)),
        tz=draw(st.sampled_from(["UTC", "America/New_York", "Europe/Berlin", "Australia/Sydney", "Asia/Kolkata"])),
        workdays=frozenset(draw(st.sets(st.integers(0, 6), min_size=1))), day_start=start, day_end=end,
        holiday_country=holidays[0], holiday_subdivision=holidays[1],
        sync_weekday=draw(st.integers(0, 6)), sync_time=draw(_clock),
        sla_hours=draw(_hours.filter(lambda h: h > 0)), sla_from=draw(st.sampled_from(["meeting_end", "submission"])),
        heads_up_fraction=draw(st.floats(0.01, 0.99).map(lambda x: round(x, 4))),
        escalate_after_hours=draw(_hours), auto_reassign=draw(st.booleans()),
        outcome_after_hours=draw(_hours), min_notice_hours=draw(st.integers(0, 500)), members=tuple(members),
        reject_reasons=draw(_reasons()), empty_agenda=draw(st.sampled_from(["note", "skip"])),
    )


@st.composite
def _teams(draw: st.DrawFn) -> list[TeamPolicy]:
    ids = draw(st.lists(st.from_regex(r"[a-z0-9][a-z0-9-]{0,12}", fullmatch=True), max_size=3, unique=True))
    taken: set[str] = set()
    return [draw(_team(i, taken)) for i in ids]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_teams())
def test_dump_then_parse_is_the_identity(teams: list[TeamPolicy]) -> None:
    text = dump_teams(teams)
    assert text.startswith("# Handoff teams")
    assert parse_teams(text) == teams


# ---------------------------------------------------------------------- storage


@pytest.fixture
def db(tmp_path: Path):
    database = Database(f"sqlite:///{tmp_path / 'teams.db'}")
    upgrade(database.engine)
    yield database
    database.close()


def test_storage_round_trip_and_lookups(db: Database) -> None:
    teams = parse_teams((ROOT / "teams.yaml").read_text())
    replace_teams(db, teams, NOW)
    assert load_teams(db) == sorted(teams, key=lambda t: t.id)
    assert team_for_user(db, "U_EMEA_AE2").id == "emea"  # type: ignore[union-attr]
    assert team_for_user(db, "U_NOBODY") is None
    assert paired_ae(db, "U_AMER_SDR1") == "U_AMER_AE1"
    assert paired_ae(db, "U_AMER_SDR2") is None
    assert paired_ae(db, "U_AMER_AE1") is None
    # Replaced whole: a smaller set leaves nothing of the old one behind.
    replace_teams(db, teams[:1], NOW)
    assert [t.id for t in load_teams(db)] == ["amer"]
    assert paired_ae(db, "U_EMEA_SDR1") is None


def test_save_team_upserts_and_refuses_people_of_another_team(db: Database) -> None:
    [amer] = parse_teams(GOOD)
    assert save_team(db, amer, NOW) is True
    changed = TeamPolicy(**{**amer.__dict__, "name": "AMER", "members": amer.members[:2]})
    assert save_team(db, changed, NOW) is False
    assert load_teams(db) == [changed]
    thief = TeamPolicy(id="emea", name="EMEA", region="EMEA", channel_id="C2", tz="Europe/Berlin",
                       members=(Member("U_SDR", "sdr"), Member("U_NEW", "ae")))
    with pytest.raises(MemberConflict) as caught:
        save_team(db, thief, NOW)
    assert caught.value.users == {"U_SDR": "amer"}
    assert load_teams(db) == [changed]  # nothing half-applied


# ---------------------------------------------------------------------- the command line


def run_cli(args: list[str], db_file: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = clean_env(DATABASE_URL=f"sqlite:///{db_file}")
    return subprocess.run([sys.executable, "-m", "bot", "config", *args], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=60)


@pytest.mark.slow
def test_cli_import_export_and_a_refused_file(tmp_path: Path) -> None:
    db_file = tmp_path / "cli.db"
    ok = run_cli(["import", str(ROOT / "teams.yaml")], db_file, tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines()[-1] == "3 teams, 15 members imported"

    exported = run_cli(["export"], db_file, tmp_path)
    assert exported.returncode == 0, exported.stderr
    shipped = parse_teams((ROOT / "teams.yaml").read_text())
    assert parse_teams(exported.stdout) == sorted(shipped, key=lambda t: t.id)

    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "teams:\n"
        "  - id: solo\n"
        "    name: Solo\n"
        "    region: AMER\n"
        "    channel: C1\n"
        "    tz: Mars/Olympus\n"                 # line 6
        "    hours: {start: \"18:00\", end: \"09:00\"}\n"  # line 7
        "    members:\n"
        "      - {user: U1, role: sdr, paired_ae: U9}\n")  # line 9
    refused = run_cli(["import", str(bad)], db_file, tmp_path)
    assert refused.returncode == 2
    assert "Traceback" not in refused.stderr
    assert f"{bad}:6: unknown time zone 'Mars/Olympus'" in refused.stderr
    assert f"{bad}:7: hours.end (09:00) must be after hours.start (18:00)" in refused.stderr
    assert f"{bad}:9: paired_ae U9 is not an AE of this team" in refused.stderr
    assert refused.stdout == ""

    again = run_cli(["export"], db_file, tmp_path)
    assert again.stdout == exported.stdout  # the previous teams are intact


def test_cli_export_of_an_empty_database(tmp_path: Path) -> None:
    result = run_cli(["export"], tmp_path / "empty.db", tmp_path)
    assert result.returncode == 0, result.stderr
    assert parse_teams(result.stdout) == []
