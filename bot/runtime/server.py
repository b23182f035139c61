"""Serving: Starlette under uvicorn for HTTP (Bolt's built-in server is for development), or Socket Mode."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Iterator

import aiohttp
import uvicorn
from slack_bolt.async_app import AsyncApp
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.runtime.app import Wiring
from bot.runtime.intake import FrontDoor
from bot.runtime.ticker import Ticker

log = logging.getLogger("handoff.server")
CHECKPOINT_EVERY_SECONDS = 5.0


class Workers:
    """The outbox worker's and the scheduler's lives, tied to the server's."""

    def __init__(self, wiring: Wiring):
        self.wiring = wiring
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._ticker = Ticker(wiring.chaser, wiring.settings.tick_seconds)
        self._session: aiohttp.ClientSession | None = None
        self._checkpointer: asyncio.Task[None] | None = None

    async def start(self) -> None:
        # One connection pool for every Slack call (Bolt's per-request clients share it): a TCP and TLS
        # handshake per call would cost more than the call.
        # slack_sdk applies its timeout only to sessions it makes itself: this one carries it (aiohttp's is 300 s).
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64),
                                              timeout=aiohttp.ClientTimeout(total=self.wiring.slack.timeout))
        self.wiring.slack.session = self._session
        self._stop = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self.wiring.deliverer.run(self._stop), name="outbox")
        self.wiring.deliverer.kick()  # deliver what was owed before a restart
        self._ticker.start()
        self._checkpointer = asyncio.get_running_loop().create_task(self._checkpoints(), name="checkpoints")

    async def _checkpoints(self) -> None:
        while not self._stop.is_set():
            try:
                await asyncio.wait_for(self._stop.wait(), timeout=CHECKPOINT_EVERY_SECONDS)
            except asyncio.TimeoutError:
                try:
                    await self.wiring.db.checkpoint_soon()
                except Exception:  # a busy database checkpoints next time
                    log.warning("WAL checkpoint failed; retrying later", exc_info=True)

    async def stop(self) -> None:
        self._ticker.shutdown()
        await self.wiring.background.drain()
        self._stop.set()
        waiting = {t for t in (self._task, self._checkpointer) if t is not None}
        if waiting:
            await asyncio.wait(waiting, timeout=10)
        self.wiring.slack.session = None
        if self._session is not None:
            await self._session.close()


def build_http(app: AsyncApp, wiring: Wiring) -> Starlette:
    front_door = FrontDoor(app, wiring.settings.signing_secret)  # size, signature and shape before Bolt
    workers = Workers(wiring)

    async def events(request: Request) -> Response:
        wiring.inflight.count += 1
        try:
            return await front_door.handle(request)
        finally:
            wiring.inflight.count -= 1

    async def healthz(_request: Request) -> Response:
        try:
            await wiring.db.run(_ping)
        except Exception as error:
            return JSONResponse({"ok": False, "error": type(error).__name__}, status_code=503)
        return JSONResponse({"ok": True})

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        await workers.start()
        log.info("serving Slack requests on /slack/events")
        yield
        await workers.stop()
        log.info("stopped cleanly")

    return Starlette(routes=[
        Route("/slack/events", events, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ], lifespan=lifespan)


def _ping(db) -> None:
    with db.engine.connect() as conn:
        conn.execute(text("SELECT 1"))


class _Server(uvicorn.Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # uvicorn re-raises the signal after its graceful shutdown (exit status -15); a clean stop exits 0.
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def serve_http(app: AsyncApp, wiring: Wiring, host: str, port: int, log_level: str) -> None:
    """Blocks until SIGTERM/SIGINT; uvicorn finishes in-flight requests, then the workers stop."""
    config = uvicorn.Config(build_http(app, wiring), host=host, port=port, log_level=log_level.lower(),
                            lifespan="on", access_log=False)
    _Server(config).run()


async def serve_socket_mode(app: AsyncApp, wiring: Wiring, app_token: str) -> None:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
    from slack_sdk.errors import SlackApiError

    handler = AsyncSocketModeHandler(app, app_token)
    # Ask for the first WebSocket URL here: the SDK's connect() retries a refused token forever, with a
    # traceback every ten seconds, so a wrong SLACK_APP_TOKEN would hang the process instead of failing it.
    try:
        opened = await app.client.apps_connections_open(app_token=app_token)
        handler.client.wss_uri = opened["url"]
    except SlackApiError as error:
        reason = error.response.get("error") if error.response is not None else None
        if reason != "ratelimited":  # the SDK waits out a rate limit itself
            await handler.close_async()
            log.error("Slack refused to open a Socket Mode connection (%s): SLACK_APP_TOKEN must be this app's "
                      "app-level token (xapp-...) with the connections:write scope; exiting", reason or error)
            raise SystemExit(1)
    except (aiohttp.ClientError, asyncio.TimeoutError) as error:
        log.warning("cannot reach Slack to open a Socket Mode connection yet (%s); retrying",
                    type(error).__name__)
    workers = Workers(wiring)
    await workers.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # While Slack is unreachable connect() keeps retrying; a SIGTERM meanwhile must still stop the bot.
    connecting = asyncio.ensure_future(handler.connect_async())
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait({connecting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    if connecting.done() and connecting.exception() is None:
        log.info("connected to Slack over Socket Mode")
    await stopping
    await handler.close_async()
    if not connecting.done():
        connecting.cancel()
        await asyncio.gather(connecting, return_exceptions=True)
    elif connecting.exception() is not None:
        log.error("the Socket Mode connection failed: %s", type(connecting.exception()).__name__)
    await workers.stop()
    log.info("stopped cleanly")
