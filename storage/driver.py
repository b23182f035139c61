"""Statements run on the database driver itself, inside a transaction SQLAlchemy began, for the few paths
that run often enough for SQLAlchemy's own work per statement (compiling the parameters, building the
execution context, processing each result column) to cost more than the database's.

The SQL is written for both databases: `mark`/`in_` spell the parameters, `when` binds a datetime as
SQLAlchemy would for a UTCDateTime column, and `rows` reads rows by attribute like SQLAlchemy's, the
UTCDateTime columns as aware UTC datetimes. These connections are never scoped to a workspace: the engine
events of storage.scoping see only what SQLAlchemy runs.
"""
from __future__ import annotations

import collections
from collections.abc import Callable, Collection, Sequence
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Connection

from storage.models import UTCDateTime


class Driver:
    """The driver's connection of a SQLAlchemy connection in a transaction, with its dialect's spelling."""

    def __init__(self, conn: Connection):
        self.sqlite = conn.dialect.name == "sqlite"
        self.raw: Any = conn.connection.driver_connection
        self.mark = "?" if conn.dialect.paramstyle == "qmark" else "%s"

    def in_(self, column: str, values: Collection[Any], pg_type: str) -> tuple[str, list[Any]]:
        """`column IN (?, ...)` on SQLite, `column = ANY(%s::type[])` on PostgreSQL, with its parameters."""
        if self.sqlite:
            return f"{column} IN ({', '.join([self.mark] * len(values))})", list(values)
        return f"{column} = ANY({self.mark}::{pg_type}[])", [list(values)]

    def when(self, value: datetime | None) -> Any:
        """A datetime as SQLAlchemy binds it for a UTCDateTime column: its text on SQLite ("YYYY-MM-DD
        HH:MM:SS.ffffff", naive UTC), the aware UTC datetime on PostgreSQL."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored; use aware UTC")
        return sqlite_text(value) if self.sqlite else value.astimezone(timezone.utc)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Any:
        cursor = self.raw.cursor()
        cursor.execute(sql, params)
        return cursor

    def executemany(self, sql: str, params: Sequence[Sequence[Any]]) -> None:
        cursor = self.raw.cursor()
        cursor.executemany(sql, params)
        cursor.close()

    def rows(self, cursor: Any, *tables: Table) -> list[Any]:
        """The cursor's rows, read by attribute (named tuples); the UTCDateTime columns of `tables` (by name)
        as aware UTC datetimes, as SQLAlchemy reads them."""
        names = tuple(d[0] for d in cursor.description)
        make = _row_type(names)
        timed = [i for i, name in enumerate(names) if name in _datetime_columns(tables)]
        read = read_datetime(self.sqlite)
        out = []
        for values in cursor.fetchall():
            if timed:
                values = list(values)
                for i in timed:
                    values[i] = read(values[i])
            out.append(make(*values))
        cursor.close()
        return out


_ROW_TYPES: dict[tuple[str, ...], Any] = {}
_DATETIMES: dict[tuple[Table, ...], frozenset[str]] = {}


def _row_type(names: tuple[str, ...]) -> Any:
    made = _ROW_TYPES.get(names)
    if made is None:
        made = _ROW_TYPES[names] = collections.namedtuple("Row", names)  # type: ignore[misc]
    return made


def _datetime_columns(tables: tuple[Table, ...]) -> frozenset[str]:
    found = _DATETIMES.get(tables)
    if found is None:
        found = _DATETIMES[tables] = frozenset(
            c.name for t in tables for c in t.c if isinstance(c.type, UTCDateTime))
    return found


def sqlite_text(value: datetime) -> str:
    """SQLAlchemy's text for a UTCDateTime on SQLite ("YYYY-MM-DD HH:MM:SS.ffffff", naive UTC), without its
    formatting machinery."""
    return value.astimezone(timezone.utc).replace(tzinfo=None).isoformat(" ", "microseconds")


def read_datetime(sqlite: bool) -> Callable[[Any], datetime | None]:
    """A UTCDateTime column's value from the driver as an aware UTC datetime, as SQLAlchemy reads it."""
    if sqlite:  # SQLAlchemy's text for it; fromisoformat reads it in C (SQLAlchemy uses a regular expression)
        return lambda value: None if value is None else datetime.fromisoformat(value).replace(tzinfo=timezone.utc)
    return lambda value: None if value is None else (
        value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc))
