"""Teams as code: `teams.yaml` ⇄ TeamPolicy.

Pure (no SQL, no Slack). Parsing works on the YAML node graph (yaml.compose)
rather than on plain Python values so that every error can name the line it is
about, and so that scalars such as `10:00` (a base-60 integer in YAML 1.1) or
`NO` (a boolean) are read as the text the admin typed, not as what YAML guesses.
A file is either valid as a whole or refused with every problem listed.
"""
from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from datetime import time
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from bot.core.teams import DEFAULT_REJECT_REASONS, EMPTY_AGENDA, ROLES, SLA_FROM, Member, TeamPolicy
from bot.core.working_time import holiday_dates

__all__ = [
    "CHANNEL_ID",
    "DAY_NAMES",
    "SLUG",
    "TeamConfigError",
    "USER_ID",
    "check_holidays",
    "check_team",
    "check_tz",
    "dump_teams",
    "format_hhmm",
    "parse_hhmm",
    "parse_teams",
    "reason_id",
]

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]*$")
USER_ID = re.compile(r"^[UW][A-Z0-9_]+$")
CHANNEL_ID = re.compile(r"^[CG][A-Z0-9_]+$")  # public (C…) or private (G…) channel; "_" for the stand-in
HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAYS: dict[str, int] = {**{n: i for i, n in enumerate(DAY_NAMES)}, **{n[:3]: i for i, n in enumerate(DAY_NAMES)}}

TEAM_KEYS = ("id", "name", "region", "channel", "tz", "workdays", "hours", "holidays", "sync", "empty_agenda",
             "sla", "outcome_reminder_after_hours", "min_notice_hours", "reject_reasons", "members")
MEMBER_KEYS = ("user", "role", "manager", "paired_ae")
SLA_KEYS = ("hours", "from", "heads_up_at", "escalate_after_hours", "auto_reassign")
REASON_KEYS = ("id", "label")
REASON_ID = re.compile(r"^[a-z0-9][a-z0-9_]*$")
# Slack's limits on a static select: 100 options of at most 75 characters; 20 is what a form can show.
REASONS_MAX = 20
REASON_LABEL_MAX = 75
REASON_ID_MAX = 64

HEADER = """\
# Handoff teams. Apply with:  handoff-bot config import teams.yaml
# Export the live set with:   handoff-bot config export > teams.yaml
# The whole file is checked before anything changes; a bad file is refused with line numbers.
#
# Per team:
#   id: slug (a-z, 0-9, -)    name, region: text    channel: Slack channel id (C0123ABCD)
#   tz: IANA time zone        workdays: [mon, ..., sun] (or numbers, Monday = 0)
#   hours: {start: "HH:MM", end: "HH:MM"}              holidays: {country: US, subdivision: CA} (optional)
#   sync: {day: monday, time: "HH:MM"}                 the weekly SDR-sales sync, in the team's zone
#   empty_agenda: note | skip         a week with nothing to align on: one short line (note), or no post
#   sla: {hours: 8, from: meeting_end | submission, heads_up_at: 0.75 (fraction of the SLA),
#         escalate_after_hours: 4, auto_reassign: false}     working hours, in the AE's zone
#   outcome_reminder_after_hours: 2    min_notice_hours: 48 (business hours, outbound meetings)
#   reject_reasons: [{id: timing, label: Timing}, "Pricing model", ...]  (optional; a bare label gets its
#         id from the label; at most 20, labels up to 75 characters; left out: the default list)
#   members: [{user: U…, role: sdr | ae | manager, manager: U… (optional), paired_ae: U… (SDR only)}]
# A person belongs to one team only.
"""

class TeamConfigError(ValueError):
    """The configuration is refused; `errors` holds one `file:line: problem` per problem."""

    def __init__(self, errors: list[str]):
        super().__init__("\n".join(errors))
        self.errors = errors


# ---------------------------------------------------------------------- small shared checks


def parse_hhmm(text: str) -> time | None:
    match = HHMM.match(text.strip())
    return time(int(match.group(1)), int(match.group(2))) if match else None


def format_hhmm(value: time) -> str:
    return f"{value.hour:02d}:{value.minute:02d}"


def check_tz(name: str) -> str | None:
    """None if `name` is a real IANA zone, else the problem."""
    try:
        ZoneInfo(name)
        return None
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return f"unknown time zone {name!r} (use an IANA name like America/New_York)"


def check_holidays(country: str, subdivision: str | None) -> str | None:
    """None if the `holidays` package knows this country/subdivision, else the problem."""
    try:
        holiday_dates(country, subdivision, [])  # no year needed: the calendar itself must exist
        return None
    except (ValueError, KeyError, TypeError) as error:
        return f"{error}; country codes are ISO 3166 upper case, like US, DE, AU"


# ---------------------------------------------------------------------- parsing


class _Reader:
    """Collects errors while walking the node graph; each check returns a value or None."""

    def __init__(self, source: str):
        self.source = source
        self.errors: list[str] = []
        self._constructor = SafeConstructor()  # per parse: it caches every node it builds

    def error(self, node: Node | None, message: str) -> None:
        line = node.start_mark.line + 1 if node is not None else 1
        self.errors.append(f"{self.source}:{line}: {message}")

    def mapping(self, node: Node, what: str, allowed: Iterable[str]) -> dict[str, tuple[Node, Node]] | None:
        """key -> (key node, value node); unknown and repeated keys are errors."""
        if not isinstance(node, MappingNode):
            self.error(node, f"{what} must be a mapping (key: value)")
            return None
        allowed = tuple(allowed)
        out: dict[str, tuple[Node, Node]] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, ScalarNode) else None
            if not isinstance(key, str):
                self.error(key_node, f"{what} has a key that is not a name")
            elif key in out:
                self.error(key_node, f"{what} repeats `{key}` (first on line {out[key][0].start_mark.line + 1})")
            elif key not in allowed:
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f"did you mean `{close[0]}`?" if close else f"expected one of: {', '.join(allowed)}"
                self.error(key_node, f"{what} has unknown key `{key}` ({hint})")
            else:
                out[key] = (key_node, value_node)
        return out

    @staticmethod
    def is_null(node: Node) -> bool:
        return isinstance(node, ScalarNode) and node.tag == "tag:yaml.org,2002:null"

    def text(self, node: Node, what: str, pattern: re.Pattern[str] | None = None, hint: str = "") -> str | None:
        # The raw scalar text: `NO` stays the country code, `10:00` stays a time.
        if not isinstance(node, ScalarNode) or self.is_null(node) or not node.value.strip():
            self.error(node, f"{what} must be a non-empty text")
            return None
        value = str(node.value).strip()
        if pattern is not None and not pattern.match(value):
            self.error(node, f"{what} {value!r} is not valid{hint}")
            return None
        return value

    def value(self, node: Node) -> Any:
        try:
            return self._constructor.construct_object(node, deep=True)
        except ConstructorError:
            return node.value if isinstance(node, ScalarNode) else None

    def number(self, node: Node, what: str, *, low: float, high: float | None = None, low_open: bool = False,
               integer: bool = False) -> float | int | None:
        raw = self.value(node) if isinstance(node, ScalarNode) else None
        ok_type = (int,) if integer else (int, float)
        if isinstance(raw, bool) or not isinstance(raw, ok_type) or raw != raw:  # raw != raw: NaN
            self.error(node, f"{what} must be {'a whole number' if integer else 'a number'}, got {_show(node)}")
            return None
        too_low = raw <= low if low_open else raw < low
        if too_low or (high is not None and raw > high) or raw in (float("inf"), float("-inf")):
            bounds = f"more than {low:g}" if low_open else f"at least {low:g}"
            if high is not None:
                bounds += f" and at most {high:g}"
            self.error(node, f"{what} must be {bounds}, got {raw}")
            return None
        return raw if integer else float(raw)

    def boolean(self, node: Node, what: str) -> bool | None:
        raw = self.value(node) if isinstance(node, ScalarNode) else None
        if not isinstance(raw, bool):
            self.error(node, f"{what} must be true or false, got {_show(node)}")
            return None
        return raw

    def clock(self, node: Node, what: str) -> time | None:
        parsed = parse_hhmm(node.value) if isinstance(node, ScalarNode) and not self.is_null(node) else None
        if parsed is None:
            self.error(node, f"{what} must be a time \"HH:MM\" (24-hour), got {_show(node)}")
        return parsed

    def weekday(self, node: Node, what: str) -> int | None:
        if isinstance(node, ScalarNode):
            text = node.value.strip().lower()
            if text in _DAYS:
                return _DAYS[text]
            if text.isdigit() and 0 <= int(text) <= 6:
                return int(text)
        self.error(node, f"{what} must be a day name (monday … sunday, or mon … sun) or 0-6 with Monday = 0, "
                         f"got {_show(node)}")
        return None


def _show(node: Node) -> str:
    if isinstance(node, ScalarNode):
        return repr(node.value) if node.value else "nothing"
    return "a list" if isinstance(node, SequenceNode) else "a mapping"


def parse_teams(text: str, source: str = "teams.yaml") -> list[TeamPolicy]:
    """Every team in `text`, or TeamConfigError listing every problem with its line."""
    reader = _Reader(source)
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else 1
        raise TeamConfigError([f"{source}:{line}: YAML syntax error: {error.problem or error.context}"]) from None
    except yaml.YAMLError as error:
        raise TeamConfigError([f"{source}:1: YAML error: {error}"]) from None
    if root is None:
        raise TeamConfigError([f"{source}:1: the file is empty; expected a top-level `teams:` list"])
    top = reader.mapping(root, "the file", ("teams",))
    if top is None or "teams" not in top:
        if top is not None:
            reader.error(root, "expected a top-level `teams:` list")
        raise TeamConfigError(reader.errors)
    teams_node = top["teams"][1]
    if not isinstance(teams_node, SequenceNode):
        if not reader.is_null(teams_node):
            reader.error(teams_node, "`teams` must be a list of teams (each starting with `- id: ...`)")
            raise TeamConfigError(reader.errors)
        items: list[Node] = []
    else:
        items = list(teams_node.value)

    teams: list[TeamPolicy] = []
    seen_ids: dict[str, int] = {}
    seen_users: dict[str, tuple[int, str, int]] = {}  # user -> (team index, team id, line)
    for index, item in enumerate(items):
        team = _team(reader, item, index, seen_ids, seen_users)
        if team is not None:
            teams.append(team)
    if reader.errors:
        raise TeamConfigError(_by_line(reader.errors))
    return teams


def _by_line(errors: list[str]) -> list[str]:
    """In file order (a stable sort, so one line's problems keep the order they were found in)."""
    def line(error: str) -> int:
        match = re.match(r"^.*?:(\d+): ", error)
        return int(match.group(1)) if match else 0
    return sorted(errors, key=line)


_Fields = dict[str, tuple[Node, Node]]  # key -> (key node, value node), as _Reader.mapping returns


def _team_label(node: Node) -> str:
    """Name the team in its own errors, even those found before its id is checked."""
    peek = next((v.value for k, v in node.value if isinstance(k, ScalarNode) and k.value == "id"
                 and isinstance(v, ScalarNode) and v.value), None) if isinstance(node, MappingNode) else None
    return f"team {peek!r}" if peek else "a team"


def _required(r: _Reader, node: Node, fields: _Fields, label: str, key: str, check: Callable[[Node], Any]) -> Any:
    if key not in fields:
        r.error(node, f"{label} is missing `{key}`")
        return None
    return check(fields[key][1])


def _identity(r: _Reader, node: Node, fields: _Fields, label: str, seen_ids: dict[str, int]) -> dict[str, Any]:
    """The required keys: id (unique across the file), name, region, channel and tz."""
    team_id = _required(r, node, fields, label, "id",
                        lambda n: r.text(n, "id", SLUG, ": use lower-case letters, digits and -"))
    if team_id is not None:
        label = f"team {team_id!r}"  # later errors name the checked id
        if team_id in seen_ids:
            r.error(fields["id"][1], f"team id {team_id!r} is used twice (first on line {seen_ids[team_id]})")
        else:
            seen_ids[team_id] = fields["id"][1].start_mark.line + 1
    values: dict[str, Any] = {"id": team_id}
    values["name"] = _required(r, node, fields, label, "name", lambda n: r.text(n, "name"))
    values["region"] = _required(r, node, fields, label, "region", lambda n: r.text(n, "region"))
    values["channel_id"] = _required(r, node, fields, label, "channel", lambda n: r.text(
        n, "channel", CHANNEL_ID, ": expected a Slack channel id like C0123ABCD (not #name)"))
    tz_name = _required(r, node, fields, label, "tz", lambda n: r.text(n, "tz"))
    if tz_name is not None and (problem := check_tz(tz_name)):
        r.error(fields["tz"][1], problem)
    values["tz"] = tz_name
    return values


def _hours(r: _Reader, node: Node) -> dict[str, Any]:
    """hours: {start, end}; a missing side falls back to the default when checking end > start."""
    hours = r.mapping(node, "hours", ("start", "end"))
    values: dict[str, Any] = {}
    if hours is None:
        return values
    for key, attr in (("start", "day_start"), ("end", "day_end")):
        if key in hours:
            values[attr] = r.clock(hours[key][1], f"hours.{key}")
    start = values.get("day_start", TeamPolicy.day_start)
    end = values.get("day_end", TeamPolicy.day_end)
    if start is not None and end is not None and end <= start:
        r.error(node, f"hours.end ({format_hhmm(end)}) must be after hours.start ({format_hhmm(start)})")
    return values


def _holidays(r: _Reader, node: Node) -> dict[str, Any]:
    """holidays: {country, subdivision}, checked against the holidays library."""
    hol = r.mapping(node, "holidays", ("country", "subdivision"))
    if hol is None:
        return {}
    country = r.text(hol["country"][1], "holidays.country") if "country" in hol else None
    if "country" not in hol:
        r.error(node, "holidays needs `country` (e.g. US)")
    sub = None
    if "subdivision" in hol and not r.is_null(hol["subdivision"][1]):
        sub = r.text(hol["subdivision"][1], "holidays.subdivision")
    if country is not None and (problem := check_holidays(country, sub)):
        r.error(node, problem)
    return {"holiday_country": country, "holiday_subdivision": sub}


def _sync(r: _Reader, node: Node) -> dict[str, Any]:
    """sync: {day, time} of the weekly SDR-sales sync."""
    sync = r.mapping(node, "sync", ("day", "time"))
    values: dict[str, Any] = {}
    if sync is not None:
        if "day" in sync:
            values["sync_weekday"] = r.weekday(sync["day"][1], "sync.day")
        if "time" in sync:
            values["sync_time"] = r.clock(sync["time"][1], "sync.time")
    return values


def _sla(r: _Reader, node: Node) -> dict[str, Any]:
    """sla: {hours, from, heads_up_at, escalate_after_hours, auto_reassign}."""
    sla = r.mapping(node, "sla", SLA_KEYS)
    values: dict[str, Any] = {}
    if sla is None:
        return values
    if "hours" in sla:
        values["sla_hours"] = r.number(sla["hours"][1], "sla.hours", low=0, low_open=True, high=24 * 365)
    if "from" in sla:
        start_from = r.text(sla["from"][1], "sla.from")
        if start_from is not None and start_from not in SLA_FROM:
            r.error(sla["from"][1], f"sla.from must be one of {', '.join(SLA_FROM)}, got {start_from!r}")
        values["sla_from"] = start_from
    if "heads_up_at" in sla:
        fraction = r.number(sla["heads_up_at"][1], "sla.heads_up_at", low=0, low_open=True, high=1)
        if fraction == 1:  # a heads-up at the deadline is no heads-up
            r.error(sla["heads_up_at"][1], "sla.heads_up_at is a fraction of the SLA below 1, like 0.75")
            fraction = None
        values["heads_up_fraction"] = fraction
    if "escalate_after_hours" in sla:
        values["escalate_after_hours"] = r.number(sla["escalate_after_hours"][1], "sla.escalate_after_hours",
                                                  low=0, high=24 * 365)
    if "auto_reassign" in sla:
        values["auto_reassign"] = r.boolean(sla["auto_reassign"][1], "sla.auto_reassign")
    return values


def _reminders(r: _Reader, fields: _Fields) -> dict[str, Any]:
    """The top-level hour settings: the outcome reminder and the minimum booking notice."""
    values: dict[str, Any] = {}
    if "outcome_reminder_after_hours" in fields:
        values["outcome_after_hours"] = r.number(fields["outcome_reminder_after_hours"][1],
                                                 "outcome_reminder_after_hours", low=0, high=24 * 365)
    if "min_notice_hours" in fields:
        values["min_notice_hours"] = r.number(fields["min_notice_hours"][1], "min_notice_hours", low=0,
                                              high=24 * 365, integer=True)
    return values


def _team(r: _Reader, node: Node, index: int, seen_ids: dict[str, int],
          seen_users: dict[str, tuple[int, str, int]]) -> TeamPolicy | None:
    """One team, or None if it has any problem (each one recorded on `r`)."""
    label = _team_label(node)
    before = len(r.errors)
    fields = r.mapping(node, label, TEAM_KEYS)
    if fields is None:
        return None
    values = _identity(r, node, fields, label, seen_ids)
    if "workdays" in fields:
        values["workdays"] = _workdays(r, fields["workdays"][1])
    if "hours" in fields:
        values.update(_hours(r, fields["hours"][1]))
    if "holidays" in fields and not r.is_null(fields["holidays"][1]):
        values.update(_holidays(r, fields["holidays"][1]))
    if "sync" in fields:
        values.update(_sync(r, fields["sync"][1]))
    if "sla" in fields:
        values.update(_sla(r, fields["sla"][1]))
    values.update(_reminders(r, fields))
    if "empty_agenda" in fields:
        choice = r.text(fields["empty_agenda"][1], "empty_agenda")
        if choice is not None and choice not in EMPTY_AGENDA:
            r.error(fields["empty_agenda"][1], f"empty_agenda must be one of {', '.join(EMPTY_AGENDA)} (note: "
                                               f"one line saying so; skip: no post), got {choice!r}")
        values["empty_agenda"] = choice
    if "reject_reasons" in fields:
        values["reject_reasons"] = _reject_reasons(r, fields["reject_reasons"][1])
    if "members" in fields:
        values["members"] = _members(r, fields["members"][1], index, values["id"] or "?", seen_users)
    if len(r.errors) > before:
        return None
    return TeamPolicy(**values)


def reason_id(label: str) -> str:
    """The id a bare label gets: "Pricing model" -> "pricing_model"."""
    return re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")[:REASON_ID_MAX]


def _reject_reasons(r: _Reader, node: Node) -> tuple[tuple[str, str], ...] | None:
    """reject_reasons: a list of {id, label} or bare labels; ids and labels unique, within Slack's limits."""
    if not isinstance(node, SequenceNode) or not node.value:
        r.error(node, "reject_reasons must be a non-empty list, like - {id: timing, label: Timing} or - Timing")
        return None
    if len(node.value) > REASONS_MAX:
        r.error(node, f"reject_reasons lists {len(node.value)} reasons; at most {REASONS_MAX} fit the reject form")
    out: list[tuple[str, str]] = []
    ids: dict[str, int] = {}
    labels: dict[str, int] = {}
    ok = True
    for item in node.value:
        line = item.start_mark.line + 1
        if isinstance(item, MappingNode):
            fields = r.mapping(item, "a reject reason", REASON_KEYS)
            if fields is None:
                ok = False
                continue
            if "label" not in fields:
                r.error(item, "a reject reason is missing `label` (what the AE reads, like Timing)")
                ok = False
                continue
            label = r.text(fields["label"][1], "reject reason label")
            given_id = r.text(fields["id"][1], "reject reason id", REASON_ID,
                              ": use lower-case letters, digits and _") if "id" in fields else None
            if "id" in fields and given_id is None:
                ok = False
                continue
            rid = given_id if given_id is not None else reason_id(label or "")
        else:
            label = r.text(item, "a reject reason")
            rid = reason_id(label or "")
        if label is None:
            ok = False
            continue
        if len(label) > REASON_LABEL_MAX:
            r.error(item, f"reject reason label {label[:30]!r}… is {len(label)} characters; Slack shows at most "
                          f"{REASON_LABEL_MAX}")
            ok = False
        if not rid:
            r.error(item, f"reject reason {label!r} needs an id (letters or digits): write {{id: ..., label: ...}}")
            ok = False
            continue
        if len(rid) > REASON_ID_MAX:
            r.error(item, f"reject reason id {rid[:30]!r}… is longer than {REASON_ID_MAX} characters")
            ok = False
        if rid in ids:
            r.error(item, f"reject reason id {rid!r} is listed twice (first on line {ids[rid]})")
            ok = False
        ids.setdefault(rid, line)
        if label.casefold() in labels:
            r.error(item, f"reject reason label {label!r} is listed twice (first on line {labels[label.casefold()]})")
            ok = False
        labels.setdefault(label.casefold(), line)
        out.append((rid, label))
    return tuple(out) if ok and len(out) <= REASONS_MAX else None


def _workdays(r: _Reader, node: Node) -> frozenset[int] | None:
    if not isinstance(node, SequenceNode) or not node.value:
        r.error(node, "workdays must be a non-empty list, like [mon, tue, wed, thu, fri]")
        return None
    days: set[int] = set()
    for item in node.value:
        day = r.weekday(item, "workdays entry")
        if day is not None:
            if day in days:
                r.error(item, f"workdays lists {DAY_NAMES[day]} twice")
            days.add(day)
    return frozenset(days)


def _members(r: _Reader, node: Node, index: int, team_id: str,
             seen_users: dict[str, tuple[int, str, int]]) -> tuple[Member, ...] | None:
    if r.is_null(node):
        return ()
    if not isinstance(node, SequenceNode):
        r.error(node, "members must be a list, like - {user: U0123ABCD, role: sdr}")
        return None
    parsed: list[tuple[Member, dict[str, tuple[Node, Node]], Node]] = []
    for item in node.value:
        fields = r.mapping(item, "a member", MEMBER_KEYS)
        if fields is None:
            continue
        user = role = manager = paired = None
        if "user" not in fields:
            r.error(item, "a member is missing `user` (a Slack user id like U0123ABCD)")
        else:
            user = r.text(fields["user"][1], "user", USER_ID, ": expected a Slack user id like U0123ABCD")
        if "role" not in fields:
            r.error(item, f"a member is missing `role` ({' | '.join(ROLES)})")
        else:
            role = r.text(fields["role"][1], "role")
            if role is not None and role not in ROLES:
                r.error(fields["role"][1], f"role must be one of {', '.join(ROLES)}, got {role!r}")
                role = None
        if "manager" in fields and not r.is_null(fields["manager"][1]):
            manager = r.text(fields["manager"][1], "manager", USER_ID, ": expected a Slack user id like U0123ABCD")
            if manager is not None and manager == user:
                r.error(fields["manager"][1], f"{user} cannot be their own manager")
        if "paired_ae" in fields and not r.is_null(fields["paired_ae"][1]):
            paired = r.text(fields["paired_ae"][1], "paired_ae", USER_ID, ": expected a Slack user id like U0123ABCD")
            if role is not None and role != "sdr":
                r.error(fields["paired_ae"][1], "only an SDR can have a paired_ae")
        if user is not None:
            line = item.start_mark.line + 1
            if user in seen_users:
                other_index, other, other_line = seen_users[user]
                where = "this team" if other_index == index else f"team {other!r}"
                r.error(fields["user"][1], f"{user} is already in {where} (line {other_line}); "
                                           "a person belongs to one team only")
            else:
                seen_users[user] = (index, team_id, line)
        if user is not None and role is not None:
            parsed.append((Member(user, role, manager, paired), fields, item))
    aes = {m.user_id for m, _, _ in parsed if m.role == "ae"}
    for member, fields, _item in parsed:
        if member.paired_ae_id is not None and member.role == "sdr" and member.paired_ae_id not in aes:
            r.error(fields["paired_ae"][1], f"paired_ae {member.paired_ae_id} is not an AE of this team")
    return tuple(m for m, _, _ in parsed)


def check_team(team: TeamPolicy, source: str = "team") -> list[str]:
    """Validate one TeamPolicy built elsewhere (the Slack modal) by the same rules as the file."""
    try:
        parse_teams(dump_teams([team], header=False), source)
    except TeamConfigError as error:
        return error.errors
    return []


# ---------------------------------------------------------------------- dumping


def _flow(value: Any) -> str:
    """One value in YAML flow style, quoted where YAML would misread it ("10:00", "NO")."""
    text = yaml.safe_dump([value], default_flow_style=True, sort_keys=False, width=10**9, allow_unicode=True)
    return str(text).strip()[1:-1]


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def dump_teams(teams: Iterable[TeamPolicy], *, header: bool = True) -> str:
    """The same format parse_teams reads; parse_teams(dump_teams(x)) == x."""
    lines: list[str] = [HEADER] if header else []
    teams = list(teams)
    lines.append("teams:" if teams else "teams: []")
    for team in teams:
        lines += [
            f"  - id: {_flow(team.id)}",
            f"    name: {_flow(team.name)}",
            f"    region: {_flow(team.region)}",
            f"    channel: {_flow(team.channel_id)}",
            f"    tz: {_flow(team.tz)}",
            f"    workdays: [{', '.join(DAY_NAMES[d][:3] for d in sorted(team.workdays))}]",
            f"    hours: {{start: \"{format_hhmm(team.day_start)}\", end: \"{format_hhmm(team.day_end)}\"}}",
        ]
        if team.holiday_country:
            holidays: dict[str, str] = {"country": team.holiday_country}
            if team.holiday_subdivision:
                holidays["subdivision"] = team.holiday_subdivision
            lines.append(f"    holidays: {_flow(holidays)}")
        lines += [
            f"    sync: {{day: {DAY_NAMES[team.sync_weekday]}, time: \"{format_hhmm(team.sync_time)}\"}}",
            f"    sla: {_flow({'hours': _number(team.sla_hours), 'from': team.sla_from, 'heads_up_at': _number(team.heads_up_fraction), 'escalate_after_hours': _number(team.escalate_after_hours), 'auto_reassign': team.auto_reassign})}",  # noqa: E501
            f"    outcome_reminder_after_hours: {_flow(_number(team.outcome_after_hours))}",
            f"    min_notice_hours: {team.min_notice_hours}",
            f"    empty_agenda: {team.empty_agenda}",
        ]
        if team.reject_reasons != DEFAULT_REJECT_REASONS:  # left out, the team follows the default list
            lines.append("    reject_reasons:")
            lines += [f"      - {_flow({'id': rid, 'label': label})}" for rid, label in team.reject_reasons]
        if not team.members:
            lines.append("    members: []")
            continue
        lines.append("    members:")
        for m in team.members:
            entry: dict[str, str] = {"user": m.user_id, "role": m.role}
            if m.manager_id:
                entry["manager"] = m.manager_id
            if m.paired_ae_id:
                entry["paired_ae"] = m.paired_ae_id
            lines.append(f"      - {_flow(entry)}")
    return "\n".join(lines) + "\n"
