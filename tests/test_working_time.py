"""Tests for bot.core.working_time: worked examples plus hypothesis properties."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pytest
from hypothesis import assume, HealthCheck, given, settings
from hypothesis import strategies as st
from zoneinfo import ZoneInfo

from bot.core.working_time import (
    WorkingCalendar,
    add_working_time,
    holiday_dates,
    is_working_time,
    next_working_moment,
    working_intervals,
    working_time_between,
)

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
H = timedelta(hours=1)


def berlin(*args: int) -> datetime:
    return datetime(*args, tzinfo=BERLIN)


def ny(*args: int) -> datetime:
    return datetime(*args, tzinfo=NEW_YORK)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- examples ------------------------------------------------------------------


def test_friday_afternoon_rolls_over_weekend() -> None:
    cal = WorkingCalendar("Europe/Berlin")
    # Fri 2026-06-12 16:00 + 2h -> Mon 10:00
    assert add_working_time(cal, berlin(2026, 6, 12, 16), 2 * H) == berlin(2026, 6, 15, 10)


def test_results_are_utc() -> None:
    cal = WorkingCalendar("Europe/Berlin")
    result = add_working_time(cal, berlin(2026, 6, 12, 16), 2 * H)
    assert result.tzinfo is UTC
    assert result == utc(2026, 6, 15, 8)
    assert next_working_moment(cal, berlin(2026, 6, 13, 12)).tzinfo is UTC


def test_end_of_period_belongs_to_period() -> None:
    cal = WorkingCalendar("Europe/Berlin")
    assert add_working_time(cal, berlin(2026, 6, 15, 9), 8 * H) == berlin(2026, 6, 15, 17)
    assert add_working_time(cal, berlin(2026, 6, 15, 9), 8 * H + timedelta(microseconds=1)) == berlin(
        2026, 6, 16, 9, 0, 0, 1
    )


def test_start_outside_hours() -> None:
    cal = WorkingCalendar("Europe/Berlin")
    # Saturday night + 1h -> Monday 10:00; zero amount -> the start itself.
    assert add_working_time(cal, berlin(2026, 6, 13, 22), H) == berlin(2026, 6, 15, 10)
    assert add_working_time(cal, berlin(2026, 6, 13, 22), timedelta(0)) == berlin(2026, 6, 13, 22)
    # Early morning counts from 09:00.
    assert add_working_time(cal, berlin(2026, 6, 15, 6), H) == berlin(2026, 6, 15, 10)


def test_christmas_holiday_moves_deadline() -> None:
    de = holiday_dates("DE", None, [2026])
    assert date(2026, 12, 25) in de and date(2026, 12, 26) in de
    plain = WorkingCalendar("Europe/Berlin")
    with_holidays = WorkingCalendar("Europe/Berlin", holidays=de)
    start = berlin(2026, 12, 24, 16)  # Thursday
    assert add_working_time(plain, start, 2 * H) == berlin(2026, 12, 25, 10)
    # Fri 25th is a holiday, 26th is Saturday -> Monday 28th.
    assert add_working_time(with_holidays, start, 2 * H) == berlin(2026, 12, 28, 10)


def test_thanksgiving_moves_deadline_by_a_day() -> None:
    us = holiday_dates("US", None, range(2026, 2027))
    assert date(2026, 11, 26) in us
    plain = WorkingCalendar("America/New_York")
    cal = WorkingCalendar("America/New_York", holidays=us)
    start = ny(2026, 11, 25, 15)  # Wednesday
    assert add_working_time(plain, start, 4 * H) == ny(2026, 11, 26, 11)
    assert add_working_time(cal, start, 4 * H) == ny(2026, 11, 27, 11)
    assert not is_working_time(cal, ny(2026, 11, 26, 12))
    assert next_working_moment(cal, ny(2026, 11, 26, 12)) == ny(2026, 11, 27, 9)


def test_minimum_notice_48_business_hours() -> None:
    cal = WorkingCalendar.business_days("America/New_York")
    thursday = ny(2026, 6, 11, 10)
    assert add_working_time(cal, thursday, 48 * H) == ny(2026, 6, 15, 10)
    assert working_time_between(cal, thursday, ny(2026, 6, 15, 9)) == 47 * H
    assert working_time_between(cal, ny(2026, 6, 15, 9), thursday) == -47 * H


def test_business_days_with_holidays() -> None:
    cal = WorkingCalendar.business_days("America/New_York", holidays={date(2026, 6, 12)})
    assert cal.holidays == frozenset({date(2026, 6, 12)})
    # Friday is off: Thu 14h + Mon 24h + Tue 10h.
    assert add_working_time(cal, ny(2026, 6, 11, 10), 48 * H) == ny(2026, 6, 16, 10)


def test_business_day_intervals_are_merged() -> None:
    cal = WorkingCalendar.business_days("UTC")
    got = list(working_intervals(cal, utc(2026, 6, 8), utc(2026, 6, 20)))  # Mon .. next Sat
    assert got == [(utc(2026, 6, 8), utc(2026, 6, 13)), (utc(2026, 6, 15), utc(2026, 6, 20))]


def test_working_intervals_clipped() -> None:
    cal = WorkingCalendar("Europe/Berlin")
    got = list(working_intervals(cal, berlin(2026, 6, 12, 10), berlin(2026, 6, 15, 12)))
    assert got == [
        (berlin(2026, 6, 12, 10), berlin(2026, 6, 12, 17)),
        (berlin(2026, 6, 15, 9), berlin(2026, 6, 15, 12)),
    ]
    assert list(working_intervals(cal, berlin(2026, 6, 15, 12), berlin(2026, 6, 15, 12))) == []


@pytest.mark.parametrize(
    ("zone", "friday_before", "monday_after", "before_utc_hour", "after_utc_hour"),
    [
        # Berlin: CET (+1) -> CEST (+2) on Sun 29 Mar 2026, back on Sun 25 Oct 2026.
        ("Europe/Berlin", date(2026, 3, 27), date(2026, 3, 30), 8, 7),
        ("Europe/Berlin", date(2026, 10, 23), date(2026, 10, 26), 7, 8),
        # US: EST (-5) -> EDT (-4) on Sun 8 Mar 2026, back on Sun 1 Nov 2026.
        ("America/New_York", date(2026, 3, 6), date(2026, 3, 9), 14, 13),
        ("America/New_York", date(2026, 10, 30), date(2026, 11, 2), 13, 14),
    ],
)
def test_deadlines_across_dst_change(
    zone: str, friday_before: date, monday_after: date, before_utc_hour: int, after_utc_hour: int
) -> None:
    cal = WorkingCalendar(zone)
    tz = ZoneInfo(zone)
    friday_16 = datetime.combine(friday_before, time(16), tzinfo=tz)
    deadline = add_working_time(cal, friday_16, 2 * H)  # Monday 10:00 local
    assert deadline == datetime.combine(monday_after, time(10), tzinfo=tz)
    assert deadline == datetime.combine(monday_after, time(after_utc_hour + 1), tzinfo=UTC)
    assert next_working_moment(cal, datetime.combine(friday_before, time(7), tzinfo=tz)) == datetime.combine(
        friday_before, time(before_utc_hour), tzinfo=UTC
    )
    assert next_working_moment(cal, datetime.combine(monday_after, time(7), tzinfo=tz)) == datetime.combine(
        monday_after, time(after_utc_hour), tzinfo=UTC
    )
    # Friday 16:00 -> Monday 10:00 is 2 working hours despite the 23/25-hour Sunday.
    assert working_time_between(cal, friday_16, deadline) == 2 * H


def test_nine_to_five_is_eight_hours_on_change_days() -> None:
    cal = WorkingCalendar("Europe/Berlin", workdays=frozenset(range(7)))
    for day in (date(2026, 3, 29), date(2026, 10, 25)):
        start = datetime.combine(day, time(0), tzinfo=BERLIN)
        assert working_time_between(cal, start, start + 24 * H - H) == 8 * H


def test_24h_days_follow_dst() -> None:
    cal = WorkingCalendar("Europe/Berlin", workdays=frozenset(range(7)), day_start=time(0), day_end=None)
    spring = list(working_intervals(cal, berlin(2026, 3, 29), berlin(2026, 3, 30)))
    assert spring == [(utc(2026, 3, 28, 23), utc(2026, 3, 29, 22))]
    assert working_time_between(cal, berlin(2026, 3, 29), berlin(2026, 3, 30)) == 23 * H
    assert working_time_between(cal, berlin(2026, 10, 25), berlin(2026, 10, 26)) == 25 * H
    assert working_time_between(cal, berlin(2026, 6, 7), berlin(2026, 6, 8)) == 24 * H
    # 24 working hours from Sunday midnight end at Monday 01:00 local on spring-forward day.
    assert add_working_time(cal, berlin(2026, 3, 29), 24 * H) == berlin(2026, 3, 30, 1)


def test_boundary_in_dst_gap_maps_to_end_of_gap() -> None:
    # 02:30 does not exist in Berlin on 29 Mar 2026; the day starts when clocks jump (03:00 CEST).
    cal = WorkingCalendar("Europe/Berlin", workdays=frozenset(range(7)), day_start=time(2, 30), day_end=time(4))
    assert next_working_moment(cal, utc(2026, 3, 28, 23)) == utc(2026, 3, 29, 1)
    assert working_time_between(cal, berlin(2026, 3, 29), berlin(2026, 3, 30)) == H


def test_boundary_in_dst_overlap_uses_first_occurrence() -> None:
    # 02:30 happens twice in Berlin on 25 Oct 2026; the first (CEST, 00:30 UTC) counts.
    cal = WorkingCalendar("Europe/Berlin", workdays=frozenset(range(7)), day_start=time(2, 30), day_end=time(4))
    assert next_working_moment(cal, utc(2026, 10, 24, 23)) == utc(2026, 10, 25, 0, 30)
    assert working_time_between(cal, berlin(2026, 10, 25), berlin(2026, 10, 26)) == 2 * H + 30 * timedelta(
        minutes=1
    )


def test_working_time_between_over_a_year() -> None:
    cal = WorkingCalendar("Europe/Berlin")
    # 2026 has 261 weekdays; 9-17 is 8 hours regardless of DST.
    assert working_time_between(cal, berlin(2026, 1, 1), berlin(2027, 1, 1)) == 261 * 8 * H
    de = holiday_dates("DE", None, [2026])
    weekday_holidays = sum(1 for d in de if d.weekday() < 5)
    cal_h = WorkingCalendar("Europe/Berlin", holidays=de)
    assert working_time_between(cal_h, berlin(2026, 1, 1), berlin(2027, 1, 1)) == (261 - weekday_holidays) * 8 * H


def test_is_working_time_and_next_working_moment() -> None:
    cal = WorkingCalendar("Europe/Berlin")
    assert is_working_time(cal, berlin(2026, 6, 15, 9))
    assert not is_working_time(cal, berlin(2026, 6, 15, 17))
    assert not is_working_time(cal, berlin(2026, 6, 13, 12))
    assert next_working_moment(cal, berlin(2026, 6, 15, 12)) == berlin(2026, 6, 15, 12)
    assert next_working_moment(cal, berlin(2026, 6, 15, 17)) == berlin(2026, 6, 16, 9)


def test_naive_input_rejected() -> None:
    cal = WorkingCalendar("UTC")
    naive = datetime(2026, 6, 15, 9)
    with pytest.raises(ValueError):
        add_working_time(cal, naive, H)
    with pytest.raises(ValueError):
        working_time_between(cal, naive, utc(2026, 6, 16))
    with pytest.raises(ValueError):
        is_working_time(cal, naive)
    with pytest.raises(ValueError):
        next_working_moment(cal, naive)
    with pytest.raises(ValueError):
        list(working_intervals(cal, utc(2026, 6, 15), naive))


def test_negative_amount_rejected() -> None:
    with pytest.raises(ValueError):
        add_working_time(WorkingCalendar("UTC"), utc(2026, 6, 15), -H)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"tz": "Mars/Olympus_Mons"},
        {"tz": "UTC", "workdays": frozenset()},
        {"tz": "UTC", "workdays": frozenset({7})},
        {"tz": "UTC", "workdays": frozenset({-1})},
        {"tz": "UTC", "day_start": time(17), "day_end": time(9)},
        {"tz": "UTC", "day_start": time(9), "day_end": time(9)},
    ],
)
def test_invalid_calendar(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        WorkingCalendar(**kwargs)


def test_unknown_zone_is_named() -> None:
    with pytest.raises(ValueError, match="Mars/Olympus_Mons"):
        WorkingCalendar("Mars/Olympus_Mons")


def test_calendar_without_working_time_raises() -> None:
    # Only Mondays are worked and every Monday for 4 years is a holiday.
    mondays = frozenset(date(2026, 1, 5) + timedelta(weeks=w) for w in range(4 * 53))
    cal = WorkingCalendar("UTC", workdays=frozenset({0}), holidays=mondays)
    with pytest.raises(ValueError):
        add_working_time(cal, utc(2026, 1, 1), H)
    with pytest.raises(ValueError):
        next_working_moment(cal, utc(2026, 1, 1))
    # Bounded queries still answer.
    assert not is_working_time(cal, utc(2026, 1, 5, 10))
    assert working_time_between(cal, utc(2026, 1, 1), utc(2030, 1, 1)) == timedelta(0)


def test_holiday_dates_errors_and_subdivisions() -> None:
    with pytest.raises(ValueError, match="XX"):
        holiday_dates("XX", None, [2026])
    with pytest.raises(ValueError, match="ZZ"):
        holiday_dates("DE", "ZZ", [2026])
    # Epiphany is a holiday in Bavaria, not nationally.
    assert date(2026, 1, 6) in holiday_dates("DE", "BY", [2026])
    assert date(2026, 1, 6) not in holiday_dates("DE", None, [2026])
    both = holiday_dates("US", None, iter([2026, 2027]))
    assert date(2026, 7, 4) in both and date(2027, 7, 4) in both


# --- properties ----------------------------------------------------------------

ZONES = ["Europe/Berlin", "America/New_York", "America/Los_Angeles", "Asia/Kolkata", "Australia/Sydney", "UTC"]
# Weeks containing DST changes in 2025-2027 (EU, US, Sydney), so they get sampled often.
DST_DAYS = [
    date(2025, 3, 9), date(2025, 3, 30), date(2025, 4, 6), date(2025, 10, 5), date(2025, 10, 26), date(2025, 11, 2),
    date(2026, 3, 8), date(2026, 3, 29), date(2026, 4, 5), date(2026, 10, 4), date(2026, 10, 25), date(2026, 11, 1),
    date(2027, 3, 14), date(2027, 3, 28), date(2027, 4, 4), date(2027, 10, 3), date(2027, 10, 31), date(2027, 11, 7),
]  # fmt: skip
MINUTE = timedelta(minutes=1)
PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def calendars(draw: st.DrawFn, *, avoid_dst_hours: bool = False) -> WorkingCalendar:
    zone = draw(st.sampled_from(ZONES))
    workdays = draw(st.frozensets(st.integers(0, 6), min_size=1))
    # Hours 1-3 hold every DST gap/overlap of these zones; the wall-clock oracle
    # below is only exact away from them.
    start_hours = [0, *range(4, 23)] if avoid_dst_hours else list(range(23))
    start_hour = draw(st.sampled_from(start_hours))
    start_minute = draw(st.sampled_from([0, 15, 30, 45]))
    day_start = time(start_hour, start_minute)
    end_choices: list[time | None] = [None]
    for hour in range(start_hour + 1, 24):
        if avoid_dst_hours and hour < 4:
            continue
        end_choices += [time(hour), time(hour, 30)]
    day_end = draw(st.sampled_from(end_choices))
    holidays = draw(st.frozensets(st.dates(date(2024, 12, 20), date(2028, 1, 31)), max_size=40))
    # Holidays clustered around the DST days, where the starts cluster too, so they bite.
    near_dst = st.builds(lambda d, k: d + timedelta(days=k), st.sampled_from(DST_DAYS), st.integers(-3, 3))
    near = draw(st.frozensets(near_dst, max_size=6))
    return WorkingCalendar(zone, workdays, day_start, day_end, holidays | near)


@st.composite
def instants(draw: st.DrawFn) -> datetime:
    if draw(st.booleans()):
        naive = draw(st.datetimes(datetime(2025, 1, 1), datetime(2027, 12, 31)))
        return naive.replace(tzinfo=UTC)
    day = draw(st.sampled_from(DST_DAYS))
    offset = draw(st.timedeltas(timedelta(days=-4), timedelta(days=3)))
    moment = datetime.combine(day, time(0), tzinfo=UTC) + offset
    # Sometimes on a whole local minute, which hits period boundaries exactly.
    if draw(st.booleans()):
        moment = moment.replace(second=0, microsecond=0)
    return moment


amounts = st.one_of(
    st.timedeltas(timedelta(0), timedelta(hours=200)),
    st.integers(0, 200 * 4).map(lambda q: q * timedelta(minutes=15)),
)


def in_zone(cal: WorkingCalendar, moment: datetime, flag: bool) -> datetime:
    # Feed some inputs in the calendar's zone to show the input zone doesn't matter.
    return moment.astimezone(ZoneInfo(cal.tz)) if flag else moment


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(calendars(), instants(), st.one_of(amounts, st.timedeltas(timedelta(0), timedelta(hours=4000))).filter(bool))
def test_prop_precomputed_blocks_agree_with_the_day_by_day_walk(
    cal: WorkingCalendar, start: datetime, amount: timedelta
) -> None:
    """The scheduler's fast path (periods precomputed in blocks of days) finds the very instant the walk
    finds, across DST changes, holidays, sparse weeks and additions that cross many blocks (a zero amount is
    answered before either: the start itself)."""
    from bot.core.working_time import _add_by_walking, _add_within_blocks

    start = start.astimezone(UTC)
    try:
        walked = _add_by_walking(cal, start, amount)
    except ValueError:
        assume(False)
        raise
    fast = _add_within_blocks(cal, start, amount)
    assert fast is None or fast == walked
    assert add_working_time(cal, start, amount) == walked


@PROPS
@given(calendars(), instants(), amounts, st.booleans())
def test_prop_add_then_measure_round_trips(cal: WorkingCalendar, start: datetime, amount: timedelta, local: bool) -> None:
    start = in_zone(cal, start, local)
    try:
        deadline = add_working_time(cal, start, amount)
    except ValueError:  # a deadline more than MAX_SPAN of calendar away is refused by design
        assume(False)
        raise
    assert deadline.tzinfo is UTC
    assert deadline >= start
    assert working_time_between(cal, start, deadline) == amount


@PROPS
@given(calendars(), instants(), amounts.filter(lambda d: d > timedelta(0)))
def test_prop_deadline_is_inside_working_period_or_at_its_end(
    cal: WorkingCalendar, start: datetime, amount: timedelta
) -> None:
    try:
        deadline = add_working_time(cal, start, amount)
    except ValueError:  # a deadline more than MAX_SPAN of calendar away is refused by design
        assume(False)
        raise
    just_before = deadline - timedelta(microseconds=1)
    assert is_working_time(cal, just_before)
    # Independent wall-clock check: the working day, not a weekend/holiday/off hours.
    local = just_before.astimezone(ZoneInfo(cal.tz))
    assert local.weekday() in cal.workdays
    assert local.date() not in cal.holidays
    if local.fold == 0:  # in the repeated hour after a fall-back, the wall clock runs backwards
        assert local.time() >= cal.day_start
    if cal.day_end is not None:
        assert local.time() < cal.day_end
    # Minimal: nothing earlier would do.
    assert working_time_between(cal, start, just_before) < amount


@PROPS
@given(calendars(), instants(), st.lists(st.timedeltas(timedelta(0), timedelta(days=12)), min_size=2, max_size=2))
def test_prop_between_is_additive(cal: WorkingCalendar, a: datetime, gaps: list[timedelta]) -> None:
    b = a + gaps[0]
    c = b + gaps[1]
    ab = working_time_between(cal, a, b)
    bc = working_time_between(cal, b, c)
    ac = working_time_between(cal, a, c)
    assert ab + bc == ac
    assert working_time_between(cal, c, a) == -ac
    assert timedelta(0) <= ab <= b - a
    assert ac == sum((e - s for s, e in working_intervals(cal, a, c)), timedelta(0))


@PROPS
@given(calendars(), instants(), amounts, st.dates(date(2024, 12, 25), date(2028, 1, 31)))
def test_prop_extra_holiday_never_moves_deadline_earlier(
    cal: WorkingCalendar, start: datetime, amount: timedelta, extra: date
) -> None:
    more = WorkingCalendar(cal.tz, cal.workdays, cal.day_start, cal.day_end, cal.holidays | {extra})
    try:
        later = add_working_time(more, start, amount)
    except ValueError:  # more than MAX_SPAN of calendar away: refused by design, out of this property's domain
        assume(False)
        raise
    assert later >= add_working_time(cal, start, amount)


@PROPS
@given(calendars(), instants())
def test_prop_next_working_moment_is_working(cal: WorkingCalendar, at: datetime) -> None:
    nxt = next_working_moment(cal, at)
    assert is_working_time(cal, nxt)
    assert nxt >= at
    # Nothing in [at, nxt) is working time.
    assert working_time_between(cal, at, nxt) == timedelta(0)
    assert (nxt == at) == is_working_time(cal, at)
    assert add_working_time(cal, at, timedelta(0)) == at


@PROPS
@given(calendars(), instants())
def test_prop_intervals_are_sorted_disjoint_and_clipped(cal: WorkingCalendar, start: datetime) -> None:
    end = start + timedelta(days=9)
    previous_end: datetime | None = None
    for s, e in working_intervals(cal, start, end):
        assert start <= s < e <= end
        assert s.tzinfo is UTC and e.tzinfo is UTC
        if previous_end is not None:
            assert s > previous_end  # adjacent periods are merged
        previous_end = e


def _oracle_minutes(cal: WorkingCalendar, start: datetime, minutes: int) -> int:
    """Brute force: count minutes whose local wall-clock time is inside working hours."""
    zone = ZoneInfo(cal.tz)
    count = 0
    for i in range(minutes):
        local = (start + i * MINUTE).astimezone(zone)
        if local.weekday() not in cal.workdays or local.date() in cal.holidays:
            continue
        if local.time() >= cal.day_start and (cal.day_end is None or local.time() < cal.day_end):
            count += 1
    return count


@settings(max_examples=40, deadline=None)
@given(calendars(avoid_dst_hours=True), instants().map(lambda m: m.replace(second=0, microsecond=0)))
def test_prop_matches_minute_by_minute_oracle(cal: WorkingCalendar, start: datetime) -> None:
    minutes = 3 * 24 * 60
    expected = _oracle_minutes(cal, start, minutes) * MINUTE
    assert working_time_between(cal, start, start + minutes * MINUTE) == expected
