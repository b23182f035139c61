"""A bare Bolt app whose listeners only ack, served as Handoff serves itself, for bench/ack_latency.py.

Run:  SLACK_BOT_TOKEN=xoxb-... SLACK_SIGNING_SECRET=... SLACK_API_URL=http://127.0.0.1:8123/api/ \
      HOST=127.0.0.1 PORT=8124 .venv/bin/python bench/bare_app.py [--process-before-response]

Starlette + uvicorn (log level warning, no access log, lifespan on) through AsyncSlackRequestHandler,
like bot.runtime.server.serve_http; one listener per request kind the benchmark sends (`/handoff`, the handoff
form's view_submission, the Accept button), each only `await ack()`. GET /healthz answers {"ok": true}.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import uvicorn  # noqa: E402
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler  # noqa: E402
from slack_bolt.async_app import AsyncAck, AsyncApp  # noqa: E402
from slack_sdk.web.async_client import AsyncWebClient  # noqa: E402
from starlette.applications import Starlette  # noqa: E402
from starlette.requests import Request  # noqa: E402
from starlette.responses import JSONResponse, Response  # noqa: E402
from starlette.routing import Route  # noqa: E402

from bot.render.cards import ACCEPT  # noqa: E402
from bot.render.modals import HANDOFF_CALLBACK  # noqa: E402


def build(process_before_response: bool) -> Starlette:
    client = AsyncWebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"], timeout=10)
    app = AsyncApp(client=client, signing_secret=os.environ["SLACK_SIGNING_SECRET"],
                   process_before_response=process_before_response)

    @app.command("/handoff")
    async def _command(ack: AsyncAck) -> None:
        await ack()

    @app.view(HANDOFF_CALLBACK)
    async def _submission(ack: AsyncAck) -> None:
        await ack()

    @app.action(ACCEPT)
    async def _accept(ack: AsyncAck) -> None:
        await ack()

    handler = AsyncSlackRequestHandler(app)

    async def events(request: Request) -> Response:
        return await handler.handle(request)

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"ok": True})

    return Starlette(routes=[
        Route("/slack/events", events, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--process-before-response", action="store_true",
                        help="Bolt's process_before_response=True (default False, as in Bolt)")
    args = parser.parse_args()
    config = uvicorn.Config(build(args.process_before_response), host=os.environ.get("HOST", "127.0.0.1"),
                            port=int(os.environ["PORT"]), log_level=os.environ.get("LOG_LEVEL", "warning").lower(),
                            lifespan="on", access_log=False)
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
