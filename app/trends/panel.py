"""The clinician's panel: every patient on their care teams with the trend numbers and flags
that say who needs a look first."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, Literal

from sqlalchemy import func, select
from sqlmodel import Session, col

from app.auth.dependencies import Actor
from app.auth.models import User
from app.care.access import readable_patients_clause
from app.care.models import Patient
from app.diary.models import SymptomEntry
from app.pagination import page_sorted
from app.trends.schemas import PanelItem
from app.trends.service import flag_out, panel_numbers

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
