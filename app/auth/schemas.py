from __future__ import annotations

import datetime as dt
import re
import uuid
import zoneinfo
from functools import cache
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    EmailStr,
    Field,
    NaiveDatetime,
    ValidationInfo,
    field_validator,
)
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

Sex = Literal["female", "male", "other", "unknown"]
KneeSide = Literal["left", "right"]


_DATE_TYPES = (dt.date, dt.datetime, AwareDatetime, NaiveDatetime)


def _json_kind(annotation: Any) -> str | None:
    """'number', 'bool' or 'date' when every non-null member of a field's type is one."""
    members = [a for a in get_args(annotation) or (annotation,) if a is not type(None)]
    members = [get_args(m)[0] if get_origin(m) is Annotated else m for m in members]
    if members and all(m is bool for m in members):
        return "bool"
    if members and all(m in (int, float) for m in members):
        return "number"
    if members and all(m in _DATE_TYPES for m in members):
        return "date"
    return None


def _check_text(value: str) -> None:
    # PostgreSQL text cannot hold NUL, and a lone surrogate (valid as a JSON escape) is not
    # encodable as UTF-8: refused here with 422, on every database alike, not at the driver.
    if "\x00" in value:
        raise PydanticCustomError("string_nul", "Text must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise PydanticCustomError("string_unicode", "Text must be valid Unicode") from exc


class StrictModel(BaseModel):
    """Input models refuse unknown fields (a misspelt field must not be silently dropped), and
    take numbers and booleans only as JSON numbers and booleans: Pydantic's lax mode would
    store "7" or true as 7 or 1, and "yes" as true. (An integral float such as 7.0 is an
    integer in JSON Schema and stays accepted.) Dates and instants are RFC 3339 strings, never
    Unix times. Text may not hold NUL or lone surrogates."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="before")
    @classmethod
    def _json_types(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str):
            _check_text(value)
        if info.field_name is None:
            return value
        kind = _field_kind(cls, info.field_name)
        if kind == "number" and isinstance(value, bool | str | bytes):
            raise PydanticCustomError("number_type", "Input should be a JSON number")
        if kind == "bool" and value is not None and not isinstance(value, bool):
            raise PydanticCustomError("bool_type", "Input should be true or false")
        if kind == "date" and value is not None:
            return _iso_date(value)
        return value


@cache  # a few hundred (model, field) pairs; a batch validates thousands
def _field_kind(model: type[BaseModel], field_name: str) -> str | None:
    return _json_kind(model.model_fields[field_name].annotation)


def _iso_date(value: Any) -> Any:
    # Pydantic also reads a number, or a string of digits, as a Unix time: `0` would be
    # 1970-01-01. Dates and instants are RFC 3339 strings only.
    if isinstance(value, dt.date):  # already parsed (datetime is a date too)
        return value
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        raise PydanticCustomError("date_format", "Input should be an RFC 3339 date (YYYY-MM-DD…)")
    return value


def _in_utc_range(value: dt.datetime) -> dt.datetime:
    # 0001-01-01T00:00+14:00 is a valid RFC 3339 instant that has no UTC date in Python's
    # range: it would overflow when stored as UTC.
    try:
        value.astimezone(dt.UTC)
    except OverflowError as exc:
        raise PydanticCustomError("datetime_range", "Input is outside the supported range") from exc
    return value


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")
IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]
IsoDateTime = Annotated[AwareDatetime, BeforeValidator(_iso_date), AfterValidator(_in_utc_range)]


def _text(value: str) -> str:
    _check_text(value)
    return value


# Free text outside a StrictModel (a query filter): the same NUL and Unicode rule.
Text = Annotated[str, AfterValidator(_text)]


# The IANA names known to the bundled tz database (tzdata). The OpenAPI document does not
# list the ~600 of them; a name outside this set answers 422 naming the field.
_TIMEZONES = frozenset(zoneinfo.available_timezones())


def check_timezone(value: str) -> str:
    if value not in _TIMEZONES:
        raise ValueError("must be an IANA time zone name such as 'Europe/Paris'")
    return value


Timezone = Annotated[
    str,
    Field(max_length=64, examples=["Europe/London"], description="An IANA time zone name"),
]


class RegisterIn(StrictModel):
    email: EmailStr
    password: str = Field(min_length=10, max_length=256)
    display_name: str = Field(min_length=1, max_length=120)
    timezone: Timezone
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


class PasswordForm(StrictModel):
    """The OAuth2 password grant (RFC 6749 §4.3.2) as a form. Empty values are refused in the
    schema too, so that generated clients and conformance tests know them to be invalid.
    Other parameters are ignored, as OAuth2 clients may send their own."""

    # The schema keeps the name FastAPI gave the form before, for generated clients.
    model_config = ConfigDict(extra="ignore", title="Body_auth-token")

    grant_type: Literal["password"] | SkipJsonSchema[None] = None
    username: str = Field(min_length=1, max_length=320, description="The account's email")
    password: str = Field(min_length=1, max_length=256)
    scope: str = Field(default="", max_length=1000)
    client_id: str | SkipJsonSchema[None] = Field(default=None, max_length=256)
    client_secret: str | SkipJsonSchema[None] = Field(default=None, max_length=256)


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
