"""The real app, served on loopback against a SlackStandIn: for the tests, the demo and the benchmarks."""
from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Coroutine
from dataclasses import replace
from typing import Any

import uvicorn

from bot.runtime.app import build_app
from bot.core.clock import Clock
from bot.runtime.config import Settings
from bot.runtime.app import Wiring
from bot.runtime.server import build_http
from bot.sandbox.driver import SlackDriver
from bot.sandbox.standin import SlackStandIn
from storage.db import Database
from storage.migrate import upgrade

SIGNING_SECRET = "local-signing-secret"


class LocalBot:
    def __init__(self, standin: SlackStandIn, database_url: str, *, clock: Clock | None = None,
                 admins: frozenset[str] = frozenset(), **overrides: Any):
        self.standin = standin
        self.settings = replace(
            Settings(bot_token=standin.token,
                     signing_secret=SIGNING_SECRET, api_url=standin.base_url, database_url=database_url,
                     admins=admins, host="127.0.0.1", port=0,
                     tick_seconds=0),  # tests and the demo tick by hand, on their own clock
            **overrides,
        )
        self.clock = clock
        self.wiring: Wiring | None = None
        self.db: Database | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    @property
    def driver(self) -> SlackDriver:
        return SlackDriver(self.url, SIGNING_SECRET, self.standin)

    def start(self) -> "LocalBot":
        self.db = Database(self.settings.database_url)
        upgrade(self.db.engine)
        app, self.wiring = build_app(self.settings, self.db, self.clock)
        # The stand-in has no rate limit to respect; its tests and the demo run on a hand-driven clock.
        self.wiring.deliverer.channel_post_interval = 0.01
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        config = uvicorn.Config(build_http(app, self.wiring), log_level="warning", lifespan="on", access_log=False)
        self._server = uvicorn.Server(config)
        ready = threading.Event()

        def serve() -> None:
            self.loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self.loop)
            ready.set()
            self.loop.run_until_complete(self._server.serve(sockets=[sock]))  # type: ignore[union-attr]
            self.loop.close()

        self._thread = threading.Thread(target=serve, name="local-bot", daemon=True)
        self._thread.start()
        ready.wait()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the bot did not start")
            time.sleep(0.005)
        self.url = f"http://127.0.0.1:{port}/slack/events"
        return self

    def call(self, coro: Coroutine[Any, Any, Any], timeout: float = 30) -> Any:
        """Run a coroutine on the bot's own event loop (e.g. a scheduler tick) and return its result."""
        assert self.loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=15)
        if self.db is not None:
            self.db.close()

    def __enter__(self) -> "LocalBot":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
