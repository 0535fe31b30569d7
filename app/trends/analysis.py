"""Pure maths over daily series: buckets, rolling means, least-squares slopes, baselines,
status against clinical thresholds, weekly adherence and the adjusted exercise response. No
database here: the SQL in `queries.py` builds the daily series, these functions interpret
them, so SQLite and PostgreSQL give the same numbers for the same data.

A *series* maps a local calendar date to that day's value; days without data are absent.
"""

from __future__ import annotations

import datetime as dt
import math
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import accumulate, groupby, repeat
from math import fsum
from operator import add, sub, truediv
from statistics import NormalDist, fmean
from typing import Literal

Series = Mapping[dt.date, float]
Bucket = Literal["day", "week", "month"]
Direction = Literal["lower_is_better", "higher_is_better"]
Status = Literal["improved", "worsened", "no_important_change", "insufficient_data"]
ThresholdKind = Literal["mcid", "mdc"]
DAY = dt.timedelta(days=1)


def mean(values: Iterable[float]) -> float | None:
    vals = list(values)
    return fmean(vals) if vals else None


def days(start: dt.date, end: dt.date) -> list[dt.date]:
    """Every date from start to end, both included."""
    return [start + dt.timedelta(days=i) for i in range((end - start).days + 1)]


def restrict(series: Series, start: dt.date, end: dt.date) -> dict[dt.date, float]:
    return {d: v for d, v in series.items() if start <= d <= end}


def zero_filled(series: Series, start: dt.date, end: dt.date) -> dict[dt.date, float]:
    """A series of daily sums: every day from start to end, 0 where nothing was recorded."""
    return {d: float(series.get(d, 0.0)) for d in days(start, end)} if start <= end else {}


def bucket_start(day: dt.date, bucket: Bucket) -> dt.date:
    """Day; ISO week (its Monday — so 2021-01-01 belongs to the week of 2020-12-28, ISO week
    2020-W53); calendar month (its first day)."""
    if bucket == "day":
        return day
    if bucket == "week":
        return day - dt.timedelta(days=day.weekday())
    return day.replace(day=1)


def rolling_mean(series: Series, day: dt.date, window_days: int = 7) -> float | None:
    """Mean of the daily values in the `window_days` calendar days ending on `day` (gaps are
    simply absent, never filled); None when there is none."""
    vals = [v for i in range(window_days) if (v := series.get(day - i * DAY)) is not None]
    return fmean(vals) if vals else None


@dataclass(frozen=True)
class Point:
    period_start: dt.date
    n: int
    mean: float
    min: float
    max: float
    rolling_mean_7d: float | None = None


@dataclass(frozen=True)
class PointColumns:
    """The points of a series as one list per field (cheaper than an object per point)."""

    period_start: list[dt.date]
    n: list[int]
    mean: list[float]
    min: list[float]
    max: list[float]
    rolling_mean_7d: list[float | None]

    def rows(self) -> Iterator[tuple[dt.date, int, float, float, float, float | None]]:
        return zip(
            self.period_start,
            self.n,
            self.mean,
            self.min,
            self.max,
            self.rolling_mean_7d,
            strict=True,
        )


def point_columns(
    series: Series,
    bucket: Bucket,
    window: tuple[dt.date, dt.date] | None = None,
    rolling_days: int = 7,
) -> PointColumns:
    """One point per bucket that holds at least one daily value of `series` within `window`
    (all of it when None), in date order. Day buckets carry the gap-safe rolling mean
    (`rolling_mean`), which also reads the days of `series` before the window."""
    dates = sorted(series)
    vals = list(map(series.__getitem__, dates))
    i, j = (0, len(dates)) if window is None else _slice_of(dates, *window)
    if bucket == "day":
        # One value a day: its minimum and maximum are the value, and so is its mean,
        # fmean([v]) == v + 0.0 (which is 0.0 for -0.0, as fsum's).
        day_vals = vals[i:j]
        means = list(map(add, day_vals, repeat(0.0)))
        rolling = _rolling_means(dates, vals, i, j, rolling_days)
        return PointColumns(dates[i:j], [1] * (j - i), means, day_vals, day_vals, rolling)
    cols = PointColumns([], [], [], [], [], [])
    pairs = zip(dates[i:j], vals[i:j], strict=True)
    for start, group in groupby(pairs, key=lambda pair: bucket_start(pair[0], bucket)):
        group_vals = [v for _, v in group]
        cols.period_start.append(start)
        cols.n.append(len(group_vals))
        cols.mean.append(fsum(group_vals) / len(group_vals))
        cols.min.append(min(group_vals))
        cols.max.append(max(group_vals))
        cols.rolling_mean_7d.append(None)
    return cols


def _slice_of(dates: list[dt.date], start: dt.date, end: dt.date) -> tuple[int, int]:
    return bisect_left(dates, start), bisect_right(dates, end)


def _rolling_means(
    dates: list[dt.date], vals: list[float], i: int, j: int, days: int
) -> list[float | None]:
    """`rolling_mean` of each of dates[i:j] over the sorted `dates` and their `vals`, in C
    loops: day k's window is vals[lo_k : k + 1], lo_k found by binary search. The result is
    `fmean`'s to the last bit: `fsum` of a slice is correctly rounded whatever the order, and
    when every value is a (not too large) integer, prefix sums are exact, so a difference of
    two of them is that same correctly rounded sum."""
    ords = list(map(dt.date.toordinal, dates))
    los = list(map(bisect_left, repeat(ords), map(sub, ords[i:j], repeat(days - 1))))
    ends = range(i + 1, j + 1)
    counts = map(sub, ends, los)
    if all(map(float.is_integer, vals)) and fsum(map(abs, vals)) < 2.0**53:
        prefix = list(accumulate(vals, initial=0.0))
        sums: Iterator[float] = map(sub, prefix[i + 1 : j + 1], map(prefix.__getitem__, los))
    else:
        sums = map(fsum, map(vals.__getitem__, map(slice, los, ends)))
    return list(map(truediv, sums, counts))


def points(
    series: Series, bucket: Bucket, window: tuple[dt.date, dt.date] | None = None
) -> list[Point]:
    """`point_columns` as one `Point` per bucket."""
    return [Point(*row) for row in point_columns(series, bucket, window).rows()]


def ols_slope(series: Series, min_n: int = 7) -> float | None:
    """Least-squares slope of the daily value on the day number (per day); None with fewer
    than `min_n` values. Centred sums keep it exact enough for long series."""
    if len(series) < max(min_n, 2):
        return None
    xs = [float(d.toordinal()) for d in series]
    ys = list(series.values())
    mx, my = fmean(xs), fmean(ys)
    sxx = math.fsum((x - mx) ** 2 for x in xs)
    sxy = math.fsum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    return sxy / sxx


def slope_per_week(series: Series, min_n: int = 7) -> float | None:
    slope = ols_slope(series, min_n)
    return None if slope is None else 7 * slope


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date
    n: int
    mean: float | None


def period(series: Series, start: dt.date, end: dt.date) -> Period:
    vals = [v for d, v in series.items() if start <= d <= end]
    return Period(start, end, len(vals), mean(vals))


@dataclass(frozen=True)
class Limits:
    """The thresholds that judge a change (SPEC §4) and where each comes from."""

    mcid: float | None
    mcid_percent: float | None
    mdc: float | None
    worsening: float | None
    acceptable: float | None
    kind: ThresholdKind | None
    sources: Mapping[str, str]


EPS = 1e-12


def status_of(
    change: float | None, baseline: float | None, *, limits: Limits, direction: Direction
) -> Status | None:
    """`improved` when the change in the better direction reaches the MCID or the relative
    MCID (a share of the baseline), and the MDC; `worsened` when the change in the worse
    direction reaches `worsening`; else `no_important_change`. For metrics judged by their
    MDC alone (kind "mdc") the MDC decides both ways. None when the metric has no threshold."""
    if change is None:
        return "insufficient_data"
    if limits.kind is None:
        return None
    gain = -change if direction == "lower_is_better" else change
    if gain > 0:
        bars = []
        if limits.kind == "mdc":
            bars.append(limits.mdc is not None and gain + EPS >= limits.mdc)
        else:
            by_mcid = limits.mcid is not None and gain + EPS >= limits.mcid
            by_percent = (
                limits.mcid_percent is not None
                and baseline is not None
                and baseline != 0
                and gain + EPS >= limits.mcid_percent / 100 * abs(baseline)
            )
            bars.append(by_mcid or by_percent)
            if limits.mdc is not None:
                bars.append(gain + EPS >= limits.mdc)
        if all(bars):
            return "improved"
    if gain < 0 and limits.worsening is not None and -gain + EPS >= limits.worsening:
        return "worsened"
    return "no_important_change"


def acceptable_state(current: float | None, *, limits: Limits, direction: Direction) -> bool | None:
    """Whether the current level is at or better than the patient-acceptable symptom state."""
    if current is None or limits.acceptable is None:
        return None
    if direction == "lower_is_better":
        return current <= limits.acceptable + EPS
    return current + EPS >= limits.acceptable


@dataclass(frozen=True)
class Summary:
    baseline: Period
    current: Period
    change: float | None
    change_percent: float | None
    slope_per_week: float | None
    status: Status | None
    acceptable_state: bool | None


def sparse_period(series: Series, start: dt.date, end: dt.date) -> Period:
    """Every value from `start` to `end`; when there is none, the last value before `start`
    (a per-visit measure carries forward until it is measured again)."""
    p = period(series, start, end)
    if p.n:
        return p
    before = [d for d in series if d < start]
    if not before:
        return p
    last = max(before)
    return Period(last, last, 1, series[last])


def summarise(
    series: Series,
    *,
    window: tuple[dt.date, dt.date],
    baseline: tuple[dt.date, dt.date],
    direction: Direction,
    limits: Limits,
    sparse: bool = False,
) -> Summary:
    """Baseline, current, change, slope and status of a series (SPEC §4).

    `baseline` is the anchored period the caller resolved (it does not depend on the window).
    Current: the window's last 7 days; daily metrics need at least 3 values in each. A
    `sparse` metric (measured weekly or per visit) reads 14-day periods instead — the baseline's
    first 14 days (else its last earlier value) and the window's last 14 days — and needs one
    value in each. Either way the current period needs that many values dated after the
    baseline."""
    start, end = window
    inside = restrict(series, start, end)
    if sparse:
        base = sparse_period(series, baseline[0], max(baseline[1], baseline[0] + 13 * DAY))
        cur = period(inside, max(end - 13 * DAY, start), end)
        min_n = 1
    else:
        base = period(series, *baseline)
        cur = period(inside, max(end - 6 * DAY, start), end)
        min_n = 3
    # The current period must hold new values: those dated after the baseline (a single
    # KOOS-JR score compared with itself, or a first week compared with itself, is no change).
    fresh = period(inside, max(cur.start, base.end + DAY), end).n if cur.n else 0
    enough = base.n >= min_n and cur.n >= min_n and fresh >= min_n
    change = (
        (cur.mean - base.mean)
        if enough and cur.mean is not None and base.mean is not None
        else None
    )
    percent = 100 * change / base.mean if change is not None and base.mean else None
    return Summary(
        baseline=base,
        current=cur,
        change=change,
        change_percent=percent,
        slope_per_week=slope_per_week(inside),
        status=status_of(change, base.mean, limits=limits, direction=direction),
        acceptable_state=acceptable_state(
            cur.mean if cur.n >= min_n else None, limits=limits, direction=direction
        ),
    )


# --- the exercise response ------------------------------------------------------------------

HAC_LAGS = 7
RESPONSE_METHOD = "ols_trend_ar1_hac7"
MIN_MODELLED_DAYS = 28
MIN_GROUP_DAYS = 5


@dataclass(frozen=True)
class Response:
    effect: float | None
    ci95: tuple[float, float] | None
    n: int
    activity_days: int
    other_days: int
    enough_data: bool


def exercise_response(
    series: Series, activity_days: set[dt.date], start: dt.date, end: dt.date, lag_days: int
) -> Response:
    """The activity's association with the metric adjusted for time trend and yesterday's
    value (SPEC §4): OLS of y_t on [1, a_{t-lag}, t, y_{t-1}] over the window's days with
    y_t and y_{t-1}; Newey–West (HAC) standard errors with 7 lags; normal-quantile 95 %
    interval of a's coefficient (`hac_fit`)."""
    rows = []
    for d in days(start, end):
        y, prev = series.get(d), series.get(d - DAY)
        if y is None or prev is None:
            continue
        a = 1.0 if d - lag_days * DAY in activity_days else 0.0
        rows.append((y, a, float((d - start).days), prev))
    n = len(rows)
    active = sum(1 for r in rows if r[1] == 1.0)
    other = n - active
    enough = n >= MIN_MODELLED_DAYS and active >= MIN_GROUP_DAYS and other >= MIN_GROUP_DAYS
    if not enough:
        return Response(None, None, n, active, other, False)
    effect, se = hac_fit(rows, coefficient=1, lags=HAC_LAGS)
    low, high = effect - NORMAL_975 * se, effect + NORMAL_975 * se
    if not (math.isfinite(low) and math.isfinite(high)):
        return Response(effect, None, n, active, other, True)
    return Response(effect, (low, high), n, active, other, True)


# The standard normal's 97.5 % quantile (a 95 % interval from normal quantiles).
NORMAL_975 = NormalDist().inv_cdf(0.975)


def hac_fit(
    rows: Sequence[tuple[float, ...]], *, coefficient: int, lags: int
) -> tuple[float, float]:
    """OLS of the rows' first value on an intercept and the others, with the Newey–West
    (Bartlett kernel, no small-sample correction) standard error of one coefficient: the
    computation of statsmodels' `OLS(y, X).fit(cov_type="HAC", cov_kwds={"maxlags": lags})`
    (Moore–Penrose pseudo-inverse, as statsmodels fits), written out in numpy so that a worker
    does not load statsmodels, pandas and scipy (about 140 MB of memory each).
    tests/trends/test_hac_fit.py holds it equal to statsmodels on random and degenerate
    designs."""
    import numpy as np

    data = np.array(rows, dtype=float)
    y = data[:, 0]
    x = np.column_stack([np.ones(len(data)), data[:, 1:]])
    pinv = np.linalg.pinv(x)
    beta = pinv @ y
    xu = x * (y - x @ beta)[:, None]
    s = xu.T @ xu
    for lag in range(1, lags + 1):
        g = xu[lag:].T @ xu[:-lag]
        s += (1 - lag / (lags + 1)) * (g + g.T)
    bread = pinv @ pinv.T
    variance = float((bread @ s @ bread)[coefficient, coefficient])
    se = math.sqrt(variance) if variance >= 0 else math.nan
    return float(beta[coefficient]), se
