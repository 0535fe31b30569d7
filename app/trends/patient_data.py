"""What the rules and summaries read of one patient: the diary column by column, the
exercise days, the plans and their adherence, as built by a few queries."""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left, bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from itertools import compress
from typing import Any

from app.trends.adherence import (
    PlanInfo,
    WeekAdherence,
    weekly_adherence,
)
from app.trends.analysis import Period, Series, mean


@dataclass
class ExerciseDay:
    day: dt.date
    activity: str
    sessions: int
    minutes: int
    falls: int
    near_falls: int


@dataclass
class PatientData:
    """Everything the rules and summaries read for one patient, as built by a few queries.

    The diary rows are held column by column: `dates` (ascending, one per entry) and, per
    label, the values aligned with them. Each series is built once and then reused by every
    rule and summary that reads it (callers must not change what they are given)."""

    today: dt.date
    dates: Sequence[dt.date] = ()
    columns: Mapping[str, Sequence[Any]] = field(default_factory=dict)
    exercise: Sequence[ExerciseDay] = ()
    koos_jr: dict[dt.date, float] = field(default_factory=dict)
    # PGIC, PASS and the function tests: metric -> date -> value (not read by any flag rule).
    sparse: dict[str, dict[dt.date, float]] = field(default_factory=dict)
    plans: Sequence[PlanInfo] = ()
    qualifying: Mapping[Any, Mapping[dt.date, int]] = field(default_factory=dict)
    since: dt.date | None = None  # rows, exercise and adherence were read from this date
    first_record: dt.date | None = None
    last_entry: dt.date | None = None
    _cache: dict[Any, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def daily(self, label: str) -> Daily:
        """The non-null values of a column as a `Daily` (built once)."""
        key = ("daily", label)
        if key not in self._cache:
            self._cache[key] = Daily.of_column(self.dates, self.columns.get(label, ()))
        out: Daily = self._cache[key]
        return out

    def series(self, label: str) -> dict[dt.date, float]:
        key = ("series", label)
        if key not in self._cache:
            self._cache[key] = self.daily(label).series()
        out: dict[dt.date, float] = self._cache[key]
        return out

    def values(self, label: str) -> dict[dt.date, Any]:
        key = ("values", label)
        if key not in self._cache:
            column = self.columns.get(label, ())
            mask = [v is not None for v in column]
            self._cache[key] = dict(
                zip(compress(self.dates, mask), compress(column, mask), strict=False)
            )
        out: dict[dt.date, Any] = self._cache[key]
        return out

    def weeks(self, plan: PlanInfo) -> list[WeekAdherence]:
        """The plan's scored weeks since `since` (computed once, read by flags and summaries)."""
        key = ("weeks", plan.id)
        if key not in self._cache:
            self._cache[key] = weekly_adherence(
                plan, self.qualifying.get(plan.id, {}), self.today, self.since
            )
        out: list[WeekAdherence] = self._cache[key]
        return out


@dataclass(frozen=True)
class Daily:
    """A series as parallel lists in date order (one value per date)."""

    dates: list[dt.date]
    vals: list[float]

    @classmethod
    def of(cls, series: Series) -> Daily:
        dates = sorted(series)
        return cls(dates, [series[d] for d in dates])

    @classmethod
    def of_column(cls, dates: Sequence[dt.date], column: Sequence[Any]) -> Daily:
        """The non-null values of `column` (aligned with ascending `dates`) as floats."""
        if None not in column:
            return cls(list(dates[: len(column)]), [float(v) for v in column])
        mask = [v is not None for v in column]
        return cls(list(compress(dates, mask)), [float(v) for v in compress(column, mask)])

    @cached_property
    def ords(self) -> list[int]:
        return [d.toordinal() for d in self.dates]

    def series(self) -> dict[dt.date, float]:
        return dict(zip(self.dates, self.vals, strict=True))

    def bounds(self, start: dt.date, end: dt.date) -> tuple[int, int]:
        """The slice of the dates from `start` to `end`, both included."""
        i = bisect_left(self.dates, start)
        return i, max(i, bisect_right(self.dates, end))

    def period(self, start: dt.date, end: dt.date) -> Period:
        """`analysis.period` of the series (same values, same order)."""
        i, j = self.bounds(start, end)
        return Period(start, end, j - i, mean(self.vals[i:j]))

    def restrict(self, start: dt.date, end: dt.date) -> dict[dt.date, float]:
        i, j = self.bounds(start, end)
        return dict(zip(self.dates[i:j], self.vals[i:j], strict=True))
