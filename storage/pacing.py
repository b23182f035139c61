"""Per-channel pacing shared by every copy of the bot on the database (the channel_pacing table)."""
from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta, timezone

from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, col, select

from storage.models import ChannelPacing


def take_turns(session: Session, channels: Collection[str], interval: timedelta,
               now: datetime | None = None) -> tuple[set[str], dict[str, datetime]]:
    """Take the turn of each channel whose next post may go now; returns the channels taken and, for the
    others, when their turn comes. One upsert: a channel's row is written only if its turn has come.

    `now` is the wall clock when the statement runs (not the bot's injected clock, and not read before the
    claim waited for the database): every copy of the bot reads its own, so their clocks must agree (NTP).

    On PostgreSQL a second copy taking the same channel waits for this transaction's row lock, then sees
    the new `next_at` and is refused; SQLite serializes writers. Either way one copy gets the turn."""
    if not channels:
        return set(), {}
    if now is None:
        now = datetime.now(timezone.utc)
    table = ChannelPacing.__table__
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table).values([{"channel": c, "next_at": now + interval} for c in sorted(channels)])
    statement = statement.on_conflict_do_update(
        index_elements=[table.c.channel], set_={"next_at": statement.excluded.next_at},
        where=table.c.next_at <= now,
    ).returning(table.c.channel)
    taken = set(session.connection().execute(statement).scalars())
    refused = set(channels) - taken
    waits: dict[str, datetime] = {}
    if refused:
        waits = {c: at for c, at in session.execute(
            select(ChannelPacing.channel, ChannelPacing.next_at).where(col(ChannelPacing.channel).in_(refused)))}
    return taken, waits
