"""What Slack hands back (button values, modal metadata) is parsed here, and anything else is None.

A value is forged or mangled as easily as it is typed: parsing must never raise and never
return half a reference. Values written before versioning (no "v") must keep working.
"""
from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.refs import MAX_ID, HandoffRef, TeamRef, blank

ids = st.integers(1, MAX_ID)
# Anything JSON can carry that is not a whole number in 1..MAX_ID.
not_whole = st.one_of(
    st.none(), st.booleans(), st.text(max_size=20), st.floats(allow_nan=False, allow_infinity=False),
    st.integers(max_value=0), st.integers(min_value=MAX_ID + 1, max_value=10**30),
    st.lists(ids, max_size=2), st.dictionaries(st.text(max_size=5), ids, max_size=2),
)
json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
                           max_leaves=10)
slugs = st.from_regex(r"\A[a-z0-9][a-z0-9-]{0,63}\Z")


@settings(max_examples=150, deadline=None)
@given(ids, ids)
def test_handoff_ref_round_trips(handoff_id: int, revision: int) -> None:
    ref = HandoffRef(handoff_id, revision)
    raw = ref.encode()
    assert HandoffRef.parse(raw) == ref
    assert json.loads(raw)["v"] == 1 and len(raw) <= 2000  # a button value holds 2,000 characters


@settings(max_examples=150, deadline=None)
@given(st.text() | st.binary() | st.integers() | st.none())
def test_handoff_ref_parse_takes_any_junk(raw: Any) -> None:
    # Random text is (all but surely) not an object with a whole "id" and "rev": never ours.
    assert HandoffRef.parse(raw) is None


@settings(max_examples=150, deadline=None)
@given(ids, not_whole, st.sampled_from(["id", "revise", "rev"]), st.sampled_from([{"v": 1}, {}]))
def test_handoff_ref_rejects_wrong_types(good: int, bad: Any, bad_key: str, version: dict[str, int]) -> None:
    id_key = "id" if bad_key == "rev" else bad_key  # "revise": the legacy spelling of "id"
    data = {**version, id_key: good, "rev": good, bad_key: bad}
    assert HandoffRef.parse(json.dumps(data)) is None


@settings(max_examples=150, deadline=None)
@given(json_values)
def test_handoff_ref_parse_never_raises_on_json(value: Any) -> None:
    result = HandoffRef.parse(json.dumps(value))
    assert result is None or isinstance(value, dict)
    assert TeamRef.parse(json.dumps(value)) is None or isinstance(value, dict)


@pytest.mark.parametrize("raw", [
    '{"v": 2, "id": 3, "rev": 2}', '{"v": "1", "id": 3, "rev": 2}', '{"v": null, "id": 3, "rev": 2}',
    '{"id": 3}', '{"rev": 2}', '{"id": 3, "rev": 2.0}', '{"id": true, "rev": 2}', '[3, 2]', '3', '"3"',
    '{"id": 3, "rev": 2', "", "x" * 5000, json.dumps({"id": 3, "rev": 2, "pad": "x" * 3000}),
])
def test_handoff_ref_examples_that_are_not_ours(raw: str) -> None:
    assert HandoffRef.parse(raw) is None


@pytest.mark.parametrize("raw", ["[" * 1400 + "]" * 1400, '{"id": ' + "[" * 1400])
def test_deeply_nested_json_is_not_ours(raw: str) -> None:
    # Under the 3,000-character cap, so it reaches json.loads.
    assert len(raw) <= 3000
    assert HandoffRef.parse(raw) is None and TeamRef.parse(raw) is None and blank(raw) is False


@pytest.mark.parametrize(("raw", "want"), [
    ('{"id": 3, "rev": 2}', HandoffRef(3, 2)),  # a card posted before versioning
    ('{"revise": 3, "rev": 2}', HandoffRef(3, 2)),  # the revise form's metadata before versioning
    ('{"v": 1, "id": 3, "rev": 2, "extra": "ignored"}', HandoffRef(3, 2)),
])
def test_legacy_and_current_values_parse(raw: str, want: HandoffRef) -> None:
    assert HandoffRef.parse(raw) == want


@pytest.mark.parametrize(("raw", "want"), [
    ("", True), (None, True), ("{}", True), ('{"v": 1}', True),
    (HandoffRef(3, 2).encode(), False), (TeamRef("emea").encode(), False), ('{"v": 2}', False), ("[]", False),
    ("not json", False),
])
def test_blank(raw: str | None, want: bool) -> None:
    assert blank(raw) is want


@settings(max_examples=150, deadline=None)
@given(slugs | st.none())
def test_team_ref_round_trips(team_id: str | None) -> None:
    assert TeamRef.parse(TeamRef(team_id).encode()) == TeamRef(team_id)


@pytest.mark.parametrize("team_id", ["", "EMEA", "-emea", "e mea", "emea/../x", "é", "a" * 65, 3, True, ["emea"]])
def test_team_ref_rejects_non_slugs(team_id: Any) -> None:
    assert TeamRef.parse(json.dumps({"v": 1, "team": team_id})) is None


def test_team_ref_rejects_a_trailing_newline() -> None:
    assert HandoffRef.parse('{"v": true, "id": 1, "rev": 1}') is None  # a version is a number, not a flag
    assert TeamRef.parse(json.dumps({"v": 1, "team": "emea\n"})) is None


def test_team_ref_legacy_and_new() -> None:
    assert TeamRef.parse('{"id": "emea"}') == TeamRef("emea")  # the edit form's key before versioning
    assert TeamRef.parse(None) == TeamRef.parse("") == TeamRef.parse('{"v": 1}') == TeamRef(None)
    assert TeamRef.parse('{"v": 2, "team": "emea"}') is None
