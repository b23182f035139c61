"""Serving: Starlette under uvicorn for HTTP (Bolt's built-in server is for development), or Socket Mode."""
from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import aiohttp
import uvicorn
from aiohttp import web
from slack_bolt.async_app import AsyncApp
from sqlalchemy import text
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.runtime import slack_json
from bot.runtime.app import Wiring
from bot.runtime.intake import FrontDoor
from bot.runtime.ticker import Ticker
from storage import outbox

log = logging.getLogger("handoff.server")
CHECKPOINT_EVERY_SECONDS = 5.0
PRUNE_BATCH = 500
PRUNE_PAUSE_SECONDS = 0.2
GIL_SWITCH_SECONDS = 0.001


class Workers:
    """The outbox worker's and the scheduler's lives, tied to the server's."""

    def __init__(self, wiring: Wiring):
        self.wiring = wiring
        self.started = False
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._ticker = Ticker(wiring.chaser, wiring.settings.tick_seconds, wiring.metrics, prune=self.prune_outbox)
        self._session: aiohttp.ClientSession | None = None
        self._checkpointer: asyncio.Task[None] | None = None

    async def start(self) -> None:
        """Called once the server listens: never tick or deliver for a process that cannot serve."""
        self.started = True
        # One connection pool for every Slack call (Bolt's per-request clients share it): a TCP and TLS
        # handshake per call would cost more than the call.
        # slack_sdk applies its timeout only to sessions it makes itself: this one carries it (aiohttp's is 300 s).
        # Request and response bodies through orjson (bot.runtime.slack_json).
        self._session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=64),
                                              timeout=aiohttp.ClientTimeout(total=self.wiring.slack.timeout),
                                              json_serialize=slack_json.encode_text,
                                              response_class=slack_json.OrjsonResponse)
        self.wiring.slack.session = self._session
        self._stop = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self.wiring.deliverer.run(self._stop), name="outbox")
        self.wiring.deliverer.kick()  # deliver what was owed before a restart
        self._ticker.start()
        self._checkpointer = asyncio.get_running_loop().create_task(self._checkpoints(), name="checkpoints")

    async def prune_outbox(self) -> int:
        """Delete delivered outbox rows past the retention, a small batch per transaction (storage.outbox.prune
        says which rows may go); a pause between batches leaves the database to deliveries and requests."""
        cutoff = self.wiring.clock.now() - timedelta(days=self.wiring.settings.outbox_retention_days)
        total = 0
        while True:
            deleted = await self.wiring.db.run(outbox.prune, cutoff, PRUNE_BATCH)
            total += deleted
            if deleted < PRUNE_BATCH or self._stop.is_set():
                return total
            await asyncio.sleep(PRUNE_PAUSE_SECONDS)

    async def _checkpoints(self) -> None:
        while not self._stop.is_set():
            try:
                await asyncio.wait_for(self._stop.wait(), timeout=CHECKPOINT_EVERY_SECONDS)
            except TimeoutError:
                try:
                    await self.wiring.db.checkpoint_soon()
                except Exception:  # a busy database checkpoints next time
                    log.warning("WAL checkpoint failed; retrying later", exc_info=True)

    async def stop(self) -> None:
        if not self.started:
            return
        self.started = False
        await self._ticker.stop()
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
        received = time.perf_counter()
        wiring.inflight.begin()
        status = 500
        try:
            response = await front_door.handle(request)
            status = response.status_code
            return response
        finally:
            wiring.inflight.end()
            # Refused before it was read (size, signature, shape): no kind to tell.
            wiring.metrics.request(getattr(request.state, "slack_kind", "refused"), status,
                                   time.perf_counter() - received)

    async def metrics(_request: Request) -> Response:
        body, content_type = await wiring.metrics.scrape()
        return Response(body, media_type=content_type)

    async def healthz(_request: Request) -> Response:
        try:
            await wiring.db.run(_ping)
        except Exception as error:
            return JSONResponse({"ok": False, "error": type(error).__name__}, status_code=503)
        return JSONResponse({"ok": True})

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        # uvicorn runs this before it binds the port; the workers start from Server.startup, after.
        yield
        await workers.stop()
        log.info("stopped cleanly")

    routes = [
        Route("/slack/events", events, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    if wiring.settings.oauth:
        # Bolt's own install page and redirect: the state cookie, oauth.v2.access, the installation saved.
        from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler

        oauth = AsyncSlackRequestHandler(app)

        async def install(request: Request) -> Response:
            return await oauth.handle(request)

        routes += [Route("/slack/install", install, methods=["GET"]),
                   Route("/slack/oauth_redirect", install, methods=["GET"])]
    http = Starlette(routes=routes, lifespan=lifespan)
    http.state.workers = workers
    return http


def _ping(db) -> None:
    with db.engine.connect() as conn:
        conn.execute(text("SELECT 1"))


class Server(uvicorn.Server):
    """uvicorn's server for an app from `build_http`: the outbox worker and the scheduler start once the
    socket listens (uvicorn's lifespan startup runs before it binds), so a process that cannot serve
    never ticks or posts."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started and not self.should_exit:
            await self.config.app.state.workers.start()
            settle_garbage_collector()
            log.info("serving Slack requests on /slack/events")


def settle_garbage_collector() -> None:
    """Everything loaded by now (modules, the app, SQLAlchemy's tables) lives as long as the process: kept
    out of the collector's sight, a full collection walks only what requests left behind. Walking it all
    stopped every ack in flight for 100-300 ms under load a few times a minute (bench/ack_latency.py)."""
    gc.collect()
    gc.freeze()


class _Server(Server):
    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # uvicorn re-raises the signal after its graceful shutdown (exit status -15); a clean stop exits 0.
        previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def serve_http(app: AsyncApp, wiring: Wiring, sock: socket.socket, log_level: str) -> None:
    """Serves on `sock` (bound by the caller, so a port in use is its one-line error). Blocks until
    SIGTERM/SIGINT; uvicorn finishes in-flight requests, then the workers stop."""
    # The event loop shares the GIL with the database threads: at CPython's default 5 ms switch interval a
    # busy ORM thread holds back every ack the loop has ready for up to 5 ms a turn (measured in
    # bench/ack_latency.py: the acks' p99 under load).
    sys.setswitchinterval(GIL_SWITCH_SECONDS)
    # Our handler and format (LOG_FORMAT) for uvicorn's records too, at the levels bot.runtime.logs chose.
    config = uvicorn.Config(build_http(app, wiring), log_config=None, log_level=None, lifespan="on",
                            access_log=False)
    host, port = sock.getsockname()[:2]
    log.info("listening on http://%s:%d", host, port)
    _Server(config).run(sockets=[sock])


async def serve_socket_mode(app: AsyncApp, wiring: Wiring, app_token: str,
                            health_sock: socket.socket | None = None) -> None:
    from slack_sdk.errors import SlackApiError

    handler = _measured_socket_handler(app, app_token, wiring)
    # Ask for the first WebSocket URL here: the SDK's connect() retries a refused token forever, with a
    # traceback every ten seconds, so a wrong SLACK_APP_TOKEN would hang the process instead of failing it.
    try:
        opened = await app.client.apps_connections_open(app_token=app_token)
        handler.client.wss_uri = opened["url"]
    except SlackApiError as error:
        reason = error.response.get("error") if error.response is not None else None
        if reason != "ratelimited":  # the SDK waits out a rate limit itself
            await handler.close_async()
            if health_sock is not None:
                health_sock.close()
            log.error("Slack refused to open a Socket Mode connection (%s): SLACK_APP_TOKEN must be this app's "
                      "app-level token (xapp-...) with the connections:write scope; exiting", reason or error)
            raise SystemExit(1)
    except (TimeoutError, aiohttp.ClientError) as error:
        log.warning("cannot reach Slack to open a Socket Mode connection yet (%s); retrying",
                    type(error).__name__)
    health = await _serve_health(health_sock, wiring, handler) if health_sock is not None else None
    workers = Workers(wiring)
    await workers.start()  # after the health port listens, as in HTTP mode
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
    settle_garbage_collector()  # as over HTTP: the scheduler's and the listeners' collections walk only their own
    await stopping
    await handler.close_async()
    if not connecting.done():
        connecting.cancel()
        await asyncio.gather(connecting, return_exceptions=True)
    elif connecting.exception() is not None:
        log.error("the Socket Mode connection failed: %s", type(connecting.exception()).__name__)
    await workers.stop()
    if health is not None:
        await health.cleanup()
    log.info("stopped cleanly")


def _measured_socket_handler(app: AsyncApp, app_token: str, wiring: Wiring) -> Any:
    """Bolt's Socket Mode handler, counting each request and its time to the ack for /metrics as the HTTP
    route does (Bolt's own handle(), with the kind and status kept)."""
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
    from slack_bolt.adapter.socket_mode.async_internals import run_async_bolt_app, send_async_response

    from bot.runtime.metrics import request_kind

    class Measured(AsyncSocketModeHandler):
        async def handle(self, client: Any, req: Any) -> None:
            received, started_at = time.perf_counter(), time.time()  # Bolt's debug line wants wall time
            status = 500
            try:
                response = await run_async_bolt_app(self.app, req)
                status = response.status
                await send_async_response(client, req, response, started_at)
            finally:
                wiring.metrics.request(request_kind(req.payload), status, time.perf_counter() - received)

    return Measured(app, app_token)


async def _serve_health(sock: socket.socket, wiring: Wiring, handler: Any) -> web.AppRunner:
    """Socket Mode has no HTTP server of its own: a small one answers GET /healthz with the database's
    and the Slack connection's state (503 unless both are well), and GET /metrics."""

    async def healthz(_request: web.Request) -> web.Response:
        body: dict[str, Any] = {"ok": True, "database": "ok", "slack": "connected"}
        try:
            await wiring.db.run(_ping)
        except Exception as error:
            body.update(ok=False, database=type(error).__name__)
        if not await handler.client.is_connected():
            body.update(ok=False, slack="disconnected")
        return web.json_response(body, status=200 if body["ok"] else 503)

    async def metrics(_request: web.Request) -> web.Response:
        body, content_type = await wiring.metrics.scrape()
        return web.Response(body=body, headers={"Content-Type": content_type})

    health = web.Application()
    health.router.add_get("/healthz", healthz)
    health.router.add_get("/metrics", metrics)
    runner = web.AppRunner(health, access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    host, port = sock.getsockname()[:2]
    log.info("health on http://%s:%d/healthz", host, port)
    return runner
