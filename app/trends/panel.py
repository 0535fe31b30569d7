"""The clinician's panel: every patient on their care teams with the trend numbers and flags
that say who needs a look first."""

from __future__ import annotations

import datetime as dt
import logging
import math
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col

from app.auth.dependencies import Actor
from app.auth.models import User
from app.care.models import Patient
from app.care.policy import readable_patients_clause
from app.diary.models import SymptomEntry
from app.pagination import page_sorted
from app.trends import adherence as adh
from app.trends import analysis as an
from app.trends.flags import Flag, evaluate
from app.trends.overview import flag_out, flag_since_days, load_patients
from app.trends.patient_data import PatientData
from app.trends.schemas import PanelItem
from app.trends.windows import DAY

# --- the clinician's panel --------------------------------------------------------------------

log = logging.getLogger("kneetrack.trends")

PanelSort = Literal["name", "concern"]


def panel(
    session: Session,
    actor: Actor,
    now: dt.datetime,
    sort: PanelSort = "name",
    *,
    limit: int = 200,
    cursor: str | None = None,
) -> tuple[list[PanelItem], str | None]:
    """One page of the clinician's patients with their trend numbers, computed for all of them
    in a fixed number of set-based queries (`panel_numbers`) and then sorted
    and paged; the cursor holds the last item's sort key, so a page after a change in the
    numbers continues from where that key falls now."""
    last = (
        select(func.max(col(SymptomEntry.entry_date)))
        .where(
            col(SymptomEntry.patient_id) == col(Patient.id), col(SymptomEntry.deleted_at).is_(None)
        )
        .correlate(Patient)
        .scalar_subquery()
    )
    rows = session.execute(
        select(Patient, col(User.display_name), last.label("last_entry_date"))
        .join(User, col(User.id) == col(Patient.id))
        .where(readable_patients_clause(actor))
        .order_by(col(User.display_name), col(Patient.id))
    ).all()
    numbers = panel_numbers(session, [r[0] for r in rows], now)
    items = []
    for patient, name, last_entry in rows:
        n = numbers[patient.id]
        if n is None:  # could not be computed (logged): listed, marked, never a 500
            items.append(
                PanelItem(
                    patient_id=patient.id,
                    display_name=name,
                    last_entry_date=last_entry,
                    error="unavailable",
                )
            )
            continue
        items.append(
            PanelItem(
                patient_id=patient.id,
                display_name=name,
                last_entry_date=last_entry,
                pain_mean_7d=n.pain_mean_7d,
                pain_change_28d=n.pain_change_28d,
                pain_slope_per_week=n.pain_slope_per_week,
                adherence_4w=n.adherence_4w,
                flags=flag_out(n.flags),
            )
        )

    def key(item: PanelItem) -> list[Any]:
        tail = [item.display_name, str(item.patient_id)]
        return [*concern_key(item), *tail] if sort == "concern" else tail

    return page_sorted(items, key=key, limit=limit, cursor=cursor)


def concern_key(item: PanelItem) -> tuple[float, ...]:
    """Most concerning first: urgent flags, then patients whose numbers are unavailable, then
    warnings, then the largest 28-day rise in pain, then the steepest upward pain slope, then
    info flags (unknown numbers last)."""

    def count(severity: str) -> float:
        return -sum(1 for f in item.flags if f.severity == severity)

    def rise(value: float | None) -> float:
        return -value if value is not None else math.inf

    return (
        count("urgent"),
        # A patient whose numbers could not be computed may hide anything: right after the
        # urgent ones.
        -1.0 if item.error else 0.0,
        count("warning"),
        rise(item.pain_change_28d),
        rise(item.pain_slope_per_week),
        count("info"),
    )


PANEL_SINCE_DAYS = 35


@dataclass(frozen=True)
class PanelNumbers:
    pain_mean_7d: float | None
    pain_change_28d: float | None
    pain_slope_per_week: float | None
    adherence_4w: float | None
    flags: list[Flag]


def panel_numbers(
    session: Session, patients: Sequence[Patient], now: dt.datetime
) -> dict[uuid.UUID, PanelNumbers | None]:
    """Pain over the last 7 days, its change against the 7 days four weeks earlier, the
    slope over the last 28 days, adherence over the last 4 scored weeks and active flags, for
    every patient at once.

    One patient's data can never fail the panel: a patient whose numbers cannot be computed
    (a stored value no rule expects) is logged, by id and error type only, and answered
    `None`; the others are computed as usual."""
    since = max(PANEL_SINCE_DAYS, flag_since_days())
    try:
        loaded = load_patients(session, patients, now, since_days=since, flags_only=True)
    except DBAPIError:
        raise
    except Exception:
        # The set-based read failed on someone's data: read them one by one to find whom.
        loaded = {}
        for patient in patients:
            with isolated(patient.id, "load"):
                loaded |= load_patients(session, [patient], now, since_days=since, flags_only=True)
    out: dict[uuid.UUID, PanelNumbers | None] = dict.fromkeys((p.id for p in patients), None)
    for pid, data in loaded.items():
        with isolated(pid, "compute"):
            out[pid] = _panel_numbers_of(data)
    return out


@contextmanager
def isolated(patient_id: uuid.UUID, step: str) -> Iterator[None]:
    """Run one patient's part of a many-patient view: an error in it (other than the
    database's) is logged by patient id and error type, without values, and swallowed; the
    caller sees that the part did not complete (its result is missing)."""
    try:
        yield
    except DBAPIError:
        raise  # the database's own failure is the request's (503 or 500), not one patient's
    except Exception as exc:
        log.error(
            "panel: patient skipped (%s failed: %s)",
            step,
            type(exc).__name__,
            extra={"patient_id": str(patient_id)},
        )


def _panel_numbers_of(data: PatientData) -> PanelNumbers:
    pain = data.daily("pain_worse")
    t = data.today
    cur = pain.period(t - 6 * DAY, t)
    before = pain.period(t - 34 * DAY, t - 28 * DAY)
    change = (
        cur.mean - before.mean
        if cur.n >= 3 and before.n >= 3 and cur.mean is not None and before.mean is not None
        else None
    )
    weeks = [data.weeks(p) for p in data.plans]
    return PanelNumbers(
        pain_mean_7d=cur.mean,
        pain_change_28d=change,
        pain_slope_per_week=an.slope_per_week(pain.restrict(t - 27 * DAY, t)),
        adherence_4w=adh.combined_adherence(weeks),
        flags=evaluate(data),
    )
