"""Start-up as an operator meets it: `handoff-bot run` and `migrate` as real processes.

A refused token, a database that cannot be opened and a port in use are each one line on stderr and
an exit status (1: Slack refused; 2: settings, database, port), never a traceback or a healthy /healthz;
the scheduler and the outbox start only once the port is bound; two bots migrating one fresh SQLite
file at once both finish at head; Socket Mode answers /healthz too."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from conftest import reserve_port, wait_until

from bot.sandbox import SlackStandIn
from storage.db import Database
from storage.migrate import MIGRATIONS, _config, current_revision

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "xoxb-7777-8888-startstart"
APP_TOKEN = "xapp-1-A_HANDOFF-9999-startapp"
HEAD = ScriptDirectory.from_config(_config()).get_current_head()


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "HANDOFF_", "DATABASE_URL", "PORT"))}
    env.update(PYTHONPATH=str(ROOT), **extra)
    return env


def bot_env(standin: SlackStandIn, tmp_path: Path, port: int, **extra: str) -> dict[str, str]:
    return clean_env(**{"SLACK_BOT_TOKEN": TOKEN, "SLACK_SIGNING_SECRET": "sign-me", "SLACK_API_URL": standin.base_url,
                        "PORT": str(port), "HOST": "127.0.0.1", "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}",
                        **extra})


def run_bot(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "bot", "run"], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=60)


def one_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("handoff-bot: "), stderr
    return lines[0]


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    s = SlackStandIn(token=TOKEN, app_token=APP_TOKEN).start()
    try:
        yield s
    finally:
        s.stop()


# ---------------------------------------------------------------- migrations


def test_two_processes_migrating_one_fresh_sqlite_file_at_once_both_finish_at_head(tmp_path: Path) -> None:
    for attempt in range(5):  # the race was lost about one time in three
        path = tmp_path / f"race{attempt}.db"
        env = clean_env(DATABASE_URL=f"sqlite:///{path}")
        procs = [subprocess.Popen([sys.executable, "-m", "bot", "migrate"], env=env, cwd=tmp_path,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
        results = [(p.wait(timeout=60), *p.communicate()) for p in procs]
        for code, out, err in results:
            assert code == 0, err
            assert "Traceback" not in err
            assert f"database at revision {HEAD}" in out
        db = Database(f"sqlite:///{path}")
        try:
            assert current_revision(db.engine) == HEAD
        finally:
            db.close()


@pytest.mark.slow
@pytest.mark.postgres
def test_two_processes_migrating_one_fresh_postgresql_database_at_once_both_finish_at_head(tmp_path: Path) -> None:
    server = os.environ.get("HANDOFF_TEST_POSTGRES")
    if not server:
        pytest.skip("HANDOFF_TEST_POSTGRES is not set (a PostgreSQL server URL)")
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    try:
        for attempt in range(3):  # without the advisory lock the race was lost four times in five
            name = f"handoff_race_{os.getpid()}_{attempt}"
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            url = make_url(server).set(database=name).render_as_string(hide_password=False)
            try:
                env = clean_env(DATABASE_URL=url)
                procs = [subprocess.Popen([sys.executable, "-m", "bot", "migrate"], env=env, cwd=tmp_path,
                                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                         for _ in range(2)]
                for code, out, err in [(p.wait(timeout=60), *p.communicate()) for p in procs]:
                    assert code == 0, err
                    assert f"database at revision {HEAD}" in out
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def test_migrate_on_a_database_that_cannot_be_opened_is_one_line_and_exit_2(tmp_path: Path) -> None:
    env = clean_env(DATABASE_URL=f"sqlite:///{tmp_path / 'no-such-dir' / 'handoff.db'}")
    result = subprocess.run([sys.executable, "-m", "bot", "migrate"], env=env, cwd=tmp_path, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 2
    announced, rest = result.stderr.split("\n", 1)  # an admin command names its database first
    assert announced == f"database: sqlite:///{tmp_path / 'no-such-dir' / 'handoff.db'}"
    assert "cannot open the database" in one_line(rest)
    assert MIGRATIONS.exists()  # (the migrations are there: it is the database that is missing)


# ---------------------------------------------------------------- run: what stops it, in one line


def test_a_refused_bot_token_is_one_line_and_exit_1(standin: SlackStandIn, tmp_path: Path) -> None:
    held = reserve_port()
    try:
        env = bot_env(standin, tmp_path, held.getsockname()[1], SLACK_BOT_TOKEN="xoxb-0000-wrong-token")
        result = run_bot(env, tmp_path)
    finally:
        held.close()
    assert result.returncode == 1
    line = one_line(result.stderr)
    assert "Slack refused SLACK_BOT_TOKEN (invalid_auth)" in line
    assert "wrong-token" not in result.stderr + result.stdout
    assert [c.method for c in standin.calls] == ["auth.test"]  # nothing else was tried: it never served


def test_a_database_that_cannot_be_opened_is_one_line_and_exit_2(standin: SlackStandIn, tmp_path: Path) -> None:
    held = reserve_port()
    try:
        env = bot_env(standin, tmp_path, held.getsockname()[1],
                      DATABASE_URL=f"sqlite:///{tmp_path / 'no-such-dir' / 'handoff.db'}")
        result = run_bot(env, tmp_path)
    finally:
        held.close()
    assert result.returncode == 2
    assert "cannot open the database sqlite:///" in one_line(result.stderr)
    assert standin.calls == []


def test_a_port_in_use_is_one_line_and_exit_2_and_nothing_is_ticked_or_posted(
        standin: SlackStandIn, tmp_path: Path) -> None:
    from tests.test_scheduler_crash import AE, ESCALATION, MANAGER, SDR, Store

    for user_id in (SDR, AE, MANAGER):
        standin.add_user(user_id, user_id.lower(), tz="UTC")
    store = Store(f"sqlite:///{tmp_path / 'bot.db'}")
    store.seed(waiting=timedelta(days=30))  # an escalation long due: a tick would claim it at once
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)  # someone else serves on the port
    port = busy.getsockname()[1]
    try:
        env = bot_env(standin, tmp_path, port, HANDOFF_TICK_SECONDS="1")
        result = run_bot(env, tmp_path)
    finally:
        busy.close()
    assert result.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in one_line(result.stderr)
    assert store.status(ESCALATION) is None  # the scheduler never ran: it starts only once the port is bound
    assert standin.calls_to("chat.postMessage") == []


def test_http_mode_starts_the_scheduler_once_the_port_is_bound(standin: SlackStandIn, tmp_path: Path) -> None:
    from tests.test_scheduler_crash import AE, ESCALATION, MANAGER, SDR, Store

    for user_id in (SDR, AE, MANAGER):
        standin.add_user(user_id, user_id.lower(), tz="UTC")
    store = Store(f"sqlite:///{tmp_path / 'bot.db'}")
    store.seed(waiting=timedelta(days=30))
    held = reserve_port()
    port = held.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "bot", "run"],
                            env=bot_env(standin, tmp_path, port, HANDOFF_TICK_SECONDS="1"), cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: health(port) == (200, {"ok": True}) or proc.poll() is not None, "the bot serves")
        assert proc.poll() is None
        wait_until(lambda: store.status(ESCALATION) == "sent", "the due escalation is posted")
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
        held.close()
    assert proc.returncode == 0, err
    assert "Traceback" not in err


# ---------------------------------------------------------------- Socket Mode's health


def health(port: int) -> tuple[int, dict] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())
    except OSError:
        return None


def test_socket_mode_answers_healthz_with_the_database_and_the_connection(
        standin: SlackStandIn, tmp_path: Path) -> None:
    held = reserve_port()
    port = held.getsockname()[1]
    env = bot_env(standin, tmp_path, 1, SLACK_APP_TOKEN=APP_TOKEN, HANDOFF_HEALTH_PORT=str(port))
    env.pop("PORT")
    proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env, cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_until(lambda: standin.socket_connections() >= 1 or proc.poll() is not None, "connected")
        assert proc.poll() is None
        wait_until(lambda: health(port) == (200, {"ok": True, "database": "ok", "slack": "connected"}),
                   "/healthz reports the database and the connection well")
        standin.stop()  # Slack goes away: the socket closes and cannot be reopened
        wait_until(lambda: (h := health(port)) is not None and h[0] == 503 and h[1]["slack"] == "disconnected",
                   "/healthz reports the lost connection")
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
        held.close()
    assert proc.returncode == 0, err
    assert "Traceback" not in err


def test_socket_mode_with_a_refused_bot_token_is_one_line_and_exit_1(standin: SlackStandIn, tmp_path: Path) -> None:
    held = reserve_port()
    try:
        env = bot_env(standin, tmp_path, held.getsockname()[1], SLACK_APP_TOKEN=APP_TOKEN,
                      SLACK_BOT_TOKEN="xoxb-0000-revoked")
        standin.fail("auth.test", error="token_revoked")
        result = run_bot(env, tmp_path)
    finally:
        held.close()
    assert result.returncode == 1
    assert "Slack refused SLACK_BOT_TOKEN (token_revoked)" in one_line(result.stderr)
    assert standin.socket_connections() == 0


def test_a_sigterm_while_slack_is_being_asked_is_a_clean_stop(tmp_path: Path) -> None:
    silent = socket.socket()  # a Slack that takes the connection and never answers: auth.test waits
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    silent.settimeout(30)
    held = reserve_port()
    env = clean_env(SLACK_BOT_TOKEN=TOKEN, SLACK_SIGNING_SECRET="sign-me",
                    SLACK_API_URL=f"http://127.0.0.1:{silent.getsockname()[1]}/api/", HOST="127.0.0.1",
                    PORT=str(held.getsockname()[1]), DATABASE_URL=f"sqlite:///{tmp_path / 'bot.db'}")
    proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        conn, _ = silent.accept()  # auth.test is on its way: the checks are under way
        proc.terminate()
        _, err = proc.communicate(timeout=30)
        conn.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        silent.close()
        held.close()
    assert proc.returncode == 0, err
    assert "Traceback" not in err


def test_the_lookup_deadline_and_the_health_port_are_settings_and_bad_ones_are_named() -> None:
    from bot.runtime.config import ConfigError, load_settings

    base = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"}
    settings = load_settings(base, dotenv=False)
    assert settings.lookup_deadline_seconds == 1.0
    assert settings.health_port is None  # Socket Mode: no health endpoint unless asked for
    assert load_settings({**base, "PORT": "8080"}, dotenv=False).health_port == 8080
    assert load_settings({**base, "PORT": "8080", "HANDOFF_HEALTH_PORT": "9090"}, dotenv=False).health_port == 9090
    quicker = load_settings({**base, "HANDOFF_LOOKUP_DEADLINE_SECONDS": "0.5"}, dotenv=False)
    assert quicker.lookup_deadline_seconds == 0.5
    with pytest.raises(ConfigError) as error:
        load_settings({**base, "HANDOFF_LOOKUP_DEADLINE_SECONDS": "5", "HANDOFF_HEALTH_PORT": "web"}, dotenv=False)
    assert any("HANDOFF_LOOKUP_DEADLINE_SECONDS is malformed" in p for p in error.value.problems)
    assert any("HANDOFF_HEALTH_PORT is malformed" in p for p in error.value.problems)
