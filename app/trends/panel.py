"""The clinician's panel: every patient on their care teams with the numbers and open flag
episodes that say who needs a look first, read from the stored state (`app.trends.state`) in
one indexed query, sorted and paged in the database (keyset)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from sqlalchemy import Float, Integer, String, Uuid, case, func, select, tuple_
from sqlalchemy import bindparam as sa_bindparam
from sqlmodel import Session, col

from app.auth.dependencies import Actor
from app.auth.models import User
from app.care.models import Patient
from app.care.policy import readable_patients_clause
from app.errors import Unprocessable
from app.pagination import decode_cursor, encode_cursor
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
    """One page of the clinician's patients after the cursor, as `PanelItem`s."""
    items, nxt = panel_page(session, actor, sort, limit=limit, cursor=cursor)
    return [PanelItem.model_validate(i) for i in items], nxt


def panel_page(
    session: Session,
    actor: Actor,
    sort: PanelSort = "name",
    *,
    limit: int = 200,
    cursor: str | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of the clinician's patients after the cursor (which holds the last item's
    sort key, so a page after a change in the numbers continues from where that key falls
    now), as the JSON of `PanelItem` (the stored flags are that JSON already)."""
    keys = _sort_columns(sort)
    query = (
        select(col(Patient.id), col(User.display_name), P, *(k for k, _ in keys))
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
    rows = session.execute(query.order_by(*(k for k, _ in keys)).limit(limit + 1)).all()
    items = [_item(pid, name, state) for pid, name, state, *_ in rows[:limit]]
    if len(rows) <= limit:
        return items, None
    last = list(rows[limit - 1][3:])
    last[-1] = str(last[-1])
    return items, encode_cursor({"s": sort, "k": last})


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


def _item(pid: uuid.UUID, name: str, state: PatientState | None) -> dict[str, Any]:
    out: dict[str, Any] = dict.fromkeys(_NUMBERS)
    out |= {"patient_id": str(pid), "display_name": name, "as_of": None, "flags": []}
    if state is None:  # not computed yet (a new patient, for at most the worker's delay)
        return out
    out["as_of"] = state.as_of.isoformat()
    if state.error is not None:
        out["error"] = "unavailable"
        return out
    out |= {k: getattr(state, k) for k in _NUMBERS if k != "error"}
    if state.last_entry_date is not None:
        out["last_entry_date"] = state.last_entry_date.isoformat()
    out["flags"] = state.flags
    return out


_NUMBERS = (
    "last_entry_date",
    "pain_mean_7d",
    "pain_change_28d",
    "pain_slope_per_week",
    "adherence_4w",
    "error",
)
