"""One error family, rendered as RFC 9457 problem+json by one set of handlers."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.config import get_settings
from app.routes import allowed_methods

PROBLEM_JSON = "application/problem+json"
# What FastAPI says when a request body cannot be decoded at all.
BODY_PARSE_ERROR = "There was an error parsing the body"
log = logging.getLogger("kneetrack.errors")


class ErrorItem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str | None = None


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[ErrorItem] | None = None


class AppError(Exception):
    status: int = 400
    title: str | None = None
    slug: str = "bad-request"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: Sequence[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        keep_changes: bool = False,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail or self.slug)
        # Extension members of the problem (RFC 9457 §3.2), e.g. OAuth2's `error`.
        self.extra = extra or {}
        # Commit what the request wrote before failing (e.g. a revocation that must outlive
        # the 401); by default an error rolls the whole unit of work back.
        self.keep_changes = keep_changes
        self.detail = detail
        self.errors = list(errors) if errors is not None else None
        self.headers = headers or {}


class Unauthorized(AppError):
    status, slug = 401, "unauthorized"

    def __init__(self, detail: str | None = "Missing or invalid credentials", **kw: Any) -> None:
        kw.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(detail, **kw)


class Forbidden(AppError):
    status, slug = 403, "forbidden"


class NotFound(AppError):
    status, slug = 404, "not-found"

    def __init__(self, detail: str | None = "The resource does not exist", **kw: Any) -> None:
        super().__init__(detail, **kw)


class Conflict(AppError):
    status, slug = 409, "conflict"


class PreconditionFailed(AppError):
    status, slug = 412, "precondition-failed"


class Unprocessable(AppError):
    status, slug = 422, "validation-error"

    def __init__(
        self, detail: str | None = None, *, loc: Sequence[str | int] | None = None, **kw: Any
    ) -> None:
        if loc is not None and "errors" not in kw:
            kw["errors"] = [{"loc": list(loc), "msg": detail or "Invalid value"}]
        super().__init__(detail, **kw)


class TooManyRequests(AppError):
    status, slug = 429, "too-many-requests"


class ServiceUnavailable(AppError):
    status, slug = 503, "service-unavailable"


def problem_type(slug: str) -> str:
    return f"https://kneetrack.dev/problems/{slug}"


def problem_response(
    request: Request,
    status: int,
    *,
    slug: str,
    title: str | None = None,
    detail: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
) -> JSONResponse:
    body: dict[str, Any] = {
        **(extra or {}),
        "type": problem_type(slug),
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(body, status_code=status, headers=headers, media_type=PROBLEM_JSON)


def clean_validation_errors(raw: Sequence[Any]) -> list[dict[str, Any]]:
    """Field errors without echoing the submitted value (it may be health data)."""
    out = []
    for e in raw:
        msg = str(e.get("msg", "Invalid value"))
        out.append(
            {
                "loc": [p for p in e.get("loc", ()) if p is not None],
                "msg": msg,
                "type": e.get("type"),
            }
        )
    return out


def _slug_for(status: int) -> str:
    return {
        400: "bad-request",
        401: "unauthorized",
        403: "forbidden",
        404: "not-found",
        405: "method-not-allowed",
        406: "not-acceptable",
        409: "conflict",
        412: "precondition-failed",
        413: "payload-too-large",
        415: "unsupported-media-type",
        422: "validation-error",
        428: "precondition-required",
        429: "too-many-requests",
    }.get(status, "error")


# Other front ends (the dashboard's HTML pages) register here: (request, status, detail,
# headers) -> a response of their own, or None to answer problem+json as usual.
PAGE_RENDERERS: list[Callable[[Request, int, str | None, dict[str, str]], Response | None]] = []


def _page(
    request: Request, status: int, detail: str | None, headers: dict[str, str] | None = None
) -> Response | None:
    for render in PAGE_RENDERERS:
        page = render(request, status, detail, headers or {})
        if page is not None:
            return page
    return None


def _unavailable(request: Request) -> JSONResponse:
    retry = str(get_settings().retry_after_seconds)
    return problem_response(
        request,
        503,
        slug="service-unavailable",
        detail="The database is unavailable; try again shortly.",
        headers={"Retry-After": retry},
    )


async def _app_error(request: Request, exc: AppError) -> Response:
    page = _page(request, exc.status, exc.detail, exc.headers)
    if page is not None:
        return page
    headers = dict(exc.headers)
    if exc.status == 503:
        headers.setdefault("Retry-After", str(get_settings().retry_after_seconds))
    return problem_response(
        request,
        exc.status,
        slug=exc.slug,
        title=exc.title,
        detail=exc.detail,
        errors=exc.errors,
        headers=headers,
        extra=exc.extra,
    )


# Routes whose invalid input is answered in a protocol's own terms (the OAuth2 token endpoint:
# RFC 6749 §5.2) register here: (request, cleaned errors) -> an AppError to raise, or None.
VALIDATION_TRANSLATORS: list[Callable[[Request, list[dict[str, Any]]], AppError | None]] = []


async def _validation(request: Request, exc: RequestValidationError) -> Response:
    errors = clean_validation_errors(exc.errors())
    for translate in VALIDATION_TRANSLATORS:
        translated = translate(request, errors)
        if translated is not None:
            return await _app_error(request, translated)
    page = _page(request, 422, "The address has an invalid parameter.")
    if page is not None:
        return page
    fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in errors[:5])
    return problem_response(
        request,
        422,
        slug="validation-error",
        title="Invalid input",
        detail=f"Invalid input: {fields}" if fields else "Invalid input",
        errors=errors,
    )


async def _http(request: Request, exc: StarletteHTTPException) -> Response:
    detail = exc.detail if isinstance(exc.detail, str) else None
    headers = dict(getattr(exc, "headers", None) or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request.app.routes, request.url.path))
    page = _page(request, exc.status_code, detail, headers)
    if page is not None:
        return page
    if exc.status_code == 400 and detail == BODY_PARSE_ERROR:
        # A body that is not decodable (invalid UTF-8, a broken form) is invalid input
        # like malformed JSON, which FastAPI already answers 422: one status for both.
        return problem_response(
            request,
            422,
            slug="validation-error",
            title="Invalid input",
            detail="Invalid input: body (not decodable as the declared content type)",
            errors=[
                {"loc": ["body"], "msg": "The body could not be decoded", "type": "body_decode"}
            ],
        )
    return problem_response(
        request,
        exc.status_code,
        slug=_slug_for(exc.status_code),
        detail=detail,
        headers=headers,
    )


async def _pool_timeout(request: Request, exc: PoolTimeoutError) -> JSONResponse:
    log.warning("database pool exhausted", extra={"path": request.url.path})
    return _unavailable(request)


async def _db_error(request: Request, exc: DBAPIError) -> JSONResponse:
    if isinstance(exc, OperationalError) or exc.connection_invalidated:
        log.warning("database unavailable: %s", type(exc.orig).__name__)
        return _unavailable(request)
    log.error("database error: %s", type(exc.orig).__name__)
    return problem_response(
        request, 500, slug="internal-error", detail="An unexpected error occurred."
    )


async def _unhandled(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return problem_response(
        request, 500, slug="internal-error", detail="An unexpected error occurred."
    )


def install_error_handlers(app: FastAPI) -> None:
    for kind, handler in (
        (AppError, _app_error),
        (RequestValidationError, _validation),
        (StarletteHTTPException, _http),
        (PoolTimeoutError, _pool_timeout),
        (DBAPIError, _db_error),
        (Exception, _unhandled),
    ):
        app.add_exception_handler(kind, handler)  # type: ignore[arg-type]
