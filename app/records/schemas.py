"""What the API shows of a record's history."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import BaseModel


class RevisionOut(BaseModel):
    version: int
    reason: Literal["replaced", "deleted"]
    superseded_at: dt.datetime
    data: dict[str, Any]


class RevisionList(BaseModel):
    items: list[RevisionOut]
