from __future__ import annotations

import logging

import pytest

from tests.helpers import assert_problem, entry


def test_health_and_readiness(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json() == {"status": "ready"}


def test_request_id_on_every_response(client):
    r = client.get("/healthz")
    assert len(r.headers["X-Request-ID"]) >= 16
    r = client.get("/nope", headers={"X-Request-ID": "client-chosen-id-123"})
    assert r.headers["X-Request-ID"] == "client-chosen-id-123"
    assert_problem(r, 404)
    # A malformed incoming id is replaced, not echoed.
    r = client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert r.headers["X-Request-ID"] != "bad id\twith spaces"


def test_security_and_cache_headers(client, make_patient):
    p = make_patient()
    r = client.get("/v1/patients/me", headers=p.headers)
    assert r.headers["Cache-Control"] == "no-store"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert "server" not in {k.lower() for k in r.headers}


def test_body_over_limit_is_413(client, make_patient):
    p = make_patient()
    big = {"knees": {"left": {"pain": 1}}, "notes": "x" * 2_000_000}
    r = client.put("/v1/patients/me/symptom-entries/2026-01-05", headers=p.headers, json=big)
    assert_problem(r, 413)


def test_method_not_allowed_is_problem(client):
    assert_problem(client.delete("/healthz"), 405)


def test_logs_carry_no_health_data(client, make_patient, caplog):
    p = make_patient()
    secret_note = "NOTE-7f3a-my-private-symptom-text"
    with caplog.at_level(logging.DEBUG):
        client.put("/v1/patients/me/symptom-entries/2026-01-05", headers=p.headers,
                   json=entry(9, notes=secret_note))
        client.put("/v1/patients/me/symptom-entries/2026-01-06", headers=p.headers,
                   json=entry(99, notes=secret_note))  # invalid: the 422 must not echo it
    text = "\n".join(str(r.getMessage()) + str(r.__dict__) for r in caplog.records)
    assert "request" in text
    assert secret_note not in text
    assert p.id not in text and "2026-01-05" not in text


def test_validation_error_does_not_echo_values(client, make_patient):
    p = make_patient()
    r = client.put("/v1/patients/me/symptom-entries/2026-01-05", headers=p.headers,
                   json=entry(99, notes="PRIVATE"))
    assert "PRIVATE" not in r.text and "99" not in r.text


def test_production_refuses_default_secret(monkeypatch):
    from pydantic import ValidationError

    from app.config import Settings

    monkeypatch.setenv("KNEETRACK_ENVIRONMENT", "production")
    monkeypatch.delenv("KNEETRACK_SECRET_KEY", raising=False)
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(_env_file=None)
    monkeypatch.setenv("KNEETRACK_SECRET_KEY", "s" * 40)
    assert Settings(_env_file=None).environment == "production"


def test_production_server_will_not_start_with_default_secret(tmp_path):
    import os
    import subprocess
    import sys

    env = {**os.environ, "KNEETRACK_ENVIRONMENT": "production",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    env.pop("KNEETRACK_SECRET_KEY", None)
    proc = subprocess.run([sys.executable, "-m", "app.cli", "serve", "--port", "0"],
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "SECRET_KEY" in proc.stderr


def test_chunked_body_over_limit_is_413(client, make_patient):
    """A body sent without Content-Length (chunked) is measured while it is read."""
    p = make_patient()

    def chunks():
        piece = b'{"notes": "' + b"x" * 65536
        yield piece
        for _ in range(20):
            yield b"x" * 65536
        yield b'"}'

    r = client.put("/v1/patients/me/symptom-entries/2026-01-05",
                   headers={**p.headers, "Content-Type": "application/json"}, content=chunks())
    assert "content-length" not in {k.lower() for k in r.request.headers}
    assert_problem(r, 413)


def test_uvicorn_app_main_refuses_default_secret_in_production(tmp_path):
    """Started as `uvicorn app.main:app` directly, not through the CLI, it refuses too."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "KNEETRACK_ENVIRONMENT": "production",
           "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    env.pop("KNEETRACK_SECRET_KEY", None)
    proc = subprocess.run([sys.executable, "-m", "uvicorn", "app.main:app", "--port", "0"],
                          env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode != 0
    assert "SECRET_KEY" in proc.stderr


def test_405_allow_lists_every_method_of_the_path(client, make_patient):
    p = make_patient()
    r = client.put("/v1/patients/me", headers=p.headers, json={})
    assert_problem(r, 405)
    assert r.headers["Allow"] == "DELETE, GET, PATCH"


def test_undecodable_body_is_422_naming_the_body(client, make_patient):
    p = make_patient()
    r = client.put("/v1/patients/me/symptom-entries/2026-01-05", content=b'{"notes": "\xff"}',
                   headers={**p.headers, "content-type": "application/json"})
    body = assert_problem(r, 422)
    assert body["errors"][0]["loc"] == ["body"]
