"""The token endpoint in OAuth2's terms (RFC 6749): its grants and its error answers.

A refused request is still an RFC 9457 problem (`application/problem+json`, `type`, `title`,
`status`, `detail`), with RFC 6749 §5.2's members added: `error` (`invalid_request`,
`invalid_grant`, `unsupported_grant_type`) and `error_description`, status 400, and
`Cache-Control: no-store`. An OAuth2 library reads `error` and raises; a problem reader reads
`type`."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from pydantic import BaseModel, Field

from app.errors import VALIDATION_TRANSLATORS, AppError

TOKEN_PATH = "/v1/auth/token"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
GRANTS = ("password", "refresh_token")


class OAuthError(AppError):
    """An RFC 6749 §5.2 error from the token endpoint (400)."""

    status = 400

    def __init__(self, error: str, description: str, **kw: Any) -> None:
        self.slug = error.replace("_", "-")
        kw.setdefault("headers", dict(NO_STORE))
        kw["extra"] = {"error": error, "error_description": description}
        super().__init__(description, **kw)


class TokenError(BaseModel):
    """The token endpoint's refusal: a problem with RFC 6749 §5.2's members."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    error: str = Field(
        description="RFC 6749 §5.2: `invalid_request` (a parameter missing or malformed, or "
        "not a form), `invalid_grant` (wrong email or password; an invalid, expired, revoked "
        "or reused refresh token), `unsupported_grant_type`",
        json_schema_extra={"enum": ["invalid_request", "invalid_grant", "unsupported_grant_type"]},
    )
    error_description: str
    errors: list[dict[str, Any]] | None = None


def _translate(request: Request, errors: list[dict[str, Any]]) -> AppError | None:
    """Invalid input to the token endpoint as `invalid_request` (or `unsupported_grant_type`)
    rather than the API's 422."""
    if request.url.path != TOKEN_PATH:
        return None
    # The field's name ends the location (not the union member pydantic tried).
    fields = ("grant_type", "username", "password", "refresh_token", "scope")
    for e in errors:
        named = [p for p in e["loc"] if p in fields]
        if named:
            e["loc"] = ["body", named[0]]
    errors = list({tuple(e["loc"]): e for e in errors}.values())
    if any(e["loc"] == ["body", "grant_type"] for e in errors):
        return OAuthError(
            "unsupported_grant_type",
            f"grant_type must be one of: {', '.join(GRANTS)}",
            errors=errors,
        )
    not_a_form = form_refusal(request, errors)
    if not_a_form is not None:
        return not_a_form
    names = ", ".join(str(e["loc"][-1]) for e in errors)
    return OAuthError("invalid_request", f"Invalid or missing parameter: {names}", errors=errors)


FORM_FIELDS = ("grant_type", "username", "password", "refresh_token")


async def sent_empty(request: Request) -> list[str]:
    """The token form's fields sent with an empty value (a form parser takes those for "not
    sent"; the schema says at least one character). Starlette keeps the parsed form, so this
    reads it once with the route's own parsing."""
    if form_refusal(request) is not None:
        return []
    form = await request.form()
    return [f for f in FORM_FIELDS if f in form and form[f] == ""]


def refuse_empty(names: list[str]) -> None:
    if names:
        raise OAuthError(
            "invalid_request",
            f"Empty parameter: {', '.join(names)}",
            errors=[
                {"loc": ["body", n], "msg": "String should have at least 1 character"}
                for n in names
            ],
        )


def form_refusal(request: Request, errors: list[dict[str, Any]] | None = None) -> AppError | None:
    """`invalid_request` for a body that is not a form (e.g. JSON), saying what to send."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        return None
    return OAuthError(
        "invalid_request",
        "The token endpoint takes a form (Content-Type: application/x-www-form-urlencoded, "
        f"RFC 6749 §4.3.2), not {content_type.split(';')[0] or 'an empty body'}",
        errors=errors,
    )


if _translate not in VALIDATION_TRANSLATORS:
    VALIDATION_TRANSLATORS.append(_translate)
