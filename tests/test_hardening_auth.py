"""Issue "Hardening from an outside attack", the authentication findings: tokens are not
forgeable on a default install (finding 4)."""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import jwt

from tests.helpers import assert_problem

# --- finding 4: a correctly signed token naming a sign-in that was never issued ---------------


def test_a_signed_token_with_a_sid_never_issued_is_401(client, make_patient):
    from app.config import get_settings

    p, other = make_patient(), make_patient()
    claims = jwt.decode(p.token, options={"verify_signature": False})
    key = get_settings().secret_key
    for sid in (str(uuid.uuid4()),  # never issued
                jwt.decode(other.token, options={"verify_signature": False})["sid"]):  # not hers
        forged = jwt.encode({**claims, "sid": sid}, key, algorithm="HS256")
        assert_problem(client.get("/v1/patients/me", headers={"Authorization":
                                                              f"Bearer {forged}"}), 401)
    # Her own token, with the sign-in she was issued, still works.
    assert client.get("/v1/patients/me", headers=p.headers).status_code == 200


# --- finding 4: `kneetrack serve` never signs with the public development secret --------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(tmp: Path, db: Path) -> tuple[subprocess.Popen[bytes], str, Path]:
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}", "KNEETRACK_LOG_LEVEL": "WARNING",
           "KNEETRACK_ENVIRONMENT": "development"}
    env.pop("KNEETRACK_SECRET_KEY", None)
    log = tmp / f"serve-{port}.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--host", "127.0.0.1", "--port",
             str(port)], env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp,
            start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return proc, base, log
        except httpx.HTTPError:
            pass
        assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
        time.sleep(0.2)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    proc.wait(timeout=30)


def test_serve_without_a_secret_generates_one_and_refuses_the_public_default(tmp_path):
    from app.config import DEFAULT_SECRET

    db = tmp_path / "data" / "kneetrack.db"
    db.parent.mkdir()
    proc, base, log = _serve(tmp_path, db)
    key_file = db.parent / "kneetrack-secret.key"
    try:
        assert key_file.exists(), log.read_text()
        assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
        assert str(key_file) in log.read_text()  # it says where the secret is
        email = f"p-{uuid.uuid4().hex[:8]}@example.org"
        r = httpx.post(f"{base}/v1/auth/register", json={
            "email": email, "password": "a-long-test-password", "display_name": "P",
            "timezone": "Europe/London"})
        assert r.status_code == 201, r.text
        token = httpx.post(f"{base}/v1/auth/token", data={
            "username": email, "password": "a-long-test-password"}).json()["access_token"]
        me = httpx.get(f"{base}/v1/patients/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200
        # The same claims signed with the published default secret are refused.
        claims = jwt.decode(token, options={"verify_signature": False})
        forged = jwt.encode(claims, DEFAULT_SECRET, algorithm="HS256")
        r = httpx.get(f"{base}/v1/patients/me", headers={"Authorization": f"Bearer {forged}"})
        assert r.status_code == 401
    finally:
        _stop(proc)
    # Restarted, it keeps the same secret: the token it issued still works.
    key = key_file.read_text()
    proc, base, _ = _serve(tmp_path, db)
    try:
        assert key_file.read_text() == key
        me = httpx.get(f"{base}/v1/patients/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200
    finally:
        _stop(proc)
