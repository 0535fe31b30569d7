"""OpenAPI pieces shared by every router, and the finishing of the document.

Errors are declared once (`PROBLEM_RESPONSES`) and rendered as `application/problem+json`
with the `Problem` schema. `openapi.json` at the repository root is this document, committed
so that integrators can diff it between releases; `kneetrack openapi` (`make openapi`)
regenerates it and a test fails when it is stale.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from app.errors import PROBLEM_JSON, Problem
from app.openapi_answers import require_what_is_sent
from app.openapi_descriptions import describe
from app.schemas import COMPONENT, TIMEZONE_SCHEMA

_PROBLEM = {"model": Problem, "content": {PROBLEM_JSON: {}}}

PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {**_PROBLEM, "description": "Missing or invalid credentials"},
    403: {**_PROBLEM, "description": "Authenticated, but not allowed (role or API key scope)"},
    404: {**_PROBLEM, "description": "Not found, or not yours to see (indistinguishable)"},
    422: {**_PROBLEM, "description": "Invalid input; `errors` names each field"},
    429: {**_PROBLEM, "description": "Rate limited; retry after `Retry-After` seconds"},
    503: {
        **_PROBLEM,
        "description": "Database unavailable, or every password-hashing slot busy; retry "
        "after `Retry-After` seconds",
    },
}

RATE_LIMITED: dict[int | str, dict[str, Any]] = {429: PROBLEM_RESPONSES[429]}

CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {**_PROBLEM, "description": "Conflicts with the current state (e.g. the email is taken)"}
}
PAYLOAD_TOO_LARGE: dict[str, Any] = {
    "description": "The request body is larger than the configured limit",
}

ETAG_HEADER = {
    "ETag": {
        "description": "The version of the record, for `If-Match` / `If-None-Match`",
        "schema": {"type": "string"},
        "required": True,
    }
}
LOCATION_HEADER = {
    "Location": {
        "description": "The URL of the created record",
        "schema": {"type": "string"},
        "required": True,
    }
}


def link(operation_id: str, description: str, parameters: dict[str, str]) -> dict[str, Any]:
    """An OpenAPI link to `operation_id`; parameter names are qualified by their location
    (`path.pid`, `header.if-match`), as the specification allows when names could clash.
    tests/proof/test_conformance.py checks that every link names a real operation and
    real parameters of it."""
    return {"operationId": operation_id, "description": description, "parameters": parameters}


# Problem schemas with extension members, kept where a route declares them.
OWN_PROBLEM_SCHEMAS = frozenset({"TokenError"})
DESCRIPTION = (
    "KneeTrack's API for people with knee osteoarthritis, their apps, their clinicians and the "
    "systems around them: a daily diary per knee, exercise sessions and plans, questionnaires, "
    "treatments and function tests; trends judged by clinically important change, flag "
    "episodes a clinician reviews, exports as CSV and FHIR R4, and offline sync. Sign in with "
    "OAuth2 (`POST /v1/auth/token`) or use an API key. Errors are RFC 9457 problems. It "
    "describes what patients record; it gives no medical advice."
)
CONTACT = {"name": "KneeTrack maintainers", "url": "https://kneetrack.dev"}
LICENSE = {"name": "Apache-2.0", "identifier": "Apache-2.0"}
# Relative: the document is served by the API it describes, at its root.
SERVERS = [{"url": "/", "description": "The server that serves this document"}]


def _header(description: str, **schema: Any) -> dict[str, Any]:
    return {"description": description, "schema": schema or {"type": "string"}}


# Headers a client acts on, declared once and referenced from each response that sends them.
# Every response also carries the security headers (Content-Security-Policy,
# Strict-Transport-Security, X-Content-Type-Options, X-Frame-Options, Referrer-Policy,
# Cross-Origin-Resource-Policy) and Cache-Control: the document's description says so.
HEADERS: dict[str, dict[str, Any]] = {
    "X-Request-ID": _header(
        "This request's id (the one sent in `X-Request-ID`, when valid, else a new one); "
        "quote it when reporting a problem"
    ),
    "Retry-After": _header("Seconds to wait before retrying", type="integer", minimum=0),
    "Idempotent-Replayed": _header(
        "`true` when this is the stored answer to an earlier request with the same "
        "`Idempotency-Key` (nothing was written again)",
        type="string",
        enum=["true"],
    ),
    "Content-Disposition": _header("`attachment` with the file name of the download"),
    "WWW-Authenticate": _header("`Bearer` (RFC 6750): the credentials to send"),
    "ETag": _header("The version of the record, for `If-Match` / `If-None-Match`"),
}
INTERNAL_ERROR = {
    "description": "An unexpected error (a bug): a problem without details; quote its "
    "`X-Request-ID` when reporting it. Nothing the request wrote is kept",
}
IDEMPOTENCY_IN_FLIGHT = {
    "description": "Conflict: the email or record already exists, or (problem type "
    "`idempotency-key-in-flight`, with `Retry-After`) a request with this `Idempotency-Key` is "
    "still being processed",
}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/headers/{name}"}


def _declare_headers(schema: dict[str, Any]) -> None:
    """Declare on each response the headers the server sends with it (tests/test_headers.py
    compares them with what the suite's requests got)."""
    schema.setdefault("components", {})["headers"] = HEADERS
    for operations in schema.get("paths", {}).values():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                if method == "get" and parameter.get("name", "").lower() == "if-none-match":
                    parameter["description"] = (
                        "An ETag you hold: 304 Not Modified, without a body, while it is current"
                    )
            idempotent = any(
                p.get("name") == "Idempotency-Key" for p in operation.get("parameters", [])
            )
            responses = operation.setdefault("responses", {})
            if idempotent:
                responses["409"] = {**IDEMPOTENCY_IN_FLIGHT, "content": {PROBLEM_JSON: {}}}
            if "requestBody" in operation:
                responses.setdefault("413", {**PAYLOAD_TOO_LARGE})
            responses.setdefault("500", {**INTERNAL_ERROR, "content": {PROBLEM_JSON: {}}})
            for status, response in responses.items():
                headers = response.setdefault("headers", {})
                headers["X-Request-ID"] = _ref("X-Request-ID")
                if status in ("429", "503") or (status == "409" and idempotent):
                    headers["Retry-After"] = _ref("Retry-After")
                if status == "401":
                    headers["WWW-Authenticate"] = _ref("WWW-Authenticate")
                if status == "304":
                    headers["ETag"] = _ref("ETag")
                if idempotent and status.startswith("2"):
                    headers["Idempotent-Replayed"] = _ref("Idempotent-Replayed")
            if operation.get("operationId", "").startswith("exports-"):
                responses["200"]["headers"]["Content-Disposition"] = _ref("Content-Disposition")
                # Sent as text/csv or application/fhir+json only (FastAPI adds JSON for a model).
                content = responses["200"].get("content", {})
                if len(content) > 1:
                    content.pop("application/json", None)


BEARER_SCHEME = {
    "type": "http",
    "scheme": "bearer",
    "bearerFormat": "JWT",
    "description": "The access token from `POST /v1/auth/token` (the `OAuth2` scheme's token), "
    "as `Authorization: Bearer <token>`: the same credential, for tools that read HTTP schemes",
}


def _bearer_beside_oauth2(schema: dict[str, Any]) -> None:
    """Declare the bearer token also as an HTTP `bearer` scheme wherever `OAuth2` is accepted:
    tools that set or strip credentials (Schemathesis' authentication checks, some client
    generators) know where an HTTP scheme's credential goes, not an OAuth2 flow's."""
    schemes = schema.get("components", {}).get("securitySchemes", {})
    if "OAuth2" not in schemes:
        return
    schemes["HTTPBearer"] = BEARER_SCHEME
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            security = operation.get("security", [])
            if {"OAuth2": []} in security:
                security.insert(security.index({"OAuth2": []}) + 1, {"HTTPBearer": []})


def _hoist_item_models(schema: dict[str, Any]) -> None:
    """A list of items checked one by one (`SkipValidation`, the sync call) is generated with
    its item model inline: point it at the model's component instead, so that clients get one
    named type."""
    components = schema.get("components", {}).get("schemas", {})
    for model in components.values():
        for prop in model.get("properties", {}).values():
            title = prop.get("items", {}).get("title")
            if title in components and "$ref" not in prop["items"]:
                prop["items"] = {"$ref": f"#/components/schemas/{title}"}


def postprocess_openapi(schema: dict[str, Any]) -> dict[str, Any]:
    """Corrects the generated document where FastAPI's output would mislead a client or a
    conformance tester: problem responses carry the Problem schema under
    `application/problem+json` only (they are never sent as `application/json`), and every
    operation that takes a body declares the 413 that `KNEETRACK_MAX_BODY_BYTES` produces, and
    optional parameters are not offered as `null` (a parameter is absent or has a value; a
    tester would otherwise send the string "null"). Idempotent."""
    problem_ref = {"$ref": "#/components/schemas/Problem"}
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                _not_nullable(parameter.get("schema", {}))
            responses = operation.setdefault("responses", {})
            if "requestBody" in operation:
                responses.setdefault("413", {**PAYLOAD_TOO_LARGE})
            for status, response in responses.items():
                content = response.get("content")
                if status in ("413", "503") or (content and PROBLEM_JSON in content):
                    # A route may declare a problem with members of its own (the token
                    # endpoint's RFC 6749 error); every other problem is the Problem schema.
                    own = ((content or {}).get(PROBLEM_JSON) or {}).get("schema", {})
                    keep = own.get("$ref", "").rsplit("/", 1)[-1] in OWN_PROBLEM_SCHEMAS
                    response["content"] = {PROBLEM_JSON: {"schema": own if keep else problem_ref}}
    return schema


def _not_nullable(schema: dict[str, Any]) -> None:
    members = schema.get("anyOf")
    if not members or {"type": "null"} not in members:
        return
    rest = [m for m in members if m != {"type": "null"}]
    if len(rest) == 1:
        del schema["anyOf"]
        schema.update(rest[0])
        if schema.get("default", 0) is None:
            del schema["default"]


DOCUMENT = Path(__file__).resolve().parent.parent / "openapi.json"


def _problem_content(response: dict[str, Any]) -> None:
    """FastAPI puts a response `model` under application/json; errors are problem+json."""
    content = response.get("content") or {}
    if PROBLEM_JSON in content:
        schema = content.pop("application/json", {}).get("schema") or {
            "$ref": "#/components/schemas/Problem"
        }
        content[PROBLEM_JSON] = {"schema": schema}


def _body_example(operation: dict[str, Any], schemas: dict[str, Any]) -> None:
    """Show each request body's first schema example on the body itself (Swagger UI, client
    generators and mock servers read it there)."""
    for media in (operation.get("requestBody") or {}).get("content", {}).values():
        if "example" in media or "examples" in media:
            continue
        ref = media.get("schema", {}).get("$ref", "")
        examples = schemas.get(ref.rsplit("/", 1)[-1], {}).get("examples")
        if examples:
            media["example"] = examples[0]


def _lift_components(node: Any, schemas: dict[str, Any]) -> None:
    """Schemas marked with COMPONENT become named components (client generators name their
    classes after them; an inline object in a `oneOf` gets a generated, clashing name). A mark
    naming a component the document already holds (TimeZone, written from tzdata) only refers
    to it: what pydantic wrote around the mark is a stand-in."""
    if isinstance(node, dict):
        for key, value in list(node.items()):
            if isinstance(value, dict) and COMPONENT in value:
                name = value.pop(COMPONENT)
                schemas.setdefault(name, {"title": name, **value})
                node[key] = {"$ref": f"#/components/schemas/{name}"}
            _lift_components(value, schemas)
    elif isinstance(node, list):
        for item in node:
            _lift_components(item, schemas)


def build_openapi(app: FastAPI) -> dict[str, Any]:
    schema = get_openapi(
        title=app.title,
        version=app.version,
        summary=app.summary,
        description=app.description or DESCRIPTION,
        routes=app.routes,
        tags=app.openapi_tags,
        servers=SERVERS,
        contact=CONTACT,
        license_info=LICENSE,
    )
    schemas = schema.get("components", {}).get("schemas", {})
    for path in schema.get("paths", {}).values():
        for operation in path.values():
            for response in operation.get("responses", {}).values():
                _problem_content(response)
            _body_example(operation, schemas)
            # A route without a credential says so: no security, rather than none declared.
            operation.setdefault("security", [])
    # The time zone names, listed once for every field that takes one (app/schemas.py).
    schemas["TimeZone"] = TIMEZONE_SCHEMA
    _lift_components(list(schemas.values()), schemas)
    describe(schema)
    _declare_headers(schema)
    _hoist_item_models(schema)
    _bearer_beside_oauth2(schema)
    require_what_is_sent(schema)
    return postprocess_openapi(schema)


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = build_openapi(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def render(app: FastAPI) -> str:
    return json.dumps(app.openapi(), indent=2, ensure_ascii=False) + "\n"
