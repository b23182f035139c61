"""Who the stand-in says everyone is: the one workspace and the Handoff app installed in it."""

TEAM_ID = "T_HANDOFF"
TEAM_DOMAIN = "handoff-test"
TEAM_NAME = "Handoff Test"
BOT_USER_ID = "U_HANDOFF_BOT"
BOT_ID = "B_HANDOFF"
APP_ID = "A_HANDOFF"
