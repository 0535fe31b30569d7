from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SkipValidation, model_validator

from app.diary.schemas import ExerciseSessionIn, SymptomEntryIn
from app.errors import ErrorItem
from app.schemas import StrictModel

MAX_ITEMS = 500
Kind = Literal["symptom_entry", "exercise_session"]
# Every kind the changes feed carries (records/models.py REVISION_KINDS, notes, questionnaires).
ChangeKind = Literal[
    "symptom_entry",
    "exercise_session",
    "exercise_plan",
    "treatment",
    "function_test",
    "questionnaire",
    "clinical_note",
]
Status = Literal["created", "updated", "unchanged", "deleted", "conflict", "invalid"]
IfMatch = Field(default=None, max_length=200, description="Apply only if this ETag is current")


class SyncEntryItem(SymptomEntryIn):
    """A diary entry in a sync call: the entry's body with its date (and an optional ETag)."""

    entry_date: dt.date
    if_match: str | None = IfMatch

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"entry_date": "2026-03-02", "knees": {"left": {"pain": 4}}}]
        }
    )


class SyncSessionItem(ExerciseSessionIn):
    """An exercise session in a sync call: the session's body with the id the app chose."""

    id: uuid.UUID
    if_match: str | None = IfMatch

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "3f0c8a4e-6a43-4a55-9c55-2f3b1f2b9b11",
                    "activity": "backward_walking",
                    "started_at": "2026-03-02T10:00:00+01:00",
                    "duration_minutes": 15,
                }
            ]
        }
    )


class SyncDeletion(StrictModel):
    kind: Kind
    key: str = Field(max_length=64, description="The entry's date, or the session's id")
    if_match: str | None = IfMatch


class SyncIn(StrictModel):
    """Each list's items have the shape of `SyncEntryItem`, `SyncSessionItem` and
    `SyncDeletion` (the document says so, for typed clients), but are checked one by one when
    applied: an invalid item is answered `invalid` with its errors and the rest still apply
    (`SkipValidation` keeps them as sent until then)."""

    symptom_entries: list[SkipValidation[SyncEntryItem]] = Field(
        default_factory=list,
        description="Diary entries, each `{entry_date, if_match?, …symptom entry}`",
    )
    exercise_sessions: list[SkipValidation[SyncSessionItem]] = Field(
        default_factory=list,
        description="Exercise sessions, each `{id, if_match?, …exercise session}`",
    )
    deletions: list[SkipValidation[SyncDeletion]] = Field(
        default_factory=list, description="Deletions, each `{kind, key, if_match?}`"
    )

    @model_validator(mode="after")
    def _at_most(self) -> SyncIn:
        total = len(self.symptom_entries) + len(self.exercise_sessions) + len(self.deletions)
        if total > MAX_ITEMS:
            raise ValueError(f"at most {MAX_ITEMS} items per call in all (got {total})")
        return self

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "symptom_entries": [
                        {"entry_date": "2026-03-02", "knees": {"left": {"pain": 4}}},
                        {
                            "entry_date": "2026-03-03",
                            "if_match": '"2"',
                            "knees": {"left": {"pain": 3}},
                        },
                    ],
                    "exercise_sessions": [
                        {
                            "id": "3f0c8a4e-6a43-4a55-9c55-2f3b1f2b9b11",
                            "activity": "backward_walking",
                            "started_at": "2026-03-02T10:00:00+01:00",
                            "duration_minutes": 15,
                        }
                    ],
                    "deletions": [{"kind": "symptom_entry", "key": "2026-02-27"}],
                }
            ]
        },
    )


class SyncResult(BaseModel):
    kind: Kind | None = Field(description="null only for an item whose kind cannot be told")
    key: str | None
    status: Status
    etag: str | None = None
    errors: list[ErrorItem] | None = None


class SyncOut(BaseModel):
    results: list[SyncResult]


class ChangeOut(BaseModel):
    kind: ChangeKind
    key: str
    op: Literal["upsert", "delete"]
    version: int
    etag: str
    changed_at: dt.datetime
    data: dict[str, Any] | None = Field(
        description="The record as GET showed it at this version; null for a deletion"
    )


class ChangesPage(BaseModel):
    items: list[ChangeOut]
    next_cursor: str = Field(description="Pass it back as `cursor` to get what came after")
    has_more: bool = Field(description="More changes are waiting: ask again at once")
