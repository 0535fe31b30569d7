from __future__ import annotations

import datetime as dt
import uuid
import zoneinfo
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator

Sex = Literal["female", "male", "other", "unknown"]
KneeSide = Literal["left", "right"]


class StrictModel(BaseModel):
    """Input models refuse unknown fields (a misspelt field must not be silently dropped)."""

    model_config = ConfigDict(extra="forbid")


def check_timezone(value: str) -> str:
    if value in ("", "localtime") or value.startswith(("/", ".")) or ".." in value:
        raise ValueError("must be an IANA time zone name such as 'Europe/Paris'")
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError("must be an IANA time zone name such as 'Europe/Paris'") from exc
    return value


class RegisterIn(StrictModel):
    email: EmailStr
    password: str = Field(min_length=10, max_length=256)
    display_name: str = Field(min_length=1, max_length=120)
    timezone: str = Field(max_length=64, examples=["Europe/London"])
    birth_year: int | None = Field(default=None, ge=1900, le=2100)
    sex: Sex | None = None
    index_knee: KneeSide | None = None

    _tz = field_validator("timezone")(check_timezone)

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "email": "ada@example.org",
                    "password": "correct horse battery",
                    "display_name": "Ada",
                    "timezone": "Europe/London",
                    "birth_year": 1956,
                    "sex": "female",
                    "index_knee": "left",
                }
            ]
        },
    )


class TokenOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class RefreshIn(StrictModel):
    refresh_token: str = Field(min_length=1, max_length=512)

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"refresh_token": "rt_2b7f0c9e4a1d4f3b8e6a5c7d9f0e1a2b"}]},
    )


class ClinicianIn(StrictModel):
    email: EmailStr
    password: str = Field(min_length=10, max_length=256)
    display_name: str = Field(min_length=1, max_length=120)

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "email": "dr.lee@clinic.example",
                    "password": "a long clinic password",
                    "display_name": "Dr Lee",
                }
            ]
        },
    )


class UserOut(BaseModel):
    id: uuid.UUID
    email: str
    role: str
    display_name: str
    created_at: dt.datetime


Scope = Literal["read", "write", "export"]


class ApiKeyIn(StrictModel):
    name: str = Field(min_length=1, max_length=100, examples=["Clinic EHR import"])
    scopes: list[Scope] = Field(min_length=1, max_length=3, examples=[["read", "export"]])

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"name": "Clinic EHR import", "scopes": ["read", "export"]}]
        },
    )


class ApiKeyOut(BaseModel):
    id: uuid.UUID
    name: str
    prefix: str = Field(description="The key's first characters, to recognise it")
    scopes: list[Scope]
    created_at: dt.datetime
    last_used_at: dt.datetime | None = Field(
        description="Approximate: updated at most once a minute"
    )
    revoked: bool
    revoked_at: dt.datetime | None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The secret, shown this once; send it as `X-API-Key`")


class ApiKeyList(BaseModel):
    items: list[ApiKeyOut]
    next_cursor: str | None = None
