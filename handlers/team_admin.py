"""`/handoff team [id]`: admins edit a team in a modal. Errors answer inline; a valid one is one transaction."""
from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.refs import TeamRef
from bot.core.slack_ids import is_user
from bot.core.team_config import CHANNEL_ID, SLUG, check_holidays, check_team, check_tz, parse_hhmm
from bot.core.teams import SLA_FROM, Member, TeamPolicy
from bot.render.team_modals import (
    AUTO_REASSIGN,
    NEW_TEAM,
    TEAM_EDIT_CALLBACK,
    TEAM_PICK_CALLBACK,
    team_edit_modal,
    team_pick_modal,
)
from bot.render.text import escape, mention
from bot.services import Services
from bot.services.teams import MemberConflict
from handlers.common import input_value
from handlers.middleware import Later

log = logging.getLogger("handoff.team_admin")

_USER_REF = re.compile(r"^<?@?([UW][A-Z0-9_]+)(?:\|[^>]*)?>?$")  # U123, @U123, <@U123>, <@U123|name>
_LINE_KEYS = {"manager": "manager", "paired_ae": "paired_ae", "ae": "paired_ae", "pair": "paired_ae"}


def refusal_text(admins: frozenset[str]) -> str:
    if not admins:
        return ("Only Handoff admins can edit teams, and none is set: whoever runs the bot can add you to "
                "`HANDOFF_ADMINS`.")
    return f"Only Handoff admins can edit teams: {', '.join(mention(a) for a in sorted(admins))}."


async def team_command(services: Services, later: Later, ack: AsyncAck, client: AsyncWebClient,
                       command: dict[str, Any], args: list[str]) -> None:
    """The `team` branch of `/handoff`."""
    user = command["user_id"]
    admins = services.ctx.installation.admins
    if user not in admins:
        await ack(response_type="ephemeral", text=refusal_text(admins))
        return
    await ack()
    name = args[0].lower() if args else None
    # The trigger_id dies 3 s after the click; the team lookup is a local SQLite read.
    later.spawn(_open(services, client, command["trigger_id"], user, name), name="open-team-modal")


async def _open(services: Services, client: AsyncWebClient, trigger_id: str, user: str, name: str | None) -> None:
    try:
        if name is None:
            view = team_pick_modal(await services.teams.all())
        else:
            team = await services.teams.get(name)
            view = team_edit_modal(team, new_id=None if team else (name if SLUG.match(name) else None))
        await client.views_open(trigger_id=trigger_id, view=view)
    except Exception as error:
        log.warning("could not open the team modal for %s: %s", user, error)
        try:
            await client.chat_postMessage(channel=user, text="Sorry, I couldn't open the team form. "
                                                             "Please type `/handoff team` again.")
        except Exception:
            pass


def _text(view: dict[str, Any], name: str) -> str:
    raw = input_value(view, name).get("value")
    return raw.strip() if isinstance(raw, str) else ""


def _option(view: dict[str, Any], name: str) -> str | None:
    option = input_value(view, name).get("selected_option") or {}
    return option.get("value") if isinstance(option, dict) else None


def _options(view: dict[str, Any], name: str) -> list[str]:
    chosen = input_value(view, name).get("selected_options")
    return [o["value"] for o in chosen if isinstance(o, dict) and isinstance(o.get("value"), str)] \
        if isinstance(chosen, list) else []


def _users(view: dict[str, Any], name: str) -> list[str]:
    users = input_value(view, name).get("selected_users")
    return [u for u in users if isinstance(u, str)] if isinstance(users, list) else []


def _number(view: dict[str, Any], name: str, errors: dict[str, str], *, integer: bool = False,
            high: float | None = None) -> float | None:
    raw = _text(view, name)
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        errors[name] = "Enter a whole number." if integer else "Enter a number."
        return None
    if value < 0 or value != value or (high is not None and value > high):
        errors[name] = f"Enter a number from 0 to {high:g}." if high is not None else "Enter a number of 0 or more."
        return None
    return value


def _user_ref(token: str) -> str | None:
    match = _USER_REF.match(token.strip())
    return match.group(1) if match else None


def _lines(text: str, errors: dict[str, str]) -> dict[str, dict[str, str]]:
    """`U1 manager=U2 paired_ae=U3` per line -> {U1: {manager: U2, paired_ae: U3}}."""
    out: dict[str, dict[str, str]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        tokens = line.replace(",", " ").split()
        if not tokens:
            continue
        who = _user_ref(tokens[0])
        if who is None:
            errors["lines"] = f"Line {number}: start with a member id, like U0123ABCD."
            return out
        entry = out.setdefault(who, {})
        for token in tokens[1:]:
            key, _, value = token.replace(":", "=", 1).partition("=")
            ref = _user_ref(value)
            if key.lower() not in _LINE_KEYS or ref is None:
                errors["lines"] = f"Line {number}: expected manager=U… or paired_ae=U…, got {token!r}."
                return out
            entry[_LINE_KEYS[key.lower()]] = ref
    return out


def read_team(view: dict[str, Any], team_id: str | None) -> TeamPolicy | dict[str, str]:
    """The edit modal's state as a TeamPolicy, or {block_id: problem} for Slack to show inline."""
    errors: dict[str, str] = {}
    if team_id is None:
        team_id = _text(view, "team_id").lower()
        if not SLUG.match(team_id):
            errors["team_id"] = "Use lower-case letters, digits and -, like amer-mm."
    name, region = _text(view, "name"), _text(view, "region")
    if not name:
        errors["name"] = "Give the team a name."
    if not region:
        errors["region"] = "Give the team a region, like AMER."
    channel = input_value(view, "channel").get("selected_conversation") or ""
    if not isinstance(channel, str) or not CHANNEL_ID.match(channel):
        errors["channel"] = "Pick a channel (public or private), not a direct message."
    tz = _text(view, "tz")
    if problem := check_tz(tz) if tz else "Enter a time zone, like America/New_York.":
        errors["tz"] = problem[0].upper() + problem[1:]
    workdays = frozenset(int(d) for d in _options(view, "workdays") if d.isdigit() and 0 <= int(d) <= 6)
    if not workdays:
        errors["workdays"] = "Pick at least one working day."
    day_start = parse_hhmm(input_value(view, "day_start").get("selected_time") or "")
    day_end = parse_hhmm(input_value(view, "day_end").get("selected_time") or "")
    if day_start is None:
        errors["day_start"] = "Pick a time."
    if day_end is None:
        errors["day_end"] = "Pick a time."
    elif day_start is not None and day_end <= day_start:
        errors["day_end"] = "The day must end after it starts."
    country = _text(view, "holiday_country") or None
    subdivision = _text(view, "holiday_subdivision") or None
    if subdivision and not country:
        errors["holiday_country"] = "A state or province needs its country."
    elif country and (problem := check_holidays(country, subdivision)):
        errors["holiday_subdivision" if subdivision and not check_holidays(country, None) else "holiday_country"] = (
            f"Unknown to the holidays calendar: {country}{'/' + subdivision if subdivision else ''}. "
            "Use ISO codes, like US and CA, or AU and NSW.")
    sync_day = _option(view, "sync_day")
    sync_time = parse_hhmm(input_value(view, "sync_time").get("selected_time") or "")
    if sync_day is None or not sync_day.isdigit():
        errors["sync_day"] = "Pick a day."
    if sync_time is None:
        errors["sync_time"] = "Pick a time."
    sla_hours = _number(view, "sla_hours", errors, high=24 * 365)
    if sla_hours == 0:
        errors["sla_hours"] = "The SLA needs more than 0 working hours."
    sla_from = _option(view, "sla_from") or "meeting_end"
    if sla_from not in SLA_FROM:
        errors["sla_from"] = "Pick when the SLA starts."
    heads_up = _number(view, "heads_up", errors, high=1)
    if heads_up is not None and not 0 < heads_up < 1:
        errors["heads_up"] = "A fraction of the SLA between 0 and 1, like 0.75."
    escalate = _number(view, "escalate_after_hours", errors, high=24 * 365)
    outcome = _number(view, "outcome_after_hours", errors, high=24 * 365)
    notice = _number(view, "min_notice_hours", errors, integer=True, high=24 * 365)
    members = _members(view, errors)
    if errors:
        return errors
    assert team_id and day_start and day_end and sync_time and sync_day is not None and members is not None
    team = TeamPolicy(
        id=team_id, name=name, region=region, channel_id=channel, tz=tz, workdays=workdays,
        day_start=day_start, day_end=day_end, holiday_country=country, holiday_subdivision=subdivision,
        sync_weekday=int(sync_day), sync_time=sync_time, sla_hours=float(sla_hours or 0), sla_from=sla_from,
        heads_up_fraction=float(heads_up or 0), escalate_after_hours=float(escalate or 0),
        auto_reassign=AUTO_REASSIGN in _options(view, AUTO_REASSIGN), outcome_after_hours=float(outcome or 0),
        min_notice_hours=int(notice or 0), members=members,
    )
    # The file's rules are the law; anything the fields above let through is still caught here.
    if problems := check_team(team):
        return {"name": "; ".join(p.split(": ", 1)[-1] for p in problems)[:1900]}
    return team


def _members(view: dict[str, Any], errors: dict[str, str]) -> tuple[Member, ...] | None:
    by_role = {"manager": _users(view, "managers"), "sdr": _users(view, "sdrs"), "ae": _users(view, "aes")}
    block_of = {"manager": "managers", "sdr": "sdrs", "ae": "aes"}
    role_of: dict[str, str] = {}
    for role, users in by_role.items():
        if not all(is_user(u) for u in users):  # never stored, never rendered as a mention
            errors[block_of[role]] = "Choose people from the list."
            return None
        for user in users:
            if user in role_of:
                errors[block_of[role]] = f"{mention(user)} is already listed as {role_of[user].upper()}: one role each."
            role_of.setdefault(user, role)
    lines = _lines(_text(view, "lines"), errors)
    if "lines" in errors:
        return None
    sole = by_role["manager"][0] if len(by_role["manager"]) == 1 else None
    problems: list[str] = []
    for user, entry in lines.items():
        role = role_of.get(user)
        if role is None:
            problems.append(f"{user} is not among the SDRs, AEs or managers above.")
            continue
        if entry.get("manager") == user:
            problems.append(f"{user} cannot be their own manager.")
        paired = entry.get("paired_ae")
        if paired is not None and role != "sdr":
            problems.append(f"Only an SDR can have a paired_ae ({user} is {role.upper()}).")
        elif paired is not None and role_of.get(paired) != "ae":
            problems.append(f"paired_ae {paired} is not among this team's AEs.")
    if problems:
        errors["lines"] = " ".join(problems)[:1900]
        return None
    out: list[Member] = []
    for role in ("manager", "sdr", "ae"):
        for user in by_role[role]:
            if role_of[user] != role:
                continue
            entry = lines.get(user, {})
            default = sole if role != "manager" else None  # "everyone reports to the one manager"
            out.append(Member(user, role, entry.get("manager", default), entry.get("paired_ae")))
    return tuple(out)


def register(app: AsyncApp) -> None:
    app.view(TEAM_PICK_CALLBACK)(team_picked)
    app.view(TEAM_EDIT_CALLBACK)(team_submitted)


async def team_picked(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], services: Services) -> None:
    admins = services.ctx.installation.admins
    if body["user"]["id"] not in admins:
        await ack(response_action="errors", errors={"team": refusal_text(admins)})
        return
    choice = _option(view, "team")
    team = None if choice in (None, NEW_TEAM) else await services.teams.get(choice)
    if choice not in (None, NEW_TEAM) and team is None:
        await ack(response_action="errors", errors={"team": "That team was just removed; pick another."})
        return
    await ack(response_action="update", view=team_edit_modal(team))


async def team_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient,
                         services: Services) -> None:
    admin = body["user"]["id"]
    admins = services.ctx.installation.admins
    ref = TeamRef.parse(view.get("private_metadata"))
    existing_id = ref.team_id if ref else None
    first_block = "name" if existing_id else "team_id"
    if admin not in admins:  # the command checked too; a forged or stale submission must not save
        await ack(response_action="errors", errors={first_block: refusal_text(admins)})
        return
    if ref is None:
        await ack(response_action="errors", errors={first_block: "This form is broken; start again."})
        return
    result = read_team(view, existing_id)
    if isinstance(result, dict):
        await ack(response_action="errors", errors=result)
        return
    if not existing_id and await services.teams.get(result.id) is not None:
        await ack(response_action="errors",
                  errors={"team_id": f"A team {result.id!r} exists already: type `/handoff team {result.id}`."})
        return
    try:
        created = await services.teams.save(result)
    except MemberConflict as conflict:
        role_block = {"manager": "managers", "sdr": "sdrs", "ae": "aes"}
        errors: dict[str, str] = {}
        for m in result.members:
            if m.user_id in conflict.users:
                errors.setdefault(role_block[m.role], "")
                errors[role_block[m.role]] += (f"{mention(m.user_id)} is already in team "
                                               f"{conflict.users[m.user_id]!r}; a person belongs to one team. ")
        await ack(response_action="errors", errors={k: v.strip()[:1900] for k, v in errors.items()})
        return
    except Exception:
        log.exception("could not save team %s for %s", result.id, admin)
        await ack(response_action="errors", errors={first_block: "Couldn't save just now; press Save again."})
        return
    await ack()
    counts = {role: sum(1 for m in result.members if m.role == role) for role in ("sdr", "ae", "manager")}
    log.info("team %s %s by %s", result.id, "created" if created else "updated", admin)
    text = (f"{'Created' if created else 'Saved'} team *{escape(result.name)}* (`{result.id}`): "
            f"{counts['sdr']} SDRs, {counts['ae']} AEs, {counts['manager']} manager"
            f"{'s' * (counts['manager'] != 1)}; channel <#{result.channel_id}>, {result.tz}.")
    try:
        await client.chat_postMessage(channel=admin, text=text)
    except Exception as error:  # saved is saved; a lost note must not undo it
        log.warning("could not tell %s the team was saved: %s", admin, error)
