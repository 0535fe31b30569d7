from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from app.auth.schemas import check_display_name
from app.schemas import KneeSide, Sex, StrictModel, Timezone, check_timezone


class PatientOut(BaseModel):
    id: uuid.UUID
    display_name: str
    email: str | None = None
    timezone: str
    birth_year: int | None = None
    sex: Sex | None = None
    index_knee: KneeSide | None = None
    created_at: dt.datetime


def refuse_nulls(data: Any, *fields: str) -> Any:
    """Fields that may be left out but not sent as null (the schema does not offer null)."""
    if isinstance(data, dict):
        for name in fields:
            if name in data and data[name] is None:
                raise ValueError(f"{name} cannot be null")
    return data


class PatientPatch(StrictModel):
    # `SkipJsonSchema[None]`: optional in a PATCH, but null is not a value (see the validator).
    display_name: str | SkipJsonSchema[None] = Field(default=None, min_length=1, max_length=120)
    timezone: Timezone | SkipJsonSchema[None] = None
    birth_year: int | None = Field(default=None, ge=1900, le=2100)
    sex: Sex | None = None
    index_knee: KneeSide | None = None

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str | None) -> str | None:
        return None if v is None else check_timezone(v)

    @field_validator("display_name")
    @classmethod
    def _name(cls, v: str | None) -> str | None:
        return None if v is None else check_display_name(v)

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        return refuse_nulls(data, "display_name", "timezone")

    model_config = ConfigDict(
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


class GrantRequested(BaseModel):
    status: Literal["pending"] = "pending"
    detail: str = Field(
        default="If this is a clinician's account, they will see your request and join your "
        "care team once they accept it. The answer is the same for any email or id."
    )


class CareRequestOut(BaseModel):
    patient_id: uuid.UUID
    display_name: str
    requested_at: dt.datetime


class CareRequestList(BaseModel):
    items: list[CareRequestOut]


class CareTeamList(BaseModel):
    items: list[CareTeamMemberOut]
    next_cursor: str | None = None


def _only(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "title": f"GrantBy{''.join(p.capitalize() for p in name.split('_')[1:])}",
        "properties": {name: schema},
        "required": [name],
        "additionalProperties": False,
    }


class GrantIn(StrictModel):
    """The clinician to ask, by id or by email: exactly one of the two."""

    clinician_id: uuid.UUID | SkipJsonSchema[None] = None
    clinician_email: EmailStr | SkipJsonSchema[None] = None

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        return refuse_nulls(data, "clinician_id", "clinician_email")

    @model_validator(mode="after")
    def _one(self) -> GrantIn:
        if (self.clinician_id is None) == (self.clinician_email is None):
            raise ValueError("give exactly one of clinician_id or clinician_email")
        return self

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"clinician_email": "dr.lee@clinic.example"}],
            # Two whole alternatives (not bare `required` lists), so that a typed client
            # generated from the document gets a union of two object types.
            "oneOf": [
                _only("clinician_id", {"type": "string", "format": "uuid"}),
                _only("clinician_email", {"type": "string", "format": "email"}),
            ],
        },
    )
