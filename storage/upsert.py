"""INSERT ... ON CONFLICT DO UPDATE, in the dialect of the connection (SQLite and PostgreSQL spell it alike).

A delete followed by an insert is not an upsert on PostgreSQL: two transactions both delete (the second
waits for the first, then finds nothing to delete) and both insert, and the second fails on the key."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection


def insert_for(conn: Connection, table: Table) -> Any:
    """An INSERT that can take ON CONFLICT, in the connection's dialect."""
    return insert_in(conn.dialect.name, table)


def insert_in(dialect: str, table: Table) -> Any:
    """An INSERT that can take ON CONFLICT, in the dialect of this name."""
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


def upsert(conn: Connection, table: Table, rows: Sequence[dict[str, Any]], key: Sequence[str]) -> None:
    """Insert `rows`; a row whose `key` columns are already there has its other columns overwritten."""
    if not rows:
        return
    stmt = insert_for(conn, table)
    columns = [name for name in rows[0] if name not in key]
    stmt = stmt.on_conflict_do_update(index_elements=list(key), set_={c: stmt.excluded[c] for c in columns})
    conn.execute(stmt, list(rows))
