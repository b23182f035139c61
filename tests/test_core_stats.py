"""The numbers' pure parts, without Slack or SQL: durations in words, percentiles, periods in a team's zone, and
the fast working-time table against the working_time functions it stands in for."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.stats import WorkingTable, parse_period, percentile, resolve_period, working_duration
from bot.core.teams import TeamPolicy
from bot.core.working_time import add_working_time, working_time_between
from bot.render.spreadsheet import safe_cell, to_csv

UTC = timezone.utc


@pytest.mark.parametrize(("amount", "words"), [
    (timedelta(hours=3, minutes=20), "3 h 20 min"),
    (timedelta(hours=10), "10 h"),
    (timedelta(minutes=45), "45 min"),
    (timedelta(0), "0 min"),
    (timedelta(seconds=29), "0 min"),
    (timedelta(hours=1, minutes=59, seconds=40), "2 h"),
    (None, "—"),
])
def test_durations_read_as_hours_and_minutes(amount: timedelta | None, words: str) -> None:
    assert working_duration(amount) == words


def test_p90_is_a_wait_someone_had() -> None:
    hours = [timedelta(hours=h) for h in (3, 10, 3.5)]
    assert percentile(hours, 0.9) == timedelta(hours=10)
    ten = [timedelta(minutes=m) for m in range(1, 11)]
    assert percentile(ten, 0.9) == timedelta(minutes=9)
    assert percentile([], 0.9) is None


@pytest.mark.parametrize(("words", "name"), [
    ([], "last 30 days"), (["this", "week"], "this week"), (["week"], "this week"), (["quarter"], "quarter"),
    (["last", "30", "days"], "last 30 days"), (["next", "year"], None),
])
def test_periods_by_their_words(words: list[str], name: str | None) -> None:
    assert parse_period(words) == name


def test_this_week_starts_monday_midnight_in_the_zone_across_dst() -> None:
    # Wed 4 Nov 2026 in New York (EST since Sun 1 Nov): the week began Mon 2 Nov 00:00 EST = 05:00 UTC, and
    # the same stretch of the week before began Mon 26 Oct 00:00 EDT = 04:00 UTC.
    now = datetime(2026, 11, 4, 17, 0, tzinfo=UTC)
    period = resolve_period("this week", now, "America/New_York")
    assert period.start == datetime(2026, 11, 2, 5, 0, tzinfo=UTC)
    assert period.previous_start == datetime(2026, 10, 26, 4, 0, tzinfo=UTC)
    assert period.previous_end - period.previous_start == now - period.start
    quarter = resolve_period("quarter", now, "Europe/Berlin")
    assert quarter.start == datetime(2026, 9, 30, 22, 0, tzinfo=UTC)  # 1 Oct 00:00 CEST
    assert quarter.previous_start == datetime(2026, 6, 30, 22, 0, tzinfo=UTC)
    january = resolve_period("quarter", datetime(2027, 1, 10, tzinfo=UTC), "UTC")
    assert january.previous_start == datetime(2026, 10, 1, tzinfo=UTC)
    with pytest.raises(ValueError):
        resolve_period("fortnight", now, "UTC")


AMER = TeamPolicy(id="amer", name="AMER", region="AMER", channel_id="C", tz="America/New_York",
                  holiday_country="US")
BERLIN_247 = TeamPolicy(id="x", name="X", region="EMEA", channel_id="C", tz="Europe/Berlin",
                        day_start=time(7, 0), day_end=time(23, 30), holiday_country="DE", workdays=frozenset(range(7)))
LO, HI = datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
instants = st.datetimes(min_value=datetime(2025, 12, 20), max_value=datetime(2027, 1, 10), timezones=st.just(UTC))


@settings(max_examples=300, deadline=None)
@given(start=instants, end=instants, hours=st.floats(min_value=0.01, max_value=60), team=st.sampled_from([AMER,
                                                                                                          BERLIN_247]))
def test_the_table_counts_as_working_time_does(start: datetime, end: datetime, hours: float,
                                               team: TeamPolicy) -> None:
    """Across weekends, holidays and both DST changes (and outside its range, where it asks working_time)."""
    cal = team.calendar()
    table = WorkingTable(cal, LO, HI)
    assert table.between(start, end) == working_time_between(cal, start, end)
    amount = timedelta(hours=hours)
    assert table.add(start, amount) == add_working_time(cal, start, amount)


def test_a_period_end_counts_inside_it() -> None:
    cal = AMER.calendar()
    table = WorkingTable(cal, LO, HI)
    nine = datetime(2026, 11, 2, 14, 0, tzinfo=UTC)  # Mon 09:00 EST
    assert table.add(nine, timedelta(hours=8)) == datetime(2026, 11, 2, 22, 0, tzinfo=UTC)  # 17:00, not Tue 09:00


@pytest.mark.parametrize(("value", "cell"), [
    ("=SUM(A1:A9)", "'=SUM(A1:A9)"), ("+1", "'+1"), ("-1 seats", "'-1 seats"), ("@cmd", "'@cmd"),
    ("\t=1", "'\t=1"), ("Acme", "Acme"), (None, ""), (3, "3"),
])
def test_cells_a_spreadsheet_would_run_are_quoted(value: object, cell: str) -> None:
    assert safe_cell(value) == cell


def test_csv_has_a_header_and_quotes_commas() -> None:
    text = to_csv(("a", "b"), [{"a": "x, y", "b": "=1"}])
    assert text == 'a,b\r\n"x, y",\'=1\r\n'
