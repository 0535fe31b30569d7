from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.diary.vocabulary import Activity
from app.schemas import StrictModel
from app.trends.analysis import Bucket, Direction, Status, ThresholdKind
from app.trends.metrics import Metric
from app.trends.rules import Severity


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


Basis = Literal["auto", "plan", "treatment", "intake", "window", "custom"]
ResolvedBasis = Literal["plan", "treatment", "intake", "window", "custom"]


class BaselineOut(PeriodOut):
    basis: ResolvedBasis = Field(
        description="Where the baseline was anchored (`auto` resolves to plan or intake)"
    )


class ThresholdsOut(BaseModel):
    mcid: float | None = Field(description="Minimal clinically important change, if published")
    mcid_percent: float | None = Field(
        description="Relative MCID: this share of the baseline (%) also counts as important"
    )
    mdc: float | None = Field(
        description="Minimum detectable change (measurement error): smaller changes may be noise"
    )
    worsening: float | None = Field(
        description="A change this large in the worse direction is `worsened` (default: the MDC)"
    )
    acceptable: float | None = Field(
        description="Patient-acceptable symptom state (PASS): at or better than it is acceptable"
    )
    sources: dict[str, str] = Field(description="The published source of each value above")


class SummaryOut(BaseModel):
    metric: Metric
    knee: str | None
    unit: str
    direction: Direction
    from_: dt.date = Field(alias="from", serialization_alias="from")
    to: dt.date
    n: int = Field(description="Days with data in the window")
    baseline: BaselineOut = Field(
        description="Anchored to the patient (SPEC §4), not to the window: the same whatever "
        "`from` is"
    )
    current: PeriodOut
    change: float | None
    change_percent: float | None
    slope_per_week: float | None = Field(
        description="7 × the least-squares slope over the window; descriptive only"
    )
    thresholds: ThresholdsOut
    threshold_kind: ThresholdKind | None = Field(
        description="`mcid`: judged by a clinically important change; `mdc`: only by "
        "measurement error (never called clinically important); null: no threshold (exercise)"
    )
    status: Status | None = Field(
        description="null for metrics without a clinical threshold (exercise)"
    )
    acceptable_state: bool | None = Field(
        description="Current level at or better than the patient-acceptable symptom state; "
        "null where none is published or current data are insufficient"
    )
    last_date: dt.date | None = None
    last_value: float | None = None

    model_config = {"populate_by_name": True}


class TrendOut(SummaryOut):
    bucket: Bucket
    points: list[PointOut]


FlagRule = Literal[
    "pain_episode",
    "swelling_rise",
    "hot_swollen_joint",
    "fall",
    "near_falls",
    "giving_way",
    "unsupervised_early",
    "exercise_pain",
    "prolonged_morning_stiffness",
    "rom_loss",
    "not_improving",
    "escalation_review",
    "disengaged",
]
FlagStatus = Literal["open", "reviewed", "resolved"]


class FlagOut(BaseModel):
    """A flag episode (SPEC §5), for the clinician: it describes the data, never advises."""

    id: uuid.UUID
    rule: FlagRule
    key: str = Field(
        description="What the episode is about within its rule: the knee (`left`, `right`) "
        "for swelling rules, `<knee>_<flexion|extension>` for `rom_loss`, else empty"
    )
    severity: Severity
    status: FlagStatus = Field(
        description="`open` until a clinician reviews it (an urgent one stays open until "
        "then); `reviewed` while the review covers its data; `resolved` once its condition "
        "no longer holds. New triggering data after a review reopens it"
    )
    first_date: dt.date
    last_date: dt.date
    dates: list[dt.date] = Field(
        description="The days the condition held (rules judged day by day — not_improving, "
        "escalation_review, disengaged — give the first and the last)"
    )
    criteria: list[str] = Field(description="Which of the rule's criteria the data met")
    reason: str = Field(description="What the data show: values, dates, activity, setting")
    reviewed_by: uuid.UUID | None
    reviewed_at: dt.datetime | None
    review_note: str | None


class FlagList(BaseModel):
    items: list[FlagOut]
    as_of: dt.date | None = Field(
        description="The patient's local date when the episodes were last computed (null: not yet)"
    )
    pending: bool = Field(
        description="A write is waiting to be taken into the episodes (see docs/flags.md "
        "for the delay)"
    )


class FlagReviewIn(StrictModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"note": "Phoned her: no injury from the fall; carrying on indoors."}]
        }
    )

    note: str = Field(min_length=1, max_length=2000, description="What was done or decided")


class WeekOut(BaseModel):
    week_start: dt.date
    sessions: int
    prescribed: int
    adherence: float


class PlanAdherenceOut(BaseModel):
    plan_id: uuid.UUID
    activity: Activity
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
    flags: list[FlagOut] = Field(
        description="The open and reviewed flag episodes, open first, as the panel shows them "
        "(`dates` of each episode's last 14 days; GET …/flags has them all)"
    )
    adherence: AdherenceOut

    model_config = {"populate_by_name": True}


class GroupOut(BaseModel):
    n: int
    mean: float | None


class BeforeAfterOut(BaseModel):
    design: Literal["uncontrolled"] = "uncontrolled"
    plan_id: uuid.UUID
    plan_start: dt.date
    before: PeriodOut
    after: PeriodOut
    change: float | None


class DescriptiveOut(BaseModel):
    after_activity: GroupOut
    after_rest: GroupOut
    difference: float | None = Field(
        description="Raw difference of the means: no interval, not adjusted for anything"
    )


class ExerciseResponseOut(BaseModel):
    activity: Activity
    metric: Metric
    knee: str | None
    lag_days: int
    from_: dt.date = Field(alias="from", serialization_alias="from")
    to: dt.date
    method: Literal["ols_trend_ar1_hac7"] = Field(
        description="OLS of y_t on [1, a_(t-lag), t, y_(t-1)] with Newey-West (HAC, 7 lags) "
        "standard errors"
    )
    effect: float | None = Field(
        description="Association of the activity (lag_days before) with the metric, adjusted "
        "for the time trend and yesterday's value; null without enough data"
    )
    ci95: list[float] | None = Field(
        description="95 % interval of `effect` (normal quantiles, HAC errors)"
    )
    n: int = Field(description="Modelled days (with the metric on the day and the day before)")
    activity_days: int = Field(description="Modelled days whose lag day had the activity")
    enough_data: bool = Field(
        description="At least 28 modelled days, 5 of them after the activity and 5 not"
    )
    descriptive: DescriptiveOut
    before_after: BeforeAfterOut | None = Field(
        description="Before vs after the plan's start: uncontrolled (pain may change on its own)"
    )

    model_config = {"populate_by_name": True}


class SessionPainItem(BaseModel):
    date: dt.date
    activity: Activity
    pain_before: int | None
    pain_after: int | None
    next_day_pain: float | None = Field(
        description="The diary's pain on the next day (the knee asked for)"
    )
    after_above_5: bool | None
    next_day_above_before: bool | None


class OverLimitOut(BaseModel):
    after_above_5: int = Field(description="Sessions with pain after above 5/10 (Thomeé 1997)")
    next_day_above_before: int = Field(
        description="Sessions followed by next-day pain above the pre-session level"
    )


class SessionPainOut(BaseModel):
    knee: str
    from_: dt.date = Field(alias="from", serialization_alias="from")
    to: dt.date
    items: list[SessionPainItem]
    over_limit: OverLimitOut
    source: str = Field(description="The pain-monitoring model the limits come from")

    model_config = {"populate_by_name": True}


class PanelItem(BaseModel):
    patient_id: uuid.UUID
    display_name: str
    as_of: dt.date | None = Field(
        default=None,
        description="The patient's local date when these numbers and flags were computed "
        "(null: not yet — a new patient, within the state worker's delay)",
    )
    last_entry_date: dt.date | None = None
    pain_mean_7d: float | None = None
    pain_change_28d: float | None = None
    pain_slope_per_week: float | None = None
    adherence_4w: float | None = None
    flags: list[FlagOut] = Field(
        default_factory=list,
        description="The open and reviewed episodes, open first; `dates` here are those of "
        "each episode's last 14 days (GET /v1/patients/{pid}/flags gives them all)",
    )
    error: Literal["unavailable"] | None = Field(
        default=None,
        description="Set when this patient's numbers could not be computed (logged for the "
        "operator; tried again at the next write or local midnight); the numbers and flags are "
        "then null/empty, and every other patient is unaffected",
    )


class PanelOut(BaseModel):
    items: list[PanelItem]
    next_cursor: str | None = None
