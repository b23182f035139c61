"""Channel pacing held across processes: when each channel may next be posted to.

Revision ID: 0007
Revises: 0006

Several copies of the bot on one database share Slack's per-channel rate (about a post a second): the
copy that claims a channel post takes the channel's turn here, in the same transaction, so two copies
never post to one channel within the interval. One row per channel ever posted to.
"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_pacing",
        sa.Column("channel", sa.String, primary_key=True),
        sa.Column("next_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("channel_pacing")
