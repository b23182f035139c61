"""The front door parses form bodies itself (yarl's unquoting, in C) and hands Bolt the result: it must read
every body as Bolt's own parse_body would have, or a listener would see other fields than Slack sent (except
where Bolt reads a slash command that mentions "payload" as empty)."""
from __future__ import annotations

import json
import urllib.parse

from hypothesis import given, settings
from hypothesis import strategies as st
from slack_bolt.request.internals import parse_body

from bot.runtime.intake import _form_body

FORM = "application/x-www-form-urlencoded"
# What a form body is made of, odd pieces included: separators, escapes valid and not, '+', raw non-ASCII.
PIECES = st.sampled_from(["a", "b", "payload", "text", "=", "&", ";", "+", "%", "%2", "%25", "%26", "%3D", "%2B",
                          "%3B", "%20", "%C3%A9", "%FF", "%zz", "é", " ", "{", "}", "\"", "0"])


def bolt_reads(text: str, content_type: str = FORM) -> object:
    """Bolt's parse_body, but for one thing: Bolt reads a body in which "payload" appears only as text (a slash
    command's `/handoff payload`) as empty, and the front door reads its fields."""
    try:
        read = parse_body(text, content_type)
        if read == {} and "payload" in text and "payload" not in dict(urllib.parse.parse_qsl(text, keep_blank_values=True)):
            return dict(urllib.parse.parse_qsl(text, keep_blank_values=True))
        return read
    except ValueError as error:  # bad JSON in payload=
        return type(error)


def front_door_reads(text: str, content_type: str = FORM) -> object:
    try:
        form = _form_body(text, content_type)
        return parse_body(text, content_type) if form is None else form
    except ValueError as error:
        return type(error)


@settings(max_examples=1500, derandomize=True)
@given(st.lists(PIECES, max_size=24).map("".join))
def test_any_form_body_reads_as_bolt_reads_it(text: str) -> None:
    assert front_door_reads(text) == bolt_reads(text)


@settings(max_examples=500, derandomize=True)
@given(st.dictionaries(st.text(max_size=12), st.text(max_size=40), max_size=8))
def test_slash_command_fields_read_as_bolt_reads_them(fields: dict[str, str]) -> None:
    text = urllib.parse.urlencode(fields)
    assert front_door_reads(text) == bolt_reads(text)


@settings(max_examples=300, derandomize=True)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=30),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
                    max_leaves=20))
def test_interactive_payloads_read_as_bolt_reads_them(value: object) -> None:
    text = urllib.parse.urlencode({"payload": json.dumps(value)})
    assert front_door_reads(text) == bolt_reads(text)


def test_json_bodies_are_left_to_bolt() -> None:
    assert _form_body('{"type": "event_callback"}', "application/json") is None
    assert _form_body('{"type": "url_verification"}', FORM) is None  # Bolt reads a body starting "{" as JSON
    assert _form_body("", FORM) is None
