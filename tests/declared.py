"""What the server sends, held against what the OpenAPI document declares.

The suite's shared client (`client` in tests/conftest.py) goes through `Recorder`, which notes
each answer's operation (method and route template), status and header names. When the
session's client closes, every status an operation answered must be declared for it, and
every header it sent must be declared on that response, except the ones every response
carries (listed in the document's description and in TRANSPORT below). Every JSON body must
be valid against the schema declared for its status and media type (JSON Schema 2020-12, with
jsonschema-rs): a member the document calls required that an answer leaves out, a wrong type or
a value outside a declared enum fails the session."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import jsonschema_rs

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


class Bodies:
    """Validates JSON answers against the schema the document declares for them."""

    def __init__(self, document: Callable[[], dict[str, Any]]) -> None:
        self.document = document
        self.validators: dict[tuple[str, str, str, str], Any] = {}
        self.problems: set[str] = set()

    def _validator(self, method: str, path: str, status: str, media: str) -> Any:
        key = (method, path, status, media)
        if key not in self.validators:
            doc = self.document()
            operation = doc["paths"].get(path, {}).get(method) or {}
            responses = operation.get("responses", {})
            response = responses.get(status) or responses.get(f"{status[0]}XX") or {}
            schema = (response.get("content") or {}).get(media, {}).get("schema")
            self.validators[key] = schema and jsonschema_rs.Draft202012Validator(
                {**schema, "components": doc.get("components", {})})
        return self.validators[key]

    def check(self, method: str, path: str, status: str, media: str, body: bytes) -> None:
        validator = self._validator(method, path, status, media)
        if not validator or not body:
            return
        instance = json.loads(body)
        if validator.is_valid(instance):  # the common case, without building error objects
            return
        for error in validator.iter_errors(instance):
            where = "/".join(str(p) for p in error.instance_path)
            self.problems.add(f"{method.upper()} {path} {status} body at /{where}: "
                              f"{error.message[:200]}")


class Recorder:
    def __init__(self, app: Any, seen: Seen, bodies: Bodies | None = None) -> None:
        self.app, self.seen, self.bodies = app, seen, bodies

    async def __call__(
        self, scope: Scope, receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        answer: dict[str, Any] = {"chunks": []}

        async def noting(message: Message) -> None:
            if message["type"] == "http.response.start":
                path = getattr(scope.get("route"), "path", None)
                if path is not None:
                    headers = {k.decode("latin-1").lower(): v.decode("latin-1")
                               for k, v in message["headers"]}
                    names = frozenset(headers)
                    self.seen.add((scope["method"].lower(), path, str(message["status"]), names))
                    media = headers.get("content-type", "").split(";")[0].strip()
                    if media in ("application/json", "application/problem+json"):
                        answer.update(path=path, status=str(message["status"]), media=media)
            elif message["type"] == "http.response.body" and "media" in answer:
                answer["chunks"].append(message.get("body", b""))
                if not message.get("more_body") and self.bodies is not None:
                    self.bodies.check(scope["method"].lower(), answer["path"], answer["status"],
                                      answer["media"], b"".join(answer["chunks"]))
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
