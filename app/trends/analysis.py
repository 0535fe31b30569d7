"""Pure maths over daily series: buckets, rolling means, least-squares slopes, baselines,
MCID status, weekly adherence and the Welch interval. No database here: the SQL in
`queries.py` builds the daily series, these functions interpret them, so SQLite and
PostgreSQL give the same numbers for the same data.

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
from statistics import fmean
from typing import Literal

Series = Mapping[dt.date, float]
Bucket = Literal["day", "week", "month"]
Direction = Literal["lower_is_better", "higher_is_better"]
Status = Literal["improved", "worsened", "no_important_change", "insufficient_data"]
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


def important_change(
    change: float | None, *, threshold: float | None, direction: Direction
) -> Status | None:
    """Direction-aware status; None when the metric has no clinical threshold."""
    if change is None:
        return "insufficient_data"
    if threshold is None:
        return None
    if abs(change) + 1e-12 < threshold:
        return "no_important_change"
    better = change < 0 if direction == "lower_is_better" else change > 0
    return "improved" if better else "worsened"


@dataclass(frozen=True)
class Summary:
    baseline: Period
    current: Period
    change: float | None
    change_percent: float | None
    slope_per_week: float | None
    status: Status | None


def summarise(
    series: Series,
    *,
    window: tuple[dt.date, dt.date],
    baseline: tuple[dt.date, dt.date] | None,
    direction: Direction,
    threshold: float | None,
    min_n: int = 3,
    sparse: bool = False,
) -> Summary:
    """Baseline, current, change, slope and status of a series over a window.

    Default baseline: the first 7 days of the window from its first date with data; current:
    the window's last 7 days. For a `sparse` series (questionnaires) the defaults are the
    first and the last date with data in the window instead, so that two scores a month
    apart can be compared."""
    start, end = window
    inside = restrict(series, start, end)
    first = min(inside) if inside else start
    if sparse:
        last = max(inside) if inside else end
        base_range = baseline or (first, first)
        cur_range = (last, last)
    else:
        base_range = baseline or (first, min(first + 6 * DAY, end))
        cur_range = (max(end - 6 * DAY, start), end)
    base = period(series, *base_range)
    cur = period(inside, *cur_range)
    enough = base.n >= min_n and cur.n >= min_n
    if sparse and baseline is None and base_range[0] >= cur_range[0]:
        enough = False
    change = (
        (cur.mean - base.mean)
        if enough and cur.mean is not None and base.mean is not None
        else None
    )
    percent = None
    if change is not None and base.mean:
        percent = 100 * change / base.mean
    return Summary(
        baseline=base,
        current=cur,
        change=change,
        change_percent=percent,
        slope_per_week=slope_per_week(inside),
        status=important_change(change, threshold=threshold, direction=direction),
    )


# --- adherence -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanInfo:
    id: object
    activity: str
    minutes_per_session: int
    sessions_per_week: int
    start_date: dt.date
    end_date: dt.date | None


@dataclass(frozen=True)
class WeekAdherence:
    week_start: dt.date
    sessions: int
    prescribed: int
    adherence: float


def _first_scored_week(plan: PlanInfo) -> dt.date:
    first = bucket_start(plan.start_date, "week")
    return first + 7 * DAY if first < plan.start_date else first


def _last_scored_day(plan: PlanInfo, today: dt.date) -> dt.date:
    return min(plan.end_date or today, today - DAY)


def scored_weeks(plan: PlanInfo, today: dt.date, since: dt.date | None = None) -> list[dt.date]:
    """Mondays of the ISO weeks that lie wholly within the plan's dates and have ended by
    `today` (a partial first or last week and the week in progress are not scored); only
    those from `since` on, when given."""
    monday = _first_scored_week(plan)
    if since is not None and monday < since:
        monday += -(-(since - monday).days // 7) * 7 * DAY  # the first one on or after `since`
    last_day = _last_scored_day(plan, today)
    out = []
    while monday + 6 * DAY <= last_day:
        out.append(monday)
        monday += 7 * DAY
    return out


def count_scored_weeks(plan: PlanInfo, today: dt.date) -> int:
    """len(scored_weeks(plan, today)), without listing them."""
    return max(0, ((_last_scored_day(plan, today) - _first_scored_week(plan)).days - 6) // 7 + 1)


def weekly_adherence(
    plan: PlanInfo,
    qualifying: Mapping[dt.date, int],
    today: dt.date,
    since: dt.date | None = None,
) -> list[WeekAdherence]:
    """Per scored ISO week (from `since`, when the sessions were counted only from then):
    sessions of the plan's activity lasting ≥ 80 % of the prescribed minutes (counted in SQL
    into `qualifying`, per local date) ÷ prescribed, capped at 1."""
    out = []
    per_week = plan.sessions_per_week
    for monday in scored_weeks(plan, today, since):
        n = sum(qualifying.get(monday + i * DAY, 0) for i in range(7)) if qualifying else 0
        out.append(WeekAdherence(monday, n, per_week, min(1.0, n / per_week)))
    return out


def combined_adherence(
    weeks_by_plan: Sequence[Sequence[WeekAdherence]], last_weeks: int = 4
) -> float | None:
    """Adherence over the last `last_weeks` scored ISO weeks across every plan: capped
    sessions ÷ prescribed sessions, summed over plans and weeks."""
    mondays = sorted({w.week_start for ws in weeks_by_plan for w in ws})[-last_weeks:]
    if not mondays:
        return None
    done = prescribed = 0.0
    for ws in weeks_by_plan:
        for w in ws:
            if w.week_start in mondays:
                done += min(w.sessions, w.prescribed)
                prescribed += w.prescribed
    return done / prescribed if prescribed else None


# --- Welch ------------------------------------------------------------------------------------


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the regularised incomplete beta (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 1000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-16:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """The regularised incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    ln_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    front = math.exp(ln_front)
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """Student's t distribution function (any real df > 0)."""
    tail = 0.5 * betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t >= 0 else tail


def t_quantile(p: float, df: float) -> float:
    """Inverse of `t_cdf`, by bisection to the last bit (0 < p < 1)."""
    if not 0.0 < p < 1.0 or df <= 0:
        raise ValueError("need 0 < p < 1 and df > 0")
    if p < 0.5:
        return -t_quantile(1.0 - p, df)
    lo, hi = 0.0, 1.0
    while t_cdf(hi, df) < p:
        lo, hi = hi, hi * 2.0
    for _ in range(200):
        mid = (lo + hi) / 2.0
        if mid in (lo, hi):
            break
        if t_cdf(mid, df) < p:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2.0


@dataclass(frozen=True)
class Welch:
    difference: float
    low: float
    high: float
    df: float


def welch_interval(a: Sequence[float], b: Sequence[float], level: float = 0.95) -> Welch | None:
    """Confidence interval of mean(a) − mean(b) without assuming equal variances: Welch's t
    with Welch–Satterthwaite degrees of freedom. None when either side has fewer than two
    values or both have zero variance (the interval is undefined)."""
    if len(a) < 2 or len(b) < 2:
        return None
    ma, mb = fmean(a), fmean(b)
    va = math.fsum((x - ma) ** 2 for x in a) / (len(a) - 1)
    vb = math.fsum((x - mb) ** 2 for x in b) / (len(b) - 1)
    qa, qb = va / len(a), vb / len(b)
    se2 = qa + qb
    if se2 == 0.0:
        return None
    df = se2 * se2 / (qa * qa / (len(a) - 1) + qb * qb / (len(b) - 1))
    half = t_quantile(0.5 + level / 2.0, df) * math.sqrt(se2)
    diff = ma - mb
    return Welch(diff, diff - half, diff + half, df)
