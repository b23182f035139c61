"""The numbers' lookups that SQLite otherwise answers by reading a whole team or every accept.

Revision ID: 0006
Revises: 0005

Two single-column indexes become two-column ones with the same first column, so every lookup the old ones
served is still served and each write maintains as many indexes as before:

- handoff (team_id) -> (team_id, state): a team's handoffs waiting now, without reading all its history.
- audit_event (handoff_id) -> (handoff_id, action): "was this handoff ever accepted" (IQM -> SAO) per row
  through its own events, where SQLite would otherwise pick (action, at) and read every accept there is.
"""
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_handoff_team_state", "handoff", ["team_id", "state"])
    op.drop_index("ix_handoff_team_id", "handoff")
    op.create_index("ix_audit_event_handoff_action", "audit_event", ["handoff_id", "action"])
    op.drop_index("ix_audit_event_handoff_id", "audit_event")


def downgrade() -> None:
    op.create_index("ix_audit_event_handoff_id", "audit_event", ["handoff_id"])
    op.drop_index("ix_audit_event_handoff_action", "audit_event")
    op.create_index("ix_handoff_team_id", "handoff", ["team_id"])
    op.drop_index("ix_handoff_team_state", "handoff")
