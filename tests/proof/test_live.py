"""Proofs against a live uvicorn on loopback (`kneetrack serve`, as deployed): the Schemathesis
command line over the whole OpenAPI document with every check, signed in as a clinician (every
phase: examples, coverage, fuzzing, stateful), as a patient and as an admin (all but coverage);
and the headers every response must carry. Marked `live`; CI runs them with the rest of the
suite."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import entry
from tests.proof.conftest import clinician_over_http, register_over_http

pytestmark = pytest.mark.live

CONFIG = Path(__file__).with_name("schemathesis.toml")
ROOT = Path(__file__).resolve().parents[2]
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


# The operations a role may not call at all answer it only 401/403 (admin's routes, a
# clinician's, the patient's own account …); a broken sign-in leaves every operation there
# (66 when it was checked) and proves nothing. The bounds hold what each role showed.
ONLY_REFUSED_AT_MOST = {"clinician": 8, "patient": 16, "admin": 40}
# The coverage phase (boundaries and negative variants of every parameter: ~55 s, two thirds
# of a run) mostly exercises the validation layer, which is the same whoever signs in: it runs
# as the clinician; the patient and the admin run the other three phases.
PHASES = {"clinician": [], "patient": ["--phases", "examples,fuzzing,stateful"],
          "admin": ["--phases", "examples,fuzzing,stateful"]}


@pytest.mark.parametrize("role", ["clinician", "patient", "admin"])
def test_schemathesis_cli_against_live_server(backend, live_server, admin, tmp_path, role):
    if backend == "sqlite" and os.environ.get("TEST_DATABASE_URL"):
        # One live run per suite, on the production database when there is one: the
        # in-process conformance run (test_conformance.py) covers both databases already.
        pytest.skip("the live run goes against PostgreSQL when TEST_DATABASE_URL is set")
    clinician = clinician_over_http(live_server, admin)
    patient = register_over_http(live_server)
    # The clinician is on a care team, so that reads of `{pid}` routes reach real data.
    code = httpx.post(f"{live_server}/v1/invitations", headers=clinician.headers).json()["code"]
    assert httpx.post(f"{live_server}/v1/invitations/{code}/accept",
                      headers=patient.headers).status_code == 200
    # An admin of its own: the run signs out everywhere and changes passwords, which must not
    # end the sessions of the suite's shared admin.
    account = {"clinician": clinician, "patient": patient}.get(role) or _own_admin()
    env = {**os.environ, "KNEETRACK_PROOF_USERNAME": account.email,
           "KNEETRACK_PROOF_PASSWORD": account.password,
           # Dates inside the published range, as for the in-process runs.
           "SCHEMATHESIS_HOOKS": "tests.proof.st_hooks", "PYTHONPATH": str(ROOT)}
    out = tmp_path / "schemathesis.txt"
    with out.open("w") as fh:
        proc = subprocess.run(
            [str(SCHEMATHESIS), "--config-file", str(CONFIG), "run",
             f"{live_server}/openapi.json", "--no-color", "--wait-for-schema", "30",
             "--report", "junit", "--report-dir", str(tmp_path), *PHASES[role]],
            env=env, stdout=fh, stderr=subprocess.STDOUT, timeout=900, check=False)
    text = out.read_text()
    assert proc.returncode == 0, text
    assert "Operations:       " in text and "Tested: " in text
    assert "Server error" not in text
    failed = re.search(r"Authentication failed: (\d+) operations", text)
    refused_only = int(failed.group(1)) if failed else 0
    assert refused_only <= ONLY_REFUSED_AT_MOST[role], text


def _own_admin() -> Any:
    from sqlmodel import Session

    from app.auth.service import create_user
    from app.db import get_engine
    from tests.conftest import PASSWORD, Account

    email = f"live-admin-{uuid.uuid4().hex[:12]}@example.org"
    with Session(get_engine()) as s:
        user = create_user(s, email=email, password=PASSWORD, role="admin", display_name="A")
        s.commit()
        return Account(id=str(user.id), email=email, role="admin", token="", refresh_token="")


# --- headers -------------------------------------------------------------------------------

SECURITY = {
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cache-control": "no-store",
}


def _responses(base: str) -> dict[str, httpx.Response]:
    p = register_over_http(base)
    h = p.headers
    return {
        "health": httpx.get(f"{base}/healthz"),
        "openapi": httpx.get(f"{base}/openapi.json"),
        "docs": httpx.get(f"{base}/docs"),
        "profile": httpx.get(f"{base}/v1/patients/me", headers=h),
        "created": httpx.put(f"{base}/v1/patients/me/symptom-entries/2026-01-05", headers=h,
                             json=entry()),
        "list": httpx.get(f"{base}/v1/patients/me/symptom-entries", headers=h),
        "401": httpx.get(f"{base}/v1/patients/me"),
        "404": httpx.get(f"{base}/no/such/route"),
        "405": httpx.delete(f"{base}/healthz"),
        "413": httpx.put(f"{base}/v1/patients/me/symptom-entries/2026-01-05", headers=h,
                         content=b"{" + b" " * 2_000_000 + b"}"),
        "422": httpx.put(f"{base}/v1/patients/me/symptom-entries/2026-01-05", headers=h,
                         json={"knees": "x"}),
    }


def test_security_headers_on_every_response(live_server):
    for name, r in _responses(live_server).items():
        for header, value in SECURITY.items():
            assert r.headers.get(header) == value, (name, header, r.headers.get(header))
        assert "max-age=" in r.headers["strict-transport-security"], name
        csp = r.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in csp, name
        if name != "docs":
            assert csp.startswith("default-src 'none'"), name
        assert len(r.headers["x-request-id"]) >= 16, name


def test_no_server_version_leak(live_server):
    for name, r in _responses(live_server).items():
        assert "server" not in r.headers, (name, r.headers.get("server"))
        assert "x-powered-by" not in r.headers, name
        assert "uvicorn" not in r.text.lower() or name in ("openapi", "docs"), name


def test_errors_are_problem_json_with_no_internals(live_server):
    for name, r in _responses(live_server).items():
        if r.status_code < 400:
            continue
        assert r.headers["content-type"].startswith("application/problem+json"), name
        body = r.json()
        assert body["status"] == r.status_code, name
        assert "Traceback" not in r.text and "sqlalchemy" not in r.text.lower(), name


def test_cors_denies_other_origins_by_default(live_server):
    """No origin is configured: a browser page elsewhere may not read any answer."""
    p = register_over_http(live_server)
    origin = {"Origin": "https://evil.example"}
    r = httpx.get(f"{live_server}/v1/patients/me", headers={**p.headers, **origin})
    assert r.status_code == 200
    assert "access-control-allow-origin" not in r.headers
    pre = httpx.options(f"{live_server}/v1/patients/me", headers={
        **origin, "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "authorization"})
    assert "access-control-allow-origin" not in pre.headers
    assert pre.status_code >= 400
