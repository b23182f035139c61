"""Which workspace a payload or an installation belongs to: the key every record is scoped by."""
from __future__ import annotations

SINGLE = ""  # the one workspace of an install without OAuth (SLACK_BOT_TOKEN)


def workspace_key(enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool = False) -> str:
    """Slack's own identity of an installation: the org's id for an org-wide (Enterprise Grid) install, whose
    data every workspace of the org shares, else the workspace's team id (unique across Slack, within a grid
    too). "" when the payload names neither: nothing it could refer to is found in any workspace."""
    if is_enterprise_install and enterprise_id:
        return enterprise_id
    return team_id or ""


def installation_of(key: str) -> tuple[str | None, str | None, bool]:
    """(enterprise_id, team_id, is_enterprise_install) of a key from workspace_key: Slack's org ids start
    with E and workspace ids with T."""
    return (key, None, True) if key.startswith("E") else (None, key, False)
