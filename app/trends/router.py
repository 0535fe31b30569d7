from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.auth.schemas import IsoDate
from app.care.access import ReadablePatient
from app.clock import Now
from app.db import SessionDep
from app.diary.schemas import Activity
from app.openapi import PROBLEM_RESPONSES
from app.trends import service
from app.trends.analysis import Bucket
from app.trends.metrics import KneeChoice, Metric, SymptomMetric
from app.trends.schemas import ExerciseResponseOut, FlagList, OverviewOut, TrendOut

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
    Query(description="left, right, or worse: the worse knee of each day (default)"),
]


@router.get("/trends", summary="Every metric's summary, active flags and plan adherence")
def trends_overview(
    patient: ReadablePatient,
    session: SessionDep,
    now: Now,
    date_from: DateFrom = None,
    date_to: DateTo = None,
    knee: Knee = "worse",
) -> OverviewOut:
    return service.overview(session, patient, now, knee=knee, date_from=date_from, date_to=date_to)


@router.get(
    "/trends/exercise-response",
    summary="Symptoms on the day(s) after an activity, against after a day without exercise",
)
def exercise_response(
    patient: ReadablePatient,
    session: SessionDep,
    now: Now,
    activity: Activity,
    metric: Annotated[
        SymptomMetric, Query(description="A diary metric (pain, stiffness, swelling, …)")
    ] = "pain",
    knee: Knee = "worse",
    lag_days: Annotated[int, Query(ge=0, le=14)] = 1,
    date_from: DateFrom = None,
    date_to: DateTo = None,
) -> ExerciseResponseOut:
    return service.exercise_response(
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
    knee: Knee = "worse",
    bucket: Annotated[Bucket, Query(description="day, week (ISO, from Monday) or month")] = "day",
    baseline_from: IsoDate | None = None,
    baseline_to: IsoDate | None = None,
) -> Response:
    # The JSON of `TrendOut`, written without a Pydantic object per point (up to ~1,100).
    body = service.metric_trend_json(
        session,
        patient,
        now,
        metric=metric,
        knee=knee,
        bucket=bucket,
        date_from=date_from,
        date_to=date_to,
        baseline_from=baseline_from,
        baseline_to=baseline_to,
    )
    out = Response(body, media_type="application/json")
    # Headers set by dependencies, as FastAPI adds them to the responses it builds itself.
    out.headers.raw.extend(response.headers.raw)
    return out


@router.get("/flags", summary="Active rule-based flags for the clinician")
def flags(
    patient: ReadablePatient,
    session: SessionDep,
    now: Now,
    days: Annotated[
        int | None,
        Query(ge=1, le=365, description="Look-back window in days (default 14)"),
    ] = None,
) -> FlagList:
    return service.flags(session, patient, now, days=days)
