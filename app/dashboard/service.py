"""What the dashboard shows: the panel, and the period, knee and flags of a patient's page.
Built from the domain services, never over HTTP (the patient page: `patient_page.py`)."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col

from app.auth.dependencies import Actor
from app.care.models import Patient
from app.dashboard import charts as ch
from app.trends import analysis as an
from app.trends import panel as trends_panel
from app.trends import queries as tq
from app.trends import windows
from app.trends.metrics import METRICS, thresholds_for
from app.trends.rules import SEVERITY_ORDER
from app.trends.schemas import PanelItem

log = logging.getLogger("kneetrack.dashboard")

SEVERITY_LABELS = {"urgent": "Urgent", "warning": "Warning", "info": "Note"}


@contextmanager
def isolated(patient_id: uuid.UUID, step: str) -> Iterator[None]:
    """Run one patient's part of the panel page: an error in it (other than the database's)
    is logged by patient id and error type, without values, and swallowed; the caller sees
    that the part did not complete (its result is missing)."""
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


@dataclass(frozen=True)
class FlagView:
    rule: str
    severity: str
    reason: str
    dates: tuple[dt.date, ...]
    status: str = "open"
    id: str = ""
    first_date: dt.date | None = None
    last_date: dt.date | None = None
    reviewed_at: dt.datetime | None = None
    review_note: str | None = None

    @property
    def label(self) -> str:
        return self.rule.replace("_", " ")

    @property
    def severity_label(self) -> str:
        return SEVERITY_LABELS.get(self.severity, self.severity)


def flag_views(flags: Sequence[Mapping[str, Any]]) -> list[FlagView]:
    views = [
        FlagView(
            rule=str(f["rule"]),
            severity=str(f["severity"]),
            reason=str(f.get("reason") or ""),
            dates=tuple(_as_date(d) for d in f.get("dates") or ()),
            status=str(f.get("status") or "open"),
            id=str(f.get("id") or ""),
            first_date=_as_date(f["first_date"]) if f.get("first_date") else None,
            last_date=_as_date(f["last_date"]) if f.get("last_date") else None,
            reviewed_at=f.get("reviewed_at"),
            review_note=f.get("review_note"),
        )
        for f in flags
    ]
    status = {"open": 0, "reviewed": 1, "resolved": 2}
    return sorted(
        views, key=lambda f: (status.get(f.status, 9), SEVERITY_ORDER.get(f.severity, 9), f.rule)
    )


def _as_date(value: Any) -> dt.date:
    return value if isinstance(value, dt.date) else dt.date.fromisoformat(str(value))


@dataclass(frozen=True)
class PanelRow:
    patient_id: uuid.UUID
    display_name: str
    last_entry_date: dt.date | None
    days_since_entry: int | None
    pain_mean_7d: float | None
    pain_change_28d: float | None
    adherence_4w: float | None
    flags: list[FlagView]
    sparkline: str
    sparkline_label: str
    unavailable: bool = False  # the numbers could not be computed (logged)
    change_verdict: str = ""  # whether the 28-day change in pain is clinically important

    @property
    def open_flags(self) -> list[FlagView]:
        return [f for f in self.flags if f.status == "open"]

    @property
    def reviewed_flags(self) -> list[FlagView]:
        return [f for f in self.flags if f.status != "open"]

    @property
    def urgent(self) -> bool:
        return any(f.severity == "urgent" for f in self.flags)


SPARK_DAYS = 28
CHANGE_VERDICTS = {
    "improved": "clinically important improvement",
    "worsened": "worse beyond measurement error",
    "no_important_change": "not a clinically important change",
}


def change_verdict(change: float | None, mean_7d: float | None) -> str:
    """Whether a 28-day change in pain (this week's mean against the same week four weeks
    earlier) passes the thresholds SPEC §4 judges pain by, with the earlier week as the
    baseline for the relative one."""
    if change is None or mean_7d is None:
        return ""
    spec = METRICS["pain"]
    status = an.status_of(
        change, mean_7d - change, limits=thresholds_for(spec), direction=spec.direction
    )
    return CHANGE_VERDICTS.get(status or "", "")


def _panel_row(item: PanelItem, today: dt.date, pain: Mapping[dt.date, float]) -> PanelRow:
    start = today - dt.timedelta(days=SPARK_DAYS - 1)
    days = [start + dt.timedelta(days=i) for i in range(SPARK_DAYS)]
    values = [(d, pain.get(d)) for d in days]
    known = [v for _, v in values if v is not None]
    label = (
        f"Daily pain over the last {SPARK_DAYS} days: {len(known)} entries, "
        f"from {ch.fmt(known[0])} to {ch.fmt(known[-1])}"
        if known
        else f"No pain entries in the last {SPARK_DAYS} days"
    )
    return PanelRow(
        patient_id=item.patient_id,
        display_name=item.display_name,
        last_entry_date=item.last_entry_date,
        days_since_entry=(today - item.last_entry_date).days if item.last_entry_date else None,
        pain_mean_7d=item.pain_mean_7d,
        pain_change_28d=item.pain_change_28d,
        adherence_4w=item.adherence_4w,
        flags=flag_views([f.model_dump() for f in item.flags]),
        sparkline=ch.sparkline(values, start, today) if known else "",
        sparkline_label=label,
        change_verdict=change_verdict(item.pain_change_28d, item.pain_mean_7d),
    )


DASHBOARD_PANEL_MAX = 10_000


def panel(session: Session, actor: Actor, *, now: dt.datetime) -> list[PanelRow]:
    """The API's panel, most concerning first (the same function and order as
    `GET /v1/clinicians/me/patients?sort=concern`), with each patient's daily pain."""
    # The whole panel on one page: the service computes every patient's numbers anyway.
    items, _ = trends_panel.panel(session, actor, now, "concern", limit=DASHBOARD_PANEL_MAX)
    if not items:
        return []
    ids = [i.patient_id for i in items]
    patients = session.scalars(select(Patient).where(col(Patient.id).in_(ids))).all()
    todays: dict[uuid.UUID, dt.date] = {}
    for p in patients:
        with isolated(p.id, "today"):
            todays[p.id] = windows.today_for(p, now)
    spans = [
        tq.Window([pid], t - dt.timedelta(days=SPARK_DAYS - 1), t) for pid, t in todays.items()
    ]
    pain: dict[uuid.UUID, dict[dt.date, float]] = {pid: {} for pid in ids}
    column = tq.symptom_columns([METRICS["pain"]], ["worse"])
    for r in tq.symptom_days(session, spans, column) if spans else ():
        if r.pain_worse is not None:
            pain[r.patient_id][r.entry_date] = float(r.pain_worse)
    rows = []
    for i in items:
        row = None
        today = todays.get(i.patient_id)
        if today is not None and i.error is None:
            with isolated(i.patient_id, "row"):
                row = _panel_row(i, today, pain[i.patient_id])
        rows.append(row or _unavailable_row(i))
    return rows


def _unavailable_row(item: PanelItem) -> PanelRow:
    return PanelRow(
        patient_id=item.patient_id,
        display_name=item.display_name,
        last_entry_date=item.last_entry_date,
        days_since_entry=None,
        pain_mean_7d=None,
        pain_change_28d=None,
        adherence_4w=None,
        flags=[],
        sparkline="",
        sparkline_label="",
        unavailable=True,
    )
