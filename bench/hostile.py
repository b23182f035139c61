"""The hostile audit: Handoff tried as a hostile user and a faulty Slack would, with figures.

    .venv/bin/python bench/hostile.py            # every check, about a minute on 2 cores
    .venv/bin/python bench/hostile.py --quick    # fewer kill rounds and migration races

Four parts, each against the real app:
  1. bodies: unsigned and malformed requests (must be 401), signed requests of shapes Slack never
     sends (must be below 500), counted one check each;
  2. input: hostile values in real forms and buttons (mentions in ids, zero-width names, year 9999,
     huge ids, strangers' clicks, double clicks, an unknown time zone, a slow users.info);
  3. a faulty Slack: 429 with Retry-After that is not a number, 500 storms;
  4. processes: the bot SIGKILLed mid-post and restarted (owed messages counted: lost, duplicated),
     two processes migrating one fresh SQLite file at once, a wrong token, a port already taken.

It prints every check that did not hold, then the figures: checks held, 5xx answers, owed messages
lost, duplicate posts, forged input accepted. It never fails on them: it reports.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402

from bot.runtime.clock import ManualClock  # noqa: E402
from bot.sandbox import SlackDriver, SlackStandIn  # noqa: E402
from bot.sandbox.local_bot import SIGNING_SECRET, LocalBot  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.migrate import upgrade  # noqa: E402

START = datetime(2026, 11, 23, 14, 0, tzinfo=timezone.utc)  # a Monday
MEETING = datetime(2026, 11, 27, 15, 0, tzinfo=timezone.utc)
PEOPLE = {"U_SDR1": ("alice", "America/New_York"), "U_AE1": ("bob", "Europe/Berlin"),
          "U_STRANGER": ("eve", "UTC"), "U_AE2": ("dave", "America/Los_Angeles")}
VALID: dict[str, Any] = {
    "company": "Acme Corp", "contact_name": "Jane Doe", "contact_title": "VP Engineering",
    "contact_email": "jane@acme.example", "crm_url": "https://crm.example.com/accounts/42",
    "employee_count": "250", "region": "AMER", "source": "outbound", "handoff_type": "qualified_meeting",
    "ae_id": "U_AE1", "meeting_start": int(MEETING.timestamp()), "meeting_kind": "evaluation_45",
    "need": "Docs for 40 engineers", "compelling_event": "Launch in March", "seats": "40",
    "enterprise_needs": ["saml_sso"], "agenda": "Recap, demo, pricing",
}


@dataclass
class Audit:
    results: list[tuple[str, str, bool, str]] = field(default_factory=list)
    five_xx: int = 0
    lost: int = 0
    duplicates: int = 0
    forged: int = 0
    owed: int = 0

    def check(self, part: str, name: str, held: bool, detail: str = "") -> None:
        self.results.append((part, name, held, detail))

    def status(self, part: str, name: str, status: int, want: Callable[[int], bool]) -> None:
        if status >= 500 or status == 0:
            self.five_xx += 1
        self.check(part, name, want(status), f"answered {status}")


# ---------------------------------------------------------------------------- the app in-process


@contextmanager
def local(workdir: Path) -> Iterator[tuple[SlackStandIn, LocalBot, SlackDriver]]:
    standin = SlackStandIn(token="xoxb-hostile-audit").start()
    for user_id, (name, tz) in PEOPLE.items():
        standin.add_user(user_id, name, tz=tz)
    path = workdir / f"local-{time.monotonic_ns()}.db"
    bot = LocalBot(standin, f"sqlite:///{path}", clock=ManualClock(START), channel_post_interval=0.0).start()
    try:
        yield standin, bot, bot.driver
    finally:
        bot.stop()
        standin.stop()


def raw_post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code
    except (OSError, urllib.error.URLError):
        return 0  # the connection dropped: as bad as a 500


def settle(bot: LocalBot) -> None:
    assert bot.wiring is not None
    bot.call(bot.wiring.background.drain())
    bot.call(bot.wiring.deliverer.deliver_due())


def handoffs(bot: LocalBot) -> list[dict[str, Any]]:
    assert bot.db is not None
    with bot.db.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(text("SELECT * FROM handoff ORDER BY id"))]


def submit(standin: SlackStandIn, driver: SlackDriver, user: str = "U_SDR1", **answers: Any) -> Any:
    before = len(standin.calls_to("views.open"))
    driver.slash_command(user)
    view_id = standin.wait_for("views.open", count=before + 1)[-1].response["view"]["id"]
    return driver.submit_view(user, view_id, {**VALID, **answers})


def unsigned_bodies() -> list[tuple[str, bytes, dict[str, str]]]:
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    now = str(int(time.time()))
    return [
        ("empty body", b"", form),
        ("payload= of broken JSON", b"payload=%7Bnot-json", form),
        ("payload= a JSON list", b"payload=%5B1%2C2%5D", form),
        ("bytes that are not UTF-8", b"\xff\xfe\xfa payload=\x80", form),
        ("JSON body, truncated", b'{"type": "event_callback", "event": ', {"Content-Type": "application/json"}),
        ("no content type", b"command=/handoff&user_id=U1", {}),
        ("multipart content type", b"--x\r\n\r\n", {"Content-Type": "multipart/form-data; boundary=x"}),
        ("2 MB of form", b"text=" + b"a" * 2_000_000, form),
        ("garbage signature headers", b"command=/handoff",
         {**form, "X-Slack-Signature": "v0=zz", "X-Slack-Request-Timestamp": "yesterday"}),
        ("timestamp far in the future", b"command=/handoff",
         {**form, "X-Slack-Signature": "v0=00", "X-Slack-Request-Timestamp": "99999999999999999999"}),
        ("a signature without a timestamp", b"command=/handoff", {**form, "X-Slack-Signature": "v0=00"}),
        ("a timestamp without a signature", b"command=/handoff", {**form, "X-Slack-Request-Timestamp": now}),
    ]


def signed_shapes(standin: SlackStandIn) -> list[tuple[str, str, str]]:
    """(name, body, content type): signed with the real secret, of shapes Slack never sends."""
    user = {"id": "U_SDR1", "username": "alice", "team_id": "T_HANDOFF"}
    team = {"id": "T_HANDOFF", "domain": "handoff"}

    def payload(p: Any) -> tuple[str, str]:
        return "payload=" + urllib.parse.quote(json.dumps(p)), "application/x-www-form-urlencoded"

    def block_actions(**over: Any) -> dict[str, Any]:
        return {"type": "block_actions", "user": user, "team": team, "api_app_id": "A_HANDOFF",
                "trigger_id": standin.issue_trigger_id("U_SDR1"), **over}

    shapes: list[tuple[str, Any]] = [
        ("payload null", None), ("payload a string", "hello"), ("payload a list", [1, 2]),
        ("payload without type", {"user": user}), ("unknown payload type", {"type": "dialog_submission", "user": user}),
        ("block_actions without actions", block_actions()),
        ("block_actions, actions a string", block_actions(actions="accept")),
        ("block_actions, actions empty", block_actions(actions=[])),
        ("block_actions, action a list", block_actions(actions=[[1]])),
        ("accept with an int value", block_actions(actions=[{"action_id": "handoff_accept", "value": 12}])),
        ("accept with a dict value", block_actions(actions=[{"action_id": "handoff_accept", "value": {"h": 1}}])),
        ("accept with a huge id", block_actions(actions=[{"action_id": "handoff_accept", "value": "h:" + "9" * 40}])),
        ("reject without a value", block_actions(actions=[{"action_id": "handoff_reject"}])),
        ("block_actions, user a string", block_actions(user="U_SDR1", actions=[{"action_id": "handoff_accept",
                                                                                "value": "1"}])),
        ("block_actions without user", {"type": "block_actions", "team": team,
                                        "actions": [{"action_id": "handoff_accept", "value": "1"}]}),
        ("view_submission without view", {"type": "view_submission", "user": user, "team": team}),
        ("view_submission, view a string", {"type": "view_submission", "user": user, "team": team, "view": "x"}),
        ("handoff form with no state", {"type": "view_submission", "user": user, "team": team,
                                        "view": {"id": "V1", "callback_id": "handoff_form"}}),
        ("handoff form, values a list", {"type": "view_submission", "user": user, "team": team,
                                         "view": {"id": "V1", "callback_id": "handoff_form",
                                                  "state": {"values": [1]}}}),
        ("handoff form, block values of wrong types", {"type": "view_submission", "user": user, "team": team,
                                                       "view": {"id": "V1", "callback_id": "handoff_form",
                                                                "state": {"values": {"company": {"company": 5},
                                                                                     "ae": "U1"}}}}),
        ("reject form with hostile metadata", {"type": "view_submission", "user": user, "team": team,
                                               "view": {"id": "V1", "callback_id": "handoff_reject_form",
                                                        "private_metadata": "{\"h\": 1e400}",
                                                        "state": {"values": {}}}}),
        ("view_closed without view", {"type": "view_closed", "user": user, "team": team}),
        ("shortcut nobody registered", {"type": "shortcut", "callback_id": "nope", "user": user, "team": team}),
        ("block_suggestion", {"type": "block_suggestion", "user": user, "team": team, "action_id": "x",
                              "value": "a"}),
    ]
    out = [(name, *payload(p)) for name, p in shapes]
    form = "application/x-www-form-urlencoded"
    out += [
        ("slash command without user_id", "command=%2Fhandoff&text=&team_id=T_HANDOFF", form),
        ("slash command without anything", "command=%2Fhandoff", form),
        ("slash command, 40k of text", "command=%2Fhandoff&user_id=U_SDR1&team_id=T_HANDOFF&text=" + "x" * 40000,
         form),
        ("slash command, show a huge id", "command=%2Fhandoff&user_id=U_SDR1&team_id=T_HANDOFF&text=show+H-"
         + "9" * 30, form),
        ("slash command, repeated fields", "command=%2Fhandoff&command=%2Fother&user_id=U1&user_id=U2", form),
        ("form body, not a command", "hello=world", form),
        ("event_callback without event", json.dumps({"type": "event_callback", "team_id": "T_HANDOFF"}),
         "application/json"),
        ("event_callback, event a list", json.dumps({"type": "event_callback", "event": [1]}), "application/json"),
        ("app_home_opened without user", json.dumps({"type": "event_callback", "team_id": "T_HANDOFF",
                                                     "event": {"type": "app_home_opened", "tab": "home"}}),
         "application/json"),
        ("app_home_opened, user a dict", json.dumps({"type": "event_callback", "team_id": "T_HANDOFF",
                                                     "event": {"type": "app_home_opened", "user": {"id": 1}}}),
         "application/json"),
        ("url_verification without challenge", json.dumps({"type": "url_verification"}), "application/json"),
        ("JSON body null", "null", "application/json"),
        ("JSON body a number", "1e999", "application/json"),
        ("ssl_check", "ssl_check=1&token=x", form),
    ]
    return out


def part_bodies(audit: Audit, workdir: Path) -> None:
    with local(workdir) as (standin, bot, driver):
        for name, body, headers in unsigned_bodies():
            # Too big to read is refused before its signature is even looked at.
            expected = (401, 413) if len(body) > 1_000_000 else (401,)
            audit.status("bodies", f"unsigned: {name}", raw_post(driver.app_url, body, headers),
                         lambda s, expected=expected: s in expected)
        for name, body, content_type in signed_shapes(standin):
            status = driver.post(body, content_type).status
            audit.status("bodies", f"signed: {name}", status, lambda s: s < 500)
        settle(bot)
        audit.check("bodies", "nothing stored from any of them", not handoffs(bot))


# ---------------------------------------------------------------------------- hostile input


def part_input(audit: Audit, workdir: Path) -> None:
    with local(workdir) as (standin, bot, driver):
        for check in (_mention_in_id, _zero_width, _control_chars, _buttons_and_show, _unknown_zone, _slow_users_info):
            try:
                check(audit, standin, bot, driver)
            except Exception as error:  # noqa: BLE001 - a check that breaks is a finding
                audit.check("input", f"{check.__name__} ran to the end", False, f"{type(error).__name__}: {error}")
    with local(workdir) as (standin, bot, driver):  # last, on its own bot: it may wedge the event loop
        try:
            _year_9999(audit, standin, bot, driver)
        except Exception as error:  # noqa: BLE001
            audit.forged += 1
            audit.check("input", "a meeting in year 9999 is an inline error, answered within Slack's 3 s", False,
                        f"{type(error).__name__}: {error}")


def _mention_in_id(audit: Audit, standin: SlackStandIn, bot: LocalBot, driver: SlackDriver) -> None:
    """An attendee id shaped to become @channel in mrkdwn."""
    submit(standin, driver, attendees=["U0SE><!channel"])
    settle(bot)
    live = [c for c in standin.calls_to("chat.postMessage") if "<!channel" in json.dumps(c.args)]
    stored = [h for h in handoffs(bot) if "<!channel" in json.dumps(h, default=str)]
    forged = bool(live or stored)
    audit.forged += forged
    audit.check("input", "attendee id 'U0SE><!channel' refused", not forged,
                f"{len(live)} live posts, {len(stored)} records" if forged else "")


def _zero_width(audit: Audit, standin: SlackStandIn, bot: LocalBot, driver: SlackDriver) -> None:
    before = len(handoffs(bot))
    r = submit(standin, driver, company="\u200b\u200c\u200d\ufeff")
    accepted = len(handoffs(bot)) > before
    audit.forged += accepted
    audit.check("input", "company of only zero-width characters refused inline",
                not accepted and '"errors"' in r.body, r.body[:80])


def _control_chars(audit: Audit, standin: SlackStandIn, bot: LocalBot, driver: SlackDriver) -> None:
    before = len(handoffs(bot))
    r = submit(standin, driver, company="Acme\u0000\u202e Corp\u0007")
    rows = handoffs(bot)[before:]
    clean = all(ch not in rows[0]["company"] for ch in "\u0000\u202e\u0007") if rows else True
    audit.forged += not clean
    audit.check("input", "control and bidi characters stripped from text", clean,
                repr(rows[0]["company"]) if rows else r.body[:80])


def _year_9999(audit: Audit, standin: SlackStandIn, bot: LocalBot, driver: SlackDriver) -> None:
    before = len(handoffs(bot))
    started = time.monotonic()
    r = submit(standin, driver, meeting_start=int(datetime(9999, 12, 31, 12, tzinfo=timezone.utc).timestamp()))
    took = time.monotonic() - started
    accepted = len(handoffs(bot)) > before
    audit.forged += accepted
    audit.check("input", "a meeting in year 9999 is an inline error, answered within Slack's 3 s",
                not accepted and '"errors"' in r.body and took < 3.0, f"{took:.2f} s; {r.body[:60]}")


def _buttons_and_show(audit: Audit, standin: SlackStandIn, bot: LocalBot, driver: SlackDriver) -> None:
    # A real pending handoff to aim at.
    submit(standin, driver)
    settle(bot)
    card = standin.wait_for("chat.postMessage", where=lambda c: c.args.get("channel") == "U_AE1"
                            and "handoff_accept" in str(c.args))[-1]
    where = (card.response["channel"], card.response["ts"])
    hid = handoffs(bot)[-1]["id"]

    # The bot's buttons carry {"v": 1, "id": ..., "rev": ...}; ids past any the database can hold, then shapes
    # that are no reference at all.
    for value in (json.dumps({"v": 1, "id": 10 ** 30, "rev": 1}), json.dumps({"v": 1, "id": -1, "rev": 1}),
                  json.dumps({"v": 1, "id": 1, "rev": 10 ** 30}), str(10 ** 30), "-1", ""):
        before_calls = len(standin.calls)
        r = driver.click("U_AE1", "handoff_accept", value=value, message=where, block_id="stale")
        settle(bot)
        said = json.dumps([c.args for c in standin.calls[before_calls:]]).lower()
        audit.status("input", f"button value {value[:24]!r}: answered, below 500", r.status, lambda s: s < 500)
        # An id too big to exist names no handoff; a value of no known shape is not one of the bot's buttons.
        told = "no such handoff" in said if f'"id": {10 ** 30}' in value \
            else "no such handoff" in said or "not one of mine" in said
        audit.check("input", f"button value {value[:24]!r}: the user is told", told, said[:80])

    for arg in ("H-" + "9" * 30, "H-0", "H--1", "H-1e9"):
        r = driver.slash_command("U_SDR1", text=f"show {arg}")
        audit.status("input", f"/handoff show {arg[:12]}…: below 500", r.status, lambda s: s < 500)
        answer = r.body.lower()
        told = ("no such handoff" in answer or "there is no handoff" in answer) if arg[2:].isdigit() \
            else "needs a handoff id" in answer
        audit.check("input", f"/handoff show {arg[:12]}…: the user is told", told, r.body[:80])

    r = driver.click("U_STRANGER", "handoff_accept", message=where)
    settle(bot)
    state = next(h for h in handoffs(bot) if h["id"] == hid)["state"]
    audit.forged += state != "pending"
    audit.check("input", "a stranger's Accept is refused", state == "pending", state)

    r = driver.click("U_AE1", "handoff_accept", message=where, forge_signature=True)
    state = next(h for h in handoffs(bot) if h["id"] == hid)["state"]
    audit.status("input", "a forged Accept is 401", r.status, lambda s: s == 401)
    audit.forged += state != "pending"

    with concurrent.futures.ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda _: driver.click("U_AE1", "handoff_accept", message=where).status,
                                range(20)))
    settle(bot)
    assert bot.db is not None
    with bot.db.engine.connect() as conn:
        accepts = conn.execute(text("SELECT COUNT(*) FROM audit_event WHERE handoff_id = :h AND action = 'accept'"),
                               {"h": hid}).scalar_one()
    audit.five_xx += sum(s >= 500 for s in answers)
    audit.check("input", "20 concurrent Accepts: one outcome", accepts == 1, f"{accepts} accepts")


def _unknown_zone(audit: Audit, standin: SlackStandIn, bot: LocalBot, driver: SlackDriver) -> None:
    # Slack does not know the zone it sends.
    standin.add_user("U_AE2", "dave", tz="Mars/Olympus_Mons")
    before = len(handoffs(bot))
    r = submit(standin, driver, ae_id="U_AE2")
    settle(bot)
    cards = [c for c in standin.calls_to("chat.postMessage") if c.args.get("channel") == "U_AE2" and c.ok]
    audit.status("input", "an AE with tz 'Mars/Olympus_Mons': the SDR is answered", r.status, lambda s: s < 500)
    audit.check("input", "an AE with tz 'Mars/Olympus_Mons': handoff stored and the card posted",
                len(handoffs(bot)) > before and bool(cards), f"{len(cards)} cards")


def _slow_users_info(audit: Audit, standin: SlackStandIn, bot: LocalBot, driver: SlackDriver) -> None:
    # A slow users.info in front of the ack.
    standin.add_user("U_SLOW", "slowpoke", tz="Asia/Tokyo")
    standin.fail("users.info", delay=5.0, times=2)
    started = time.monotonic()
    r = submit(standin, driver, ae_id="U_SLOW")
    took = time.monotonic() - started
    audit.check("input", "users.info taking 5 s: the form is still answered within 3 s", took < 3.0 and r.status == 200,
                f"{took:.2f} s")


# ---------------------------------------------------------------------------- a faulty Slack


def part_slack(audit: Audit, workdir: Path) -> None:
    for label, retry_after in (("not a number", "soon"), ("an HTTP date", "Wed, 21 Oct 2015 07:28:00 GMT"),
                               ("a fraction", "0.5")):
        with local(workdir) as (standin, bot, driver):
            standin.fail("chat.postMessage", status=429, retry_after=retry_after, times=1)  # type: ignore[arg-type]
            submit(standin, driver)
            error = None
            try:
                settle(bot)
                # the retry is due after Retry-After on the bot's clock: move it on and deliver again
                assert bot.clock is not None
                bot.clock.advance(timedelta(minutes=2))  # type: ignore[attr-defined]
                settle(bot)
            except Exception as e:  # noqa: BLE001 - the audit reports it
                error = e
            cards = [c for c in standin.calls_to("chat.postMessage") if c.args.get("channel") == "U_AE1" and c.ok]
            audit.check("slack", f"429 with Retry-After {label}: the card still goes out once",
                        len(cards) == 1 and error is None,
                        f"{len(cards)} cards" + (f", {type(error).__name__}" if error else ""))

    with local(workdir) as (standin, bot, driver):
        standin.fail("chat.postMessage", status=500, times=6)
        standin.fail("chat.update", status=503, times=6)
        submit(standin, driver)
        assert bot.clock is not None
        for _ in range(12):
            settle(bot)
            bot.clock.advance(timedelta(minutes=5))  # type: ignore[attr-defined]
        posts = Counter((c.args.get("channel"), c.args.get("text"))
                        for c in standin.calls_to("chat.postMessage") if c.ok)
        dup = sum(n - 1 for n in posts.values() if n > 1)
        audit.duplicates += dup
        audit.check("slack", "a 500/503 storm: every owed message delivered exactly once",
                    bool(posts) and dup == 0 and _open_rows(bot) == 0, f"{dup} duplicates, {_open_rows(bot)} open")


def _open_rows(bot: LocalBot) -> int:
    assert bot.db is not None
    with bot.db.engine.connect() as conn:
        return conn.execute(text("SELECT COUNT(*) FROM outbox WHERE status != 'sent' "
                                 "AND status != 'skipped'")).scalar_one()


# ---------------------------------------------------------------------------- processes


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bot_env(url: str, api_url: str, port: int, token: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "HANDOFF_", "DATABASE_URL", "PORT"))}
    env.update(PYTHONPATH=str(ROOT), SLACK_BOT_TOKEN=token, SLACK_SIGNING_SECRET=SIGNING_SECRET,
               SLACK_API_URL=api_url, DATABASE_URL=url, PORT=str(port), HOST="127.0.0.1",
               HANDOFF_TICK_SECONDS="3600", LOG_LEVEL="WARNING", HANDOFF_OUTBOX_LEASE_SECONDS="2")
    return env


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
            return json.loads(response.read()).get("ok") is True
    except (OSError, ValueError):
        return False


def seed_owed(url: str, n: int) -> None:
    """n handoffs whose cards and notices are owed, as if submitted just before a crash."""
    from bot.core.handoff import Handoff, State
    from bot.services.handoffs import create_handoff

    db = Database(url)
    try:
        upgrade(db.engine)
        now = datetime.now(timezone.utc)
        for i in range(n):
            create_handoff(db, Handoff(
                id=0, state=State.PENDING, revision=1, sdr_id="U_SDR1", ae_id=("U_AE1", "U_AE2", "U_STRANGER")[i % 3],
                company=f"Killco {i}", contact_name="Pat Lee", need="Docs", compelling_event="Launch",
                created_at=now, updated_at=now, next_check_at=now + timedelta(days=1), team_id=None, ae_tz="UTC",
                sla_start=now, region="AMER", slack_team_id="T_HANDOFF", meeting_start=now + timedelta(days=30),
                meeting_kind="discovery_15", submission_key=f"kill-{i}"), "C_SALES" if i % 2 else None)
    finally:
        db.close()


def outbox_status(url: str) -> Counter[str]:
    db = Database(url)
    try:
        with db.engine.connect() as conn:
            return Counter(r[0] for r in conn.execute(text("SELECT status FROM outbox")))
    finally:
        db.close()


def part_kill(audit: Audit, workdir: Path, rounds: int) -> None:
    token = "xoxb-hostile-kill"
    for round_ in range(rounds):
        standin = SlackStandIn(token=token).start()
        for user_id, (name, tz) in PEOPLE.items():
            standin.add_user(user_id, name, tz=tz)
        standin.add_channel("C_SALES", "sales")
        url = f"sqlite:///{workdir / f'kill-{round_}.db'}"
        seed_owed(url, 12)
        owed = sum(outbox_status(url).values())
        audit.owed += owed
        # Every post is slow: the process is killed while some are on the wire.
        standin.fail("chat.postMessage", delay=0.4, times=10_000)
        port = free_port()
        log = open(workdir / f"kill-{round_}.log", "w")
        proc = subprocess.Popen([sys.executable, "-m", "bot", "run"], env=bot_env(url, standin.base_url, port, token),
                                cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while len(standin.calls_to("chat.postMessage")) < 3 + round_ and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(0.1 + 0.13 * round_)  # land the kill at a different point of a post each round
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
            standin.reset()  # Slack is well again
            proc = subprocess.Popen([sys.executable, "-m", "bot", "run"],
                                    env=bot_env(url, standin.base_url, port, token),
                                    cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
            deadline = time.monotonic() + 90  # bounds the wait; a row still open then is counted as lost
            while time.monotonic() < deadline:
                statuses = outbox_status(url)
                if statuses["pending"] + statuses["sending"] == 0 and healthy(port):
                    break
                time.sleep(0.2)
        finally:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()
        statuses = outbox_status(url)
        texts = Counter((m.get("channel"), m.get("text")) for m in standin.messages.values())
        dup = sum(n - 1 for n in texts.values() if n > 1)
        lost = owed - statuses["sent"] - statuses["skipped"]
        audit.lost += lost
        audit.duplicates += dup
        audit.check("processes", f"SIGKILL mid-post, round {round_ + 1}: {owed} owed, none lost, none twice",
                    lost == 0 and dup == 0, f"{dict(statuses)}, {dup} duplicates")
        standin.stop()


def part_processes(audit: Audit, workdir: Path, races: int) -> None:
    for i in range(races):
        url = f"sqlite:///{workdir / f'race-{i}.db'}"
        env = {**os.environ, "PYTHONPATH": str(ROOT), "DATABASE_URL": url}
        procs = [subprocess.Popen([sys.executable, "-m", "bot", "migrate"], env=env, cwd=workdir,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for _ in range(2)]
        codes = [p.wait(60) for p in procs]
        out = " | ".join(p.stdout.read().strip().splitlines()[-1] if p.stdout else "" for p in procs)
        audit.check("processes", f"two processes migrating a fresh SQLite file, race {i + 1}", codes == [0, 0],
                    f"exit {codes}: {out[:90]}")

    standin = SlackStandIn(token="xoxb-the-right-token").start()
    try:
        port = free_port()
        url = f"sqlite:///{workdir / 'token.db'}"
        proc = subprocess.Popen([sys.executable, "-m", "bot", "run"],
                                env=bot_env(url, standin.base_url, port, "xoxb-a-wrong-token"), cwd=workdir,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        was_healthy = False
        deadline = time.monotonic() + 20
        while proc.poll() is None and time.monotonic() < deadline:
            was_healthy = was_healthy or healthy(port)
            time.sleep(0.1)
        if proc.poll() is None:
            proc.terminate()
        out, _ = proc.communicate(timeout=30)
        audit.check("processes", "a wrong token: a non-zero exit, never a healthy /healthz, no traceback",
                    proc.returncode not in (0, None) and not was_healthy and "Traceback" not in out,
                    f"exit {proc.returncode}, healthy {was_healthy}, {len(out.splitlines())} lines")

        with socket.socket() as taken:
            taken.bind(("127.0.0.1", 0))
            taken.listen(1)
            busy = taken.getsockname()[1]
            proc = subprocess.run([sys.executable, "-m", "bot", "run"],
                                  env=bot_env(url, standin.base_url, busy, standin.token), cwd=workdir,
                                  capture_output=True, text=True, timeout=60)
        out = proc.stdout + proc.stderr
        audit.check("processes", "a port already taken: exit 2, one clear line, no traceback",
                    proc.returncode == 2 and "Traceback" not in out, f"exit {proc.returncode}, "
                                                                     f"{len(out.strip().splitlines())} lines")

        proc = subprocess.run([sys.executable, "-m", "bot", "run"],
                              env=bot_env("sqlite:////nonexistent/dir/x.db", standin.base_url, free_port(),
                                          standin.token), cwd=workdir, capture_output=True, text=True, timeout=60)
        out = proc.stdout + proc.stderr
        audit.check("processes", "an unreachable database: exit 2, one clear line, no traceback",
                    proc.returncode == 2 and "Traceback" not in out, f"exit {proc.returncode}, "
                                                                     f"{len(out.strip().splitlines())} lines")
    finally:
        standin.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    import logging

    logging.disable(logging.CRITICAL)  # the audit prints its own findings; the app's warnings are expected
    audit = Audit()
    with tempfile.TemporaryDirectory(prefix="handoff-hostile-") as tmp:
        workdir = Path(tmp)
        for part in (part_bodies, part_input, part_slack):
            try:
                part(audit, workdir)
            except Exception as error:  # noqa: BLE001 - a part that breaks is a finding, not the end
                audit.check(part.__name__, "the part ran to the end", False, f"{type(error).__name__}: {error}")
        for part_, n in ((part_kill, 2 if args.quick else 5), (part_processes, 2 if args.quick else 5)):
            try:
                part_(audit, workdir, n)
            except Exception as error:  # noqa: BLE001
                audit.check(part_.__name__, "the part ran to the end", False, f"{type(error).__name__}: {error}")
    failed = [r for r in audit.results if not r[2]]
    for part, name, _held, detail in failed:
        print(f"  NOT HELD  [{part}] {name}" + (f"  ({detail})" if detail else ""))
    by_part = Counter(p for p, *_ in audit.results)
    held_by_part = Counter(p for p, _n, held, _d in audit.results if held)
    print()
    print(f"{'part':<10} {'checks':>7} {'held':>6}")
    for part in by_part:
        print(f"{part:<10} {by_part[part]:>7} {held_by_part[part]:>6}")
    print()
    print(f"checks held: {len(audit.results) - len(failed)} of {len(audit.results)}")
    print(f"5xx answers: {audit.five_xx}")
    print(f"owed messages lost (not delivered within 90 s of the restart): {audit.lost} of {audit.owed} owed "
          "across the kill rounds")
    print(f"duplicate posts: {audit.duplicates}")
    print(f"forged input accepted: {audit.forged}")


if __name__ == "__main__":
    main()
