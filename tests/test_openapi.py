"""The OpenAPI document is a contract with integrators: stable, complete and committed."""

from __future__ import annotations

import json
import re

import pytest
from pydantic import BaseModel

from app.main import iter_api_routes
from app.openapi import DOCUMENT, render

ERROR = re.compile(r"^[45]\d\d$")


@pytest.fixture(scope="module")
def schema(app):
    return app.openapi()


def _operations(schema):
    for path, ops in schema["paths"].items():
        for method, op in ops.items():
            yield method.upper(), path, op


def test_committed_openapi_json_is_current(app):
    committed = DOCUMENT.read_text(encoding="utf-8") if DOCUMENT.exists() else ""
    assert committed == render(app), (
        "openapi.json is out of date with the code: run `make openapi` and commit the result")


def test_operation_ids_are_tag_and_function_name(app, schema):
    names = {(m, r.path): r.name for r in iter_api_routes(app.routes) for m in r.methods}
    ids = [op["operationId"] for _, _, op in _operations(schema)]
    assert len(ids) == len(set(ids))
    for method, path, op in _operations(schema):
        assert op["operationId"] == f"{op['tags'][0]}-{names[(method, path)]}".replace("_", "-")


def test_every_operation_has_a_summary_and_a_declared_tag(schema):
    declared = {t["name"] for t in schema["tags"]}
    for method, path, op in _operations(schema):
        assert op.get("summary"), f"{method} {path} has no summary"
        # More than the summary: who may call it and what to handle (Spectral checks it too).
        assert len(op.get("description") or "") > len(op["summary"]), f"{method} {path}"
        assert len(op["tags"]) == 1 and op["tags"][0] in declared, f"{method} {path}"
        for tag in schema["tags"]:
            assert tag.get("description"), tag["name"]


def test_errors_are_problem_json(schema):
    for method, path, op in _operations(schema):
        for status, response in op["responses"].items():
            if not ERROR.match(status) or "content" not in response:
                continue
            assert list(response["content"]) == ["application/problem+json"], (
                f"{method} {path} {status}")
            ref = response["content"]["application/problem+json"]["schema"]["$ref"]
            # The token endpoint's 400 is a problem with RFC 6749's members added.
            own = (method, path, status) == ("POST", "/v1/auth/token", "400")
            assert ref == f"#/components/schemas/{'TokenError' if own else 'Problem'}"
    problem = schema["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "instance", "errors"} <= set(problem["properties"])
    assert "HTTPValidationError" not in schema["components"]["schemas"]


def test_every_request_body_has_a_valid_example(app, schema):
    bodies = {}
    for route in iter_api_routes(app.routes):
        field = route.body_field
        if field is not None:
            for m in route.methods:
                bodies[(m, route.path)] = field.field_info.annotation
    checked = 0
    for method, path, op in _operations(schema):
        for media_type, media in op.get("requestBody", {}).get("content", {}).items():
            example = media.get("example")
            assert example is not None, f"{method} {path} ({media_type}) has no example"
            model = bodies.get((method, path))
            if isinstance(model, type) and issubclass(model, BaseModel):
                model.model_validate(example)  # the example is a valid body
                checked += 1
    assert checked >= 8


def test_security_schemes_and_protected_operations(schema):
    schemes = schema["components"]["securitySchemes"]
    # OAuth2's password flow (RFC 6749), its token and refresh at the token endpoint.
    bearer = [n for n, s in schemes.items() if s.get("type") == "oauth2"]
    assert bearer
    flow = schemes[bearer[0]]["flows"]["password"]
    assert flow["tokenUrl"] == flow["refreshUrl"] == "/v1/auth/token"
    assert "X-API-Key" in {s.get("name") for s in schemes.values()}
    for method, path, op in _operations(schema):
        if path.startswith("/v1/patients/") or path.startswith("/v1/admin/"):
            names = {n for req in op.get("security", []) for n in req}
            assert set(bearer) & names, f"{method} {path} declares no security"


def test_document_is_valid_json_with_stable_key_order():
    data = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    assert data["openapi"].startswith("3.")
    assert list(data)[:4] == ["openapi", "info", "servers", "paths"]
