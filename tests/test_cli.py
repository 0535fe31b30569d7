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


def test_rebuild_state_recomputes_from_the_rows(tmp_path):
    """`kneetrack rebuild-state [--patient]`: rows written straight into the database (as an
    import would, with no queue row) are in the stored episodes after it, for one patient or
    for all; a patient id that is not one is refused."""
    import datetime as dt
    import sqlite3

    db = tmp_path / "state.db"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}", "KNEETRACK_LOG_LEVEL": "WARNING"}
    assert _kneetrack(env, "migrate").returncode == 0
    assert _kneetrack(env, "demo").returncode == 0
    con = sqlite3.connect(db)
    maria = con.execute("SELECT id FROM users WHERE email LIKE 'maria@%'").fetchone()[0]
    before = con.execute("SELECT count(*) FROM flag_episodes WHERE patient_id = ? AND rule = "
                         "'hot_swollen_joint'", (maria,)).fetchone()[0]
    day = (dt.date.today() - dt.timedelta(days=200)).isoformat()  # before her record began
    con.execute("INSERT INTO symptom_entries (id, patient_id, entry_date, version, right_swelling,"
                " right_warmth, recorded_at, created_at, updated_at) VALUES (?, ?, ?, 1, 3, 1, "
                "'2026-01-01 00:00:00', '2026-01-01 00:00:00', '2026-01-01 00:00:00')",
                ("0" * 31 + "1", maria, day))
    con.commit()
    one = _kneetrack(env, "rebuild-state", "--patient", str(uuid_of(maria)))
    assert one.returncode == 0, one.stderr
    assert one.stdout.startswith("patients recomputed: 1 in ")
    after = con.execute("SELECT first_date FROM flag_episodes WHERE patient_id = ? AND rule = "
                        "'hot_swollen_joint'", (maria,)).fetchall()
    assert before == 0 and after == [(day,)]
    every = _kneetrack(env, "rebuild-state")
    assert every.returncode == 0 and every.stdout.startswith("patients recomputed: 5 in ")
    assert _kneetrack(env, "rebuild-state", "--patient", "nobody").returncode == 2
    missing = _kneetrack(env, "rebuild-state", "--patient", "00000000-0000-4000-8000-000000000000")
    assert missing.returncode == 1 and "no patient" in missing.stderr
    con.close()


def uuid_of(hex32: str) -> str:
    import uuid

    return str(uuid.UUID(hex32))


def test_bench_passes_its_options_to_the_benchmark():
    """`kneetrack bench …` is `python -m bench …` from the source checkout."""
    out = _kneetrack(dict(os.environ), "bench", "--help")
    assert out.returncode == 0, out.stderr
    assert "Usage: python -m bench" in out.stdout and "--replicas" in out.stdout
    wrong = _kneetrack(dict(os.environ), "bench", "--no-such-option")
    assert wrong.returncode == 2 and "No such option" in wrong.stderr
