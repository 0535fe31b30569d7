"""The flag rules, adherence weeks and panel numbers against a plain reference on random
records: the reference reads every series as a dict rebuilt from the diary rows and scans it
whole (the way these were computed before they read sorted arrays), so any difference in
flags, reasons, dates, order or numbers between the two fails here."""

from __future__ import annotations

import datetime as dt
import random
from statistics import fmean, median
from typing import Any

import pytest

from app.trends import adherence as adh
from app.trends import analysis as an
from app.trends import flags as fl
from app.trends import patient_data as pd
from app.trends.metrics import rom_error

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


def ref_flare(pain: dict[dt.date, float]) -> list[fl.Flag]:
    out, covered = [], set()
    for d in sorted(pain):
        if d in covered:
            continue
        before = [pain[x] for i in range(1, 8) if (x := d - i * DAY) in pain]
        if len(before) < 3:
            continue
        base = median(before)
        run = [d]
        while (nxt := run[-1] + DAY) in pain and pain[nxt] >= base + 2:
            run.append(nxt)
        if pain[d] >= base + 2 and len(run) >= 2:
            covered.update(run)
            out.append(fl.Flag("flare", "warning", run,
                               f"Pain up to {fl._fmt(max(pain[x] for x in run))} on {len(run)} "
                               f"consecutive days, against a median of {fl._fmt(base)} in the "
                               f"7 days before"))
    return out


def ref_severe(pain: dict[dt.date, float]) -> list[fl.Flag]:
    runs: list[list[dt.date]] = []
    for d in sorted(d for d, v in pain.items() if v >= 7):
        if runs and runs[-1][-1] + DAY == d:
            runs[-1].append(d)
        else:
            runs.append([d])
    return [fl.Flag("sustained_severe_pain", "warning", r,
                    f"Pain 7 or more on {len(r)} consecutive days") for r in runs if len(r) >= 3]


def ref_rapid(pain: dict[dt.date, float]) -> list[fl.Flag]:
    return [fl.Flag("rapid_worsening", "warning", [d - DAY, d],
                    f"Pain rose from {fl._fmt(pain[d - DAY])} to {fl._fmt(v)} from one day to "
                    f"the next")
            for d, v in sorted(pain.items()) if d - DAY in pain and v - pain[d - DAY] >= 3]


def ref_swelling(rows: list[dict[str, Any]]) -> list[fl.Flag]:
    out = []
    for knee in ("left", "right"):
        sw, warm = ref_series(rows, f"swelling_{knee}"), ref_series(rows, f"warmth_{knee}")
        for d, v in sorted(sw.items()):
            zero = [d - i * DAY for i in (1, 2) if sw.get(d - i * DAY) == 0]
            if v < 2 or not zero:
                continue
            hot = bool(warm.get(d))
            out.append(fl.Flag(
                "hot_swollen_joint" if hot else "new_swelling", "urgent" if hot else "warning",
                [zero[-1], d],
                f"{knee.capitalize()} knee swelling grade {fl._fmt(v)}"
                f"{' with warmth,' if hot else ','} up from none on {zero[-1].isoformat()}"))
    return out


def ref_rom(rows: list[dict[str, Any]], start: dt.date, today: dt.date) -> list[fl.Flag]:
    out = []
    for knee in ("left", "right"):
        flex = {d: float(v) for d, v in ref_series(rows, f"flexion_{knee}").items()}
        methods = ref_series(rows, f"flexion_{knee}_method")
        b_lo, b_hi, c_lo = start - 28 * DAY, start - DAY, today - 6 * DAY
        (bn, bm), (cn, cm) = ref_period(flex, b_lo, b_hi), ref_period(flex, c_lo, today)
        if bn < 3 or cn < 3 or bm is None or cm is None:
            continue
        error = rom_error([methods.get(d) for d in flex if b_lo <= d <= b_hi or d >= c_lo])
        if error is not None and bm - cm >= error - 1e-12:
            out.append(fl.Flag("rom_loss", "warning", sorted(d for d in flex if d >= c_lo),
                               f"{knee.capitalize()} knee flexion {fl._fmt(cm)}° over the last "
                               f"7 days against {fl._fmt(bm)}° before, a loss of "
                               f"{fl._fmt(bm - cm)}° (measurement error {fl._fmt(error)}°)"))
    return out


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


def ref_not_improving(data: dict[str, Any], pain: dict[dt.date, float]) -> list[fl.Flag]:
    today, out = data["today"], []
    for plan in data["plans"]:
        if plan.start_date > today or (plan.end_date and plan.end_date < today):
            continue
        weeks = ref_weeks(plan, data["qualifying"].get(plan.id, {}), today, data["since"])
        adherence = adh.combined_adherence([weeks], last_weeks=4)
        on_plan = ref_on_plan(plan, today)
        if on_plan < 4 or adherence is None or adherence < 0.8:
            continue
        bn, bm = ref_period(pain, plan.start_date - 7 * DAY, plan.start_date - DAY)
        if bn < 3:
            bn, bm = ref_period(pain, plan.start_date, plan.start_date + 6 * DAY)
        cn, cm = ref_period(pain, today - 6 * DAY, today)
        if bn < 3 or cn < 3 or bm is None or cm is None or bm - cm >= 2 - 1e-12:
            continue
        out.append(fl.Flag("not_improving", "info", [plan.start_date, today],
                           f"{on_plan} weeks of {plan.activity.replace('_', ' ')} at "
                           f"{round(100 * adherence)} % adherence; pain {fl._fmt(bm)} before, "
                           f"{fl._fmt(cm)} now (MCID 2): consider reassessment"))
    return out


def ref_evaluate(data: dict[str, Any], patient: pd.PatientData) -> list[fl.Flag]:
    today, rows = data["today"], data["rows"]
    start = today - 13 * DAY
    pain = {d: float(v) for d, v in ref_series(rows, "pain_worse").items()}
    events = ref_flare(pain) + ref_severe(pain) + ref_rapid(pain) + ref_swelling(rows)
    events += fl.falls(pd.PatientData(today=today,
                                      exercise=[e for e in data["exercise"] if e.day >= start]))
    flags = [f for f in events if f.dates[-1] >= start]
    stiff = ref_series(rows, "morning_stiffness")
    flags += fl.prolonged_morning_stiffness({d: float(v) for d, v in stiff.items() if d >= start})
    flags += ref_rom(rows, start, today)
    flags += ref_not_improving(data, pain)
    flags += fl.disengaged(patient)
    return sorted(flags, key=lambda f: (fl.SEVERITY_ORDER[f.severity], -f.dates[-1].toordinal(),
                                        f.rule))


# --- random records ----------------------------------------------------------------------------

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
def test_rules_match_the_reference_on_random_records(seed):
    rng = random.Random(seed)
    fired: set[str] = set()
    for _ in range(150):
        data = record(rng)
        patient = patient_data(data)
        expected = ref_evaluate(data, patient)
        assert fl.evaluate(patient) == expected, data
        fired.update(f.rule for f in expected)
        for plan in data["plans"]:
            assert patient.weeks(plan) == ref_weeks(
                plan, data["qualifying"][plan.id], data["today"], data["since"])
            assert adh.count_scored_weeks(plan, data["today"]) == ref_on_plan(plan, data["today"])
    # The records are rich enough to exercise the rules that were rewritten.
    assert {"flare", "rapid_worsening", "new_swelling", "rom_loss"} <= fired, fired


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
