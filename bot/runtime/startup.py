"""What `handoff-bot run` checks before it serves anything: the database opens and is migrated, the
port can be bound, and Slack accepts the bot token. Each failure is one sentence and an exit status:

  1  Slack refused the token (or, in Socket Mode, the app-level token)
  2  a setting, the database or the port
"""
from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.runtime.config import Settings

EXIT_SLACK = 1
EXIT_LOCAL = 2
AUTH_TEST_PATIENCE_SECONDS = 5.0  # network trouble and Slack's 5xx are retried this long; a refusal is not
AUTH_TEST_RETRY_SECONDS = 1.0
# Slack's answers for a token that will never work, as they are: retrying cannot help.
REFUSED = {"invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired",
           "not_allowed_token_type", "no_permission", "org_login_required", "ekm_access_denied"}


class StartupError(Exception):
    """One line for the operator, and the exit status."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code


@dataclass(frozen=True)
class BotIdentity:
    user_id: str
    user: str
    team: str


def open_database(url: str) -> Any:
    """The database, migrated to head; StartupError if it cannot be opened, written or migrated."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    from storage.db import Database
    from storage.migrate import upgrade

    try:
        shown = make_url(url).render_as_string(hide_password=True)
    except Exception:
        shown = "DATABASE_URL"
    db = None
    try:
        db = Database(url)
        upgrade(db.engine)
    except (SQLAlchemyError, OSError, ImportError) as error:
        if db is not None:
            db.close()
        raise StartupError(f"cannot open the database {shown}: {_reason(error)}", EXIT_LOCAL) from None
    return db


def bind_port(host: str, port: int) -> socket.socket:
    """The HTTP socket, bound before anything starts: a port in use fails here, in one line."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds: restarts don't wait out TIME_WAIT
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise StartupError(f"cannot listen on {host}:{port}: {error.strerror or error} (set PORT or HOST)",
                           EXIT_LOCAL) from None
    return sock


async def check_bot_token(settings: Settings, patience: float = AUTH_TEST_PATIENCE_SECONDS) -> BotIdentity | str:
    """auth.test, retried on network trouble and Slack's 5xx for up to `patience` seconds. StartupError if
    Slack refuses the token. If Slack cannot be reached meanwhile, the reason, as a str: the bot serves
    anyway (an outage delays messages, the outbox keeps them), and the token is checked on the first post."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + patience
    problem = "no answer"
    while (left := deadline - loop.time()) > 0:
        client = AsyncWebClient(token=settings.bot_token, base_url=settings.api_url, timeout=max(1, int(left)),
                                retry_handlers=[])
        try:
            response = await asyncio.wait_for(client.auth_test(), timeout=left)
        except SlackApiError as error:
            data = error.response.data if isinstance(error.response.data, dict) else {}
            code = str(data.get("error") or f"http_{error.response.status_code}")
            if error.response.status_code < 500 and code != "ratelimited":
                hint = ("check the Bot User OAuth Token (xoxb-...) under OAuth & Permissions, and that the app is "
                        "installed" if code in REFUSED else "see https://api.slack.com/methods/auth.test")
                raise StartupError(f"Slack refused SLACK_BOT_TOKEN ({code}): {hint}", EXIT_SLACK) from None
            problem = f"Slack answered {code}"
        except (aiohttp.ClientError, TimeoutError, OSError) as error:
            problem = _reason(error) if str(error) else type(error).__name__
        else:
            return BotIdentity(str(response.get("user_id") or ""), str(response.get("user") or ""),
                               str(response.get("team") or ""))
        await asyncio.sleep(min(AUTH_TEST_RETRY_SECONDS, max(0.0, deadline - loop.time())))
    return problem


def _reason(error: BaseException) -> str:
    """The error's own first line, without SQLAlchemy's statement and link."""
    if isinstance(error, OSError) and error.strerror:
        return error.strerror  # not the lock file's name beside the database: the database is what to fix
    inner = getattr(error, "orig", None) or error
    text = str(inner).strip().splitlines()
    return text[0] if text else type(inner).__name__
