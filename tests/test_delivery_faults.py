"""Delivery under faults: nothing lost, nothing posted twice, one slow conversation holds up no other.

A post whose answer never comes (the process killed mid-call, a deadline passed, a dropped connection,
`internal_error`) is looked for in the conversation's history by the outbox key its metadata carries:
found, it is recorded; not found, it is posted. The stand-in holds answers on request (`hold`), with the
post made or not, and cuts connections (`cut`), so the tests can kill the bot or let deadlines pass.

The in-process tests run delivery passes on the injected clock; the subprocess tests (marked `slow`)
kill a real `python -m bot run` with SIGKILL while the stand-in holds its post's answer.
"""
from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timedelta
from email.utils import format_datetime

import pytest
from conftest import START
from flow import submit
from sqlalchemy import update
from sqlmodel import select
from test_resilience import ae_cards, sdr_cards, settle, tick, wait_until
from test_resilience import outbox as outbox_rows
from test_scheduler_crash import AE, ALWAYS, MANAGER, SDR, TOKEN, BotProcess, Store, doctor, running, utcnow
from test_scheduler_crash import wait_until as wait_for_process

from bot.core.audience import Owed
from bot.core.handoff import Handoff, State
from bot.runtime.delivery import RETRY_AFTER_MAX_SECONDS, retry_after_seconds
from bot.services.handoffs import create_handoff
from storage import handoffs as handoff_store
from storage import outbox
from storage import teams as team_store
from storage.db import Database
from storage.models import AuditEvent, OutboxMessage, SlackMessage


def row_for(bot, key: str) -> OutboxMessage:
    [row] = outbox_rows(bot, message_key=key, op="post")
    return row


def tried_once(bot, key: str) -> bool:
    """The first attempt is over and the message is owed again."""
    row = row_for(bot, key)
    return row.status == "pending" and row.attempts == 1


def slack_message(bot, key: str) -> SlackMessage | None:
    with bot.db.read() as session:
        return session.get(SlackMessage, key)


# ---------------------------------------------------------------------- claiming


def _owed(db: Database, conversation: str, n: int, at: datetime, **values) -> list[int]:
    ids = []
    with db.write() as session:
        for i in range(n):
            row = OutboxMessage(conversation=conversation, op="post", view="snapshot",
                                message_key=f"{conversation}:{i}", payload=json.dumps({"text": f"{conversation} {i}"}),
                                next_attempt_at=at, created_at=at, **values)
            session.add(row)
            session.flush()
            ids.append(row.id)
    return ids


def test_a_claim_takes_only_each_conversations_head(db_url):
    db = Database(db_url)
    try:
        now = START
        a = _owed(db, "C_A", 3, now)
        b = _owed(db, "U_B", 2, now)
        later = _owed(db, "U_C", 2, now + timedelta(minutes=1))  # its head is not due yet

        claim = outbox.claim_due(db, now)
        assert sorted(d.row.id for d in claim.deliveries) == [a[0], b[0]]  # one per conversation: its first
        assert all(d.claimed_at == now and d.unconfirmed_since is None for d in claim.deliveries)
        assert outbox.claim_due(db, now).deliveries == []  # nothing behind a message in flight goes

        with db.read() as session:
            rows = {r.id: r for r in session.exec(select(OutboxMessage))}
        assert [rows[i].status for i in a] == ["sending", "pending", "pending"]
        assert [rows[i].status for i in later] == ["pending", "pending"]
        assert rows[a[0]].unconfirmed_since == now  # from the claim on, the post may be in Slack

        # Settling the heads claims the next ones, in the same transaction; a paced channel waits.
        sent = [outbox.Outcome(d.row, "sent", channel=d.row.conversation, ts=f"1.{i}", at=now)
                for i, d in enumerate(claim.deliveries)]
        claim = outbox.claim_due(db, now, skip={"C_A"}, settle_first=sent)
        assert [d.row.id for d in claim.deliveries] == [b[1]] and claim.waiting == {"C_A"}
        claim = outbox.claim_due(db, now)
        assert [d.row.id for d in claim.deliveries] == [a[1]]
    finally:
        db.close()


def _same_as_stored(read, stored, table) -> None:
    """A row the claim read from the driver, column by column as SQLAlchemy reads it (aware UTC datetimes)."""
    for column in table.c:
        ours, theirs = getattr(read, column.name), getattr(stored, column.name)
        assert ours == theirs and type(ours) is type(theirs), (table.name, column.name, ours, theirs)
        if isinstance(ours, datetime):
            assert ours.utcoffset() == timedelta(0)


def test_a_claim_reads_its_rows_handoffs_events_and_messages_as_sqlalchemy_does(db_url):
    """The claim and its settle run on the database driver itself (storage.driver): what they read and write
    must be what the ORM reads and writes, on either database."""
    db = Database(db_url)
    try:
        at = START - timedelta(hours=1)
        team_store.replace_teams(db, [dataclasses.replace(ALWAYS, tz="America/Chicago")], at)
        handoff, _ = create_handoff(db, Handoff(
            id=0, state=State.PENDING, revision=1, sdr_id=SDR, ae_id=AE, company="Acme", contact_name="Pat Lee",
            need="Docs", compelling_event="Launch", created_at=at, updated_at=at, next_check_at=at,
            team_id=ALWAYS.id, ae_tz="UTC", sla_start=at, region="AMER", slack_team_id="T_HANDOFF",
            meeting_start=START + timedelta(days=30), meeting_kind="discovery_15", submission_key="drv-1"))

        claim = outbox.claim_due(db, START)
        assert len(claim.deliveries) == 2  # the SDR's card and the AE's card, each its conversation's head
        with db.read() as session:
            rows = {r.id: r for r in session.exec(select(OutboxMessage))}
            events = {e.id: e for e in session.exec(select(AuditEvent))}
        stored = dataclasses.replace(handoff_store.get_handoff(db, handoff.id), next_check_at=None)
        for d in claim.deliveries:
            _same_as_stored(d.row, rows[d.row.id], OutboxMessage.__table__)
            assert d.row.status == "sending" and d.row.attempts == 1 and d.row.next_attempt_at == START + outbox.LEASE
            assert d.row.unconfirmed_since == START  # a post: from the claim on, it may be in Slack
            assert d.handoff == stored and d.team_tz == "America/Chicago"
            assert d.event == handoff_store.event_record(events[d.row.audit_event_id])
            assert d.target is None and d.thread is None

        # Settled as posted: recorded as the ORM reads it; an edit of the AE's card and a reply in its thread.
        sent = [outbox.Outcome(d.row, "sent", channel=f"D{i}", ts=f"17.{i}", at=START + timedelta(seconds=i))
                for i, d in enumerate(claim.deliveries)]
        ae_key = next(d.row.message_key for d in claim.deliveries if d.row.view == "ae_card")
        with db.write() as session:
            handoff_store.enqueue(session, [Owed(AE, "update", "ae_card", ae_key),
                                           Owed(SDR, "post", "sdr_card", "drv:reply", thread_key=ae_key)],
                                 handoff_id=handoff.id, event_id=None, now=START)
        claim = outbox.claim_due(db, START + timedelta(minutes=1), settle_first=sent)
        with db.read() as session:
            rows = {r.id: r for r in session.exec(select(OutboxMessage))}
            posted = {m.key: m for m in session.exec(select(SlackMessage))}
        for o in sent:
            row = rows[o.row.id]
            assert (row.status, row.sent_at, row.attempts, row.unconfirmed_since) == ("sent", o.at, 1, None)
            assert (posted[o.row.message_key].channel, posted[o.row.message_key].ts) == (o.channel, o.ts)
            assert posted[o.row.message_key].posted_at == o.at
        edit, reply = sorted(claim.deliveries, key=lambda d: d.row.op != "update")
        assert edit.row.unconfirmed_since is None and edit.event is None  # an edit is never in doubt
        _same_as_stored(edit.target, posted[ae_key], SlackMessage.__table__)
        _same_as_stored(reply.thread, posted[ae_key], SlackMessage.__table__)
        assert reply.target is None and edit.thread is None

        # Given up and retried later: the settle writes what the ORM would.
        retry = START + timedelta(minutes=5)
        outbox.settle(db, [outbox.Outcome(edit.row, "pending", error="internal_error", at=retry),
                           outbox.Outcome(reply.row, "unknown", error="history unreadable",
                                          unconfirmed_since=reply.unconfirmed_since or reply.claimed_at)])
        with db.read() as session:
            rows = {r.id: r for r in session.exec(select(OutboxMessage))}
        assert (rows[edit.row.id].status, rows[edit.row.id].next_attempt_at, rows[edit.row.id].last_error) == (
            "pending", retry, "internal_error")
        assert (rows[reply.row.id].status, rows[reply.row.id].unconfirmed_since) == (
            "unknown", START + timedelta(minutes=1))
    finally:
        db.close()


# ---------------------------------------------------------------------- Retry-After


@pytest.mark.parametrize("value, seconds", [
    ("3", 3.0), ("2.5", 2.5), ("0", 1.0), ("-4", 1.0), ("soon", 1.0), ("", 1.0), (None, 1.0), ("nan", 1.0),
    ("inf", 1.0), ("99999999", RETRY_AFTER_MAX_SECONDS),
    ("Mon, 23 Nov 2026 14:00:30 GMT", 30.0), ("Mon, 23 Nov 2026 13:00:00 GMT", 1.0),
    ("Mon, 32 Nov 2026 14:00:30 GMT", 1.0),
])
def test_retry_after_is_seconds_or_an_http_date_else_a_second(value, seconds):
    assert retry_after_seconds(value, START) == seconds


def test_a_429_with_a_retry_after_of_garbage_or_a_date_still_delivers(bot, standin, driver, clock):
    standin.fail("chat.postMessage", status=429, retry_after="soon")
    standin.fail("chat.postMessage", status=429, retry_after=format_datetime(START + timedelta(seconds=5), usegmt=True))
    response = submit(standin, driver)
    assert response.status == 200 and not response.body
    settle(bot)
    assert len([c for c in standin.calls_to("chat.postMessage") if c.status == 429]) == 2
    rows = outbox_rows(bot)
    assert sorted(r.next_attempt_at for r in rows) == [START + timedelta(seconds=1), START + timedelta(seconds=5)]
    assert {r.status for r in rows} == {"pending"} and {r.last_error for r in rows} == {"ratelimited"}

    tick(bot, clock, 1)
    assert len(ae_cards(standin)) + len(sdr_cards(standin)) == 1
    tick(bot, clock, 4)
    assert len(ae_cards(standin)) == 1 and len(sdr_cards(standin)) == 1
    assert standin.calls_to("conversations.history") == []  # a 429 is a sure "not posted": no need to look


# ---------------------------------------------------------------------- deadlines and lanes


def test_one_hung_conversation_does_not_hold_up_the_others(bot, standin, driver, clock):
    # The AE's DM never answers (the post does not even get made) until the test lets it.
    standin.hold("chat.postMessage", applied=False, channel="U_AE1")
    assert submit(standin, driver).status == 200
    standin.wait_held()
    wait_until(lambda: row_for(bot, "sdr_card:1").status == "sent")  # the SDR's lane went on

    # Owed while the AE's post hangs: the second SDR hears at once; the AE's second card waits its turn.
    assert submit(standin, driver, user="U_SDR2", company="Globex").status == 200
    wait_until(lambda: row_for(bot, "sdr_card:2").status == "sent")
    assert row_for(bot, "ae_card:1:1").status == "sending" and row_for(bot, "ae_card:2:1").status == "pending"
    assert ae_cards(standin) == [] and len(sdr_cards(standin)) == 1 and len(sdr_cards(standin, "U_SDR2")) == 1

    standin.release()  # the held call is answered 503: it was never made
    wait_until(lambda: tried_once(bot, "ae_card:1:1"))
    assert row_for(bot, "ae_card:1:1").unconfirmed_since == START
    tick(bot, clock, 1)  # after the back-off: not in the AE's DM, so posted; then the second card
    cards = ae_cards(standin)
    assert ["Acme Corp" in str(c.args) for c in cards] == [True, False] and "Globex" in str(cards[1].args)
    assert [c.args["channel"] for c in standin.calls_to("conversations.history")] == ["D_AE1"]
    assert {r.status for r in outbox_rows(bot)} == {"sent"}


def test_every_web_api_call_of_the_shared_session_has_a_deadline(bot):
    # slack_sdk applies its timeout only to sessions it makes; the one every call shares carries it too.
    session = bot.wiring.slack.session
    assert session is not None and session.timeout.total == bot.wiring.slack.timeout <= 30


@pytest.mark.parametrize("fault", ["answer lost", "request lost", "connection cut", "internal_error"])
def test_a_post_without_an_answer_is_looked_for_in_history_and_is_in_slack_once(bot, standin, driver, clock, fault):
    bot.wiring.deliverer.call_deadline = 0.5  # a held answer is given up on soon (the product waits 15 s)
    if fault == "answer lost":
        standin.hold("chat.postMessage", applied=True, channel="U_AE1")  # posted; the answer never comes
    elif fault == "request lost":
        standin.hold("chat.postMessage", applied=False, channel="U_AE1")  # never posted, never answered
    elif fault == "connection cut":
        standin.cut("chat.postMessage", channel="U_AE1")  # posted; the connection drops before the answer
    else:
        standin.fail("chat.postMessage", error="internal_error", channel="U_AE1")  # "some aspect may have succeeded"
    assert submit(standin, driver).status == 200
    wait_until(lambda: tried_once(bot, "ae_card:1:1"))
    row = row_for(bot, "ae_card:1:1")
    assert row.unconfirmed_since == START

    tick(bot, clock, 1)
    [card] = [m for m in standin.messages.values() if m["channel"] == "D_AE1"]  # in the AE's DM once
    assert card["metadata"] == {"event_type": "handoff_outbox",
                                "event_payload": {"key": "ae_card:1:1", "outbox_id": row.id}}
    row = row_for(bot, "ae_card:1:1")
    assert (row.status, row.attempts, row.unconfirmed_since) == ("sent", 2, None)
    assert slack_message(bot, "ae_card:1:1").ts == card["ts"]  # later edits find it
    history = standin.calls_to("conversations.history")
    assert len(history) == 1 and history[0].args["include_all_metadata"] in ("1", "true", True)
    tick(bot, clock, 3600)
    assert len([m for m in standin.messages.values() if m["channel"] == "D_AE1"]) == 1


def test_history_the_bot_may_not_read_keeps_the_post_for_an_admin_then_it_is_resolved(bot, standin, driver, clock):
    bot.wiring.deliverer.call_deadline = 0.5
    standin.scopes = frozenset({"commands", "chat:write", "users:read", "im:write"})  # installed without im:history
    standin.hold("chat.postMessage", applied=False, channel="U_AE1")
    assert submit(standin, driver).status == 200
    wait_until(lambda: tried_once(bot, "ae_card:1:1"))
    tick(bot, clock, 1)
    row = row_for(bot, "ae_card:1:1")
    assert (row.status, row.last_error) == ("unknown", "history unreadable: missing_scope")
    assert [r.id for r in outbox.stuck(bot.db)] == [row.id]
    tick(bot, clock, 3600)
    assert ae_cards(standin) == []  # never posted on a guess

    standin.scopes = None  # reinstalled with the history scopes; an admin runs `handoff-bot doctor --retry ID`
    assert outbox.requeue(bot.db, row.id, clock.now())
    settle(bot)
    assert len(ae_cards(standin)) == 1 and row_for(bot, "ae_card:1:1").status == "sent"
    assert outbox.stuck(bot.db) == []


def _owe_snapshot(bot, conversation: str, key: str, text: str, thread_key: str | None = None) -> None:
    """A message owed as is (as the weekly agenda is), straight into the outbox."""
    now = bot.clock.now()
    with bot.db.write() as session:
        session.add(OutboxMessage(conversation=conversation, op="post", view="snapshot", message_key=key,
                                  thread_key=thread_key, payload=json.dumps({"text": text}), next_attempt_at=now,
                                  created_at=now))


def test_a_thread_reply_without_an_answer_is_looked_for_in_the_thread(bot, standin, clock):
    bot.wiring.deliverer.call_deadline = 0.5
    standin.add_channel("C_TEAM", "team-amer")
    _owe_snapshot(bot, "C_TEAM", "agenda:0", "This week's agenda")
    settle(bot)
    parent = slack_message(bot, "agenda:0")
    assert parent is not None

    standin.hold("chat.postMessage", applied=True, channel="C_TEAM")  # the reply is posted; its answer is lost
    _owe_snapshot(bot, "C_TEAM", "agenda:1", "continued", thread_key="agenda:0")
    bot.wiring.deliverer.kick()
    wait_until(lambda: tried_once(bot, "agenda:1"))
    tick(bot, clock, 1)
    replies = [m for m in standin.messages.values() if m.get("thread_ts") == parent.ts and m["ts"] != parent.ts]
    assert len(replies) == 1 and row_for(bot, "agenda:1").status == "sent"
    assert slack_message(bot, "agenda:1").ts == replies[0]["ts"]
    [look] = standin.calls_to("conversations.replies")  # a reply is not in the channel's history: its thread is read
    assert (look.args["channel"], look.args["ts"]) == ("C_TEAM", parent.ts)
    assert standin.calls_to("conversations.history") == []


def test_a_channel_the_bot_is_not_in_keeps_the_post_for_an_admin(bot, standin, clock):
    bot.wiring.deliverer.call_deadline = 0.5
    standin.add_channel("C_PUBLIC", "sales", is_member=False)  # posted to with chat:write.public, never joined
    standin.hold("chat.postMessage", applied=False, channel="C_PUBLIC")
    _owe_snapshot(bot, "C_PUBLIC", "agenda:0", "This week's agenda")
    bot.wiring.deliverer.kick()
    wait_until(lambda: tried_once(bot, "agenda:0"))
    tick(bot, clock, 1)
    row = row_for(bot, "agenda:0")
    assert (row.status, row.last_error) == ("unknown", "history unreadable: not_in_channel")
    assert [m for m in standin.messages.values() if m["channel"] == "C_PUBLIC"] == []


# ---------------------------------------------------------------------- a real process, killed


def seed_escalations(store: Store, companies: list[str]) -> list[str]:
    """Handoffs submitted a month ago to the same AE: each owes its manager an escalation, in one DM."""
    at = utcnow() - timedelta(days=30)
    with store.open() as db:
        team_store.replace_teams(db, [ALWAYS], at)
        for i, company in enumerate(companies, start=1):
            create_handoff(db, Handoff(
                id=0, state=State.PENDING, revision=1, sdr_id=SDR, ae_id=AE, company=company, contact_name="Pat Lee",
                need="Docs", compelling_event="Launch", created_at=at, updated_at=at, next_check_at=at,
                team_id=ALWAYS.id, ae_tz="UTC", sla_start=at, region="AMER", slack_team_id="T_HANDOFF",
                meeting_start=utcnow() + timedelta(days=30), meeting_kind="discovery_15", submission_key=f"crash-{i}"))
        with db.write() as session:
            session.execute(update(OutboxMessage).values(status="sent", sent_at=at))
    return [f"h{i}:r1:escalation>{MANAGER}" for i in range(1, len(companies) + 1)]


def escalation_posts(standin) -> list:
    return [c for c in standin.calls_to("chat.postMessage")
            if c.ok and c.args.get("channel") == MANAGER and "Escalation" in (c.args.get("text") or "")]


@pytest.fixture
def crash_standin():
    from bot.sandbox import SlackStandIn

    s = SlackStandIn(token=TOKEN).start()
    for user_id, name in ((SDR, "kim"), (AE, "kai"), (MANAGER, "kurt")):
        s.add_user(user_id, name, tz="UTC")
    try:
        yield s
    finally:
        s.stop()


@pytest.mark.slow
@pytest.mark.parametrize("posted", [True, False], ids=["post made, answer held", "post not made"])
def test_killed_mid_post_one_message_is_in_doubt_and_every_owed_message_is_posted_once(tmp_path, db_url,
                                                                                        crash_standin, posted):
    standin = crash_standin
    store = Store(db_url)
    companies = ["Acme", "Globex", "Initech"]
    keys = seed_escalations(store, companies)
    standin.hold("chat.postMessage", applied=posted, channel=MANAGER)  # the first escalation's answer never comes

    first = BotProcess(store, standin.base_url, tmp_path)
    try:
        first.wait_healthy()
        standin.wait_held(timeout=60)
        wait_for_process(lambda: all(store.status(k) is not None for k in keys), "all three escalations owed")
        statuses = [store.status(k) for k in keys]
    finally:
        first.kill()  # mid-post: the bot never hears back
    assert statuses.count("sending") == 1 and statuses.count("pending") == 2, statuses  # only the head was claimed
    assert len(escalation_posts(standin)) == (1 if posted else 0)

    for key in keys:
        store.lease_ran_out(key)  # down longer than the claim's lease
    with running(store, standin.base_url, tmp_path) as second:
        wait_for_process(lambda: all(store.status(k) == "sent" for k in keys), "every escalation sent")
        assert second.terminate() == 0
    posts = escalation_posts(standin)
    assert [next(c for c in companies if f" {c}*" in p.args["text"]) for p in posts] == companies  # once, in order
    assert [store.status(k) for k in keys] == ["sent"] * 3
    assert len(standin.calls_to("conversations.history")) == 1  # only the one in doubt was looked for
    report = doctor(store, tmp_path)
    assert report.returncode == 0 and "nothing stuck" in report.stdout, report.stdout + report.stderr
