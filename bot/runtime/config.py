"""Settings from the environment (and a `.env` file), validated in one pass.

Every problem is collected so the operator sees them all at once; tokens are
kept out of `repr` so they never reach a log line.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import find_dotenv, load_dotenv

SLACK_API_DEFAULT = "https://slack.com/api/"
USER_ID = re.compile(r"^[UW][A-Z0-9_]+$")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("text", "json")


MIN_RETENTION_DAYS = 15


class ConfigError(Exception):
    """Raised with one line per bad or missing setting."""

    def __init__(self, problems: list[str]):
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class Settings:
    bot_token: str = field(repr=False)
    signing_secret: str = field(repr=False)
    app_token: str | None = field(default=None, repr=False)
    api_url: str = SLACK_API_DEFAULT
    database_url: str = "sqlite:///handoff.db"
    port: int = 3000
    host: str = "0.0.0.0"
    health_port: int | None = None  # Socket Mode's GET /healthz; HTTP mode answers it on `port`
    admins: frozenset[str] = frozenset()
    log_level: str = "INFO"
    log_format: str = "text"  # or "json": one object per line, for a log shipper
    default_tz: str = "UTC"
    min_notice_hours: int = 48
    segment_thresholds: tuple[int, int] = (100, 2000)
    regions: tuple[str, ...] = ("AMER", "EMEA", "APAC")
    tick_seconds: float = 60.0
    outbox_lease_seconds: float = 60.0
    lookup_deadline_seconds: float = 1.0  # users.info before an ack; a fallback zone past it
    channel_post_interval: float = 1.0  # seconds between posts to one channel, across every copy of the bot
    outbox_retention_days: int = 30  # delivered outbox rows of finished handoffs are deleted after this
    # Many workspaces: Slack's OAuth install flow (SLACK_CLIENT_ID and SLACK_CLIENT_SECRET) instead of one token.
    client_id: str = ""
    client_secret: str = field(default="", repr=False)
    oauth_redirect_uri: str | None = None  # https://<host>/slack/oauth_redirect, as in the app's OAuth settings

    @property
    def socket_mode(self) -> bool:
        return self.app_token is not None

    @property
    def oauth(self) -> bool:
        return bool(self.client_id)


class _Env:
    """The environment being read, and every problem found so far (reported together, in reading order)."""

    def __init__(self, env: dict[str, str]):
        self.env = env
        self.problems: list[str] = []

    def get(self, name: str) -> str | None:
        """The trimmed value; blank counts as unset."""
        value = self.env.get(name, "").strip()
        return value or None

    def problem(self, message: str) -> None:
        self.problems.append(message)


def _slack(e: _Env) -> dict[str, Any]:
    """Tokens and API address; the signing secret is optional in Socket Mode (an app token is set)."""
    bot_token = e.get("SLACK_BOT_TOKEN")
    client_id, client_secret = e.get("SLACK_CLIENT_ID"), e.get("SLACK_CLIENT_SECRET")
    oauth = client_id is not None or client_secret is not None
    if oauth:
        if client_id is None or client_secret is None:
            e.problem("SLACK_CLIENT_ID and SLACK_CLIENT_SECRET go together (Basic Information > App Credentials): "
                      "set both to install into many workspaces, or neither and SLACK_BOT_TOKEN for one.")
        if bot_token is not None:
            e.problem("SLACK_BOT_TOKEN is set with SLACK_CLIENT_ID: with OAuth each workspace's token comes from "
                      "its installation; unset SLACK_BOT_TOKEN.")
        if e.get("SLACK_APP_TOKEN") is not None:
            e.problem("SLACK_APP_TOKEN is set with SLACK_CLIENT_ID: Socket Mode serves one workspace; for many, "
                      "serve HTTP (unset SLACK_APP_TOKEN) or for one, use SLACK_BOT_TOKEN without OAuth.")
    elif bot_token is None:
        e.problem("SLACK_BOT_TOKEN is missing: the bot token (xoxb-...) from OAuth & Permissions "
                  "(or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET to install into many workspaces).")
    if bot_token is not None and not bot_token.startswith("xoxb-"):
        e.problem("SLACK_BOT_TOKEN is malformed: a bot token starts with 'xoxb-'.")
    redirect = e.get("SLACK_OAUTH_REDIRECT_URI")
    if redirect is not None and not re.match(r"^https?://[^\s/]+/\S*$", redirect):
        e.problem(f"SLACK_OAUTH_REDIRECT_URI is malformed: expected the full URL of /slack/oauth_redirect, got "
                  f"{redirect!r}.")

    app_token = e.get("SLACK_APP_TOKEN")
    if app_token is not None and not app_token.startswith("xapp-"):
        e.problem("SLACK_APP_TOKEN is malformed: an app-level token starts with 'xapp-'.")

    signing_secret = e.get("SLACK_SIGNING_SECRET")
    if signing_secret is None and app_token is None:
        e.problem(
            "SLACK_SIGNING_SECRET is missing: needed to verify Slack's HTTP requests "
            "(or set SLACK_APP_TOKEN to use Socket Mode)."
        )

    api_url = e.get("SLACK_API_URL") or SLACK_API_DEFAULT
    if not re.match(r"^https?://[^\s/]+", api_url):
        e.problem(f"SLACK_API_URL is malformed: expected an http(s) URL, got {api_url!r}.")
    elif not api_url.endswith("/"):
        api_url += "/"
    return {"bot_token": bot_token or "", "app_token": app_token, "signing_secret": signing_secret or "",
            "api_url": api_url, "client_id": client_id or "", "client_secret": client_secret or "",
            "oauth_redirect_uri": redirect}


def _server(e: _Env) -> dict[str, Any]:
    """Where the data lives and where the HTTP server listens."""
    database_url = e.get("DATABASE_URL") or "sqlite:///handoff.db"
    if "://" not in database_url:
        e.problem("DATABASE_URL is malformed: expected e.g. sqlite:///handoff.db or postgresql+psycopg://...")

    port = 3000
    if (raw := e.get("PORT")) is not None:
        if raw.isdigit() and 0 < int(raw) < 65536:
            port = int(raw)
        else:
            e.problem(f"PORT is malformed: expected a number from 1 to 65535, got {raw!r}.")
    # Socket Mode serves only GET /healthz: on HANDOFF_HEALTH_PORT, else on PORT if that is set, else not at all.
    health_port = port if e.get("PORT") is not None else None
    if (raw := e.get("HANDOFF_HEALTH_PORT")) is not None:
        if raw.isdigit() and 0 < int(raw) < 65536:
            health_port = int(raw)
        else:
            e.problem(f"HANDOFF_HEALTH_PORT is malformed: expected a number from 1 to 65535, got {raw!r}.")
    return {"database_url": database_url, "port": port, "host": e.get("HOST") or "0.0.0.0",
            "health_port": health_port}


def _operations(e: _Env) -> dict[str, Any]:
    """Who administers the bot, how much it logs, and the zone used when nothing better is known."""
    admins: set[str] = set()
    for item in (e.get("HANDOFF_ADMINS") or "").split(","):
        item = item.strip()
        if not item:
            continue
        if USER_ID.match(item):
            admins.add(item)
        else:
            e.problem(f"HANDOFF_ADMINS has {item!r}, which is not a Slack user id (like U012AB3CD).")

    log_level = (e.get("LOG_LEVEL") or "INFO").upper()
    if log_level not in LOG_LEVELS:
        e.problem(f"LOG_LEVEL is malformed: expected one of {', '.join(LOG_LEVELS)}, got {log_level!r}.")

    log_format = (e.get("LOG_FORMAT") or "text").lower()
    if log_format not in LOG_FORMATS:
        e.problem(f"LOG_FORMAT is malformed: expected text or json, got {log_format!r}.")

    default_tz = e.get("HANDOFF_DEFAULT_TZ") or "UTC"
    try:
        ZoneInfo(default_tz)
    except (ZoneInfoNotFoundError, ValueError):
        e.problem(f"HANDOFF_DEFAULT_TZ is not a known time zone: {default_tz!r}.")
    return {"admins": frozenset(admins), "log_level": log_level, "log_format": log_format, "default_tz": default_tz}


def _handoff_rules(e: _Env) -> dict[str, Any]:
    """Booking notice, segment thresholds and regions, and how often the scheduler ticks."""
    min_notice = 48
    if (raw := e.get("HANDOFF_MIN_NOTICE_HOURS")) is not None:
        if raw.isdigit():
            min_notice = int(raw)
        else:
            e.problem(f"HANDOFF_MIN_NOTICE_HOURS is malformed: expected whole hours, got {raw!r}.")

    thresholds = (100, 2000)
    if (raw := e.get("HANDOFF_SEGMENT_THRESHOLDS")) is not None:
        parts = [p.strip() for p in raw.split(",")]
        if len(parts) == 2 and all(p.isdigit() for p in parts) and int(parts[0]) < int(parts[1]):
            thresholds = (int(parts[0]), int(parts[1]))
        else:
            e.problem("HANDOFF_SEGMENT_THRESHOLDS is malformed: expected 'MID,LARGE' employee counts, e.g. '100,2000'.")

    regions = tuple(r.strip() for r in (e.get("HANDOFF_REGIONS") or "AMER,EMEA,APAC").split(",") if r.strip())
    if not regions:
        e.problem("HANDOFF_REGIONS is empty: name at least one region, e.g. 'AMER,EMEA,APAC'.")

    tick_seconds = 60.0
    if (raw := e.get("HANDOFF_TICK_SECONDS")) is not None:
        if raw.isdigit() and int(raw) > 0:
            tick_seconds = float(raw)
        else:
            e.problem(f"HANDOFF_TICK_SECONDS is malformed: expected whole seconds above 0, got {raw!r}.")
    lease = 60.0
    if (raw := e.get("HANDOFF_OUTBOX_LEASE_SECONDS")) is not None:
        if raw.isdigit() and int(raw) > 0:
            lease = float(raw)
        else:
            e.problem(f"HANDOFF_OUTBOX_LEASE_SECONDS is malformed: expected whole seconds above 0, got {raw!r}.")
    lookup_deadline = 1.0
    if (raw := e.get("HANDOFF_LOOKUP_DEADLINE_SECONDS")) is not None:
        try:
            lookup_deadline = float(raw)
        except ValueError:
            lookup_deadline = -1.0
        if not 0 < lookup_deadline <= 2.5:
            e.problem("HANDOFF_LOOKUP_DEADLINE_SECONDS is malformed: expected seconds above 0 and at most 2.5 "
                      f"(Slack waits 3 s for an answer), got {raw!r}.")
    interval = 1.0
    if (raw := e.get("HANDOFF_CHANNEL_POST_INTERVAL")) is not None:
        try:
            interval = float(raw)
        except ValueError:
            interval = -1.0
        if not 0 <= interval <= 60:
            e.problem("HANDOFF_CHANNEL_POST_INTERVAL is malformed: expected seconds from 0 to 60 between posts to "
                      f"one channel (Slack asks about 1), got {raw!r}.")
    retention = 30
    if (raw := e.get("HANDOFF_OUTBOX_RETENTION_DAYS")) is not None:
        if raw.isdigit() and int(raw) >= MIN_RETENTION_DAYS:
            retention = int(raw)
        else:
            e.problem(f"HANDOFF_OUTBOX_RETENTION_DAYS is malformed: expected whole days, at least "
                      f"{MIN_RETENTION_DAYS} (a weekly agenda's claim is looked at for two weeks), got {raw!r}.")
    return {"lookup_deadline_seconds": lookup_deadline, "channel_post_interval": interval,
            "outbox_retention_days": retention,
            "min_notice_hours": min_notice, "segment_thresholds": thresholds, "regions": regions,
            "tick_seconds": tick_seconds, "outbox_lease_seconds": lease}


def load_settings(env: dict[str, str] | None = None, *, dotenv: bool = True) -> Settings:
    """Read and validate settings; raise ConfigError naming every problem."""
    if env is None:
        if dotenv:
            load_dotenv(find_dotenv(usecwd=True), override=False)  # the .env where the bot is started
        env = dict(os.environ)
    e = _Env(env)
    # Every group is read before raising, so one run names every problem.
    fields = {**_slack(e), **_server(e), **_operations(e), **_handoff_rules(e)}
    if e.problems:
        raise ConfigError(e.problems)
    return Settings(**fields)
