"""What a valid submission, rejection, reassignment and meeting outcome are.

Pure: what the person typed, who they are and the current time in; clean values or
inline errors (field name -> message) out.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

from bot.core.handoff import (
    ENTERPRISE_NEEDS,
    HANDOFF_TYPES,
    MEETING_KINDS,
    MEETING_OUTCOMES,
    REJECT_REASONS,
    SOURCES,
    Handoff,
    Person,
)
from bot.core.slack_ids import is_user
from bot.core.text import normalise
from bot.core.working_time import WorkingCalendar, add_working_time, working_duration, working_time_between

# Slack's plain_text_input takes at most 3,000 characters; short fields are kept shorter for cards.
SHORT_TEXT_MAX = 150
LONG_TEXT_MAX = 3000
URL_MAX = 2000
EMAIL = re.compile(r"^[^@\s<>|]+@[^@\s<>|]+\.[A-Za-z]{2,}$")
# Meetings are booked weeks ahead, not years: a bound keeps typos (and year 9999) out of the notice arithmetic.
MEETING_AHEAD_MAX = timedelta(days=366)
NEXT_STEP_AHEAD_MAX = timedelta(days=2 * 366)
ATTENDEES_MAX = 50
DIRECT_PASS_SEATS = 15
DIRECT_PASS_NEEDS = frozenset({"saml_sso", "visitor_auth", "enterprise_pricing", "invoicing"})

SHORT_FIELDS = ("company", "contact_name", "contact_title", "region")
LONG_FIELDS = (
    "need", "compelling_event", "before_scenario", "after_scenario", "outcomes",
    "required_capabilities", "metrics", "decision_path", "agenda", "notes",
)


@dataclass(frozen=True)
class Policy:
    min_notice_hours: int = 48
    segment_thresholds: tuple[int, int] = (100, 2000)


@dataclass(frozen=True)
class FormInput:
    """What the SDR typed, as raw as Slack sends it."""

    company: str | None = None
    contact_name: str | None = None
    contact_title: str | None = None
    contact_email: str | None = None
    crm_url: str | None = None
    employee_count: str | None = None
    region: str | None = None
    source: str | None = None
    handoff_type: str | None = None
    ae_id: str | None = None
    meeting_start: datetime | None = None
    meeting_kind: str | None = None
    meeting_link: str | None = None
    attendees: tuple[str, ...] = ()
    need: str | None = None
    compelling_event: str | None = None
    before_scenario: str | None = None
    after_scenario: str | None = None
    outcomes: str | None = None
    required_capabilities: str | None = None
    metrics: str | None = None
    decision_path: str | None = None
    seats: str | None = None
    enterprise_needs: tuple[str, ...] = ()
    agenda: str | None = None
    notes: str | None = None


@dataclass(frozen=True)
class Submission:
    """A valid handoff, cleaned, ready to store."""

    values: dict[str, object]


@dataclass(frozen=True)
class Invalid:
    errors: dict[str, str]  # field name -> message shown under that input


def _clean(text: str | None, *, multiline: bool = False) -> str | None:
    """Visible text or None: invisible and control characters go (newlines stay in long text)."""
    return normalise(text, multiline=multiline)


def meeting_time_problem(start: datetime, now: datetime) -> str | None:
    if start <= now:
        return "That time has passed: choose a time in the future."
    if start > now + MEETING_AHEAD_MAX:
        return "That is more than a year away: choose a time within the next year."
    return None


def parse_count(raw: str | None) -> tuple[int | None, str | None]:
    """A whole number >= 0, or an error message."""
    raw = _clean(raw)
    if raw is None:
        return None, None
    if re.fullmatch(r"\d{1,9}", raw.replace(",", "")):
        return int(raw.replace(",", "")), None
    return None, "Enter a whole number, 0 or more (like 250)."


def valid_url(raw: str) -> bool:
    parsed = urlparse(raw)
    # <, > and | would end or relabel the <url|label> link the cards wrap it in.
    return parsed.scheme in ("http", "https") and bool(parsed.netloc) and not re.search(r"[\s<>|]", raw)


def derive_segment(employee_count: int | None, thresholds: tuple[int, int]) -> str | None:
    if employee_count is None:
        return None
    mid, large = thresholds
    if employee_count >= large:
        return "Large"
    if employee_count >= mid:
        return "Mid-Market"
    return "SMB"


def direct_pass_reasons(seats: int | None, enterprise_needs: list[str] | tuple[str, ...]) -> list[str]:
    """GitBook's rules for handing a prospect straight to an AE, as the reasons that apply."""
    reasons = []
    if seats is not None and seats > DIRECT_PASS_SEATS:
        reasons.append(f"more than {DIRECT_PASS_SEATS} seats ({seats})")
    for code in enterprise_needs:
        if code in DIRECT_PASS_NEEDS:
            reasons.append(ENTERPRISE_NEEDS[code])
    return reasons


def meeting_required(handoff_type: str | None) -> bool:
    return handoff_type != "direct_pass"


def earliest_meeting(now: datetime, sdr_tz: str, policy: Policy) -> datetime:
    return add_working_time(WorkingCalendar.business_days(sdr_tz), now, timedelta(hours=policy.min_notice_hours))


def validate_submission(
    form: FormInput, *, sdr: Person, ae: Person | None, now: datetime, policy: Policy
) -> Submission | Invalid:
    errors: dict[str, str] = {}
    values: dict[str, object] = {}

    for name in SHORT_FIELDS + LONG_FIELDS:
        text = _clean(getattr(form, name), multiline=name in LONG_FIELDS)
        limit = SHORT_TEXT_MAX if name in SHORT_FIELDS else LONG_TEXT_MAX
        if text is not None and len(text) > limit:
            errors[name] = f"Keep this under {limit:,} characters (it has {len(text):,})."
        values[name] = text
    for name in ("company", "contact_name", "need", "compelling_event"):
        if values[name] is None and name not in errors:
            errors[name] = "Required."

    email = _clean(form.contact_email)
    if email is not None and (len(email) > 254 or not EMAIL.match(email)):
        errors["contact_email"] = "That is not an email address (like jane@acme.com)."
    values["contact_email"] = email
    for name in ("crm_url", "meeting_link"):
        url = _clean(getattr(form, name))
        if url is not None and (len(url) > URL_MAX or not valid_url(url)):
            errors[name] = "Enter a full link starting with https://"
        values[name] = url

    for name in ("employee_count", "seats"):
        count, problem = parse_count(getattr(form, name))
        if problem:
            errors[name] = problem
        values[name] = count

    source = form.source or "outbound"
    handoff_type = form.handoff_type or "qualified_meeting"
    if source not in SOURCES:
        errors["source"] = "Choose inbound or outbound."
    if handoff_type not in HANDOFF_TYPES:
        errors["handoff_type"] = "Choose a handoff type."
    values["source"], values["handoff_type"] = source, handoff_type
    # A direct pass has no meeting: values left in inputs the form no longer shows are not kept.
    meeting = meeting_required(handoff_type)
    meeting_kind = form.meeting_kind if meeting else None
    if meeting_kind is not None and meeting_kind not in MEETING_KINDS:
        errors["meeting_kind"] = "Choose a meeting kind."
    values["meeting_kind"] = meeting_kind
    if not meeting:
        errors.pop("meeting_link", None)
        values["meeting_link"] = None

    if not form.ae_id:
        errors["ae_id"] = "Choose the AE who takes this handoff."
    elif not is_user(form.ae_id):
        errors["ae_id"] = "That is not a Slack user: choose the AE from the list."
    elif form.ae_id == sdr.id:
        errors["ae_id"] = "You can't hand off to yourself: choose the AE."
    elif ae is not None and (ae.is_bot or ae.id == "USLACKBOT"):
        errors["ae_id"] = "That's a bot: choose a person."
    elif ae is not None and ae.missing:
        errors["ae_id"] = NOT_HERE
    elif ae is not None and ae.deleted:
        errors["ae_id"] = "That account is deactivated: choose an active AE."
    values["ae_id"] = form.ae_id if is_user(form.ae_id) else None

    start = form.meeting_start if meeting else None
    if start is None:
        if meeting:
            errors["meeting_start"] = "When is the meeting? (Only a direct pass can go without one.)"
    elif (problem := meeting_time_problem(start, now)) is not None:
        errors["meeting_start"] = problem
    elif source == "outbound" and policy.min_notice_hours > 0:
        cal = WorkingCalendar.business_days(sdr.tz)
        notice = working_time_between(cal, now, start)
        if notice < timedelta(hours=policy.min_notice_hours):
            # An input's error is plain text (no date tokens): the time is in the SDR's own zone, the
            # reader's, named the way their clock does ("EST"), never by its IANA id.
            earliest = earliest_meeting(now, sdr.tz, policy).astimezone(ZoneInfo(sdr.tz))
            errors["meeting_start"] = (
                f"Outbound meetings need {policy.min_notice_hours} business hours' notice (Mon–Fri, in your "
                f"time zone); this one is {working_duration(notice)} away. "
                f"Earliest: {earliest:%a %d %b %H:%M %Z}."
            )
    values["meeting_start"] = start
    attendees = list(dict.fromkeys(a for a in form.attendees if a))
    if not all(is_user(a) for a in attendees):
        errors["attendees"] = "Choose people from the list."
    elif len(attendees) > ATTENDEES_MAX:
        errors["attendees"] = f"Choose at most {ATTENDEES_MAX} people."
    values["attendees"] = [a for a in attendees if is_user(a)]
    unknown = [n for n in form.enterprise_needs if n not in ENTERPRISE_NEEDS]
    if unknown:
        errors["enterprise_needs"] = "Choose from the list."
    values["enterprise_needs"] = list(dict.fromkeys(form.enterprise_needs))
    values["segment"] = derive_segment(values["employee_count"], policy.segment_thresholds)  # type: ignore[arg-type]

    if errors:
        return Invalid(errors)
    return Submission(values)


def validate_rejection(reason: str | None, feedback: str | None,
                       reasons: Mapping[str, str] = REJECT_REASONS) -> dict[str, str]:
    """`reasons`: the handoff's team's list (TeamPolicy.reasons()); only its ids are accepted."""
    errors = {}
    if reason not in reasons:
        errors["reason"] = "Choose a reason."
    text = _clean(feedback, multiline=True)
    if text is None:
        errors["feedback"] = "Tell the SDR why: this is their coaching."
    elif len(text) > LONG_TEXT_MAX:
        errors["feedback"] = f"Keep this under {LONG_TEXT_MAX:,} characters."
    return errors


# users.info answers user_not_found: someone of another workspace this install cannot see, or no one at all.
NOT_HERE = "I can't find that person in this workspace: choose the AE from the list."


def validate_reassignment(new_ae: Person | None, facts: Handoff) -> dict[str, str]:
    if new_ae is None:
        return {"new_ae": "Choose the AE to take this handoff."}
    if new_ae.id == facts.ae_id:
        return {"new_ae": "That AE has it already: choose another."}
    if new_ae.id == facts.sdr_id:
        return {"new_ae": "That's the SDR who handed it off: choose an AE."}
    if new_ae.is_bot or new_ae.id == "USLACKBOT":
        return {"new_ae": "That's a bot: choose a person."}
    if new_ae.missing:
        return {"new_ae": NOT_HERE}
    if new_ae.deleted:
        return {"new_ae": "That account is deactivated: choose an active AE."}
    return {}


@dataclass(frozen=True)
class OutcomeInput:
    outcome: str | None
    new_meeting_start: datetime | None
    next_step: str | None
    next_step_due: date | None
    next_step_owner: str | None


def record_outcome(form: OutcomeInput, *, actor: str, ae_id: str, tz: str, now: datetime,
                   existing_next_step: str | None = None) -> tuple[dict[str, object], dict[str, str], str]:
    """The columns an outcome changes, or errors; and a line for the audit trail.

    A next step is due at the end of its day (17:00) in the recorder's zone. Accepted, met and
    a next step set: the handoff is complete.
    """
    errors: dict[str, str] = {}
    if form.outcome not in MEETING_OUTCOMES:
        errors["outcome"] = "Choose what happened."
    step = _clean(form.next_step, multiline=True)
    if step is not None and len(step) > LONG_TEXT_MAX:
        errors["next_step"] = f"Keep this under {LONG_TEXT_MAX:,} characters."
    if step is not None and form.next_step_due is None:
        errors["next_step_due"] = "When is the next step due?"
    if step is None and (form.next_step_due is not None or form.next_step_owner):
        errors["next_step"] = "Say what the next step is."
    if form.next_step_owner is not None and not is_user(form.next_step_owner):
        errors["next_step_owner"] = "Choose a person from the list."
    due = None
    if form.next_step_due is not None and form.next_step_due > (now + NEXT_STEP_AHEAD_MAX).date():
        errors["next_step_due"] = "That is more than two years away: choose a nearer date."
    elif form.next_step_due is not None:
        due = datetime.combine(form.next_step_due, time(17, 0), ZoneInfo(tz)).astimezone(timezone.utc)
        if due < now - timedelta(days=1):
            errors["next_step_due"] = "That date has passed."
    changes: dict[str, object] = {}
    if form.outcome == "rescheduled":
        if form.new_meeting_start is None:
            errors["new_meeting_start"] = "When is the new meeting?"
        elif (problem := meeting_time_problem(form.new_meeting_start, now)) is not None:
            errors["new_meeting_start"] = problem
        # A new meeting to hold: its outcome is owed afresh.
        changes.update(meeting_start=form.new_meeting_start, meeting_outcome=None, outcome_at=None, outcome_by=None)
    elif form.outcome in MEETING_OUTCOMES:
        changes.update(meeting_outcome=form.outcome, outcome_at=now, outcome_by=actor)
    if errors:
        return {}, errors, ""
    if step is not None:
        changes.update(next_step=step, next_step_due=due, next_step_owner=form.next_step_owner or ae_id)
    complete = form.outcome == "completed" and (step or existing_next_step) is not None
    changes["completed_at"] = now if complete else None
    line = MEETING_OUTCOMES[form.outcome or ""]
    if form.outcome == "rescheduled" and form.new_meeting_start:
        line += f" to {form.new_meeting_start.astimezone(ZoneInfo(tz)):%a %d %b %H:%M %Z}"
    if step is not None and due is not None:
        line += f"; next step: {step} (by {due.astimezone(ZoneInfo(tz)):%a %d %b})"
    return changes, {}, line


def outcome_detail(form: OutcomeInput, changes: Mapping[str, object]) -> dict[str, object]:
    """What an outcome recorded, for the audit line's detail: the views show its times to each reader in
    their own zone (the stored reason line has them in the recorder's)."""
    detail: dict[str, object] = {"outcome": form.outcome}
    start = changes.get("meeting_start")
    if form.outcome == "rescheduled" and isinstance(start, datetime):
        detail["meeting_start"] = int(start.timestamp())
    due = changes.get("next_step_due")
    if isinstance(due, datetime) and changes.get("next_step"):
        detail["next_step"], detail["next_step_due"] = changes["next_step"], int(due.timestamp())
    return detail
