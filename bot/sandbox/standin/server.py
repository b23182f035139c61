"""SlackStandIn: the API families assembled behind one aiohttp server, and the method table."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Callable

from aiohttp import web

from .auth import auth_revoke, auth_test
from .chat import Messages, chat_get_permalink, chat_post_ephemeral, chat_post_message, chat_update
from .conversations import conversations_history, conversations_open, conversations_replies
from .files import Files, files_complete_upload_external, files_get_upload_url_external
from .installs import Installs
from .socket_mode import SocketMode
from .users import users_info
from .views import Views, views_open, views_publish, views_push, views_update
from .wire import ApiError, read_args
from .workspace import TEAM_ID


class SlackStandIn(Installs, Views, Messages, SocketMode, Files):
    """Loopback HTTP server that plays Slack's Web API for tests and demos.

    ``token`` is the default workspace's (T_HANDOFF) bot token; ``add_workspace()`` and ``authorize()`` +
    oauth.v2.access (or ``add_token()``) install the app in more workspaces, each answered with its own
    token, users and conversations."""

    def __init__(
        self,
        token: str = "xoxb-test",
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        trigger_ttl: float = 3.0,
        app_token: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
    ) -> None:
        super().__init__(token, host, port)
        self.trigger_ttl = trigger_ttl
        self.app_token = app_token
        if client_id is not None:
            self.client_id = client_id
        if client_secret is not None:
            self.client_secret = client_secret
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> "SlackStandIn":
        """Start serving; returns once the socket is listening."""
        if self._thread is not None:
            return self
        ready = threading.Event()
        failure: list[BaseException] = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            self._loop = loop
            try:
                loop.run_until_complete(self._serve())
            except BaseException as exc:  # surfaced to start()'s caller
                failure.append(exc)
                ready.set()
                return
            ready.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name="slack-standin", daemon=True)
        self._thread.start()
        ready.wait(10)
        if failure:
            self._thread = None
            raise RuntimeError(f"stand-in failed to start: {failure[0]!r}") from failure[0]
        return self

    async def _serve(self) -> None:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/respond/{token}", self._handle_response_url)
        app.router.add_get("/socket/{conn_id}", self._handle_socket)
        app.router.add_post("/upload/{file_id}", self._handle_upload)  # files_upload_v2's step 2
        app.on_shutdown.append(self._close_sockets)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        # port 0: read back the port the OS picked.
        self.port = self._runner.addresses[0][1]

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        self.release()  # held answers go out, so the server can shut down
        if self._runner is not None:
            asyncio.run_coroutine_threadsafe(self._runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        self._thread = self._loop = self._runner = None

    def __enter__(self) -> "SlackStandIn":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ HTTP

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        try:
            args = await read_args(request)
        except ValueError as exc:
            body = {"ok": False, "error": "invalid_json", "response_metadata": {"messages": [str(exc)]}}
            self._record(method, {}, 200, body)
            return web.json_response(body)
        header_token = None
        auth = request.headers.get("Authorization", "")
        if auth.lower().startswith("bearer "):
            header_token = auth[7:].strip()
        token = header_token or args.pop("token", None)
        args.pop("token", None)
        team = self.token_team(token) if token else None

        rule = self._take_rule(method, args.get("channel"), team)
        if rule is not None and rule.hold == "lost":  # never done; the answer comes when released, a 503
            await self._held()
            self._record(method, args, 503, {"ok": False, "error": "http_503"}, team)
            return web.Response(status=503, text="Service Unavailable")
        if rule is not None and rule.hold is None:
            if rule.delay > 0:
                await asyncio.sleep(rule.delay)
            if rule.status == 429:
                body = {"ok": False, "error": "ratelimited"}
                self._record(method, args, 429, body, team)
                retry_after = "1" if rule.retry_after is None else str(rule.retry_after)
                return web.json_response(body, status=429, headers={"Retry-After": retry_after})
            if rule.error is not None:
                body = {"ok": False, "error": rule.error}
                self._record(method, args, rule.status, body, team)
                return web.json_response(body, status=rule.status)
            if rule.status not in (0, 200):
                body = {"ok": False, "error": f"http_{rule.status}"}
                self._record(method, args, rule.status, body, team)
                return web.Response(status=rule.status, text="Internal Server Error")

        if method == "apps.connections.open" and token:
            return self._apps_connections_open(method, args, token)
        if method == "oauth.v2.access":  # the client's id and secret authenticate it, not a token
            response = self._oauth_v2_access(args, auth)
            team = (response["team"] or response["enterprise"])["id"] if response["ok"] else None
            args = {**args, **({"client_secret": "(redacted)"} if "client_secret" in args else {})}
        else:
            response = self._answer(method, args, token)
        self._record(method, args, 200, response, team)
        if rule is not None and rule.hold == "cut":  # done, and the connection drops before the answer
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=200)  # written to nobody
        if rule is not None and rule.hold == "applied":  # done; the answer is held
            await self._held()
        return web.json_response(response)

    def _answer(self, method: str, args: dict[str, Any], token: str | None) -> dict[str, Any]:
        try:
            if not token:
                raise ApiError("not_authed")
            if self.app_token is not None and token == self.app_token:
                raise ApiError("not_allowed_token_type")  # app-level tokens only open sockets
            handler = _HANDLERS.get(method)
            with self._lock:
                workspace = self._token_workspace(token)  # invalid_auth, token_revoked
                if handler is None:
                    raise ApiError("unknown_method")
                self._caller, self._calling_token = workspace, token
                try:
                    response = handler(self, args)
                finally:
                    self._caller, self._calling_token = self._workspaces[TEAM_ID], ""
            return {"ok": True, **response}
        except ApiError as exc:
            response = {"ok": False, "error": exc.error, **exc.fields}
            if exc.messages:
                response["response_metadata"] = {"messages": exc.messages}
            return response


# Every Web API method the stand-in answers (apps.connections.open aside: it takes the app-level token).
_HANDLERS: dict[str, Callable[[SlackStandIn, dict[str, Any]], dict[str, Any]]] = {
    "auth.revoke": auth_revoke,
    "auth.test": auth_test,
    "chat.postMessage": chat_post_message,
    "chat.update": chat_update,
    "chat.postEphemeral": chat_post_ephemeral,
    "chat.getPermalink": chat_get_permalink,
    "conversations.history": conversations_history,
    "conversations.open": conversations_open,
    "conversations.replies": conversations_replies,
    "files.getUploadURLExternal": files_get_upload_url_external,
    "files.completeUploadExternal": files_complete_upload_external,
    "users.info": users_info,
    "views.open": views_open,
    "views.push": views_push,
    "views.update": views_update,
    "views.publish": views_publish,
}
