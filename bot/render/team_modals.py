"""The admin's team modals: pick a team, then edit it (settings and members)."""
from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    CheckboxesElement,
    ContextBlock,
    ConversationFilter,
    ConversationSelectElement,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    NumberInputElement,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    SectionBlock,
    StaticSelectElement,
    TimePickerElement,
    UserMultiSelectElement,
)
from slack_sdk.models.blocks.basic_components import MarkdownTextObject
from slack_sdk.models.views import View

from bot.core.refs import TeamRef
from bot.core.team_config import DAY_NAMES, format_hhmm
from bot.core.teams import TeamPolicy
from bot.render.text import clip

TEAM_PICK_CALLBACK = "team_pick"
TEAM_EDIT_CALLBACK = "team_edit"
NEW_TEAM = "__new__"

SLA_FROM_LABELS = {"meeting_end": "End of the meeting (IQM)", "submission": "Submission of the handoff"}
AUTO_REASSIGN = "auto_reassign"


def _num(value: float | int) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _day_option(day: int) -> Option:
    return Option(value=str(day), label=DAY_NAMES[day].capitalize())


def team_pick_modal(teams: list[TeamPolicy]) -> dict:
    """Which team to edit; the list of existing teams, plus a new one."""
    options = [Option(value=t.id, label=clip(f"{t.name} ({t.id})", 75)) for t in teams[:99]]
    options.append(Option(value=NEW_TEAM, label="➕ New team"))
    view = View(
        type="modal", callback_id=TEAM_PICK_CALLBACK, title="Teams", submit="Next", close="Cancel",
        blocks=[
            SectionBlock(text=MarkdownTextObject(
                text="Pick a team to edit, or start a new one. You can also keep teams as code: "
                     "`handoff-bot config export > teams.yaml`.")),
            InputBlock(block_id="team", label="Team", element=StaticSelectElement(
                action_id="team", options=options, placeholder="Choose a team")),
        ],
    )
    return view.to_dict()


def member_lines(team: TeamPolicy) -> str:
    """The "reporting lines and pairings" text for a team, in the form the modal reads back."""
    managers = [m.user_id for m in team.members if m.role == "manager"]
    sole = managers[0] if len(managers) == 1 else None
    lines = []
    for m in team.members:
        parts = [m.user_id]
        # The sole manager is everyone's default: only exceptions need a line.
        if m.manager_id and not (m.role != "manager" and m.manager_id == sole):
            parts.append(f"manager={m.manager_id}")
        if m.paired_ae_id:
            parts.append(f"paired_ae={m.paired_ae_id}")
        if len(parts) > 1:
            lines.append(" ".join(parts))
    return "\n".join(lines)


def _text(name: str, label: str, initial: str | None, *, optional: bool = False, hint: str | None = None,
          multiline: bool = False, placeholder: str | None = None) -> InputBlock:
    return InputBlock(block_id=name, label=label, optional=optional, hint=hint, element=PlainTextInputElement(
        action_id=name, initial_value=initial or None, multiline=multiline, placeholder=placeholder,
        max_length=3000 if multiline else 150))


def _number(name: str, label: str, initial: float | int, *, decimal: bool = True, hint: str | None = None,
            max_value: str | None = None) -> InputBlock:
    return InputBlock(block_id=name, label=label, hint=hint, element=NumberInputElement(
        action_id=name, is_decimal_allowed=decimal, min_value="0", max_value=max_value,
        initial_value=_num(initial)))


def _clock(name: str, label: str, initial: Any) -> InputBlock:
    return InputBlock(block_id=name, label=label, element=TimePickerElement(
        action_id=name, initial_time=format_hhmm(initial)))


def _id_block(t: TeamPolicy | None, new_id: str | None) -> Any:
    """A new team's id is typed once; an existing team's id is only shown (it is permanent)."""
    if t is None:
        return InputBlock(
            block_id="team_id", label="Team id",
            hint="Short and permanent: lower-case letters, digits and -, e.g. amer-mm.",
            element=PlainTextInputElement(action_id="team_id", max_length=40, initial_value=new_id or None))
    return ContextBlock(elements=[MarkdownTextObject(text=f"Team id: `{t.id}`")])


def _identity_blocks(t: TeamPolicy | None) -> list[Any]:
    """Name, region, channel and zone: no defaults, so a new team starts blank."""
    return [
        _text("name", "Name", t.name if t else None, placeholder="AMER Mid-Market"),
        _text("region", "Region", t.region if t else None, placeholder="AMER"),
        InputBlock(block_id="channel", label="Team channel",
                   hint="New handoffs, escalations and the weekly sync go here.",
                   element=ConversationSelectElement(
                       action_id="channel", initial_conversation=t.channel_id if t else None,
                       filter=ConversationFilter(include=["public", "private"], exclude_bot_users=True))),
        _text("tz", "Time zone", t.tz if t else None, hint="An IANA name: America/New_York, Europe/Berlin, "
              "Australia/Sydney, …", placeholder="America/New_York"),
    ]


def _working_time_blocks(t: TeamPolicy | None) -> list[Any]:
    s = t or TeamPolicy  # a new team shows the defaults
    return [
        HeaderBlock(text="Working time"),
        InputBlock(block_id="workdays", label="Working days", element=CheckboxesElement(
            action_id="workdays", options=[_day_option(i) for i in range(7)],
            initial_options=[_day_option(i) for i in sorted(s.workdays)])),
        _clock("day_start", "Day starts", s.day_start),
        _clock("day_end", "Day ends", s.day_end),
        _text("holiday_country", "Public holidays: country", t.holiday_country if t else None, optional=True,
              hint="ISO code, like US, DE, AU. Leave empty for no public holidays."),
        _text("holiday_subdivision", "Public holidays: state or province", t.holiday_subdivision if t else None,
              optional=True, hint="Optional, like CA or NSW."),
    ]


def _sync_blocks(t: TeamPolicy | None) -> list[Any]:
    s = t or TeamPolicy  # a new team shows the defaults
    return [
        HeaderBlock(text="Weekly SDR–sales sync"),
        InputBlock(block_id="sync_day", label="Sync day", element=StaticSelectElement(
            action_id="sync_day", options=[_day_option(i) for i in range(7)],
            initial_option=_day_option(s.sync_weekday))),
        _clock("sync_time", "Sync time (team's zone)", s.sync_time),
    ]


def _sla_blocks(t: TeamPolicy | None) -> list[Any]:
    """The SLA and the other reminders' timings."""
    s = t or TeamPolicy  # a new team shows the defaults
    auto = Option(value=AUTO_REASSIGN, label="Reassign to the next AE when the escalation is ignored")
    return [
        HeaderBlock(text="SLA"),
        _number("sla_hours", "Accept or reject within (working hours)", s.sla_hours,
                hint="GitLab: 8 working hours after the IQM."),
        InputBlock(block_id="sla_from", label="Counted from", element=RadioButtonsElement(
            action_id="sla_from", options=[Option(value=k, label=v) for k, v in SLA_FROM_LABELS.items()],
            initial_option=Option(value=s.sla_from, label=SLA_FROM_LABELS[s.sla_from]))),
        _number("heads_up", "Heads-up at (fraction of the SLA)", s.heads_up_fraction,
                hint="0.75 reminds the AE when three quarters of the SLA have passed.", max_value="1"),
        _number("escalate_after_hours", "Escalate to the manager (working hours after the deadline)",
                s.escalate_after_hours),
        InputBlock(block_id=AUTO_REASSIGN, label="Reassignment", optional=True, element=CheckboxesElement(
            action_id=AUTO_REASSIGN, options=[auto], initial_options=[auto] if t and t.auto_reassign else None)),
        _number("outcome_after_hours", "Ask for the meeting outcome after (hours)", s.outcome_after_hours),
        _number("min_notice_hours", "Minimum notice for outbound meetings (business hours)", s.min_notice_hours,
                decimal=False),
    ]


def _member_blocks(t: TeamPolicy | None) -> list[Any]:
    """Members by role, plus the free-text reporting lines that member_lines writes and the modal reads back."""
    members = t.members if t else ()
    role_users = {role: [m.user_id for m in members if m.role == role] for role in ("sdr", "ae", "manager")}
    return [
        DividerBlock(),
        HeaderBlock(text="Members"),
        InputBlock(block_id="sdrs", label="SDRs", optional=True, element=UserMultiSelectElement(
            action_id="sdrs", initial_users=role_users["sdr"] or None)),
        InputBlock(block_id="aes", label="AEs", optional=True, hint="In this order for round-robin reassignment.",
                   element=UserMultiSelectElement(action_id="aes", initial_users=role_users["ae"] or None)),
        InputBlock(block_id="managers", label="Managers", optional=True, element=UserMultiSelectElement(
            action_id="managers", initial_users=role_users["manager"] or None)),
        _text("lines", "Reporting lines and pairings", member_lines(t) if t else None, optional=True, multiline=True,
              placeholder="U0SDR1 manager=U0MGR2 paired_ae=U0AE1",
              hint="One person per line, by member id (profile → ⋯ → Copy member ID). With a single manager, "
                   "everyone reports to them unless a line says otherwise; paired_ae prefills an SDR's AE."),
    ]


def team_edit_modal(team: TeamPolicy | None, *, new_id: str | None = None) -> dict:
    """Every setting of one team. `team` None: a new team (its id typed here, optionally prefilled)."""
    t = team
    blocks: list[Any] = [
        _id_block(t, new_id),
        *_identity_blocks(t),
        *_working_time_blocks(t),
        *_sync_blocks(t),
        *_sla_blocks(t),
        *_member_blocks(t),
    ]
    view = View(
        type="modal", callback_id=TEAM_EDIT_CALLBACK, title="Edit team" if t else "New team", submit="Save",
        close="Cancel", private_metadata=TeamRef(t.id if t else None).encode(), blocks=blocks,
    )
    return view.to_dict()
