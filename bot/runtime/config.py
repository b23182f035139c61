"""Settings from the environment (and a `.env` file), validated in one pass.

Every problem is collected so the operator sees them all at once; tokens are
kept out of `repr` so they never reach a log line.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import find_dotenv, load_dotenv

SLACK_API_DEFAULT = "https://slack.com/api/"
USER_ID = re.compile(r"^[UW][A-Z0-9_]+$")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


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
    admins: frozenset[str] = frozenset()
    log_level: str = "INFO"
    default_tz: str = "UTC"
    min_notice_hours: int = 48
    segment_thresholds: tuple[int, int] = (100, 2000)
    regions: tuple[str, ...] = ("AMER", "EMEA", "APAC")
    tick_seconds: float = 60.0

    @property
    def socket_mode(self) -> bool:
        return self.app_token is not None


def load_settings(env: dict[str, str] | None = None, *, dotenv: bool = True) -> Settings:
    """Read and validate settings; raise ConfigError naming every problem."""
    if env is None:
        if dotenv:
            load_dotenv(find_dotenv(usecwd=True), override=False)  # the .env where the bot is started
        env = dict(os.environ)
    problems: list[str] = []

    def get(name: str) -> str | None:
        value = env.get(name, "").strip()
        return value or None

    bot_token = get("SLACK_BOT_TOKEN")
    if bot_token is None:
        problems.append("SLACK_BOT_TOKEN is missing: the bot token (xoxb-...) from OAuth & Permissions.")
    elif not bot_token.startswith("xoxb-"):
        problems.append("SLACK_BOT_TOKEN is malformed: a bot token starts with 'xoxb-'.")

    app_token = get("SLACK_APP_TOKEN")
    if app_token is not None and not app_token.startswith("xapp-"):
        problems.append("SLACK_APP_TOKEN is malformed: an app-level token starts with 'xapp-'.")

    signing_secret = get("SLACK_SIGNING_SECRET")
    if signing_secret is None and app_token is None:
        problems.append(
            "SLACK_SIGNING_SECRET is missing: needed to verify Slack's HTTP requests "
            "(or set SLACK_APP_TOKEN to use Socket Mode)."
        )

    api_url = get("SLACK_API_URL") or SLACK_API_DEFAULT
    if not re.match(r"^https?://[^\s/]+", api_url):
        problems.append(f"SLACK_API_URL is malformed: expected an http(s) URL, got {api_url!r}.")
    elif not api_url.endswith("/"):
        api_url += "/"

    database_url = get("DATABASE_URL") or "sqlite:///handoff.db"
    if "://" not in database_url:
        problems.append("DATABASE_URL is malformed: expected e.g. sqlite:///handoff.db or postgresql+psycopg://...")

    port = 3000
    if (raw := get("PORT")) is not None:
        if raw.isdigit() and 0 < int(raw) < 65536:
            port = int(raw)
        else:
            problems.append(f"PORT is malformed: expected a number from 1 to 65535, got {raw!r}.")

    host = get("HOST") or "0.0.0.0"

    admins: set[str] = set()
    for item in (get("HANDOFF_ADMINS") or "").split(","):
        item = item.strip()
        if not item:
            continue
        if USER_ID.match(item):
            admins.add(item)
        else:
            problems.append(f"HANDOFF_ADMINS has {item!r}, which is not a Slack user id (like U012AB3CD).")

    log_level = (get("LOG_LEVEL") or "INFO").upper()
    if log_level not in LOG_LEVELS:
        problems.append(f"LOG_LEVEL is malformed: expected one of {', '.join(LOG_LEVELS)}, got {log_level!r}.")

    default_tz = get("HANDOFF_DEFAULT_TZ") or "UTC"
    try:
        ZoneInfo(default_tz)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(f"HANDOFF_DEFAULT_TZ is not a known time zone: {default_tz!r}.")

    min_notice = 48
    if (raw := get("HANDOFF_MIN_NOTICE_HOURS")) is not None:
        if raw.isdigit():
            min_notice = int(raw)
        else:
            problems.append(f"HANDOFF_MIN_NOTICE_HOURS is malformed: expected whole hours, got {raw!r}.")

    thresholds = (100, 2000)
    if (raw := get("HANDOFF_SEGMENT_THRESHOLDS")) is not None:
        parts = [p.strip() for p in raw.split(",")]
        if len(parts) == 2 and all(p.isdigit() for p in parts) and int(parts[0]) < int(parts[1]):
            thresholds = (int(parts[0]), int(parts[1]))
        else:
            problems.append(
                "HANDOFF_SEGMENT_THRESHOLDS is malformed: expected 'MID,LARGE' employee counts, e.g. '100,2000'."
            )

    regions = tuple(r.strip() for r in (get("HANDOFF_REGIONS") or "AMER,EMEA,APAC").split(",") if r.strip())
    if not regions:
        problems.append("HANDOFF_REGIONS is empty: name at least one region, e.g. 'AMER,EMEA,APAC'.")

    tick_seconds = 60.0
    if (raw := get("HANDOFF_TICK_SECONDS")) is not None:
        if raw.isdigit() and int(raw) > 0:
            tick_seconds = float(raw)
        else:
            problems.append(f"HANDOFF_TICK_SECONDS is malformed: expected whole seconds above 0, got {raw!r}.")

    if problems:
        raise ConfigError(problems)
    return Settings(
        bot_token=bot_token or "",
        signing_secret=signing_secret or "",
        app_token=app_token,
        api_url=api_url,
        database_url=database_url,
        port=port,
        host=host,
        admins=frozenset(admins),
        log_level=log_level,
        default_tz=default_tz,
        min_notice_hours=min_notice,
        segment_thresholds=thresholds,
        regions=regions,
        tick_seconds=tick_seconds,
    )
