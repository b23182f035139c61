"""Per-team reject reasons and the empty-agenda choice; the reject reason's label kept on the handoff.

Revision ID: 0004
Revises: 0003
"""
import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("team") as batch:
        batch.add_column(sa.Column("reject_reasons", sa.Text))  # JSON [[id, label], ...]; NULL: the default list
        batch.add_column(sa.Column("empty_agenda", sa.String, nullable=False, server_default="note"))
    with op.batch_alter_table("handoff") as batch:
        batch.add_column(sa.Column("rejection_label", sa.String))


def downgrade() -> None:
    with op.batch_alter_table("handoff") as batch:
        batch.drop_column("rejection_label")
    with op.batch_alter_table("team") as batch:
        batch.drop_column("empty_agenda")
        batch.drop_column("reject_reasons")
