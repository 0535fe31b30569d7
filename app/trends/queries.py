"""SQL that builds daily series. One query per kind of series, for one patient or a set of
patients; rows per local date, aggregated in the database. Every query filters by
`patient_id` first so that it runs on a `(patient_id, date)` index."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Uuid,
    and_,
    bindparam,
    case,
    func,
    or_,
    select,
    text,
    true,
)
from sqlalchemy.engine import Row
from sqlmodel import Session, col

from app.care.models import Patient
from app.diary.models import ExerciseSession, SymptomEntry
from app.function_tests.models import FunctionTest
from app.questionnaires.models import QuestionnaireResponse
from app.schemas import clamp_date
from app.sql import core_rows, in_ids, is_postgresql
from app.trends.metrics import METRICS, SYMPTOM_METRICS, MetricSpec

E = SymptomEntry


@dataclass(frozen=True)
class Window:
    """Dates from `start` to `end` (both included) for the patients in `patient_ids`."""

    patient_ids: Sequence[uuid.UUID]
    start: dt.date
    end: dt.date


def _entry_windows(windows: Sequence[Window]) -> ColumnElement[bool]:
    parts = [
        and_(
            in_ids(col(E.patient_id), w.patient_ids),
            col(E.entry_date) >= w.start,
            col(E.entry_date) <= w.end,
        )
        for w in windows
        if w.patient_ids
    ]
    return parts[0] if len(parts) == 1 else or_(*parts)


def _knee(side: str, measure: str) -> Any:
    return getattr(E, f"{side}_{measure}")


def _pick_left(spec: MetricSpec) -> ColumnElement[bool]:
    """Whether the worse knee of the day is the left one: the only knee with a value, or the
    one with the higher value (lower, for flexion); a tie takes the left."""
    left, right = col(_knee("left", spec.name)), col(_knee("right", spec.name))
    worse = left >= right if spec.worse_is_higher else left <= right
    return and_(left.is_not(None), or_(right.is_(None), worse))


def value_column(spec: MetricSpec, knee: str) -> Any:
    """The SQL expression of a knee metric's daily value for knee = left | right | worse."""
    if knee in ("left", "right"):
        return col(_knee(knee, spec.name))
    return case(
        (_pick_left(spec), col(_knee("left", spec.name))), else_=col(_knee("right", spec.name))
    )


def method_column(spec: MetricSpec, knee: str) -> Any:
    """The ROM method of the value that `value_column` picks."""
    if knee in ("left", "right"):
        return col(_knee(knee, "rom_method"))
    return case((_pick_left(spec), col(E.left_rom_method)), else_=col(E.right_rom_method))


def symptom_columns(specs: Sequence[MetricSpec], knees: Sequence[str]) -> list[Any]:
    """Labelled columns `<metric>_<knee>` (and `<metric>_<knee>_method` for ROM)."""
    cols: list[Any] = []
    for spec in specs:
        if spec.source == "entry":
            cols.append(col(getattr(E, spec.column or spec.name)).label(spec.name))
            continue
        for knee in knees:
            cols.append(value_column(spec, knee).label(f"{spec.name}_{knee}"))
            if spec.is_rom:
                cols.append(method_column(spec, knee).label(f"{spec.name}_{knee}_method"))
    return cols


FLAG_COLUMNS: list[Any] = [
    col(E.left_warmth).label("warmth_left"),
    col(E.right_warmth).label("warmth_right"),
]


def _merged(windows: Sequence[Window]) -> list[tuple[uuid.UUID, dt.date, dt.date]]:
    """The windows as (patient, first, last) ranges that neither overlap nor touch."""
    spans = sorted((pid, w.start, w.end) for w in windows for pid in w.patient_ids)
    out: list[tuple[uuid.UUID, dt.date, dt.date]] = []
    for pid, lo, hi in spans:
        if out and out[-1][0] == pid and lo <= out[-1][2] + dt.timedelta(days=1):
            if hi > out[-1][2]:
                out[-1] = (pid, out[-1][1], hi)
        else:
            out.append((pid, lo, hi))
    return out


def _window_table(windows: Sequence[Window]) -> Any:
    """PostgreSQL: the windows as a derived table (pid, lo, hi) of three array parameters
    (an OR of hundreds of ranges costs more to build than to run)."""
    pids, los, his = zip(*_merged(windows), strict=True)
    return (
        text(
            "SELECT * FROM unnest(CAST(:w_pids AS uuid[]), CAST(:w_los AS date[]), "
            "CAST(:w_his AS date[])) AS w (pid, lo, hi)"
        )
        .bindparams(w_pids=list(pids), w_los=list(los), w_his=list(his))
        .columns(pid=Uuid(), lo=Date(), hi=Date())
        .subquery("w")
    )


def symptom_days(
    session: Session, windows: Sequence[Window], columns: Sequence[Any]
) -> Sequence[Row[Any]]:
    """One row per patient and local date with a (live) diary entry, in date order."""
    picked = [col(E.patient_id), col(E.entry_date), *columns]
    live = col(E.deleted_at).is_(None)
    if len(windows) == 1 or not is_postgresql(session):
        q = select(*picked).where(_entry_windows(windows), live)
        return core_rows(session, q.order_by(col(E.patient_id), col(E.entry_date)))
    # One index range scan per window: a LATERAL subquery that OFFSET 0 keeps the planner
    # from turning into a hash join over the whole table.
    w = _window_table(windows)
    inside = (
        select(*picked)
        .where(
            col(E.patient_id) == w.c.pid,
            col(E.entry_date) >= w.c.lo,
            col(E.entry_date) <= w.c.hi,
            live,
        )
        .offset(0)
        .lateral("e")
    )
    q = select(*inside.c).select_from(w).join(inside, true())
    return core_rows(session, q.order_by(inside.c.patient_id, inside.c.entry_date))


@cache
def _series_statement(metric: str, knee: str) -> Any:
    """One metric's daily values for one patient and a date range (bound at execution): built
    once per metric and knee, not on every request."""
    return (
        select(col(E.entry_date), *symptom_columns([METRICS[metric]], [knee]))
        .where(
            col(E.patient_id) == bindparam("pid"),
            col(E.entry_date) >= bindparam("start"),
            col(E.entry_date) <= bindparam("end"),
            col(E.deleted_at).is_(None),
        )
        .order_by(col(E.entry_date))
    )


def symptom_values(
    session: Session,
    patient_id: uuid.UUID,
    start: dt.date,
    end: dt.date,
    spec: MetricSpec,
    knee: str,
) -> Sequence[Sequence[Any]]:
    """One diary metric of one patient (`symptom_columns`): rows of (entry_date, value[,
    method]) in date order, from start to end, by a statement built once per metric and knee."""
    params = {"pid": patient_id, "start": start, "end": end}
    return session.connection().execute(_series_statement(spec.name, knee), params).all()


def koos_jr_days(
    session: Session, window: Window, instrument: str = "koos_jr"
) -> Sequence[Row[Any]]:
    """Per patient and completion date: the mean score of the instrument (KOOS-JR, PGIC or
    PASS; usually one a day)."""
    q = QuestionnaireResponse
    stmt = (
        select(
            col(q.patient_id),
            col(q.completed_on).label("day"),
            func.avg(col(q.score)).label("score"),
        )
        .where(
            in_ids(col(q.patient_id), window.patient_ids),
            col(q.completed_on) >= window.start,
            col(q.completed_on) <= window.end,
            col(q.instrument) == instrument,
            col(q.score).is_not(None),
        )
        .group_by(col(q.patient_id), col(q.completed_on))
        .order_by(col(q.patient_id), col(q.completed_on))
    )
    return core_rows(session, stmt)


def function_test_days(session: Session, window: Window, test: str) -> Sequence[Row[Any]]:
    """Per patient and date: the mean result of one function test (live results only)."""
    f = FunctionTest
    stmt = (
        select(
            col(f.patient_id),
            col(f.performed_on).label("day"),
            func.avg(col(f.value)).label("score"),
        )
        .where(
            in_ids(col(f.patient_id), window.patient_ids),
            col(f.performed_on) >= window.start,
            col(f.performed_on) <= window.end,
            col(f.test) == test,
            col(f.deleted_at).is_(None),
        )
        .group_by(col(f.patient_id), col(f.performed_on))
        .order_by(col(f.patient_id), col(f.performed_on))
    )
    return core_rows(session, stmt)


def sparse_days(session: Session, window: Window, spec: MetricSpec) -> Sequence[Row[Any]]:
    """A questionnaire's or a function test's values per patient and day (`day`, `score`)."""
    if spec.source == "function_test":
        return function_test_days(session, window, spec.name)
    return koos_jr_days(session, window, spec.name)


def other_sparse_days(session: Session, window: Window) -> list[tuple[str, dt.date, float]]:
    """For one patient: (metric, day, mean value) of every function test and of the PGIC and
    PASS questionnaires, in two queries."""
    f, r = FunctionTest, QuestionnaireResponse
    tests = (
        select(col(f.test), col(f.performed_on), func.avg(col(f.value)))
        .where(
            in_ids(col(f.patient_id), window.patient_ids),
            col(f.performed_on) >= window.start,
            col(f.performed_on) <= window.end,
            col(f.deleted_at).is_(None),
        )
        .group_by(col(f.test), col(f.performed_on))
    )
    answers = (
        select(col(r.instrument), col(r.completed_on), func.avg(col(r.score)))
        .where(
            in_ids(col(r.patient_id), window.patient_ids),
            col(r.completed_on) >= window.start,
            col(r.completed_on) <= window.end,
            col(r.instrument).in_(("pgic", "pass")),
            col(r.score).is_not(None),
        )
        .group_by(col(r.instrument), col(r.completed_on))
    )
    out: list[tuple[str, dt.date, float]] = []
    for stmt in (tests, answers):
        rows: Sequence[Any] = core_rows(session, stmt)
        out += [(name, day, float(value)) for name, day, value in rows]
    return out


@dataclass(frozen=True)
class RecordDates:
    first_entry: dt.date | None
    last_entry: dt.date | None
    first_session: dt.date | None

    @property
    def first_record(self) -> dt.date | None:
        known = [d for d in (self.first_entry, self.first_session) if d is not None]
        return min(known) if known else None


def record_dates(
    session: Session, patient_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, RecordDates]:
    """Per patient: the first and last diary date and the first exercise date (each an
    index lookup on `(patient_id, date)`)."""

    def agg(fn: Any, column: Any, model: Any) -> Any:
        return (
            select(fn(column))
            .where(col(model.patient_id) == col(Patient.id), col(model.deleted_at).is_(None))
            .correlate(Patient)
            .scalar_subquery()
        )

    s = ExerciseSession
    rows = core_rows(
        session,
        select(
            col(Patient.id),
            agg(func.min, col(E.entry_date), E).label("first_entry"),
            agg(func.max, col(E.entry_date), E).label("last_entry"),
            agg(func.min, col(s.local_date), s).label("first_session"),
        ).where(in_ids(col(Patient.id), patient_ids)),
    )

    def clamped(d: dt.date | None) -> dt.date | None:
        return clamp_date(d) if d is not None else None

    return {
        r.id: RecordDates(clamped(r.first_entry), clamped(r.last_entry), clamped(r.first_session))
        for r in rows
    }


@cache
def flag_symptom_columns() -> tuple[Any, ...]:
    """What the flag rules read: worse-knee pain, morning stiffness, and per-knee swelling,
    warmth and flexion (with its method)."""
    cols = symptom_columns([METRICS["pain"]], ("worse",))
    cols += symptom_columns([METRICS["morning_stiffness"]], ("worse",))
    for name in ("swelling", "flexion"):
        cols += symptom_columns([METRICS[name]], ("left", "right"))
    return (*cols, *FLAG_COLUMNS)


@cache  # built once per knee: the expressions are immutable, and building them is not free
def loaded_symptom_columns(knee: str = "worse") -> tuple[Any, ...]:
    """What summaries for `knee` and the flag rules read: every metric for that knee and the
    columns of `flag_symptom_columns`."""
    unique: dict[str, Any] = {}
    for c in [*symptom_columns(SYMPTOM_METRICS, (knee,)), *flag_symptom_columns()]:
        unique.setdefault(c.key, c)
    return tuple(unique.values())
