"""CORS when origins are configured: exactly those origins may read answers and send the
API's request headers; others get nothing; credentials are never allowed."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

ALLOWED = "https://app.example.org"


@pytest.fixture()
def cors_client(app: Any, monkeypatch: pytest.MonkeyPatch):
    from app.config import get_settings
    from app.main import create_app

    monkeypatch.setenv("KNEETRACK_CORS_ORIGINS", f'["{ALLOWED}"]')
    get_settings.cache_clear()
    try:
        with TestClient(create_app(), raise_server_exceptions=False) as c:
            yield c
    finally:
        monkeypatch.delenv("KNEETRACK_CORS_ORIGINS")
        get_settings.cache_clear()


def test_allowed_origin_may_call_and_read(cors_client, make_patient):
    p = make_patient()
    r = cors_client.get("/v1/patients/me", headers={**p.headers, "Origin": ALLOWED})
    assert r.status_code == 200
    assert r.headers["access-control-allow-origin"] == ALLOWED
    assert "access-control-allow-credentials" not in r.headers
    assert "ETag" in r.headers["access-control-expose-headers"]
    pre = cors_client.options("/v1/patients/me/symptom-entries/2026-01-05", headers={
        "Origin": ALLOWED, "Access-Control-Request-Method": "PUT",
        "Access-Control-Request-Headers": "authorization, if-match, content-type"})
    assert pre.status_code == 200
    assert pre.headers["access-control-allow-origin"] == ALLOWED
    assert "PUT" in pre.headers["access-control-allow-methods"]
    assert pre.headers["x-content-type-options"] == "nosniff"


def test_other_origins_get_nothing(cors_client, make_patient):
    p = make_patient()
    r = cors_client.get("/v1/patients/me", headers={**p.headers, "Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in r.headers
    pre = cors_client.options("/v1/patients/me", headers={
        "Origin": "https://evil.example", "Access-Control-Request-Method": "GET"})
    assert pre.status_code == 400
    assert "access-control-allow-origin" not in pre.headers
