"""What an operator meets: logs one line per event (text or JSON, quiet between events), --version, the
admin commands naming their database, and `config import` showing its change before making it."""
from __future__ import annotations

import asyncio
import json
import logging
import signal
import subprocess
import sys
import time
import tomllib
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from conftest import reserve_port
from flow import submit
from prometheus_client.parser import text_string_to_metric_families
from test_cli import clean_env, run_cli

from bot.cli import main
from bot.runtime.config import ConfigError, load_settings
from bot.runtime.logs import SLACK_CLIENT_LOGGERS, setup_logging
from bot.sandbox import SlackDriver, SlackStandIn

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "xoxb-1111-2222-secretsecret"
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


# ---------------------------------------------------------------------- logs


@pytest.fixture
def restore_logging():
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    quiet = {name: logging.getLogger(name).level
             for name in ("apscheduler", "uvicorn", "uvicorn.error", *SLACK_CLIENT_LOGGERS)}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, was in quiet.items():
        logging.getLogger(name).setLevel(was)


def test_json_logs_are_one_object_per_line_with_extras_and_the_traceback_in_a_field(capsys, restore_logging) -> None:
    setup_logging("INFO", "json")
    log = logging.getLogger("handoff.test")
    log.info("H-7 accepted by %s", "U_AE1", extra={"handoff_id": 7, "actor": "U_AE1"})
    try:
        raise ValueError("Slack said no to xoxb-1111-2222-secretsecret")
    except ValueError:
        log.exception("delivering outbox #3 failed with token %s", TOKEN, extra={"handoff_id": 7})
    logging.getLogger("apscheduler.executors.default").info('Running job "chase" (scheduled at …)')
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 2, lines  # APScheduler's per-run INFO line is not among them
    accepted, failed = (json.loads(line) for line in lines)
    assert accepted["message"] == "H-7 accepted by U_AE1"
    assert (accepted["level"], accepted["logger"], accepted["handoff_id"], accepted["actor"]) == (
        "INFO", "handoff.test", 7, "U_AE1")
    assert datetime.fromisoformat(accepted["time"]).utcoffset() == timedelta(0)
    assert failed["level"] == "ERROR" and failed["handoff_id"] == 7
    assert failed["exception"].startswith("Traceback") and "ValueError" in failed["exception"]
    assert "secretsecret" not in "\n".join(lines)  # neither in the message nor in the traceback
    assert "xoxb-[redacted]" in failed["message"] and "xoxb-[redacted]" in failed["exception"]


def test_text_logs_redact_a_token_in_a_traceback_too(capsys, restore_logging) -> None:
    setup_logging("INFO", "text")
    try:
        raise RuntimeError(f"bad token {TOKEN}")
    except RuntimeError:
        logging.getLogger("handoff.test").exception("failed")
    err = capsys.readouterr().err
    assert "secretsecret" not in err and "RuntimeError: bad token xoxb-[redacted]" in err


@pytest.mark.parametrize("level", ["INFO", "WARNING", "DEBUG"])
def test_slack_sdk_logs_its_calls_at_debug_only_and_builds_those_lines_only_then(capsys, restore_logging,
                                                                                   level) -> None:
    """slack_sdk formats each call's request and response for its debug line whenever its logger's own level is
    NOTSET: setup_logging gives it the level, so below DEBUG the lines are neither shown nor built."""
    from slack_sdk.web.async_client import AsyncWebClient

    setup_logging(level, "text")
    standin = SlackStandIn(token=TOKEN).start()
    try:
        client = AsyncWebClient(token=TOKEN, base_url=standin.base_url)
        assert client.logger.level == logging.getLevelName(level)  # explicit: slack_sdk's guard reads it
        assert asyncio.run(client.auth_test())["ok"]
    finally:
        standin.stop()
    err = capsys.readouterr().err
    if level == "DEBUG":
        assert "Sending a request - url: POST" in err and "Received the following response" in err
        assert "secretsecret" not in err  # the Authorization header is redacted, as ever
    else:
        assert "slack_sdk" not in err


def test_a_log_format_other_than_text_or_json_is_named() -> None:
    base = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}
    assert load_settings({**base, "LOG_FORMAT": "JSON"}, dotenv=False).log_format == "json"
    assert load_settings(base, dotenv=False).log_format == "text"
    with pytest.raises(ConfigError) as error:
        load_settings({**base, "LOG_FORMAT": "logfmt"}, dotenv=False)
    assert error.value.problems == ["LOG_FORMAT is malformed: expected text or json, got 'logfmt'."]


def _scrape(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as response:
        text = response.read().decode()
    return {s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples if not s.labels}


@pytest.mark.slow
def test_run_with_json_logs_quiet_ticks_and_metrics(tmp_path: Path) -> None:
    """The real process: every stderr line is a JSON object; several ticks with nothing due log nothing;
    a submitted handoff is one line carrying its id; /metrics answers over HTTP."""
    standin = SlackStandIn(token=TOKEN).start()
    standin.add_user("U_SDR1", "alice", tz="America/New_York")
    standin.add_user("U_AE1", "bob", tz="Europe/Berlin")
    held = reserve_port()
    port = held.getsockname()[1]
    env = clean_env(SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET="sign-me", SLACK_API_URL=standin.base_url,
                    PORT=str(port), HOST="127.0.0.1", DATABASE_URL=f"sqlite:///{tmp_path / 'run.db'}",
                    LOG_FORMAT="json", HANDOFF_TICK_SECONDS="1")
    proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:  # waits for the ticks to happen, bounded; asserts nothing about how long they took
            try:
                if _scrape(port).get("handoff_tick_seconds_count", 0) >= 3:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                raise AssertionError("the bot did not come up and tick")
            time.sleep(0.05)
        driver = SlackDriver(f"http://127.0.0.1:{port}/slack/events", "sign-me", standin)
        meeting = int((datetime.now(timezone.utc) + timedelta(days=14)).timestamp())
        assert submit(standin, driver, meeting_start=meeting).status == 200
        standin.wait_for("chat.postMessage", where=lambda c: c.args.get("channel") == "U_AE1")
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        held.close()
        standin.stop()
    assert proc.returncode == 0, err
    entries = [json.loads(line) for line in err.splitlines()]  # every line parses
    assert all({"time", "level", "logger", "message"} <= set(e) for e in entries)
    messages = [e["message"] for e in entries]
    assert any(m.startswith(f"handoff-bot {VERSION} starting") for m in messages)
    assert "stopped cleanly" in messages
    [submitted] = [e for e in entries if e.get("action") == "submit"]
    assert submitted["handoff_id"] == 1 and submitted["message"] == "H-1 submitted by U_SDR1 for U_AE1"
    # At least three ticks with nothing due: not one line from the scheduler or APScheduler.
    assert [e for e in entries if e["logger"].startswith(("apscheduler", "handoff.scheduler"))] == []
    assert "secretsecret" not in err + out
    # One line per event: start-up, listening, serving, Slack's name for the bot, the handoff, stopping.
    assert len(entries) <= 8, messages


# ---------------------------------------------------------------------- --version and the database line


def test_version_is_the_packages() -> None:
    result = subprocess.run([sys.executable, "-m", "bot", "--version"], env=clean_env(), capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0 and result.stdout == f"handoff-bot {VERSION}\n"


def test_version_from_a_checkout_without_the_package_installed() -> None:
    # -S: no site-packages, so no installed metadata; the checkout's pyproject.toml answers.
    code = f"import sys; sys.path.insert(0, {str(ROOT)!r}); from bot.runtime.version import version; print(version())"
    result = subprocess.run([sys.executable, "-S", "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == VERSION


@pytest.mark.slow
@pytest.mark.parametrize("args", [["migrate"], ["config", "export"], ["doctor"],
                                  ["export", "--from", "2026-11-01", "--to", "2026-11-30"]])
def test_admin_commands_say_first_which_database(tmp_path: Path, args: list[str]) -> None:
    (tmp_path / "data").mkdir()
    result = run_cli(args, clean_env(DATABASE_URL="sqlite:///data/handoff.db"), tmp_path)  # relative to cwd
    assert result.returncode == 0, result.stderr
    assert result.stderr.splitlines()[0] == f"database: sqlite:///{tmp_path / 'data' / 'handoff.db'}"


def test_a_postgres_password_is_never_shown(tmp_path: Path) -> None:
    env = clean_env(DATABASE_URL="postgresql+psycopg://ops:hunter2@127.0.0.1:9/handoff")
    result = run_cli(["doctor"], env, tmp_path)
    assert result.stderr.splitlines()[0] == "database: postgresql+psycopg://ops:***@127.0.0.1:9/handoff"
    assert "hunter2" not in result.stdout + result.stderr
    assert result.returncode != 0 and "Traceback" not in result.stderr  # no server there: one line, no traceback
    assert result.stderr.splitlines()[1].startswith("handoff-bot: cannot open the database postgresql+psycopg://ops:***@")


# ---------------------------------------------------------------------- config import


TWO_TEAMS = """\
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
      - {user: U_TEMP, role: sdr}
  - id: emea
    name: EMEA
    region: EMEA
    channel: C0EMEA
    tz: Europe/Berlin
    members:
      - {user: U_BAE, role: ae}
"""

AMER_ONLY = """\
teams:
  - id: amer
    name: AMER Mid-Market
    region: AMER
    channel: C0123ABCD
    tz: America/New_York
    sla: {hours: 4}
    members:
      - {user: U_MGR, role: manager}
      - {user: U_SDR, role: sdr, manager: U_MGR, paired_ae: U_AE}
      - {user: U_AE, role: ae, manager: U_MGR}
      - {user: U_AE2, role: ae}
      - {user: U_TEMP, role: ae}
"""


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """`handoff-bot ARGS` in this process, on a database of its own: (exit status, stdout, stderr)."""
    monkeypatch.chdir(tmp_path)
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'teams.db'}")

    def run(*args: str) -> tuple[int, str, str]:
        status = main(list(args))
        out, err = capsys.readouterr()
        return status, out, err

    return run


def write(tmp_path: Path, name: str, text: str) -> str:
    (tmp_path / name).write_text(text)
    return str(tmp_path / name)


def test_import_shows_the_change_and_refuses_to_remove_a_team_without_replace(cli, tmp_path: Path) -> None:
    status, out, err = cli("config", "import", write(tmp_path, "two.yaml", TWO_TEAMS))
    assert status == 0, err
    assert "+ team amer (AMER Mid-Market): 4 members" in out and "+ team emea (EMEA): 1 member" in out
    assert out.splitlines()[-1] == "2 teams, 5 members imported"
    _, before, _ = cli("config", "export")

    amer_only = write(tmp_path, "amer.yaml", AMER_ONLY)
    status, out, err = cli("config", "import", amer_only)
    assert status == 2
    assert "would remove team emea; nothing changed. Run again with --replace" in err
    assert "- team emea (EMEA) and its 1 member: removed" in out
    assert "~ team amer" in out
    assert "sla_hours: 8.0 → 4.0" in out
    assert "+ member U_AE2 (ae)" in out
    assert "~ member U_TEMP: role sdr → ae" in out
    assert cli("config", "export")[1] == before  # refused: nothing changed

    status, out, _ = cli("config", "import", amer_only, "--replace", "--dry-run")
    assert status == 0 and out.splitlines()[-1] == "dry run: nothing changed"
    assert cli("config", "export")[1] == before

    status, out, _ = cli("config", "import", amer_only, "--replace")
    assert status == 0 and out.splitlines()[-1] == "1 team, 5 members imported"
    _, after, _ = cli("config", "export")
    assert "id: emea" not in after and "U_AE2" in after

    status, out, _ = cli("config", "import", amer_only)
    assert status == 0 and "no change: the database already has these teams" in out


def test_a_dry_run_that_would_be_refused_exits_as_the_import_would(cli, tmp_path: Path) -> None:
    assert cli("config", "import", write(tmp_path, "two.yaml", TWO_TEAMS))[0] == 0
    _, before, _ = cli("config", "export")
    status, out, err = cli("config", "import", write(tmp_path, "amer.yaml", AMER_ONLY), "--dry-run")
    assert status == 2 and "would remove team emea" in err and "- team emea" in out
    assert cli("config", "export")[1] == before


def test_removing_members_of_a_kept_team_is_shown_and_allowed(cli, tmp_path: Path) -> None:
    assert cli("config", "import", write(tmp_path, "two.yaml", TWO_TEAMS))[0] == 0
    fewer = TWO_TEAMS.replace("      - {user: U_TEMP, role: sdr}\n", "")
    status, out, err = cli("config", "import", write(tmp_path, "fewer.yaml", fewer))
    assert status == 0, err
    assert "- member U_TEMP (sdr)" in out and "U_TEMP" not in cli("config", "export")[1]


# ---------------------------------------------------------------------- a reminder owed is one line


def test_a_reminder_owed_is_one_log_line_and_a_tick_owing_nothing_none(bot, standin, clock, caplog) -> None:
    from teams_fixture import AMER, install, ny
    from test_scheduler import MONDAY_9, stored, submitted, tick_at

    install(bot, standin, AMER)
    clock.set(MONDAY_9)
    submitted(bot, standin)
    assert stored(bot).id == 1
    tick_at(bot, ny(2026, 11, 23, 13, 0))  # the first tick settles last week's agenda (missed): an event of its own
    caplog.clear()
    with caplog.at_level(logging.INFO):
        for minute in (0, 30):  # before the heads-up is due: nothing owed, nothing said
            assert tick_at(bot, ny(2026, 11, 23, 14, minute)).reminders == 0
        assert [r for r in caplog.records if r.name.startswith(("handoff.scheduler", "apscheduler"))] == []
        assert tick_at(bot, ny(2026, 11, 23, 15, 0)).reminders == 1
    owed = [r for r in caplog.records if r.getMessage().endswith(" owed")]
    assert [(r.getMessage(), r.handoff_id, r.reminder) for r in owed] == [("H-1 heads up owed", 1, "heads_up")]


def test_a_tick_catching_up_on_many_reminders_logs_one_line_per_kind(bot, standin, clock, caplog) -> None:
    """After downtime a tick may owe hundreds of reminders: one line per kind, every handoff in its extras."""
    from teams_fixture import AMER, install, ny
    from test_scheduler import MONDAY_9, submitted, tick_at

    from bot.runtime.logs import JsonFormatter
    from bot.services.chase import LINES_PER_REMINDER_UP_TO

    install(bot, standin, AMER)
    clock.set(MONDAY_9)
    count = LINES_PER_REMINDER_UP_TO + 2
    for _ in range(count):
        submitted(bot, standin)
    tick_at(bot, ny(2026, 11, 23, 13, 0))  # last week's agenda settled first
    caplog.clear()
    with caplog.at_level(logging.INFO):
        assert tick_at(bot, ny(2026, 11, 23, 15, 0)).reminders == count
    owed = [r for r in caplog.records if " owed" in r.getMessage()]
    assert len(owed) == 1, [r.getMessage() for r in owed]
    line = owed[0]
    assert line.getMessage() == f"heads up owed for {count} handoffs: " + ", ".join(f"H-{i}" for i in range(1, count + 1))
    assert (line.reminder, line.handoff_ids) == ("heads_up", list(range(1, count + 1)))
    assert json.loads(JsonFormatter().format(line))["handoff_ids"] == list(range(1, count + 1))
