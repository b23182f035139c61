"""The handoff's life as functions: a record and a command in, the next record (and its audit line) out.

Every change of state goes through `apply`, whoever asks: a person's click or form, or the
scheduler's reassignment after an escalation. Pure: no I/O; the time comes in as `now`.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from bot.core.chase import assignment
from bot.core.form import (
    Invalid,
    OutcomeInput,
    outcome_detail,
    record_outcome,
    validate_reassignment,
    validate_rejection,
)
from bot.core.handoff import Action, Decision, Handoff, Person, State, decide
from bot.core.teams import TeamPolicy, reject_reasons_for

SYSTEM_ACTOR = "handoff-bot"  # the scheduler, when it reassigns on escalation


@dataclass(frozen=True)
class Accept:
    action = Action.ACCEPT


@dataclass(frozen=True)
class Reject:
    reason: str | None
    feedback: str | None
    action = Action.REJECT


@dataclass(frozen=True)
class Revise:
    values: dict[str, Any]  # a valid submission's values
    ae_tz: str  # the (maybe new) AE's zone: the acceptance clock counts in it
    action = Action.REVISE


@dataclass(frozen=True)
class Withdraw:
    action = Action.WITHDRAW


@dataclass(frozen=True)
class Reassign:
    new_ae: Person | None
    note: str | None = None
    action = Action.REASSIGN


@dataclass(frozen=True)
class RecordOutcome:
    form: OutcomeInput
    tz: str  # the recorder's zone: a next step is due at 17:00 on its day there
    action = Action.RECORD_OUTCOME


@dataclass(frozen=True)
class Close:
    action = Action.CLOSE


@dataclass(frozen=True)
class Keep:
    action = Action.KEEP


Command = Accept | Reject | Revise | Withdraw | Reassign | RecordOutcome | Close | Keep


@dataclass(frozen=True)
class Change:
    """What a command did: the record before and after, and the audit line it owes."""

    before: Handoff
    after: Handoff
    action: Action
    actor: str
    at: datetime
    reason: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Refused:
    decision: Decision


def submit(values: dict[str, Any], *, sdr_id: str, team: TeamPolicy | None, ae_tz: str, now: datetime,
           submission_key: str, slack_team_id: str) -> Handoff:
    """A new handoff from a valid submission (id 0 until stored); the chase looks at it at once."""
    return Handoff(id=0, state=State.PENDING, revision=1, sdr_id=sdr_id, created_at=now, updated_at=now,
                   submission_key=submission_key, slack_team_id=slack_team_id, next_check_at=now,
                   **_assigned(values, team, ae_tz, now))


def apply(h: Handoff, command: Command, *, actor: str, now: datetime, team: TeamPolicy | None,
          admins: frozenset[str], card_revision: int | None = None) -> Change | Refused | Invalid:
    """Check the input, then whether `actor` may do this now, then the next record."""
    changes: dict[str, Any]
    reason: str | None = None
    detail: dict[str, Any] = {}
    match command:
        case Accept() | Withdraw():
            changes = {"decided_by": actor, "decided_at": now}
        case Reject(code, raw_feedback):
            reasons = reject_reasons_for(team)
            if errors := validate_rejection(code, raw_feedback, reasons):
                return Invalid(errors)
            feedback = (raw_feedback or "").strip()
            label = reasons[code or ""]
            changes = {"decided_by": actor, "decided_at": now, "rejection_reason": code,
                       "rejection_label": label, "rejection_feedback": feedback}
            reason = f"{label}: {feedback}"
            # The channel is told the reason alone, not the feedback.
            detail = {"reason": code or "other", "label": label}
        case Revise(values, ae_tz):
            # decided_by/at keep the last decision: the rejection notice still names who.
            changes = _assigned(values, team, ae_tz, now)
            detail = {"ae": values.get("ae_id")}
        case Reassign(new_ae, note):
            if errors := validate_reassignment(new_ae, h):
                return Invalid(errors)
            assert new_ae is not None
            # The new AE's acceptance clock starts now, in their own time zone.
            changes = {"ae_id": new_ae.id, **assignment(team, ae_tz=new_ae.tz, at=now, meeting_start=h.meeting_start,
                                                        meeting_kind=h.meeting_kind)}
            reason, detail = note, {"from_ae": h.ae_id, "to_ae": new_ae.id}
        case RecordOutcome(form, tz):
            changes, errors, reason = record_outcome(form, actor=actor, ae_id=h.ae_id, tz=tz, now=now,
                                                     existing_next_step=h.next_step)
            if errors:
                return Invalid(errors)
            detail = outcome_detail(form, changes)
        case Close():
            changes = {"outcome_by": actor, "outcome_at": now}
            reason = "closed after a no-show nobody rebooked"
        case Keep():
            # Keeping it restarts the rebook ladder from now (a new outcome_at); closing ends the chase.
            changes = {"outcome_by": actor, "outcome_at": now}
            reason = "kept open after a no-show"
    managers = managers_of(team, h.ae_id)
    # The scheduler acts for the installation, as an admin would.
    decision = decide(command.action, actor=actor, handoff=h, admins=admins | {SYSTEM_ACTOR},
                      card_revision=card_revision, managers=managers)
    if not decision.ok:
        return Refused(decision)
    assert decision.to_state is not None
    bumps = command.action in (Action.REVISE, Action.REASSIGN)  # older cards' buttons go stale
    after = replace(h, **changes, state=decision.to_state, revision=h.revision + 1 if bumps else h.revision,
                    updated_at=now, next_check_at=now)
    return Change(h, after, command.action, actor, now, reason, detail)


def managers_of(team: TeamPolicy | None, ae_id: str) -> frozenset[str]:
    """The AE's manager in the handoff's team: the one an escalation asks to reassign."""
    manager = team.manager_of(ae_id) if team else None
    return frozenset({manager}) if manager else frozenset()


def _assigned(values: dict[str, Any], team: TeamPolicy | None, ae_tz: str, now: datetime) -> dict[str, Any]:
    """A submission's values as record fields, with what its assignment to the AE implies for the chase."""
    out = {**values, **assignment(team, ae_tz=ae_tz, at=now, meeting_start=values.get("meeting_start"),
                                  meeting_kind=values.get("meeting_kind"))}
    if not out.get("region") and team:
        out["region"] = team.region
    for name in ("attendees", "enterprise_needs"):
        out[name] = tuple(out.get(name) or ())
    return out
