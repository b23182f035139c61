"""`handoff-bot demo`: the whole story against the built-in Slack stand-in, printed as people see it.

Two SDRs and two AEs. One handoff accepted; one rejected with feedback, revised and accepted; a
stranger's click refused; an invalid form answered inline. Exit status 0 only if it all played out.
"""
from __future__ import annotations

import logging
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from bot.clock import ManualClock
from bot.logs import setup_logging
from bot.standin import SlackStandIn, describe_event
from bot.standin.local_bot import LocalBot
from storage import handoffs as store

# A Monday morning in New York: 09:00 EST, 15:00 in Berlin.
DEMO_START = datetime(2026, 11, 23, 14, 0, tzinfo=timezone.utc)
PEOPLE = {
    "U_ALICE": ("alice", "Alice (SDR, New York)", "America/New_York"),
    "U_CAROL": ("carol", "Carol (SDR, London)", "Europe/London"),
    "U_BOB": ("bob", "Bob (AE, Berlin)", "Europe/Berlin"),
    "U_DAVE": ("dave", "Dave (AE, San Francisco)", "America/Los_Angeles"),
    "U_EVE": ("eve", "Eve (a stranger)", "UTC"),
}


class Story:
    def __init__(self, standin: SlackStandIn, bot: LocalBot, out: Callable[[str], None]):
        self.standin, self.bot, self.out = standin, bot, out
        self.driver = bot.driver
        self.shown = 0
        self.failures: list[str] = []

    def say(self, text: str) -> None:
        self.out(f"\n\033[1m▶ {text}\033[0m" if sys.stdout.isatty() else f"\n▶ {text}")

    def show_new(self, settle: float = 0.3) -> None:
        """Print what people saw since the last step, once the bot has gone quiet."""
        deadline = time.monotonic() + 5
        count = -1
        while time.monotonic() < deadline:
            time.sleep(settle / 3)
            events = self.standin.events
            if len(events) == count and self.bot.deps and self.bot.db:
                break
            count = len(events)
        for event in self.standin.events[self.shown:]:
            self.out("")
            self.out(indent(describe_event(event, self.standin.user_names(), self.standin.channel_names())))
        self.shown = len(self.standin.events)

    def check(self, ok: bool, what: str) -> None:
        if not ok:
            self.failures.append(what)
            self.out(f"  ✗ expected: {what}")

    def open_form(self, user: str) -> str:
        before = len(self.standin.calls_to("views.open"))
        self.driver.slash_command(user)
        return self.standin.wait_for("views.open", count=before + 1)[-1].response["view"]["id"]

    def card(self, user: str, nth: int = 1) -> tuple[str, str]:
        call = self.standin.wait_for("chat.postMessage", count=nth,
                                     where=lambda c: c.args.get("channel") == user and "handoff_accept" in str(c.args))
        return call[nth - 1].response["channel"], call[nth - 1].response["ts"]

    def button_value(self, message: tuple[str, str], action_id: str) -> str:
        _block, element = self.driver.find_button(self.standin.messages[message]["blocks"], action_id)
        return element["value"]

    def button_on(self, user: str, action_id: str) -> tuple[str, str]:
        """The newest message in the user's DM that carries this button."""
        calls = self.standin.wait_for("chat.postMessage",
                                      where=lambda c: c.args.get("channel") == user and action_id in str(c.args))
        return calls[-1].response["channel"], calls[-1].response["ts"]


def indent(text: str) -> str:
    return "\n".join("    " + line if line else "" for line in text.splitlines())


def acme(meeting: datetime, **extra: Any) -> dict[str, Any]:
    return {
        "company": "Acme Robotics", "contact_name": "Jane Park", "contact_title": "VP Engineering",
        "contact_email": "jane@acme.example", "crm_url": "https://crm.example.com/accounts/1042",
        "employee_count": "420", "region": "AMER", "source": "outbound", "handoff_type": "qualified_meeting",
        "ae_id": "U_BOB", "meeting_start": int(meeting.timestamp()), "meeting_kind": "evaluation_45",
        "need": "Public docs for their robotics SDK; 40 engineers write them today in a wiki.",
        "compelling_event": "SDK 2.0 launches on 1 March; the docs must ship with it.",
        "decision_path": "Jane decides; the CTO signs above $50k.",
        "seats": "40", "enterprise_needs": ["saml_sso"],
        "agenda": "1. Recap of discovery (Alice)\n2. Demo of versioned docs\n3. SSO and pricing questions",
        **extra,
    }


def play(story: Story, clock: ManualClock) -> None:
    s, d = story.standin, story.driver

    story.say("Alice (SDR) types /handoff: the form opens at once")
    view = story.open_form("U_ALICE")
    story.show_new()

    story.say("She books the meeting for tomorrow: too soon for an outbound meeting, the form says so inline")
    too_soon = datetime(2026, 11, 24, 15, 0, tzinfo=timezone.utc)
    answer = d.submit_view("U_ALICE", view, acme(too_soon))
    errors = (answer.json() or {}).get("errors", {})
    for field, message in errors.items():
        story.out(f"    ⚠ {field}: {message}")
    story.check("meeting_start" in errors, "the too-soon meeting answered inline")

    story.say("She moves it to Friday and submits: H-1 goes to Bob")
    friday = datetime(2026, 11, 27, 15, 0, tzinfo=timezone.utc)
    answer = d.submit_view("U_ALICE", view, acme(friday))
    story.check(answer.status == 200 and not answer.body, "the fixed form accepted")
    card1 = story.card("U_BOB")
    story.show_new()

    accept_value = story.button_value(card1, "handoff_accept")
    story.say("Eve, who is not the AE, clicks Accept on H-1: refused, nothing changes")
    d.click("U_EVE", "handoff_accept", message=card1)
    s.wait_for("chat.postEphemeral")
    story.show_new()

    clock.advance(timedelta(minutes=25))
    story.say("Bob accepts H-1: his card is updated in place and Alice is told")
    d.click("U_BOB", "handoff_accept", message=card1)
    s.wait_for("chat.update", count=2)
    story.show_new()

    story.say("Bob's second click (his client still showed the button) changes nothing; he is told when")
    d.click("U_BOB", "handoff_accept", message=card1, value=accept_value)
    s.wait_for("chat.postEphemeral", count=2)
    story.show_new()

    clock.advance(timedelta(minutes=30))
    story.say("Carol (SDR, London) hands Globex to Dave")
    view = story.open_form("U_CAROL")
    story.shown = len(s.events)  # the same form again: skip it
    d.submit_view("U_CAROL", view, acme(
        datetime(2026, 11, 30, 17, 0, tzinfo=timezone.utc), company="Globex", contact_name="Hank Scorpio",
        contact_title="Founder", contact_email="hank@globex.example", employee_count="60", region="EMEA",
        ae_id="U_DAVE", seats="8", enterprise_needs=[], decision_path="",
        need="A docs site for their API.", compelling_event="They want it soon.",
        agenda="1. Carol recaps the call\n2. API reference demo"))
    card2 = story.card("U_DAVE")
    story.show_new()

    clock.advance(timedelta(hours=2))
    story.say("Dave rejects it: no compelling event. The reason and his feedback go back to Carol")
    d.click("U_DAVE", "handoff_reject", message=card2)
    reject_view = s.wait_for("views.open", count=3)[-1].response["view"]["id"]
    d.submit_view("U_DAVE", reject_view, {
        "reason": "other",
        "feedback": "'Soon' is not a compelling event: find the date and what breaks if they miss it. "
                    "And who signs? Ask for the path to the decision maker.",
    })
    story.button_on("U_CAROL", "handoff_revise")
    story.show_new()

    clock.advance(timedelta(hours=1))
    story.say("Carol revises with what Dave asked for and resubmits: Dave gets a fresh card")
    notice = story.button_on("U_CAROL", "handoff_revise")
    d.click("U_CAROL", "handoff_revise", message=notice)
    revise_view = s.wait_for("views.open", count=4)[-1].response["view"]["id"]
    story.shown = len(s.events)  # the prefilled form: skip it
    d.submit_view("U_CAROL", revise_view, {
        "compelling_event": "Their partner API opens on 15 January; without docs 200 partners cannot integrate.",
        "decision_path": "Hank decides; the CFO signs anything over $20k.",
    })
    card3 = story.card("U_DAVE", nth=2)
    story.show_new()

    clock.advance(timedelta(minutes=40))
    story.say("Dave accepts the revised handoff")
    d.click("U_DAVE", "handoff_accept", message=card3)
    s.wait_for("chat.postMessage", where=lambda c: c.args.get("channel") == "U_CAROL" and "accepted" in str(c.args))
    story.show_new()

    assert story.bot.db is not None
    h1, h2 = store.get_handoff(story.bot.db, 1), store.get_handoff(story.bot.db, 2)
    story.check(h1 is not None and h1.state == "accepted" and h1.decided_by == "U_BOB", "H-1 accepted by Bob")
    story.check(h2 is not None and h2.state == "accepted" and h2.revision == 2, "H-2 revised and accepted")
    trail = store.audit_trail(story.bot.db, 2)
    story.check([e.action for e in trail] == ["submitted", "reject", "revise", "accept"], "H-2's audit trail")
    story.say("/handoff show H-2, as Carol sees it (ephemeral)")
    shown = d.slash_command("U_CAROL", text="show H-2").json() or {}
    from bot.standin import render_blocks

    story.out(indent(render_blocks(shown.get("blocks", []), s.user_names())))


def run_demo(verbose: bool = False, out: Callable[[str], None] = print) -> int:
    setup_logging("INFO" if verbose else "CRITICAL")
    logging.getLogger("uvicorn.error").setLevel(logging.INFO if verbose else logging.CRITICAL)
    with tempfile.TemporaryDirectory(prefix="handoff-demo-") as tmp, SlackStandIn(token="xoxb-demo").start() as s:
        for user_id, (name, real_name, tz) in PEOPLE.items():
            s.add_user(user_id, name, real_name=real_name, tz=tz)
        clock = ManualClock(DEMO_START)
        with LocalBot(s, f"sqlite:///{Path(tmp) / 'demo.db'}", clock=clock) as bot:
            story = Story(s, bot, out)
            out("Handoff demo: the bot served on loopback against a Slack stand-in; "
                "a throwaway database; Monday 23 Nov 2026, 09:00 in New York.")
            try:
                play(story, clock)
            except Exception as error:  # a step that never happened is a failed story, said plainly
                story.failures.append(f"{type(error).__name__}: {error}")
    if story.failures:
        out("\nThe story did not play as expected:\n" + "\n".join(f"  - {f}" for f in story.failures))
        return 1
    out("\n✓ The story played as expected.")
    return 0
