"""Local stand-ins for Slack: the Web API server, a signed-request driver and a transcript renderer."""

from .driver import DriverResponse, SlackDriver, sign
from .standin import RecordedCall, SlackStandIn, StandInEvent
from .transcript import describe_event, render_blocks, render_events, render_mrkdwn, render_view

__all__ = [
    "DriverResponse",
    "RecordedCall",
    "SlackDriver",
    "SlackStandIn",
    "StandInEvent",
    "describe_event",
    "render_blocks",
    "render_events",
    "render_mrkdwn",
    "render_view",
    "sign",
]
