from __future__ import annotations

import datetime as dt
import uuid

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

from app.auth.schemas import KneeSide, Sex, StrictModel, check_timezone
from app.trends.schemas import FlagOut


class PatientOut(BaseModel):
    id: uuid.UUID
    display_name: str
    email: str | None = None
    timezone: str
    birth_year: int | None = None
    sex: Sex | None = None
    index_knee: KneeSide | None = None
    created_at: dt.datetime


class PatientPatch(StrictModel):
    display_name: str | None = Field(default=None, min_length=1, max_length=120)
    timezone: str | None = Field(default=None, max_length=64)
    birth_year: int | None = Field(default=None, ge=1900, le=2100)
    sex: Sex | None = None
    index_knee: KneeSide | None = None

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        return None if v is None else check_timezone(v)

    @model_validator(mode="after")
    def _no_null_required(self) -> PatientPatch:
        for name in ("display_name", "timezone"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"timezone": "America/New_York", "index_knee": "right"}]},
    )


class PatientDeleteIn(StrictModel):
    password: str = Field(min_length=1, max_length=256)

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"password": "correct horse battery"}]}
    )


class InvitationOut(BaseModel):
    code: str
    clinician_id: uuid.UUID
    expires_at: dt.datetime


class CareTeamMemberOut(BaseModel):
    clinician_id: uuid.UUID
    display_name: str
    granted_via: str
    granted_at: dt.datetime


class CareTeamList(BaseModel):
    items: list[CareTeamMemberOut]
    next_cursor: str | None = None


class GrantIn(StrictModel):
    clinician_id: uuid.UUID | None = None
    clinician_email: EmailStr | None = None

    @model_validator(mode="after")
    def _one(self) -> GrantIn:
        if (self.clinician_id is None) == (self.clinician_email is None):
            raise ValueError("give exactly one of clinician_id or clinician_email")
        return self

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"clinician_email": "dr.lee@clinic.example"}]},
    )


class PanelItem(BaseModel):
    patient_id: uuid.UUID
    display_name: str
    last_entry_date: dt.date | None = None
    pain_mean_7d: float | None = None
    pain_change_28d: float | None = None
    pain_slope_per_week: float | None = None
    adherence_4w: float | None = None
    flags: list[FlagOut] = Field(default_factory=list)


class PanelOut(BaseModel):
    items: list[PanelItem]
    next_cursor: str | None = None
