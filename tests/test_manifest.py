"""app.yaml is a valid Slack app manifest and declares what the code uses."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft7Validator

ROOT = Path(__file__).resolve().parent.parent
SCHEMA = ROOT.parent / "shared" / "slack" / "manifest.schema.1.0.0.json"


def manifest() -> dict:
    return yaml.safe_load((ROOT / "app.yaml").read_text())


def test_manifest_matches_slacks_schema() -> None:
    if not SCHEMA.exists():
        pytest.skip(f"Slack's manifest schema is not beside this clone ({SCHEMA}); it ships in the team's shared/ folder")
    schema = json.loads(SCHEMA.read_text())
    errors = sorted(Draft7Validator(schema).iter_errors(manifest()), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)


def test_manifest_declares_what_the_app_uses() -> None:
    m = manifest()
    commands = {c["command"]: c for c in m["features"]["slash_commands"]}
    assert "usage_hint" in commands["/handoff"]
    assert m["settings"]["interactivity"]["is_enabled"] is True
    assert m["settings"]["socket_mode_enabled"] is True
    assert m["features"]["app_home"]["home_tab_enabled"] and m["features"]["app_home"]["messages_tab_enabled"]
    assert "app_home_opened" in m["settings"]["event_subscriptions"]["bot_events"]
    scopes = set(m["oauth_config"]["scopes"]["bot"])
    assert {"commands", "chat:write", "users:read"} <= scopes
    # The fewest scopes: history only where the bot posts (to tell whether a post whose answer was lost went
    # through), nothing from group DMs it never posts to, nothing admin.
    assert {s for s in scopes if s.endswith(":history")} == {"channels:history", "groups:history", "im:history"}
    assert "im:write" in scopes  # conversations.open, for a DM's channel id
    assert not any(s.startswith("admin") for s in scopes)


def test_an_oauth_install_asks_for_the_manifests_scopes_and_hears_of_uninstalls() -> None:
    from bot.runtime.app import BOT_SCOPES

    m = manifest()
    assert sorted(BOT_SCOPES) == sorted(m["oauth_config"]["scopes"]["bot"])
    assert {"app_uninstalled", "tokens_revoked"} <= set(m["settings"]["event_subscriptions"]["bot_events"])
    # Token rotation would expire the stored tokens the outbox and the scheduler use between requests.
    assert m["settings"]["token_rotation_enabled"] is False
    # Org-ready, so an Enterprise Grid org can install it org-wide (tests/test_org_install.py).
    assert m["settings"]["org_deploy_enabled"] is True
