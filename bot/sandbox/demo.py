"""`handoff-bot demo`: the whole story against the built-in Slack stand-in, printed as people see it.

Part one, Monday morning: two SDRs and two AEs; one handoff accepted; one rejected with feedback,
revised and accepted; a stranger's click refused; an invalid form answered inline.
Part two, a simulated clock runs the week in seconds: the heads-up, the overdue DM, the escalation,
the outcome buttons, a no-show and its rebook reminder, a next step falling due, and Monday's
agenda in AMER and EMEA at their own local hour. Part three, numbers on demand. An epilogue serves two
companies' workspaces from one bot, each installed through OAuth. Exit status 0 only if it all played out.
"""
from __future__ import annotations

import logging
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.runtime.clock import ManualClock
from bot.runtime.logs import setup_logging
from bot.sandbox import SlackStandIn, describe_event, render_blocks
from bot.sandbox.transcript import render_mrkdwn
from bot.sandbox.local_bot import LocalBot
from bot.core.teams import Member, TeamPolicy
from storage import handoffs as store
from storage.teams import replace_teams

UTC = timezone.utc
# A Monday morning in New York: 09:00 EST, 06:00 in San Francisco, 15:00 in Berlin.
DEMO_START = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)
PEOPLE = {
    "U_ALICE": ("alice", "Alice (SDR, New York)", "America/New_York"),
    "U_DAVE": ("dave", "Dave (AE, San Francisco)", "America/Los_Angeles"),
    "U_MARIA": ("maria", "Maria (sales manager, New York)", "America/New_York"),
    "U_CAROL": ("carol", "Carol (SDR, London)", "Europe/London"),
    "U_BOB": ("bob", "Bob (AE, Berlin)", "Europe/Berlin"),
    "U_KLAUS": ("klaus", "Klaus (sales manager, Berlin)", "Europe/Berlin"),
    "U_EVE": ("eve", "Eve (a stranger)", "UTC"),
}
TEAMS = [
    # AMER counts its SLA from submission; EMEA from the end of the meeting (GitLab's rule).
    TeamPolicy(id="amer", name="AMER Mid-Market", region="AMER", channel_id="C_AMER", tz="America/New_York",
               holiday_country="US", sync_weekday=0, sla_from="submission", members=(
                   Member("U_MARIA", "manager"), Member("U_ALICE", "sdr", "U_MARIA", "U_DAVE"),
                   Member("U_DAVE", "ae", "U_MARIA"))),
    TeamPolicy(id="emea", name="EMEA Mid-Market", region="EMEA", channel_id="C_EMEA", tz="Europe/Berlin",
               holiday_country="DE", sync_weekday=0, sync_time=datetime(2026, 1, 1, 9, 30).time(),
               sla_from="meeting_end", members=(
                   Member("U_KLAUS", "manager"), Member("U_CAROL", "sdr", "U_KLAUS", "U_BOB"),
                   Member("U_BOB", "ae", "U_KLAUS"))),
]
AGENDA_LINES_SHOWN = 14


class Story:
    def __init__(self, standin: SlackStandIn, bot: LocalBot, clock: ManualClock, out: Callable[[str], None]):
        self.standin, self.bot, self.clock, self.out = standin, bot, clock, out
        self.driver = bot.driver
        self.shown = 0
        self.failures: list[str] = []

    def say(self, text: str) -> None:
        self.out(f"\n\033[1m▶ {text}\033[0m" if sys.stdout.isatty() else f"\n▶ {text}")

    def settle(self) -> None:
        """Let the bot finish what the last request started and deliver everything owed."""
        assert self.bot.wiring is not None
        for _ in range(3):
            self.bot.call(self.bot.wiring.background.drain())
            self.bot.call(self.bot.wiring.deliverer.deliver_due())

    def show_new(self, skip_kinds: tuple[str, ...] = ()) -> int:
        """Print what people saw since the last step."""
        self.settle()
        events = self.standin.events[self.shown:]
        self.shown += len(events)
        shown = 0
        for event in events:
            if event.kind in skip_kinds:
                continue
            text = describe_event(event, self.standin.user_names(), self.standin.channel_names())
            if "SDR–sales sync" in text:
                lines = text.splitlines()
                if len(lines) > AGENDA_LINES_SHOWN:
                    text = "\n".join(lines[:AGENDA_LINES_SHOWN] + [f"… ({len(lines) - AGENDA_LINES_SHOWN} more lines)"])
            self.out("")
            self.out(indent(text))
            shown += 1
        return shown

    def check(self, ok: bool, what: str) -> None:
        if not ok:
            self.failures.append(what)
            self.out(f"  ✗ expected: {what}")

    def open_form(self, user: str) -> str:
        before = len(self.standin.calls_to("views.open"))
        self.driver.slash_command(user)
        return self.standin.wait_for("views.open", count=before + 1)[-1].response["view"]["id"]

    def click_to_open(self, user: str, action_id: str, message: tuple[str, str]) -> str:
        """Click a button that opens a modal; return the modal's view id."""
        before = len(self.standin.calls_to("views.open"))
        self.driver.click(user, action_id, message=message)
        return self.standin.wait_for("views.open", count=before + 1)[-1].response["view"]["id"]

    def card(self, user: str, nth: int = 1) -> tuple[str, str]:
        call = self.standin.wait_for("chat.postMessage", count=nth,
                                     where=lambda c: c.args.get("channel") == user and "handoff_accept" in str(c.args)
                                     and "Handoff" in str(c.args.get("blocks")))
        return call[nth - 1].response["channel"], call[nth - 1].response["ts"]

    def button_value(self, message: tuple[str, str], action_id: str) -> str:
        _block, element = self.driver.find_button(self.standin.messages[message]["blocks"], action_id)
        return element["value"]

    def button_on(self, user: str, action_id: str, containing: str = "") -> tuple[str, str]:
        """The newest message in the user's DM that carries this button (and this text)."""
        dm = self.standin.dm_channel_id(user)
        found = [key for key, m in self.standin.messages.items()
                 if key[0] == dm and action_id in str(m.get("blocks")) and containing in str(m.get("blocks"))]
        if not found:
            raise AssertionError(f"no message for {user} with {action_id}")
        return max(found, key=lambda key: float(key[1]))

    def posts_containing(self, text: str) -> int:
        return sum(1 for e in self.standin.events if e.kind == "message" and text in (e.text or ""))


def indent(text: str) -> str:
    return "\n".join("    " + line if line else "" for line in text.splitlines())


def acme(meeting: datetime, **extra: Any) -> dict[str, Any]:
    return {
        "company": "Acme Robotics", "contact_name": "Jane Park", "contact_title": "VP Engineering",
        "contact_email": "jane@acme.example", "crm_url": "https://crm.example.com/accounts/1042",
        "employee_count": "420", "region": "AMER", "source": "outbound", "handoff_type": "qualified_meeting",
        "ae_id": "U_DAVE", "meeting_start": int(meeting.timestamp()), "meeting_kind": "evaluation_45",
        "need": "Public docs for their robotics SDK; 40 engineers write them today in a wiki.",
        "compelling_event": "SDK 2.0 launches on 1 March; the docs must ship with it.",
        "decision_path": "Jane decides; the CTO signs above $50k.",
        "seats": "40", "enterprise_needs": ["saml_sso"],
        "agenda": "1. Recap of discovery (Alice)\n2. Demo of versioned docs\n3. SSO and pricing questions",
        **extra,
    }


def monday_morning(story: Story) -> None:
    s, d, clock = story.standin, story.driver, story.clock

    story.say("Alice (SDR, AMER) types /handoff: the form opens at once, Dave (her paired AE) and her team's region already chosen")
    view = story.open_form("U_ALICE")
    story.show_new()

    story.say("She books the meeting for tomorrow: too soon for an outbound meeting, the form says so inline")
    answer = d.submit_view("U_ALICE", view, acme(datetime(2026, 11, 24, 15, 0, tzinfo=UTC)))
    errors = (answer.json() or {}).get("errors", {})
    for field, message in errors.items():
        story.out(f"    ⚠ {field}: {message}")
    story.check("meeting_start" in errors, "the too-soon meeting answered inline")

    story.say("She moves it to Friday 10:00 and submits: H-1 goes to Dave, and to #amer-sales")
    answer = d.submit_view("U_ALICE", view, acme(datetime(2026, 11, 27, 15, 0, tzinfo=UTC)))
    story.check(answer.status == 200 and not answer.body, "the fixed form accepted")
    card1 = story.card("U_DAVE")
    story.show_new()

    accept_value = story.button_value(card1, "handoff_accept")
    story.say("Eve, who is not the AE, clicks Accept on H-1: refused, nothing changes")
    d.click("U_EVE", "handoff_accept", message=card1)
    story.show_new()

    clock.advance(timedelta(minutes=25))
    story.say("Dave accepts H-1: his card is updated in place, Alice is told, the channel thread too")
    d.click("U_DAVE", "handoff_accept", message=card1)
    story.show_new()

    story.say("Dave's second click (his client still showed the button) changes nothing; he is told when")
    d.click("U_DAVE", "handoff_accept", message=card1, value=accept_value)
    story.show_new()

    clock.advance(timedelta(minutes=30))
    story.say("Carol (SDR, EMEA) hands Globex to Bob; the meeting is Thursday")
    view = story.open_form("U_CAROL")
    d.submit_view("U_CAROL", view, acme(
        datetime(2026, 11, 26, 15, 0, tzinfo=UTC), company="Globex", contact_name="Hank Scorpio",
        contact_title="Founder", contact_email="hank@globex.example", employee_count="60", region="EMEA",
        ae_id="U_BOB", seats="8", enterprise_needs=[], decision_path="",
        need="A docs site for their API.", compelling_event="They want it soon.",
        agenda="1. Carol recaps the call\n2. API reference demo"))
    card2 = story.card("U_BOB")
    story.show_new(skip_kinds=("view_open",))

    clock.advance(timedelta(hours=2))
    story.say("Bob rejects it: no compelling event. The reason and his feedback go back to Carol")
    d.submit_view("U_BOB", story.click_to_open("U_BOB", "handoff_reject", card2), {
        "reason": "no_compelling_event",
        "feedback": "'Soon' is not a compelling event: find the date and what breaks if they miss it. "
                    "And who signs? Ask for the path to the decision maker.",
    })
    story.show_new()

    clock.advance(timedelta(hours=1))
    story.say("Carol revises with what Bob asked for and resubmits: Bob gets a fresh card")
    revise = story.click_to_open("U_CAROL", "handoff_revise", story.button_on("U_CAROL", "handoff_revise"))
    answer = d.submit_view("U_CAROL", revise, {
        "compelling_event": "Their partner API opens on 15 January; without docs 200 partners cannot integrate.",
        "decision_path": "Hank decides; the CFO signs anything over $20k.",
    })
    story.check(answer.status == 200 and not answer.body, f"the revision accepted ({answer.body})")
    card3 = story.card("U_BOB", nth=2)
    story.show_new(skip_kinds=("view_open",))

    clock.advance(timedelta(minutes=40))
    story.say("Bob accepts the revised handoff")
    d.click("U_BOB", "handoff_accept", message=card3)
    story.show_new()

    assert story.bot.db is not None
    h1, h2 = store.get_handoff(story.bot.db, 1), store.get_handoff(story.bot.db, 2)
    story.check(h1 is not None and h1.state == "accepted" and h1.decided_by == "U_DAVE", "H-1 accepted by Dave")
    story.check(h2 is not None and h2.state == "accepted" and h2.revision == 2, "H-2 revised and accepted")
    trail = store.audit_trail(story.bot.db, 2)
    story.check([e.action for e in trail] == ["submitted", "reject", "revise", "accept"], "H-2's audit trail")
    story.say("/handoff show H-2, as Carol sees it (ephemeral)")
    shown = d.slash_command("U_CAROL", text="show H-2").json() or {}
    story.out(indent(render_blocks(shown.get("blocks", []), s.user_names())))


def the_week(story: Story) -> None:
    """A simulated clock runs to the next Tuesday, ticking the real scheduler every 15 minutes."""
    s, d, clock = story.standin, story.driver, story.clock
    assert story.bot.wiring is not None
    ny = ZoneInfo("America/New_York")

    def at(day: int, hour: int, minute: int = 0) -> datetime:
        return datetime(2026, 11, day, hour, minute, tzinfo=ny).astimezone(UTC) if day > 20 else \
            datetime(2026, 12, day, hour, minute, tzinfo=ny).astimezone(UTC)

    def initech() -> None:
        story.say("Alice hands Initech to Dave (no meeting needed: a direct pass). AMER's SLA: 8 working "
                  "hours from submission, in Dave's zone (San Francisco)")
        view = story.open_form("U_ALICE")
        answers = acme(
            datetime(2026, 12, 1, 17, 0, tzinfo=UTC), company="Initech", contact_name="Bill Lumbergh",
            contact_title="CTO", contact_email="bill@initech.example", crm_url="https://crm.example.com/accounts/2001",
            employee_count="900", decision_path="Bill decides and signs.",
            agenda="Pricing for 120 seats with SSO; invoicing terms.", seats="120",
            enterprise_needs=["enterprise_pricing"], need="Docs for 120 engineers, SSO, invoicing.",
            compelling_event="Their Confluence contract ends 31 December.")
        for meeting_input in ("meeting_start", "meeting_kind", "handoff_type"):
            answers.pop(meeting_input)
        # Choosing "Direct pass" redraws the open form without the meeting inputs; what she typed stays.
        before = len(s.calls_to("views.update"))
        d.click("U_ALICE", "handoff_type", view_id=view, value="direct_pass", answers={"company": "Initech"})
        s.wait_for("views.update", count=before + 1)
        shown = {b.get("block_id") for b in s.views[view]["blocks"]}
        story.check(not shown & {"meeting_start", "meeting_kind", "meeting_link"},
                    "the form dropped the meeting inputs for a direct pass")
        answer = d.submit_view("U_ALICE", view, answers)
        story.check(answer.status == 200 and not answer.body, f"the direct pass accepted ({answer.body})")
        story.show_new(skip_kinds=("view_open", "view_update"))

    def dave_accepts_initech() -> None:
        story.say("After the escalation, Dave accepts Initech")
        d.click("U_DAVE", "handoff_accept", message=story.card("U_DAVE", nth=2))
        story.show_new()

    def bob_records_globex() -> None:
        story.say("Bob's Globex meeting is over: he records it completed, with a next step due tomorrow")
        form = story.click_to_open("U_BOB", "handoff_outcome", story.card("U_BOB", nth=2))
        answer = d.submit_view("U_BOB", form, {
            "outcome": "completed", "next_step": "Send the proposal with partner-portal pricing",
            "next_step_due": "2026-11-27", "next_step_owner": "U_BOB"})
        story.check(answer.status == 200 and not answer.body, f"Bob's outcome saved ({answer.body})")
        story.show_new(skip_kinds=("view_open",))

    def dave_records_no_show() -> None:
        story.say("Jane didn't show up to Friday's meeting: Dave records a no-show; Alice owns the rebooking")
        form = story.click_to_open("U_DAVE", "handoff_outcome", story.card("U_DAVE"))
        answer = d.submit_view("U_DAVE", form, {"outcome": "no_show"})
        story.check(answer.status == 200 and not answer.body, f"Dave's no-show saved ({answer.body})")
        story.show_new(skip_kinds=("view_open",))

    def alice_rebooks() -> None:
        story.say("Alice rebooks Acme for Thursday and records the new time from the reminder")
        reminder = story.button_on("U_ALICE", "handoff_outcome", containing="was a no-show")
        form = story.click_to_open("U_ALICE", "handoff_outcome", reminder)
        answer = d.submit_view("U_ALICE", form, {
            "outcome": "rescheduled", "new_meeting_start": int(at(3, 11).timestamp())})
        story.check(answer.status == 200 and not answer.body, f"Alice's new time saved ({answer.body})")
        story.show_new(skip_kinds=("view_open",))

    script = {
        at(23, 11): initech,
        at(24, 17, 30): dave_accepts_initech,
        at(26, 11, 0): bob_records_globex,
        at(27, 15, 0): dave_records_no_show,
        at(1, 15, 30): alice_rebooks,
    }
    story.say("The week runs: the scheduler ticks every 15 simulated minutes")
    now, end = at(23, 10, 45), at(1, 16, 0)
    last_header = ""
    while now <= end:
        clock.set(now)
        for when in [w for w in script if w <= now]:
            script.pop(when)()
        story.bot.call(story.bot.wiring.chaser.tick())
        before = story.shown
        story.settle()
        if len(s.events) > before:
            header = (f"⏱  {now.astimezone(ny):%a %d %b %H:%M} New York · "
                      f"{now.astimezone(ZoneInfo('America/Los_Angeles')):%H:%M} San Francisco · "
                      f"{now.astimezone(ZoneInfo('Europe/Berlin')):%H:%M} Berlin")
            if header != last_header:
                story.out(f"\n{header}")
                last_header = header
            story.show_new()
        now += timedelta(minutes=15)

    for what, text in [
        ("the heads-up", "⏰ *H-3 Initech*"), ("the overdue DM", "🔴 *H-3 Initech*"),
        ("the escalation", "🚨 Escalation: *H-3 Initech*"), ("the outcome reminder", "📝 The meeting for *H-1"),
        ("the rebook reminder", "📅 *H-1 Acme Robotics* was a no-show"),
        ("the next step falling due", "⌛ The next step for *H-2 Globex*"),
    ]:
        story.check(story.posts_containing(text) >= 1, f"{what} was posted")
    for team in ("AMER", "EMEA"):
        story.check(story.posts_containing(f"SDR–sales sync · {team} Mid-Market · week of 30 Nov") == 1,
                    f"Monday's agenda in {team}, once")
    story.check(story.posts_containing("🚨 Escalation: *H-3 Initech*") == 2, "the escalation to Maria and the channel")


def numbers_on_demand(story: Story) -> None:
    """Tuesday afternoon: the manager asks for the numbers, opens her Home, and exports the month."""
    d, s = story.driver, story.standin
    story.say("Maria types `/handoff stats team last 30 days`: her team's numbers, from the records")
    answer = d.slash_command("U_MARIA", text="stats team last 30 days")
    body = answer.json() or {}
    text = render_blocks(body.get("blocks"), s.user_names()) or body.get("text", "")
    story.out("")
    story.out(indent(f"[only visible to maria]\n{text}"))
    story.check(answer.status == 200 and "Acceptance rate" in text and "Time to accept" in text,
                f"Maria's team numbers ({answer.status})")
    story.show_new(skip_kinds=("file",))  # the trend chart arrives in her DM as a PNG
    story.check(any(e.kind == "file" and "handoff-trend.png" in (e.text or "") for e in s.events),
                "the weekly trend chart in Maria's DM")

    story.say("Maria opens the bot's Home tab: what her team is waiting on, per rep")
    d.app_home_opened("U_MARIA")
    story.show_new(skip_kinds=("file",))
    story.check(any(e.kind == "home" for e in s.events), "Maria's Home published")

    story.say("Eve, a stranger to both teams, asks for AMER's numbers")
    answer = d.slash_command("U_EVE", text="stats <@U_ALICE|alice>")
    refused = (answer.json() or {}).get("text", "")
    story.out("")
    story.out(indent(f"[only visible to eve]\n{render_mrkdwn(refused, s.user_names())}"))
    story.check("Acceptance rate" not in refused, "Eve refused Alice's numbers")

    story.say("Maria types `/handoff export`: the CSV for revenue operations, in her DM")
    d.slash_command("U_MARIA", text="export")
    story.settle()
    files = [e for e in s.events[story.shown:] if e.kind == "file"]
    story.shown = len(s.events)
    for e in files:
        story.out("")
        story.out(indent(describe_event(e, s.user_names(), s.channel_names())))
    story.check(any(".csv" in (e.text or "") for e in files), "the CSV in Maria's DM")


def two_workspaces(s: SlackStandIn, tmp: Path, out: Callable[[str], None], failures: list[str]) -> None:
    """Epilogue: one Handoff served to two companies' workspaces, each installed through Slack's OAuth flow."""
    people = {"T_NORTHWIND": ("U_NW_SDR", "U_NW_AE", "U_NW_MGR", "C_NW_AMER"),
              "T_CONTOSO": ("U_CT_SDR", "U_CT_AE", "U_CT_MGR", "C_CT_AMER")}
    s.client_id, s.client_secret = "demo-client-id", "demo-client-secret"
    for team, (sdr, ae, manager, channel) in people.items():
        name = team.split("_")[1].title()
        s.add_workspace(team, name=name, domain=name.lower())
        for user, role in ((sdr, "SDR"), (ae, "AE"), (manager, "manager")):
            s.add_user(user, f"{name.lower()}-{role.lower()}", real_name=f"{name} {role}", tz="America/New_York",
                       team_id=team)
        s.add_channel(channel, "amer-sales", team_id=team)
    clock = ManualClock(DEMO_START)
    with LocalBot(s, f"sqlite:///{tmp / 'hosted.db'}", clock=clock, bot_token="", client_id=s.client_id,
                  client_secret=s.client_secret, channel_post_interval=0.0) as bot:
        story = Story(s, bot, clock, out)
        story.shown = len(s.events)
        story.say("One Handoff for two companies: the admins of Northwind and Contoso each open /slack/install")
        for team, (_sdr, _ae, manager, channel) in people.items():
            status, _page = bot.install(team, manager)
            story.check(status == 200 and bot.call(bot.wiring.workspaces.get(team)) is not None,
                        f"{team} installed through OAuth")
            assert bot.db is not None
            replace_teams(bot.db.scoped(team), [replace(TEAMS[0], channel_id=channel, members=(
                Member(manager, "manager"), Member(people[team][0], "sdr", manager, people[team][1]),
                Member(people[team][1], "ae", manager)))], clock.now())
        out(indent("both workspaces have a team `amer`, each with its own channel and people"))
        nw, ct = bot.driver.for_workspace("T_NORTHWIND"), bot.driver.for_workspace("T_CONTOSO")
        story.driver = nw
        story.say("Northwind's SDR hands off Acme Robotics to Northwind's AE")
        view = story.open_form("U_NW_SDR")
        nw.submit_view("U_NW_SDR", view, acme(datetime(2026, 11, 27, 16, 0, tzinfo=UTC), ae_id="U_NW_AE"))
        story.settle()
        card = story.card("U_NW_AE")
        out(indent("the AE's card, the SDR's copy and #amer-sales' announcement, in Northwind, with Northwind's token"))
        story.check(all(c.team_id == "T_NORTHWIND" for c in s.calls_to("chat.postMessage") if c.ok
                        and c.args.get("channel") in ("U_NW_AE", "U_NW_SDR", "C_NW_AMER")),
                    "every Northwind message sent with Northwind's token")
        story.say("Contoso's AE clicks Accept on that card (a forged click, signed for Contoso)")
        ct.click("U_CT_AE", "handoff_accept", message=card)
        story.settle()
        [told] = [c.args.get("text") for c in s.calls_to("chat.postEphemeral") if c.args.get("user") == "U_CT_AE"]
        out(indent(f"[the answer for Contoso's AE] {told}"))
        assert bot.db is not None
        handoff = store.get_handoff(bot.db.scoped("T_NORTHWIND"), 1)
        story.check(handoff is not None and handoff.state.value == "pending", "H-1 untouched in Northwind")
        story.check(store.get_handoff(bot.db.scoped("T_CONTOSO"), 1) is None, "H-1 does not exist in Contoso")
        clock.set(clock.now() + timedelta(minutes=1))
        counted = {}
        for driver, who, team in ((nw, "U_NW_MGR", "Northwind"), (ct, "U_CT_MGR", "Contoso")):
            counted[team] = (driver.slash_command(who, text="stats team amer").json() or {}).get("text", "")
            out(indent(f"[{team}'s manager: /handoff stats team amer] {counted[team]}"))
        story.check("30 days: 1 handoff," in counted["Northwind"] and "30 days: 0 handoffs" in counted["Contoso"],
                    "each workspace counts its own")
        story.say("Contoso uninstalls the app: its token is deleted, Northwind goes on")
        ct.app_uninstalled()
        story.settle()
        story.check(bot.call(bot.wiring.workspaces.get("T_CONTOSO")) is None, "Contoso's token deleted")
        failures.extend(story.failures)


def run_demo(verbose: bool = False, out: Callable[[str], None] = print) -> int:
    setup_logging("INFO" if verbose else "CRITICAL")
    logging.getLogger("uvicorn.error").setLevel(logging.INFO if verbose else logging.CRITICAL)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="handoff-demo-") as tmp, SlackStandIn(token="xoxb-demo").start() as s:
        for user_id, (name, real_name, tz) in PEOPLE.items():
            s.add_user(user_id, name, real_name=real_name, tz=tz)
        s.add_channel("C_AMER", "amer-sales")
        s.add_channel("C_EMEA", "emea-sales")
        clock = ManualClock(DEMO_START)
        with LocalBot(s, f"sqlite:///{Path(tmp) / 'demo.db'}", clock=clock) as bot:
            assert bot.db is not None
            replace_teams(bot.db, TEAMS, clock.now())
            story = Story(s, bot, clock, out)
            out("Handoff demo: the bot served on loopback against a Slack stand-in, a throwaway database, "
                "teams AMER (New York) and EMEA (Berlin). Monday 23 Nov 2026, 09:00 in New York.")
            try:
                monday_morning(story)
                the_week(story)
                numbers_on_demand(story)
                two_workspaces(s, Path(tmp), out, story.failures)
            except Exception as error:  # a step that never happened is a failed story, said plainly
                story.failures.append(f"{type(error).__name__}: {error}")
    if story.failures:
        out("\nThe story did not play as expected:\n" + "\n".join(f"  - {f}" for f in story.failures))
        return 1
    out(f"\n✓ The story played as expected ({time.monotonic() - started:.1f} s).")
    return 0
