"""The command line: `handoff-bot run | migrate | config export | config import FILE | doctor | export | demo`.

The admin commands say first, on stderr, which database they use (a password never shown)."""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

from bot.runtime.config import LOG_FORMATS, ConfigError, Settings, load_settings
from bot.runtime.dburl import display_url
from bot.runtime.logs import setup_logging
from bot.runtime.version import version

log = logging.getLogger("handoff")
T = TypeVar("T")


def _settings() -> Settings:
    try:
        return load_settings()
    except ConfigError as error:
        print("handoff-bot: cannot start; fix these settings (environment or .env):", file=sys.stderr)
        for problem in error.problems:
            print(f"  - {problem}", file=sys.stderr)
        raise SystemExit(2)


def cmd_run(_args: argparse.Namespace) -> int:
    """Checks before serving, each failing in one line with its exit status (bot.runtime.startup): the
    database opens and is migrated, the port binds, Slack accepts the token. Logging starts after them,
    so a failed start prints nothing but its reason."""
    from bot.runtime.startup import StartupError, bind_port, check_bot_token, open_database

    settings = _settings()
    db = sock = None
    # A stop asked for while checking (a deploy rolled back, say) is a clean stop, not a kill by signal;
    # the servers below put their own handlers in place.
    signal.signal(signal.SIGTERM, _stop_before_serving)
    try:
        db = open_database(settings.database_url)
        port = settings.health_port if settings.socket_mode else settings.port
        sock = bind_port(settings.host, port) if port is not None else None
        # With OAuth there is no one token to check: each workspace's comes with its installation.
        identity = None if settings.oauth else asyncio.run(_unless_stopped(check_bot_token(settings)))
        signal.signal(signal.SIGTERM, _stop_before_serving)  # asyncio.run put the default back
    except StartupError as error:
        if sock is not None:
            sock.close()
        if db is not None:
            db.close()
        print(f"handoff-bot: {error}", file=sys.stderr)
        return error.exit_code
    setup_logging(settings.log_level, settings.log_format)
    log.info("handoff-bot %s starting; database %s", version(), display_url(settings.database_url),
             extra={"version": version(), "database": display_url(settings.database_url)})
    if settings.oauth:
        log.info("installing into many workspaces through Slack's OAuth flow: /slack/install")
    elif isinstance(identity, str):
        log.warning("could not check SLACK_BOT_TOKEN with Slack at %s (%s); serving anyway: what the bot owes "
                    "Slack waits in the outbox", settings.api_url, identity)
    elif identity is not None:
        log.info("Slack knows this bot as @%s (%s) in %s", identity.user, identity.user_id, identity.team)
    from bot.runtime.app import build_app
    from bot.runtime.server import serve_http, serve_socket_mode

    app, deps = build_app(settings, db)
    try:
        if settings.socket_mode:
            assert settings.app_token
            asyncio.run(serve_socket_mode(app, deps, settings.app_token, sock))
        else:
            assert sock is not None
            serve_http(app, deps, sock, settings.log_level)
    finally:
        db.close()
    return 0


def _stop_before_serving(_signum: int, _frame: Any) -> None:
    raise SystemExit(0)


async def _unless_stopped(coro: Coroutine[Any, Any, T]) -> T:
    """`coro`, unless SIGTERM comes first: then a clean exit (a handler raising inside the event loop
    would leave the task's exception unretrieved, and logged with a traceback)."""
    task = asyncio.ensure_future(coro)
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    try:
        return await task
    except asyncio.CancelledError:
        raise SystemExit(0) from None


def _database_url() -> str:
    """DATABASE_URL alone (migrating and team config need no Slack tokens), announced on stderr: an operator
    with two databases about sees which one a command is about to read or change."""
    try:
        url = load_settings().database_url
    except ConfigError:
        import os

        url = (os.environ.get("DATABASE_URL") or "").strip() or "sqlite:///handoff.db"
    print(f"database: {display_url(url)}", file=sys.stderr, flush=True)
    return url


@contextlib.contextmanager
def _admin_database(url: str) -> Iterator[Any]:
    """The database, migrated to head, for an admin command; one line and its exit status if it cannot
    be opened (as `run` and `migrate` say it), never a traceback."""
    from bot.runtime.startup import StartupError, open_database

    try:
        db = open_database(url)
    except StartupError as error:
        print(f"handoff-bot: {error}", file=sys.stderr)
        raise SystemExit(error.exit_code) from None
    try:
        yield db
    finally:
        db.close()


def _log_format() -> str:
    """LOG_FORMAT for the admin commands, which start without the bot's full settings."""
    import os

    value = (os.environ.get("LOG_FORMAT") or "").strip().lower()
    return value if value in LOG_FORMATS else "text"


def cmd_migrate(_args: argparse.Namespace) -> int:
    from bot.runtime.startup import StartupError, open_database
    from storage.migrate import current_revision

    url = _database_url()
    setup_logging("INFO", _log_format())
    try:
        db = open_database(url)  # under the migration lock: of two at once, the second waits and finds head
    except StartupError as error:
        print(f"handoff-bot: {error}", file=sys.stderr)
        return error.exit_code
    print(f"database at revision {current_revision(db.engine)}")
    db.close()
    return 0


def cmd_config_export(args: argparse.Namespace) -> int:
    from bot.core.team_config import dump_teams
    from storage.teams import load_teams

    with _admin_database(_database_url()) as db:
        sys.stdout.write(dump_teams(load_teams(db.scoped(args.workspace))))
    return 0


def cmd_config_import(args: argparse.Namespace) -> int:
    """Validate the file, show what it would change against the database, then replace every team with
    it. A file that would remove whole teams is refused unless --replace says so; --dry-run changes
    nothing (and exits as the import would: 2 if it would be refused)."""
    from datetime import datetime, timezone
    from pathlib import Path

    from bot.core.team_config import TeamConfigError, parse_teams
    from bot.core.team_diff import describe, diff_teams
    from storage.teams import load_teams, replace_teams

    url = _database_url()
    path = Path(args.file)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        print(f"handoff-bot: cannot read {path}: {error}", file=sys.stderr)
        return 2
    try:
        teams = parse_teams(text, source=str(args.file))
    except TeamConfigError as error:
        # Validated before the database is even opened: a bad file changes nothing.
        print(f"handoff-bot: {path} refused, nothing changed; fix these:", file=sys.stderr)
        for problem in error.errors:
            print(problem, file=sys.stderr)
        return 2
    with _admin_database(url) as root:
        db = root.scoped(args.workspace)
        change = diff_teams(load_teams(db), teams)
        print(f"{path} against the database:")
        for line in describe(change):
            print(f"  {line}")
        if change.destructive and not args.replace:
            gone = ", ".join(t.id for t in change.removed)
            print(f"handoff-bot: {path} would remove team{'s' * (len(change.removed) != 1)} {gone}; nothing "
                  "changed. Run again with --replace if that is meant.", file=sys.stderr)
            return 2
        if args.dry_run:
            print("dry run: nothing changed")
            return 0
        if change.empty:
            return 0
        replace_teams(db, teams, datetime.now(timezone.utc))
    members = sum(len(t.members) for t in teams)
    print(f"{len(teams)} team{'s' * (len(teams) != 1)}, {members} member{'s' * (members != 1)} imported")
    return 0


def cmd_doctor(args: argparse.Namespace) -> int:
    """What is stuck and why: messages Slack refused for good, and posts whose fate is unknown."""
    from datetime import datetime, timezone

    from storage import outbox

    with _admin_database(_database_url()) as db:
        if args.retry:
            for row_id in args.retry:
                done = outbox.requeue(db, row_id, datetime.now(timezone.utc))
                print(f"outbox #{row_id}: {'queued again' if done else 'not stuck (nothing to do)'}")
            return 0
        totals = outbox.counts(db)
        print("outbox: " + (", ".join(f"{n} {status}" for status, n in sorted(totals.items())) or "empty"))
        rows = outbox.stuck(db)
        if not rows:
            print("nothing stuck")
            return 0
        print(f"{len(rows)} stuck:")
        for row in rows:
            handoff = f"H-{row.handoff_id}" if row.handoff_id else "—"
            where = f"{row.workspace}/" if row.workspace else ""  # with OAuth: which workspace
            print(f"  #{row.id} {row.status:<8} {handoff:<8} {row.op} {row.view} to {where}{row.conversation}: "
                  f"{row.last_error or 'no error recorded'} (attempts {row.attempts})")
        print(_DOCTOR_HINTS)
        return 1


_DOCTOR_HINTS = """What to do:
  channel_not_found / not_in_channel: invite the bot to the team's channel (/invite @Handoff), or fix the
    team's channel id (handoff-bot config export/import); then `handoff-bot doctor --retry ID`.
  user_not_found / account_inactive: the person left; reassign their handoffs (/handoff show H-42).
  unknown: a post's answer was lost and the bot may not read the conversation back to see whether it
    went through (missing_scope: reinstall the app from app.yaml for its history scopes; not_in_channel:
    invite the bot); then `handoff-bot doctor --retry ID` (it looks again before posting). Older rows
    (no error naming history) were parked by an earlier version: check Slack first, then --retry."""


# --- export: the handoffs of a stretch of days as CSV, for revenue operations --------------------------


def cmd_export(args: argparse.Namespace) -> int:
    """`handoff-bot export --from 2026-10-01 --to 2026-10-31 [--team amer] [--out FILE]`: the handoffs submitted
    from the first day through the last (UTC days), one CSV line each; stdout without --out."""
    from datetime import date, datetime, timedelta, timezone
    from pathlib import Path

    from bot.core.stats import EXPORT_COLUMNS, export_rows
    from bot.render.spreadsheet import to_csv
    from storage.stats import Scope, export_inputs
    from storage.teams import load_teams

    try:
        first, last = date.fromisoformat(args.date_from), date.fromisoformat(args.date_to)
    except ValueError as error:
        print(f"handoff-bot: --from and --to are days like 2026-10-31 ({error})", file=sys.stderr)
        return 2
    if last < first:
        print("handoff-bot: --to is before --from", file=sys.stderr)
        return 2
    start = datetime.combine(first, datetime.min.time(), timezone.utc)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), timezone.utc)
    with _admin_database(_database_url()) as root:
        db = root.scoped(args.workspace)
        teams = {t.id: t for t in load_teams(db)}
        if args.team and args.team not in teams:
            print(f"handoff-bot: there is no team {args.team!r} (teams: {', '.join(sorted(teams)) or 'none'})",
                  file=sys.stderr)
            return 2
        rows, decisions = export_inputs(db, Scope(team_id=args.team), start, end)
        text = to_csv(EXPORT_COLUMNS, export_rows(rows, decisions, start, end, teams, datetime.now(timezone.utc)))
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8", newline="")
        print(f"{len(rows)} handoffs written to {args.out}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def _add_export(sub: Any) -> None:
    export = sub.add_parser("export", help="write the handoffs submitted between two days as CSV")
    export.add_argument("--from", dest="date_from", required=True, metavar="YYYY-MM-DD", help="first day (UTC)")
    export.add_argument("--to", dest="date_to", required=True, metavar="YYYY-MM-DD", help="last day, included")
    export.add_argument("--team", help="one team's handoffs (its id); all teams without it")
    export.add_argument("--out", metavar="FILE", help="write here instead of stdout")
    _add_workspace(export)
    export.set_defaults(fn=cmd_export)


def _add_workspace(parser: argparse.ArgumentParser) -> None:
    import os

    parser.add_argument("--workspace", metavar="TEAM_ID",
                        default=(os.environ.get("HANDOFF_WORKSPACE") or "").strip(),
                        help="with OAuth: which installed workspace (its team id, or the org's E... id for an org-wide "
                             "install; $HANDOFF_WORKSPACE); without OAuth leave it out: the one workspace")


def cmd_workspaces(args: argparse.Namespace) -> int:
    """The workspaces the database holds records of, installed or not, with how many handoffs and teams each;
    `--adopt TEAM_ID` moves the records of the install without OAuth ("") into that workspace; with `--from KEY`,
    those of the workspace KEY (one of an Enterprise Grid org's workspaces, now served by the org's install)."""
    import os

    from sqlalchemy import func, select

    from bot.core.workspaces import installation_of
    from bot.runtime.installs import InstallationStore
    from storage.models import HandoffRow, Team
    from storage.workspaces import AdoptConflict, adopt

    with _admin_database(_database_url()) as db:
        if args.adopt:
            try:
                moved = adopt(db, args.adopt, args.source)
            except AdoptConflict as error:
                print(f"handoff-bot: {error}", file=sys.stderr)
                return 2
            print(f"moved into {args.adopt}: " + ", ".join(f"{n} {t}" for t, n in moved.items()))
            return 0
        settings_id = (os.environ.get("SLACK_CLIENT_ID") or "").strip()
        installed = InstallationStore(db, settings_id).installed(db) if settings_id else set()
        with db.read() as session:
            handoffs = dict(session.execute(select(HandoffRow.workspace, func.count())
                                            .group_by(HandoffRow.workspace)).all())
            teams = dict(session.execute(select(Team.workspace, func.count()).group_by(Team.workspace)).all())
        keys = sorted(set(handoffs) | set(teams) | installed)
        if not keys:
            print("no workspaces yet")
        for key in keys:
            name = key or '"" (without OAuth)'
            state = "installed" if key in installed else ("" if not key else "not installed")
            if key in installed and installation_of(key)[2]:
                state = "installed org-wide"  # an Enterprise Grid org's: every workspace of the org
            print(f"{name:<24} {handoffs.get(key, 0):>8} handoffs {teams.get(key, 0):>4} teams  {state}".rstrip())
    return 0


def build_parser() -> tuple[argparse.ArgumentParser, Any]:
    """The parser and its subcommands; bot.cli adds the demo, which lives in the sandbox."""
    parser = argparse.ArgumentParser(prog="handoff-bot", description="The SDR → AE handoff, in Slack.")
    parser.add_argument("--version", action="version", version=f"handoff-bot {version()}")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("run", help="serve Slack (HTTP on $PORT, or Socket Mode with $SLACK_APP_TOKEN)").set_defaults(
        fn=cmd_run)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(fn=cmd_migrate)
    config = sub.add_parser("config", help="teams as code: export or import teams.yaml").add_subparsers(
        dest="action", required=True)
    exp = config.add_parser("export", help="print every team as YAML")
    _add_workspace(exp)
    exp.set_defaults(fn=cmd_config_export)
    imp = config.add_parser("import", help="validate a teams file, show what it changes, then replace all teams "
                                           "with it")
    imp.add_argument("file", help="e.g. teams.yaml")
    imp.add_argument("--replace", action="store_true", help="allow the import to remove teams the file lacks")
    imp.add_argument("--dry-run", action="store_true", help="show what would change; change nothing")
    _add_workspace(imp)
    imp.set_defaults(fn=cmd_config_import)
    doctor = sub.add_parser("doctor", help="list outbox messages that are stuck, and why (exit 1 if any)")
    doctor.add_argument("--retry", type=int, nargs="+", metavar="ID", help="queue these stuck messages again")
    doctor.set_defaults(fn=cmd_doctor)
    _add_export(sub)
    ws = sub.add_parser("workspaces", help="the workspaces with records or installed, and how much each holds")
    ws.add_argument("--adopt", metavar="TEAM_ID", help="move the records kept without OAuth into this workspace "
                                                        "(once, when moving an install to OAuth)")
    ws.add_argument("--from", dest="source", metavar="TEAM_ID", default="",
                    help="with --adopt: move this workspace's records instead (once, when the Enterprise Grid org "
                         "it belongs to installs the app org-wide: --adopt E... --from T...)")
    ws.set_defaults(fn=cmd_workspaces)
    return parser, sub
