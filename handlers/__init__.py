"""Bolt listeners, one small module per Slack surface."""
from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.services.context import Deps
from handlers import command, decision, handoff_form, home, outcome, reassign, sdr_actions, team_admin


def register(app: AsyncApp, deps: Deps) -> None:
    for surface in (command, handoff_form, decision, reassign, sdr_actions, outcome, home, team_admin):
        surface.register(app, deps)
