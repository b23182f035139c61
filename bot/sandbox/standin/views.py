"""Views: trigger_ids, modal stacks and App Home; views.open/push/update/publish and view_submission acks."""

from __future__ import annotations

import copy
import secrets
import time
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.views import View

from .blocks import validate_blocks
from .directory import Directory
from .records import public_view
from .wire import ApiError, missing
from .workspace import TEAM_ID

MAX_VIEW_BLOCKS = 100
MAX_VIEW_STACK = 3


@dataclass
class _Trigger:
    user_id: str
    issued: float
    team_id: str  # only this workspace's token can use it
    used: bool = False


class Views(Directory):
    """Every view by id, each user's modal stack and Home tab, and the trigger_ids that open them."""

    trigger_ttl: float  # seconds a trigger_id stays usable; set by SlackStandIn

    def __init__(self, token: str, host: str, port: int) -> None:
        super().__init__(token, host, port)
        self.views: dict[str, dict[str, Any]] = {}
        self._view_stacks: dict[str, list[str]] = {}  # user -> modal stack (root first)
        self._home_view_ids: dict[str, str] = {}
        self._triggers: dict[str, _Trigger] = {}
        self._trigger_team = ""  # the workspace of the trigger just used: where its view opens

    def issue_trigger_id(self, user_id: str, team_id: str | None = None) -> str:
        """A trigger_id for a user's interaction, usable by the token of the workspace it happened in
        (``team_id``; by default the user's own, else the default workspace)."""
        with self._lock:
            tid = f"{int(time.time())}.{next(self._ids)}.{secrets.token_hex(16)}"
            team = team_id or self.user_team(user_id) or TEAM_ID
            self._triggers[tid] = _Trigger(user_id, time.monotonic(), team)
            return tid

    def open_views(self, user_id: str) -> list[str]:
        """The modal stack currently open for a user (root first)."""
        with self._lock:
            return list(self._view_stacks.get(user_id, []))

    def view_user(self, view_id: str) -> str | None:
        with self._lock:
            view = self.views.get(view_id)
            return None if view is None else view.get("_user_id")

    def home_view(self, user_id: str) -> dict[str, Any] | None:
        with self._lock:
            vid = self._home_view_ids.get(user_id)
            return None if vid is None else self.views.get(vid)

    def type_into(self, view_id: str, values: dict[str, dict[str, Any]]) -> None:
        """What a person entered in an open view's inputs (block_id -> action_id -> state), which their
        client holds and sends with the view's block_actions and view_submission payloads."""
        with self._lock:
            view = self.views.get(view_id)
            if view is None:
                raise ApiError("not_found")
            state = view["state"]["values"]
            for block_id, elements in values.items():
                state.setdefault(block_id, {}).update(copy.deepcopy(elements))

    def apply_view_response(self, user_id: str, view_id: str, response: dict[str, Any] | None) -> None:
        """Apply a view_submission ack the way Slack's client would.

        Empty ack closes the submitted view; response_action update/push/clear do
        what they say; errors leaves the view open.
        """
        with self._lock:
            stack = self._view_stacks.setdefault(user_id, [])
            action = (response or {}).get("response_action")
            if action == "errors":
                return
            if action == "clear":
                stack.clear()
                return
            if action == "update":
                old = self.views[view_id]
                view = self._build_view(
                    response["view"], view_id=view_id, user_id=user_id,  # type: ignore[index]
                    root=old["root_view_id"], prev=old["previous_view_id"], team_id=old["team_id"],
                    installed=old["app_installed_team_id"],
                )
                view["state"] = kept_state(old, view)
                self.views[view_id] = view
                self._emit("view_update", user_id, view=view, text=_title(view))
                return
            if action == "push":
                if len(stack) >= MAX_VIEW_STACK:
                    raise RuntimeError("push_limit_reached")
                vid = self._new_id("V")
                view = self._build_view(
                    response["view"], view_id=vid, user_id=user_id,  # type: ignore[index]
                    root=stack[0] if stack else vid, prev=view_id, team_id=self.views[view_id]["team_id"],
                    installed=self.views[view_id]["app_installed_team_id"],
                )
                self.views[vid] = view
                stack.append(vid)
                self._emit("view_push", user_id, view=view, text=_title(view))
                return
            if view_id in stack:
                stack.remove(view_id)

    def _use_trigger(self, trigger_id: Any) -> str:
        if not trigger_id:
            raise missing("trigger_id")
        trig = self._triggers.get(str(trigger_id))
        if trig is None or not self._reaches(trig.team_id):  # another workspace's trigger is no trigger here
            raise ApiError("invalid_trigger_id")
        if trig.used:
            raise ApiError("exchanged_trigger_id")
        if time.monotonic() - trig.issued > self.trigger_ttl:
            raise ApiError("expired_trigger_id")
        trig.used = True
        self._trigger_team = trig.team_id
        return trig.user_id

    def _build_view(
        self, raw: Any, *, view_id: str, user_id: str, root: str | None, prev: str | None, team_id: str | None = None,
        installed: str | None = None,
    ) -> dict[str, Any]:
        """A view in workspace ``team_id`` (default: the caller's) of the app installed in ``installed`` (default:
        the caller; an org-wide install's views open in a workspace of the org and say the org installed it)."""
        if not raw:
            raise missing("view")
        if not isinstance(raw, dict):
            raise ApiError("invalid_arguments", "[ERROR] view must be an object")
        raw = copy.deepcopy(raw)
        blocks = raw.get("blocks") or []
        if not isinstance(blocks, list) or len(blocks) > MAX_VIEW_BLOCKS:
            raise ApiError("invalid_arguments", f"[ERROR] no more than {MAX_VIEW_BLOCKS} items allowed [json-pointer:/view/blocks]")
        try:
            View(**raw).validate_json()
        except (SlackObjectFormationError, TypeError, ValueError) as exc:
            raise ApiError("invalid_arguments", f"[ERROR] {exc}")
        blocks = validate_blocks(blocks, MAX_VIEW_BLOCKS, error="invalid_arguments")
        ws = self._workspaces[team_id] if team_id else self._caller
        app = self._caller if installed is None else self._workspaces.get(installed) or self._orgs[installed]
        return {
            "id": view_id,
            "team_id": ws.team_id,
            "type": raw["type"],
            "blocks": blocks,
            "private_metadata": raw.get("private_metadata", ""),
            "callback_id": raw.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{secrets.token_hex(4)}",
            "title": raw.get("title"),
            "clear_on_close": bool(raw.get("clear_on_close", False)),
            "notify_on_close": bool(raw.get("notify_on_close", False)),
            "close": raw.get("close"),
            "submit": raw.get("submit"),
            "previous_view_id": prev,
            "root_view_id": root or view_id,
            "app_id": app.app_id,
            "external_id": raw.get("external_id", ""),
            "app_installed_team_id": app.team_id,
            "bot_id": app.bot_id,
            "_user_id": user_id,
        }

    def _store_view(self, view: dict[str, Any]) -> dict[str, Any]:
        ext = view.get("external_id")
        if ext:
            for vid, other in self.views.items():
                if vid != view["id"] and other.get("external_id") == ext and other["team_id"] == view["team_id"]:
                    raise ApiError("duplicate_external_id")
        self.views[view["id"]] = view
        return {"view": public_view(view)}


def kept_state(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """What stays entered when a view is updated: Slack keeps an input's value when the new view has an
    input block with the same block_id holding an element with the same action_id and type; the rest
    (inputs gone, or renamed) is dropped, and the new view's initial values show there."""
    kept: dict[str, dict[str, Any]] = {}
    for block in new.get("blocks") or []:
        element = block.get("element") if block.get("type") == "input" else None
        if not isinstance(element, dict):
            continue
        entered = (old.get("state") or {}).get("values", {}).get(block.get("block_id"), {}).get(element.get("action_id"))
        if isinstance(entered, dict) and entered.get("type") == element.get("type"):
            kept.setdefault(block["block_id"], {})[element["action_id"]] = copy.deepcopy(entered)
    return {"values": kept}


def _title(view: dict[str, Any]) -> str:
    title = view.get("title")
    if isinstance(title, dict):
        return str(title.get("text", ""))
    return str(title or "")


def views_open(s: Views, args: dict[str, Any]) -> dict[str, Any]:
    user_id = s._use_trigger(args.get("trigger_id"))
    vid = s._new_id("V")
    view = s._build_view(args.get("view"), view_id=vid, user_id=user_id, root=None, prev=None, team_id=s._trigger_team)
    if view["type"] != "modal":
        raise ApiError("invalid_arguments", "[ERROR] views.open only opens modals")
    out = s._store_view(view)
    s._view_stacks[user_id] = [vid]  # opening starts a fresh modal stack
    s._emit("view_open", user_id, view=view, text=_title(view))
    return out


def views_push(s: Views, args: dict[str, Any]) -> dict[str, Any]:
    user_id = s._use_trigger(args.get("trigger_id"))
    stack = s._view_stacks.setdefault(user_id, [])
    if len(stack) >= MAX_VIEW_STACK:
        raise ApiError("push_limit_reached")
    vid = s._new_id("V")
    view = s._build_view(
        args.get("view"), view_id=vid, user_id=user_id,
        root=stack[0] if stack else None, prev=stack[-1] if stack else None, team_id=s._trigger_team,
    )
    out = s._store_view(view)
    stack.append(vid)
    s._emit("view_push", user_id, view=view, text=_title(view))
    return out


def views_update(s: Views, args: dict[str, Any]) -> dict[str, Any]:
    vid, ext = args.get("view_id"), args.get("external_id")
    if not vid and not ext:
        raise missing("view_id")
    old = s.views.get(str(vid)) if vid else next(
        (v for v in s.views.values() if v.get("external_id") == ext and s._reaches(v["team_id"])), None
    )
    if old is None or not s._reaches(old["team_id"]):  # another workspace's view is not found
        raise ApiError("not_found")
    if args.get("hash") and args["hash"] != old["hash"]:
        raise ApiError("hash_conflict")
    view = s._build_view(
        args.get("view"), view_id=old["id"], user_id=old["_user_id"],
        root=old["root_view_id"], prev=old["previous_view_id"], team_id=old["team_id"],
    )
    if not view["external_id"]:
        view["external_id"] = old.get("external_id", "")
    view["state"] = kept_state(old, view)
    out = s._store_view(view)
    kind = "home" if view["type"] == "home" else "view_update"
    s._emit(kind, old["_user_id"], view=view, text=_title(view))
    return out


def views_publish(s: Views, args: dict[str, Any]) -> dict[str, Any]:
    user_id = args.get("user_id")
    if not user_id:
        raise missing("user_id")
    if s._visible_user(user_id) is None:
        raise ApiError("user_not_found")
    vid = s._home_view_ids.get(user_id) or s._new_id("V")
    old = s.views.get(vid)
    if old and args.get("hash") and args["hash"] != old["hash"]:
        raise ApiError("hash_conflict")
    view = s._build_view(args.get("view"), view_id=vid, user_id=user_id, root=None, prev=None,
                         team_id=s._users[user_id].team_id)
    if view["type"] != "home":
        raise ApiError("invalid_arguments", "[ERROR] views.publish requires a view of type home")
    out = s._store_view(view)
    s._home_view_ids[user_id] = vid
    s._emit("home", user_id, view=view, text="App Home")
    return out
