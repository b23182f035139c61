"""Logging set-up: one line per event, as text or as JSON (LOG_FORMAT=json), quiet at INFO.

Tokens are scrubbed from every record, whoever logs them (slack_sdk's debug logs do), in either format.
"""
from __future__ import annotations

import json
import logging
import re
from datetime import datetime, timezone
from typing import Any

TOKEN = re.compile(r"\b(xox[abposr]|xapp)-[A-Za-z0-9-]+")
# What every LogRecord carries: anything else on a record came from `extra=` and goes into the JSON as is.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "taskName"}
# Libraries whose INFO lines are noise for an operator: APScheduler logs every run of every job
# ("Running job…", "…executed successfully"), uvicorn its own start-up steps (ours say the same once).
_QUIET = ("apscheduler", "uvicorn", "uvicorn.error", "uvicorn.access")
# slack_sdk's Web API clients build their debug lines (each call's whole request and response, formatted)
# whenever the logger's *own* level is NOTSET, whatever level is in effect: on the event loop, for every
# call, the views.open form and Slack's echo of it included (~a fifth of the bot's CPU opening forms, in
# bench/ack_latency.py). Given the level explicitly, they are built only when they would be shown.
SLACK_CLIENT_LOGGERS = ("slack_sdk.web.async_base_client", "slack_sdk.web.base_client")


def _scrub(value: str) -> str:
    return TOKEN.sub(r"\1-[redacted]", value)


class RedactTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if TOKEN.search(message):
            record.msg, record.args = _scrub(message), None
        return True


class DropBoilerplate(logging.Filter):
    """Alembic says which dialect it uses before every migration run: two lines that are never news."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.name == "alembic.runtime.migration" and str(record.msg).startswith(_BOILERPLATE))


_BOILERPLATE = ("Context impl", "Will assume")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (ISO 8601, UTC), level, logger, message, the record's extras, and a
    traceback as one string field, so a log shipper never splits an event over lines."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value if isinstance(value, (str, int, float, bool, type(None))) or (
                    isinstance(value, list) and all(isinstance(v, (str, int)) for v in value)) else str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # The filter scrubbed the message; a token could still hide in an extra or a traceback.
        return _scrub(json.dumps(entry, ensure_ascii=False, default=str))


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        return _scrub(super().format(record))


def setup_logging(level: str = "INFO", fmt: str = "text") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    handler.addFilter(RedactTokens())
    handler.addFilter(DropBoilerplate())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Quiet by default; LOG_LEVEL=DEBUG shows everything again.
    quiet = level if level == "DEBUG" else max(logging.WARNING, logging.getLevelName(level))
    for name in _QUIET:
        logging.getLogger(name).setLevel(quiet)
    for name in SLACK_CLIENT_LOGGERS:
        logging.getLogger(name).setLevel(level)
