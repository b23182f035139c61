"""A local stand-in for Slack's Web API.

Runs an aiohttp server on loopback in its own daemon thread (with its own event
loop) so synchronous tests, scripts and other asyncio loops can all use it.
Point ``slack_sdk`` at it with ``base_url=standin.base_url``.

It answers the handful of methods Handoff uses in Slack's own response shapes,
rejects what Slack would reject (where practical), records every call and keeps
a chronological list of what people would *see* (``events``).

Many workspaces, as Slack has: ``add_workspace()``, then ``authorize()`` + oauth.v2.access (``installs``)
give each its own bot token; every call is answered as its token's workspace, which sees only its own
users and conversations (``directory``). The default workspace (T_HANDOFF, ``token``) is there from the start.
Workspaces added with an ``enterprise_id`` make an Enterprise Grid org; ``authorize_org()`` installs the app
org-wide, with one token that reaches every workspace of the org.

One module per API family (chat, conversations, users, views, auth, Socket Mode),
Block Kit checks in ``blocks``; ``server`` assembles them into ``SlackStandIn``.
"""

from .records import RecordedCall, StandInEvent
from .server import SlackStandIn
from .workspace import WorkspaceInfo

__all__ = ["RecordedCall", "SlackStandIn", "StandInEvent", "WorkspaceInfo"]
