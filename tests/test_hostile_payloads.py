"""Fuzzing the front door: Slack's real payload shapes with fields dropped, retyped, swapped for huge or
odd values, unicode and deep nesting, sent to the real app's endpoint signed and unsigned.

Whatever the body: never a 5xx, unsigned is always 401, no listener fails with a traceback, and nothing
is stored with an id that is not of Slack's shape (or posted with a live @channel/@here/@everyone).
One bot and one database serve every example (a handoff or two is made from valid-looking shapes;
that is allowed), and the examples are derandomized so CI sees the same ones each run.
"""
from __future__ import annotations

import json
import logging
import random
import shutil
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from bot.core.refs import HandoffRef, TeamRef
from bot.core.slack_ids import is_user
from bot.render.cards import ACCEPT, REASSIGN, REJECT, REVISE, WITHDRAW
from bot.render.modals import HANDOFF_CALLBACK, OUTCOME_CALLBACK, REASSIGN_CALLBACK, REJECT_CALLBACK
from bot.render.reminders import CLOSE, KEEP, OUTCOME
from bot.render.team_modals import AUTO_REASSIGN, TEAM_EDIT_CALLBACK, TEAM_PICK_CALLBACK
from bot.runtime.clock import ManualClock
from bot.sandbox import SlackStandIn
from bot.sandbox.local_bot import LocalBot
from tests.conftest import ADMIN, PEOPLE, START, local_bot
from tests.flow import VALID, handoff_submitted, open_form
from tests.test_input_hardening import FORM, JSON, post_raw
from tests.test_security import settle

EXAMPLES = 250

ODD_STRINGS = [
    "", " ", "U0SE><!channel", "<!channel>", "<!here|here>", "<@U_AE1>", "\u200b\u200d\ufeff", "\u202eevil",
    "\ud800", "\x00\x1b[31m", "9" * 40, "H-" + "9" * 40, "-1", "1e400", "NaN", "null", "[]", "{}", "ж" * 300,
    "x" * 5000, json.dumps({"v": 1, "id": 10**30, "rev": 1}), json.dumps({"v": 1, "id": 1, "rev": 1}),
    json.dumps({"v": 1, "id": -1, "rev": True}), json.dumps({"v": 2}), "[" * 2000, "U_AE2", "C_GENERAL", "T_HANDOFF",
]
ODD = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(min_value=-(2**80), max_value=2**80),
        st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=40), st.sampled_from(ODD_STRINGS),
    ),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=10), inner, max_size=4)),
    max_leaves=12,
)


@st.composite
def mutated(draw: st.DrawFn, value: Any, rate: float) -> Any:
    """`value` with, at each place, a `rate` chance of being dropped (in objects) or replaced by something odd.
    Where to mutate comes from one seeded Random (a hypothesis draw per node would cost more than the request);
    what to put there is drawn by hypothesis."""
    rnd = random.Random(draw(st.integers(0, 2**32)))  # hypothesis's own Random leans to 0.0: to mutating all

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            out: dict[str, Any] = {}
            for key, item in node.items():
                if rnd.random() < rate:
                    continue  # dropped
                out[key] = draw(ODD) if rnd.random() < rate else walk(item)
            if rnd.random() < rate:
                out[draw(st.text(max_size=12))] = draw(ODD)
            return out
        if isinstance(node, list):
            items = [draw(ODD) if rnd.random() < rate else walk(item) for item in node if rnd.random() >= rate]
            return items + [draw(ODD)] if rnd.random() < rate else items
        return draw(ODD) if rnd.random() < rate else node

    return walk(value)


class Shapes:
    """Real payloads of every kind the app listens to, for the fuzzer to start from."""

    def __init__(self, bot: LocalBot, standin: SlackStandIn):
        driver = bot.driver
        self.card = handoff_submitted(standin, driver)
        settle(bot)
        self.command = driver.slash_command_fields("U_SDR1", "list")
        view_id = open_form(standin, driver)
        self.submission = driver.view_submission_payload("U_SDR1", view_id, VALID)
        self.event = driver.event_envelope({"type": "app_home_opened", "user": "U_SDR1", "tab": "home",
                                            "channel": standin.dm_channel_id("U_SDR1")})
        self.standin = standin
        self.driver = driver

    def click(self, action_id: str, value: str, user: str) -> dict[str, Any]:
        channel, ts = self.card
        return {
            "type": "block_actions", "user": self.driver._user(user), "api_app_id": self.driver.api_app_id,
            "token": "legacy", "trigger_id": self.standin.issue_trigger_id(user), "team": self.driver._team(),
            "enterprise": None, "is_enterprise_install": False,
            "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": False},
            "channel": {"id": channel, "name": "dm"}, "state": {"values": {}},
            "actions": [{"action_id": action_id, "block_id": "b1", "type": "button", "value": value,
                         "action_ts": "1.2", "text": {"type": "plain_text", "text": "x"}}],
        }


@pytest.fixture(scope="module")
def arena(tmp_path_factory: pytest.TempPathFactory, migrated_sqlite: Path) -> Iterator[tuple[LocalBot, Shapes]]:
    standin = SlackStandIn(token="xoxb-test-token").start()
    for user_id, (name, tz) in PEOPLE.items():
        standin.add_user(user_id, name, tz=tz)
    path = tmp_path_factory.mktemp("fuzz") / "handoff.db"
    shutil.copyfile(migrated_sqlite, path)
    try:
        with local_bot(standin, f"sqlite:///{path}", ManualClock(START)) as bot:
            yield bot, Shapes(bot, standin)
    finally:
        standin.stop()


ACTORS = ["U_SDR1", "U_AE1", ADMIN]  # the admin reaches the team forms
ACTIONS = [ACCEPT, REJECT, REASSIGN, REVISE, WITHDRAW, OUTCOME, CLOSE, KEEP, AUTO_REASSIGN, "anything"]
CALLBACKS = [HANDOFF_CALLBACK, REJECT_CALLBACK, REASSIGN_CALLBACK, OUTCOME_CALLBACK, TEAM_PICK_CALLBACK,
             TEAM_EDIT_CALLBACK, "nobody_listens"]
WORDS = ["", "help", "list", "show H-1", "show H-" + "9" * 30, "show", "team", "team amer", "new", "\u200b", "<!here>"]


@st.composite
def request_body(draw: st.DrawFn, shapes: Shapes) -> tuple[bytes, str]:
    rate = draw(st.sampled_from([0.0, 0.01, 0.02, 0.05, 0.15]))
    kind = draw(st.sampled_from(["command", "click", "click", "submission", "submission", "event", "raw"]))
    if kind == "command":
        fields = draw(mutated({**shapes.command, "text": draw(st.sampled_from(WORDS)),
                               "user_id": draw(st.sampled_from(ACTORS))}, rate))
        flat = {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in fields.items()}
        return urllib.parse.urlencode(flat, errors="surrogatepass").encode(), FORM  # a lone surrogate: not UTF-8
    if kind == "click":
        value = draw(st.sampled_from([HandoffRef(1, 1).encode(), TeamRef(None).encode()] + ODD_STRINGS))
        body = draw(mutated(shapes.click(draw(st.sampled_from(ACTIONS)), value, draw(st.sampled_from(ACTORS))), rate))
        return urllib.parse.urlencode({"payload": json.dumps(body)}).encode(), FORM
    if kind == "submission":
        submission = json.loads(json.dumps(shapes.submission))
        submission["view"]["callback_id"] = draw(st.sampled_from(CALLBACKS))
        submission["user"]["id"] = draw(st.sampled_from(ACTORS))
        submission["view"]["private_metadata"] = draw(st.sampled_from(["", HandoffRef(1, 1).encode()] + ODD_STRINGS))
        body = draw(mutated(submission, rate))
        return urllib.parse.urlencode({"payload": json.dumps(body)}).encode(), FORM
    if kind == "event":
        return json.dumps(draw(mutated(shapes.event, rate))).encode(), JSON
    return draw(st.binary(max_size=300)), draw(st.sampled_from([FORM, JSON, "text/plain"]))


class Errors(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def stored_ids(bot: LocalBot) -> list[Any]:
    with bot.db.engine.connect() as conn:
        rows = conn.execute(text("SELECT sdr_id, ae_id, attendees FROM handoff")).all()
    return [i for sdr, ae, attendees in rows for i in (sdr, ae, *json.loads(attendees or "[]"))]


@settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example])
@given(data=st.data())
def test_no_payload_gets_a_5xx_or_forges_a_record(arena: tuple[LocalBot, Shapes], data: st.DataObject) -> None:
    bot, shapes = arena
    body, content_type = data.draw(request_body(shapes))
    errors = Errors()
    logging.getLogger().addHandler(errors)
    try:
        status, answer = post_raw(bot, body, content_type)
        event(f"status {status}")

        assert status < 500, (status, answer, body[:300])
        assert post_raw(bot, body, content_type, signed=False)[0] == 401, body[:300]
        settle(bot)
    finally:
        logging.getLogger().removeHandler(errors)
    assert [r.getMessage() for r in errors.records] == [], body[:300]
    assert all(is_user(i) for i in stored_ids(bot)), stored_ids(bot)
    posted = json.dumps([c.args for c in shapes.standin.calls if c.method.startswith(("chat.", "views."))])
    assert not any(live in posted for live in ("<!channel", "<!here", "<!everyone")), body[:300]
