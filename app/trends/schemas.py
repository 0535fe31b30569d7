from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, Field

from app.trends.analysis import Bucket, Direction, Status
from app.trends.flags import Severity


class PointOut(BaseModel):
    period_start: dt.date
    n: int = Field(description="Days with data in the period")
    mean: float
    min: float
    max: float
    rolling_mean_7d: float | None = Field(
        default=None,
        description="Day buckets only: mean of the daily values in the 7 days "
        "ending that day (gaps are not filled)",
    )


class PeriodOut(BaseModel):
    from_: dt.date = Field(alias="from", serialization_alias="from")
    to: dt.date
    n: int
    mean: float | None

    model_config = {"populate_by_name": True}


class SummaryOut(BaseModel):
    metric: str
    knee: str | None
    unit: str
    direction: Direction
    from_: dt.date = Field(alias="from", serialization_alias="from")
    to: dt.date
    n: int = Field(description="Days with data in the window")
    baseline: PeriodOut
    current: PeriodOut
    change: float | None
    change_percent: float | None
    slope_per_week: float | None
    mcid: float | None
    mdc: float | None = Field(description="Measurement error (minimum detectable change), if known")
    status: Status | None = Field(
        description="null for metrics without a clinical threshold (exercise)"
    )
    last_date: dt.date | None = None
    last_value: float | None = None

    model_config = {"populate_by_name": True}


class TrendOut(SummaryOut):
    bucket: Bucket
    points: list[PointOut]


class FlagOut(BaseModel):
    rule: str
    severity: Severity
    dates: list[dt.date]
    reason: str


class FlagList(BaseModel):
    items: list[FlagOut]
    active_from: dt.date
    today: dt.date


class WeekOut(BaseModel):
    week_start: dt.date
    sessions: int
    prescribed: int
    adherence: float


class PlanAdherenceOut(BaseModel):
    plan_id: uuid.UUID
    activity: str
    minutes_per_session: int
    sessions_per_week: int
    start_date: dt.date
    end_date: dt.date | None
    adherence_4w: float | None
    weeks: list[WeekOut] = Field(description="Scored ISO weeks, the last 12 at most")


class AdherenceOut(BaseModel):
    adherence_4w: float | None = Field(description="All plans, the last 4 scored ISO weeks")
    plans: list[PlanAdherenceOut]


class OverviewOut(BaseModel):
    patient_id: uuid.UUID
    today: dt.date
    from_: dt.date = Field(alias="from", serialization_alias="from")
    to: dt.date
    knee: str
    last_entry_date: dt.date | None
    metrics: dict[str, SummaryOut]
    flags: list[FlagOut]
    adherence: AdherenceOut

    model_config = {"populate_by_name": True}


class GroupOut(BaseModel):
    n: int
    mean: float | None


class BeforeAfterOut(BaseModel):
    plan_id: uuid.UUID
    plan_start: dt.date
    before: PeriodOut
    after: PeriodOut
    change: float | None


class ExerciseResponseOut(BaseModel):
    activity: str
    metric: str
    knee: str | None
    lag_days: int
    from_: dt.date = Field(alias="from", serialization_alias="from")
    to: dt.date
    after_activity: GroupOut
    after_rest: GroupOut
    difference: float | None
    ci95: list[float] | None = Field(description="Welch 95 % interval of the difference")
    enough_data: bool
    before_after: BeforeAfterOut | None

    model_config = {"populate_by_name": True}
