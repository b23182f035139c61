"""Bolt listeners, one small module per Slack surface; each registers its module-level callbacks."""
from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from handlers import (
    command,
    decision,
    errors,
    handoff_form,
    home,
    middleware,
    outcome,
    reassign,
    sdr_actions,
    stats,
    team_admin,
)


def register(app: AsyncApp, workspaces: middleware.ServicesFor, later: middleware.Later) -> None:
    app.error(errors.listener_failed)
    app.middleware(middleware.provide(workspaces, later))
    for surface in (command, handoff_form, decision, reassign, sdr_actions, outcome, home, team_admin, stats):
        surface.register(app)
