"""What a listener's failure answers: a payload of a shape Slack never sends is a 400 and one log line.

Listeners read payloads defensively (handlers/common.py), so what still raises a lookup or type error
while a handler (or Bolt) reads the payload is a body nobody should have sent: no traceback for it.
The same error raised past the handlers, in the rules, rendering or storage, which only ever see parsed
values, is a fault of ours, as is anything else: logged with its traceback and answered 500, never
passed off as the sender's.
"""
from __future__ import annotations

import logging
import traceback
from pathlib import Path
from typing import Any

from slack_bolt.response import BoltResponse

log = logging.getLogger("handoff.handlers")

SHAPE_ERRORS = (LookupError, TypeError, AttributeError, ValueError, ArithmeticError)
_ROOT = Path(__file__).resolve().parent.parent
_HANDLERS = _ROOT / "handlers"
_OURS_PAST_THE_HANDLERS = (_ROOT / "bot", _ROOT / "storage")


def raised_reading_the_payload(error: BaseException) -> bool:
    """True when the innermost frame of ours that raised is a handler's (or there is none: Bolt's own
    parsing), False when it is in the layers that receive parsed values."""
    for frame in reversed(traceback.extract_tb(error.__traceback__)):
        path = Path(frame.filename).resolve()
        if path.is_relative_to(_HANDLERS):
            return True
        if any(path.is_relative_to(layer) for layer in _OURS_PAST_THE_HANDLERS):
            return False
    return True


async def listener_failed(error: Exception, body: Any) -> BoltResponse:
    kind = body.get("type") or body.get("command") if isinstance(body, dict) else None
    if isinstance(error, SHAPE_ERRORS) and raised_reading_the_payload(error):
        log.warning("refused a %s payload of an unexpected shape (%s: %s)", str(kind)[:40], type(error).__name__,
                    str(error)[:80])
        return BoltResponse(status=400, body="bad request")
    log.error("a %s request failed", str(kind)[:40], exc_info=error)
    return BoltResponse(status=500, body="")
