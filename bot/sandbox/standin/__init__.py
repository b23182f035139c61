"""A local stand-in for Slack's Web API.

Runs an aiohttp server on loopback in its own daemon thread (with its own event
loop) so synchronous tests, scripts and other asyncio loops can all use it.
Point ``slack_sdk`` at it with ``base_url=standin.base_url``.

It answers the handful of methods Handoff uses in Slack's own response shapes,
rejects what Slack would reject (where practical), records every call and keeps
a chronological list of what people would *see* (``events``).

One module per API family (chat, conversations, users, views, auth, Socket Mode),
Block Kit checks in ``blocks``; ``server`` assembles them into ``SlackStandIn``.
"""

from .records import RecordedCall, StandInEvent
from .server import SlackStandIn

__all__ = ["RecordedCall", "SlackStandIn", "StandInEvent"]
