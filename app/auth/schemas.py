from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    EmailStr,
    Field,
    ValidationInfo,
    field_validator,
)
from pydantic.json_schema import SkipJsonSchema
from pydantic_core import PydanticCustomError

from app.schemas import (
    KneeSide,
    Sex,
    StrictModel,
    Timezone,
    check_timezone,
)

# NIST SP 800-63B §5.1.1.2: at least 10 characters here, no composition rules, and refused when
# it is commonly used, expected or compromised. zxcvbn (Dropbox's estimator, with its lists of
# common passwords, names and words) scores how many guesses a password needs; below score 2
# (about 10^6 guesses) it is refused: "          ", "aaaaaaaaaa", "1234567890", "password12",
# or the email's own name.
MIN_PASSWORD_SCORE = 2


def check_password_strength(password: str, info: ValidationInfo) -> str:
    from zxcvbn import zxcvbn

    context = [str(info.data.get("email", "")).split("@")[0], str(info.data.get("email", ""))]
    result = zxcvbn(password[:100], user_inputs=[c for c in context if c])
    if result["score"] < MIN_PASSWORD_SCORE:
        warning = result["feedback"].get("warning") or "It is too easy to guess"
        raise PydanticCustomError(
            "password_too_weak",
            "Choose a password that is harder to guess: {warning}. A few unrelated words work "
            "well.",
            {"warning": warning.rstrip(".")},
        )
    return password


def check_display_name(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("display_name_blank", "Display name must not be blank")
    return value


# A new password (checked against the email given with it) and a display name, as every form
# that sets them validates them.
NewPassword = Annotated[str, AfterValidator(check_password_strength)]
DisplayName = Annotated[
    str, Field(min_length=1, max_length=120), AfterValidator(check_display_name)
]


class RegisterIn(StrictModel):
    email: EmailStr
    password: NewPassword = Field(
        min_length=10,
        max_length=256,
        description="At least 10 characters and not easily guessed (NIST SP 800-63B): common "
        "passwords, repeats and sequences are refused with 422",
    )
    display_name: DisplayName
    timezone: Timezone
    birth_year: int | None = Field(default=None, ge=1900, le=2100)
    sex: Sex | None = None
    index_knee: KneeSide | None = None

    _tz = field_validator("timezone")(check_timezone)

    model_config = ConfigDict(
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
    """The token endpoint's form (RFC 6749): the password grant (§4.3.2: `username`,
    `password`) or the refresh grant (§6: `refresh_token`). Without `grant_type` a form with
    `username` is the password grant. Empty values are refused in the schema too, so that
    generated clients and conformance tests know them to be invalid. Other parameters are
    ignored, as OAuth2 clients may send their own."""

    # The schema keeps the name FastAPI gave the form before, for generated clients.
    model_config = ConfigDict(extra="ignore", title="Body_auth-token")

    grant_type: Literal["password", "refresh_token"] | SkipJsonSchema[None] = Field(
        default=None, description="`password` (the default) or `refresh_token`"
    )
    username: str | SkipJsonSchema[None] = Field(
        default=None,
        min_length=1,
        max_length=320,
        description="The account's email (password grant)",
    )
    password: str | SkipJsonSchema[None] = Field(
        default=None, min_length=1, max_length=256, description="Password grant"
    )
    refresh_token: str | SkipJsonSchema[None] = Field(
        default=None,
        min_length=1,
        max_length=512,
        description="Refresh grant: the refresh token of the last answer (rotated: each is "
        "used once; reusing one revokes the whole sign-in)",
    )
    scope: str | SkipJsonSchema[None] = Field(
        default=None, max_length=1000, description="Ignored: a token carries its user's rights"
    )
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
        json_schema_extra={"examples": [{"refresh_token": "rt_2b7f0c9e4a1d4f3b8e6a5c7d9f0e1a2b"}]},
    )


class PasswordChangeIn(StrictModel):
    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(
        min_length=10,
        max_length=256,
        description="At least 10 characters and not easily guessed (NIST SP 800-63B)",
    )

    _password = field_validator("new_password")(check_password_strength)

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "current_password": "correct horse battery",
                    "new_password": "violet kettle harbour",
                }
            ]
        },
    )


class SignOutResult(BaseModel):
    ended: int = Field(description="How many other sign-ins were ended")


class ClinicianIn(StrictModel):
    email: EmailStr
    password: NewPassword = Field(
        min_length=10,
        max_length=256,
        description="At least 10 characters and not easily guessed (NIST SP 800-63B)",
    )
    display_name: DisplayName

    model_config = ConfigDict(
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
