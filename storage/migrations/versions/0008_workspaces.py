"""Many workspaces: every record names its workspace; the OAuth installation and state stores.

Revision ID: 0008
Revises: 0007

Rows written before this belong to the single workspace of an install without OAuth, whose key is ""
(bot.core.workspaces); `handoff-bot workspace adopt TEAM_ID` moves them to a workspace installed through
OAuth. A team's id is unique within its workspace, so team and team_member are rebuilt with the workspace
in their keys; a reminder's dedupe key likewise (two workspaces' "amer-mm" each have a weekly agenda).
The installation and state tables are slack_sdk's own (SQLAlchemyInstallationStore and
SQLAlchemyOAuthStateStore build them), created here so that one migration step makes the whole schema.
"""
import sqlalchemy as sa
from alembic import op
from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

INSTALLATIONS, BOTS, STATES = "slack_installations", "slack_bots", "slack_oauth_states"


def _workspace() -> sa.Column:
    return sa.Column("workspace", sa.String, nullable=False, server_default="")


def _oauth_tables() -> sa.MetaData:
    meta = sa.MetaData()
    SQLAlchemyInstallationStore.build_installations_table(meta, INSTALLATIONS)
    SQLAlchemyInstallationStore.build_bots_table(meta, BOTS)
    SQLAlchemyOAuthStateStore.build_oauth_states_table(meta, STATES)
    return meta


def _rebuild_with_workspace(name: str, key: list[str], foreign: tuple[list[str], str, list[str]] | None) -> None:
    """Copy a small table into one keyed by workspace too (SQLite cannot change a primary key in place)."""
    bind = op.get_bind()
    old = sa.Table(name, sa.MetaData(), autoload_with=bind)
    indexes = [(ix.name, [c.name for c in ix.columns]) for ix in old.indexes]
    columns = [_workspace()] + [sa.Column(c.name, c.type, nullable=c.nullable, server_default=c.server_default)
                                for c in old.columns]
    constraints: list[sa.SchemaItem] = [sa.PrimaryKeyConstraint(*key, name=f"pk_{name}")]
    if foreign is not None:
        local, target, remote = foreign
        constraints.append(sa.ForeignKeyConstraint(local, [f"{target}.{c}" for c in remote],
                                                   name=f"fk_{name}_{target}"))
    op.create_table(f"{name}_0008", *columns, *constraints)
    names = ", ".join(f'"{c.name}"' for c in old.columns)
    op.execute(f'INSERT INTO "{name}_0008" (workspace, {names}) SELECT \'\', {names} FROM "{name}"')
    for index, _cols in indexes:
        op.drop_index(index, table_name=name)
    op.execute(f'DROP TABLE "{name}"')
    op.rename_table(f"{name}_0008", name)
    for index, cols in indexes:
        op.create_index(index, name, cols)


def upgrade() -> None:
    for table in ("handoff", "audit_event", "slack_message"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(_workspace())
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(_workspace())
        batch.drop_constraint("uq_outbox_dedupe", type_="unique")
        batch.create_unique_constraint("uq_outbox_dedupe", ["workspace", "dedupe_key"])
    # team_member references team: it goes first and comes back after.
    bind = op.get_bind()
    members = sa.Table("team_member", sa.MetaData(), autoload_with=bind)
    member_rows = [dict(r._mapping) for r in bind.execute(sa.select(members))]
    for index in members.indexes:
        op.drop_index(index.name, table_name="team_member")
    op.drop_table("team_member")
    _rebuild_with_workspace("team", ["workspace", "id"], None)
    op.create_table(
        "team_member", _workspace(),
        sa.Column("team_id", sa.String, nullable=False), sa.Column("user_id", sa.String, nullable=False),
        sa.Column("role", sa.String, nullable=False), sa.Column("manager_id", sa.String),
        sa.Column("paired_ae_id", sa.String), sa.Column("position", sa.Integer, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("workspace", "team_id", "user_id", name="pk_team_member"),
        sa.ForeignKeyConstraint(["workspace", "team_id"], ["team.workspace", "team.id"], name="fk_team_member_team"),
    )
    op.create_index("ix_team_member_user_id", "team_member", ["user_id"])
    if member_rows:
        op.bulk_insert(sa.table("team_member", *(sa.column(c) for c in
                                                 ("workspace", "team_id", "user_id", "role", "manager_id",
                                                  "paired_ae_id", "position"))),
                       [{"workspace": "", **{k: r[k] for k in ("team_id", "user_id", "role", "manager_id",
                                                               "paired_ae_id", "position")}} for r in member_rows])
    _oauth_tables().create_all(bind)


def downgrade() -> None:
    _oauth_tables().drop_all(op.get_bind())
    raise NotImplementedError("0008 keeps workspaces; restore a backup to go below it")
