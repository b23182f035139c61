"""The use cases of a handoff: submit, and every later change, each in one transaction.

One path changes a handoff's state, for people and the scheduler alike: `act` loads the record,
applies the core rule, and saves the record, its audit line and the messages it owes together.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from bot.core.audience import owed_on_change, owed_on_submit
from bot.core.form import FormInput, Invalid, OutcomeInput, validate_submission
from bot.core.handoff import Action, Decision, Event, Handoff, decide, parties, short_id
from bot.core.lifecycle import (
    SYSTEM_ACTOR,
    Change,
    Command,
    Reassign,
    RecordOutcome,
    Refused,
    Revise,
    apply,
    managers_of,
    submit,
)
from bot.core.refs import HandoffRef
from bot.core.slack_ids import is_user
from bot.core.teams import TeamPolicy
from bot.services.context import Context
from storage import handoffs as store
from storage import teams as team_store
from storage.db import Database

log = logging.getLogger("handoff.services")

GONE = "That handoff no longer exists."


@dataclass(frozen=True)
class Refusal:
    """Nothing changed, and why, with the asker's zone to say when."""

    decision: Decision
    tz: str


@dataclass(frozen=True)
class Missing:
    text: str = GONE


Result = Handoff | Refusal | Invalid | Missing


@dataclass(frozen=True)
class TeamChanged:
    """The submitter's team is not the one a form was checked against: check it again against this one."""

    team: TeamPolicy | None


class _Unseen:
    pass


_UNSEEN = _Unseen()
MAX_TEAM_CHANGES = 3  # checks of one submission against a changed team before it fails (and the SDR presses again)
MAX_TEAMS_SEEN = 10_000


class Handoffs:
    def __init__(self, ctx: Context):
        self.ctx = ctx
        # The team each (SDR, chosen AE) was last submitted with, in this process: the next submission is checked
        # against it without a read of its own, and the write's transaction reads the team again and stores
        # nothing unless it is still the same (create_checked). A guess, never the truth.
        self._teams_seen: dict[tuple[str, str | None], TeamPolicy | None] = {}

    # --- reads ------------------------------------------------------------------

    async def get(self, handoff_id: int) -> Handoff | None:
        return await self.ctx.db.query(store.get_handoff, handoff_id)

    async def team(self, team_id: str | None) -> TeamPolicy | None:
        return await self.ctx.db.query(team_store.get_team, team_id) if team_id else None

    async def mine(self, user_id: str) -> list[Handoff]:
        return await self.ctx.db.query(store.list_for_user, user_id)

    async def details(self, handoff_id: int, viewer: str) -> tuple[Handoff, list[Event]] | Missing | None:
        """The record and its trail, for its parties and admins; None for anyone else."""
        handoff = await self.get(handoff_id)
        if handoff is None:
            return Missing()
        events = await self.ctx.db.query(store.audit_trail, handoff_id)
        if viewer not in self.ctx.installation.admins and viewer not in parties(handoff, events):
            return None
        return handoff, events

    async def may(self, ref: HandoffRef, action: Action, actor: str, *, check_revision: bool = True) -> Result:
        """For a button that opens a form: the handoff, if `actor` may take `action` on it now."""
        handoff = await self.get(ref.handoff_id)
        if handoff is None:
            return Missing()
        team = await self.team(handoff.team_id)
        decision = decide(action, actor=actor, handoff=handoff, admins=self.ctx.installation.admins,
                          card_revision=ref.revision if check_revision else None,
                          managers=managers_of(team, handoff.ae_id))
        if not decision.ok:
            return Refusal(decision, await self.ctx.people.tz(actor, quick=True))
        return handoff

    # --- changes ----------------------------------------------------------------

    async def submit_form(self, form: FormInput, *, sdr_id: str, revising: HandoffRef | None, submission_key: str,
                          slack_team_id: str) -> Result:
        """A new handoff, or a revision of a rejected one, from the SDR's form."""
        key = (sdr_id, form.ae_id)
        remembered = self._teams_seen.get(key, _UNSEEN) if revising is None else _UNSEEN
        team = remembered if not isinstance(remembered, _Unseen) else \
            await self.ctx.db.query(team_store.submitter_team, sdr_id, form.ae_id)
        for _ in range(MAX_TEAM_CHANGES):
            result = await self._submit(form, team, sdr_id=sdr_id, revising=revising, submission_key=submission_key,
                                        slack_team_id=slack_team_id)
            if isinstance(result, Invalid) and remembered is team:
                # Checked against a remembered team and refused (say, a shorter notice it no longer asks):
                # look again before telling the SDR so.
                fresh = await self.ctx.db.query(team_store.submitter_team, sdr_id, form.ae_id)
                if fresh == team:
                    return result
                result = TeamChanged(fresh)
            if not isinstance(result, TeamChanged):
                self._remember(key, team)
                return result
            team = result.team  # changed since it was remembered: the form is checked again against it
        raise RuntimeError(f"the team of {sdr_id} kept changing during a submission")

    def _remember(self, key: tuple[str, str | None], team: TeamPolicy | None) -> None:
        if len(self._teams_seen) >= MAX_TEAMS_SEEN:
            self._teams_seen.clear()
        self._teams_seen[key] = team

    async def _submit(self, form: FormInput, team: TeamPolicy | None, *, sdr_id: str, revising: HandoffRef | None,
                      submission_key: str, slack_team_id: str) -> Result | TeamChanged:
        zone = team.tz if team else None  # when Slack does not know someone's zone, their team's
        # Before the ack: both lookups at once, each with a short deadline (a fallback zone past it).
        sdr, ae = await asyncio.gather(
            self.ctx.people.person(sdr_id, zone, quick=True),
            # An id not of Slack's shape is refused by the form's rules; never looked up.
            self.ctx.people.person(form.ae_id, zone, quick=True, fresh=True) if is_user(form.ae_id) else _nobody())
        now = self.ctx.clock.now()
        valid = validate_submission(form, sdr=sdr, ae=ae, now=now, policy=self.ctx.installation.policy_for(team))
        if isinstance(valid, Invalid):
            return valid
        ae_tz = ae.tz if ae else zone or self.ctx.installation.default_tz
        result: Result
        if revising is not None:
            result = await self.act(revising.handoff_id, Revise(dict(valid.values), ae_tz), actor=sdr_id,
                                    card_revision=revising.revision)
        else:
            draft = submit(dict(valid.values), sdr_id=sdr_id, team=team, ae_tz=ae_tz, now=now,
                           submission_key=submission_key, slack_team_id=slack_team_id)
            # One trip to the database thread: the team is read again in the write's own transaction, and the
            # handoff stored only if it is the one the form was just checked against.
            stored = await self.ctx.db.run(create_checked, draft, form.ae_id, team)
            if isinstance(stored, TeamChanged):
                return stored
            handoff, created = stored
            result = handoff
            if created:
                log.info("%s submitted by %s for %s", short_id(handoff.id), sdr_id, handoff.ae_id,
                         extra={"handoff_id": handoff.id, "action": "submit", "actor": sdr_id})
                self.ctx.wake_outbox()
        self._settle_zone_later(result, ae_tz, zone)
        return result

    async def reassign(self, ref: HandoffRef, new_ae_id: str | None, note: str | None, *, actor: str) -> Result:
        handoff = await self.get(ref.handoff_id)
        if handoff is None:
            return Missing()
        team = await self.team(handoff.team_id)
        new_ae = (await self.ctx.people.person(new_ae_id, team.tz if team else None, quick=True, fresh=True)
                  if new_ae_id else None)
        result = await self.act(ref.handoff_id, Reassign(new_ae, note), actor=actor, card_revision=ref.revision)
        if new_ae is not None:
            self._settle_zone_later(result, new_ae.tz, team.tz if team else None)
        return result

    async def record_outcome(self, ref: HandoffRef, form: OutcomeInput, *, actor: str) -> Result:
        tz = await self.ctx.people.tz(actor, quick=True)
        return await self.act(ref.handoff_id, RecordOutcome(form, tz), actor=actor, card_revision=ref.revision)

    async def act(self, handoff_id: int, command: Command, *, actor: str, card_revision: int | None) -> Result:
        """Load, apply the rule, save the record with its audit line and owed messages: one transaction."""
        result = await self.ctx.db.run(_act, handoff_id, command, actor, card_revision, self.ctx.clock.now(),
                                       self.ctx.installation.admins)
        if isinstance(result, Refused):
            return Refusal(result.decision, await self.ctx.people.tz(actor, quick=True))
        if isinstance(result, Handoff):
            log.info("%s %s by %s", short_id(handoff_id), command.action.value, actor,
                     extra={"handoff_id": handoff_id, "action": command.action.value, "actor": actor})
            self.ctx.wake_outbox()
        return result

    # --- the AE's zone, when Slack answered after the ack --------------------------

    def _settle_zone_later(self, result: Result, assumed_tz: str, team_tz: str | None) -> None:
        """The record was just written with `assumed_tz` for its AE; if that was a fallback (Slack had not
        answered yet), look again after the ack and correct the record if Slack says otherwise."""
        if not isinstance(result, Handoff) or self.ctx.later is None or not self.ctx.people.pending(result.ae_id):
            return
        self.ctx.later(self._settle_zone(result.id, result.ae_id, assumed_tz, team_tz))

    async def _settle_zone(self, handoff_id: int, ae_id: str, assumed_tz: str, team_tz: str | None) -> None:
        actual = await self.ctx.people.tz(ae_id, team_tz)  # not quick: waits for Slack's answer
        if actual != assumed_tz:
            await self.correct_ae_zone(handoff_id, ae_id, assumed_tz=assumed_tz, actual_tz=actual)

    async def correct_ae_zone(self, handoff_id: int, ae_id: str, *, assumed_tz: str, actual_tz: str) -> bool:
        """The AE's zone as Slack gives it, in place of the one assumed when the handoff was written (the
        SLA clock counts in it), with an audit line. Nothing changes if the handoff has moved to another
        AE or zone meanwhile."""
        changed = await self.ctx.db.run(_correct_ae_zone, handoff_id, ae_id, assumed_tz, actual_tz,
                                        self.ctx.clock.now())
        if changed:
            log.info("%s: %s's zone is %s, not %s as assumed at the ack", short_id(handoff_id), ae_id, actual_tz,
                     assumed_tz)
        return changed


def create_handoff(db: Database, draft: Handoff, channel: str | None = None) -> tuple[Handoff, bool]:
    """Store a new handoff with its audit line and the messages it owes; a form sent twice (the
    same view id) makes one handoff: the stored one is returned."""
    try:
        with db.write() as session:
            return _insert_new(session, draft, channel), True
    except IntegrityError:
        if (existing := _stored_before(db, draft)) is None:
            raise
        return existing, False


def create_checked(db: Database, draft: Handoff, ae_id: str | None,
                   checked_with: TeamPolicy | None) -> tuple[Handoff, bool] | TeamChanged:
    """create_handoff, if the submitter's team, read in the write transaction, is still the one the form was
    checked against (`checked_with`, which the caller may have remembered from an earlier submission);
    else nothing is stored and the team as it is now comes back, to check the form against."""
    try:
        with db.write() as session:
            team = team_store.submitter_team_in(session, draft.sdr_id, ae_id)
            if team != checked_with:
                return TeamChanged(team)
            return _insert_new(session, draft, team.channel_id if team else None), True
    except IntegrityError:
        if (existing := _stored_before(db, draft)) is None:
            raise
        return existing, False


def _insert_new(session: Session, draft: Handoff, channel: str | None) -> Handoff:
    handoff = store.insert_handoff(session, draft)
    event_id = store.add_event(session, handoff.id, actor=handoff.sdr_id, action="submitted",
                               at=handoff.created_at, from_state=None, to_state=handoff.state)
    store.enqueue(session, owed_on_submit(handoff, channel=channel), handoff_id=handoff.id,
                  event_id=event_id, now=handoff.created_at)
    return handoff


def _stored_before(db: Database, draft: Handoff) -> Handoff | None:
    """The handoff an earlier press of the same form stored (its view id is the submission key)."""
    with db.read() as session:
        return store.by_submission(session, draft.submission_key)


async def _nobody() -> None:
    return None


def _correct_ae_zone(db: Database, handoff_id: int, ae_id: str, assumed_tz: str, actual_tz: str,
                     now: datetime) -> bool:
    with db.write() as session:
        before = store.get(session, handoff_id, lock=True)
        if before is None or before.ae_id != ae_id or before.ae_tz != assumed_tz:
            return False
        # The chase looks at it again at once, counting in the right zone from here on.
        after = replace(before, ae_tz=actual_tz, updated_at=now, next_check_at=now)
        if not store.save(session, before, after):
            return False
        store.add_event(session, handoff_id, actor=SYSTEM_ACTOR, action="ae_zone", at=now, from_state=before.state,
                        to_state=after.state, detail={"ae": ae_id, "from": assumed_tz, "to": actual_tz})
        return True


def _act(db: Database, handoff_id: int, command: Command, actor: str, card_revision: int | None, now: datetime,
         admins: frozenset[str]) -> Handoff | Refused | Invalid | Missing:
    with db.write() as session:
        before = store.get(session, handoff_id, lock=True)
        if before is None:
            return Missing()
        team = team_store.team_in(session, before.team_id) if before.team_id else None
        change = apply(before, command, actor=actor, now=now, team=team, admins=admins, card_revision=card_revision)
        if not isinstance(change, Change):
            return change
        _save(session, change, team)
        return change.after


def _save(session: Session, change: Change, team: TeamPolicy | None) -> None:
    before, after = change.before, change.after
    if not store.save(session, before, after):
        # The row is locked for this transaction: a lost race here is a bug, not a busy user.
        raise RuntimeError(f"{short_id(before.id)} changed under a held lock")
    event_id = store.add_event(session, after.id, actor=change.actor, action=change.action.value, at=change.at,
                               from_state=before.state, to_state=after.state, reason=change.reason,
                               detail=change.detail)
    owed = owed_on_change(change, event_id=event_id, channel=team.channel_id if team else None,
                          sdr_manager=team.manager_of(after.sdr_id) if team else None,
                          reminders=store.posted_reminders(session, after.id))
    store.enqueue(session, owed, handoff_id=after.id, event_id=event_id, now=change.at)
