"""Opaque list cursors: base64url JSON of the last item's sort key."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from typing import Annotated, Any

from fastapi import Query

from app.errors import Unprocessable

Limit = Annotated[int, Query(ge=1, le=200, description="Page size (1–200)")]
Cursor = Annotated[
    str | None, Query(max_length=512, description="`next_cursor` from the previous page")
]


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
