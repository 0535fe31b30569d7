"""How often the exercise response's 95 % interval covers the true effect (SPEC §4), by
simulation: pain easing on its own from 7 to 3 over 60 days with AR(1) noise (lag-1 r 0.45),
backward walking on alternate days from day 30, true effect 0 or -1 point the day after.
Compares the v2 model (OLS with trend and yesterday's value, HAC errors) with v1's Welch
interval of the raw difference (scipy). Run: `.venv/bin/python bench/response_coverage.py`."""

from __future__ import annotations

import datetime as dt
import sys

import numpy as np
from scipy import stats

from app.trends import analysis as an

RUNS = int(sys.argv[1]) if len(sys.argv) > 1 else 500


def simulate(rng: np.random.Generator, effect: float):
    start = dt.date(2026, 1, 1)
    active = {start + dt.timedelta(days=i) for i in range(30, 60, 2)}
    pain, noise = {}, 0.0
    for i in range(60):
        d = start + dt.timedelta(days=i)
        noise = 0.45 * noise + rng.normal(0, 0.6)
        pain[d] = 7 - 4 * i / 59 + noise + (effect if d - an.DAY in active else 0.0)
    return pain, active, start, start + dt.timedelta(days=59)


def main() -> None:
    print(
        "| true effect | method | mean estimate | 95 % CI covers the truth | CI excludes 0 | runs |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for effect in (0.0, -1.0):
        rng = np.random.default_rng(20261203)
        v2 = v1 = v2_excl = v1_excl = 0
        est2: list[float] = []
        est1: list[float] = []
        for _ in range(RUNS):
            pain, active, start, end = simulate(rng, effect)
            r = an.exercise_response(pain, active, start, end, 1)
            assert r.ci95 is not None and r.effect is not None
            lo, hi = r.ci95
            est2.append(r.effect)
            v2 += lo <= effect <= hi
            v2_excl += not lo <= 0 <= hi
            after = [v for d, v in pain.items() if d - an.DAY in active]
            rest = [v for d, v in pain.items() if d - an.DAY not in active and d > start]
            ci = stats.ttest_ind(after, rest, equal_var=False).confidence_interval(0.95)
            est1.append(float(np.mean(after) - np.mean(rest)))
            v1 += ci.low <= effect <= ci.high
            v1_excl += not ci.low <= 0 <= ci.high
        for name, est, cov, excl in (
            ("v2 OLS+trend+AR1, HAC(7)", est2, v2, v2_excl),
            ("v1 Welch, raw difference", est1, v1, v1_excl),
        ):
            print(
                f"| {effect:+.1f} | {name} | {np.mean(est):+.2f} | {100 * cov / RUNS:.1f} % | "
                f"{100 * excl / RUNS:.1f} % | {RUNS} |"
            )
    print(f"\ncommand: .venv/bin/python bench/response_coverage.py {RUNS}")


if __name__ == "__main__":
    main()
