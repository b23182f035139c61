"""The stand-in process, seen from the load generator through its /bench/ endpoints."""
from __future__ import annotations

import collections
import http.client
import json
import urllib.parse
from typing import Any

import aiohttp


class RemoteStandIn:
    """What SlackDriver asks of a SlackStandIn, answered by the stand-in process over its /bench/ endpoints.

    Blocking (one kept-alive connection) for building payloads between runs; `issue` is the async version
    the timed /handoff runs use, outside the timed interval, so each trigger_id is fresh when sent."""

    def __init__(self, url: str, token: str):
        self.url = url
        self.token = token
        self.base_url = f"{url}/api/"
        parts = urllib.parse.urlsplit(url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._conn: http.client.HTTPConnection | None = None
        self._users: dict[str, str] | None = None
        self._channels: dict[str, str | None] = {}
        self.preissued: collections.deque[tuple[str, str]] = collections.deque()  # (trigger_id, response_url)
        self.views = _RemoteViews(self)
        self.messages = _RemoteMessages(self, ephemeral=False)
        self.ephemeral_messages = _RemoteMessages(self, ephemeral=True)

    def get(self, path: str, **params: Any) -> Any:
        """JSON from GET /bench/<path>; None on 404."""
        target = f"/bench/{path}?{urllib.parse.urlencode({k: v for k, v in params.items() if v is not None})}"
        for attempt in (1, 2):
            if self._conn is None:
                self._conn = http.client.HTTPConnection(self._host, self._port, timeout=10)
            try:
                self._conn.request("GET", target)
                response = self._conn.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException):
                self._conn.close()
                self._conn = None
                if attempt == 2:
                    raise
                continue
            if response.status == 404:
                return None
            if response.status != 200:
                raise RuntimeError(f"stand-in answered {response.status} to {target}: {body[:200]!r}")
            return json.loads(body)
        raise AssertionError("unreachable")

    async def issue(self, session: aiohttp.ClientSession, user: str, channel: str | None = None) -> None:
        """Fetch a fresh trigger_id and response_url for the next payload built for `user`."""
        params = {"user": user, **({"channel": channel} if channel else {})}
        async with session.get(f"{self.url}/bench/issue", params=params) as resp:
            data = await resp.json()
        self.preissued.append((data["trigger_id"], data["response_url"]))

    # -- SlackStandIn's interface, as far as SlackDriver uses it

    def issue_trigger_id(self, user_id: str, team_id: str | None = None) -> str:  # one workspace only
        if self.preissued:
            return self.preissued.popleft()[0]
        return str(self.get("issue", user=user_id)["trigger_id"])

    def response_url_for(self, user_id: str, channel_id: str | None = None, message_ts: str | None = None) -> str:
        if self.preissued and message_ts is None:
            trigger, url = self.preissued[0]
            self.preissued[0] = (trigger, "")  # the trigger_id is still to be taken
            if url:
                return url
        return str(self.get("issue", user=user_id, channel=channel_id, ts=message_ts)["response_url"])

    def user_names(self) -> dict[str, str]:
        if self._users is None:
            self._users = self.get("users")
        return dict(self._users or {})

    def channel_name(self, channel_id: str) -> str | None:
        if channel_id not in self._channels:
            self._channels[channel_id] = self.get("channel", id=channel_id)["name"]
        return self._channels[channel_id]


class _RemoteViews:
    def __init__(self, remote: RemoteStandIn):
        self.remote = remote

    def get(self, view_id: str) -> dict[str, Any] | None:
        return self.remote.get("view", id=view_id)

    def __getitem__(self, view_id: str) -> dict[str, Any]:
        view = self.get(view_id)
        if view is None:
            raise KeyError(view_id)
        return view

    def __iter__(self):  # only for SlackDriver's error message
        return iter(())


class _RemoteMessages:
    def __init__(self, remote: RemoteStandIn, *, ephemeral: bool):
        self.remote, self.ephemeral = remote, ephemeral

    def get(self, key: tuple[str, str]) -> dict[str, Any] | None:
        found = self.remote.get("message", channel=key[0], ts=key[1])
        if found is None or bool(found["ephemeral"]) != self.ephemeral:
            return None
        return found["message"]
