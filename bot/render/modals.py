"""The modals: the handoff form, the rejection form, the reassignment form, a notice."""
from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

from slack_sdk.models.blocks import (
    CheckboxesElement,
    DateTimePickerElement,
    EmailInputElement,
    InputBlock,
    NumberInputElement,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    SectionBlock,
    StaticSelectElement,
    UrlInputElement,
    UserMultiSelectElement,
    UserSelectElement,
)
from slack_sdk.models.blocks.basic_components import MarkdownTextObject
from slack_sdk.models.views import View

from bot.core.handoff import (
    ENTERPRISE_NEEDS,
    HANDOFF_TYPES,
    MEETING_KINDS,
    REJECT_REASONS,
    SOURCES,
    short_id,
)
from bot.core.form import LONG_TEXT_MAX, SHORT_TEXT_MAX
from bot.core.refs import HandoffRef
from bot.render.text import clip, escape

HANDOFF_CALLBACK = "handoff_submit"
REJECT_CALLBACK = "handoff_reject_submit"
REASSIGN_CALLBACK = "handoff_reassign_submit"

# Long-form qualification questions, in the order an AE reads them.
QUALIFICATION = (
    ("need", "Need / use case", "What problem are they solving, and for whom?", False),
    ("compelling_event", "Compelling event", "Why now? What happens if they do nothing?", False),
    ("before_scenario", "Before scenario", "How do they work today?", True),
    ("after_scenario", "After scenario", "What does good look like for them?", True),
    ("outcomes", "Positive business outcomes", None, True),
    ("required_capabilities", "Required capabilities", None, True),
    ("metrics", "Metrics", "How will they measure success?", True),
    ("decision_path", "Path to the decision maker", "Who decides, who signs, who else is involved?", True),
)


def _options(choices: dict[str, str]) -> list[Option]:
    return [Option(value=value, label=label) for value, label in choices.items()]


def _option(choices: dict[str, str], value: str | None) -> Option | None:
    return Option(value=value, label=choices[value]) if value in choices else None


def _text(name: str, label: str, *, optional: bool, initial: Any = None, multiline: bool = False,
          placeholder: str | None = None, limit: int = SHORT_TEXT_MAX, hint: str | None = None) -> InputBlock:
    return InputBlock(
        block_id=name,
        label=label,
        optional=optional,
        hint=hint,
        element=PlainTextInputElement(
            action_id=name,
            multiline=multiline,
            max_length=limit,
            placeholder=placeholder,
            initial_value=str(initial) if initial not in (None, "") else None,
        ),
    )


# The inputs a direct pass goes without: hidden when "Direct pass" is chosen, back for a meeting type.
MEETING_BLOCKS = ("meeting_start", "meeting_kind", "meeting_link")
HANDOFF_TYPE = "handoff_type"  # the radio that updates the open form (dispatch_action)


def _notice_hint(notice_hours: int) -> str | None:
    return f"Outbound meetings need {notice_hours} business hours' notice." if notice_hours > 0 else None


def _meeting_blocks(p: dict[str, Any], notice_hours: int) -> list[InputBlock]:
    meeting = p.get("meeting_start")
    return [
        InputBlock(block_id="meeting_start", label="Meeting start", optional=False,
                   hint=_notice_hint(notice_hours),
                   element=DateTimePickerElement(
                       action_id="meeting_start",
                       initial_date_time=int(meeting.timestamp()) if meeting else None)),
        InputBlock(block_id="meeting_kind", label="Meeting kind", optional=True,
                   element=StaticSelectElement(action_id="meeting_kind", options=_options(MEETING_KINDS),
                                               initial_option=_option(MEETING_KINDS, p.get("meeting_kind")))),
        InputBlock(block_id="meeting_link", label="Meeting link", optional=True,
                   element=UrlInputElement(action_id="meeting_link", initial_value=p.get("meeting_link"))),
    ]


def handoff_modal(*, regions: tuple[str, ...], prefill: dict[str, Any] | None = None,
                  metadata: str = "", title: str = "New handoff", notice_hours: int = 48) -> dict:
    """The SDR's form. `prefill` holds stored values (for revise) or defaults.

    Optional inputs say so the way Slack does (`optional: true` shows "(optional)"); a direct pass
    opens without the meeting inputs."""
    p = prefill or {}
    region_choices = {r: r for r in regions}
    if p.get("region") and p["region"] not in region_choices:
        region_choices[p["region"]] = p["region"]
    handoff_type = p.get("handoff_type") or "qualified_meeting"
    blocks: list[Any] = [
        SectionBlock(text=MarkdownTextObject(
            text="Hand a qualified prospect to an AE. Inputs marked (optional) can wait; "
                 "the more you add, the less the AE asks twice.")),
        _text("company", "Company", optional=False, initial=p.get("company")),
        _text("contact_name", "Contact name", optional=False, initial=p.get("contact_name")),
        _text("contact_title", "Contact title", optional=True, initial=p.get("contact_title")),
        InputBlock(block_id="contact_email", label="Contact email", optional=True,
                   element=EmailInputElement(action_id="contact_email", initial_value=p.get("contact_email"))),
        InputBlock(block_id="crm_url", label="CRM record", optional=True,
                   element=UrlInputElement(action_id="crm_url", initial_value=p.get("crm_url"))),
        InputBlock(block_id="employee_count", label="Employees", optional=True,
                   hint="Sets the segment: SMB, Mid-Market or Large.",
                   element=NumberInputElement(action_id="employee_count", is_decimal_allowed=False, min_value="0",
                                              initial_value=_num(p.get("employee_count")))),
        InputBlock(block_id="region", label="Region", optional=True,
                   element=StaticSelectElement(action_id="region", options=_options(region_choices),
                                               initial_option=_option(region_choices, p.get("region")))),
        InputBlock(block_id="source", label="Source", optional=False,
                   element=RadioButtonsElement(action_id="source", options=_options(SOURCES),
                                               initial_option=_option(SOURCES, p.get("source") or "outbound"))),
        InputBlock(block_id=HANDOFF_TYPE, label="Handoff type", optional=False, dispatch_action=True,
                   hint="A direct pass goes to the AE without a meeting.",
                   element=RadioButtonsElement(action_id=HANDOFF_TYPE, options=_options(HANDOFF_TYPES),
                                               initial_option=_option(HANDOFF_TYPES, handoff_type))),
        InputBlock(block_id="ae_id", label="AE", optional=False,
                   element=UserSelectElement(action_id="ae_id", initial_user=p.get("ae_id"),
                                             placeholder="Who takes it from here?")),
        *([] if handoff_type == "direct_pass" else _meeting_blocks(p, notice_hours)),
        InputBlock(block_id="attendees", label="Extra attendees", optional=True,
                   hint="Solutions engineer, manager, …",
                   element=UserMultiSelectElement(action_id="attendees", initial_users=p.get("attendees") or None)),
    ]
    for name, label, placeholder, optional in QUALIFICATION:
        blocks.append(_text(name, label, optional=optional, initial=p.get(name), multiline=True,
                            placeholder=placeholder, limit=LONG_TEXT_MAX))
    blocks += [
        InputBlock(block_id="seats", label="Seats", optional=True,
                   element=NumberInputElement(action_id="seats", is_decimal_allowed=False, min_value="0",
                                              initial_value=_num(p.get("seats")))),
        InputBlock(block_id="enterprise_needs", label="Enterprise needs", optional=True,
                   element=CheckboxesElement(
                       action_id="enterprise_needs", options=_options(ENTERPRISE_NEEDS),
                       initial_options=[o for v in p.get("enterprise_needs") or [] if (o := _option(ENTERPRISE_NEEDS, v))]
                       or None)),
        _text("agenda", "Proposed agenda", optional=True, initial=p.get("agenda"), multiline=True,
              limit=LONG_TEXT_MAX, placeholder="The AE confirms it on the card."),
        _text("notes", "Notes", optional=True, initial=p.get("notes"), multiline=True, limit=LONG_TEXT_MAX),
    ]
    view = View(
        type="modal", callback_id=HANDOFF_CALLBACK, title=title, submit="Hand off", close="Cancel",
        private_metadata=metadata, blocks=blocks,
    )
    return view.to_dict()


@lru_cache(maxsize=16)
def _blank_form(regions: tuple[str, ...]) -> str:
    return json.dumps(handoff_modal(regions=regions))


def new_handoff_modal(*, regions: tuple[str, ...], ae_id: str | None = None, region: str | None = None,
                      notice_hours: int = 48) -> dict:
    """The empty form, built and validated once (it costs milliseconds): `/handoff` must open it at once.
    `ae_id` and `region`: the SDR's paired AE and their team's region, prefilled; `notice_hours`: the
    minimum notice the rules will ask, said under the meeting start. The same dict for the same
    arguments (even decoding a copy cost /handoff a sixth of its CPU under load): read it, never change it."""
    return _prefilled_form(regions, ae_id, region, notice_hours)


@lru_cache(maxsize=256)
def _prefilled_form(regions: tuple[str, ...], ae_id: str | None, region: str | None, notice_hours: int) -> dict:
    view = json.loads(_blank_form(regions))
    for block in view["blocks"]:
        if block.get("block_id") == "meeting_start":
            hint = _notice_hint(notice_hours)
            block.pop("hint", None)
            if hint:
                block["hint"] = {"type": "plain_text", "text": hint}
        if block.get("block_id") == "ae_id" and ae_id:
            block["element"]["initial_user"] = ae_id
        if block.get("block_id") == "region" and region:
            option = Option(value=region, label=region).to_dict()
            element = block["element"]
            if all(o.get("value") != region for o in element["options"]):
                element["options"].append(option)  # a team's region the installation's list lacks
            element["initial_option"] = option
    return view


def form_for_type(view: dict[str, Any], handoff_type: str | None, notice_hours: int = 48) -> dict[str, Any]:
    """The open form (as Slack sent it with the click), for views.update once the handoff type changed:
    without the meeting inputs for a direct pass, with them (blank) otherwise. Every other input keeps
    its block_id and action_id, so Slack keeps what was typed in it."""
    blocks = [b for b in view.get("blocks") or [] if isinstance(b, dict)]
    has_meeting = any(b.get("block_id") in MEETING_BLOCKS for b in blocks)
    if handoff_type == "direct_pass":
        blocks = [b for b in blocks if b.get("block_id") not in MEETING_BLOCKS]
    elif not has_meeting:
        at = next((i + 1 for i, b in enumerate(blocks) if b.get("block_id") == "ae_id"), len(blocks))
        blocks[at:at] = [b.to_dict() for b in _meeting_blocks({}, notice_hours)]
    for block in blocks:
        if block.get("block_id") == HANDOFF_TYPE and handoff_type in HANDOFF_TYPES:
            block["element"]["initial_option"] = Option(value=handoff_type, label=HANDOFF_TYPES[handoff_type]).to_dict()
    fresh = {k: view[k] for k in ("type", "callback_id", "title", "submit", "close", "private_metadata",
                                  "clear_on_close", "notify_on_close", "external_id") if view.get(k) not in (None, "")}
    return {**fresh, "blocks": blocks}


def _num(value: Any) -> str | None:
    return None if value is None else str(value)


def reject_modal(*, handoff_id: int, company: str, revision: int, reasons: dict[str, str] | None = None) -> dict:
    """`reasons`: the handoff's team's list (id -> label), the default list without one."""
    view = View(
        type="modal", callback_id=REJECT_CALLBACK, title="Reject handoff", submit="Reject", close="Cancel",
        private_metadata=HandoffRef(handoff_id, revision).encode(),
        blocks=[
            SectionBlock(text=MarkdownTextObject(text=clip(
                f"Reject *{short_id(handoff_id)} {escape(company)}*. Your feedback goes to the SDR as coaching: "
                "say what was missing and what would have made it a yes.", 3000))),
            InputBlock(block_id="reason", label="Reason", element=StaticSelectElement(
                action_id="reason", options=_options(REJECT_REASONS if reasons is None else reasons),
                placeholder="Choose a reason")),
            InputBlock(block_id="feedback", label="Feedback for the SDR", element=PlainTextInputElement(
                action_id="feedback", multiline=True, max_length=LONG_TEXT_MAX)),
        ],
    )
    return view.to_dict()


def reassign_modal(*, handoff_id: int, company: str, revision: int) -> dict:
    view = View(
        type="modal", callback_id=REASSIGN_CALLBACK, title="Reassign handoff", submit="Reassign", close="Cancel",
        private_metadata=HandoffRef(handoff_id, revision).encode(),
        blocks=[
            SectionBlock(text=MarkdownTextObject(text=clip(
                f"Hand *{short_id(handoff_id)} {escape(company)}* to another AE. They get a fresh card.", 3000))),
            InputBlock(block_id="new_ae", label="New AE", element=UserSelectElement(action_id="new_ae")),
            InputBlock(block_id="note", label="Note", optional=True, element=PlainTextInputElement(
                action_id="note", multiline=True, max_length=LONG_TEXT_MAX)),
        ],
    )
    return view.to_dict()


def notice_modal(title: str, text: str) -> dict:
    view = View(type="modal", title=clip(title, 24), close="OK",
                blocks=[SectionBlock(text=MarkdownTextObject(text=clip(text, 3000)))])
    return view.to_dict()


OUTCOME_CALLBACK = "handoff_outcome_submit"


def outcome_modal(*, handoff_id: int, company: str, revision: int, prefill: dict[str, Any]) -> dict:
    """After the meeting: what happened, and what happens next."""
    from bot.core.handoff import MEETING_OUTCOMES
    from slack_sdk.models.blocks import DatePickerElement

    due = prefill.get("next_step_due")
    view = View(
        type="modal", callback_id=OUTCOME_CALLBACK, title="Meeting outcome", submit="Save", close="Cancel",
        private_metadata=HandoffRef(handoff_id, revision).encode(),
        blocks=[
            SectionBlock(text=MarkdownTextObject(text=clip(
                f"*{short_id(handoff_id)} {escape(company)}*: record how the meeting went and the next step. "
                "Accepted, met, and a next step set: the handoff is complete.", 3000))),
            InputBlock(block_id="outcome", label="Meeting", element=RadioButtonsElement(
                action_id="outcome", options=_options(MEETING_OUTCOMES),
                initial_option=_option(MEETING_OUTCOMES, prefill.get("meeting_outcome")))),
            InputBlock(block_id="new_meeting_start", label="New meeting time (if rescheduled)", optional=True,
                       element=DateTimePickerElement(action_id="new_meeting_start")),
            _text("next_step", "Next step", optional=True, initial=prefill.get("next_step"), multiline=True,
                  limit=LONG_TEXT_MAX, placeholder="What happens next?"),
            InputBlock(block_id="next_step_due", label="By when", optional=True, element=DatePickerElement(
                action_id="next_step_due", initial_date=due.strftime("%Y-%m-%d") if due else None)),
            InputBlock(block_id="next_step_owner", label="Owner", optional=True, element=UserSelectElement(
                action_id="next_step_owner", initial_user=prefill.get("next_step_owner"))),
        ],
    )
    return view.to_dict()
