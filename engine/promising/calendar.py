"""Working calendars and buckets: which dates carry an ATP bucket, and where an event lands.

In: a calendar (working weekdays and holidays) and either a run of days (a daily horizon from
the as-of date) or the start dates of longer periods (Oracle's "periods 1-8").
Out: `Buckets`, a frozen sequence of bucket start dates with the two lookups promising needs:
the bucket a supply event lands in and the bucket a demand event lands in.

The non-obvious choice: a non-working day carries no bucket, and the two kinds of event move
in opposite directions off it. Supply dated on a holiday moves to the next working day (a
receipt is not booked while the dock is shut); demand dated on a holiday moves to the previous
working day (what must leave by Sunday must leave by Friday). Both directions are the cautious
ones, so a calendar can only make a promise later, never earlier. Past the last bucket there is
nothing (`None`): the horizon is the end of what we know.
"""
from __future__ import annotations

import datetime
from bisect import bisect_right
from dataclasses import dataclass, field

ONE_DAY = datetime.timedelta(days=1)


@dataclass(frozen=True)
class Calendar:
    """Working days: weekdays (Monday is 0) that are worked, less the holidays."""

    weekdays: frozenset[int] = frozenset({0, 1, 2, 3, 4})
    holidays: frozenset[datetime.date] = frozenset()

    def __post_init__(self) -> None:
        bad = sorted(d for d in self.weekdays if not 0 <= d <= 6)
        if bad:
            raise ValueError(f"calendar: weekday {bad[0]} is not 0 (Monday) to 6 (Sunday)")
        if not self.weekdays:
            raise ValueError("calendar: no working weekday, so no date could carry a bucket")

    def works(self, day: datetime.date) -> bool:
        return day.weekday() in self.weekdays and day not in self.holidays

    def next_working(self, day: datetime.date) -> datetime.date:
        """The day itself when worked, else the first worked day after it."""
        while not self.works(day):
            day += ONE_DAY
        return day

    def previous_working(self, day: datetime.date) -> datetime.date:
        while not self.works(day):
            day -= ONE_DAY
        return day

    def add_working_days(self, day: datetime.date, days: int) -> datetime.date:
        """`days` worked days after `day` (a lead time counted on the calendar)."""
        day = self.next_working(day)
        for _ in range(days):
            day = self.next_working(day + ONE_DAY)
        return day


EVERY_DAY = Calendar(weekdays=frozenset(range(7)))


@dataclass(frozen=True)
class Buckets:
    """Bucket start dates, strictly increasing; bucket i runs up to the day before i + 1."""

    starts: tuple[datetime.date, ...]
    calendar: Calendar = field(default=EVERY_DAY)
    days: tuple[int, ...] = field(init=False, repr=False, compare=False)  # day numbers

    def __post_init__(self) -> None:
        if not self.starts:
            raise ValueError("buckets: at least one bucket is needed")
        for a, b in zip(self.starts, self.starts[1:]):
            if b <= a:
                raise ValueError(f"buckets: {b} does not come after {a}")
        object.__setattr__(self, "days", tuple(d.toordinal() for d in self.starts))

    @staticmethod
    def daily(start: datetime.date, days: int, calendar: Calendar = EVERY_DAY) -> Buckets:
        """One bucket per working day in [start, start + days)."""
        span = (start + datetime.timedelta(days=i) for i in range(days))
        return Buckets(tuple(d for d in span if calendar.works(d)), calendar)

    def __len__(self) -> int:
        return len(self.starts)

    @property
    def first(self) -> datetime.date:
        return self.starts[0]

    def of_supply(self, day: datetime.date) -> int | None:
        """The bucket a supply dated `day` counts in (before the first: the first)."""
        if day < self.starts[0]:
            return 0
        i = bisect_right(self.starts, self.calendar.next_working(day)) - 1
        return i if i < len(self.starts) - 1 or day <= self._last_day() else None

    def of_demand(self, day: datetime.date) -> int | None:
        """The bucket a demand dated `day` counts in (before the first: the first)."""
        if day < self.starts[0]:
            return 0
        day = self.calendar.previous_working(day)
        if day < self.starts[0]:
            return 0
        i = bisect_right(self.starts, day) - 1
        return i if i < len(self.starts) - 1 or day <= self._last_day() else None

    def _span(self, i: int) -> datetime.timedelta:
        if i + 1 < len(self.starts):
            return self.starts[i + 1] - self.starts[i]
        if len(self.starts) > 1:
            return self.starts[-1] - self.starts[-2]
        return ONE_DAY

    def _last_day(self) -> datetime.date:
        return self.starts[-1] + self._span(len(self.starts) - 1) - ONE_DAY
