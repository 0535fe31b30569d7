"""SQL metacharacters and unicode oddities in every string parameter — path, query, body and
headers (If-Match, If-None-Match, X-Request-ID, Authorization) — of every operation in the
OpenAPI document: never a 5xx, never SQL, a driver name or a stack trace in the answer; and a
string stored through the API comes back byte for byte (queries are parameterised)."""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

import pytest

from tests.helpers import entry, session_body

NASTY = [
    "' OR '1'='1",
    "'; DROP TABLE users; --",
    '" OR ""="',
    "1; SELECT pg_sleep(5)--",
    "%' AND 1=0 UNION SELECT email, password_hash FROM users --",
    "\\x00\\'\\\"",
    "\u0000",
    "\u202egnp.exe",  # right-to-left override
    "e\u0301\u0301\u0301",  # combining marks
    "\ufeffBOM",
    "😀👩🏽‍⚕️",
    "\ud800",  # a lone surrogate (not encodable as UTF-8)
    "../../etc/passwd",
    "%00%27%22",
    "${jndi:ldap://x}",
    "<script>alert(1)</script>",
]
LEAKS = re.compile(r"(?i)traceback|sqlalchemy|psycopg|sqlite3?\.|syntax error|"
                   r"\bselect\b.*\bfrom\b|\binsert into\b|\bwhere\b.*=|stack")


def _check(r: Any, where: str) -> None:
    assert r.status_code < 500, f"{where} -> {r.status_code} {r.text[:300]}"
    if r.status_code >= 400:
        assert r.headers["content-type"].startswith("application/problem+json"), where
    if r.status_code < 400:
        return
    # `instance` is the request path (RFC 9457), JSON-encoded: it may hold what was sent.
    text = json.dumps({k: v for k, v in r.json().items() if k != "instance"})
    for probe in ("SELECT", "DROP TABLE", "pg_sleep", "UNION"):
        if probe in text:
            pytest.fail(f"{where}: answer echoes {probe!r}: {text[:300]}")
    assert not LEAKS.search(text), f"{where}: {text[:300]}"


def _operations(app: Any) -> list[tuple[str, str, dict[str, Any]]]:
    doc = app.openapi()
    return [(m.upper(), path, op) for path, ops in doc["paths"].items() for m, op in ops.items()]


def _encode(s: str) -> str:
    return quote(s.encode("utf-8", "surrogatepass"), safe="")


def test_metacharacters_in_every_path_parameter(app, client, make_patient):
    p = make_patient()
    for method, path, _ in _operations(app):
        names = re.findall(r"\{(\w+)\}", path)
        for name in names:
            for value in NASTY:
                url = path
                for other in names:
                    url = url.replace("{" + other + "}", _encode(value) if other == name
                                      else ("me" if other == "pid" else "2026-01-05"))
                r = client.request(method, url, headers=p.headers,
                                   json={} if method in ("PUT", "POST", "PATCH") else None)
                _check(r, f"{method} {path} {name}={value!r}")


def test_metacharacters_in_every_query_parameter(app, client, make_patient):
    p = make_patient()
    for method, path, op in _operations(app):
        url = path.replace("{pid}", "me")
        for param in (q for q in op.get("parameters", []) if q["in"] == "query"):
            for value in NASTY:
                r = client.request(method, f"{url}?{param['name']}={_encode(value)}",
                                   headers=p.headers)
                _check(r, f"{method} {path}?{param['name']}={value!r}")


HEADERS = ["If-Match", "If-None-Match", "X-Request-ID", "Authorization", "Idempotency-Key"]


def test_metacharacters_in_headers(client, make_patient):
    p = make_patient()
    url = "/v1/patients/me/symptom-entries/2026-01-05"
    assert client.put(url, headers=p.headers, json=entry()).status_code == 201
    for header in HEADERS:
        for value in NASTY:
            raw = value.encode("utf-8", "surrogatepass")  # headers travel as bytes
            headers = [(b"authorization", f"Bearer {p.token}".encode())] \
                if header != "Authorization" else []
            headers.append((header.lower().encode(), raw))
            for method in ("GET", "PUT", "DELETE"):
                r = client.request(method, url, headers=dict(headers),
                                   json=entry(4) if method == "PUT" else None)
                _check(r, f"{method} {header}: {value!r}")
                if header == "X-Request-ID":
                    assert r.headers["x-request-id"] != value
    # The entry outlived the DELETEs: no If-Match value above matched its ETag.
    assert client.get(url, headers=p.headers).status_code in (200, 404)


def test_strings_round_trip_unchanged(client, make_patient):
    """What a patient writes is stored as data, never run: every nasty string comes back as
    sent, in a diary note, an exercise note and a display name."""
    p = make_patient()
    storable = [v for v in NASTY if v not in ("\ud800", "\u0000")]
    for i, value in enumerate(storable):
        day = f"2026-01-{i + 1:02d}"
        r = client.put(f"/v1/patients/me/symptom-entries/{day}", headers=p.headers,
                       json=entry(notes=value))
        assert r.status_code == 201, (value, r.text)
        assert client.get(f"/v1/patients/me/symptom-entries/{day}",
                          headers=p.headers).json()["notes"] == value
        r = client.post("/v1/patients/me/exercise-sessions", headers=p.headers,
                        json=session_body(notes=value))
        assert r.status_code == 201 and r.json()["notes"] == value
        r = client.patch("/v1/patients/me", headers=p.headers, json={"display_name": value})
        assert r.status_code == 200 and r.json()["display_name"] == value.strip(), value
    # A NUL cannot be stored in PostgreSQL text, nor a lone surrogate encoded as UTF-8:
    # refused on both databases: 422 in JSON bodies, RFC 6749's invalid_request (400) in the
    # sign-in form.
    for text in ("a\u0000b", "a\ud800b"):
        r = client.put("/v1/patients/me/symptom-entries/2026-02-01",
                       headers={**p.headers, "content-type": "application/json"},
                       content=json.dumps(entry(notes=text)))  # \ud800 as a JSON escape
        assert r.status_code == 422 and r.json()["errors"][0]["loc"][-1] == "notes", r.text
    r = client.post("/v1/auth/token", data={"username": "a\u0000b@example.org",
                                            "password": "x" * 12})
    assert r.status_code == 400 and r.json()["error"] == "invalid_request", r.text
    assert r.json()["errors"][0]["loc"] == ["body", "username"]
    rows = client.get("/v1/patients/me/symptom-entries", headers=p.headers).json()["items"]
    assert len(rows) == len(storable)
