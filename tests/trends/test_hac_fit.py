"""The exercise response's fit (`hac_fit`, numpy) against statsmodels, which the product no
longer loads: OLS with Newey–West (HAC, 7 lags) standard errors, on random designs like the
response's and on degenerate ones (a constant series, collinear columns)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import statsmodels.api as sm

from app.trends import analysis as an

LAGS = an.HAC_LAGS


def statsmodels_fit(rows: np.ndarray) -> tuple[float, float, float, float]:
    exog = np.column_stack([np.ones(len(rows)), rows[:, 1:]])
    fit = sm.OLS(rows[:, 0], exog).fit(cov_type="HAC", cov_kwds={"maxlags": LAGS})
    low, high = fit.conf_int(alpha=0.05)[1]
    return float(fit.params[1]), float(fit.bse[1]), float(low), float(high)


def design(seed: int, n: int) -> np.ndarray:
    """y_t on [a_t, t, y_{t-1}]: AR(1) pain with a trend and sessions on random days."""
    rng = np.random.default_rng(seed)
    a = (rng.random(n) < rng.uniform(0.2, 0.8)).astype(float)
    y, prev, rows = 0.0, rng.uniform(0, 10), []
    for t in range(n):
        y = 0.5 * prev + rng.normal(0, 1) - 0.02 * t + rng.normal(-0.5, 0.3) * a[t] + 3
        rows.append((y, a[t], float(t), prev))
        prev = y
    return np.array(rows)


@pytest.mark.parametrize("seed", range(40))
def test_equals_statsmodels_on_random_designs(seed):
    rows = design(seed, n=28 + seed * 7)
    effect, se = an.hac_fit([tuple(r) for r in rows], coefficient=1, lags=LAGS)
    want_effect, want_se, low, high = statsmodels_fit(rows)
    assert effect == pytest.approx(want_effect, abs=1e-9)
    assert se == pytest.approx(want_se, abs=1e-9)
    assert effect - an.NORMAL_975 * se == pytest.approx(low, abs=1e-9)
    assert effect + an.NORMAL_975 * se == pytest.approx(high, abs=1e-9)


def test_equals_statsmodels_on_integer_scores():
    """Diary pain is whole numbers 0–10: ties everywhere, as in real records."""
    rng = np.random.default_rng(7)
    pain = rng.integers(0, 11, 91).astype(float)
    a = (np.arange(91) % 3 == 0).astype(float)
    rows = np.column_stack([pain[1:], a[1:], np.arange(1, 91, dtype=float), pain[:-1]])
    effect, se = an.hac_fit([tuple(r) for r in rows], coefficient=1, lags=LAGS)
    want_effect, want_se, _, _ = statsmodels_fit(rows)
    assert (effect, se) == (pytest.approx(want_effect, abs=1e-9), pytest.approx(want_se, abs=1e-9))


def test_constant_series_fits_like_statsmodels():
    """Pain the same every day: yesterday's value is collinear with the intercept; both fits
    take the pseudo-inverse and find no effect."""
    rows = np.array([(4.0, float(i % 2), float(i), 4.0) for i in range(40)])
    effect, se = an.hac_fit([tuple(r) for r in rows], coefficient=1, lags=LAGS)
    want_effect, want_se, _, _ = statsmodels_fit(rows)
    assert effect == pytest.approx(want_effect, abs=1e-9) and abs(effect) < 1e-9
    assert se == pytest.approx(want_se, abs=1e-9) or (math.isnan(se) and math.isnan(want_se))


def test_the_product_does_not_load_statsmodels():
    """A worker computing an exercise response needs numpy only (memory: docs/BENCHMARKS.md)."""
    import subprocess
    import sys

    code = (
        "import sys, datetime as dt\n"
        "from app.trends import analysis as an\n"
        "d0 = dt.date(2026, 1, 1)\n"
        "s = {d0 + dt.timedelta(days=i): float(i % 7) for i in range(60)}\n"
        "act = {d0 + dt.timedelta(days=i) for i in range(0, 60, 3)}\n"
        "r = an.exercise_response(s, act, d0, d0 + dt.timedelta(days=59), 1)\n"
        "assert r.enough_data and r.ci95 is not None\n"
        "print(sorted(m for m in ('statsmodels', 'scipy', 'pandas') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
