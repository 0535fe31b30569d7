"""The shared input kit: strict models, bounded ISO dates and instants, text, time zones.

Every domain's schemas build on these; they know nothing of any domain."""

from __future__ import annotations

import datetime as dt
import importlib.resources
import re
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, ClassVar, Literal, get_args, get_origin

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    NaiveDatetime,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError

from app.errors import Unprocessable

Sex = Literal["female", "male", "other", "unknown"]
KneeSide = Literal["left", "right"]


_INSTANT_TYPES = (dt.datetime, AwareDatetime, NaiveDatetime)


def _json_kind(annotation: Any) -> str | None:
    """'number', 'bool', 'date' or 'instant' when every non-null member of a field's type is
    one."""
    members = [a for a in get_args(annotation) or (annotation,) if a is not type(None)]
    members = [get_args(m)[0] if get_origin(m) is Annotated else m for m in members]
    if members and all(m is bool for m in members):
        return "bool"
    if members and all(m in (int, float) for m in members):
        return "number"
    if members and all(m is dt.date for m in members):
        return "date"
    if members and all(m in _INSTANT_TYPES for m in members):
        return "instant"
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
    # An output model that reuses an input model's fields reads stored rows back: those are
    # not held to the input range (a row stored before the range existed stays readable).
    range_checked: ClassVar[bool] = True

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
        if kind == "instant" and value is not None:
            return _iso_instant(value)
        return value

    @field_validator("*", mode="after")
    @classmethod
    def _clinical_range(cls, value: Any, info: ValidationInfo) -> Any:
        # Every date and instant any input model takes is bounded (see DATE_MIN), whether or
        # not its field is declared with IsoDate/IsoDateTime.
        if not cls.range_checked:
            return value
        if isinstance(value, dt.datetime):
            return _instant_in_range(value)
        if isinstance(value, dt.date):
            return _date_in_range(value)
        return value


def json_number(value: Any) -> Any:
    """For a number inside a container (a dict's values), which `StrictModel`'s per-field rule
    does not reach: a JSON number only, never a string or a boolean."""
    if isinstance(value, bool | str | bytes):
        raise PydanticCustomError("number_type", "Input should be a JSON number")
    return value


@cache  # a few hundred (model, field) pairs; a batch validates thousands
def _field_kind(model: type[BaseModel], field_name: str) -> str | None:
    return _json_kind(model.model_fields[field_name].annotation)


def _iso_date(value: Any) -> Any:
    # Pydantic also reads a number, or a string of digits, as a Unix time: `0` would be
    # 1970-01-01; and it reads "2026-01-01T00:00:00Z" as a date. A date is exactly the RFC 3339
    # full-date YYYY-MM-DD.
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):  # already parsed
        return value
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise PydanticCustomError("date_format", "Input should be an RFC 3339 date (YYYY-MM-DD)")
    return value


def _iso_instant(value: Any) -> Any:
    # Instants are RFC 3339 strings only (never Unix times); Pydantic checks the rest.
    if isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str) or not _ISO_INSTANT.match(value):
        raise PydanticCustomError(
            "datetime_format", "Input should be an RFC 3339 date-time (YYYY-MM-DDThh:mm:ss…)"
        )
    return value


# The clinical range of every date and instant the API accepts. Diary, exercise, plan and
# questionnaire dates of people alive now lie well inside it; a date near year 1 or 9999 is
# never clinical, and date arithmetic on it (a baseline 7 days before a plan, a week's Sunday)
# would overflow Python's date range. Stored values are read back inside it too
# (`clamp_date`). Narrower rules (no entry after today, plans near today) apply on top.
DATE_MIN = dt.date(1900, 1, 1)
DATE_MAX = dt.date(2100, 12, 31)
INSTANT_MIN = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
INSTANT_END = dt.datetime(2101, 1, 1, tzinfo=dt.UTC)  # exclusive
_RANGE_MSG = f"Input should be between {DATE_MIN.isoformat()} and {DATE_MAX.isoformat()}"


def _date_in_range(value: dt.date) -> dt.date:
    if not DATE_MIN <= value <= DATE_MAX:
        raise PydanticCustomError("date_range", _RANGE_MSG)
    return value


def _instant_in_range(value: dt.datetime) -> dt.datetime:
    # 0001-01-01T00:00+14:00 is a valid RFC 3339 instant that has no UTC date in Python's
    # range: it would overflow when stored as UTC.
    if value.tzinfo is None:
        return value  # a naive value is refused by its type (AwareDatetime), not here
    try:
        utc = value.astimezone(dt.UTC)
    except OverflowError as exc:
        raise PydanticCustomError("datetime_range", _RANGE_MSG) from exc
    if not INSTANT_MIN <= utc < INSTANT_END:
        raise PydanticCustomError("datetime_range", _RANGE_MSG)
    return value


def strict_date(text: str) -> dt.date:
    """A date key given as text (e.g. a sync deletion's): exactly YYYY-MM-DD within the
    range; ValueError otherwise (`date.fromisoformat` also takes 20260101 and 2026-W10-1)."""
    if not _ISO_DATE.fullmatch(text):
        raise ValueError("not a YYYY-MM-DD date")
    value = dt.date.fromisoformat(text)
    if not DATE_MIN <= value <= DATE_MAX:
        raise ValueError(_RANGE_MSG)
    return value


def clamp_date(value: dt.date) -> dt.date:
    """A stored date brought into DATE_MIN…DATE_MAX before any arithmetic on it: a row
    written before the range was enforced (or straight into the database) must not make a
    computation overflow. Within the range it changes nothing; a plan stored as starting in
    year 1 reads as starting in 1900, which for any today in the range is the same plan."""
    return min(max(value, DATE_MIN), DATE_MAX)


def check_near_today(
    value: dt.date | None, today: dt.date, *, loc: list[str | int], days: int
) -> None:
    """Refuse a date more than `days` days before or after `today` (422 naming the field)."""
    if value is not None and abs((value - today).days) > days:
        raise Unprocessable(f"must be within {days} days of today ({today.isoformat()})", loc=loc)


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]")


# The range is published in the OpenAPI document as the extension keywords
# `x-formatMinimum`/`x-formatMaximum` (ajv-formats' names, prefixed: OpenAPI 3.1 validators
# such as Redocly refuse unknown keywords in a schema, and allow `x-` ones), so a client
# generated from it knows the bounds; the test suite's request generator reads them too.
@dataclass(frozen=True)
class WithJsonSchemaExtra:
    """Annotated metadata adding keywords to the JSON Schema Pydantic generates for a type."""

    items: tuple[tuple[str, str], ...]

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        schema = handler(core_schema)
        schema.update(self.items)
        return schema


# The years 1900–2100 as a pattern too: plain JSON Schema, so that every generator and
# validator keeps to the range (a date outside it is refused with 422).
_YEARS = "(19[0-9]{2}|20[0-9]{2}|2100)"
_DATE_RANGE_SCHEMA = WithJsonSchemaExtra(
    (
        ("pattern", f"^{_YEARS}-"),
        ("x-formatMinimum", DATE_MIN.isoformat()),
        ("x-formatMaximum", DATE_MAX.isoformat()),
    )
)
_INSTANT_RANGE_SCHEMA = WithJsonSchemaExtra(
    (
        ("pattern", f"^{_YEARS}-"),
        ("x-formatMinimum", "1900-01-01T00:00:00Z"),
        ("x-formatExclusiveMaximum", "2101-01-01T00:00:00Z"),
    )
)
IsoDate = Annotated[
    dt.date,
    BeforeValidator(_iso_date),
    AfterValidator(_date_in_range),
    _DATE_RANGE_SCHEMA,
]
IsoDateTime = Annotated[
    AwareDatetime,
    BeforeValidator(_iso_instant),
    AfterValidator(_instant_in_range),
    _INSTANT_RANGE_SCHEMA,
]


def _text(value: str) -> str:
    _check_text(value)
    return value


# Free text outside a StrictModel (a query filter): the same NUL and Unicode rule.
Text = Annotated[str, AfterValidator(_text)]


# The IANA names of the tz database bundled by the tzdata package (pinned in uv.lock, so the
# list is the same on every machine). The OpenAPI document lists them once, as the `TimeZone`
# schema (app/openapi.py), so that a client can offer them and a generator draw only valid ones;
# a name outside the list answers 422 naming the field.
TIMEZONE_NAMES = tuple(
    sorted(importlib.resources.files("tzdata").joinpath("zones").read_text().split())
)
_TIMEZONES = frozenset(TIMEZONE_NAMES)
# A schema written inside a model's JSON schema that the OpenAPI document should hold as a
# named component (its value is the name): app/openapi.py lifts it and refers to it, or, when
# the document already holds that component (TimeZone), only refers to it.
COMPONENT = "x-kneetrack-component"


def _identifier(name: str) -> str:
    """A code identifier for a zone name, for client generators that make enum members
    (`x-enum-varnames`): `Etc/GMT+5` and `Etc/GMT-5` must not both become `ETC_GMT_5`."""
    name = re.sub(r"-(?=\d)", "_MINUS_", name.replace("+", "_PLUS_"))
    return re.sub(r"_+", "_", re.sub(r"[^A-Za-z0-9]", "_", name)).strip("_").upper()


TIMEZONE_SCHEMA: dict[str, Any] = {
    "type": "string",
    "enum": list(TIMEZONE_NAMES),
    "x-enum-varnames": [_identifier(n) for n in TIMEZONE_NAMES],
    "description": "An IANA time zone name from the tz database (e.g. `Europe/London`): it "
    "defines the patient's calendar day",
    "examples": ["Europe/London"],
}


def check_timezone(value: str) -> str:
    if value not in _TIMEZONES:
        raise ValueError("must be an IANA time zone name such as 'Europe/Paris'")
    return value


Timezone = Annotated[
    str,
    Field(max_length=64),
    # A marker that app/openapi.py turns into `$ref: TimeZone` (pydantic cannot refer to a
    # schema it did not make).
    WithJsonSchema({"type": "string", COMPONENT: "TimeZone"}),
]


def not_null(value: object) -> object:
    """For a PATCH: a field that was sent may change a required value, never remove it (a
    field validator runs only for the fields sent)."""
    if value is None:
        raise ValueError("may not be null")
    return value
