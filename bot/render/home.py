"""The Home tab."""
from __future__ import annotations

from slack_sdk.models.blocks import DividerBlock, HeaderBlock, SectionBlock
from slack_sdk.models.blocks.basic_components import MarkdownTextObject
from slack_sdk.models.views import View

from bot.render import replies
from bot.core.handoff import Handoff


def home_view(user_id: str, handoffs: list[Handoff], tz: str) -> dict:
    listing = replies.handoff_list(user_id, handoffs, tz)
    blocks = [
        HeaderBlock(text="Handoff"),
        SectionBlock(text=MarkdownTextObject(text=replies.HELP)),
        DividerBlock(),
    ]
    view = View(type="home", blocks=[b.to_dict() for b in blocks] + listing.blocks[:90])
    return view.to_dict()
