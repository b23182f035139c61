"""The handoff lifecycle as pure functions: hypothesis walks plus a few worked stories.

No Slack, no SQL: `apply` gets a record and a command and must say what changes, or why not.
The walks compare every step with a small spec (who may do what, from which state, with which
card) written here independently of `may_act`, so a rule that refuses too much fails as well.
"""
from __future__ import annotations

from copy import deepcopy
from dataclasses import fields, replace
from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from bot.core.form import FormInput, Invalid, OutcomeInput, Policy, Submission, validate_submission
from bot.core.handoff import ALLOWED_FROM, REJECT_REASONS, RESULT_STATE, Action, Handoff, Person, State
from bot.core.lifecycle import (
    SYSTEM_ACTOR,
    Accept,
    Change,
    Close,
    Command,
    Keep,
    Reassign,
    RecordOutcome,
    Refused,
    Reject,
    Revise,
    Withdraw,
    apply,
    submit,
)
from bot.core.teams import Member, TeamPolicy

UTC = timezone.utc
START = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)  # a Monday
MEETING = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
SDR, AE, AE2, AE3 = "U_SDR", "U_AE", "U_AE2", "U_AE3"
MANAGER, ADMIN, STRANGER = "U_MGR", "U_ADMIN", "U_STRANGER"
ADMINS = frozenset({ADMIN})
TZ = {AE: "Europe/Berlin", AE2: "America/Los_Angeles", AE3: "Asia/Tokyo", SDR: "America/New_York"}
# U_MGR manages U_AE and U_AE2; U_AE3 has no manager, so a reassignment to them disarms U_MGR.
TEAM = TeamPolicy(
    id="emea", name="EMEA", region="EMEA", channel_id="C_EMEA", tz="Europe/Berlin",
    members=(Member(AE, "ae", MANAGER), Member(AE2, "ae", MANAGER), Member(AE3, "ae"),
             Member(MANAGER, "manager"), Member(SDR, "sdr", "U_SDR_MGR")),
)
MANAGER_OF = {AE: MANAGER, AE2: MANAGER}

# What each role may do: the spec the walks check `apply` against.
MAY: dict[str, frozenset[Action]] = {
    "admin": frozenset(Action),
    "manager": frozenset({Action.REASSIGN}),  # an escalation asks the AE's manager to reassign
    "ae": frozenset({Action.ACCEPT, Action.REJECT, Action.REASSIGN, Action.RECORD_OUTCOME, Action.CLOSE,
                     Action.KEEP}),
    "sdr": frozenset({Action.REVISE, Action.WITHDRAW, Action.RECORD_OUTCOME}),  # the SDR rebooks a no-show
}
# Fields each action may touch, besides these four every change touches.
ALWAYS = {"state", "revision", "updated_at", "next_check_at"}
OUTCOME_FIELDS = {"meeting_outcome", "outcome_at", "outcome_by", "meeting_start", "next_step", "next_step_due",
                  "next_step_owner", "completed_at"}
ASSIGNMENT = {"ae_id", "team_id", "ae_tz", "sla_start"}


def values(ae_id: str, company: str = "Acme") -> dict[str, Any]:
    """A valid submission's values, as `Revise` and `submit` take them."""
    return {"company": company, "contact_name": "Jane Doe", "need": "SSO for 400 editors",
            "compelling_event": "Security audit in March", "ae_id": ae_id, "source": "inbound",
            "handoff_type": "qualified_meeting", "meeting_start": MEETING, "meeting_kind": "demo",
            "attendees": ["U_CHAMPION"], "enterprise_needs": ["saml_sso"], "segment": None}


MAY_CHANGE: dict[Action, set[str]] = {
    Action.ACCEPT: {"decided_by", "decided_at"},
    Action.WITHDRAW: {"decided_by", "decided_at"},
    Action.REJECT: {"decided_by", "decided_at", "rejection_reason", "rejection_label", "rejection_feedback"},
    Action.REVISE: set(values(AE)) | ASSIGNMENT | {"region"},
    Action.REASSIGN: ASSIGNMENT,
    Action.RECORD_OUTCOME: OUTCOME_FIELDS,
    Action.CLOSE: {"outcome_by", "outcome_at"},
    Action.KEEP: {"outcome_by", "outcome_at"},
}

GOOD_FORMS = [
    OutcomeInput("completed", None, None, None, None),
    OutcomeInput("no_show", None, None, None, None),
    OutcomeInput("completed", None, "Send the security review", date(2027, 1, 15), None),
    OutcomeInput("rescheduled", datetime(2027, 1, 12, 15, tzinfo=UTC), None, None, None),
]
BAD_FORMS = [
    OutcomeInput(None, None, None, None, None),
    OutcomeInput("lost", None, None, None, None),
    OutcomeInput("rescheduled", None, None, None, None),  # no new time
    OutcomeInput("completed", None, "Send the review", None, None),  # a step without a due date
]
VALID_TARGETS = [Person(AE, TZ[AE]), Person(AE2, TZ[AE2]), Person(AE3, TZ[AE3])]
# Mostly live AEs, so that walks get past validation; the rest are never valid.
TARGETS = [None, Person(SDR, TZ[SDR]), Person("U_BOT", is_bot=True), Person("USLACKBOT"),
           Person("U_GONE", deleted=True), *VALID_TARGETS * 3]

commands: st.SearchStrategy[Command] = st.one_of(
    st.just(Accept()), st.just(Withdraw()), st.just(Close()), st.just(Keep()),
    st.builds(Reject, st.sampled_from([*REJECT_REASONS, None, "", "bogus"]),
              st.sampled_from([None, "", "  \n ", "x" * 3001, *[" Budget frozen until Q3 ", "Too small"] * 3])),
    st.sampled_from([AE, AE2, AE3]).map(lambda ae: Revise(values(ae, company=f"Acme for {ae}"), TZ[ae])),
    st.builds(Reassign, st.sampled_from(TARGETS), st.sampled_from([None, "out sick"])),
    st.sampled_from(GOOD_FORMS * 2 + BAD_FORMS).map(lambda form: RecordOutcome(form, "Europe/Berlin")),
)
# Resolved at each step (reassign and revise move the handoff): its AE now, or whoever the command
# is meant for, so that walks get past the permission check often enough to go somewhere.
CURRENT_AE, OWNER = "<the AE now>", "<the command's owner>"
actors = st.sampled_from([OWNER] * 4 + [CURRENT_AE, SDR, AE, AE2, MANAGER, ADMIN, SYSTEM_ACTOR, STRANGER])
cards = st.sampled_from(["current", "current", "current", "older", "newer", None])  # None: no card (a modal)
steps = st.lists(st.tuples(commands, actors, cards, st.integers(1, 48 * 60)), min_size=2, max_size=16)


NO_SHOW = RecordOutcome(OutcomeInput("no_show", None, None, None, None), "Europe/Berlin")
# Random walks rarely reach the later states alone: some start after a scripted, valid prefix.
REJECT = Reject("too_small", "Under 20 seats")
PREFIXES: list[list[Command]] = [[], [], [Accept()], [REJECT], [REJECT], [Accept(), NO_SHOW]]


@st.composite
def pending(draw: st.DrawFn) -> tuple[Handoff, TeamPolicy | None]:
    """A freshly submitted handoff (any id, any revision), maybe moved along by its AE first."""
    team = draw(st.sampled_from([None, TEAM]))
    h = submit(values(AE), sdr_id=SDR, team=team, ae_tz=TZ[AE], now=START, submission_key="k1", slack_team_id="T1")
    h = replace(h, id=draw(st.integers(1, 10**6)), revision=draw(st.integers(1, 4)))
    for cmd in draw(st.sampled_from(PREFIXES)):
        change = apply(h, cmd, actor=AE, now=START, team=team, admins=ADMINS, card_revision=h.revision)
        assert isinstance(change, Change), change
        h = change.after
    return h, team

def is_invalid(cmd: Command, h: Handoff) -> bool:
    match cmd:
        case Reject(reason, feedback):
            text = (feedback or "").strip()
            return reason not in REJECT_REASONS or not text or len(text) > 3000
        case Reassign(new_ae, _):
            return (new_ae is None or new_ae.id in (h.ae_id, h.sdr_id) or new_ae.is_bot
                    or new_ae.id == "USLACKBOT" or new_ae.deleted)
        case RecordOutcome(form, _):
            return form in BAD_FORMS
    return False


def expected(cmd: Command, h: Handoff, actor: str, card: int | None, team: TeamPolicy | None) -> str:
    """"invalid", the refusal's why (checked in decide's order), or "ok"."""
    roles = {role for role, holds in (
        ("admin", actor in ADMINS or actor == SYSTEM_ACTOR),
        ("manager", team is not None and MANAGER_OF.get(h.ae_id) == actor),
        ("ae", actor == h.ae_id),
        ("sdr", actor == h.sdr_id)) if holds}
    if is_invalid(cmd, h):
        return "invalid"
    if not any(cmd.action in MAY[role] for role in roles):
        return "forbidden"
    if h.state not in ALLOWED_FROM[cmd.action]:
        return "already"
    if card is not None and card != h.revision:
        return "stale"
    return "ok"


def check_change(c: Change, h: Handoff, cmd: Command, actor: str, now: datetime, team: TeamPolicy | None) -> None:
    a, after = cmd.action, c.after
    assert c.before is h and c.action is a and c.actor == actor and c.at == now
    assert h.state in ALLOWED_FROM[a] and after.state is RESULT_STATE[a]
    # Only revise and reassign redraw the card, so only they make older buttons stale.
    assert after.revision == h.revision + (1 if a in (Action.REVISE, Action.REASSIGN) else 0)
    assert after.updated_at == after.next_check_at == now
    changed = {f.name for f in fields(Handoff) if getattr(h, f.name) != getattr(after, f.name)}
    assert changed <= ALWAYS | MAY_CHANGE[a], changed - ALWAYS - MAY_CHANGE[a]
    if a in (Action.ACCEPT, Action.REJECT, Action.WITHDRAW):
        assert (after.decided_by, after.decided_at) == (actor, now)
    else:  # the rejection notice keeps naming who decided, even after a revise
        assert (after.decided_by, after.decided_at) == (h.decided_by, h.decided_at)
    match cmd:
        case Reject(reason, feedback):
            assert reason is not None and feedback is not None
            assert (after.rejection_reason, after.rejection_feedback) == (reason, feedback.strip())
            assert after.rejection_label == REJECT_REASONS[reason]  # the label as chosen, kept with the record
            assert c.reason == f"{REJECT_REASONS[reason]}: {feedback.strip()}"
        case Reassign(new_ae, note):
            assert new_ae is not None
            assert (after.ae_id, after.ae_tz, after.team_id) == (new_ae.id, new_ae.tz, team.id if team else None)
            assert c.detail == {"from_ae": h.ae_id, "to_ae": new_ae.id} and c.reason == note
        case Revise(vals, ae_tz):
            assert (after.ae_id, after.ae_tz, after.company) == (vals["ae_id"], ae_tz, vals["company"])
            assert after.attendees == ("U_CHAMPION",) and c.detail == {"ae": vals["ae_id"]}
        case RecordOutcome(form, _) if form.outcome == "rescheduled":
            assert (after.meeting_start, after.meeting_outcome) == (form.new_meeting_start, None)
        case RecordOutcome(form, _):
            assert (after.meeting_outcome, after.outcome_by, after.outcome_at) == (form.outcome, actor, now)
        case Close() | Keep():
            assert (after.outcome_by, after.outcome_at) == (actor, now)


@settings(max_examples=300, deadline=None)
@given(start=pending(), walk=steps)
def test_random_walks_keep_the_lifecycle_rules(start: tuple[Handoff, TeamPolicy | None],
                                               walk: list[tuple[Command, str, str | None, int]]) -> None:
    h, team = start
    now = START
    for cmd, who, card_kind, minutes in walk:
        now += timedelta(minutes=minutes)
        owner = h.sdr_id if isinstance(cmd, Revise | Withdraw) else h.ae_id
        actor = {CURRENT_AE: h.ae_id, OWNER: owner}.get(who, who)
        card = {"current": h.revision, "older": h.revision - 1, "newer": h.revision + 1, None: None}[card_kind]
        snapshot = deepcopy(h)
        result = apply(h, cmd, actor=actor, now=now, team=team, admins=ADMINS, card_revision=card)
        want = expected(cmd, h, actor, card, team)
        event(f"{cmd.action}: {want}")  # --hypothesis-show-statistics: every action must succeed sometimes
        assert h == snapshot  # the input is never touched, whatever the outcome
        if card_kind in ("older", "newer") or actor == STRANGER:
            assert not isinstance(result, Change)
        if want == "invalid":
            assert isinstance(result, Invalid) and result.errors
        elif want != "ok":
            assert isinstance(result, Refused), result
            assert (result.decision.ok, result.decision.why, result.decision.handoff) == (False, want, h)
        else:
            assert isinstance(result, Change), (want, result)
            check_change(result, h, cmd, actor, now, team)
            h = result.after


# --- inputs that are never valid, whoever sends them -------------------------------------------------


def fresh(team: TeamPolicy | None = None, *, ae_tz: str = TZ[AE]) -> Handoff:
    return replace(submit(values(AE), sdr_id=SDR, team=team, ae_tz=ae_tz, now=START, submission_key="k1",
                          slack_team_id="T1"), id=7)


@pytest.mark.parametrize(("reason", "feedback", "field"), [
    ("no_budget", "", "feedback"), ("no_budget", "   ", "feedback"), ("no_budget", None, "feedback"),
    ("nope", "Fine feedback", "reason"), (None, "Fine feedback", "reason"),
])
def test_rejection_needs_a_known_reason_and_feedback(reason: str | None, feedback: str | None, field: str) -> None:
    result = apply(fresh(), Reject(reason, feedback), actor=AE, now=START, team=None, admins=ADMINS,
                   card_revision=1)
    assert isinstance(result, Invalid) and set(result.errors) == {field}


@pytest.mark.parametrize("target", [Person(AE, TZ[AE]), Person(SDR, TZ[SDR]), Person("U_BOT", is_bot=True),
                                    Person("USLACKBOT"), Person("U_GONE", deleted=True), None])
def test_reassignment_needs_another_live_person(target: Person | None) -> None:
    result = apply(fresh(), Reassign(target), actor=ADMIN, now=START, team=None, admins=ADMINS)
    assert isinstance(result, Invalid) and set(result.errors) == {"new_ae"}


# --- worked stories ---------------------------------------------------------------------------------


def test_reject_then_revise_then_accept() -> None:
    h = fresh(TEAM)
    t1, t2, t3 = START + timedelta(hours=1), START + timedelta(hours=5), START + timedelta(days=1)
    rejected = apply(h, Reject("no_budget", "  Budget frozen until Q3 "), actor=AE, now=t1, team=TEAM,
                     admins=ADMINS, card_revision=1)
    assert isinstance(rejected, Change)
    assert rejected.reason == "No budget: Budget frozen until Q3"
    assert (rejected.after.state, rejected.after.revision, rejected.after.rejection_feedback) == (
        State.REJECTED, 1, "Budget frozen until Q3")

    # The SDR's fix goes through the real form validation: its values must fit the record.
    form = FormInput(company="Acme Corp", contact_name="Jane Doe", need="SSO for 400 editors",
                     compelling_event="Budget approved in the Q3 plan", ae_id=AE, source="inbound",
                     meeting_start=MEETING, meeting_kind="demo")
    sub = validate_submission(form, sdr=Person(SDR, TZ[SDR]), ae=Person(AE, TZ[AE]), now=t2, policy=Policy())
    assert isinstance(sub, Submission), sub
    revised = apply(rejected.after, Revise(sub.values, TZ[AE]), actor=SDR, now=t2, team=TEAM, admins=ADMINS,
                    card_revision=1)
    assert isinstance(revised, Change)
    assert (revised.after.state, revised.after.revision, revised.after.company) == (State.PENDING, 2, "Acme Corp")
    assert revised.after.compelling_event == "Budget approved in the Q3 plan"
    assert revised.after.decided_by == AE  # still names who rejected

    # The card drawn for revision 1 is stale now; the new one works.
    stale = apply(revised.after, Accept(), actor=AE, now=t3, team=TEAM, admins=ADMINS, card_revision=1)
    assert isinstance(stale, Refused) and stale.decision.why == "stale"
    accepted = apply(revised.after, Accept(), actor=AE, now=t3, team=TEAM, admins=ADMINS, card_revision=2)
    assert isinstance(accepted, Change)
    assert (accepted.after.state, accepted.after.revision, accepted.after.decided_by, accepted.after.decided_at) == (
        State.ACCEPTED, 2, AE, t3)


def test_no_show_then_keep_then_close() -> None:
    accepted = apply(fresh(), Accept(), actor=AE, now=START, team=None, admins=ADMINS, card_revision=1)
    assert isinstance(accepted, Change)
    after_meeting = MEETING + timedelta(hours=2)
    no_show = apply(accepted.after, RecordOutcome(OutcomeInput("no_show", None, None, None, None), "Europe/Berlin"),
                    actor=AE, now=after_meeting, team=None, admins=ADMINS)
    assert isinstance(no_show, Change) and no_show.reason == "No-show"
    h = no_show.after
    assert (h.state, h.meeting_outcome, h.outcome_by, h.outcome_at, h.completed_at) == (
        State.ACCEPTED, "no_show", AE, after_meeting, None)

    # Keeping it open restarts the rebook ladder from now; only the AE (or an admin) decides.
    later = after_meeting + timedelta(days=3)
    assert isinstance(apply(h, Keep(), actor=SDR, now=later, team=None, admins=ADMINS), Refused)
    kept = apply(h, Keep(), actor=AE, now=later, team=None, admins=ADMINS)
    assert isinstance(kept, Change) and kept.reason == "kept open after a no-show"
    assert (kept.after.state, kept.after.outcome_at, kept.after.meeting_outcome) == (State.ACCEPTED, later, "no_show")

    end = later + timedelta(days=14)
    closed = apply(kept.after, Close(), actor=AE, now=end, team=None, admins=ADMINS)
    assert isinstance(closed, Change) and closed.reason == "closed after a no-show nobody rebooked"
    assert (closed.after.state, closed.after.outcome_by, closed.after.outcome_at) == (State.CLOSED, AE, end)
    again = apply(closed.after, Keep(), actor=AE, now=end, team=None, admins=ADMINS)
    assert isinstance(again, Refused) and again.decision.why == "already"


def test_system_actor_reassigns_on_escalation() -> None:
    # The scheduler is no admin of the installation, yet may move an overdue handoff.
    h = fresh(TEAM)
    now = START + timedelta(days=12)  # after the meeting: the new AE's clock starts now
    moved = apply(h, Reassign(Person(AE2, TZ[AE2]), "escalated"), actor=SYSTEM_ACTOR, now=now, team=TEAM,
                  admins=frozenset(), card_revision=1)
    assert isinstance(moved, Change)
    assert (moved.after.ae_id, moved.after.ae_tz, moved.after.revision, moved.after.sla_start) == (
        AE2, TZ[AE2], 2, now)
    assert moved.detail == {"from_ae": AE, "to_ae": AE2} and moved.reason == "escalated"


def test_manager_may_reassign_but_not_decide() -> None:
    h = fresh(TEAM)
    assert isinstance(apply(h, Accept(), actor=MANAGER, now=START, team=TEAM, admins=ADMINS), Refused)
    moved = apply(h, Reassign(Person(AE3, TZ[AE3])), actor=MANAGER, now=START, team=TEAM, admins=ADMINS)
    assert isinstance(moved, Change) and moved.after.ae_id == AE3
    # U_AE3 has no manager: U_MGR cannot move it again; without a team there is no manager at all.
    back = apply(moved.after, Reassign(Person(AE, TZ[AE])), actor=MANAGER, now=START, team=TEAM, admins=ADMINS)
    assert isinstance(back, Refused) and back.decision.why == "forbidden"
    assert isinstance(apply(fresh(), Reassign(Person(AE2)), actor=MANAGER, now=START, team=None, admins=ADMINS),
                      Refused)
