"""The handoff record and who may do what to it.

Pure: frozen records and plain values in, a decision out. No Slack, no SQL, no clock.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any


class State(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    CLOSED = "closed"  # accepted, then closed by the AE (e.g. a no-show nobody could rebook)


class Action(StrEnum):
    ACCEPT = "accept"
    REJECT = "reject"
    REVISE = "revise"
    WITHDRAW = "withdraw"
    REASSIGN = "reassign"
    RECORD_OUTCOME = "outcome"
    CLOSE = "close"
    KEEP = "keep"


HANDOFF_TYPES = {
    "qualified_meeting": "Qualified meeting",
    "joint_iqm": "Joint IQM",
    "direct_pass": "Direct pass",
}
SOURCES = {"inbound": "Inbound", "outbound": "Outbound"}
MEETING_KINDS = {
    "discovery_15": "15' discovery call",
    "evaluation_45": "45' evaluation call",
    "demo": "Demo",
}
MEETING_MINUTES = {"discovery_15": 15, "evaluation_45": 45, "demo": 60}
ENTERPRISE_NEEDS = {
    "saml_sso": "SAML SSO",
    "visitor_auth": "Visitor authentication",
    "enterprise_pricing": "Enterprise pricing",
    "invoicing": "Invoicing",
    "audit_logs": "Audit logs",
    "scim": "SCIM provisioning",
}
# The default reject reasons, in the order the AE sees them; a team can list its own in teams.yaml
# (TeamPolicy.reject_reasons). Ids are stored on the handoff with the label as it was chosen.
REJECT_REASONS = {
    "no_need": "No need",
    "no_budget": "No budget",
    "no_compelling_event": "No compelling event",
    "timing": "Timing",
    "no_decision_path": "No path to the decision maker",
    "not_decision_path": "Not the decision maker's path",
    "too_small": "Too small",
    "wrong_territory": "Wrong territory or segment",
    "existing_customer": "Existing customer",
    "duplicate": "Duplicate",
    "other": "Other",
}
STATE_LABELS = {
    State.PENDING: "Waiting for the AE",
    State.ACCEPTED: "Accepted",
    State.REJECTED: "Rejected",
    State.WITHDRAWN: "Withdrawn",
    State.CLOSED: "Closed",
}
MEETING_OUTCOMES = {"completed": "Completed", "no_show": "No-show", "rescheduled": "Rescheduled"}

# Which states each action may start from.
ALLOWED_FROM: dict[Action, frozenset[State]] = {
    Action.ACCEPT: frozenset({State.PENDING}),
    Action.REJECT: frozenset({State.PENDING}),
    Action.REVISE: frozenset({State.REJECTED}),
    Action.WITHDRAW: frozenset({State.PENDING, State.REJECTED}),
    Action.REASSIGN: frozenset({State.PENDING, State.REJECTED}),
    Action.RECORD_OUTCOME: frozenset({State.ACCEPTED}),
    Action.CLOSE: frozenset({State.ACCEPTED}),
    Action.KEEP: frozenset({State.ACCEPTED}),
}
RESULT_STATE: dict[Action, State] = {
    Action.ACCEPT: State.ACCEPTED,
    Action.REJECT: State.REJECTED,
    Action.REVISE: State.PENDING,
    Action.WITHDRAW: State.WITHDRAWN,
    Action.REASSIGN: State.PENDING,
    Action.RECORD_OUTCOME: State.ACCEPTED,
    Action.CLOSE: State.CLOSED,
    Action.KEEP: State.ACCEPTED,
}
DEFAULT_MEETING_MINUTES = 30


@dataclass(frozen=True)
class Person:
    id: str
    tz: str = "UTC"
    is_bot: bool = False
    deleted: bool = False
    missing: bool = False  # Slack knows no such user here (users.info: user_not_found); counted as deleted too


def meeting_end(start: datetime | None, kind: str | None) -> datetime | None:
    """The one place the meeting's end is computed: its start plus its kind's length."""
    if start is None:
        return None
    return start + timedelta(minutes=MEETING_MINUTES.get(kind or "", DEFAULT_MEETING_MINUTES))


@dataclass(frozen=True)
class Handoff:
    """One handoff as the rules and the views read it; storage maps it to and from its table."""

    id: int
    state: State
    revision: int  # bumped on revise/reassign: buttons on older cards go stale
    sdr_id: str
    ae_id: str
    company: str
    contact_name: str
    need: str
    compelling_event: str
    created_at: datetime
    updated_at: datetime
    submission_key: str = ""
    slack_team_id: str = ""
    contact_title: str | None = None
    contact_email: str | None = None
    crm_url: str | None = None
    employee_count: int | None = None
    segment: str | None = None
    region: str | None = None
    source: str = "outbound"
    handoff_type: str = "qualified_meeting"
    meeting_start: datetime | None = None
    meeting_kind: str | None = None
    meeting_link: str | None = None
    attendees: tuple[str, ...] = ()
    before_scenario: str | None = None
    after_scenario: str | None = None
    outcomes: str | None = None
    required_capabilities: str | None = None
    metrics: str | None = None
    decision_path: str | None = None
    seats: int | None = None
    enterprise_needs: tuple[str, ...] = ()
    agenda: str | None = None
    notes: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    rejection_reason: str | None = None
    rejection_feedback: str | None = None
    rejection_label: str | None = None  # the reason's label when chosen (a team's list may change later)
    team_id: str | None = None
    ae_tz: str | None = None  # the AE's zone when assigned: SLAs count in it
    sla_start: datetime | None = None
    meeting_outcome: str | None = None  # completed | no_show | rescheduled
    outcome_by: str | None = None
    outcome_at: datetime | None = None
    next_step: str | None = None
    next_step_due: datetime | None = None
    next_step_owner: str | None = None
    completed_at: datetime | None = None
    next_check_at: datetime | None = None  # when the chase looks again

    @property
    def meeting_end(self) -> datetime | None:
        return meeting_end(self.meeting_start, self.meeting_kind)


def rejection_label(h: Handoff) -> str:
    """The reason as the AE chose it: its stored label, else the default vocabulary's, else the id."""
    code = h.rejection_reason or ""
    return h.rejection_label or REJECT_REASONS.get(code, code)


@dataclass(frozen=True)
class Event:
    """One line of the audit trail: who did what, when, from which state to which, and why."""

    id: int
    handoff_id: int
    at: datetime
    actor: str
    action: str
    from_state: str | None = None
    to_state: str | None = None
    reason: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    """`ok`: go ahead to `to_state`. Otherwise a refusal the clicker is told about."""

    ok: bool
    why: str = ""  # forbidden | stale | already
    to_state: State | None = None
    handoff: Handoff | None = None


def parties(h: Handoff, events: list[Event]) -> frozenset[str]:
    """Who is or was part of the handoff: its SDR, its AEs now and before, its attendees, whoever acted on it."""
    people = {h.sdr_id, h.ae_id, *h.attendees}
    for e in events:
        people.add(e.actor)
        people.update(v for k, v in e.detail.items() if k in ("ae", "from_ae", "to_ae") and isinstance(v, str))
    return frozenset(people)


def may_act(action: Action, actor: str, h: Handoff, admins: frozenset[str],
            managers: frozenset[str] = frozenset()) -> bool:
    """Admins may do anything; the AE's manager may reassign (that is what an escalation asks of them)."""
    if actor in admins:
        return True
    if action is Action.REASSIGN and actor in managers:
        return True
    if action in (Action.ACCEPT, Action.REJECT, Action.REASSIGN, Action.CLOSE, Action.KEEP):
        return actor == h.ae_id
    if action is Action.RECORD_OUTCOME:  # the SDR owns rebooking a no-show
        return actor in (h.ae_id, h.sdr_id)
    return actor == h.sdr_id  # revise, withdraw


def decide(
    action: Action, *, actor: str, handoff: Handoff, admins: frozenset[str], card_revision: int | None = None,
    managers: frozenset[str] = frozenset(),
) -> Decision:
    """Whether `actor` may take `action` on this handoff now, and the state it leads to."""
    if not may_act(action, actor, handoff, admins, managers):
        return Decision(False, "forbidden", handoff=handoff)
    if handoff.state not in ALLOWED_FROM[action]:
        return Decision(False, "already", handoff=handoff)
    if card_revision is not None and card_revision != handoff.revision:
        return Decision(False, "stale", handoff=handoff)
    return Decision(True, to_state=RESULT_STATE[action], handoff=handoff)


def short_id(handoff_id: int) -> str:
    return f"H-{handoff_id}"


def parse_short_id(text: str) -> int | None:
    match = re.fullmatch(r"[Hh]-?(\d{1,9})", text.strip())
    return int(match.group(1)) if match else None
