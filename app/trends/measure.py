"""One measure's trend (`GET …/trends/{metric}`): its daily series from `queries.py`,
interpreted by the pure functions of `analysis.py`."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from typing import TypedDict, Unpack

import orjson
from sqlmodel import Session

from app.care.models import Patient
from app.schemas import DATE_MIN
from app.trends import analysis as an
from app.trends import exercise_queries
from app.trends import queries as q
from app.trends.metrics import METRICS, MetricSpec, thresholds_for
from app.trends.patient_data import ExerciseDay
from app.trends.schemas import (
    BaselineOut,
    Basis,
    PeriodOut,
    PointOut,
    SummaryOut,
    ThresholdsOut,
    TrendOut,
)
from app.trends.windows import (
    Anchor,
    Range,
    baseline_range,
    resolve_anchor,
    resolve_knee,
    resolve_window,
    today_for,
)

# --- series -----------------------------------------------------------------------------------


def exercise_series(
    rows: Sequence[ExerciseDay], metric: str, span: tuple[dt.date, dt.date] | None
) -> dict[dt.date, float]:
    """Daily sums over every day of `span`, 0 on days without a session."""
    if span is None:
        return {}
    sums: dict[dt.date, float] = {}
    for e in rows:
        sums[e.day] = sums.get(e.day, 0.0) + (
            e.minutes if metric == "exercise_minutes" else e.sessions
        )
    return an.zero_filled(sums, *span)


def exercise_span(
    first_record: dt.date | None, start: dt.date, end: dt.date, today: dt.date
) -> tuple[dt.date, dt.date] | None:
    """Exercise series start on the patient's first record (diary entry or session) and end
    today at the latest: days before the patient used the service are unknown, not rest."""
    if first_record is None:
        return None
    lo, hi = max(start, first_record), min(end, today)
    return (lo, hi) if lo <= hi else None


def summary_out(
    spec: MetricSpec,
    knee: str | None,
    series: an.Series,
    window: Range,
    anchor: Anchor,
    rom_methods: Sequence[str | None] = (),
) -> SummaryOut:
    inside = an.restrict(series, window.start, window.end)
    limits = thresholds_for(spec, rom_methods)
    s = an.summarise(
        series,
        window=(window.start, window.end),
        baseline=baseline_range(anchor, series, window, sparse=spec.sparse),
        direction=spec.direction,
        limits=limits,
        sparse=spec.sparse,
    )
    last = max(inside) if inside else None
    return SummaryOut(
        metric=spec.name,
        knee=knee,
        unit=spec.unit,
        direction=spec.direction,
        from_=window.start,
        to=window.end,
        n=len(inside),
        baseline=BaselineOut(
            from_=s.baseline.start,
            to=s.baseline.end,
            n=s.baseline.n,
            mean=s.baseline.mean,
            basis=anchor.basis,
        ),
        current=period_out(s.current),
        change=s.change,
        change_percent=s.change_percent,
        slope_per_week=s.slope_per_week,
        thresholds=ThresholdsOut(
            mcid=limits.mcid,
            mcid_percent=limits.mcid_percent,
            mdc=limits.mdc,
            worsening=limits.worsening,
            acceptable=limits.acceptable,
            sources=dict(limits.sources),
        ),
        threshold_kind=limits.kind,
        status=s.status,
        acceptable_state=s.acceptable_state,
        last_date=last,
        last_value=inside[last] if last else None,
    )


def period_out(p: an.Period) -> PeriodOut:
    return PeriodOut(from_=p.start, to=p.end, n=p.n, mean=p.mean)


class TrendParams(TypedDict):
    """What a trend asks for: the query of GET /v1/patients/{pid}/trends/{metric}."""

    metric: str
    knee: str
    bucket: an.Bucket
    date_from: dt.date | None
    date_to: dt.date | None
    baseline: Basis
    baseline_from: dt.date | None
    baseline_to: dt.date | None


def metric_trend(
    session: Session, patient: Patient, now: dt.datetime, **params: Unpack[TrendParams]
) -> TrendOut:
    summary, cols = _trend(session, patient, now, params)
    return TrendOut(
        **summary.model_dump(by_alias=False),
        bucket=params["bucket"],
        # Built from our own numbers: no need to validate each of up to ~1,100 points again.
        points=[
            PointOut.model_construct(
                period_start=d, n=n, mean=mean, min=lo, max=hi, rolling_mean_7d=rolling
            )
            for d, n, mean, lo, hi, rolling in cols.rows()
        ],
    )


def metric_trend_json(
    session: Session, patient: Patient, now: dt.datetime, **params: Unpack[TrendParams]
) -> bytes:
    """`metric_trend` as the JSON bytes FastAPI would write for its `TrendOut`, without a
    Pydantic object per point: the summary is dumped by Pydantic, the points by orjson (both
    write floats as the shortest round-trip decimal, and dates in ISO format)."""
    summary, cols = _trend(session, patient, now, params)
    head = summary.model_dump_json(by_alias=True).encode()
    points = orjson.dumps(
        [
            {
                "period_start": d,
                "n": n,
                "mean": mean,
                "min": lo,
                "max": hi,
                "rolling_mean_7d": rolling,
            }
            for d, n, mean, lo, hi, rolling in cols.rows()
        ]
    )
    bucket = orjson.dumps(params["bucket"])
    return b"".join((head[:-1], b',"bucket":', bucket, b',"points":', points, b"}"))


def _trend(
    session: Session, patient: Patient, now: dt.datetime, params: TrendParams
) -> tuple[SummaryOut, an.PointColumns]:
    metric = params["metric"]
    spec = METRICS[metric]
    knee = resolve_knee(patient, params["knee"])
    today = today_for(patient, now)
    window = resolve_window(today, params["date_from"], params["date_to"])
    anchor = resolve_anchor(
        session,
        patient,
        today,
        window,
        basis=params["baseline"],
        knee=knee,
        baseline_from=params["baseline_from"],
        baseline_to=params["baseline_to"],
    )
    # The whole record up to the window's end: the baseline is anchored to the patient
    # (their plan, their first days), not to the window, and a sparse metric may carry its
    # last earlier value forward. One index range scan on (patient_id, date).
    fetch = q.Window([patient.id], DATE_MIN, window.end)
    methods: list[str | None] = []
    series: dict[dt.date, float]
    if spec.source in ("knee", "entry"):
        # Rows are (entry_date, value[, method]), in date order: read by position.
        rows = q.symptom_values(session, patient.id, fetch.start, fetch.end, spec, knee)
        series = {r[0]: float(r[1]) for r in rows if r[1] is not None}
        if spec.is_rom:
            methods = [
                r[2] for r in rows if r[1] is not None and window.start <= r[0] <= window.end
            ]
    elif spec.source == "exercise":
        first = q.record_dates(session, [patient.id])[patient.id].first_record
        span = exercise_span(first, fetch.start, fetch.end, today)
        series = exercise_series(exercise_rows(session, fetch), metric, span)
    else:
        series = {r.day: float(r.score) for r in q.sparse_days(session, fetch, spec)}
    summary = summary_out(spec, knee if spec.per_knee else None, series, window, anchor, methods)
    return summary, an.point_columns(series, params["bucket"], (window.start, window.end))


def exercise_rows(session: Session, window: q.Window) -> list[ExerciseDay]:
    return [e for rows in exercise_rows_many(session, window).values() for e in rows]


def exercise_rows_many(session: Session, window: q.Window) -> dict[uuid.UUID, list[ExerciseDay]]:
    out: dict[uuid.UUID, list[ExerciseDay]] = {}
    for r in exercise_queries.exercise_days(session, window):
        # (patient, date, activity, sessions, minutes, falls, near falls), by position
        out.setdefault(r[0], []).append(
            ExerciseDay(r[1], r[2], r[3], int(r[4]), int(r[5]), int(r[6]))
        )
    return out
