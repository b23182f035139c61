"""Working-time arithmetic for SLAs ("4 working hours", "48 business hours").

Pure: no I/O and no system clock; every function takes the instants it needs.

Model: a calendar defines, for each local date that is a workday and not a
holiday, one working period [day_start, day_end) in the wall-clock time of
``cal.tz``. Each local boundary is converted to a UTC instant on its own, so
the real length of a period follows daylight saving time (a 24-hour business
day is 23 or 25 real hours on change days; a 9-17 day stays 8 hours). All
arithmetic is then done on those UTC intervals.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import holidays as _holidays_pkg

__all__ = [
    "WorkingCalendar",
    "add_working_time",
    "holiday_dates",
    "is_working_time",
    "next_working_moment",
    "working_intervals",
    "working_duration",
    "working_time_between",
]

UTC = timezone.utc
_ONE_DAY = timedelta(days=1)
_MICROSECOND = timedelta(microseconds=1)
# Unbounded searches give up after this many consecutive days without working
# time, so a calendar made of holidays cannot hang the scheduler.
_MAX_IDLE_DAYS = 3 * 366
# The longest span any rule measures (SLAs are hours, meetings at most a year ahead). A span past it is
# refused, not walked day by day: 9999-12-31 would otherwise cost seconds of event-loop time.
MAX_SPAN = timedelta(days=10 * 366)


@dataclass(frozen=True)
class WorkingCalendar:
    tz: str
    workdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})  # Monday = 0
    day_start: time = time(9, 0)
    day_end: time | None = time(17, 0)  # None = midnight at the end of the day
    holidays: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        if not isinstance(self.tz, str):
            raise ValueError(f"time zone must be an IANA name, got {self.tz!r}")
        try:
            ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError, OSError) as exc:
            raise ValueError(f"unknown time zone {self.tz!r}") from exc

        # Accept any iterable but store frozensets so the calendar stays hashable.
        workdays = frozenset(self.workdays)
        if not workdays:
            raise ValueError("workdays must not be empty")
        if any(not isinstance(d, int) or isinstance(d, bool) or not 0 <= d <= 6 for d in workdays):
            raise ValueError(f"workdays must be integers 0..6 (Monday = 0), got {sorted(workdays, key=str)}")
        object.__setattr__(self, "workdays", workdays)

        holidays = frozenset(self.holidays)
        # datetime is a date subclass but never equals a date, so it would silently never match.
        if any(not isinstance(h, date) or isinstance(h, datetime) for h in holidays):
            raise ValueError("holidays must be datetime.date values")
        object.__setattr__(self, "holidays", holidays)

        # Aware times would be ambiguous next to cal.tz.
        for name, value in (("day_start", self.day_start), ("day_end", self.day_end)):
            if value is None and name == "day_end":
                continue
            if not isinstance(value, time) or value.tzinfo is not None:
                raise ValueError(f"{name} must be a naive datetime.time, got {value!r}")
        if self.day_end is not None and self.day_end <= self.day_start:
            raise ValueError(
                f"day_end ({self.day_end}) must be after day_start ({self.day_start}); "
                "use day_end=None for a day that runs to midnight"
            )
        # Calendars key the period caches, asked thousands of times a tick: hash the fields once.
        object.__setattr__(self, "_hash", hash((self.tz, workdays, self.day_start, self.day_end, holidays)))

    def __hash__(self) -> int:
        return self._hash  # type: ignore[attr-defined, no-any-return]

    @classmethod
    def business_days(cls, tz: str, holidays: Iterable[date] = frozenset()) -> WorkingCalendar:
        """Mon-Fri, whole days 00:00-24:00: how "48 business hours" of notice is counted."""
        return cls(
            tz=tz,
            workdays=frozenset({0, 1, 2, 3, 4}),
            day_start=time(0, 0),
            day_end=None,
            holidays=frozenset(holidays),
        )

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)  # ZoneInfo caches instances per key


# --- internals ---------------------------------------------------------------


def _require_aware(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime):
        raise ValueError(f"{name} must be a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value!r}")
    return value.astimezone(UTC)


def _require_bounded(span: timedelta) -> None:
    if span > MAX_SPAN:
        raise ValueError(f"a span of {span.days} days is longer than working-time arithmetic allows ({MAX_SPAN.days})")


def local_to_utc(zone: ZoneInfo, naive: datetime) -> datetime:
    """UTC instant of a local wall-clock time; fold=0 (first occurrence) in overlaps,
    the instant the clocks jump (the first instant after the gap) for nonexistent times."""
    candidate = naive.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if candidate.astimezone(zone).replace(tzinfo=None) == naive:
        return candidate
    # In a gap: fold=1 applies the post-transition offset (an instant before the
    # jump), fold=0 the pre-transition one (an instant after it). Bisect for the
    # jump; the predicate "wall clock >= naive" flips exactly there.
    lo = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    lo_us, hi_us = 0, (candidate - lo) // _MICROSECOND
    while hi_us - lo_us > 1:
        mid = (lo_us + hi_us) // 2
        wall = (lo + timedelta(microseconds=mid)).astimezone(zone).replace(tzinfo=None)
        if wall >= naive:
            hi_us = mid
        else:
            lo_us = mid
    return lo + timedelta(microseconds=hi_us)


@lru_cache(maxsize=65536)
def _day_period(cal: WorkingCalendar, zone: ZoneInfo, day: date) -> tuple[datetime, datetime] | None:
    """The day's working period in UTC. Pure and asked for the same few days by every handoff a
    tick looks at, so it is remembered (the DST arithmetic is the costly part of the clock)."""
    if day.weekday() not in cal.workdays or day in cal.holidays:
        return None
    start = local_to_utc(zone, datetime.combine(day, cal.day_start.replace(fold=0)))
    if cal.day_end is None:
        end = local_to_utc(zone, datetime.combine(day + _ONE_DAY, time(0, 0)))
    else:
        end = local_to_utc(zone, datetime.combine(day, cal.day_end.replace(fold=0)))
    # Both boundaries may collapse onto the same instant inside a DST gap.
    return (start, end) if end > start else None


def _periods(
    cal: WorkingCalendar, first_day: date, last_day: date | None = None
) -> Iterator[tuple[datetime, datetime]]:
    """Per-day working periods in order; unbounded (with the idle guard) if last_day is None."""
    zone = cal.zone
    day = first_day
    idle = 0
    while last_day is None or day <= last_day:
        period = _day_period(cal, zone, day)
        if period is not None:
            idle = 0
            yield period
        elif last_day is None:
            idle += 1
            if idle > _MAX_IDLE_DAYS:
                raise ValueError(
                    f"calendar has no working time for {_MAX_IDLE_DAYS} days after {first_day}"
                )
        day += _ONE_DAY


def _first_day(cal: WorkingCalendar, at_utc: datetime) -> date:
    # A period of local day d lies within d's wall-clock day (or ends at the next
    # midnight), so starting one day early cannot miss a period covering `at`.
    return at_utc.astimezone(cal.zone).date() - _ONE_DAY


# --- public API ----------------------------------------------------------------


def working_intervals(
    cal: WorkingCalendar, start: datetime, end: datetime
) -> Iterator[tuple[datetime, datetime]]:
    """Working periods overlapping [start, end), clipped to it, in UTC.

    Back-to-back periods (e.g. consecutive 24-hour business days) are merged.
    """
    start_utc = _require_aware(start, "start")
    end_utc = _require_aware(end, "end")
    if end_utc <= start_utc:
        return
    _require_bounded(end_utc - start_utc)
    last_day = end_utc.astimezone(cal.zone).date()
    pending: tuple[datetime, datetime] | None = None
    for p_start, p_end in _periods(cal, _first_day(cal, start_utc), last_day):
        if p_end <= start_utc:
            continue
        if p_start >= end_utc:
            break
        clipped = (max(p_start, start_utc), min(p_end, end_utc))
        if pending is not None and pending[1] == clipped[0]:
            pending = (pending[0], clipped[1])
            continue
        if pending is not None:
            yield pending
        pending = clipped
    if pending is not None:
        yield pending


def working_time_between(cal: WorkingCalendar, start: datetime, end: datetime) -> timedelta:
    """Working time in [start, end); negative (= -(end..start)) if end < start."""
    start_utc = _require_aware(start, "start")
    end_utc = _require_aware(end, "end")
    if end_utc < start_utc:
        return -working_time_between(cal, end_utc, start_utc)
    total = timedelta(0)
    for p_start, p_end in working_intervals(cal, start_utc, end_utc):
        total += p_end - p_start
    return total


def add_working_time(cal: WorkingCalendar, start: datetime, amount: timedelta) -> datetime:
    """The instant at which `amount` of working time after `start` has elapsed.

    A period's end counts as inside it, so 8h from 09:00 on a 9-17 day is 17:00
    the same day. A zero amount returns `start` itself (in UTC) even outside
    working time.
    """
    start_utc = _require_aware(start, "start")
    if not isinstance(amount, timedelta):
        raise ValueError(f"amount must be a timedelta, got {type(amount).__name__}")
    if amount < timedelta(0):
        raise ValueError(f"amount must not be negative, got {amount}")
    if amount == timedelta(0):
        return start_utc
    _require_bounded(amount)
    found = _add_within_blocks(cal, start_utc, amount)
    return found if found is not None else _add_by_walking(cal, start_utc, amount)


def _add_by_walking(cal: WorkingCalendar, start_utc: datetime, amount: timedelta) -> datetime:
    """add_working_time day by day, with the guards of an unbounded walk."""
    remaining = amount
    for p_start, p_end in _periods(cal, _first_day(cal, start_utc)):
        if p_end <= start_utc:
            continue
        _require_bounded(p_start - start_utc)  # a calendar with a few minutes a week must not walk for decades
        begin = max(p_start, start_utc)
        available = p_end - begin
        if remaining <= available:
            return begin + remaining
        remaining -= available
    raise AssertionError("unreachable: _periods is unbounded")  # pragma: no cover


# The scheduler adds working time three times for every handoff it looks at, each from a different instant:
# walking the days one by one was most of a tick's planning. Periods are precomputed per calendar in blocks
# of days with their running totals of working time, so an addition is two bisections. Far answers (past
# _FAST_BLOCKS blocks: long idle stretches, spans near MAX_SPAN) take the day-by-day walk and its guards.
_BLOCK_DAYS = 32
_FAST_BLOCKS = 8


@dataclass(frozen=True)
class _Block:
    # Microseconds since the epoch: integers bisect and add several times faster than aware datetimes.
    starts: list[int]
    ends: list[int]
    done_at_end: list[int]  # working time in the block up to each period's end


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _us(at: datetime) -> int:
    return (at - _EPOCH) // _MICROSECOND


@lru_cache(maxsize=4096)
def _block(cal: WorkingCalendar, index: int) -> _Block:
    first = date.fromordinal(index * _BLOCK_DAYS + 1)  # ordinals start at 1
    block = _Block([], [], [])
    total = 0
    for p_start, p_end in _periods(cal, first, first + timedelta(days=_BLOCK_DAYS - 1)):
        block.starts.append(_us(p_start))
        block.ends.append(_us(p_end))
        total += block.ends[-1] - block.starts[-1]
        block.done_at_end.append(total)
    return block


def _add_within_blocks(cal: WorkingCalendar, start_utc: datetime, amount: timedelta) -> datetime | None:
    """add_working_time's answer from the precomputed blocks, the same instant the walk finds (a period's
    end counts as inside it); None when it lies past the blocks looked at."""
    # Two days before the UTC date is no later than the day before the local one, where the walk starts.
    index = (start_utc.toordinal() - 3) // _BLOCK_DAYS
    start = _us(start_utc)
    remaining = amount // _MICROSECOND
    for n in range(_FAST_BLOCKS):
        block = _block(cal, index + n)
        ends = block.ends
        i = bisect_right(ends, start)  # the first period ending after the start
        if i == len(ends):
            continue
        done = block.done_at_end
        target = (done[i - 1] if i else 0) + remaining + max(start - block.starts[i], 0)
        k = bisect_left(done, target, i)
        if k < len(ends):
            return _EPOCH + timedelta(microseconds=ends[k] - (done[k] - target))
        remaining = target - done[-1]
    return None


def is_working_time(cal: WorkingCalendar, at: datetime) -> bool:
    at_utc = _require_aware(at, "at")
    last_day = at_utc.astimezone(cal.zone).date()
    return any(
        p_start <= at_utc < p_end for p_start, p_end in _periods(cal, _first_day(cal, at_utc), last_day)
    )


def next_working_moment(cal: WorkingCalendar, at: datetime) -> datetime:
    """`at` itself (in UTC) if it is working time, else the start of the next working period."""
    at_utc = _require_aware(at, "at")
    for p_start, p_end in _periods(cal, _first_day(cal, at_utc)):
        _require_bounded(p_start - at_utc)
        if p_end > at_utc:
            return max(p_start, at_utc)
    raise AssertionError("unreachable: _periods is unbounded")  # pragma: no cover


def holiday_dates(country: str, subdivision: str | None, years: Iterable[int]) -> frozenset[date]:
    """Public holidays (including observed substitute days) of a country/subdivision."""
    year_list = sorted(set(years))
    try:
        calendar = _holidays_pkg.country_holidays(country, subdiv=subdivision, years=year_list)
    except NotImplementedError as exc:
        where = country if subdivision is None else f"{country}/{subdivision}"
        raise ValueError(f"unknown country or subdivision for holidays: {where!r} ({exc})") from exc
    return frozenset(calendar.keys())


def working_duration(amount: timedelta) -> str:
    """A span of working time as people say it: "3 h 20 min", "45 min", "2 h", "under 1 min"."""
    minutes = round(max(amount, timedelta(0)) / timedelta(minutes=1))
    if minutes == 0:
        return "under 1 min"
    hours, minutes = divmod(minutes, 60)
    if not hours:
        return f"{minutes} min"
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"
