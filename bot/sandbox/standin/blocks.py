"""Block Kit checks: what Slack refuses in a message's or a view's blocks, and the ids it fills in."""

from __future__ import annotations

import copy
import secrets
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block

from .wire import ApiError, Unparseable

MAX_MESSAGE_BLOCKS = 50
MAX_TEXT_CHARS = 40_000


def check_message_content(args: dict[str, Any]) -> list[dict[str, Any]] | None:
    """A message's text and blocks as Slack checks them; the validated blocks, or None if none were sent."""
    text = args.get("text")
    blocks = args.get("blocks")
    if not text and not blocks and not args.get("attachments"):
        raise ApiError("no_text")
    if text is not None and len(str(text)) > MAX_TEXT_CHARS:
        raise ApiError("msg_too_long")
    if blocks is None:
        return None
    return validate_blocks(blocks, MAX_MESSAGE_BLOCKS)


def validate_blocks(blocks: Any, limit: int, *, error: str = "invalid_blocks") -> list[dict[str, Any]]:
    if isinstance(blocks, Unparseable) or not isinstance(blocks, list):
        raise ApiError(error, "[ERROR] blocks must be a JSON array")
    if len(blocks) > limit:
        raise ApiError(error, f"[ERROR] no more than {limit} items allowed [json-pointer:/blocks]")
    out: list[dict[str, Any]] = []
    for i, raw in enumerate(blocks):
        if not isinstance(raw, dict):
            raise ApiError(error, f"[ERROR] block must be an object [json-pointer:/blocks/{i}]")
        try:
            parsed = Block.parse(copy.deepcopy(raw))
            if parsed is None:
                raise SlackObjectFormationError(f"unsupported block type {raw.get('type')!r}")
            parsed.validate_json()
        except (SlackObjectFormationError, TypeError, ValueError, KeyError, AttributeError) as exc:
            raise ApiError(error, f"[ERROR] {exc} [json-pointer:/blocks/{i}]")
        block = copy.deepcopy(raw)
        # Slack fills in ids the app left out; state.values is keyed by them.
        block.setdefault("block_id", f"b{i}{secrets.token_hex(2)}")
        for el in _elements(block):
            if el.get("type") not in ("image", "plain_text", "mrkdwn") and "action_id" not in el:
                el["action_id"] = f"a{secrets.token_hex(3)}"
        out.append(block)
    seen: set[str] = set()
    for b in out:
        if b["block_id"] in seen:
            raise ApiError(error, f"[ERROR] duplicate block_id {b['block_id']!r}")
        seen.add(b["block_id"])
    return out


def _elements(block: dict[str, Any]) -> list[dict[str, Any]]:
    """Interactive elements carried by a block."""
    if block.get("type") == "actions":
        return [e for e in block.get("elements", []) if isinstance(e, dict)]
    if block.get("type") == "input" and isinstance(block.get("element"), dict):
        return [block["element"]]
    if block.get("type") == "section" and isinstance(block.get("accessory"), dict):
        acc = block["accessory"]
        return [] if acc.get("type") == "image" else [acc]
    return []
