"""Teams, their members, and what the scheduler chases after the handoff.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "team",
        sa.Column("id", sa.String, primary_key=True),
        sa.Column("name", sa.String, nullable=False),
        sa.Column("region", sa.String, nullable=False),
        sa.Column("channel_id", sa.String, nullable=False),
        sa.Column("tz", sa.String, nullable=False),
        sa.Column("workdays", sa.String, nullable=False),
        sa.Column("day_start", sa.String, nullable=False),
        sa.Column("day_end", sa.String, nullable=False),
        sa.Column("holiday_country", sa.String),
        sa.Column("holiday_subdivision", sa.String),
        sa.Column("sync_weekday", sa.Integer, nullable=False),
        sa.Column("sync_time", sa.String, nullable=False),
        sa.Column("sla_hours", sa.Float, nullable=False),
        sa.Column("sla_from", sa.String, nullable=False),
        sa.Column("heads_up_fraction", sa.Float, nullable=False),
        sa.Column("escalate_after_hours", sa.Float, nullable=False),
        sa.Column("auto_reassign", sa.Boolean, nullable=False),
        sa.Column("outcome_after_hours", sa.Float, nullable=False),
        sa.Column("min_notice_hours", sa.Integer, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_table(
        "team_member",
        sa.Column("team_id", sa.String, sa.ForeignKey("team.id"), primary_key=True),
        sa.Column("user_id", sa.String, primary_key=True, index=True),
        sa.Column("role", sa.String, nullable=False),
        sa.Column("manager_id", sa.String),
        sa.Column("paired_ae_id", sa.String),
        sa.Column("position", sa.Integer, nullable=False),
    )
    with op.batch_alter_table("handoff") as batch:
        batch.add_column(sa.Column("team_id", sa.String))
        batch.add_column(sa.Column("ae_tz", sa.String))
        batch.add_column(sa.Column("sla_start", TS))
        batch.add_column(sa.Column("meeting_outcome", sa.String))
        batch.add_column(sa.Column("outcome_by", sa.String))
        batch.add_column(sa.Column("outcome_at", TS))
        batch.add_column(sa.Column("next_step", sa.Text))
        batch.add_column(sa.Column("next_step_due", TS))
        batch.add_column(sa.Column("next_step_owner", sa.String))
        batch.add_column(sa.Column("completed_at", TS))
        batch.add_column(sa.Column("next_check_at", TS))
        batch.create_index("ix_handoff_team_id", ["team_id"])
        batch.create_index("ix_handoff_next_check_at", ["next_check_at"])
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("payload", sa.Text))  # a snapshot to post as is (the weekly agenda)
        batch.create_index("ix_outbox_heads", ["status", "conversation", "id"])  # each conversation's next message


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_heads")
        batch.drop_column("payload")
    with op.batch_alter_table("handoff") as batch:
        batch.drop_index("ix_handoff_next_check_at")
        batch.drop_index("ix_handoff_team_id")
        for name in ("next_check_at", "completed_at", "next_step_owner", "next_step_due", "next_step",
                     "outcome_at", "outcome_by", "meeting_outcome", "sla_start", "ae_tz", "team_id"):
            batch.drop_column(name)
    op.drop_table("team_member")
    op.drop_table("team")
