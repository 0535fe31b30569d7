"""Bad input, property-based: for every operation in the OpenAPI document that takes a JSON
body or query parameters (so later routes are covered too), Hypothesis breaks one field of a
valid request at a time — wrong JSON types, huge numbers, NaN and Infinity, deep nesting,
unknown enum values, dates and instants at and beyond the edges — and sends raw bodies that are
10 MB, not UTF-8, or nested 100 000 deep. Every answer must be a 4xx problem+json that names
the problem (422: `errors[].loc` points at the field), never a 5xx, and nothing is written."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.pagination import encode_cursor
from tests.care.test_access_matrix import SAMPLE_PATH_VALUES

SETTINGS = settings(max_examples=150, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])
NAN = float("nan")


def _resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _non_null(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    schema = _resolve(doc, schema)
    for member in schema.get("anyOf", []):
        if member.get("type") != "null":
            return _resolve(doc, member)
    return schema


def _url(path: str) -> str:
    values = {"pid": "me", "clinician_id": SAMPLE_PATH_VALUES["session_id"], "code": "ABCDEFGHJK",
              **SAMPLE_PATH_VALUES}
    # Any other identifier: a well-formed UUID of nothing (the answer is then 404 or 422).
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), SAMPLE_PATH_VALUES["session_id"]),
                  path)


def body_operations(app: Any) -> list[tuple[str, str, dict[str, Any], dict[str, Any]]]:
    """(method, path, body schema, a valid example body) for every JSON-body operation."""
    from tests.care.test_access_matrix import SAMPLE_BODIES

    doc = app.openapi()
    out = []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            content = op.get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                continue
            schema = _resolve(doc, content["application/json"]["schema"])
            example = SAMPLE_BODIES.get((method.upper(), path)) or (
                schema.get("examples") or [{}]
            )[0]
            out.append((method.upper(), path, schema, example))
    return out


def bad_values(doc: dict[str, Any], schema: dict[str, Any]) -> list[Any]:
    """Values that the field's schema refuses, whatever else is in the body."""
    s = _non_null(doc, schema)
    t = s.get("type")
    wrong_types = [[], {"a": 1}, [[[[[[[[[[[]]]]]]]]]]]]
    if "enum" in s or "const" in s or (t == "string" and "format" not in s and s.get("maxLength")):
        wrong_types += ["not-a-known-value-\u0000-\u202e-😀"] if "enum" in s or "const" in s else []
    if t == "integer":
        return [*wrong_types, "7", True, 1.5, 10**30, -(10**30), NAN, math.inf, -math.inf, "NaN"]
    if t == "number":
        return [*wrong_types, "7", True, 10**30, -(10**30), 1e308, NAN, math.inf, -math.inf]
    if t == "boolean":
        return [*wrong_types, "true", 1, 0, "yes", None if "anyOf" not in schema else "no"]
    if t == "string":
        extra: list[Any] = [7, 1.5, True]
        if s.get("format") == "date":
            extra += ["2023-02-29", "2026-13-01", "0000-01-01", "10000-01-01", "0", "today"]
        elif s.get("format") == "date-time":
            extra += ["2026-02-30T10:00:00Z", "2026-01-01T10:00:00", "0001-01-01T00:00:00+14:00",
                      "9999-12-31T23:59:59-14:00", "0", 1700000000, "2026-01-01T25:00:00Z"]
        elif s.get("format") == "uuid":
            extra += ["not-a-uuid", "' OR 1=1 --"]
        elif s.get("format") == "email":
            extra += ["no-at-sign", "a@b@c", "' OR 1=1 --@x"]
        if "maxLength" in s:
            extra.append("x" * (s["maxLength"] + 1))
        if "enum" in s or "const" in s:
            extra.append("not-a-known-value")
        return [*wrong_types, *extra]
    if t == "array":
        return ["x", 7, {"a": 1}, [None] * ((s.get("maxItems") or 10_000) + 1)]
    if t == "object" or "properties" in s:
        return ["x", 7, [], True]
    return wrong_types


def mutations(doc: dict[str, Any], schema: dict[str, Any], example: dict[str, Any],
              prefix: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """(path of a field, bad value) pairs, including one level into nested objects."""
    out = []
    for name, prop in schema.get("properties", {}).items():
        for v in bad_values(doc, prop):
            out.append(((*prefix, name), v))
        inner = _non_null(doc, prop)
        if inner.get("properties") and len(prefix) < 2:
            sub = example.get(name) if isinstance(example.get(name), dict) else {}
            out.extend(mutations(doc, inner, sub or {}, (*prefix, name)))
    return out


def _set(body: Any, path: tuple[str, ...], value: Any) -> Any:
    body = json.loads(json.dumps(body))
    node = body
    for key in path[:-1]:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    node[path[-1]] = value
    return body


def assert_named_4xx(r: Any, where: str) -> None:
    assert 400 <= r.status_code < 500, f"{where} -> {r.status_code} {r.text[:300]}"
    assert r.headers["content-type"].startswith("application/problem+json"), where
    problem = r.json()
    assert problem["status"] == r.status_code and problem["detail"], where
    if r.status_code == 422:
        assert problem["errors"] and all(e["loc"] for e in problem["errors"]), where


def nothing_written(client: Any, patient: Any) -> None:
    h = patient.headers
    for url in ("/v1/patients/me/symptom-entries", "/v1/patients/me/exercise-sessions",
                "/v1/patients/me/care-team"):
        r = client.get(url, headers=h)
        assert r.status_code == 200 and r.json()["items"] == [], url
    me = client.get("/v1/patients/me", headers=h).json()
    assert me["display_name"] == "Test Patient" and me["timezone"] == "Europe/London"


@pytest.fixture()
def patient(make_patient):
    return make_patient()


def _send_body(client: Any, patient: Any, method: str, path: str, body: Any) -> Any:
    raw = json.dumps(body, allow_nan=True).encode()  # NaN / Infinity as JSON extensions
    return client.request(method, _url(path), content=raw,
                          headers={**patient.headers, "content-type": "application/json"})


def test_every_body_field_refuses_every_bad_value(app, client, patient):
    """The sweep: every field of every body operation, with every edge value of its type."""
    doc = app.openapi()
    count = 0
    for method, path, schema, example in body_operations(app):
        for field, value in mutations(doc, schema, example):
            r = _send_body(client, patient, method, path, _set(example, field, value))
            where = f"{method} {path} {'.'.join(field)}={value!r:.60}"
            assert_named_4xx(r, where)
            if r.status_code == 422:
                locs = [".".join(map(str, e["loc"])) for e in r.json()["errors"]]
                assert any(loc.startswith("body") for loc in locs), where
            count += 1
    assert count > 300
    nothing_written(client, patient)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=50),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


def test_any_json_value_in_any_field_never_breaks_the_api(app, client, make_patient):
    """The property: whatever JSON value lands in whichever field (or replaces the body), the
    answer is a success or a named 4xx, never a 5xx."""
    doc = app.openapi()
    operations = body_operations(app)
    patient = make_patient()

    @SETTINGS
    @given(st.sampled_from(operations), st.data())
    def run(operation: Any, data: Any) -> None:
        method, path, schema, example = operation
        fields = [f for f, _ in mutations(doc, schema, example)] + [()]
        field = data.draw(st.sampled_from(sorted(set(fields))))
        value = data.draw(JSON_VALUES)
        body = _set(example, field, value) if field else value
        if method == "DELETE" and path == "/v1/patients/{pid}":
            return  # the right password would erase the account that the run signs in with
        r = _send_body(client, patient, method, path, body)
        if r.status_code >= 400:
            assert_named_4xx(r, f"{method} {path} {field}={value!r:.60}")

    run()


RAW_BODIES = {
    "10 MB": b'{"notes": "' + b"x" * 10_000_000 + b'"}',
    "invalid UTF-8": b'{"knees": {"left": {"pain": 1}}, "notes": "\xff\xfe\xc3\x28"}',
    "nested 100000 deep": b"[" * 100_000 + b"]" * 100_000,
    "nested objects": b'{"a":' * 5_000 + b"1" + b"}" * 5_000,
    "not JSON": b"knees=left&pain=3",
    "empty": b"",
    "JSON null": b"null",
    "a bare number": b"1e999999",
    "a huge integer": b'{"knees": {"left": {"pain": 1' + b"0" * 5_000 + b"}}}",
}


@pytest.mark.parametrize("kind", RAW_BODIES)
def test_raw_bodies_are_refused_on_every_operation(app, client, patient, kind):
    for method, path, _, _ in body_operations(app):
        r = client.request(method, _url(path), content=RAW_BODIES[kind],
                           headers={**patient.headers, "content-type": "application/json"})
        assert_named_4xx(r, f"{kind}: {method} {path}")
        if kind == "10 MB":
            assert r.status_code == 413
    nothing_written(client, patient)


def _valid(schema: dict[str, Any]) -> Any:
    if "enum" in schema:
        return schema["enum"][0]
    if schema.get("examples"):
        return schema["examples"][0]
    return {"integer": 1, "number": 1}.get(schema.get("type", ""), "2026-01-05")


def query_operations(app: Any) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(path, a query parameter, valid values for the operation's required ones)."""
    doc = app.openapi()
    out = []
    for path, ops in doc["paths"].items():
        op = ops.get("get", {})
        params = [p for p in op.get("parameters", []) if p["in"] == "query"]
        required = {p["name"]: _valid(p["schema"]) for p in params if p.get("required")}
        out.extend((path, p, required) for p in params)
    return out


def bad_query_values(schema: dict[str, Any], name: str) -> list[str]:
    t = schema.get("type")
    common = ["", " ", "%00", "'; DROP TABLE symptom_entries; --", "\u202e\u0000", "😀" * 50]
    if t == "integer":
        return [*common, "abc", "1.5", "NaN", "Infinity", "1" + "0" * 40, "-" + "1" * 40,
                str(schema.get("minimum", -(10**9)) - 1), str(schema.get("maximum", 10**9) + 1),
                "0x10", "1e3"]
    if schema.get("format") == "date":
        return [*common, "2023-02-29", "2026-13-01", "0000-01-01", "99999-01-01", "0",
                "2026-1-1", "yesterday"]
    if "enum" in schema:
        return [*common, "not-a-known-value", schema["enum"][0].upper()]
    if name != "cursor":  # a free-text filter: any text within its schema is a valid filter
        return ["", "\u202e\u0000", "a\u0000b", "x" * (schema.get("maxLength", 10_000) + 1)]
    cursors = [{}, [], "x", {"k": []}, {"k": "2026-02-30", "i": "x"}, {"k": 5, "i": 1},
               {"k": "2026-01-01T00:00:00", "i": "11111111-1111-4111-8111-111111111111"},
               {"k": "2026-01-01T00:00:00+00:00", "i": 123}, {"k": "2026-01-01", "i": 123}]
    return ["x" * 600, "!!!", "not base64 ~~", *(encode_cursor(c) for c in cursors if c),
            "e30", "W10"]


def test_every_query_parameter_refuses_bad_values(app, client, patient):
    cases = [(path, p["name"], v, base) for path, p, base in query_operations(app)
             for v in bad_query_values(p["schema"], p["name"])]
    assert len(cases) > 50
    for path, name, value, base in cases:
        r = client.get(_url(path), params={**base, name: value}, headers=patient.headers)
        if r.status_code == 200:  # only a value that means "no filter" may pass
            assert value.strip() == "", (path, name, value)
            continue
        assert_named_4xx(r, f"GET {path}?{name}={value!r}")
        if r.status_code == 422:
            assert any(e["loc"][:2] == ["query", name] for e in r.json()["errors"]), (name, r.text)
    nothing_written(client, patient)


@settings(SETTINGS, max_examples=40)  # each example calls every query parameter (~50)
@given(value=st.text(max_size=300))
def test_any_text_in_any_query_parameter_never_breaks_the_api(app, client, patient, value):
    for path, p, base in query_operations(app):
        r = client.get(_url(path), params={**base, p["name"]: value}, headers=patient.headers)
        if r.status_code != 200:
            assert_named_4xx(r, f"GET {path}?{p['name']}={value!r}")


@pytest.mark.parametrize(("date", "status"), [
    # The API's date range is 1900-01-01..2100-12-31 (published in the OpenAPI document);
    # within it, a date after today at UTC+14 is refused too (12:00 UTC = 02:00 next day).
    ("1900-01-01", 201), ("1899-12-31", 422), ("0001-01-01", 422), ("2024-02-29", 201),
    ("2026-03-02", 201), ("2026-03-03", 422), ("2100-12-31", 422),
    ("9999-12-31", 422), ("2023-02-29", 422),
    ("2026-02-30", 422), ("0000-01-01", 422), ("10000-01-01", 422), ("2026-1-5", 422),
    ("20260105", 422), ("0", 422),
])
def test_diary_dates_at_the_edges(client, patient, pinned_now, date, status):
    import datetime as dt

    pinned_now(dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC))
    r = client.put(f"/v1/patients/me/symptom-entries/{date}", headers=patient.headers,
                   json={"knees": {"left": {"pain": 2}}})
    assert r.status_code == status, r.text
    if status == 422:
        assert_named_4xx(r, date)
        assert r.json()["errors"][0]["loc"] == ["path", "entry_date"]
        nothing_written(client, patient)


def test_every_window_refuses_from_after_to(app, client, patient, admin):
    """`from` after `to` is a rule between two parameters that no schema states (the live
    Schemathesis run keeps its valid cases in order: st_hooks.py); every operation taking both
    refuses it, naming `from`."""
    windows = sorted(
        {path for path, p, _ in query_operations(app) if p["name"] == "from"}
        & {path for path, p, _ in query_operations(app) if p["name"] == "to"}
    )
    assert len(windows) >= 10, windows
    for path in windows:
        base = next(b for pth, _, b in query_operations(app) if pth == path)
        url = _url(path.replace("{metric}", "pain"))
        r = client.get(
            url,
            params={**base, "from": "2026-02-01", "to": "2026-01-01"},
            headers=admin.headers if path.startswith("/v1/admin/") else patient.headers,
        )
        assert r.status_code == 422, (path, r.text)
        assert r.json()["errors"][0]["loc"] == ["query", "from"], (path, r.text)
