"""Steps of the story, as a user takes them, shared by the flow tests."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from bot.sandbox import RecordedCall, SlackDriver, SlackStandIn

# Friday 27 Nov 2026 15:00 UTC: more than 48 business hours after the tests' Monday start.
MEETING = datetime(2026, 11, 27, 15, 0, tzinfo=timezone.utc)

VALID = {
    "company": "Acme Corp",
    "contact_name": "Jane Doe",
    "contact_title": "VP Engineering",
    "contact_email": "jane@acme.example",
    "crm_url": "https://crm.example.com/accounts/42",
    "employee_count": "250",
    "region": "AMER",
    "source": "outbound",
    "handoff_type": "qualified_meeting",
    "ae_id": "U_AE1",
    "meeting_start": int(MEETING.timestamp()),
    "meeting_kind": "evaluation_45",
    "need": "Docs for 40 engineers",
    "compelling_event": "Launch in March",
    "seats": "40",
    "enterprise_needs": ["saml_sso"],
    "agenda": "Recap, demo, pricing",
}


def open_form(standin: SlackStandIn, driver: SlackDriver, user: str = "U_SDR1") -> str:
    """Type /handoff; return the opened modal's view id."""
    before = len(standin.calls_to("views.open"))
    response = driver.slash_command(user)
    assert response.status == 200
    call = standin.wait_for("views.open", count=before + 1)[-1]
    return call.response["view"]["id"]


def submit(standin: SlackStandIn, driver: SlackDriver, user: str = "U_SDR1", **answers: Any):
    view_id = open_form(standin, driver, user)
    return driver.submit_view(user, view_id, {**VALID, **answers})


def posts_to(standin: SlackStandIn, user: str) -> list[RecordedCall]:
    return [c for c in standin.calls_to("chat.postMessage") if c.args.get("channel") == user and c.ok]


def card_for(standin: SlackStandIn, user: str, count: int = 1, timeout: float = 5.0) -> tuple[str, str]:
    """Wait for the `count`-th AE card posted to `user`; return (channel, ts)."""
    calls = standin.wait_for("chat.postMessage", count=count, timeout=timeout,
                             where=lambda c: c.args.get("channel") == user and "handoff_accept" in str(c.args))
    call = calls[count - 1]
    return call.response["channel"], call.response["ts"]


def handoff_submitted(standin: SlackStandIn, driver: SlackDriver, **answers: Any) -> tuple[str, str]:
    response = submit(standin, driver, **answers)
    assert response.status == 200 and not response.body, response.body
    return card_for(standin, answers.get("ae_id", "U_AE1"))


def message_text(standin: SlackStandIn, where: tuple[str, str]) -> str:
    return str(standin.messages[where])


def later(minutes: int = 0, hours: int = 0) -> timedelta:
    return timedelta(minutes=minutes, hours=hours)
