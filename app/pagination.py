"""Opaque list cursors: base64url JSON of the last item's sort key."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import uuid
from collections.abc import Callable, Iterable
from typing import Annotated, Any, Generic, Protocol, TypeVar, cast

from fastapi import Query
from pydantic import BaseModel
from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute, Mapped, Session

from app.errors import Unprocessable
from app.schemas import IsoDate


class _Row(Protocol):
    id: uuid.UUID


M = TypeVar("M", bound=_Row)

Limit = Annotated[int, Query(ge=1, le=200, description="Page size (1–200)")]
Cursor = Annotated[
    str | None, Query(max_length=512, description="`next_cursor` from the previous page")
]
DateFrom = Annotated[
    IsoDate | None, Query(alias="from", description="First local date included (ISO 8601)")
]
DateTo = Annotated[
    IsoDate | None, Query(alias="to", description="Last local date included (ISO 8601)")
]


def check_date_range(date_from: dt.date | None, date_to: dt.date | None) -> None:
    if date_from is not None and date_to is not None and date_from > date_to:
        raise Unprocessable("'from' is after 'to'", loc=["query", "from"])


def encode_cursor(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, keys: Iterable[str]) -> dict[str, Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise Unprocessable("Invalid cursor", loc=["query", "cursor"]) from exc
    if not isinstance(data, dict) or any(k not in data for k in keys):
        raise Unprocessable("Invalid cursor", loc=["query", "cursor"])
    return data


# Sequence numbers and ids in cursors are BIGINTs this server issued: positive and below 2^63.
# A larger number overflows the driver, and JSON `true` is a Python int that SQL cannot compare.
_BIGINT_END = 2**63


def cursor_int(value: Any) -> int:
    """A cursor's integer, or 422 "Invalid cursor"."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < _BIGINT_END:
        raise Unprocessable("Invalid cursor", loc=["query", "cursor"])
    return value


def keyset_page(
    session: Session,
    query: Select[M],
    *,
    sort: Mapped[Any],
    parse: Callable[[str], Any],
    limit: int,
    cursor: str | None,
) -> tuple[list[M], str | None]:
    """One page of `query` (rows of one table with an `id`) in ascending (`sort`, id) order,
    after the row named by `cursor`. `parse` reads a sort value back from the cursor (e.g.
    `date.fromisoformat`)."""
    attr = cast("InstrumentedAttribute[Any]", sort)
    ident = attr.class_.id
    if cursor is not None:
        after = decode_cursor(cursor, ("k", "i"))
        try:
            key, last_id = parse(after["k"]), uuid.UUID(after["i"])
        except (TypeError, ValueError, AttributeError) as exc:  # e.g. a number for the id
            raise Unprocessable("Invalid cursor", loc=["query", "cursor"]) from exc
        if isinstance(key, dt.datetime) and key.tzinfo is None:
            # This server only issues instants with an offset; a naive one cannot be compared.
            raise Unprocessable("Invalid cursor", loc=["query", "cursor"])
        if isinstance(key, dt.datetime) and not _has_utc_value(key):
            # 0001-01-01T00:00+14:00 parses but has no UTC value: it would overflow on binding.
            raise Unprocessable("Invalid cursor", loc=["query", "cursor"])
        query = query.where((attr > key) | ((attr == key) & (ident > last_id)))
    rows = list(session.scalars(query.order_by(attr, ident).limit(limit + 1)))
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    last = rows[-1]
    return rows, encode_cursor({"k": getattr(last, attr.key).isoformat(), "i": str(last.id)})


def _has_utc_value(value: dt.datetime) -> bool:
    try:
        value.astimezone(dt.UTC)
    except OverflowError:
        return False
    return True


T = TypeVar("T")


def page_sorted(
    items: Iterable[T], *, key: Callable[[T], list[Any]], limit: int, cursor: str | None
) -> tuple[list[T], str | None]:
    """One page of a short list held in memory (a care team, one's API keys, a clinician's
    panel), in ascending `key` order, after the item whose key the cursor holds. `key` returns
    JSON values (strings, numbers) and must be unique per item (end it with the id)."""
    ordered = sorted(items, key=key)
    if cursor is not None:
        after = decode_cursor(cursor, ("k",))["k"]
        if not _is_sort_key(after, key(ordered[0]) if ordered else None):
            # Not a key this server issues (e.g. `[]`, which sorts before every item).
            raise Unprocessable("Invalid cursor", loc=["query", "cursor"])
        ordered = [i for i in ordered if key(i) > after]
    if len(ordered) <= limit:
        return ordered, None
    page = ordered[:limit]
    return page, encode_cursor({"k": key(page[-1])})


def _is_sort_key(value: Any, like: list[Any] | None) -> bool:
    """A cursor's key: a non-empty list of strings and numbers, of the same shape as the
    items' keys (`like`, when there are items to compare with)."""

    def kind(v: Any) -> str | None:
        if isinstance(v, str):
            return "str"
        if isinstance(v, int | float) and not isinstance(v, bool):
            return "number"
        return None

    if not isinstance(value, list) or not value or any(kind(v) is None for v in value):
        return False
    return like is None or [kind(v) for v in value] == [kind(v) for v in like]


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None
