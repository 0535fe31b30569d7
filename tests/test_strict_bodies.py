"""SPEC §3 "Unknown JSON fields → 422", for every JSON request body: every object schema a body
can reach forbids additional properties, and a live call with an extra field answers 422."""

from __future__ import annotations

from typing import Any


def _objects(doc: dict[str, Any], schema: dict[str, Any], seen: set[str]) -> list[tuple[str, Any]]:
    out = []
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        if name in seen:
            return []
        seen.add(name)
        target = doc["components"]["schemas"][name]
        if target.get("type") == "object" and "properties" in target:
            out.append((name, target))
        return out + _objects(doc, target, seen)
    for value in schema.values():
        if isinstance(value, dict):
            out += _objects(doc, value, seen)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, dict):
                    out += _objects(doc, item, seen)
    return out


def test_every_json_body_forbids_unknown_fields(client):
    doc = client.get("/openapi.json").json()
    lax, bodies = [], 0
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            content = op.get("requestBody", {}).get("content", {})
            if "application/json" not in content:
                continue
            bodies += 1
            for name, schema in _objects(doc, content["application/json"]["schema"], set()):
                if schema.get("additionalProperties") is not False:
                    lax.append(f"{method.upper()} {path}: {name}")
    assert bodies >= 15
    assert lax == []


def test_an_unknown_field_answers_422_naming_it(client, make_patient):
    p = make_patient()
    r = client.patch("/v1/patients/me", headers=p.headers, json={"timezon": "Europe/Paris"})
    assert r.status_code == 422
    assert ["body", "timezon"] in [e["loc"] for e in r.json()["errors"]]
