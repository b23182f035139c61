"""Handoffs, their audit trail, posted messages and the outbox.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "handoff",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("state", sa.String, nullable=False, index=True),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("submission_key", sa.String, nullable=False, unique=True),
        sa.Column("slack_team_id", sa.String, nullable=False),
        sa.Column("sdr_id", sa.String, nullable=False),
        sa.Column("ae_id", sa.String, nullable=False),
        sa.Column("company", sa.String, nullable=False),
        sa.Column("contact_name", sa.String, nullable=False),
        sa.Column("contact_title", sa.String),
        sa.Column("contact_email", sa.String),
        sa.Column("crm_url", sa.String),
        sa.Column("employee_count", sa.Integer),
        sa.Column("segment", sa.String),
        sa.Column("region", sa.String),
        sa.Column("source", sa.String, nullable=False),
        sa.Column("handoff_type", sa.String, nullable=False),
        sa.Column("meeting_start", TS),
        sa.Column("meeting_kind", sa.String),
        sa.Column("meeting_link", sa.String),
        sa.Column("attendees", sa.String, nullable=False),
        sa.Column("need", sa.Text, nullable=False),
        sa.Column("compelling_event", sa.Text, nullable=False),
        sa.Column("before_scenario", sa.Text),
        sa.Column("after_scenario", sa.Text),
        sa.Column("outcomes", sa.Text),
        sa.Column("required_capabilities", sa.Text),
        sa.Column("metrics", sa.Text),
        sa.Column("decision_path", sa.Text),
        sa.Column("seats", sa.Integer),
        sa.Column("enterprise_needs", sa.String, nullable=False),
        sa.Column("agenda", sa.Text),
        sa.Column("notes", sa.Text),
        sa.Column("decided_by", sa.String),
        sa.Column("decided_at", TS),
        sa.Column("rejection_reason", sa.String),
        sa.Column("rejection_feedback", sa.Text),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
    )
    op.create_index("ix_handoff_sdr", "handoff", ["sdr_id", "state"])
    op.create_index("ix_handoff_ae", "handoff", ["ae_id", "state"])
    op.create_table(
        "audit_event",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("handoff_id", sa.Integer, sa.ForeignKey("handoff.id"), nullable=False, index=True),
        sa.Column("at", TS, nullable=False),
        sa.Column("actor", sa.String, nullable=False),
        sa.Column("action", sa.String, nullable=False),
        sa.Column("from_state", sa.String),
        sa.Column("to_state", sa.String),
        sa.Column("reason", sa.Text),
        sa.Column("detail", sa.String, nullable=False),
    )
    op.create_table(
        "slack_message",
        sa.Column("key", sa.String, primary_key=True),
        sa.Column("handoff_id", sa.Integer, sa.ForeignKey("handoff.id"), index=True),
        sa.Column("channel", sa.String, nullable=False),
        sa.Column("ts", sa.String, nullable=False),
        sa.Column("posted_at", TS, nullable=False),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("conversation", sa.String, nullable=False),
        sa.Column("op", sa.String, nullable=False),
        sa.Column("view", sa.String, nullable=False),
        sa.Column("message_key", sa.String, nullable=False),
        sa.Column("handoff_id", sa.Integer, sa.ForeignKey("handoff.id"), index=True),
        sa.Column("audit_event_id", sa.Integer),
        sa.Column("thread_key", sa.String),
        sa.Column("dedupe_key", sa.String),
        sa.Column("status", sa.String, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", TS, nullable=False),
        sa.Column("last_error", sa.String),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("sent_at", TS),
        sa.UniqueConstraint("dedupe_key", name="uq_outbox_dedupe"),
    )
    op.create_index("ix_outbox_due", "outbox", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("slack_message")
    op.drop_table("audit_event")
    op.drop_table("handoff")
