"""The pure maths, table-driven, against an independent computation with numpy/scipy."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from scipy import stats

from app.trends import adherence as adh
from app.trends import analysis as an
from app.trends.adherence import PlanInfo

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


def numpy_hac_fit(rows: np.ndarray, lags: int = 7) -> tuple[float, float]:
    """Independent: OLS by least squares and the Newey-West (Bartlett kernel) sandwich
    written out with numpy; the coefficient of column 1 and its standard error."""
    y, x = rows[:, 0], np.column_stack([np.ones(len(rows)), rows[:, 1:]])
    beta = np.linalg.lstsq(x, y, rcond=None)[0]
    u = y - x @ beta
    xu = x * u[:, None]
    s = xu.T @ xu
    for lag in range(1, lags + 1):
        w = 1 - lag / (lags + 1)
        g = xu[lag:].T @ xu[:-lag]
        s += w * (g + g.T)
    bread = np.linalg.inv(x.T @ x)
    cov = bread @ s @ bread
    return float(beta[1]), float(np.sqrt(cov[1, 1]))


def response_rows(pain: dict[dt.date, float], active: set[dt.date], start, end, lag=1):
    out = []
    for d in an.days(start, end):
        if d in pain and d - an.DAY in pain:
            a = 1.0 if d - lag * an.DAY in active else 0.0
            out.append((pain[d], a, float((d - start).days), pain[d - an.DAY]))
    return np.array(out)


def natural_improvement(seed: int, effect: float = 0.0):
    """Pain falling on its own from 7 to 3 over 60 days with AR(1) noise; backward walking on
    alternate days from day 30. `effect` is added the day after a session."""
    rng = np.random.default_rng(seed)
    start = D(2026, 1, 1)
    active = {start + dt.timedelta(days=i) for i in range(30, 60, 2)}
    pain, noise = {}, 0.0
    for i in range(60):
        d = start + dt.timedelta(days=i)
        noise = 0.45 * noise + rng.normal(0, 0.6)
        pain[d] = 7 - 4 * i / 59 + noise + (effect if d - an.DAY in active else 0.0)
    return pain, active, start, start + dt.timedelta(days=59)


def test_exercise_response_equals_an_independent_hac_fit():
    pain, active, start, end = natural_improvement(seed=3)
    got = an.exercise_response(pain, active, start, end, lag_days=1)
    effect, se = numpy_hac_fit(response_rows(pain, active, start, end))
    assert got.enough_data and got.n == 59
    assert abs(got.effect - effect) < 1e-9
    z = stats.norm.ppf(0.975)
    assert abs(got.ci95[0] - (effect - z * se)) < 1e-9
    assert abs(got.ci95[1] - (effect + z * se)) < 1e-9


def test_pain_improving_on_its_own_shows_no_effect_of_exercise():
    """The issue's counterexample: v1's raw difference claimed an effect (CI -2.5 to -1.1)."""
    pain, active, start, end = natural_improvement(seed=7)
    after = [v for d, v in pain.items() if d - an.DAY in active]
    rest = [v for d, v in pain.items() if d - an.DAY not in active and d > start]
    assert np.mean(after) - np.mean(rest) < -1  # the raw means still look like an effect
    got = an.exercise_response(pain, active, start, end, lag_days=1)
    assert got.enough_data and got.ci95[0] <= 0 <= got.ci95[1]


def test_a_real_effect_is_found():
    pain, active, start, end = natural_improvement(seed=7, effect=-2.0)
    got = an.exercise_response(pain, active, start, end, lag_days=1)
    assert got.ci95[1] < 0 and got.ci95[0] < got.effect < got.ci95[1]


def test_exercise_response_needs_enough_days():
    pain, active, start, _ = natural_improvement(seed=1)
    short = an.exercise_response(pain, active, start, start + dt.timedelta(days=27), lag_days=1)
    assert short.n == 27 and not short.enough_data and short.effect is None and short.ci95 is None
    few = an.exercise_response(pain, set(list(sorted(active))[:4]), start,
                               start + dt.timedelta(days=59), lag_days=1)
    assert few.activity_days == 4 and not few.enough_data


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


def limits(mcid=None, mdc=None, percent=None, acceptable=None, worsening=None, kind=None):
    kind = kind or ("mcid" if mcid is not None else "mdc" if mdc is not None else None)
    worsening = worsening if worsening is not None else (mdc if mdc is not None else mcid)
    return an.Limits(mcid, percent, mdc, worsening, acceptable, kind, {})


PAIN = limits(mcid=2, mdc=1.33, percent=30, acceptable=3.23)
WEEK1, WEEK6 = D(2026, 1, 1), D(2026, 2, 5)


def test_single_point_summary():
    s = {D(2026, 3, 1): 5.0}
    res = an.summarise(s, window=(D(2026, 1, 1), D(2026, 3, 1)),
                       baseline=(D(2026, 3, 1), D(2026, 3, 7)),
                       direction="lower_is_better", limits=PAIN)
    assert res.baseline.n == 1 and res.current.n == 1
    assert res.change is None and res.status == "insufficient_data" and res.slope_per_week is None
    assert res.acceptable_state is None


STATUS_CASES = [
    # (direction, baseline value, current value, limits, expected status)
    ("lower_is_better", 6, 4, PAIN, "improved"),            # 2 points
    ("lower_is_better", 6, 4.5, PAIN, "no_important_change"),  # 1.5: < 2 and 25 % < 30 %
    ("lower_is_better", 4, 2.7, limits(mcid=2, mdc=1.0, percent=30), "improved"),  # 32.5 %
    ("lower_is_better", 4, 2.7, PAIN, "no_important_change"),  # 32.5 % but 1.3 < MDC 1.33
    ("lower_is_better", 4, 5.5, PAIN, "worsened"),          # 1.5 >= worsening (MDC) 1.33
    ("lower_is_better", 4, 5.2, PAIN, "no_important_change"),
    ("lower_is_better", 1, 1, PAIN, "no_important_change"),
    ("higher_is_better", 100, 112, limits(mdc=10), "improved"),
    ("higher_is_better", 112, 100, limits(mdc=10), "worsened"),
    ("higher_is_better", 100, 105, limits(mdc=10), "no_important_change"),
    ("higher_is_better", 10, 30, limits(), None),
]


@pytest.mark.parametrize(("direction", "base", "cur", "lim", "expected"), STATUS_CASES)
def test_direction_aware_status(direction, base, cur, lim, expected):
    s = {**series(WEEK1, [base] * 7), **series(WEEK6, [cur] * 7)}
    res = an.summarise(s, window=(WEEK1, D(2026, 2, 11)), baseline=(WEEK1, D(2026, 1, 7)),
                       direction=direction, limits=lim)
    assert res.baseline.mean == base and res.current.mean == cur
    assert res.change == pytest.approx(cur - base, abs=TOL)
    assert res.status == expected
    assert res.change_percent == (None if base == 0 else pytest.approx(100 * (cur - base) / base))


@pytest.mark.parametrize(("cur", "acceptable"), [(3.23, True), (3.0, True), (3.3, False)])
def test_acceptable_state_is_at_or_below_the_pass(cur, acceptable):
    s = {**series(WEEK1, [6] * 7), **series(WEEK6, [cur] * 7)}
    res = an.summarise(s, window=(WEEK1, D(2026, 2, 11)), baseline=(WEEK1, D(2026, 1, 7)),
                       direction="lower_is_better", limits=PAIN)
    assert res.acceptable_state is acceptable


def test_change_at_exactly_the_threshold_counts():
    s = {**series(WEEK1, [6] * 7), **series(WEEK6, [4] * 7)}
    res = an.summarise(s, window=(WEEK1, D(2026, 2, 11)), baseline=(WEEK1, D(2026, 1, 7)),
                       direction="lower_is_better", limits=PAIN)
    assert res.status == "improved"


def test_sparse_metrics_use_14_day_periods_and_carry_the_last_value():
    # Weekly ROM: one value a week is enough on each side.
    s = {D(2026, 1, 5): 100.0, D(2026, 1, 12): 102.0, D(2026, 3, 2): 118.0}
    res = an.summarise(s, window=(D(2026, 1, 1), D(2026, 3, 8)),
                       baseline=(D(2026, 1, 5), D(2026, 1, 11)),
                       direction="higher_is_better", limits=limits(mdc=10), sparse=True)
    assert (res.baseline.start, res.baseline.end, res.baseline.n) == (
        D(2026, 1, 5), D(2026, 1, 18), 2)
    assert res.baseline.mean == 101 and res.current.n == 1 and res.status == "improved"
    # No value in the baseline's 14 days: the last one before it stands in.
    later = an.summarise(s, window=(D(2026, 1, 1), D(2026, 3, 8)),
                         baseline=(D(2026, 2, 1), D(2026, 2, 7)),
                         direction="higher_is_better", limits=limits(mdc=10), sparse=True)
    assert (later.baseline.start, later.baseline.mean) == (D(2026, 1, 12), 102.0)


def test_zero_filled_exercise_and_adherence():
    assert an.zero_filled({D(2026, 1, 2): 15}, D(2026, 1, 1), D(2026, 1, 3)) == {
        D(2026, 1, 1): 0.0, D(2026, 1, 2): 15.0, D(2026, 1, 3): 0.0}
    plan = PlanInfo("p", "backward_walking", 15, 3, D(2026, 1, 7), None)  # a Wednesday
    today = D(2026, 1, 28)  # Wednesday: week of 26 Jan in progress
    assert adh.scored_weeks(plan, today) == [D(2026, 1, 12), D(2026, 1, 19)]
    qual = {D(2026, 1, 12): 1, D(2026, 1, 14): 2, D(2026, 1, 16): 2, D(2026, 1, 20): 1}
    weeks = adh.weekly_adherence(plan, qual, today)
    assert [(w.sessions, w.adherence) for w in weeks] == [(5, 1.0), (1, pytest.approx(1 / 3))]
    assert adh.combined_adherence([weeks]) == pytest.approx((3 + 1) / 6)
    ended = PlanInfo("q", "cycling", 20, 2, D(2026, 1, 5), D(2026, 1, 18))
    assert adh.scored_weeks(ended, today) == [D(2026, 1, 5), D(2026, 1, 12)]
    assert adh.combined_adherence([]) is None
