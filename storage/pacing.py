"""Per-channel pacing shared by every copy of the bot on the database (the channel_pacing table).

A channel's turn is taken by the claim of a post to it and held while the post is out (until the claim's
lease runs out, if its claimer dies); settling the post releases it, an interval after the post was
answered. So the next post to that channel, by any copy of the bot, reaches Slack at least the interval
after the previous one was answered, however long that one took. Times are the wall clock when the
statement runs (not the bot's injected clock): every copy reads its own, so their clocks must agree (NTP).
"""
from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta, timezone

from sqlalchemy import update
from sqlmodel import Session, col, select

from storage.models import ChannelPacing
from storage.upsert import insert_for

MAX_INTERVAL = timedelta(seconds=60)  # the most HANDOFF_CHANNEL_POST_INTERVAL may be


def wall_clock() -> datetime:
    return datetime.now(timezone.utc)


def take_turns(session: Session, channels: Collection[str], hold: timedelta,
               now: datetime | None = None) -> tuple[set[str], dict[str, datetime]]:
    """Take the turn of each channel free at `now` (held for `hold`); returns the channels taken and, for
    the others, until when they are held. One upsert: a channel's row is written only if it is free.

    On PostgreSQL a second copy taking the same channel waits for this transaction's row lock, then sees
    the new `next_at` and is refused; SQLite serializes writers. Either way one copy gets the turn. Rows
    are taken in the channels' order, so two copies never wait for each other in a cycle."""
    if not channels:
        return set(), {}
    now = now or wall_clock()
    table = ChannelPacing.__table__
    statement = insert_for(session.connection(), table).values(
        [{"channel": c, "next_at": now + hold} for c in sorted(set(channels))])
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.channel], set_={"next_at": statement.excluded.next_at},
        # A turn further ahead than any copy could set it (a clock far ahead of ours) does not hold.
        where=(table.c.next_at <= now) | (table.c.next_at > now + hold + MAX_INTERVAL),
    ).returning(table.c.channel)
    taken = set(session.connection().execute(statement).scalars())
    refused = set(channels) - taken
    held: dict[str, datetime] = {}
    if refused:
        held = {c: at for c, at in session.execute(
            select(ChannelPacing.channel, ChannelPacing.next_at).where(col(ChannelPacing.channel).in_(refused)))}
    return taken, held


def release(session: Session, channels: Collection[str], interval: timedelta, now: datetime | None = None) -> None:
    """The posts to these channels are answered: each may be posted to again `interval` from now."""
    if not channels:
        return
    at = (now or wall_clock()) + interval
    # Locked in the channels' order (PostgreSQL; SQLite has no row locks), as take_turns takes them.
    locked = (select(ChannelPacing.channel).where(col(ChannelPacing.channel).in_(sorted(set(channels))))
              .order_by(col(ChannelPacing.channel)).with_for_update())
    session.execute(update(ChannelPacing).where(col(ChannelPacing.channel).in_(locked.scalar_subquery()))
                    .values(next_at=at).execution_options(synchronize_session=False))
