"""Installs: the OAuth v2 exchange (oauth.v2.access), which bot token belongs to which workspace, revocation.

Slack's install flow: the installer approves the app on Slack's authorize page, Slack redirects back to
the app with a one-time ``code``, and the app trades it (with its client id and secret) for the
workspace's bot token. ``authorize()`` plays the page; the token it leads to answers as that workspace.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from dataclasses import dataclass
from typing import Any

from .directory import Directory
from .wire import ApiError
from .workspace import TEAM_ID, WorkspaceInfo

# The bot scopes app.yaml asks for: what an install grants unless told otherwise.
DEFAULT_SCOPES = (
    "commands", "chat:write", "chat:write.public", "users:read", "files:write",
    "channels:history", "groups:history", "im:history", "im:write",
)
CODE_TTL = 600.0  # seconds; Slack's codes expire after ten minutes


@dataclass
class _Grant:
    team_id: str  # an org-wide grant: the org's id (E…)
    user_id: str
    scopes: tuple[str, ...]
    user_scopes: tuple[str, ...]
    redirect_uri: str | None
    issued: float
    used: bool = False


class Installs(Directory):
    """Bot tokens by workspace, revoked tokens, and the OAuth codes waiting to be exchanged."""

    def __init__(self, token: str, host: str, port: int) -> None:
        super().__init__(token, host, port)
        self.client_id = "standin-client-id"
        self.client_secret = "standin-client-secret"
        self._tokens: dict[str, str] = {}  # token -> team id (the constructor's token: the default workspace)
        self._revoked: set[str] = set()
        self._grants: dict[str, _Grant] = {}
        self._installs = 0
        self.org_wide: set[str] = set()  # orgs the app was installed in org-wide (their payloads say so)
        self._calling_token = ""  # the token of the call being answered (auth.revoke revokes it)

    # ------------------------------------------------------------------ for tests

    def authorize(
        self,
        team_id: str,
        installer_user_id: str,
        scopes: tuple[str, ...] | list[str] = DEFAULT_SCOPES,
        *,
        user_scopes: tuple[str, ...] | list[str] = (),
        redirect_uri: str | None = None,
    ) -> str:
        """The installer approves the app for ``team_id`` on Slack's authorize page: returns the one-time
        ``code`` Slack redirects back with. An installer the workspace does not have yet is added to it."""
        with self._lock:
            if team_id not in self._workspaces:
                raise ValueError(f"no workspace {team_id}; add_workspace() first")
            home = self.user_team(installer_user_id)
            if home is None:
                self.add_user(installer_user_id, name=installer_user_id.lower(), team_id=team_id)
            elif home != team_id:
                raise ValueError(f"{installer_user_id} is a user of {home}, not {team_id}")
            code = f"{int(time.time())}.{secrets.token_hex(16)}"
            self._grants[code] = _Grant(team_id, installer_user_id, tuple(scopes), tuple(user_scopes),
                                        redirect_uri, time.monotonic())
            return code

    def authorize_org(
        self, enterprise_id: str, installer_user_id: str, scopes: tuple[str, ...] | list[str] = DEFAULT_SCOPES,
    ) -> str:
        """An org admin approves the app for the whole Enterprise Grid org (an org-wide install): returns the
        one-time ``code``. Its bot token reaches every workspace of the org. The installer is a user of one
        of the org's workspaces."""
        with self._lock:
            if enterprise_id not in self._orgs:
                raise ValueError(f"no org {enterprise_id}; add_workspace(..., enterprise_id=) first")
            home = self.user_team(installer_user_id)
            if home not in self.org_workspaces(enterprise_id):
                raise ValueError(f"{installer_user_id} is not a user of a workspace of {enterprise_id}")
            code = f"{int(time.time())}.{secrets.token_hex(16)}"
            self._grants[code] = _Grant(enterprise_id, installer_user_id, tuple(scopes), (), None, time.monotonic())
            return code

    def add_token(self, token: str, team_id: str = TEAM_ID) -> None:
        """A bot token for ``team_id`` without going through OAuth (as if installed earlier)."""
        with self._lock:
            if team_id not in self._workspaces and team_id not in self._orgs:
                raise ValueError(f"no workspace {team_id}; add_workspace() first")
            self._tokens[token] = team_id
            self._revoked.discard(token)

    def revoke(self, token: str) -> None:
        """Revoke a token (an uninstall, or auth.revoke): later calls with it answer token_revoked."""
        with self._lock:
            self._revoked.add(token)

    def uninstall(self, team_id: str) -> list[str]:
        """The app is uninstalled from a workspace (or, given an org's id, from the org it was installed in
        org-wide): every token of it is revoked (returned, for the ``tokens_revoked`` / ``app_uninstalled``
        events a driver then sends)."""
        with self._lock:
            live = [t for t, team in self._tokens.items() if team == team_id and t not in self._revoked]
            if team_id == TEAM_ID and self.token not in self._revoked:
                live.insert(0, self.token)
            self._revoked.update(live)
            return live

    def token_team(self, token: str) -> str | None:
        """The workspace a live token belongs to; None for an unknown or revoked one."""
        with self._lock:
            if token in self._revoked:
                return None
            return TEAM_ID if token == self.token else self._tokens.get(token)

    def _token_workspace(self, token: str) -> WorkspaceInfo:
        if token in self._revoked:
            raise ApiError("token_revoked")
        team = self.token_team(token)
        if team is None:
            raise ApiError("invalid_auth")
        return self._workspaces.get(team) or self._orgs[team]

    # ------------------------------------------------------------------ oauth.v2.access

    def _oauth_v2_access(self, args: dict[str, Any], authorization: str) -> dict[str, Any]:
        """Trade a code for a bot token. The client authenticates with HTTP Basic (slack_sdk's way) or
        client_id / client_secret form fields; no bearer token."""
        try:
            client_id, client_secret = args.get("client_id"), args.get("client_secret")
            if authorization.lower().startswith("basic "):
                try:
                    client_id, _, client_secret = (
                        base64.b64decode(authorization[6:].strip()).decode().partition(":"))
                except (binascii.Error, UnicodeDecodeError):
                    raise ApiError("invalid_client_id") from None
            if client_id != self.client_id:
                raise ApiError("invalid_client_id")
            if client_secret != self.client_secret:
                raise ApiError("bad_client_secret")
            if args.get("grant_type") not in (None, "", "authorization_code"):
                raise ApiError("invalid_grant_type")  # refresh_token: token rotation is off in app.yaml
            with self._lock:
                grant = self._grants.get(str(args.get("code") or ""))
                if grant is None or grant.used or time.monotonic() - grant.issued > CODE_TTL:
                    raise ApiError("invalid_code")
                if grant.redirect_uri is not None and args.get("redirect_uri") not in (None, grant.redirect_uri):
                    raise ApiError("bad_redirect_uri")
                grant.used = True
                org = grant.team_id in self._orgs
                ws = self._orgs[grant.team_id] if org else self._workspaces[grant.team_id]
                if org:
                    self.org_wide.add(ws.team_id)
                self._installs += 1
                token = f"xoxb-{ws.team_id}-{self._installs}"
                self._tokens[token] = ws.team_id
                authed_user: dict[str, Any] = {"id": grant.user_id}
                if grant.user_scopes:
                    user_token = f"xoxp-{ws.team_id}-{self._installs}"
                    self._tokens[user_token] = ws.team_id
                    authed_user.update(scope=",".join(grant.user_scopes), access_token=user_token,
                                       token_type="user")
            return {
                "ok": True,
                "app_id": ws.app_id,
                "authed_user": authed_user,
                "scope": ",".join(grant.scopes),
                "token_type": "bot",
                "access_token": token,
                "bot_user_id": ws.bot_user_id,
                # Org-wide: no team, the org as the enterprise (api.slack.com/enterprise/apps/reference).
                "team": None if org else {"id": ws.team_id, "name": ws.name},
                "enterprise": ws.enterprise(),
                "is_enterprise_install": org,
            }
        except ApiError as exc:
            return {"ok": False, "error": exc.error}
