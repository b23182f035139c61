"""What a listener's failure answers: a payload of a shape Slack never sends is a 400 and one log line.

Listeners read payloads defensively (handlers/common.py), so what still raises a lookup or type error
here is a body nobody should have sent: no traceback for it. Anything else is a fault of ours or of
what we depend on: logged with its traceback, answered 500 so Slack retries what it can.
"""
from __future__ import annotations

import logging
from typing import Any

from slack_bolt.response import BoltResponse

log = logging.getLogger("handoff.handlers")

SHAPE_ERRORS = (LookupError, TypeError, AttributeError, ValueError, ArithmeticError)


async def listener_failed(error: Exception, body: Any) -> BoltResponse:
    kind = body.get("type") or body.get("command") if isinstance(body, dict) else None
    if isinstance(error, SHAPE_ERRORS):
        log.warning("refused a %s payload of an unexpected shape (%s: %s)", str(kind)[:40], type(error).__name__,
                    str(error)[:80])
        return BoltResponse(status=400, body="bad request")
    log.error("a %s request failed", str(kind)[:40], exc_info=error)
    return BoltResponse(status=500, body="")
