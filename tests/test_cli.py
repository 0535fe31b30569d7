"""SPEC §6: the `kneetrack` command — `migrate`, `create-admin`, `demo` and `serve` — on a fresh
SQLite file, end to end: the admin and the demo clinician sign in to the served API."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.helpers import free_port, wait_until_ready

ROOT = Path(__file__).resolve().parent.parent


def _kneetrack(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "app.cli", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_migrate_create_admin_demo_and_serve(tmp_path):
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}",
           "KNEETRACK_LOG_LEVEL": "WARNING"}
    assert _kneetrack(env, "migrate").returncode == 0
    made = _kneetrack(env, "create-admin", "--email", "root@example.org",
                      "--password", "a-long-admin-password")
    assert made.returncode == 0, made.stderr
    assert made.stdout.startswith("admin created:")
    again = _kneetrack(env, "create-admin", "--email", "root@example.org",
                       "--password", "a-long-admin-password")
    assert again.returncode != 0
    short = _kneetrack(env, "create-admin", "--email", "x@example.org", "--password", "short")
    assert short.returncode == 2
    demo = _kneetrack(env, "demo")
    assert demo.returncode == 0, demo.stderr
    assert "clinician@demo.kneetrack.dev" in demo.stdout
    port = free_port()
    log_file = (tmp_path / "serve.log").open("w")
    server = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
                              env={**env, "KNEETRACK_LOG_LEVEL": "INFO"}, cwd=ROOT,
                              stdout=log_file, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_ready(base, server)
        assert httpx.get(f"{base}/docs").status_code == 200

        def sign_in(email: str, password: str) -> dict[str, str]:
            r = httpx.post(f"{base}/v1/auth/token",
                           data={"username": email, "password": password})
            assert r.status_code == 200, r.text
            return {"Authorization": f"Bearer {r.json()['access_token']}"}

        admin = sign_in("root@example.org", "a-long-admin-password")
        assert httpx.get(f"{base}/v1/admin/audit-events", headers=admin).status_code == 200
        clinician = sign_in("clinician@demo.kneetrack.dev", "kneetrack-demo")
        panel = httpx.get(f"{base}/v1/clinicians/me/patients", headers=clinician).json()
        assert len(panel["items"]) >= 3
        pid = panel["items"][0]["patient_id"]
        assert httpx.get(f"{base}/v1/patients/{pid}/trends/pain",
                         headers=clinician).status_code == 200
    finally:
        server.terminate()
        server.wait(timeout=15)
        log_file.close()
    # The access log names route templates, never a raw path with a patient's id in it.
    log = (tmp_path / "serve.log").read_text()
    assert '"route": "/v1/patients/{pid}/trends/{metric}"' in log, log[-2000:]
    assert pid not in log
