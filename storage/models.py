"""The tables. The record is the truth; Slack messages are views of it."""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from sqlalchemy import Column, DateTime, ForeignKeyConstraint, Index, String, Text, UniqueConstraint, text
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator):
    """Aware UTC datetimes in and out, whatever the database keeps (SQLite keeps naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime stored; use aware UTC")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def utc_column(nullable: bool = True) -> Column:
    return Column(UTCDateTime(), nullable=nullable)


def _workspace_of_statement(context: Any) -> str:
    """A row's workspace when the statement does not name it: the scoped session's (storage.scoping), else
    "", the one workspace of an install without OAuth (code that writes across workspaces names it)."""
    return str(context.execution_options.get("workspace", ""))


def workspace_column(primary_key: bool = False) -> Any:
    """Which Slack workspace (or Enterprise Grid org) a row belongs to: see bot.core.workspaces."""
    return Field(default=None, sa_column=Column(String, nullable=False, primary_key=primary_key,
                                                default=_workspace_of_statement))


# The tables whose rows belong to one workspace; storage.scoping keeps a scoped session to its own.
# channel_pacing is not among them (Slack's channel ids are unique across workspaces), nor heartbeat.
class HandoffRow(SQLModel, table=True):
    __tablename__ = "handoff"
    __table_args__ = (
        Index("ix_handoff_sdr", "sdr_id", "state"),
        Index("ix_handoff_ae", "ae_id", "state"),
        Index("ix_handoff_team_created", "team_id", "created_at"),  # a team's period (0005)
        Index("ix_handoff_team_updated", "team_id", "updated_at"),
        Index("ix_handoff_sdr_updated", "sdr_id", "updated_at"),  # a person's numbers and Home list (0005)
        Index("ix_handoff_ae_updated", "ae_id", "updated_at"),
        Index("ix_handoff_team_state", "team_id", "state"),  # a team's waiting handoffs (0006)
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace: str | None = workspace_column()  # migration 0008
    state: str = Field(index=True)  # see bot.core.handoff.State
    revision: int = 1  # bumped on revise/reassign; buttons on older cards go stale
    submission_key: str = Field(unique=True)  # the modal's view id: a re-sent submission is not a second handoff
    slack_team_id: str = ""
    sdr_id: str
    ae_id: str
    # prospect
    company: str
    contact_name: str
    contact_title: str | None = None
    contact_email: str | None = None
    crm_url: str | None = None
    employee_count: int | None = None
    segment: str | None = None
    region: str | None = None
    source: str = "outbound"
    handoff_type: str = "qualified_meeting"
    # meeting
    meeting_start: datetime | None = Field(default=None, sa_column=utc_column())
    meeting_kind: str | None = None
    meeting_link: str | None = None
    attendees: str = "[]"  # JSON list of user ids
    # qualification
    need: str = Field(sa_column=Column(Text, nullable=False))
    compelling_event: str = Field(sa_column=Column(Text, nullable=False))
    before_scenario: str | None = Field(default=None, sa_column=Column(Text))
    after_scenario: str | None = Field(default=None, sa_column=Column(Text))
    outcomes: str | None = Field(default=None, sa_column=Column(Text))
    required_capabilities: str | None = Field(default=None, sa_column=Column(Text))
    metrics: str | None = Field(default=None, sa_column=Column(Text))
    decision_path: str | None = Field(default=None, sa_column=Column(Text))
    seats: int | None = None
    enterprise_needs: str = "[]"  # JSON list of codes
    agenda: str | None = Field(default=None, sa_column=Column(Text))
    notes: str | None = Field(default=None, sa_column=Column(Text))
    # decision
    decided_by: str | None = None
    decided_at: datetime | None = Field(default=None, sa_column=utc_column())
    rejection_reason: str | None = None
    rejection_feedback: str | None = Field(default=None, sa_column=Column(Text))
    rejection_label: str | None = None  # the reason's label as chosen (migration 0004)
    created_at: datetime = Field(sa_column=utc_column(False))
    updated_at: datetime = Field(sa_column=utc_column(False))
    # after the meeting, and the chase (migration 0002)
    team_id: str | None = None  # indexed with state, created_at, updated_at
    ae_tz: str | None = None  # the AE's zone when assigned: SLAs count in it
    sla_start: datetime | None = Field(default=None, sa_column=utc_column())
    meeting_outcome: str | None = None  # completed | no_show | rescheduled
    outcome_by: str | None = None
    outcome_at: datetime | None = Field(default=None, sa_column=utc_column())
    next_step: str | None = Field(default=None, sa_column=Column(Text))
    next_step_due: datetime | None = Field(default=None, sa_column=utc_column())
    next_step_owner: str | None = None
    completed_at: datetime | None = Field(default=None, sa_column=utc_column())
    # When the chase looks again: in handoff_check (HandoffCheck), not here (migration 0009).


class HandoffCheck(SQLModel, table=True):
    """When the chase looks at a handoff again; no row, never (it is finished). Apart from the wide handoff
    row, whose 11 indexes every change of a column indexed here would add an entry to (PostgreSQL updates a
    row in place, HOT, only when no indexed column changes): a tick moves a thousand of these (migration 0009)."""

    __tablename__ = "handoff_check"
    __table_args__ = (
        # Per workspace: the tick reads one workspace's due handoffs; the survey finds its workspaces by it too.
        Index("ix_handoff_check_due", "workspace", "next_check_at"),
    )

    handoff_id: int = Field(primary_key=True, foreign_key="handoff.id")
    workspace: str | None = workspace_column()  # the handoff's (storage.workspaces.adopt moves both)
    next_check_at: datetime = Field(sa_column=utc_column(False))


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_action_at", "action", "at"),  # the numbers' decisions (0005)
        Index("ix_audit_event_handoff_action", "handoff_id", "action"),  # a handoff's events; ever accepted (0006)
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace: str | None = workspace_column()  # migration 0008
    handoff_id: int = Field(foreign_key="handoff.id")
    at: datetime = Field(sa_column=utc_column(False))
    actor: str
    action: str
    from_state: str | None = None
    to_state: str | None = None
    reason: str | None = Field(default=None, sa_column=Column(Text))
    detail: str = "{}"  # JSON


class SlackMessage(SQLModel, table=True):
    """Where a view of a record was posted, so later changes edit it in place."""

    __tablename__ = "slack_message"

    key: str = Field(primary_key=True)  # e.g. "ae_card:42:1"
    workspace: str | None = workspace_column()  # migration 0008
    handoff_id: int | None = Field(default=None, foreign_key="handoff.id", index=True)
    channel: str
    ts: str
    posted_at: datetime = Field(sa_column=utc_column(False))


# The outbox rows two of its indexes hold (migration 0009): a row outside them costs a claim or a delivery no entry
# there. A query that reads through one of them repeats its predicate word for word (the same text: SQLite uses
# a partial index only when the query's WHERE has the index's terms, constants and not parameters).
OUTBOX_OPEN = "status IN ('pending', 'sending')"  # what the delivery still owes
OUTBOX_REMINDERS_POSTED = "op = 'post' AND view = 'reminder' AND status IN ('pending', 'sending', 'sent', 'unknown')"


class OutboxMessage(SQLModel, table=True):
    """A Slack post or edit owed, written in the same transaction as the change that causes it."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        # Each conversation's next message. Delivered rows (most of the table) are not in it.
        Index("ix_outbox_heads", "status", "conversation", "id", sqlite_where=text(OUTBOX_OPEN),
              postgresql_where=text(OUTBOX_OPEN)),
        # A handoff's reminders that are or may be in Slack (storage.handoffs.posted_reminders), not its every row:
        # a tick's card edits add no entry. (No handoff is ever deleted, so the foreign
        # key's own look for referencing rows never runs.)
        Index("ix_outbox_handoff_id", "handoff_id", sqlite_where=text(OUTBOX_REMINDERS_POSTED),
              postgresql_where=text(OUTBOX_REMINDERS_POSTED)),
        # Per workspace: two workspaces may each have a team "amer-mm" and its weekly agenda (migration 0008).
        UniqueConstraint("workspace", "dedupe_key", name="uq_outbox_dedupe"),
    )

    id: int | None = Field(default=None, primary_key=True)
    workspace: str | None = workspace_column()  # whose bot token delivers it (migration 0008)
    conversation: str  # user or channel id; delivery is in order per conversation
    op: str  # "post" | "update"
    view: str  # render name, see bot.render.views
    message_key: str  # the SlackMessage key posted (post) or edited (update)
    handoff_id: int | None = Field(default=None, foreign_key="handoff.id")  # indexed in part (above)
    audit_event_id: int | None = None
    thread_key: str | None = None  # post into the thread of this message
    dedupe_key: str | None = None  # claimed once: a reminder is never owed twice
    status: str = "pending"  # pending | sending | sent | skipped | superseded | dead | unknown (history unreadable)
    attempts: int = 0
    next_attempt_at: datetime = Field(sa_column=utc_column(False))
    last_error: str | None = None
    created_at: datetime = Field(sa_column=utc_column(False))
    sent_at: datetime | None = Field(default=None, sa_column=utc_column())
    payload: str | None = Field(default=None, sa_column=Column(Text))  # JSON: a snapshot or a reminder's details
    # A post that may be in Slack since then (a claim whose answer never came): history is read before posting again.
    unconfirmed_since: datetime | None = Field(default=None, sa_column=utc_column())  # migration 0003


class ChannelPacing(SQLModel, table=True):
    """When a channel may next be posted to (Slack asks about a post a second per channel), shared by every
    copy of the bot on the database: a copy takes a channel's turn in the transaction that claims its post."""

    __tablename__ = "channel_pacing"

    channel: str = Field(primary_key=True)
    next_at: datetime = Field(sa_column=utc_column(False))


class Team(SQLModel, table=True):
    """A sales team: where its handoffs are announced, its working time, its SLA and its sync."""

    __tablename__ = "team"

    workspace: str | None = workspace_column(primary_key=True)  # migration 0008
    id: str = Field(primary_key=True)  # a slug, e.g. "amer-mm", unique within its workspace
    name: str
    region: str
    channel_id: str
    tz: str
    workdays: str = "0,1,2,3,4"  # Monday = 0
    day_start: str = "09:00"
    day_end: str = "17:00"
    holiday_country: str | None = None
    holiday_subdivision: str | None = None
    sync_weekday: int = 0
    sync_time: str = "10:00"
    sla_hours: float = 8.0
    sla_from: str = "meeting_end"  # or "submission"
    heads_up_fraction: float = 0.75
    escalate_after_hours: float = 4.0
    auto_reassign: bool = False
    outcome_after_hours: float = 2.0
    min_notice_hours: int = 48
    # migration 0004: the reject form's reasons (a JSON list of [id, label]; NULL: the default list)
    # and what an agenda with nothing on it does ("note" or "skip").
    reject_reasons: str | None = Field(default=None, sa_column=Column(Text))
    empty_agenda: str = "note"
    updated_at: datetime = Field(sa_column=utc_column(False))


class TeamMember(SQLModel, table=True):
    __tablename__ = "team_member"
    __table_args__ = (
        ForeignKeyConstraint(["workspace", "team_id"], ["team.workspace", "team.id"], name="fk_team_member_team"),
    )

    workspace: str | None = workspace_column(primary_key=True)  # migration 0008
    team_id: str = Field(primary_key=True)
    user_id: str = Field(primary_key=True, index=True)
    role: str  # sdr | ae | manager
    manager_id: str | None = None
    paired_ae_id: str | None = None  # for an SDR: the AE prefilled in the form
    position: int = 0  # order of AEs for round-robin reassignment


class Heartbeat(SQLModel, table=True):
    """When a named job (the scheduler's tick) last ran: the admins' Home shows it (migration 0005)."""

    __tablename__ = "heartbeat"

    name: str = Field(primary_key=True)
    at: datetime = Field(sa_column=utc_column(False))
    detail: str | None = Field(default=None, sa_column=Column(Text))


SCOPED_MODELS: tuple[type[SQLModel], ...] = (HandoffRow, HandoffCheck, AuditEvent, SlackMessage, OutboxMessage, Team,
                                              TeamMember)
