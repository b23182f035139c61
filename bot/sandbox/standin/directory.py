"""The workspace's people and channels, and how a channel argument resolves against them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .core import StandInCore
from .wire import ApiError
from .workspace import BOT_USER_ID


@dataclass
class _User:
    id: str
    name: str
    real_name: str
    tz: str
    is_bot: bool
    deleted: bool
    email: str | None = None


class Directory(StandInCore):
    """Users and channels the stand-in knows; DMs are derived from user ids (U_SDR1 -> D_SDR1)."""

    def __init__(self, token: str, host: str, port: int) -> None:
        super().__init__(token, host, port)
        self._users: dict[str, _User] = {}
        self._channels: dict[str, str] = {}  # id -> name
        self._private: set[str] = set()  # private channels (history needs groups:history)
        self._outside: set[str] = set()  # channels the bot is not a member of (posts via chat:write.public)
        # The bot token's scopes; None grants every scope the stand-in checks (conversations.* for now).
        self.scopes: frozenset[str] | None = None
        # Slack bots always see their own user and #general.
        self.add_user(BOT_USER_ID, name="handoff", real_name="Handoff", is_bot=True)
        self.add_channel("C_GENERAL", name="general")

    def add_user(
        self,
        user_id: str,
        name: str,
        real_name: str | None = None,
        tz: str = "America/Los_Angeles",
        is_bot: bool = False,
        deleted: bool = False,
        email: str | None = None,
    ) -> None:
        with self._lock:
            self._users[user_id] = _User(user_id, name, real_name or name, tz, is_bot, deleted, email)

    def add_channel(self, channel_id: str, name: str, *, private: bool = False, is_member: bool = True) -> None:
        """is_member=False: the bot may post (chat:write.public) but not read history (not_in_channel)."""
        with self._lock:
            self._channels[channel_id] = name
            (self._private.add if private else self._private.discard)(channel_id)
            (self._outside.discard if is_member else self._outside.add)(channel_id)

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
            user = self._users.get(channel)
            if user is None:
                raise ApiError("channel_not_found")
            if user.deleted:
                raise ApiError("account_inactive")
            return self.dm_channel_id(channel), channel
        if channel.startswith("D"):
            uid = self.user_for_dm(channel)
            if uid is None:
                raise ApiError("channel_not_found")
            if self._users[uid].deleted:
                raise ApiError("account_inactive")
            return channel, uid
        if channel in self._channels:
            return channel, None
        name = channel.lstrip("#")
        for cid, cname in self._channels.items():
            if cname == name:
                return cid, None
        raise ApiError("channel_not_found")
