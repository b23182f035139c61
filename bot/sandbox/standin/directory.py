"""The workspaces, their people and channels, and how a channel argument resolves against them.

Real Slack keeps workspaces apart: a bot token sees only its own workspace's users and conversations.
Each user and channel here belongs to one workspace (the default one unless told), and every Web API
call is answered as the workspace its token belongs to (``_caller``, set by the server under the lock)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .core import StandInCore
from .wire import ApiError
from .workspace import DEFAULT_WORKSPACE, TEAM_ID, WorkspaceInfo, org_of


@dataclass
class _User:
    id: str
    name: str
    real_name: str
    tz: str
    is_bot: bool
    deleted: bool
    email: str | None = None
    team_id: str = TEAM_ID


class Directory(StandInCore):
    """Workspaces, users and channels the stand-in knows; DMs are derived from user ids (U_SDR1 -> D_SDR1)."""

    def __init__(self, token: str, host: str, port: int) -> None:
        super().__init__(token, host, port)
        self._workspaces: dict[str, WorkspaceInfo] = {}
        self._orgs: dict[str, WorkspaceInfo] = {}  # Enterprise Grid orgs by id, as an org-wide token's caller
        # The workspace of the Web API call being answered; handlers run under the lock, so one at a time.
        self._caller: WorkspaceInfo = DEFAULT_WORKSPACE
        self._users: dict[str, _User] = {}
        self._channels: dict[str, str] = {}  # id -> name
        self._channel_teams: dict[str, str] = {}  # id -> the workspace it belongs to
        self._private: set[str] = set()  # private channels (history needs groups:history)
        self._outside: set[str] = set()  # channels the bot is not a member of (posts via chat:write.public)
        # The bot token's scopes; None grants every scope the stand-in checks (conversations.* for now).
        self.scopes: frozenset[str] | None = None
        self._register(DEFAULT_WORKSPACE)

    def _register(self, ws: WorkspaceInfo) -> None:
        with self._lock:
            self._workspaces[ws.team_id] = ws
            # Slack bots always see their own user and #general.
            self.add_user(ws.bot_user_id, name="handoff", real_name="Handoff", is_bot=True, team_id=ws.team_id)
            self.add_channel(ws.general_channel_id, name="general", team_id=ws.team_id)

    def add_workspace(
        self,
        team_id: str,
        name: str | None = None,
        domain: str | None = None,
        enterprise_id: str | None = None,
        enterprise_name: str | None = None,
    ) -> WorkspaceInfo:
        """Another workspace the app can be installed in, with its bot user and #general
        (``workspace(team_id).general_channel_id``). Install it with ``authorize()`` + oauth.v2.access,
        or hand a token out directly with ``add_token()``."""
        with self._lock:
            if team_id in self._workspaces:
                raise ValueError(f"workspace {team_id} exists already")
            ws = WorkspaceInfo(
                team_id, name or team_id, domain or team_id.lower().replace("_", "-"),
                f"U_BOT_{team_id}", f"B_{team_id}", enterprise_id, enterprise_name,
            )
            self._register(ws)
            if enterprise_id is not None and enterprise_id not in self._orgs:
                org = self._orgs[enterprise_id] = org_of(enterprise_id, enterprise_name)
                # The org-wide install's bot user is the org's, one for all its workspaces.
                self._users[org.bot_user_id] = _User(org.bot_user_id, "handoff", "Handoff", "America/Los_Angeles",
                                                     True, False, None, enterprise_id)
            return ws

    def org(self, enterprise_id: str) -> WorkspaceInfo:
        """An Enterprise Grid org (made by the first ``add_workspace(..., enterprise_id=)``), as an org-wide
        token's caller."""
        with self._lock:
            return self._orgs[enterprise_id]

    def org_workspaces(self, enterprise_id: str) -> list[str]:
        with self._lock:
            return [t for t, ws in self._workspaces.items() if ws.enterprise_id == enterprise_id]

    def _reaches(self, team_id: str | None) -> bool:
        """Whether the calling token reaches workspace ``team_id``: its own; with an org-wide token, every
        workspace of the org (people and conversations are shared across an Enterprise Grid org)."""
        mine = self._caller
        if team_id == mine.team_id:
            return True
        ws = self._workspaces.get(team_id or "")
        return mine.org_wide and ws is not None and ws.enterprise_id == mine.team_id

    def workspace(self, team_id: str = TEAM_ID) -> WorkspaceInfo:
        with self._lock:
            return self._workspaces[team_id]

    @property
    def workspaces(self) -> list[WorkspaceInfo]:
        with self._lock:
            return list(self._workspaces.values())

    def add_user(
        self,
        user_id: str,
        name: str,
        real_name: str | None = None,
        tz: str = "America/Los_Angeles",
        is_bot: bool = False,
        deleted: bool = False,
        email: str | None = None,
        *,
        team_id: str = TEAM_ID,
    ) -> None:
        """A person in workspace ``team_id`` (the default one unless told); other workspaces' tokens
        do not see them."""
        with self._lock:
            if team_id not in self._workspaces:
                raise ValueError(f"no workspace {team_id}; add_workspace() first")
            self._users[user_id] = _User(user_id, name, real_name or name, tz, is_bot, deleted, email, team_id)

    def add_channel(
        self, channel_id: str, name: str, *, private: bool = False, is_member: bool = True, team_id: str = TEAM_ID
    ) -> None:
        """is_member=False: the bot may post (chat:write.public) but not read history (not_in_channel).
        The channel belongs to workspace ``team_id``: other workspaces' tokens get channel_not_found."""
        with self._lock:
            if team_id not in self._workspaces:
                raise ValueError(f"no workspace {team_id}; add_workspace() first")
            self._channels[channel_id] = name
            self._channel_teams[channel_id] = team_id
            (self._private.add if private else self._private.discard)(channel_id)
            (self._outside.discard if is_member else self._outside.add)(channel_id)

    def user_team(self, user_id: str) -> str | None:
        with self._lock:
            user = self._users.get(user_id)
            return None if user is None else user.team_id

    def _team_of(self, conversation_or_user: str) -> str | None:
        with self._lock:
            if conversation_or_user in self._channel_teams:
                return self._channel_teams[conversation_or_user]
            if conversation_or_user in self._users:
                return self._users[conversation_or_user].team_id
            uid = self.user_for_dm(conversation_or_user)
            return None if uid is None else self._users[uid].team_id

    def _visible_user(self, user_id: Any) -> _User | None:
        """The user, if the calling workspace can see them (Slack answers as if others do not exist)."""
        user = self._users.get(str(user_id))
        return user if user is not None and self._reaches(user.team_id) else None

    def _require_scope(self, scope: str) -> None:
        if self.scopes is not None and scope not in self.scopes:
            raise ApiError("missing_scope", needed=scope, provided=",".join(sorted(self.scopes)))

    def user_names(self) -> dict[str, str]:
        """user id -> display name, handy for the transcript renderer."""
        with self._lock:
            return {u.id: u.name for u in self._users.values()}

    def channel_names(self) -> dict[str, str]:
        with self._lock:
            names = dict(self._channels)
            names.update({self.dm_channel_id(u): f"DM with @{self._users[u].name}" for u in self._users})
            return names

    def channel_name(self, channel_id: str) -> str | None:
        with self._lock:
            if channel_id in self._channels:
                return self._channels[channel_id]
            if channel_id.startswith("D"):
                return "directmessage"
            return None

    @staticmethod
    def dm_channel_id(user_id: str) -> str:
        """The app's DM channel with a user: U_SDR1 -> D_SDR1."""
        return "D" + user_id[1:]

    def user_for_dm(self, channel_id: str) -> str | None:
        with self._lock:
            for uid in self._users:
                if channel_id.startswith("D") and self.dm_channel_id(uid) == channel_id:
                    return uid
            return None

    def _resolve_channel(self, channel: Any) -> tuple[str, str | None]:
        """Channel argument -> (channel id, DM user id or None)."""
        if not channel:
            raise ApiError("channel_not_found")
        channel = str(channel)
        if channel[0] in "UW":
            user = self._visible_user(channel)
            if user is None:
                raise ApiError("channel_not_found")
            if user.deleted:
                raise ApiError("account_inactive")
            return self.dm_channel_id(channel), channel
        if channel.startswith("D"):
            uid = self.user_for_dm(channel)
            if uid is None or self._visible_user(uid) is None:
                raise ApiError("channel_not_found")
            if self._users[uid].deleted:
                raise ApiError("account_inactive")
            return channel, uid
        if channel in self._channels and self._reaches(self._channel_teams.get(channel)):
            return channel, None
        name = channel.lstrip("#")
        for cid, cname in self._channels.items():
            if cname == name and self._reaches(self._channel_teams.get(cid)):
                return cid, None
        raise ApiError("channel_not_found")
