"""Socket Mode end to end: the stand-in plays Slack's WebSocket side, `python -m bot run` connects to it."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from datetime import datetime, time as dtime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from conftest import reserve_port
from prometheus_client.parser import text_string_to_metric_families
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox import SlackDriver, SlackStandIn
from tests.flow import VALID

ROOT = Path(__file__).resolve().parent.parent
BOT_TOKEN = "xoxb-3333-4444-botsecret"
APP_TOKEN = "xapp-1-A_HANDOFF-5555-appsecret"
PEOPLE = {"U_SDR1": ("alice", "America/New_York"), "U_AE1": ("bob", "Europe/Berlin")}


@pytest.fixture
def standin() -> Iterator[SlackStandIn]:
    s = SlackStandIn(token=BOT_TOKEN, app_token=APP_TOKEN).start()
    for user_id, (name, tz) in PEOPLE.items():
        s.add_user(user_id, name, tz=tz)
    try:
        yield s
    finally:
        s.stop()


def future_meeting() -> datetime:
    """A Wednesday 15:00 UTC 8 to 14 days from now: always past 48 business hours' notice."""
    day = datetime.now(timezone.utc).date() + timedelta(days=8)
    while day.weekday() != 2:
        day += timedelta(days=1)
    return datetime.combine(day, dtime(15, 0), tzinfo=timezone.utc)


def bot_env(standin: SlackStandIn, tmp_path: Path, app_token: str = APP_TOKEN) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "HANDOFF_", "DATABASE_URL", "PORT"))}
    env.update(
        PYTHONPATH=str(ROOT), SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_APP_TOKEN=app_token,
        SLACK_API_URL=standin.base_url, DATABASE_URL=f"sqlite:///{tmp_path / 'socket.db'}", LOG_LEVEL="DEBUG",
    )
    return env


class Bot:
    """`python -m bot run` as a subprocess, its output in a file (DEBUG output would fill a pipe)."""

    def __init__(self, env: dict[str, str], cwd: Path):
        self.log_path = cwd / "bot.log"
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], env=env, cwd=cwd,
                                     stdout=self._log, stderr=subprocess.STDOUT, text=True)

    def output(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors="replace")

    def wait(self, timeout: float) -> int:
        return self.proc.wait(timeout=timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._log.close()


def wait_connected(standin: SlackStandIn, bot: Bot, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while standin.socket_connections() < 1:
        if bot.proc.poll() is not None:
            raise AssertionError(f"the bot exited ({bot.proc.returncode}) before connecting:\n{bot.output()[-4000:]}")
        if time.monotonic() > deadline:
            raise AssertionError(f"the bot did not connect over Socket Mode:\n{bot.output()[-4000:]}")
        time.sleep(0.05)


def open_form_over_socket(standin: SlackStandIn, driver: SlackDriver, user: str = "U_SDR1") -> str:
    before = len(standin.calls_to("views.open"))
    ack = driver.socket_slash_command(user, timeout=20)
    assert not ack.get("payload"), ack  # the form opens as a modal, nothing to say in the channel
    return standin.wait_for("views.open", count=before + 1, timeout=20)[-1].response["view"]["id"]


# ---------------------------------------------------------------------- the real bot, over Socket Mode


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


@pytest.mark.slow
def test_run_in_socket_mode_takes_a_handoff_end_to_end(standin: SlackStandIn, tmp_path: Path) -> None:
    held = reserve_port()  # the health server's: /healthz and /metrics
    port = held.getsockname()[1]
    bot = Bot({**bot_env(standin, tmp_path), "HANDOFF_HEALTH_PORT": str(port)}, tmp_path)
    driver = SlackDriver("unused: Socket Mode", "no-signing-secret", standin)
    try:
        wait_connected(standin, bot)
        opens = standin.calls_to("apps.connections.open")
        assert opens and opens[-1].ok and opens[-1].response["url"].startswith("ws://127.0.0.1:")

        # /handoff -> acked, and the form opens.
        view_id = open_form_over_socket(standin, driver)
        assert standin.open_views("U_SDR1") == [view_id]

        # A valid submission: acked without errors (the modal closes), then the AE's card is posted.
        answers = {**VALID, "meeting_start": int(future_meeting().timestamp())}
        ack = driver.socket_submit_view("U_SDR1", view_id, answers, timeout=20)
        assert set(ack) <= {"envelope_id", "payload"}
        assert not (ack.get("payload") or {}).get("errors"), ack
        assert standin.open_views("U_SDR1") == []
        standin.wait_for("chat.postMessage", timeout=20,
                         where=lambda c: c.args.get("channel") == "U_AE1" and "handoff_accept" in str(c.args))

        # An invalid one (no company): the ack carries the errors and the modal stays open.
        second = open_form_over_socket(standin, driver)
        invalid = {k: v for k, v in answers.items() if k != "company"}
        ack = driver.socket_submit_view("U_SDR1", second, invalid, timeout=20)
        assert ack["payload"]["response_action"] == "errors", ack
        assert "company" in ack["payload"]["errors"]
        assert standin.open_views("U_SDR1") == [second]

        # Requests over the socket are counted as over HTTP, on the health server's /metrics.
        samples = scrape(port)
        assert samples[("handoff_slack_requests_total", (("kind", "command"), ("status", "200")))] == 2
        assert samples[("handoff_slack_requests_total", (("kind", "view_submission"), ("status", "200")))] == 2
        assert samples[("handoff_slack_ack_seconds_count", (("kind", "view_submission"),))] == 2

        bot.proc.send_signal(signal.SIGTERM)
        assert bot.wait(timeout=30) == 0, bot.output()[-4000:]
    finally:
        bot.kill()
        held.close()
    output = bot.output()
    assert "stopped cleanly" in output
    assert "Traceback" not in output, output[-4000:]
    assert BOT_TOKEN not in output and APP_TOKEN not in output
    assert "botsecret" not in output and "appsecret" not in output


@pytest.mark.slow
def test_run_with_a_refused_app_token_exits_1_with_one_clear_line(standin: SlackStandIn, tmp_path: Path) -> None:
    bot = Bot(bot_env(standin, tmp_path, app_token="xapp-wrong"), tmp_path)
    try:
        started = time.monotonic()
        status = bot.wait(timeout=30)
        elapsed = time.monotonic() - started
    finally:
        bot.kill()
    output = bot.output()
    assert status == 1, output
    assert elapsed < 20, f"took {elapsed:.1f}s to give up"
    assert "Traceback" not in output, output
    refusals = [line for line in output.splitlines() if "Socket Mode connection" in line and "SLACK_APP_TOKEN" in line]
    assert len(refusals) == 1 and "invalid_auth" in refusals[0], output
    assert "xapp-wrong" not in output and BOT_TOKEN not in output
    assert "stopped cleanly" not in output and standin.socket_connects == 0


# ---------------------------------------------------------------------- the stand-in's Socket Mode alone


def test_apps_connections_open_wants_the_app_level_token(standin: SlackStandIn) -> None:
    def error(token: str | None) -> str:
        with pytest.raises(SlackApiError) as raised:
            WebClient(base_url=standin.base_url).apps_connections_open(app_token=token)  # type: ignore[arg-type]
        return raised.value.response["error"]

    assert error(BOT_TOKEN) == "not_allowed_token_type"
    assert error("xapp-1-someone-else") == "invalid_auth"
    assert WebClient(base_url=standin.base_url).apps_connections_open(app_token=APP_TOKEN)["url"].startswith(
        standin.socket_url_base)
    with pytest.raises(SlackApiError) as raised:  # an app token is no bot token either
        WebClient(token=APP_TOKEN, base_url=standin.base_url).chat_postMessage(channel="U_SDR1", text="hi")
    assert raised.value.response["error"] == "not_allowed_token_type"


@pytest.mark.slow
def test_sdk_socket_client_gets_hello_envelopes_and_reconnects(standin: SlackStandIn) -> None:
    driver = SlackDriver("unused: Socket Mode", "no-signing-secret", standin)
    seen: list[dict[str, Any]] = []
    requests: list[SocketModeRequest] = []

    async def scenario() -> None:
        client = SocketModeClient(app_token=APP_TOKEN, web_client=AsyncWebClient(base_url=standin.base_url),
                                  ping_interval=1)

        async def on_message(_client: Any, message: dict[str, Any], _raw: str | None) -> None:
            seen.append(message)

        async def on_request(c: SocketModeClient, req: SocketModeRequest) -> None:
            requests.append(req)
            payload = {"text": "got it"} if req.type == "slash_commands" else None
            await c.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id, payload=payload))

        client.message_listeners.append(on_message)
        client.socket_mode_request_listeners.append(on_request)
        loop = asyncio.get_running_loop()
        try:
            await client.connect()
            await loop.run_in_executor(None, standin.socket_wait_connected, 1, 10.0)
            ack = await loop.run_in_executor(None, lambda: driver.socket_slash_command("U_SDR1", "help"))
            assert ack["payload"] == {"text": "got it"}
            # Slack refreshes the link: the client asks for a new URL and reconnects.
            standin.socket_disconnect()
            await loop.run_in_executor(None, lambda: standin.socket_wait_connected(1, 20.0, connects=2))
            await asyncio.sleep(2.5)  # a couple of ping/pong rounds on the new connection
            ack = await loop.run_in_executor(None, lambda: driver.socket_event(
                {"type": "app_home_opened", "user": "U_SDR1", "channel": "D_SDR1", "tab": "home"}))
            assert "payload" not in ack
        finally:
            await client.close()

    asyncio.run(scenario())
    hello = seen[0]
    assert hello["type"] == "hello" and hello["connection_info"] == {"app_id": "A_HANDOFF"}
    assert "num_connections" in hello and "debug_info" in hello
    assert [r.type for r in requests] == ["slash_commands", "events_api"]
    slash, event = requests
    assert slash.accepts_response_payload and slash.payload["command"] == "/handoff"
    assert slash.payload["text"] == "help" and slash.retry_attempt == 0
    assert not event.accepts_response_payload and event.payload["type"] == "event_callback"
    assert len(standin.calls_to("apps.connections.open")) == 2
    assert standin.socket_connects == 2 and standin.socket_connections() in (0, 1)
