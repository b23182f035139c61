"""Send the app what Slack sends it: signed slash commands, interactivity and events.

Standard library only for HTTP (urllib) because this ships in the product: the
demo drives a running bot with it.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import date, datetime, time as dtime
from typing import TYPE_CHECKING, Any, Iterable

from .standin.workspace import APP_ID, BOT_ID, BOT_USER_ID, TEAM_DOMAIN, TEAM_ID, WorkspaceInfo

if TYPE_CHECKING:
    from .standin import SlackStandIn

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"

# Element type -> the state key Slack uses for its value.
_STATE_KEYS: dict[str, str] = {
    "plain_text_input": "value",
    "email_text_input": "value",
    "url_text_input": "value",
    "number_input": "value",
    "static_select": "selected_option",
    "external_select": "selected_option",
    "radio_buttons": "selected_option",
    "checkboxes": "selected_options",
    "multi_static_select": "selected_options",
    "multi_external_select": "selected_options",
    "users_select": "selected_user",
    "multi_users_select": "selected_users",
    "conversations_select": "selected_conversation",
    "multi_conversations_select": "selected_conversations",
    "channels_select": "selected_channel",
    "multi_channels_select": "selected_channels",
    "datetimepicker": "selected_date_time",
    "datepicker": "selected_date",
    "timepicker": "selected_time",
    "rich_text_input": "rich_text_value",
}
# Element type -> the attribute holding its initial value (what Slack submits if untouched).
_INITIAL_KEYS: dict[str, str] = {
    "value": "initial_value",
    "selected_option": "initial_option",
    "selected_options": "initial_options",
    "selected_user": "initial_user",
    "selected_users": "initial_users",
    "selected_conversation": "initial_conversation",
    "selected_conversations": "initial_conversations",
    "selected_channel": "initial_channel",
    "selected_channels": "initial_channels",
    "selected_date_time": "initial_date_time",
    "selected_date": "initial_date",
    "selected_time": "initial_time",
    "rich_text_value": "initial_value",
}
_LIST_KEYS = {"selected_options", "selected_users", "selected_conversations", "selected_channels"}


@dataclass
class DriverResponse:
    """What the app answered."""

    status: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)

    def json(self) -> dict[str, Any] | None:
        if not self.body.strip():
            return None
        try:
            data = json.loads(self.body)
        except ValueError:
            return None
        return data if isinstance(data, dict) else None


def sign(signing_secret: str, timestamp: int | str, body: str) -> str:
    """Slack's v0 request signature."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


class SlackDriver:
    """Plays Slack's side of the Events API and interactivity against a running app, as the people of one
    workspace (``team_id``; ``for_workspace()`` gives a driver for another): its payloads carry that
    workspace's team, enterprise and bot user, and its trigger_ids only work with that workspace's token."""

    def __init__(
        self,
        app_url: str,
        signing_secret: str,
        standin: "SlackStandIn",
        team_id: str = TEAM_ID,
        api_app_id: str = APP_ID,
        *,
        team_domain: str | None = None,
        timeout: float = 10.0,
    ) -> None:
        self.app_url = app_url
        self.signing_secret = signing_secret
        self.standin = standin
        self.team_id = team_id
        self.api_app_id = api_app_id
        self.team_domain = team_domain or self.workspace.domain
        self.timeout = timeout

    @property
    def workspace(self) -> WorkspaceInfo:
        """The stand-in's record of this driver's workspace (one it does not know: the default's bot)."""
        lookup = getattr(self.standin, "workspace", None)  # bench's remote stand-in has one workspace only
        try:
            if lookup is not None:
                return lookup(self.team_id)  # type: ignore[no-any-return]
        except KeyError:
            pass
        return WorkspaceInfo(self.team_id, self.team_id, TEAM_DOMAIN, BOT_USER_ID, BOT_ID)

    @property
    def org_wide(self) -> bool:
        """Whether the app is installed org-wide in this workspace's Enterprise Grid org: then every payload
        from any workspace of the org says so (is_enterprise_install) and names the org's bot user."""
        ws = self.workspace
        return ws.enterprise_id is not None and ws.enterprise_id in getattr(self.standin, "org_wide", ())

    def _installed_in(self) -> str:
        """Whom the app is installed for: the org (installed org-wide), else this workspace."""
        ws = self.workspace
        return ws.enterprise_id if self.org_wide and ws.enterprise_id is not None else self.team_id

    def _bot_user(self) -> str:
        return self.standin.org(self._installed_in()).bot_user_id if self.org_wide else self.workspace.bot_user_id

    def for_workspace(self, team_id: str) -> SlackDriver:
        """The same app and signing secret, driven by the people of another workspace."""
        return SlackDriver(self.app_url, self.signing_secret, self.standin, team_id, self.api_app_id,
                           timeout=self.timeout)

    def issue_trigger_id(self, user_id: str) -> str:
        return self.standin.issue_trigger_id(user_id, self.team_id)

    # ------------------------------------------------------------------ transport

    def post(
        self,
        body: str,
        content_type: str = JSON,
        *,
        forge_signature: bool = False,
        timestamp: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> DriverResponse:
        """POST a raw body, signed as Slack signs it."""
        ts = int(time.time()) if timestamp is None else int(timestamp)
        # A forged request is signed with a secret the app does not know.
        secret = self.signing_secret + "-forged" if forge_signature else self.signing_secret
        all_headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(ts),
            "X-Slack-Signature": sign(secret, ts, body),
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            **(headers or {}),
        }
        req = urllib.request.Request(self.app_url, data=body.encode(), headers=all_headers, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return DriverResponse(resp.status, resp.read().decode(), dict(resp.headers))
        except urllib.error.HTTPError as err:  # non-2xx is still an answer
            return DriverResponse(err.code, err.read().decode(errors="replace"), dict(err.headers or {}))

    def post_form(self, fields: dict[str, str], **sign_opts: Any) -> DriverResponse:
        return self.post(urllib.parse.urlencode(fields), FORM, **sign_opts)

    def post_payload(self, payload: dict[str, Any], **sign_opts: Any) -> DriverResponse:
        """Interactivity: one form field, ``payload=<json>``."""
        return self.post_form({"payload": json.dumps(payload)}, **sign_opts)

    # ------------------------------------------------------------------ pieces

    def _user(self, user_id: str) -> dict[str, str]:
        name = self.standin.user_names().get(user_id, user_id.lower())
        return {"id": user_id, "username": name, "name": name, "team_id": self.team_id}

    def _team(self) -> dict[str, str]:
        team = {"id": self.team_id, "domain": self.team_domain}
        ws = self.workspace
        if ws.enterprise_id is not None:  # a workspace of an Enterprise Grid org
            team.update(enterprise_id=ws.enterprise_id, enterprise_name=ws.enterprise_name or ws.enterprise_id)
        return team

    def _tenant(self) -> dict[str, Any]:
        """What interactivity payloads say about the install: the org, and whether the app is installed org-wide."""
        return {"enterprise": self.workspace.enterprise(), "is_enterprise_install": self.org_wide}

    # ------------------------------------------------------------------ slash commands

    def slash_command(
        self,
        user_id: str,
        text: str = "",
        command: str = "/handoff",
        channel_id: str = "C_GENERAL",
        **sign_opts: Any,
    ) -> DriverResponse:
        return self.post_form(self.slash_command_fields(user_id, text, command, channel_id), **sign_opts)

    # ------------------------------------------------------------------ view submissions

    def view_state(self, view: dict[str, Any], answers: dict[str, Any]) -> dict[str, Any]:
        """Build ``state.values`` for a view from answers keyed by action_id; an input not answered holds
        what was entered before (the view's state, kept across views.update) or its initial value."""
        values: dict[str, dict[str, Any]] = {}
        known: set[str] = set()
        entered = (view.get("state") or {}).get("values") or {}
        for block in view.get("blocks", []):
            for el in _stateful_elements(block):
                action_id = el.get("action_id")
                if not action_id:
                    continue
                known.add(action_id)
                if block.get("type") != "input" and action_id not in answers:
                    continue  # Slack only reports touched non-input elements
                before = entered.get(block.get("block_id"), {}).get(action_id)
                if action_id in answers:
                    state = _element_state(el, answers[action_id])
                elif isinstance(before, dict) and before.get("type") == el.get("type"):
                    state = copy.deepcopy(before)
                else:
                    state = _initial_state(el)
                values.setdefault(block["block_id"], {})[action_id] = state
        unknown = sorted(set(answers) - known)
        if unknown:
            raise KeyError(
                f"view {view.get('id')} ({view.get('callback_id')!r}) has no input with action_id "
                f"{', '.join(unknown)}; it has: {', '.join(sorted(known)) or '(none)'}"
            )
        return {"values": values}

    def submit_view(
        self, user_id: str, view_id: str, answers: dict[str, Any] | None = None, *, apply: bool = True, **sign_opts: Any
    ) -> DriverResponse:
        """Submit a modal the stand-in holds, as ``user_id``.

        With ``apply`` the app's ack (close / update / push / clear / errors) is
        applied to the stand-in's modal stack, as Slack's client would.
        """
        resp = self.post_payload(self.view_submission_payload(user_id, view_id, answers), **sign_opts)
        if apply and resp.status == 200:
            self.standin.apply_view_response(user_id, view_id, resp.json())
        return resp

    def close_view(self, user_id: str, view_id: str, **sign_opts: Any) -> DriverResponse:
        """The user closes a modal (sent only if the view asked for notify_on_close)."""
        stored = self.standin.views[view_id]
        view = {k: copy.deepcopy(v) for k, v in stored.items() if not k.startswith("_")}
        payload = {
            "type": "view_closed",
            "team": self._team(),
            "user": self._user(user_id),
            "api_app_id": self.api_app_id,
            "token": "legacy",
            "view": view,
            "is_cleared": False,
            **self._tenant(),
        }
        return self.post_payload(payload, **sign_opts)

    # ------------------------------------------------------------------ block actions

    @staticmethod
    def find_button(blocks: Iterable[dict[str, Any]], action_id: str, block_id: str | None = None) -> tuple[dict[str, Any], dict[str, Any]]:
        """(block, element) for the interactive element with this action_id."""
        for block in blocks or []:
            if block_id is not None and block.get("block_id") != block_id:
                continue
            for el in _interactive_elements(block):
                if el.get("action_id") == action_id:
                    return block, el
        ids = [el.get("action_id") for b in blocks or [] for el in _interactive_elements(b)]
        raise KeyError(f"no element with action_id {action_id!r}" + (f" in block {block_id!r}" if block_id else "") + f"; found {ids}")

    def click(
        self,
        user_id: str,
        action_id: str,
        *,
        value: Any = None,
        message: tuple[str, str] | None = None,
        view_id: str | None = None,
        block_id: str | None = None,
        answers: dict[str, Any] | None = None,
        **sign_opts: Any,
    ) -> DriverResponse:
        """A block_actions payload for clicking (or choosing in) an element.

        In a view, ``answers`` (keyed by action_id) is what the person typed in its inputs first: it stays
        in the view (as Slack's client keeps it) and goes with this payload's ``view.state``. An input's
        element sends block_actions only if its block has ``dispatch_action``; choosing in it also sets
        its value."""
        if (message is None) == (view_id is None):
            raise ValueError("click() needs exactly one of message=(channel, ts) or view_id=")
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": self._user(user_id),
            "api_app_id": self.api_app_id,
            "token": "legacy",
            "trigger_id": self.issue_trigger_id(user_id),
            "team": self._team(),
            **self._tenant(),
        }
        if message is not None:
            channel, ts = message
            stored = self.standin.messages.get((channel, ts))
            ephemeral = stored is None
            if stored is None:
                stored = self.standin.ephemeral_messages.get((channel, ts))
            if stored is None:
                raise KeyError(f"stand-in holds no message {message!r}")
            blocks = stored.get("blocks") or []
            payload["container"] = {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": ephemeral}
            payload["channel"] = {"id": channel, "name": self.standin.channel_name(channel) or channel}
            if not ephemeral:  # Slack omits the message body for ephemerals
                payload["message"] = {k: copy.deepcopy(v) for k, v in stored.items() if k != "channel"}
            payload["state"] = {"values": {}}
            payload["response_url"] = self.standin.response_url_for(user_id, channel, ts)
        else:
            stored_view = self.standin.views.get(view_id)  # type: ignore[arg-type]
            if stored_view is None:
                raise KeyError(f"stand-in holds no view {view_id!r}")
            blocks = stored_view.get("blocks") or []
            typed = dict(answers or {})
            try:
                target: dict[str, Any] = self.find_button(blocks, action_id, block_id)[0]
            except KeyError:
                target = {}
            if target.get("type") == "input":
                if not target.get("dispatch_action"):
                    raise ValueError(f"{action_id!r} is an input without dispatch_action: Slack sends no block_actions")
                typed[action_id] = value
            if typed:
                entered = {b: {a: st for a, st in els.items() if a in typed}
                           for b, els in self.view_state(stored_view, typed)["values"].items()}
                self.standin.type_into(view_id, {b: els for b, els in entered.items() if els})  # type: ignore[arg-type]
                stored_view = self.standin.views[view_id]  # type: ignore[index]
            view = {k: copy.deepcopy(v) for k, v in stored_view.items() if not k.startswith("_")}
            view["state"] = self.view_state(view, {})
            payload["container"] = {"type": "view", "view_id": view_id}
            payload["view"] = view
        try:
            block, element = self.find_button(blocks, action_id, block_id)
        except KeyError:
            if value is None:
                raise
            # A click on a rendering the user's client still shows (a double click, a stale card):
            # Slack sends the action even though the message has been updated since.
            block, element = {"block_id": block_id or "stale"}, {"type": "button", "action_id": action_id}
        payload["actions"] = [_action(block, element, value)]
        return self.post_payload(payload, **sign_opts)

    # ------------------------------------------------------------------ events

    def event(self, event: dict[str, Any], **sign_opts: Any) -> DriverResponse:
        """Deliver an Events API event in Slack's event_callback envelope."""
        envelope = self.event_envelope(event)
        return self.post(json.dumps(envelope), JSON, **sign_opts)

    def app_home_opened(self, user_id: str, **sign_opts: Any) -> DriverResponse:
        return self.event(
            {"type": "app_home_opened", "user": user_id, "channel": self.standin.dm_channel_id(user_id), "tab": "home"},
            **sign_opts,
        )


    def app_uninstalled(self, **sign_opts: Any) -> DriverResponse:
        """Uninstall the app from this workspace (installed org-wide: from its org): the stand-in revokes its
        tokens, then Slack sends ``tokens_revoked`` (the bot user) and ``app_uninstalled``; returns the app's
        answer to the last."""
        self.standin.uninstall(self._installed_in())
        self.event({"type": "tokens_revoked", "tokens": {"bot": [self._bot_user()]}}, **sign_opts)
        return self.event({"type": "app_uninstalled"}, **sign_opts)

    # ------------------------------------------------------------------ Socket Mode

    # The same payloads, pushed over the stand-in's Socket Mode connection instead of
    # POSTed to the app (no signature: the socket itself is authenticated).

    def slash_command_fields(
        self, user_id: str, text: str = "", command: str = "/handoff", channel_id: str = "C_GENERAL"
    ) -> dict[str, str]:
        """A slash command's form fields, as Slack sends them (the Socket Mode payload)."""
        ws = self.workspace
        enterprise = {} if ws.enterprise_id is None else {
            "enterprise_id": ws.enterprise_id, "enterprise_name": ws.enterprise_name or ws.enterprise_id}
        return {
            "token": "legacy",
            "team_id": self.team_id,
            "team_domain": self.team_domain,
            **enterprise,
            "channel_id": channel_id,
            "channel_name": self.standin.channel_name(channel_id) or "unknown",
            "user_id": user_id,
            "user_name": self._user(user_id)["name"],
            "command": command,
            "text": text,
            "api_app_id": self.api_app_id,
            "is_enterprise_install": "true" if self.org_wide else "false",
            "response_url": self.standin.response_url_for(user_id, channel_id),
            "trigger_id": self.issue_trigger_id(user_id),
        }

    def view_submission_payload(self, user_id: str, view_id: str, answers: dict[str, Any] | None = None) -> dict[str, Any]:
        """The view_submission payload for a modal the stand-in holds, filled in with ``answers``."""
        stored = self.standin.views.get(view_id)
        if stored is None:
            raise KeyError(f"stand-in holds no view {view_id!r}; known: {sorted(self.standin.views)}")
        view = {k: copy.deepcopy(v) for k, v in stored.items() if not k.startswith("_")}
        view["state"] = self.view_state(view, answers or {})
        return {
            "type": "view_submission",
            "team": self._team(),
            "user": self._user(user_id),
            "api_app_id": self.api_app_id,
            "token": "legacy",
            "trigger_id": self.issue_trigger_id(user_id),
            "view": view,
            "response_urls": [],
            **self._tenant(),
        }

    def socket_slash_command(self, user_id: str, text: str = "", *, timeout: float = 10.0, **opts: Any) -> dict[str, Any]:
        """Send a slash command over Socket Mode; return the app's ack."""
        envelope_id = self.standin.socket_send("slash_commands", self.slash_command_fields(user_id, text, **opts),
                                               timeout=timeout)
        return self.standin.socket_wait_ack(envelope_id, timeout)

    def socket_submit_view(
        self, user_id: str, view_id: str, answers: dict[str, Any] | None = None, *, apply: bool = True,
        timeout: float = 10.0,
    ) -> dict[str, Any]:
        """Submit a modal over Socket Mode; return the ack (its ``payload`` is the response_action, if any).

        With ``apply`` the ack is applied to the stand-in's modal stack, as Slack's client would.
        """
        payload = self.view_submission_payload(user_id, view_id, answers)
        envelope_id = self.standin.socket_send("interactive", payload, timeout=timeout)
        ack = self.standin.socket_wait_ack(envelope_id, timeout)
        if apply:
            self.standin.apply_view_response(user_id, view_id, ack.get("payload") or None)
        return ack

    def event_envelope(self, event: dict[str, Any]) -> dict[str, Any]:
        """Slack's event_callback envelope around an event (the Events API / Socket Mode payload)."""
        now = time.time()
        event = dict(event)
        event.setdefault("event_ts", f"{now:.6f}")
        ws = self.workspace
        envelope: dict[str, Any] = {
            "token": "legacy",
            "team_id": self.team_id,
            "context_team_id": self.team_id,
            "context_enterprise_id": ws.enterprise_id,
            "api_app_id": self.api_app_id,
            "event": event,
            "type": "event_callback",
            "event_id": "Ev" + secrets.token_hex(5).upper(),
            "event_time": int(now),
            # An org-wide install's authorization is the org's: no team, the org's bot user.
            "authorizations": [
                {"enterprise_id": ws.enterprise_id, "team_id": None if self.org_wide else self.team_id,
                 "user_id": self._bot_user(), "is_bot": True, "is_enterprise_install": self.org_wide}
            ],
            "is_ext_shared_channel": False,
        }
        if ws.enterprise_id is not None:
            envelope["enterprise_id"] = ws.enterprise_id
        return envelope

    def socket_event(self, event: dict[str, Any], *, timeout: float = 10.0) -> dict[str, Any]:
        """Deliver an Events API event over Socket Mode; return the app's ack."""
        envelope_id = self.standin.socket_send("events_api", self.event_envelope(event), timeout=timeout)
        return self.standin.socket_wait_ack(envelope_id, timeout)


# ---------------------------------------------------------------------- helpers


def _interactive_elements(block: dict[str, Any]) -> list[dict[str, Any]]:
    if block.get("type") == "actions":
        return [e for e in block.get("elements", []) if isinstance(e, dict)]
    if block.get("type") == "section" and isinstance(block.get("accessory"), dict):
        return [block["accessory"]]
    if block.get("type") == "input" and isinstance(block.get("element"), dict):
        return [block["element"]]
    return []


def _stateful_elements(block: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for e in _interactive_elements(block) if e.get("type") in _STATE_KEYS]


def _options(el: dict[str, Any]) -> list[dict[str, Any]]:
    opts = list(el.get("options") or [])
    for group in el.get("option_groups") or []:
        opts.extend(group.get("options") or [])
    return opts


def _option(el: dict[str, Any], value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value  # already an option object
    opts = _options(el)
    for opt in opts:
        if opt.get("value") == value:
            return copy.deepcopy(opt)
    if el.get("type", "").endswith("external_select"):  # options live in the app, not the view
        return {"text": {"type": "plain_text", "text": str(value)}, "value": str(value)}
    raise ValueError(
        f"{el.get('type')} {el.get('action_id')!r} has no option with value {value!r}; "
        f"options: {[o.get('value') for o in opts]}"
    )


def _state_value(el: dict[str, Any], key: str, value: Any) -> Any:
    if value is None:
        return [] if key in _LIST_KEYS else None
    if key == "selected_option":
        return _option(el, value)
    if key == "selected_options":
        return [_option(el, v) for v in value]
    if key in _LIST_KEYS:
        return list(value)
    if key == "selected_date_time":
        return int(value.timestamp()) if isinstance(value, datetime) else int(value)
    if key == "selected_date":
        return value.isoformat() if isinstance(value, date) else str(value)
    if key == "selected_time":
        return value.strftime("%H:%M") if isinstance(value, dtime) else str(value)
    if key == "value":
        return str(value)
    return value


def _element_state(el: dict[str, Any], answer: Any) -> dict[str, Any]:
    t = el["type"]
    if isinstance(answer, dict) and answer.get("type") == t:
        return answer  # caller supplied Slack's state shape verbatim
    key = _STATE_KEYS[t]
    return {"type": t, key: _state_value(el, key, answer)}


def _initial_state(el: dict[str, Any]) -> dict[str, Any]:
    t = el["type"]
    key = _STATE_KEYS[t]
    initial = el.get(_INITIAL_KEYS[key])
    if initial is None:
        return {"type": t, key: [] if key in _LIST_KEYS else None}
    return {"type": t, key: copy.deepcopy(initial)}


def _action(block: dict[str, Any], el: dict[str, Any], value: Any) -> dict[str, Any]:
    t = el.get("type", "button")
    action: dict[str, Any] = {
        "action_id": el.get("action_id"),
        "block_id": block.get("block_id"),
        "type": t,
        "action_ts": f"{time.time():.6f}",
    }
    if t == "button":
        action["text"] = copy.deepcopy(el.get("text"))
        action["value"] = el.get("value") if value is None else value
        if el.get("style"):
            action["style"] = el["style"]
    elif t == "overflow" or t in ("static_select", "radio_buttons", "external_select"):
        action["selected_option"] = _option(el, value) if value is not None else None
    elif t in _STATE_KEYS:
        key = _STATE_KEYS[t]
        action[key] = _state_value(el, key, value)
    else:
        action["value"] = value
    return action
