"""The route side of the single-hop PUT (app/care/single_hop.py): a route class that
reads the body, tries the single-hop path in one threadpool hop, and on `Defer` hands the
request, body included, to the route's declared endpoint (the general path)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from starlette.types import Message, Receive, Scope, Send

from app.care.single_hop import Defer, PutSpec, put
from app.clock import get_now
from app.config import get_settings
from app.db import get_engine
from app.idempotency.dependencies import IdempotentRoute
from app.metrics import SINGLE_HOP
from app.ratelimit import get_rate_limits
from app.sql import is_postgresql

# Dependencies this path resolves itself, honouring a test's override; any other override
# sends the request down the general path.
_RESOLVED = (get_now, get_rate_limits)


def enabled(scope: Scope) -> bool:
    app = scope.get("app")
    overrides = getattr(app, "dependency_overrides", {})
    return (
        get_settings().single_hop_writes
        and is_postgresql(get_engine())
        and all(dep in _RESOLVED for dep in overrides)
    )


async def _resolve(scope: Scope, dependency: Callable[[], Any]) -> Any:
    """A dependency this path needs, as FastAPI would give it (a test's override first)."""
    call = scope["app"].dependency_overrides.get(dependency, dependency)
    value = call()
    return await value if inspect.isawaitable(value) else value


async def _read_body(receive: Receive) -> bytes | None:
    """The whole body, or None if the client went away first."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replaying(body: bytes, receive: Receive) -> Receive:
    """`receive` with the body already read given again, for the general path."""
    pending = [body]

    async def replay() -> Message:
        if pending:
            return {"type": "http.request", "body": pending.pop(), "more_body": False}
        return await receive()

    return replay


class SingleHopRoute(IdempotentRoute):
    """A PUT route that serves what it can on the single-hop path (`spec`), the rest as
    declared."""

    spec: PutSpec

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "PUT" or not enabled(scope):
            await super().handle(scope, receive, send)
            return
        body = await _read_body(receive)
        if body is None:
            return  # nobody to answer
        request = Request(scope, _replaying(body, receive))
        try:
            now = await _resolve(scope, get_now)
            limits = await _resolve(scope, get_rate_limits)
            response = await run_in_threadpool(put, self.spec, request, body, now, limits)
        except Defer:
            SINGLE_HOP.labels(self.path, "deferred").inc()
            await super().handle(scope, _replaying(body, receive), send)
            return
        SINGLE_HOP.labels(self.path, "served").inc()
        await response(scope, receive, send)


def single_hop_route(spec: PutSpec) -> type[SingleHopRoute]:
    """The route class of a PUT served by `spec` (for `add_api_route(route_class_override=…)`)."""
    return type(f"SingleHop{spec.kind.model.__name__}Route", (SingleHopRoute,), {"spec": spec})
