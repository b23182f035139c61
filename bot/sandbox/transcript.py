"""Block Kit rendered as readable plain text, for terminals, logs and test failures."""

from __future__ import annotations

import html
import re
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    from .standin import StandInEvent

RULE = "─" * 40
_FIELD_WIDTH = 34

# <@U123> / <@U123|name>, <#C123|name>, <!here>, <!date^...|fallback>, <!subteam^S|@team>, <url|label>
_TOKEN = re.compile(r"<([^<>]+)>")


def render_mrkdwn(text: str, users: Mapping[str, str] | None = None) -> str:
    """Simplify Slack mrkdwn for a terminal: names for mentions, visible links, unescaped."""
    users = users or {}

    def sub(match: re.Match[str]) -> str:
        inner = match.group(1)
        target, _, label = inner.partition("|")
        if target.startswith("@"):
            uid = target[1:]
            return "@" + (users.get(uid) or label or uid)
        if target.startswith("#"):
            return "#" + (label or target[1:])
        if target.startswith("!"):
            if target.startswith(("!date^", "!subteam^")):
                return label or target
            return "@" + target[1:]  # !here, !channel, !everyone
        if label:
            if target.startswith("mailto:") and target[7:] == label:
                return label
            return f"{label} ({target})"
        return target

    return html.unescape(_TOKEN.sub(sub, text))


def _text(obj: Any, users: Mapping[str, str] | None) -> str:
    if obj is None:
        return ""
    if isinstance(obj, str):
        return obj
    if obj.get("type") == "mrkdwn":
        return render_mrkdwn(obj.get("text", ""), users)
    return html.unescape(obj.get("text", ""))


def _element(el: dict[str, Any], users: Mapping[str, str] | None) -> str:
    t = el.get("type", "")
    if t == "button":
        label = _text(el.get("text"), users)
        style = el.get("style")
        if style == "primary":
            return f"[*{label}*]"
        if style == "danger":
            return f"[!{label}!]"
        return f"[ {label} ]"
    if t == "overflow":
        return "[ … ]"
    if t == "image":
        return f"[image: {el.get('alt_text', '')}]"
    if t in ("datepicker", "timepicker", "datetimepicker"):
        initial = el.get("initial_date") or el.get("initial_time") or el.get("initial_date_time")
        return f"[ {t}{': ' + str(initial) if initial else ''} ]"
    if "select" in t or t in ("checkboxes", "radio_buttons"):
        chosen = el.get("initial_option") or {}
        label = _text(chosen.get("text"), users) or _text(el.get("placeholder"), users) or t
        return f"[ {label} ▾ ]"
    return f"[{t}]"


def _input_summary(el: dict[str, Any], users: Mapping[str, str] | None) -> str:
    t = el.get("type", "?")
    initial: Any = None
    for key in ("initial_value", "initial_date", "initial_time", "initial_date_time", "initial_user",
                "initial_conversation", "initial_channel"):
        if el.get(key) not in (None, ""):
            initial = el[key]
            if key == "initial_user":
                initial = "@" + users.get(initial, initial) if users else "@" + initial
            break
    if initial is None and el.get("initial_option"):
        initial = _text(el["initial_option"].get("text"), users)
    if initial is None and el.get("initial_options"):
        initial = ", ".join(_text(o.get("text"), users) for o in el["initial_options"])
    if initial is None and el.get("initial_users"):
        initial = ", ".join("@" + (users or {}).get(u, u) for u in el["initial_users"])
    if initial is None and el.get("placeholder"):
        return f"<{t}: {_text(el['placeholder'], users)}…>"
    return f"<{t}>" if initial is None else f"<{t}: {initial}>"


def _field(field: dict[str, Any], users: Mapping[str, str] | None) -> str:
    # Fields are usually "*Label*\nvalue": show them as "Label: value".
    text = _text(field, users).strip()
    label, sep, value = text.partition("\n")
    if not sep:
        return text
    label = label.strip().strip("*").rstrip(":").strip()
    return f"{label}: {' '.join(value.split())}"


def _rich_text(elements: list[dict[str, Any]], users: Mapping[str, str] | None) -> str:
    out: list[str] = []
    for el in elements:
        t = el.get("type")
        if t in ("rich_text_section", "rich_text_preformatted", "rich_text_quote"):
            out.append(_rich_text(el.get("elements", []), users))
        elif t == "rich_text_list":
            out.append("\n".join("• " + _rich_text([item], users) for item in el.get("elements", [])))
        elif t == "text":
            out.append(el.get("text", ""))
        elif t == "link":
            out.append(f"{el['text']} ({el['url']})" if el.get("text") else el.get("url", ""))
        elif t == "user":
            out.append("@" + (users or {}).get(el.get("user_id", ""), el.get("user_id", "")))
        elif t == "channel":
            out.append("#" + el.get("channel_id", ""))
        elif t == "emoji":
            out.append(f":{el.get('name', '')}:")
        elif t == "date":
            out.append(el.get("fallback", ""))
    return "".join(out)


def render_blocks(blocks: list[dict[str, Any]] | None, users: Mapping[str, str] | None = None) -> str:
    """Block Kit blocks as plain text lines."""
    lines: list[str] = []
    for block in blocks or []:
        t = block.get("type")
        if t == "header":
            lines.append(f"# {_text(block.get('text'), users)}")
        elif t == "section":
            text = _text(block.get("text"), users)
            acc = block.get("accessory")
            acc_text = _element(acc, users) if isinstance(acc, dict) else ""
            if text:
                lines.append(f"{text}  {acc_text}".rstrip() if acc_text else text)
            fields = [_field(f, users) for f in block.get("fields") or []]
            for i in range(0, len(fields), 2):
                pair = fields[i : i + 2]
                lines.append(pair[0] if len(pair) == 1 else f"{pair[0]:<{_FIELD_WIDTH}}  {pair[1]}")
            if acc_text and not text:
                lines.append(acc_text)
        elif t == "context":
            parts = [
                _text(el, users) if el.get("type") in ("mrkdwn", "plain_text") else f"[{el.get('alt_text', 'image')}]"
                for el in block.get("elements", [])
            ]
            lines.append("  · " + " · ".join(p for p in parts if p))
        elif t == "divider":
            lines.append(RULE)
        elif t == "actions":
            lines.append("  ".join(_element(el, users) for el in block.get("elements", [])))
        elif t == "input":
            label = _text(block.get("label"), users)
            star = "" if block.get("optional") else "*"
            lines.append(f"{label}{star} : {_input_summary(block.get('element') or {}, users)}")
            if block.get("hint"):
                lines.append(f"    ({_text(block['hint'], users)})")
        elif t == "image":
            lines.append(f"[image: {block.get('alt_text', '')}]")
        elif t == "rich_text":
            lines.append(_rich_text(block.get("elements", []), users))
        elif t == "markdown":
            lines.append(block.get("text", ""))
        else:
            lines.append(f"[{t} block]")
    return "\n".join(lines)


def render_view(view: dict[str, Any], users: Mapping[str, str] | None = None) -> str:
    """A modal or App Home as plain text, with its title and submit/close buttons."""
    kind = view.get("type", "modal")
    title = _text(view.get("title"), users) if view.get("title") else ""
    head = f"=== {'App Home' if kind == 'home' else 'Modal'}{': ' + title if title else ''} ==="
    parts = [head]
    body = render_blocks(view.get("blocks"), users)
    if body:
        parts.append(body)
    if kind == "modal":
        buttons = []
        if view.get("close"):
            buttons.append(f"[ {_text(view['close'], users)} ]")
        if view.get("submit"):
            buttons.append(f"[*{_text(view['submit'], users)}*]")
        if buttons:
            parts.append("  ".join(buttons))
    return "\n".join(parts)


def _where(event: "StandInEvent", users: Mapping[str, str], channels: Mapping[str, str]) -> str:
    if event.audience.startswith(("U", "W")):
        who = "@" + users.get(event.audience, event.audience)
        if event.channel is None or event.channel.startswith("D"):
            return f"{who} · DM" if event.channel else who
        return f"{who} · #{channels.get(event.channel, event.channel)}"
    return "#" + channels.get(event.audience, event.audience)


def describe_event(
    event: "StandInEvent",
    users: Mapping[str, str] | None = None,
    channels: Mapping[str, str] | None = None,
) -> str:
    """One readable paragraph for what a person saw, e.g. "@bob · DM · new message"."""
    users, channels = users or {}, channels or {}
    where = _where(event, users, channels)
    title = event.text
    if event.kind in ("view_open", "view_update", "view_push", "home") and event.view:
        title = _text(event.view.get("title"), users) if event.view.get("title") else ""
        what = {
            "view_open": f"modal opened: {title}",
            "view_update": f"modal updated: {title}",
            "view_push": f"modal pushed: {title}",
            "home": "App Home updated",
        }[event.kind]
        head = f"@{users.get(event.audience, event.audience)} · {what}"
        return f"{head}\n{render_view(event.view, users)}"
    what = {
        "message": "reply in thread" if event.thread_ts else "new message",
        "update": "updated",
        "ephemeral": "only visible to you",
        "response_url": "reply via response_url",
    }.get(event.kind, event.kind)
    body = render_blocks(event.blocks, users) if event.blocks else render_mrkdwn(event.text, users)
    return f"{where} · {what}\n{body}"


def render_events(
    events: list["StandInEvent"],
    users: Mapping[str, str] | None = None,
    channels: Mapping[str, str] | None = None,
) -> str:
    """A whole transcript, events separated by blank lines."""
    return "\n\n".join(describe_event(e, users, channels) for e in events)
