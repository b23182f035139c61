"""The numbers: indexes that keep a team's stats fast over a long history, and the scheduler's heartbeat.

Revision ID: 0005
Revises: 0004

- audit_event (action, at): a period's accepts and rejects without reading every audit line.
- handoff (team_id, created_at) and (team_id, updated_at): a team's handoffs of a period, not its whole history.
- handoff (sdr_id, updated_at) and (ae_id, updated_at): a person's numbers of a period, and their Home's list
  newest first, one page at a time, without reading all their history.
- heartbeat: when a named job (the scheduler's tick) last ran, for the admins' Home (one row per job).
"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_audit_event_action_at", "audit_event", ["action", "at"])
    op.create_index("ix_handoff_team_created", "handoff", ["team_id", "created_at"])
    op.create_index("ix_handoff_team_updated", "handoff", ["team_id", "updated_at"])
    op.create_index("ix_handoff_sdr_updated", "handoff", ["sdr_id", "updated_at"])
    op.create_index("ix_handoff_ae_updated", "handoff", ["ae_id", "updated_at"])
    op.create_table(
        "heartbeat",
        sa.Column("name", sa.String, primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("detail", sa.Text),
    )


def downgrade() -> None:
    op.drop_table("heartbeat")
    op.drop_index("ix_handoff_ae_updated", "handoff")
    op.drop_index("ix_handoff_sdr_updated", "handoff")
    op.drop_index("ix_handoff_team_updated", "handoff")
    op.drop_index("ix_handoff_team_created", "handoff")
    op.drop_index("ix_audit_event_action_at", "audit_event")
