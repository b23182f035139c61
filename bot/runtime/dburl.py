"""A database URL as an operator may see it: SQLite's file as an absolute path, never a password."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError


def display_url(url: str) -> str:
    try:
        parsed = make_url(url)
    except ArgumentError:
        return "(unreadable DATABASE_URL)"  # it may hold a password in a shape we cannot mask: say nothing of it
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            parsed = parsed.set(database=str(Path(database).resolve()))
    return parsed.render_as_string(hide_password=True)
