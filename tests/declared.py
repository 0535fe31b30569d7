"""What the server sends, held against what the OpenAPI document declares.

The suite's shared client (`client` in tests/conftest.py) goes through `Recorder`, which notes
each answer's operation (method and route template), status and header names. When the
session's client closes, every status an operation answered must be declared for it, and
every header it sent must be declared on that response, except the ones every response
carries (listed in the document's description and in TRANSPORT below)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]

# On every response, whatever the route: transport and security headers (app/middleware.py).
TRANSPORT = frozenset({
    "content-type", "content-length", "date", "server", "cache-control", "vary",
    "content-security-policy", "strict-transport-security", "x-content-type-options",
    "x-frame-options", "referrer-policy", "cross-origin-resource-policy", "pragma",
})
# Answers the framework gives before any operation runs, for any route.
FRAMEWORK_STATUSES = frozenset({"405", "406", "413", "415"})

Seen = set[tuple[str, str, str, frozenset[str]]]


class Recorder:
    def __init__(self, app: Any, seen: Seen) -> None:
        self.app, self.seen = app, seen

    async def __call__(
        self, scope: Scope, receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def noting(message: Message) -> None:
            if message["type"] == "http.response.start":
                path = getattr(scope.get("route"), "path", None)
                if path is not None:
                    names = frozenset(k.decode("latin-1").lower() for k, _ in message["headers"])
                    self.seen.add((scope["method"].lower(), path, str(message["status"]), names))
            await send(message)

        await self.app(scope, receive, noting)


def undeclared(document: dict[str, Any], seen: Seen) -> list[str]:
    problems = []
    for method, path, status, names in sorted(seen, key=str):
        operation = document["paths"].get(path, {}).get(method)
        if operation is None:
            continue  # not in the document: the dashboard, /docs, /metrics
        responses = operation["responses"]
        response = responses.get(status) or responses.get(f"{status[0]}XX")
        if response is None:
            if status not in FRAMEWORK_STATUSES:
                problems.append(f"{method.upper()} {path} answered {status}: not declared")
            continue
        declared = {h.lower() for h in response.get("headers", {})}
        for name in sorted(names - TRANSPORT - declared):
            problems.append(f"{method.upper()} {path} {status} sent {name}: not declared")
    return problems
