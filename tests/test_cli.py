"""The command line as an operator meets it: bad settings, migrate, run, SIGTERM."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bot.runtime.config import ConfigError, load_settings
from bot.sandbox import SlackDriver, SlackStandIn
from conftest import reserve_port

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "xoxb-1111-2222-secretsecret"


def run_cli(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "HANDOFF_", "DATABASE_URL", "PORT"))}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)
    return env


def test_missing_and_malformed_settings_are_named_with_exit_status_2(tmp_path: Path) -> None:
    env = clean_env(SLACK_BOT_TOKEN="xoxp-user-token-secret", PORT="http", HANDOFF_ADMINS="U123,bob")
    result = run_cli(["run"], env, tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    for name in ("SLACK_BOT_TOKEN is malformed", "SLACK_SIGNING_SECRET is missing", "PORT is malformed",
                 "HANDOFF_ADMINS has 'bob'"):
        assert name in result.stderr
    assert "xoxp-user-token-secret" not in result.stderr + result.stdout


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("SLACK_BOT_TOKEN=xoxb-from-dotenv\nSLACK_SIGNING_SECRET=s3cret\nPORT=4000\n")
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        env_before = dict(os.environ)
        for key in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "PORT", "SLACK_APP_TOKEN"):
            os.environ.pop(key, None)
        settings = load_settings()
    finally:
        os.chdir(cwd)
        os.environ.clear()
        os.environ.update(env_before)
    assert settings.port == 4000 and settings.bot_token == "xoxb-from-dotenv"
    assert "xoxb-from-dotenv" not in repr(settings)


def test_socket_mode_needs_no_signing_secret() -> None:
    settings = load_settings({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}, dotenv=False)
    assert settings.socket_mode
    with pytest.raises(ConfigError) as error:
        load_settings({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xoxb-wrong"}, dotenv=False)
    assert any("SLACK_APP_TOKEN is malformed" in p for p in error.value.problems)


@pytest.mark.slow
def test_migrate_creates_the_schema(tmp_path: Path) -> None:
    env = clean_env(DATABASE_URL=f"sqlite:///{tmp_path / 'm.db'}")
    result = run_cli(["migrate"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert "database at revision" in result.stdout
    again = run_cli(["migrate"], env, tmp_path)  # idempotent
    assert again.returncode == 0 and again.stdout == result.stdout


@pytest.mark.slow
def test_run_serves_http_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    standin = SlackStandIn(token=TOKEN).start()
    standin.add_user("U_SDR1", "alice", tz="America/New_York")
    held = reserve_port()  # kept until the bot is gone, so no parallel test can take the port meanwhile
    port = held.getsockname()[1]
    env = clean_env(
        SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET="sign-me", SLACK_API_URL=standin.base_url, PORT=str(port),
        HOST="127.0.0.1", DATABASE_URL=f"sqlite:///{tmp_path / 'run.db'}", LOG_LEVEL="DEBUG",
    )
    proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
                    assert json.loads(response.read()) == {"ok": True}
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise AssertionError("the bot did not come up")
                time.sleep(0.02)
        driver = SlackDriver(f"http://127.0.0.1:{port}/slack/events", "sign-me", standin)
        assert driver.slash_command("U_SDR1").status == 200
        standin.wait_for("views.open")
        assert driver.slash_command("U_SDR1", forge_signature=True).status == 401
        proc.send_signal(signal.SIGTERM)
        output, _ = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        held.close()
        standin.stop()
    assert proc.returncode == 0, output
    assert "stopped cleanly" in output
    assert "Traceback" not in output
    assert "secretsecret" not in output  # slack_sdk's debug logs carry the token; ours are scrubbed


def test_the_outbox_lease_is_a_setting_and_a_bad_one_is_named() -> None:
    base = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}
    assert load_settings(base, dotenv=False).outbox_lease_seconds == 60.0
    assert load_settings({**base, "HANDOFF_OUTBOX_LEASE_SECONDS": "30"}, dotenv=False).outbox_lease_seconds == 30.0
    with pytest.raises(ConfigError, match="HANDOFF_OUTBOX_LEASE_SECONDS is malformed"):
        load_settings({**base, "HANDOFF_OUTBOX_LEASE_SECONDS": "soon"}, dotenv=False)


def test_channel_pacing_and_outbox_retention_are_settings_and_bad_ones_are_named() -> None:
    base = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s"}
    settings = load_settings(base, dotenv=False)
    assert (settings.channel_post_interval, settings.outbox_retention_days) == (1.0, 30)
    chosen = load_settings({**base, "HANDOFF_CHANNEL_POST_INTERVAL": "0.2", "HANDOFF_OUTBOX_RETENTION_DAYS": "90"},
                           dotenv=False)
    assert (chosen.channel_post_interval, chosen.outbox_retention_days) == (0.2, 90)
    with pytest.raises(ConfigError) as error:
        load_settings({**base, "HANDOFF_CHANNEL_POST_INTERVAL": "-1", "HANDOFF_OUTBOX_RETENTION_DAYS": "7"},
                      dotenv=False)
    assert "HANDOFF_CHANNEL_POST_INTERVAL is malformed" in str(error.value)
    assert "HANDOFF_OUTBOX_RETENTION_DAYS is malformed" in str(error.value)  # a week would forget agendas' keys
