"""The clinician's panel: every patient on their care teams with the numbers and open flag
episodes that say who needs a look first, read from the stored state (`app.trends.state`) in
one indexed query, sorted and paged in the database (keyset)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

import orjson
from sqlalchemy import Float, Integer, String, Text, Uuid, case, cast, func, select, tuple_
from sqlalchemy import bindparam as sa_bindparam
from sqlmodel import Session, col

from app.auth.dependencies import Actor
from app.auth.models import User
from app.care.models import Patient
from app.care.policy import readable_patients_clause
from app.errors import Unprocessable
from app.pagination import decode_cursor, encode_cursor
from app.sql import core_rows
from app.trends.models import PatientState
from app.trends.schemas import PanelItem

PanelSort = Literal["name", "concern"]
NONE_LAST = 1e18  # stands for an unknown number in the sort: after every known one
P = PatientState


def _sort_columns(sort: PanelSort) -> list[tuple[Any, Any]]:
    """The sort key, every part ascending and never null, with each part's SQL type:
    `concern` = open urgent episodes (most first), a patient whose state could not be
    computed, open warnings, the largest 28-day rise in pain, the steepest pain slope, open
    info episodes; then the name and the id."""
    tail = [(col(User.display_name), String()), (col(Patient.id), Uuid())]
    if sort == "name":
        return tail

    def count(c: Any) -> Any:
        return -func.coalesce(c, 0)

    def rise(c: Any) -> Any:
        return func.coalesce(-c, NONE_LAST)

    return [
        (count(col(P.open_urgent)), Integer()),
        (case((col(P.error).is_not(None), 0), else_=1), Integer()),
        (count(col(P.open_warning)), Integer()),
        (rise(col(P.pain_change_28d)), Float()),
        (rise(col(P.pain_slope_per_week)), Float()),
        (count(col(P.open_info)), Integer()),
        *tail,
    ]


def panel(
    session: Session,
    actor: Actor,
    now: dt.datetime,
    sort: PanelSort = "name",
    *,
    limit: int = 200,
    cursor: str | None = None,
) -> tuple[list[PanelItem], str | None]:
    """One page of the clinician's patients after the cursor, as `PanelItem`s (the
    dashboard)."""
    rows, nxt = _page(session, actor, sort, limit=limit, cursor=cursor)
    items = [_item(r, orjson.loads(r.flags_json) if r.flags_json else []) for r in rows]
    return [PanelItem.model_validate(i) for i in items], nxt


def panel_json(
    session: Session,
    actor: Actor,
    sort: PanelSort = "name",
    *,
    limit: int = 200,
    cursor: str | None = None,
) -> tuple[bytes, list[uuid.UUID]]:
    """One page as the JSON of `PanelOut`, and the patients on it. The stored flags are
    spliced in as the database holds them (the JSON of `FlagOut`), never parsed."""
    rows, nxt = _page(session, actor, sort, limit=limit, cursor=cursor)
    items = [_item(r, orjson.Fragment(r.flags_json or "[]")) for r in rows]
    return orjson.dumps({"items": items, "next_cursor": nxt}), [r.patient_id for r in rows]


_STATE = [
    col(P.as_of),
    col(P.last_entry_date),
    col(P.pain_mean_7d),
    col(P.pain_change_28d),
    col(P.pain_slope_per_week),
    col(P.adherence_4w),
    col(P.error),
    cast(col(P.flags), Text).label("flags_json"),
]


def _page(
    session: Session, actor: Actor, sort: PanelSort, *, limit: int, cursor: str | None
) -> tuple[list[Any], str | None]:
    """The rows of one page after the cursor (which holds the last item's sort key, so a
    page after a change in the numbers continues from where that key falls now): one query."""
    keys = _sort_columns(sort)
    query: Any = (
        select(
            col(Patient.id).label("patient_id"),
            col(User.display_name),
            *_STATE,
            *(k.label(f"k{i}") for i, (k, _) in enumerate(keys)),
        )
        .join(User, col(User.id) == col(Patient.id))
        .outerjoin(P, col(P.patient_id) == col(Patient.id))
        .where(readable_patients_clause(actor))
    )
    if cursor is not None:
        after = _after(cursor, sort, keys)
        query = query.where(
            tuple_(*(k for k, _ in keys))
            > tuple_(
                *(sa_bindparam(None, v, type_=t) for v, (_, t) in zip(after, keys, strict=True))
            )
        )
    rows = list(core_rows(session, query.order_by(*(k for k, _ in keys)).limit(limit + 1)))
    if len(rows) <= limit:
        return rows, None
    last = list(rows[limit - 1][-len(keys) :])
    last[-1] = str(last[-1])
    return rows[:limit], encode_cursor({"s": sort, "k": last})


def _after(cursor: str, sort: PanelSort, keys: list[tuple[Any, Any]]) -> list[Any]:
    data = decode_cursor(cursor, ("s", "k"))
    values = data["k"]
    ok = data["s"] == sort and isinstance(values, list) and len(values) == len(keys)
    if ok:
        try:
            values[-1] = uuid.UUID(values[-1])
        except (TypeError, ValueError, AttributeError):
            ok = False
    if ok:
        ok = all(
            isinstance(v, str)
            if isinstance(t, String)
            else isinstance(v, int | float) and not isinstance(v, bool)
            for v, (_, t) in zip(values[:-1], keys[:-1], strict=True)
        )
    if not ok:
        raise Unprocessable("Invalid cursor", loc=["query", "cursor"])
    out: list[Any] = values
    return out


def _item(row: Any, flags: Any) -> dict[str, Any]:
    out: dict[str, Any] = {k: None for k in _NUMBERS}
    out |= {"patient_id": row.patient_id, "display_name": row.display_name, "flags": []}
    out["as_of"] = row.as_of
    if row.as_of is None:  # not computed yet (a new patient, for at most the worker's delay)
        return out
    if row.error is not None:
        out["error"] = "unavailable"
        return out
    out |= {k: getattr(row, k) for k in _NUMBERS if k != "error"}
    out["flags"] = flags
    return out


_NUMBERS = (
    "last_entry_date",
    "pain_mean_7d",
    "pain_change_28d",
    "pain_slope_per_week",
    "adherence_4w",
    "error",
)
