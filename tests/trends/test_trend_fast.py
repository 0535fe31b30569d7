"""The trend endpoint's fast path (points as one list per field, rolling means by binary
search, JSON written without a Pydantic object per point) gives the very bytes the plain
definitions give: a Pydantic `TrendOut` of points built day by day with `rolling_mean` and
`fmean`, on seeded random data with gaps, on both databases."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from statistics import fmean
from typing import Any

import pytest

from app.schemas import DATE_MIN
from app.trends import analysis as an
from app.trends import measure, windows
from app.trends.metrics import METRICS
from app.trends.schemas import PointOut, TrendOut
from tests.trends.conftest import NOW, TODAY, day

METHODS = [None, "goniometer", "inclinometer", "smartphone_app", "self_estimate"]


def reference_points(
    series: an.Series, bucket: an.Bucket, context: an.Series
) -> list[PointOut]:
    """Points by the definitions: group the sorted days by bucket, `fmean`, `min`, `max`, and
    `rolling_mean` over the context for day buckets."""
    groups: dict[dt.date, list[float]] = {}
    for d in sorted(series):
        groups.setdefault(an.bucket_start(d, bucket), []).append(series[d])
    return [
        PointOut(
            period_start=start,
            n=len(vals),
            mean=fmean(vals),
            min=min(vals),
            max=max(vals),
            rolling_mean_7d=an.rolling_mean(context, start) if bucket == "day" else None,
        )
        for start, vals in groups.items()
    ]


def random_series(rng: random.Random, n_days: int, decimals: int) -> dict[dt.date, float]:
    """Irregular gaps (single days and runs of up to 9) and non-dyadic values."""
    out: dict[dt.date, float] = {}
    d = dt.date(2024, 2, 20)
    for _ in range(n_days):
        d += dt.timedelta(days=1 if rng.random() < 0.7 else rng.randint(2, 10))
        out[d] = round(rng.uniform(-20, 140), decimals)
    out[d + dt.timedelta(days=1)] = -0.0
    return out


@pytest.mark.parametrize("seed", range(6))
def test_fast_points_equal_the_definitions_to_the_last_bit(seed):
    rng = random.Random(seed)
    context = random_series(rng, 400, decimals=rng.choice([0, 1, 3]))
    days = sorted(context)
    start, end = days[rng.randint(0, 30)], days[-rng.randint(1, 30)]
    inside = an.restrict(context, start, end)
    for bucket in ("day", "week", "month"):
        fast = an.points(context, bucket, (start, end))
        slow = reference_points(inside, bucket, context)
        assert len(fast) == len(slow) > 10
        for f, s in zip(fast, slow, strict=True):
            # repr: the same floats to the last bit (and 0.0 is not -0.0)
            assert repr(f.__dict__) == repr(s.model_dump()), (bucket, f, s)
    # Without a window: every day of the series, the rolling means from the series alone.
    assert repr([p.__dict__ for p in an.points(inside, "day")]) == repr(
        [p.model_dump() for p in reference_points(inside, "day", inside)]
    )
    assert an.points({}, "day") == an.points(context, "week", (end, start)) == []


Seeded = tuple[dict[dt.date, dict[str, Any]], dict[dt.date, int], dict[dt.date, float]]


def _seed(s: Any, rng: random.Random) -> Seeded:
    """About 430 days of diary rows with gaps (and knees left out), exercise sessions and
    KOOS-JR scores; returns the rows, the exercise minutes per day and the scores."""
    rows: dict[dt.date, dict[str, Any]] = {}
    for i in range(-520, 1):
        if rng.random() < 0.17:
            continue
        r: dict[str, Any] = {"morning_stiffness_minutes": rng.choice([None, rng.randint(0, 240)])}
        for side in ("left", "right"):
            if rng.random() < 0.2:
                continue  # this knee not reported today
            r[f"{side}_pain"] = rng.randint(0, 10)
            r[f"{side}_flexion"] = rng.randint(40, 150)
            r[f"{side}_extension"] = rng.randint(-10, 30)
            r[f"{side}_rom_method"] = rng.choice(METHODS)
        rows[day(i)] = r
    s.entries(rows)
    minutes: dict[dt.date, int] = {}
    sessions = []
    for i in range(-480, 1, 2):
        if rng.random() < 0.6:
            m = rng.randint(5, 60)
            sessions.append((day(i), rng.choice(["cycling", "backward_walking"]), m))
            minutes[day(i)] = minutes.get(day(i), 0) + m
    s.sessions(*sessions)
    koos = {day(i): round(rng.uniform(30, 90), 1) for i in range(-500, 1, 37)}
    for d, score in koos.items():
        s.koos_jr(d, score)
    return rows, minutes, koos


def _knee_series(
    rows: dict[dt.date, dict[str, Any]], metric: str, knee: str
) -> tuple[dict[dt.date, float], dict[dt.date, str | None]]:
    """A knee metric's daily values (and ROM methods) by the rule of the worse knee."""
    spec = METRICS[metric]
    values: dict[dt.date, float] = {}
    methods: dict[dt.date, str | None] = {}
    for d, r in rows.items():
        left, right = r.get(f"left_{metric}"), r.get(f"right_{metric}")
        if knee == "worse":
            pick_left = left is not None and (
                right is None or (left >= right if spec.worse_is_higher else left <= right)
            )
            side = "left" if pick_left else "right"
        else:
            side = knee
        value = r.get(f"{side}_{metric}")
        if value is not None:
            values[d] = float(value)
            methods[d] = r.get(f"{side}_rom_method")
    return values, methods


def test_trend_json_is_the_bytes_of_trend_out(client, seeded, engine):
    from sqlmodel import Session

    from app.care.models import Patient

    p, s = seeded()
    rows, minutes, koos = _seed(s, random.Random(20260301))
    date_from, date_to = day(-400), day(-3)
    window = windows.Range(date_from, date_to)
    # Exercise days count from the first record (the first diary day) to `to`, 0 if none.
    span = measure.exercise_span(min(rows), DATE_MIN, date_to, TODAY)
    assert span is not None
    cases: list[tuple[str, str]] = [
        (m, k) for m in ("pain", "flexion", "extension") for k in ("left", "right", "worse")
    ]
    cases += [("morning_stiffness", "worse"), ("exercise_minutes", "worse"), ("koos_jr", "worse")]
    checked = 0
    for metric, knee in cases:
        spec = METRICS[metric]
        methods: list[str | None] = []
        if spec.source == "knee":
            series, by_day = _knee_series(rows, metric, knee)
            methods = [m for d, m in by_day.items() if date_from <= d <= date_to]
        elif spec.source == "entry":
            series = {
                d: float(r["morning_stiffness_minutes"])
                for d, r in rows.items()
                if r["morning_stiffness_minutes"] is not None
            }
        elif spec.source == "exercise":
            series = an.zero_filled({d: float(m) for d, m in minutes.items()}, *span)
        else:
            series = koos
        context = an.restrict(series, date_from - 6 * an.DAY, date_to)
        inside = an.restrict(series, date_from, date_to)
        # No plan: the baseline is anchored to the record's first days (intake), read from
        # the whole record up to `to`.
        summary = measure.summary_out(
            spec, knee if spec.per_knee else None, an.restrict(series, DATE_MIN, date_to),
            window, windows.Anchor("intake"), methods,
        )
        for bucket in ("day", "week", "month"):
            expected = TrendOut(
                **summary.model_dump(by_alias=False),
                bucket=bucket,
                points=reference_points(inside, bucket, context),
            ).model_dump_json(by_alias=True)
            r = client.get(
                f"/v1/patients/me/trends/{metric}",
                headers=p.headers,
                params={"from": str(date_from), "to": str(date_to), "knee": knee,
                        "bucket": bucket},
            )
            assert r.status_code == 200, r.text
            assert r.headers["content-type"] == "application/json"
            assert r.content.decode() == expected, (metric, knee, bucket)
            # The model the dashboard reads holds the same numbers.
            with Session(engine) as session:
                patient = session.get_one(Patient, uuid.UUID(p.id))
                model = measure.metric_trend(
                    session, patient, NOW, metric=metric, knee=knee, bucket=bucket,
                    date_from=date_from, date_to=date_to, baseline="auto", baseline_from=None,
                    baseline_to=None,
                )
            assert model.model_dump_json(by_alias=True) == expected
            checked += len(r.json()["points"])
    assert checked > 3000  # the data really were read

