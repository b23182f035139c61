"""The real app, served on loopback against a SlackStandIn: for the tests, the demo and the benchmarks."""
from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Coroutine
from dataclasses import replace
from typing import Any

import uvicorn

from bot.runtime.app import build_app
from bot.core.clock import Clock
from bot.runtime.config import Settings
from bot.runtime.app import Wiring
from bot.runtime.server import Server, build_http
from bot.sandbox.driver import SlackDriver
from bot.sandbox.standin import SlackStandIn
from storage.db import Database
from storage.migrate import upgrade

SIGNING_SECRET = "local-signing-secret"
START_TIMEOUT_SECONDS = 10.0


class _LoopbackServer(Server):
    """uvicorn's server without its fixed waits on stopping: uvicorn looks at `should_exit` on a 0.1 s
    poll, then gives open connections a 0.1 s grace even when there are none; the tests stop a bot per
    test and would wait both out every time. What runs on shutdown (the app's lifespan) is unchanged."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self._stop_requested: asyncio.Event | None = None

    async def main_loop(self) -> None:
        self._stop_requested = asyncio.Event()
        counter = 0
        while not await self.on_tick(counter):  # uvicorn's own tick: date header, should_exit, max requests
            counter = (counter + 1) % 864000
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._stop_requested.wait(), timeout=0.1)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        for server in self.servers:
            server.close()  # no new connections from here on
        if self.server_state.connections or self.server_state.tasks or self.force_exit:
            await super().shutdown(sockets)  # uvicorn's own path: ask them to finish, then wait
            return
        # Nobody is connected (the driver closes each request's connection), so uvicorn's fixed 0.1 s
        # grace for open connections would wait for nothing; the app's shutdown runs as in uvicorn.
        for sock in sockets or []:
            sock.close()
        for server in self.servers:
            await server.wait_closed()
        await self.lifespan.shutdown()

    def request_stop(self) -> None:
        """Called on the server's loop."""
        self.should_exit = True
        if self._stop_requested is not None:
            self._stop_requested.set()


class LocalBot:
    def __init__(self, standin: SlackStandIn, database_url: str, *, clock: Clock | None = None,
                 admins: frozenset[str] = frozenset(), channel_post_interval: float | None = None,
                 **overrides: Any):
        """channel_post_interval: seconds between posts to one channel; None keeps the product's pacing
        (the stand-in has no rate limit, so the tests set 0 rather than sleep a second per channel post)."""
        self.standin = standin
        self.settings = replace(
            Settings(bot_token=standin.token,
                     signing_secret=SIGNING_SECRET, api_url=standin.base_url, database_url=database_url,
                     admins=admins, host="127.0.0.1", port=0,
                     tick_seconds=0),  # tests and the demo tick by hand, on their own clock
            **overrides,
        )
        self.clock = clock
        self.channel_post_interval = channel_post_interval
        self.wiring: Wiring | None = None
        self.db: Database | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._server: _LoopbackServer | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    @property
    def driver(self) -> SlackDriver:
        return SlackDriver(self.url, SIGNING_SECRET, self.standin)

    def start(self) -> "LocalBot":
        self.db = Database(self.settings.database_url)
        upgrade(self.db.engine)
        app, self.wiring = build_app(self.settings, self.db, self.clock)
        if self.channel_post_interval is not None:
            self.wiring.deliverer.channel_post_interval = self.channel_post_interval
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))  # the OS picks a free port: parallel test processes never collide
        port = sock.getsockname()[1]
        config = uvicorn.Config(build_http(app, self.wiring), log_level="warning", lifespan="on", access_log=False)
        self._server = _LoopbackServer(config)
        ready = threading.Event()

        def serve() -> None:
            self.loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self.loop)
            ready.set()
            self.loop.run_until_complete(self._server.serve(sockets=[sock]))  # type: ignore[union-attr]
            self.loop.close()

        self._thread = threading.Thread(target=serve, name="local-bot", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        if not ready.wait(START_TIMEOUT_SECONDS):
            raise RuntimeError("the bot did not start")
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the bot did not start")
            time.sleep(0.002)
        self.url = f"http://127.0.0.1:{port}/slack/events"
        return self

    def install(self, team_id: str, installer: str, *, org_wide: bool = False) -> tuple[int, str]:
        """What a workspace's admin does with OAuth on: open /slack/install, click *Add to Slack* (the stand-in
        plays Slack's authorize page: a code for this workspace; with ``org_wide``, ``team_id`` is an Enterprise
        Grid org's id and the code is for the whole org), come back to /slack/oauth_redirect with the code, the
        state and the state cookie. Returns that last page's status and HTML."""
        base = self.url.removesuffix("/slack/events")
        status, page, cookie = _get(f"{base}/slack/install")
        found = re.search(r"[?&]state=([\w-]+)", page)
        if status != 200 or found is None:
            return status, page
        code = (self.standin.authorize_org if org_wide else self.standin.authorize)(team_id, installer)
        query = urllib.parse.urlencode({"code": code, "state": found.group(1)})
        status, page, _ = _get(f"{base}/slack/oauth_redirect?{query}", cookie)
        return status, page

    def call(self, coro: Coroutine[Any, Any, Any], timeout: float = 30) -> Any:
        """Run a coroutine on the bot's own event loop (e.g. a scheduler tick) and return its result."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        server, loop = self._server, self.loop
        if server is not None:
            server.should_exit = True  # seen on uvicorn's next tick even if the wake-up below misses
            if loop is not None and not loop.is_closed():
                with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: it has stopped anyway
                    loop.call_soon_threadsafe(server.request_stop)
        if self._thread is not None:
            self._thread.join(timeout=15)
        if self.db is not None:
            self.db.close()

    def __enter__(self) -> "LocalBot":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _get(url: str, cookie: str | None = None) -> tuple[int, str, str | None]:
    """GET as a browser would: (status, body, the cookie it was given)."""
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            given = response.headers.get("Set-Cookie")
            return response.status, response.read().decode(), given.split(";")[0] if given else None
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(), None
