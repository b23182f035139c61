"""Channel pacing shared through the database, and the outbox's retention.

Two `Database` objects on one database stand for two copies of the bot (on SQLite and, with
HANDOFF_TEST_POSTGRES set, on PostgreSQL). The times are given explicitly: nothing here waits.
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import update
from sqlmodel import select

from bot.core.audience import Owed
from bot.core.handoff import Handoff, State
from bot.services.handoffs import create_handoff
from storage import handoffs as store
from storage import outbox, pacing
from storage.db import Database
from storage.migrate import upgrade
from storage.models import HandoffRow, OutboxMessage

NOW = datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc)
CHANNEL, OTHER, DM = "C_PACED", "C_OTHER", "U_SOMEONE"
SECOND = timedelta(seconds=1)


@pytest.fixture
def two(db_url: str) -> Iterator[tuple[Database, Database]]:
    first, second = Database(db_url), Database(db_url)
    upgrade(first.engine)
    try:
        yield first, second
    finally:
        first.close()
        second.close()


def owe(db: Database, *items: tuple[str, str]) -> None:
    with db.write() as session:
        store.enqueue_many(session, [(None, Owed(conversation, "post", "snapshot", key, key, payload="{}"))
                                     for conversation, key in items], event_id=None, now=NOW)


def sent(db: Database, claim: outbox.Claim, pacing: timedelta | None = None) -> None:
    outbox.settle(db, [outbox.Outcome(d.row, "sent", channel=d.row.conversation, ts="1.0", at=NOW)
                       for d in claim.deliveries], pacing)


def claimed(claim: outbox.Claim) -> list[str]:
    return [d.row.message_key for d in claim.deliveries]


def test_a_channel_posted_to_by_one_copy_is_not_posted_to_by_another_within_the_interval(two):
    a, b = two
    owe(a, (CHANNEL, "c1"), (CHANNEL, "c2"), (OTHER, "o1"), (OTHER, "o2"), (DM, "d1"), (DM, "d2"))
    first = outbox.claim_due(a, NOW, pacing=SECOND)
    assert claimed(first) == ["c1", "o1", "d1"] and first.paced == {}

    # While c1 is out, its channel's turn is held (for the claim's lease, should its claimer die).
    with b.write() as session:
        taken, held = pacing.take_turns(session, [CHANNEL], SECOND)
    assert taken == set() and held[CHANNEL] > pacing.wall_clock() + timedelta(seconds=30)

    sent(a, first, SECOND)  # answered: each channel is released a second from now
    released = pacing.wall_clock()
    # The other copy, at once: the DM's next message goes (DMs are not paced), neither channel's does.
    second = outbox.claim_due(b, NOW, pacing=SECOND)
    assert claimed(second) == ["d2"] and set(second.paced) == {CHANNEL, OTHER}
    assert all(at <= released + SECOND for at in second.paced.values())

    # Once the interval has passed, one copy takes the turn and the other is told how long it is held.
    later = released + 2 * SECOND
    with b.write() as session:
        assert pacing.take_turns(session, [CHANNEL, OTHER], SECOND, now=later) == ({CHANNEL, OTHER}, {})
    with a.write() as session:
        assert pacing.take_turns(session, [CHANNEL], SECOND, now=later) == (set(), {CHANNEL: later + SECOND})

    # A turn set by a clock an hour ahead of ours would hold the channel for an hour: it does not hold.
    with b.write() as session:
        pacing.release(session, [CHANNEL], SECOND, now=later + timedelta(hours=1))
    with a.write() as session:
        assert pacing.take_turns(session, [CHANNEL], SECOND, now=later) == ({CHANNEL}, {})


def test_without_pacing_nothing_is_written_and_channels_go_at_once(two):
    a, _ = two
    owe(a, (CHANNEL, "c1"), (OTHER, "o1"))
    claim = outbox.claim_due(a, NOW)  # the tests' bots: interval 0
    assert claimed(claim) == ["c1", "o1"] and claim.paced == {}
    with a.read() as session:
        assert session.exec(select(pacing.ChannelPacing)).all() == []


def seed_handoff(db: Database, key: str, state: State) -> int:
    h, _ = create_handoff(db, Handoff(
        id=0, state=State.PENDING, revision=1, sdr_id="U_SDR", ae_id="U_AE", company="Oldco", contact_name="Pat",
        need="Docs", compelling_event="Launch", created_at=NOW, updated_at=NOW, next_check_at=None,
        ae_tz="UTC", region="AMER", slack_team_id="T1", submission_key=key))
    with db.write() as session:
        session.execute(update(HandoffRow).where(HandoffRow.id == h.id).values(state=state.value))
    return h.id


def test_pruning_deletes_old_delivered_rows_of_finished_handoffs_only(two):
    db, _ = two
    closed = seed_handoff(db, "closed", State.CLOSED)
    withdrawn = seed_handoff(db, "withdrawn", State.WITHDRAWN)
    open_ = seed_handoff(db, "open", State.ACCEPTED)  # its reminders' keys still guard against a second post
    rejected = seed_handoff(db, "rejected", State.REJECTED)  # may be revised: pending again
    with db.write() as session:
        owed = [(h, Owed("U_AE", "post", "reminder", f"reminder:{h}:{s}", f"h{h}:r1:{s}>U_AE", payload="{}"))
                for h in (closed, withdrawn, open_, rejected) for s in ("heads_up", "overdue")]
        store.enqueue_many(session, owed, event_id=None, now=NOW)
        store.enqueue_many(session, [(None, Owed("C_TEAM", "post", "snapshot", "agenda:w1:0", "agenda:w1:0",
                                                 payload="{}"))], event_id=None, now=NOW)
        session.execute(update(OutboxMessage).values(status="sent", sent_at=NOW))
        # Still owed, or in doubt: never pruned, however old.
        session.execute(update(OutboxMessage).where(OutboxMessage.dedupe_key == f"h{closed}:r1:overdue>U_AE")
                        .values(status="unknown"))
    before = {r.id: (r.dedupe_key, r.handoff_id) for r in rows(db)}

    assert outbox.prune(db, NOW) == 0  # nothing is older than the cut-off yet
    total = 0
    while (deleted := outbox.prune(db, NOW + timedelta(days=31), batch=2)):  # small batches
        assert deleted <= 2
        total += deleted
    gone_ids = set(before) - {r.id for r in rows(db)}
    assert len(gone_ids) == total
    assert {before[i][1] for i in gone_ids} == {None, closed, withdrawn}
    left = {r.dedupe_key for r in rows(db)}
    gone = {before[i][0] for i in gone_ids}
    assert f"h{closed}:r1:overdue>U_AE" in left  # unknown stays
    assert {f"h{open_}:r1:heads_up>U_AE", f"h{open_}:r1:overdue>U_AE", f"h{rejected}:r1:heads_up>U_AE"} <= left
    assert "agenda:w1:0" in gone and f"h{withdrawn}:r1:overdue>U_AE" in gone


def rows(db: Database) -> list[OutboxMessage]:
    with db.read() as session:
        return list(session.exec(select(OutboxMessage)).all())


def test_the_bots_hourly_pruning_deletes_what_is_past_the_retention_in_batches(bot) -> None:
    from bot.runtime.server import PRUNE_BATCH, Workers

    db, now = bot.db, bot.clock.now()
    old, recent = now - timedelta(days=31), now - timedelta(days=29)  # the default retention: 30 days
    with db.write() as session:
        for at, count in ((old, PRUNE_BATCH + 100), (recent, 3)):
            store.enqueue_many(session, [(None, Owed("C_TEAM", "post", "snapshot", f"agenda:{at:%j}:{i}",
                                                     f"agenda:{at:%j}:{i}", payload="{}")) for i in range(count)],
                               event_id=None, now=at)
        session.execute(update(OutboxMessage).values(status="sent"))
    assert bot.call(Workers(bot.wiring).prune_outbox()) == PRUNE_BATCH + 100  # two transactions
    assert {r.next_attempt_at for r in rows(db)} == {recent}
