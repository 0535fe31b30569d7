"""The flag rules of SPEC §5, as pure functions over a patient's daily data. Flags are for
clinicians: each reason describes what the data show, in one line, and never advises.

Every parameter is read through `app.clinical.threshold` (keys `flag_*`), so a deployment can
tune a rule with KNEETRACK_THRESHOLDS without a code change."""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left
from collections.abc import Callable
from dataclasses import dataclass
from statistics import median
from typing import Literal

from app.clinical import threshold
from app.trends.adherence import (
    PlanInfo,
    combined_adherence,
    count_scored_weeks,
)
from app.trends.analysis import DAY, Series, mean
from app.trends.metrics import rom_error
from app.trends.patient_data import Daily, PatientData

Severity = Literal["info", "warning", "urgent"]
SEVERITY_ORDER: dict[str, int] = {"urgent": 0, "warning": 1, "info": 2}


@dataclass(frozen=True)
class Flag:
    rule: str
    severity: Severity
    dates: list[dt.date]
    reason: str


def _p(key: str) -> float:
    return threshold(f"flag_{key}")


def _i(key: str) -> int:
    return int(threshold(f"flag_{key}"))


def active_from(today: dt.date, active_days: int | None = None) -> dt.date:
    days = active_days if active_days is not None else _i("active_days")
    return today - (days - 1) * DAY


def context_days() -> int:
    """How many days before the look-back window the rules read (medians, baselines)."""
    return (
        max(
            _i("rom_baseline_days"),
            _i("flare_median_days") + _i("flare_min_days"),
            _i("swelling_within_days"),
            _i("severe_pain_days"),
        )
        + 1
    )


def _fmt(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def flare(pain: Daily) -> list[Flag]:
    """Pain ≥ the median of the 7 days before the episode + 2, on ≥ 2 consecutive days. Days
    inside an episode already found do not start another."""
    rise, span, need, min_n = (
        _p("flare_rise"),
        _i("flare_median_days"),
        _i("flare_min_days"),
        _i("flare_median_min_n"),
    )
    out: list[Flag] = []
    dates, ords, vals = pain.dates, pain.ords, pain.vals
    n = len(vals)
    lo = i = 0
    while i < n:
        first = ords[i] - span
        while ords[lo] < first:
            lo += 1
        # vals[lo:i] are the values of the `span` days before (the dates are unique, sorted).
        # The median is no less than the minimum, so a value below minimum + rise cannot
        # start an episode and the median need not be taken.
        if i - lo >= max(min_n, 1) and vals[i] >= min(vals[lo:i]) + rise:
            base = median(vals[lo:i])
            limit = base + rise
            if vals[i] >= limit:
                k = i + 1
                while k < n and ords[k] == ords[k - 1] + 1 and vals[k] >= limit:
                    k += 1
                if k - i >= need:
                    out.append(
                        Flag(
                            "flare",
                            "warning",
                            dates[i:k],
                            f"Pain up to {_fmt(max(vals[i:k]))} on {k - i} "
                            f"consecutive days, against a median of {_fmt(base)} in the "
                            f"{span} days before",
                        )
                    )
                    i = k
                    continue
        i += 1
    return out


def sustained_severe_pain(pain: Daily) -> list[Flag]:
    level, need = _p("severe_pain"), _i("severe_pain_days")
    runs: list[list[dt.date]] = []
    last = 0
    for d, o, v in zip(pain.dates, pain.ords, pain.vals, strict=True):
        if v >= level:
            if runs and last == o - 1:
                runs[-1].append(d)
            else:
                runs.append([d])
            last = o
    return [
        Flag(
            "sustained_severe_pain",
            "warning",
            run,
            f"Pain {_fmt(level)} or more on {len(run)} consecutive days",
        )
        for run in runs
        if len(run) >= need
    ]


def rapid_worsening(pain: Daily) -> list[Flag]:
    rise = _p("rapid_rise")
    dates, ords, vals = pain.dates, pain.ords, pain.vals
    return [
        Flag(
            "rapid_worsening",
            "warning",
            [dates[i - 1], dates[i]],
            f"Pain rose from {_fmt(vals[i - 1])} to {_fmt(vals[i])} from one day to the next",
        )
        for i in range(1, len(vals))
        if ords[i] == ords[i - 1] + 1 and vals[i] - vals[i - 1] >= rise
    ]


def new_swelling(data: PatientData) -> list[Flag]:
    """Per knee: swelling ≥ 2 within 2 days of a day with none; with warmth on the knee that
    day, `hot_swollen_joint` (urgent) instead."""
    level, within = _p("swelling_level"), _i("swelling_within_days")
    out: list[Flag] = []
    for knee in ("left", "right"):
        daily = data.daily(f"swelling_{knee}")
        if not any(v >= level for v in daily.vals):
            continue
        sw = data.series(f"swelling_{knee}")
        warm = data.values(f"warmth_{knee}")
        for d, v in zip(daily.dates, daily.vals, strict=True):
            if v < level:
                continue
            zero = [d - i * DAY for i in range(1, within + 1) if sw.get(d - i * DAY) == 0]
            if not zero:
                continue
            dates = [zero[-1], d]
            if warm.get(d):
                out.append(
                    Flag(
                        "hot_swollen_joint",
                        "urgent",
                        dates,
                        f"{knee.capitalize()} knee swelling grade {_fmt(v)} with warmth, "
                        f"up from none on {zero[-1].isoformat()}",
                    )
                )
            else:
                out.append(
                    Flag(
                        "new_swelling",
                        "warning",
                        dates,
                        f"{knee.capitalize()} knee swelling grade {_fmt(v)}, up from "
                        f"none on {zero[-1].isoformat()}",
                    )
                )
    return out


def prolonged_morning_stiffness(stiff: Series) -> list[Flag]:
    limit, count, last = (
        _p("morning_stiffness_minutes"),
        _i("morning_stiffness_count"),
        _i("morning_stiffness_entries"),
    )
    recent = sorted(stiff)[-last:]
    over = [d for d in recent if stiff[d] > limit]
    if len(over) < count:
        return []
    return [
        Flag(
            "prolonged_morning_stiffness",
            "info",
            over,
            f"Morning stiffness over {_fmt(limit)} min on {len(over)} of the last "
            f"{len(recent)} entries",
        )
    ]


def rom_loss(data: PatientData, start: dt.date) -> list[Flag]:
    """Per knee: mean flexion over the last 7 days below the mean of the 28 days before the
    look-back window by at least the measurement error of the methods used."""
    base_days, cur_days, min_n = _i("rom_baseline_days"), _i("rom_current_days"), _i("rom_min_n")
    out: list[Flag] = []
    for knee in ("left", "right"):
        flex = data.daily(f"flexion_{knee}")
        base = flex.period(start - base_days * DAY, start - DAY)
        cur = flex.period(data.today - (cur_days - 1) * DAY, data.today)
        if base.n < min_n or cur.n < min_n or base.mean is None or cur.mean is None:
            continue
        methods = data.values(f"flexion_{knee}_method")
        b0, b1 = flex.bounds(base.start, base.end)
        c0 = bisect_left(flex.dates, cur.start)
        used = {methods.get(d) for d in flex.dates[b0:b1] + flex.dates[c0:]}
        error = rom_error(used)
        loss = base.mean - cur.mean
        if error is not None and loss >= error - 1e-12:
            dates = flex.dates[c0:]
            out.append(
                Flag(
                    "rom_loss",
                    "warning",
                    dates,
                    f"{knee.capitalize()} knee flexion {_fmt(cur.mean)}° over the last "
                    f"{cur_days} days against {_fmt(base.mean)}° before, a loss of "
                    f"{_fmt(loss)}° (measurement error {_fmt(error)}°)",
                )
            )
    return out


def falls(data: PatientData) -> list[Flag]:
    fell = sorted({e.day for e in data.exercise if e.falls > 0})
    near = sorted({e.day for e in data.exercise if e.near_falls > 0})
    out = []
    if fell:
        n = sum(e.falls for e in data.exercise if e.falls > 0)
        out.append(Flag("fall", "urgent", fell, f"{n} fall(s) reported during exercise"))
    if near:
        n = sum(e.near_falls for e in data.exercise if e.near_falls > 0)
        out.append(Flag("near_fall", "info", near, f"{n} near fall(s) reported during exercise"))
    return out


def plan_pain_change(pain: Daily, plan: PlanInfo, today: dt.date) -> tuple[float, float] | None:
    """Mean pain before the plan (the 7 days before its start, else its first 7 days) and over
    the last 7 days; None with fewer than 3 values in either."""
    base = pain.period(plan.start_date - 7 * DAY, plan.start_date - DAY)
    if base.n < 3:
        base = pain.period(plan.start_date, plan.start_date + 6 * DAY)
    cur = pain.period(today - 6 * DAY, today)
    if base.n < 3 or cur.n < 3 or base.mean is None or cur.mean is None:
        return None
    return base.mean, cur.mean


def not_improving(data: PatientData, pain: Daily) -> list[Flag]:
    weeks_needed, min_adherence = _i("not_improving_weeks"), _p("not_improving_adherence")
    mcid = threshold("pain_mcid")
    out = []
    for plan in data.plans:
        if plan.start_date > data.today or (plan.end_date and plan.end_date < data.today):
            continue
        on_plan = count_scored_weeks(plan, data.today)
        adherence = combined_adherence([data.weeks(plan)], last_weeks=weeks_needed)
        if on_plan < weeks_needed or adherence is None or adherence < min_adherence:
            continue
        change = plan_pain_change(pain, plan, data.today)
        if change is None or change[0] - change[1] >= mcid - 1e-12:
            continue
        out.append(
            Flag(
                "not_improving",
                "info",
                [plan.start_date, data.today],
                f"{on_plan} weeks of {plan.activity.replace('_', ' ')} at "
                f"{round(100 * adherence)} % adherence; pain {_fmt(change[0])} before, "
                f"{_fmt(change[1])} now (MCID {_fmt(mcid)}): consider reassessment",
            )
        )
    return out


def disengaged(data: PatientData) -> list[Flag]:
    gap = _i("disengaged_days")
    if data.last_entry is None or (data.today - data.last_entry).days < gap:
        return []
    days = (data.today - data.last_entry).days
    return [
        Flag(
            "disengaged",
            "info",
            [data.last_entry],
            f"No diary entry for {days} days (last on {data.last_entry.isoformat()})",
        )
    ]


EVENT_RULES: list[Callable[[Daily], list[Flag]]] = [flare, sustained_severe_pain, rapid_worsening]


def evaluate(data: PatientData, *, active_days: int | None = None) -> list[Flag]:
    """Every rule. Event rules (episodes on dates) count when their last date lies in the
    look-back window; state rules (stiffness, ROM, plan, engagement) are judged as of today."""
    start = active_from(data.today, active_days)
    pain = data.daily("pain_worse")
    events: list[Flag] = [f for rule in EVENT_RULES for f in rule(pain)]
    events += new_swelling(data)
    events += falls(_within(data, start))
    flags = [f for f in events if f.dates[-1] >= start]
    stiffness = data.daily("morning_stiffness")
    flags += prolonged_morning_stiffness(stiffness.restrict(start, dt.date.max))
    flags += rom_loss(data, start)
    flags += not_improving(data, pain)
    flags += disengaged(data)
    return sorted(
        flags, key=lambda f: (SEVERITY_ORDER[f.severity], -f.dates[-1].toordinal(), f.rule)
    )


def _within(data: PatientData, start: dt.date) -> PatientData:
    return PatientData(today=data.today, exercise=[e for e in data.exercise if e.day >= start])


def last_7_mean(pain: Series, today: dt.date) -> float | None:
    return mean(v for d, v in pain.items() if today - 6 * DAY <= d <= today)
