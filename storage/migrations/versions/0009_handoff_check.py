"""The chase's schedule in a narrow table of its own: handoff_check (handoff_id, workspace, next_check_at).

Revision ID: 0009
Revises: 0008

A scheduler tick moves the next check of every handoff it looks at (a thousand at a time). In the handoff row
that column was indexed, so PostgreSQL could not update the row in place (HOT) and each move added an entry to
all eleven of the handoff's indexes; in a row of its own it adds two (the key and the schedule). A handoff the
chase has nothing more to ask about (its next check NULL) has no row. The index leads with the workspace: the
tick reads one workspace's due handoffs, and the survey across workspaces probes it once per workspace.

Two of the outbox's indexes become partial, so what a tick writes pays for fewer entries: ix_outbox_heads
holds only the open rows (pending, sending: what the delivery reads it for), ix_outbox_handoff_id only the
reminder posts that are or may be in Slack (what a change edits when it settles one). A catching-up tick's
superseded claims (~40% of its rows) and card edits then add an entry to neither; delivered rows leave both.

The values move as they are. SQLite drops the column in place (ALTER TABLE ... DROP COLUMN, SQLite 3.35+):
copying the handoff table, as Alembic's batch mode does, is refused while other tables reference it. An older
SQLite keeps the column, no longer read or written.
"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)
OPEN = "status IN ('pending', 'sending')"
REMINDERS_POSTED = "op = 'post' AND view = 'reminder' AND status IN ('pending', 'sending', 'sent', 'unknown')"


def _outbox_indexes(partial: bool) -> None:
    for name, columns, where in (("ix_outbox_heads", ["status", "conversation", "id"], OPEN),
                                 ("ix_outbox_handoff_id", ["handoff_id"], REMINDERS_POSTED)):
        op.drop_index(name, table_name="outbox")
        kw = {"sqlite_where": sa.text(where), "postgresql_where": sa.text(where)} if partial else {}
        op.create_index(name, "outbox", columns, **kw)


def upgrade() -> None:
    op.create_table(
        "handoff_check",
        sa.Column("handoff_id", sa.Integer, nullable=False),
        sa.Column("workspace", sa.String, nullable=False, server_default=""),
        sa.Column("next_check_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("handoff_id", name="pk_handoff_check"),
        sa.ForeignKeyConstraint(["handoff_id"], ["handoff.id"], name="fk_handoff_check_handoff"),
    )
    op.execute("INSERT INTO handoff_check (handoff_id, workspace, next_check_at) "
               "SELECT id, workspace, next_check_at FROM handoff WHERE next_check_at IS NOT NULL")
    op.create_index("ix_handoff_check_due", "handoff_check", ["workspace", "next_check_at"])  # after the rows: faster
    op.drop_index("ix_handoff_next_check_at", table_name="handoff")
    if _can_drop_columns():
        op.drop_column("handoff", "next_check_at")
    _outbox_indexes(partial=True)


def _can_drop_columns() -> bool:
    """SQLite drops a column from 3.35 on; an older one (Debian 11 has 3.34) keeps it, unread and unwritten."""
    bind = op.get_bind()
    return bind.dialect.name != "sqlite" or bind.dialect.dbapi.sqlite_version_info >= (3, 35)


def downgrade() -> None:
    _outbox_indexes(partial=False)
    if "next_check_at" not in {c["name"] for c in sa.inspect(op.get_bind()).get_columns("handoff")}:
        op.add_column("handoff", sa.Column("next_check_at", TS))
    op.execute("UPDATE handoff SET next_check_at = (SELECT c.next_check_at FROM handoff_check c "
               "WHERE c.handoff_id = handoff.id)")
    op.create_index("ix_handoff_next_check_at", "handoff", ["next_check_at"])
    op.drop_index("ix_handoff_check_due", table_name="handoff_check")
    op.drop_table("handoff_check")
