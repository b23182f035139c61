"""Who the stand-in says everyone is: the workspaces and the Handoff app installed in them."""

from __future__ import annotations

from dataclasses import dataclass

# The default workspace, there from the start, and its bot token's identity.
TEAM_ID = "T_HANDOFF"
TEAM_DOMAIN = "handoff-test"
TEAM_NAME = "Handoff Test"
BOT_USER_ID = "U_HANDOFF_BOT"
BOT_ID = "B_HANDOFF"
APP_ID = "A_HANDOFF"  # one app, installed in every workspace


@dataclass(frozen=True)
class WorkspaceInfo:
    """A workspace (team) and the app's bot user in it."""

    team_id: str
    name: str
    domain: str
    bot_user_id: str
    bot_id: str
    enterprise_id: str | None = None
    enterprise_name: str | None = None
    app_id: str = APP_ID
    # An Enterprise Grid org as an org-wide install's token sees it: team_id is the org's id (E…), and the
    # token, its bot user and its bot reach every workspace of the org.
    org_wide: bool = False

    @property
    def url(self) -> str:
        return f"https://{self.domain}.{'enterprise.' if self.org_wide else ''}slack.com/"

    @property
    def general_channel_id(self) -> str:
        """Every workspace has a #general; the default one's id is C_GENERAL."""
        return "C_GENERAL" if self.team_id == TEAM_ID else f"C_GENERAL_{self.team_id}"

    def enterprise(self) -> dict[str, str] | None:
        """Slack's ``enterprise`` object (``null`` outside Enterprise Grid)."""
        if self.enterprise_id is None:
            return None
        return {"id": self.enterprise_id, "name": self.enterprise_name or self.enterprise_id}


DEFAULT_WORKSPACE = WorkspaceInfo(TEAM_ID, TEAM_NAME, TEAM_DOMAIN, BOT_USER_ID, BOT_ID)


def org_of(enterprise_id: str, name: str | None) -> WorkspaceInfo:
    """An Enterprise Grid org as the caller of an org-wide install's token (one bot user for the whole org)."""
    label = name or enterprise_id
    return WorkspaceInfo(enterprise_id, label, enterprise_id.lower().replace("_", "-"), f"W_BOT_{enterprise_id}",
                         f"B_{enterprise_id}", enterprise_id, label, org_wide=True)
