from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.auth.dependencies import CurrentActor
from app.care.guards import ReadablePatient
from app.clock import Now
from app.db import SessionDep
from app.diary.vocabulary import Activity
from app.openapi import PROBLEM_RESPONSES
from app.responses import json_response
from app.schemas import IsoDate
from app.trends import effect, measure, overview
from app.trends.analysis import Bucket
from app.trends.metrics import KneeChoice, Metric, SymptomMetric
from app.trends.schemas import (
    Basis,
    ExerciseResponseOut,
    OverviewOut,
    SessionPainOut,
    TrendOut,
)

router = APIRouter(prefix="/v1/patients/{pid}", tags=["trends"], responses=PROBLEM_RESPONSES)

DateFrom = Annotated[
    IsoDate | None,
    Query(alias="from", description="First local date (default: 89 days before `to`)"),
]
DateTo = Annotated[
    IsoDate | None, Query(alias="to", description="Last local date (default: today, local)")
]
Knee = Annotated[
    KneeChoice,
    Query(
        description="left, right, worse (the worse knee of each day, which may switch), or "
        "index (default): the patient's index knee when set, else worse"
    ),
]
Baseline = Annotated[
    Basis,
    Query(
        description="Where the baseline is anchored (SPEC §4): plan (the 7 days before the "
        "current plan's start), treatment, intake (the first 7 days of the record), window "
        "(the first 7 days of the window, v1), custom (baseline_from/baseline_to), or auto "
        "(default): plan when the patient has one, else intake. The window never moves it."
    ),
]


@router.get("/trends", summary="Every metric's summary, active flags and plan adherence")
def trends_overview(
    patient: ReadablePatient,
    actor: CurrentActor,
    session: SessionDep,
    now: Now,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    knee: Knee = "index",
    baseline: Baseline = "auto",
) -> OverviewOut:
    return overview.overview(
        session,
        patient,
        now,
        knee=knee,
        date_from=date_from,
        date_to=date_to,
        baseline=baseline,
        for_patient=actor.is_patient,
    )


@router.get(
    "/trends/exercise-response",
    summary="The activity's association with a symptom, adjusted for trend and yesterday",
)
def exercise_response(
    patient: ReadablePatient,
    session: SessionDep,
    now: Now,
    activity: Activity,
    metric: Annotated[
        SymptomMetric, Query(description="A diary metric (pain, stiffness, swelling, …)")
    ] = "pain",
    knee: Knee = "index",
    lag_days: Annotated[int, Query(ge=0, le=14)] = 1,
    date_from: DateFrom = None,
    date_to: DateTo = None,
) -> ExerciseResponseOut:
    return effect.exercise_response(
        session,
        patient,
        now,
        activity=activity,
        metric=metric,
        knee=knee,
        lag_days=lag_days,
        date_from=date_from,
        date_to=date_to,
    )


@router.get(
    "/trends/session-pain",
    summary="Pain before and after each session and the next day (pain-monitoring model)",
)
def session_pain(
    patient: ReadablePatient,
    session: SessionDep,
    now: Now,
    activity: Annotated[
        Activity | None, Query(description="Only sessions of this activity (default: all)")
    ] = None,
    knee: Knee = "index",
    date_from: DateFrom = None,
    date_to: DateTo = None,
) -> SessionPainOut:
    return effect.session_pain(
        session,
        patient,
        now,
        activity=activity,
        knee=knee,
        date_from=date_from,
        date_to=date_to,
    )


@router.get(
    "/trends/{metric}",
    summary="A metric's daily series, buckets and summary",
    response_model=TrendOut,
)
def metric_trend(
    metric: Metric,
    patient: ReadablePatient,
    session: SessionDep,
    now: Now,
    response: Response,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    knee: Knee = "index",
    baseline: Baseline = "auto",
    bucket: Annotated[Bucket, Query(description="day, week (ISO, from Monday) or month")] = "day",
    baseline_from: IsoDate | None = None,
    baseline_to: IsoDate | None = None,
) -> Response:
    # The JSON of `TrendOut`, written without a Pydantic object per point (up to ~1,100).
    body = measure.metric_trend_json(
        session,
        patient,
        now,
        metric=metric,
        knee=knee,
        bucket=bucket,
        date_from=date_from,
        date_to=date_to,
        baseline=baseline,
        baseline_from=baseline_from,
        baseline_to=baseline_to,
    )
    return json_response(body, response)
