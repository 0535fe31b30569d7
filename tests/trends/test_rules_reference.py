"""Adherence weeks and the loaded series against a plain reference on random records: the
reference reads every series as a dict rebuilt from the diary rows and scans it whole, so any
difference in weeks, dates or numbers between the two fails here. (The flag rules are held by
tests/trends/test_flags.py and tests/trends/test_state_property.py.)"""

from __future__ import annotations

import datetime as dt
import random
from statistics import fmean
from typing import Any

import pytest

from app.trends import adherence as adh
from app.trends import analysis as an
from app.trends import patient_data as pd

DAY = dt.timedelta(days=1)
TODAY = dt.date(2026, 3, 1)
LABELS = ("pain_worse", "morning_stiffness", "swelling_left", "swelling_right", "flexion_left",
          "flexion_right", "flexion_left_method", "flexion_right_method", "warmth_left",
          "warmth_right")


# --- the reference -----------------------------------------------------------------------------

def ref_series(rows: list[dict[str, Any]], label: str) -> dict[dt.date, Any]:
    return {r["entry_date"]: r[label] for r in rows if r[label] is not None}


def ref_period(series: dict[dt.date, float], lo: dt.date, hi: dt.date) -> tuple[int, float | None]:
    vals = [v for d, v in series.items() if lo <= d <= hi]
    return len(vals), (fmean(vals) if vals else None)


def ref_weeks(plan: adh.PlanInfo, qualifying: dict[dt.date, int], today: dt.date,
              since: dt.date) -> list[adh.WeekAdherence]:
    monday = plan.start_date - plan.start_date.weekday() * DAY
    if monday < plan.start_date:
        monday += 7 * DAY
    last = min(plan.end_date or today, today - DAY)
    out = []
    while monday + 6 * DAY <= last:
        if monday >= since:
            n = sum(qualifying.get(monday + i * DAY, 0) for i in range(7))
            out.append(adh.WeekAdherence(monday, n, plan.sessions_per_week,
                                        min(1.0, n / plan.sessions_per_week)))
        monday += 7 * DAY
    return out


def ref_on_plan(plan: adh.PlanInfo, today: dt.date) -> int:
    return len(ref_weeks(plan, {}, today, dt.date.min))


def record(rng: random.Random) -> dict[str, Any]:
    today = TODAY + rng.randrange(-3, 4) * DAY
    since = today - rng.choice([43, 60, 120]) * DAY
    days = sorted({since + rng.randrange((today - since).days + 1) * DAY
                   for _ in range(rng.randrange(0, 130))})
    calm = rng.randrange(0, 8)

    def maybe(value: Any, p: float = 0.15) -> Any:
        return None if rng.random() < p else value

    rows = []
    for d in days:
        flex = [maybe(rng.randrange(90, 135), 0.3) for _ in range(2)]
        rows.append({
            "entry_date": d,
            "pain_worse": maybe(min(10, max(0, calm + rng.choice([-1, 0, 0, 1, 3, 5])))),
            "morning_stiffness": maybe(rng.choice([0, 10, 31, 45, 90])),
            "swelling_left": maybe(rng.choice([0, 0, 1, 2, 3])),
            "swelling_right": maybe(rng.choice([0, 0, 1, 2, 3])),
            "flexion_left": flex[0], "flexion_right": flex[1],
            "flexion_left_method": rng.choice([None, "goniometer", "self_estimate"])
            if flex[0] is not None else None,
            "flexion_right_method": rng.choice([None, "smartphone_app", "inclinometer"])
            if flex[1] is not None else None,
            "warmth_left": maybe(rng.random() < 0.3, 0.4),
            "warmth_right": maybe(rng.random() < 0.3, 0.4),
        })
    plans, qualifying = [], {}
    for k in range(rng.randrange(0, 3)):
        start = today - rng.randrange(-5, 400) * DAY
        end = rng.choice([None, None, start + rng.randrange(0, 200) * DAY])
        plan = adh.PlanInfo(k, rng.choice(["cycling", "backward_walking"]), 15,
                           rng.randrange(1, 6), start, end)
        plans.append(plan)
        qualifying[k] = {since + rng.randrange((today - since).days + 1) * DAY:
                         rng.randrange(1, 3) for _ in range(rng.randrange(0, 40))}
    exercise = [pd.ExerciseDay(d, "cycling", 1, 20, int(rng.random() < 0.05),
                               int(rng.random() < 0.05)) for d in days if rng.random() < 0.5]
    return {"today": today, "since": since, "rows": rows, "plans": plans,
            "qualifying": qualifying, "exercise": exercise,
            "last_entry": days[-1] if days else None}


def patient_data(data: dict[str, Any]) -> pd.PatientData:
    rows = data["rows"]
    return pd.PatientData(
        today=data["today"], since=data["since"], plans=data["plans"],
        dates=tuple(r["entry_date"] for r in rows),
        columns={label: tuple(r[label] for r in rows) for label in LABELS},
        exercise=data["exercise"], qualifying=data["qualifying"],
        last_entry=data["last_entry"], first_record=rows[0]["entry_date"] if rows else None)


@pytest.mark.parametrize("seed", range(8))
def test_adherence_weeks_match_the_reference_on_random_records(seed):
    rng = random.Random(seed)
    for _ in range(150):
        data = record(rng)
        patient = patient_data(data)
        for plan in data["plans"]:
            assert patient.weeks(plan) == ref_weeks(
                plan, data["qualifying"][plan.id], data["today"], data["since"])
            assert adh.count_scored_weeks(plan, data["today"]) == ref_on_plan(plan, data["today"])


@pytest.mark.parametrize("seed", range(4))
def test_series_and_periods_match_the_rows(seed):
    rng = random.Random(100 + seed)
    for _ in range(100):
        data = record(rng)
        patient, rows = patient_data(data), data["rows"]
        for label in LABELS:
            plain = ref_series(rows, label)
            assert patient.values(label) == plain
            if not label.endswith("method") and not label.startswith("warmth"):  # numbers
                assert patient.series(label) == {d: float(v) for d, v in plain.items()}
        pain = {d: float(v) for d, v in ref_series(rows, "pain_worse").items()}
        daily = patient.daily("pain_worse")
        for _ in range(5):
            lo = data["since"] + rng.randrange(-10, 60) * DAY
            hi = lo + rng.randrange(-2, 40) * DAY
            p = daily.period(lo, hi)
            assert (p.n, p.mean) == ref_period(pain, lo, hi)
            assert an.period(pain, lo, hi) == p
            assert daily.restrict(lo, hi) == an.restrict(pain, lo, hi)
            assert list(daily.restrict(lo, hi)) == list(an.restrict(pain, lo, hi))
