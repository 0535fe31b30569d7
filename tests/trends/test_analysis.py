"""The pure maths, table-driven, against an independent computation with numpy/scipy."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from scipy import stats

from app.trends import analysis as an
from app.trends.analysis import PlanInfo

D = dt.date
TOL = 1e-9


def series(start: dt.date, values: list[float | None]) -> dict[dt.date, float]:
    return {start + dt.timedelta(days=i): float(v) for i, v in enumerate(values) if v is not None}


def numpy_rolling(s: dict[dt.date, float], day: dt.date) -> float | None:
    """Independent: a dense array over the calendar with NaN gaps, nanmean of the last 7."""
    start = min(s)
    dense = np.full((max(s) - start).days + 1, np.nan)
    for d, v in s.items():
        dense[(d - start).days] = v
    i = (day - start).days
    window = dense[max(0, i - 6): i + 1]
    return None if np.all(np.isnan(window)) else float(np.nanmean(window))


ROLLING_CASES = {
    "no gaps": series(D(2026, 1, 1), [3, 4, 5, 6, 7, 8, 9, 10, 2]),
    "gaps": series(D(2026, 1, 1), [3, None, None, 5, None, 9, None, None, None, None, None, 4, 1]),
    "single point": series(D(2026, 1, 1), [7]),
    "all equal": series(D(2026, 1, 1), [4] * 12),
    "long gap": series(D(2026, 1, 1), [2, *([None] * 10), 8]),
}


@pytest.mark.parametrize("name", ROLLING_CASES)
def test_rolling_mean_is_gap_safe(name):
    s = ROLLING_CASES[name]
    for d in an.days(min(s), max(s) + dt.timedelta(days=8)):
        expected = numpy_rolling(s, d)
        got = an.rolling_mean(s, d)
        assert (got is None) == (expected is None), (d, got, expected)
        if got is not None:
            assert abs(got - expected) < TOL


def test_rolling_mean_of_day_points_covers_only_days_with_data():
    s = ROLLING_CASES["gaps"]
    pts = an.points(s, "day")
    assert [p.period_start for p in pts] == sorted(s)
    assert pts[2].rolling_mean_7d == pytest.approx((3 + 5 + 9) / 3, abs=TOL)  # 2026-01-06
    assert pts[3].rolling_mean_7d == pytest.approx((9 + 4) / 2, abs=TOL)  # 2026-01-12
    assert pts[4].rolling_mean_7d == pytest.approx((4 + 1) / 2, abs=TOL)  # 01-13: 01-06 left


SLOPE_CASES = {
    "line": series(D(2026, 1, 1), [1, 2, 3, 4, 5, 6, 7]),
    "noisy with gaps": series(D(2025, 12, 20), [5, 6, None, 4, 7, None, None, 3, 2, 6, 1, 0]),
    "all equal": series(D(2026, 1, 1), [4] * 10),
    "two years": {D(2024, 1, 1) + dt.timedelta(days=i): float((i * 37) % 11)
                  for i in range(0, 730, 3)},
}


@pytest.mark.parametrize("name", SLOPE_CASES)
def test_ols_slope_matches_numpy(name):
    s = SLOPE_CASES[name]
    x = np.array([d.toordinal() for d in s], dtype=float)
    y = np.array(list(s.values()))
    expected = np.polyfit(x - x.mean(), y, 1)[0]
    got = an.ols_slope(s)
    assert got is not None and abs(got - expected) < TOL
    assert abs(an.slope_per_week(s) - 7 * expected) < TOL
    if name == "all equal":
        assert got == 0.0


@pytest.mark.parametrize("n", [0, 1, 6])
def test_slope_needs_seven_values(n):
    assert an.slope_per_week(series(D(2026, 1, 1), list(range(n)))) is None


WELCH_CASES = {
    "balanced": ([3, 4, 5, 4, 3], [5, 6, 7, 6, 6]),
    "unequal n and variance": ([1, 2, 2, 3, 9, 4, 4], [5, 5.5, 6]),
    "one side constant": ([2, 2, 2], [1, 4, 6, 2]),
    "large": ([float((i * 7) % 10) for i in range(40)], [float((i * 3) % 5) for i in range(25)]),
}


@pytest.mark.parametrize("name", WELCH_CASES)
def test_welch_interval_matches_scipy(name):
    a, b = WELCH_CASES[name]
    res = stats.ttest_ind(a, b, equal_var=False)
    ci = res.confidence_interval(0.95)
    got = an.welch_interval(a, b)
    assert got is not None
    assert abs(got.difference - (np.mean(a) - np.mean(b))) < TOL
    assert abs(got.low - ci.low) < TOL and abs(got.high - ci.high) < TOL
    assert abs(got.df - res.df) < TOL


def test_welch_interval_undefined_cases():
    assert an.welch_interval([1.0], [2.0, 3.0]) is None
    assert an.welch_interval([2.0, 2.0, 2.0], [5.0, 5.0]) is None  # zero variance both sides


@pytest.mark.parametrize("df", [1, 1.5, 2.7, 5, 13.2, 40, 300, 1e5])
@pytest.mark.parametrize("p", [0.5, 0.6, 0.9, 0.975, 0.995, 0.025])
def test_t_quantile_matches_scipy(p, df):
    assert abs(an.t_quantile(p, df) - stats.t.ppf(p, df)) < 1e-9 * max(1, abs(stats.t.ppf(p, df)))


BUCKET_CASES = [
    # ISO week 53: 2020-12-31 (Thu) and 2021-01-03 (Sun) are both in 2020-W53 (Mon 2020-12-28).
    (D(2020, 12, 31), "week", D(2020, 12, 28)),
    (D(2021, 1, 3), "week", D(2020, 12, 28)),
    (D(2021, 1, 4), "week", D(2021, 1, 4)),
    (D(2026, 12, 31), "week", D(2026, 12, 28)),  # 2026-W53
    (D(2027, 1, 1), "week", D(2026, 12, 28)),
    (D(2024, 2, 29), "month", D(2024, 2, 1)),
    (D(2026, 4, 30), "month", D(2026, 4, 1)),
    (D(2026, 5, 31), "month", D(2026, 5, 1)),
    (D(2026, 5, 31), "day", D(2026, 5, 31)),
]


@pytest.mark.parametrize(("day", "bucket", "start"), BUCKET_CASES)
def test_bucket_start(day, bucket, start):
    assert an.bucket_start(day, bucket) == start
    if bucket == "week":
        assert start.isocalendar()[:2] == day.isocalendar()[:2] and start.weekday() == 0


def test_points_per_bucket_against_numpy():
    s = {D(2020, 12, 20) + dt.timedelta(days=i): float((i * 5) % 7) for i in range(80) if i % 4}
    for bucket in ("week", "month"):
        pts = an.points(s, bucket)
        for p in pts:
            vals = np.array(
                [v for d, v in s.items() if an.bucket_start(d, bucket) == p.period_start])
            assert p.n == len(vals)
            assert abs(p.mean - vals.mean()) < TOL and p.min == vals.min() and p.max == vals.max()
            assert p.rolling_mean_7d is None
    months = an.points(s, "month")
    assert [p.period_start for p in months] == [D(2020, 12, 1), D(2021, 1, 1), D(2021, 2, 1),
                                                D(2021, 3, 1)]
    # February 2021 has 28 days, January 31: n counts days with data, 3 of every 4.
    assert [p.n for p in months][1:3] == [sum(1 for d in s if d.month == m and d.year == 2021)
                                          for m in (1, 2)]
    weeks = an.points(s, "week")
    assert D(2020, 12, 28) in [p.period_start for p in weeks]


def test_single_point_summary():
    s = {D(2026, 3, 1): 5.0}
    res = an.summarise(s, window=(D(2026, 1, 1), D(2026, 3, 1)), baseline=None,
                       direction="lower_is_better", threshold=2)
    assert res.baseline.n == 1 and res.current.n == 1
    assert res.change is None and res.status == "insufficient_data" and res.slope_per_week is None


STATUS_CASES = [
    # (direction, baseline value, current value, threshold, expected status)
    ("lower_is_better", 6, 4, 2, "improved"),
    ("lower_is_better", 6, 4.5, 2, "no_important_change"),
    ("lower_is_better", 4, 6, 2, "worsened"),
    ("higher_is_better", 100, 112, 10, "improved"),
    ("higher_is_better", 112, 100, 10, "worsened"),
    ("higher_is_better", 100, 105, 10, "no_important_change"),
    ("lower_is_better", 0, 0, 2, "no_important_change"),
    ("higher_is_better", 10, 30, None, None),
]


@pytest.mark.parametrize(("direction", "base", "cur", "thr", "expected"), STATUS_CASES)
def test_direction_aware_status(direction, base, cur, thr, expected):
    s = {**series(D(2026, 1, 1), [base] * 7), **series(D(2026, 2, 1), [cur] * 7)}
    res = an.summarise(s, window=(D(2026, 1, 1), D(2026, 2, 7)), baseline=None,
                       direction=direction, threshold=thr)
    assert res.baseline.mean == base and res.current.mean == cur
    assert res.change == pytest.approx(cur - base, abs=TOL)
    assert res.status == expected
    assert res.change_percent == (None if base == 0 else pytest.approx(100 * (cur - base) / base))


def test_change_at_exactly_the_threshold_counts():
    s = {**series(D(2026, 1, 1), [6] * 7), **series(D(2026, 2, 1), [4] * 7)}
    res = an.summarise(s, window=(D(2026, 1, 1), D(2026, 2, 7)), baseline=None,
                       direction="lower_is_better", threshold=2.0)
    assert res.status == "improved"


def test_baseline_starts_at_first_date_with_data_and_explicit_baseline():
    s = series(D(2026, 1, 10), [8, 8, 8, 7, 7, 7, 7, 1, 1, 1])
    res = an.summarise(s, window=(D(2026, 1, 1), D(2026, 1, 19)), baseline=None,
                       direction="lower_is_better", threshold=2)
    assert (res.baseline.start, res.baseline.end) == (D(2026, 1, 10), D(2026, 1, 16))
    assert (res.current.start, res.current.end) == (D(2026, 1, 13), D(2026, 1, 19))
    explicit = an.summarise(s, window=(D(2026, 1, 1), D(2026, 1, 19)),
                            baseline=(D(2026, 1, 10), D(2026, 1, 12)),
                            direction="lower_is_better", threshold=2)
    assert explicit.baseline.mean == 8 and explicit.baseline.n == 3


def test_zero_filled_exercise_and_adherence():
    assert an.zero_filled({D(2026, 1, 2): 15}, D(2026, 1, 1), D(2026, 1, 3)) == {
        D(2026, 1, 1): 0.0, D(2026, 1, 2): 15.0, D(2026, 1, 3): 0.0}
    plan = PlanInfo("p", "backward_walking", 15, 3, D(2026, 1, 7), None)  # a Wednesday
    today = D(2026, 1, 28)  # Wednesday: week of 26 Jan in progress
    assert an.scored_weeks(plan, today) == [D(2026, 1, 12), D(2026, 1, 19)]
    qual = {D(2026, 1, 12): 1, D(2026, 1, 14): 2, D(2026, 1, 16): 2, D(2026, 1, 20): 1}
    weeks = an.weekly_adherence(plan, qual, today)
    assert [(w.sessions, w.adherence) for w in weeks] == [(5, 1.0), (1, pytest.approx(1 / 3))]
    assert an.combined_adherence([weeks]) == pytest.approx((3 + 1) / 6)
    ended = PlanInfo("q", "cycling", 20, 2, D(2026, 1, 5), D(2026, 1, 18))
    assert an.scored_weeks(ended, today) == [D(2026, 1, 5), D(2026, 1, 12)]
    assert an.combined_adherence([]) is None


def test_betainc_matches_scipy():
    from scipy import special

    cases = [(0.5, 0.5, 0.3), (2.5, 0.5, 0.9), (10, 0.5, 0.05), (1, 1, 0.5), (150, 0.5, 0.99)]
    for a, b, x in cases:
        assert math.isclose(an.betainc(a, b, x), special.betainc(a, b, x), abs_tol=1e-12)
