"""The Slack stand-in in a process of its own, for bench/ack_latency.py.

Run:  .venv/bin/python bench/standin_server.py --port 8123 --token xoxb-bench \
          --users '{"U_SDR1": ["alice", "America/New_York"]}'

Serves `SlackStandIn` (Slack's Web API on /api/<method>, response_urls on /respond/<token>) until
SIGTERM or SIGINT. On the same port, a few /bench/ endpoints give the load generator what it would
otherwise read from the stand-in object in-process:

  GET /bench/issue?user=U&channel=C&ts=TS  -> {"trigger_id", "response_url"} (trigger_id valid 3 s, as in Slack)
  GET /bench/view?id=V                     -> the stored view (404 if none)
  GET /bench/message?channel=C&ts=TS       -> {"message", "ephemeral"} (404 if none)
  GET /bench/calls?since=N&mark=ACTION_ID  -> {"total", "calls": [summary of call N, N+1, ...]}
  GET /bench/counts                        -> {"method": {"ok": n, "failed": n}}
  GET /bench/users                         -> {user id: name}
  GET /bench/channel?id=C                  -> {"name"}

A call summary carries the stand-in's record time `at` (time.time() when it answered), the method,
ok/error, the trigger_id, channel and view it named, and whether its blocks hold `mark`.
"""
from __future__ import annotations

import argparse
import collections
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from aiohttp import web  # noqa: E402

from bot.sandbox import RecordedCall, SlackStandIn  # noqa: E402


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda o: json.dumps(o, default=str))


def summarize(call: RecordedCall, mark: str) -> dict[str, Any]:
    args, response = call.args, call.response
    view = response.get("view") if isinstance(response.get("view"), dict) else {}
    channel = response.get("channel")
    return {
        "method": call.method,
        "ok": call.ok,
        "status": call.status,
        "error": response.get("error"),
        "at": call.at,
        "trigger_id": args.get("trigger_id"),
        "channel": args.get("channel") if isinstance(args.get("channel"), str) else None,
        "resp_channel": channel if isinstance(channel, str) else None,
        "ts": response.get("ts"),
        "view_id": view.get("id"),
        "callback_id": view.get("callback_id"),
        "marked": bool(mark) and mark in str(args.get("blocks")),
    }


class BenchStandIn(SlackStandIn):
    """SlackStandIn plus the /bench/ endpoints (same server, same loop: no extra thread in this process)."""

    async def _serve(self) -> None:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/respond/{token}", self._handle_response_url)
        app.router.add_get("/bench/issue", self._bench_issue)
        app.router.add_get("/bench/view", self._bench_view)
        app.router.add_get("/bench/message", self._bench_message)
        app.router.add_get("/bench/calls", self._bench_calls)
        app.router.add_get("/bench/counts", self._bench_counts)
        app.router.add_get("/bench/users", self._bench_users)
        app.router.add_get("/bench/channel", self._bench_channel)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def _bench_issue(self, request: web.Request) -> web.Response:
        q = request.query
        user = q["user"]
        return _json({
            "trigger_id": self.issue_trigger_id(user),
            "response_url": self.response_url_for(user, q.get("channel") or None, q.get("ts") or None),
        })

    async def _bench_view(self, request: web.Request) -> web.Response:
        with self._lock:
            view = self.views.get(request.query["id"])
            text = None if view is None else json.dumps(view, default=str)
        if text is None:
            return _json({"error": "no such view"}, 404)
        return web.Response(text=text, content_type="application/json")

    async def _bench_message(self, request: web.Request) -> web.Response:
        key = (request.query["channel"], request.query["ts"])
        with self._lock:
            message, ephemeral = self.messages.get(key), False
            if message is None:
                message, ephemeral = self.ephemeral_messages.get(key), True
            text = None if message is None else json.dumps({"message": message, "ephemeral": ephemeral},
                                                           default=str)
        if text is None:
            return _json({"error": "no such message"}, 404)
        return web.Response(text=text, content_type="application/json")

    async def _bench_calls(self, request: web.Request) -> web.Response:
        since = int(request.query.get("since", "0"))
        mark = request.query.get("mark", "")
        calls = self.calls
        return _json({"total": len(calls), "calls": [summarize(c, mark) for c in calls[since:]]})

    async def _bench_counts(self, _request: web.Request) -> web.Response:
        counts: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
        for call in self.calls:
            counts[call.method]["ok" if call.ok else "failed"] += 1
        return _json({method: dict(c) for method, c in sorted(counts.items())})

    async def _bench_users(self, _request: web.Request) -> web.Response:
        return _json(self.user_names())

    async def _bench_channel(self, request: web.Request) -> web.Response:
        return _json({"name": self.channel_name(request.query["id"])})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", default="xoxb-bench-token")
    parser.add_argument("--users", default="{}", help='JSON: {"U_ID": ["name", "tz"], ...}')
    args = parser.parse_args()

    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    standin = BenchStandIn(token=args.token, host=args.host, port=args.port).start()
    for user_id, (name, tz) in json.loads(args.users).items():
        standin.add_user(user_id, name, tz=tz)
    print(f"stand-in serving on {standin.url}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        standin.stop()


if __name__ == "__main__":
    main()
