"""Which days a trend reads: the window, the knee, and the baseline's anchor (plan,
treatment, intake, window or custom), resolved in the patient's time zone (SPEC §4)."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from sqlmodel import Session

from app.care.models import Patient
from app.errors import Unprocessable
from app.schemas import clamp_date
from app.trends import adherence as adh
from app.trends import analysis as an
from app.trends import exercise_queries
from app.trends.schemas import (
    Basis,
    ResolvedBasis,
)

DAY = an.DAY
DEFAULT_WINDOW_DAYS = 90
MAX_WINDOW_DAYS = 3 * 366 + 1


def today_for(patient: Patient, now: dt.datetime) -> dt.date:
    return now.astimezone(ZoneInfo(patient.timezone)).date()


@dataclass(frozen=True)
class Range:
    start: dt.date
    end: dt.date


def resolve_window(today: dt.date, date_from: dt.date | None, date_to: dt.date | None) -> Range:
    end = date_to or today
    start = date_from or end - (DEFAULT_WINDOW_DAYS - 1) * DAY
    if start > end:
        raise Unprocessable("'from' is after 'to'", loc=["query", "from"])
    if (end - start).days + 1 > MAX_WINDOW_DAYS:
        raise Unprocessable(
            f"The window may span at most {MAX_WINDOW_DAYS} days", loc=["query", "from"]
        )
    return Range(start, end)


def resolve_custom(
    window: Range, baseline_from: dt.date | None, baseline_to: dt.date | None
) -> tuple[dt.date, dt.date] | None:
    """A `custom` baseline: both ends, or one end and 7 days from or to it."""
    if baseline_from is None and baseline_to is None:
        return None
    start = baseline_from or (baseline_to - 6 * DAY if baseline_to else window.start)
    end = baseline_to or start + 6 * DAY
    if start > end:
        raise Unprocessable(
            "'baseline_from' is after 'baseline_to'", loc=["query", "baseline_from"]
        )
    if end > window.end:
        raise Unprocessable("The baseline must end by 'to'", loc=["query", "baseline_to"])
    if (window.end - start).days + 1 > MAX_WINDOW_DAYS:
        raise Unprocessable("The baseline starts too early", loc=["query", "baseline_from"])
    return start, end


def resolve_knee(patient: Patient, knee: str) -> str:
    """`index`: the patient's index knee when set, else `worse` (SPEC §4)."""
    if knee == "index":
        return patient.index_knee or "worse"
    return knee


def anchor_plan(plans: Sequence[adh.PlanInfo], today: dt.date) -> adh.PlanInfo | None:
    """The plan a `plan` baseline is anchored to: the current plan (the latest started of
    those running today), else the latest that has started, else the first one to come."""
    started = [p for p in plans if p.start_date <= today]
    current = [p for p in started if p.end_date is None or p.end_date >= today]
    for group in (current, started):
        if group:
            return max(group, key=lambda p: p.start_date)
    return min(plans, key=lambda p: p.start_date) if plans else None


def latest_treatment_date(session: Session, patient_id: uuid.UUID, knee: str) -> dt.date:
    """The date a `treatment` baseline is anchored to: the patient's latest recorded treatment
    of that knee (or of both; any knee for `worse`). None recorded: 422 naming `baseline`."""
    from app.treatments.service import latest_treatment

    treatment = latest_treatment(session, patient_id, knee)
    if treatment is None:
        raise Unprocessable(
            "baseline=treatment needs a recorded treatment (POST …/treatments)",
            loc=["query", "baseline"],
        )
    return clamp_date(treatment.date)


@dataclass(frozen=True)
class Anchor:
    """How a trend's baseline is anchored: the basis `auto` resolved to, and its date."""

    basis: ResolvedBasis
    date: dt.date | None = None  # the plan's start or the treatment's date
    custom: tuple[dt.date, dt.date] | None = None


def resolve_anchor(
    session: Session,
    patient: Patient,
    today: dt.date,
    window: Range,
    *,
    basis: Basis,
    knee: str,
    baseline_from: dt.date | None = None,
    baseline_to: dt.date | None = None,
    plans: Sequence[adh.PlanInfo] | None = None,
) -> Anchor:
    custom = resolve_custom(window, baseline_from, baseline_to)
    if custom is not None:
        if basis not in ("auto", "custom"):
            raise Unprocessable(
                "'baseline_from'/'baseline_to' go with baseline=custom",
                loc=["query", "baseline"],
            )
        return Anchor("custom", custom=custom)
    if basis == "custom":
        raise Unprocessable(
            "baseline=custom needs 'baseline_from' or 'baseline_to'",
            loc=["query", "baseline_from"],
        )
    if basis == "treatment":
        return Anchor("treatment", latest_treatment_date(session, patient.id, knee))
    if basis in ("intake", "window"):
        return Anchor(basis)
    if plans is None:
        plans = exercise_queries.plans(session, [patient.id]).get(patient.id, [])
    plan = anchor_plan(plans, today)
    if plan is None:
        if basis == "plan":
            raise Unprocessable("The patient has no exercise plan", loc=["query", "baseline"])
        return Anchor("intake")
    return Anchor("plan", plan.start_date)


def baseline_range(
    anchor: Anchor, series: an.Series, window: Range, *, sparse: bool
) -> tuple[dt.date, dt.date]:
    """The baseline period of an anchor over a metric's whole series (SPEC §4). Sparse
    metrics read 14 days from its start (`analysis.summarise`)."""
    if anchor.custom is not None:
        return anchor.custom
    if anchor.date is not None:  # plan or treatment: the 7 days before it, else its first 7
        before = (anchor.date - 7 * DAY, anchor.date - DAY)
        if sparse:
            return before[0], anchor.date + 6 * DAY
        if an.period(series, *before).n >= 3:
            return before
        return anchor.date, anchor.date + 6 * DAY
    if anchor.basis == "window":
        inside = an.restrict(series, window.start, window.end)
        first = min(inside) if inside else window.start
        return first, min(first + 6 * DAY, window.end)
    first = min(series) if series else window.start  # intake: the whole record's first days
    return first, first + 6 * DAY
