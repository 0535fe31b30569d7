"""Pure ASGI middleware: request ids, access logs, body size limit, security headers."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from typing import Any

import structlog
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.errors import PROBLEM_JSON
from app.memory import release_free_memory

log = structlog.get_logger("kneetrack.access")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,128}$")

# OWASP REST Security Cheat Sheet, "Security headers". The API serves JSON only, so its
# Content-Security-Policy forbids everything; the interactive docs are HTML pages running
# Swagger UI / ReDoc from this server (fastapi-offline): they may load only from it (inline
# scripts and styles are how both start; ReDoc runs a worker from a blob).
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"strict-transport-security", b"max-age=31536000; includeSubDomains"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
API_CSP = b"default-src 'none'; frame-ancestors 'none'"
DOCS_CSP = (
    b"default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    b"img-src 'self' data:; worker-src 'self' blob:; frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")


class HTTPMiddleware:
    """A pure ASGI middleware for HTTP requests: anything else (lifespan, websockets) passes
    straight through to the app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        await self.http(scope, receive, send)

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        raise NotImplementedError


class RequestContextMiddleware(HTTPMiddleware):
    """Gives every request an `X-Request-ID` (the client's, if well-formed), logs one line per
    request with the route template, and adds security and caching headers: responses may
    carry health data, so nothing is cached by default."""

    async def http(self, scope: Scope, receive: Receive, send: Send) -> None:
        incoming = dict(scope["headers"]).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        start = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if k.lower() not in (b"server", b"x-request-id")
                ]
                headers.append((b"x-request-id", request_id.encode()))
                present = {k.lower() for k, _ in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in present)
                if b"content-security-policy" not in present:
                    docs = scope["path"].startswith(DOCS_PATHS)
                    headers.append((b"content-security-policy", DOCS_CSP if docs else API_CSP))
                if b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = scope.get("route")
            log.info(
                "request",
                method=scope["method"],
                route=getattr(route, "path", "<unmatched>"),
                status=status,
                duration_ms=round((time.perf_counter() - start) * 1000, 2),
            )
            structlog.contextvars.unbind_contextvars("request_id")


class BodySizeLimitMiddleware:
    """Refuses request bodies over `max_bytes` with 413, by Content-Length or while reading."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _reject(self, scope: Scope, send: Send) -> None:
        import json

        body = json.dumps(
            {
                "type": "https://kneetrack.dev/problems/payload-too-large",
                "title": "Content Too Large",
                "status": 413,
                "detail": f"The request body exceeds {self.max_bytes} bytes",
                "instance": scope.get("path"),
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", PROBLEM_JSON.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None:
            try:
                too_big = int(length) > self.max_bytes
            except ValueError:
                too_big = False
            if too_big:
                await self._reject(scope, send)
                return
        received = 0
        started = False

        async def send_wrapper(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        class _TooLarge(HTTPException):
            # An HTTPException, so that FastAPI's body parsing lets it through (rather than
            # turning it into a 400) and the problem+json handler answers 413; a body sent
            # without Content-Length (chunked) is caught here, while it is read.
            def __init__(self) -> None:
                super().__init__(413, f"The request body exceeds {max_bytes} bytes")

        max_bytes = self.max_bytes

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited_receive, send_wrapper)
        except _TooLarge:
            if not started:
                await self._reject(scope, send)


__all__: list[Any] = ["BodySizeLimitMiddleware", "RequestContextMiddleware"]


class _Gate:
    """At most `limit` of the requests it `applies` to inside the application at once; the
    others wait their turn on the event loop, without a deadline (none is refused)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self._gate: asyncio.Semaphore | None = None

    def applies(self, scope: Scope) -> bool:
        raise NotImplementedError

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.applies(scope):
            await self.app(scope, receive, send)
            return
        if self._gate is None:  # made on the server's event loop
            self._gate = asyncio.Semaphore(self.limit)
        async with self._gate:
            await self.app(scope, receive, send)


class BatchLimitMiddleware(_Gate):
    """At most `limit` batch syncs (`POST …/sync`) inside a worker at once; the others wait on
    the event loop *before their body is read*. A batch of 500 entries holds a few MB while it
    is parsed, validated and written, and a worker runs Python one request at a time anyway,
    so admitting sixteen at once only multiplies the memory (measured: a worker's peak RSS
    under 16 concurrent batches, docs/BENCHMARKS.md) without adding throughput. A waiting
    request's body stays in the server's socket buffers (uvicorn stops reading past 64 KB)."""

    def applies(self, scope: Scope) -> bool:
        return bool(scope["method"] == "POST" and scope["path"].endswith("/sync"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await super().__call__(scope, receive, send)
        if scope["type"] == "http" and self.applies(scope):
            release_free_memory()  # the batch's megabytes, freed, back to the system


class ConcurrencyLimitMiddleware(_Gate):
    """At most `limit` requests inside the application at once; the others wait their turn on
    the event loop, without a deadline. A request holds its pooled database connection across
    several threadpool hops (one per sync dependency, then the endpoint), so when more requests
    are inside than there are connections, requests that hold a thread wait for a connection
    held by requests waiting for a thread, until the pool timeout answers 503 although the
    database is healthy (measured in docs/BENCHMARKS.md). Admitting requests, not threads,
    keeps each admitted request's connection and threads available to it."""

    def __init__(self, app: ASGIApp, limit: int, exempt: tuple[str, ...] = ("/healthz",)) -> None:
        super().__init__(app, limit)
        self.exempt = exempt

    def applies(self, scope: Scope) -> bool:
        return scope["path"] not in self.exempt
