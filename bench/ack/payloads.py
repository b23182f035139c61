"""Signed Slack requests, built exactly as the stand-in driver builds them but sent by the load generator."""
from __future__ import annotations

import time
import urllib.parse
from typing import Any

from bot.sandbox import DriverResponse, SlackDriver, sign
from bot.sandbox.driver import JSON

from .config import SIGNING_SECRET


class PayloadBuilder(SlackDriver):
    """The stand-in driver, but `post` hands back the body instead of sending it (we send it ourselves, timed)."""

    _last: tuple[str, str] = ("", JSON)

    def post(self, body: str, content_type: str = JSON, **_sign_opts: Any) -> DriverResponse:  # type: ignore[override]
        self._last = (body, content_type)
        return DriverResponse(200, "")

    def slash_body(self, user: str) -> tuple[str, str, str]:
        """(body, content type, trigger_id) of a fresh `/handoff`."""
        self.slash_command(user)
        body, ctype = self._last
        trigger = urllib.parse.parse_qs(body)["trigger_id"][0]
        return body, ctype, trigger

    def submit_body(self, user: str, view_id: str, answers: dict[str, Any]) -> tuple[str, str]:
        self.submit_view(user, view_id, answers, apply=False)
        return self._last

    def click_body(self, user: str, action_id: str, message: tuple[str, str]) -> tuple[str, str]:
        self.click(user, action_id, message=message)
        return self._last


def signed_headers(body: bytes, content_type: str) -> dict[str, str]:
    ts = int(time.time())
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": sign(SIGNING_SECRET, ts, body.decode()),
        "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
    }
