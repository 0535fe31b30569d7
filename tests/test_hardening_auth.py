"""Issue "Hardening from an outside attack", the authentication findings: tokens are not
forgeable on a default install (finding 4); X-Forwarded-For is believed only from a
configured proxy (finding 2)."""

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
import pytest

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


def _serve(tmp: Path, db: Path, **extra: str) -> tuple[subprocess.Popen[bytes], str, Path]:
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}", "KNEETRACK_LOG_LEVEL": "WARNING",
           "KNEETRACK_ENVIRONMENT": "development", **extra}
    if "KNEETRACK_SECRET_KEY" not in extra:
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


# --- finding 2: X-Forwarded-For is trusted only from configured proxies -----------------------


def _audit_ips(db: Path) -> list[tuple[str | None, str | None]]:
    import sqlalchemy as sa

    engine = sa.create_engine(f"sqlite:///{db}")
    try:
        with engine.connect() as c:
            return [tuple(r) for r in c.execute(sa.text(
                "SELECT client_ip, forwarded_ip FROM audit_events ORDER BY id"))]
    finally:
        engine.dispose()


def _register(base: str) -> dict[str, str]:
    email = f"p-{uuid.uuid4().hex[:8]}@example.org"
    r = httpx.post(f"{base}/v1/auth/register", json={
        "email": email, "password": "a-long-test-password", "display_name": "P",
        "timezone": "Europe/London"})
    assert r.status_code == 201, r.text
    return {"email": email}


def _audited_read(base: str, email: str, forwarded_for: str) -> None:
    t = httpx.post(f"{base}/v1/auth/token", data={
        "username": email, "password": "a-long-test-password"}).json()
    r = httpx.get(f"{base}/v1/patients/me/symptom-entries",
                  headers={"Authorization": f"Bearer {t['access_token']}",
                           "X-Forwarded-For": forwarded_for})
    assert r.status_code == 200


def test_forwarded_for_from_an_untrusted_peer_changes_nothing(tmp_path):
    """Before: `kneetrack serve` trusted X-Forwarded-For from loopback: rotating it gave each
    guess a fresh per-address budget (35 of 35 unthrottled) and forged the audit's client_ip."""
    db = tmp_path / "k.db"
    proc, base, _log = _serve(tmp_path, db, KNEETRACK_RATE_LIMIT_TOKEN_IP="3/minute",
                             KNEETRACK_SECRET_KEY="s" * 40)
    try:
        account = _register(base)
        statuses = [httpx.post(f"{base}/v1/auth/token",
                               headers={"X-Forwarded-For": f"198.51.100.{i}"},
                               data={"username": account["email"], "password": "wrong-one-x"}
                               ).status_code for i in range(6)]
        assert all(s in (400, 401) for s in statuses[:3]) and statuses[3:] == [429] * 3, statuses
        # The audit keeps the peer, and no forwarded address from an untrusted peer.
        token = httpx.post(f"{base}/v1/auth/token", headers={"X-Forwarded-For": "10.9.9.9"},
                           data={"username": account["email"],
                                 "password": "a-long-test-password"})
    finally:
        _stop(proc)
    assert token.status_code == 429  # the address's budget is spent, whatever it claims
    proc, base, _log = _serve(tmp_path, db, KNEETRACK_SECRET_KEY="s" * 40)
    try:
        _audited_read(base, account["email"], "203.0.113.66")
    finally:
        _stop(proc)
    assert _audit_ips(db)[-1] == ("127.0.0.1", None)


def test_a_trusted_proxy_forwards_the_client_address(tmp_path):
    db = tmp_path / "k.db"
    proc, base, _log = _serve(tmp_path, db, KNEETRACK_TRUSTED_PROXIES="127.0.0.1/32, ::1",
                             KNEETRACK_SECRET_KEY="s" * 40)
    try:
        account = _register(base)
        # The client, then a proxy of ours: the client is the right-most untrusted address.
        _audited_read(base, account["email"], "203.0.113.7, 127.0.0.1")
    finally:
        _stop(proc)
    assert _audit_ips(db)[-1] == ("127.0.0.1", "203.0.113.7")


def test_trusted_proxies_must_be_addresses(monkeypatch):
    from pydantic import ValidationError

    from app.config import Settings

    monkeypatch.setenv("KNEETRACK_TRUSTED_PROXIES", "10.0.0.0/8, not-an-address")
    with pytest.raises(ValidationError, match="not-an-address"):
        Settings(_env_file=None)


# --- findings 3 and 5: sign-up, refresh and password checks are bounded ----------------------


def _tight(app, **budgets: str):
    from limits.storage import MemoryStorage

    from app.ratelimit import RateLimits, get_rate_limits

    limits = RateLimits(MemoryStorage(), budgets)
    app.dependency_overrides[get_rate_limits] = lambda: limits
    return limits


def _signup(client, **fields: str):
    return client.post("/v1/auth/register", json={
        "email": f"s-{uuid.uuid4().hex[:10]}@example.org", "password": "a-long-test-password",
        "display_name": "S", "timezone": "Europe/London", **fields})


def test_sign_up_has_a_per_address_budget(app, client):
    """Before: no limit (12 parallel sign-ups added 512-713 MB RSS, one 64 MiB hash each)."""
    from app.ratelimit import get_rate_limits

    _tight(app, signup_ip="2/minute")
    try:
        assert [_signup(client).status_code for _ in range(2)] == [201, 201]
        r = _signup(client)
        assert_problem(r, 429)
        assert int(r.headers["Retry-After"]) >= 1
    finally:
        app.dependency_overrides.pop(get_rate_limits, None)


def test_refresh_has_a_per_address_budget(app, client, make_patient):
    from app.ratelimit import get_rate_limits

    p = make_patient()
    _tight(app, refresh_ip="2/minute")
    try:
        token = p.refresh_token
        for _ in range(2):
            r = client.post("/v1/auth/refresh", json={"refresh_token": token})
            assert r.status_code == 200, r.text
            token = r.json()["refresh_token"]
        assert_problem(client.post("/v1/auth/refresh", json={"refresh_token": token}), 429)
    finally:
        app.dependency_overrides.pop(get_rate_limits, None)


def test_the_erasure_password_check_is_limited_per_account(app, client, make_patient):
    """Finding 5: a stolen token could guess the password through DELETE /v1/patients/me."""
    from app.ratelimit import get_rate_limits

    p = make_patient()
    _tight(app, password_account="3/minute")
    try:
        for _ in range(3):
            r = client.request("DELETE", "/v1/patients/me", headers=p.headers,
                               json={"password": "a-wrong-guess-1"})
            assert_problem(r, 401)
        # Over the budget even the right password waits: the check no longer answers.
        r = client.request("DELETE", "/v1/patients/me", headers=p.headers,
                           json={"password": p.password})
        assert_problem(r, 429)
        assert client.get("/v1/patients/me", headers=p.headers).status_code == 200
    finally:
        app.dependency_overrides.pop(get_rate_limits, None)


def test_password_hashing_waits_for_a_slot_then_answers_503(client, monkeypatch):
    """Finding 3: at most `password_hash_concurrency` Argon2 hashes at once per process."""
    from app.auth.security import hashing_slots
    from tests.helpers import reset_caches

    monkeypatch.setenv("KNEETRACK_PASSWORD_HASH_CONCURRENCY", "1")
    monkeypatch.setenv("KNEETRACK_PASSWORD_HASH_WAIT_SECONDS", "0.3")
    reset_caches()
    try:
        slots = hashing_slots()
        assert slots.acquire(timeout=1)  # another request is hashing
        try:
            r = _signup(client)
            assert_problem(r, 503)
            assert r.headers["Retry-After"] == "1"
        finally:
            slots.release()
        assert _signup(client).status_code == 201  # the slot is free again
    finally:
        monkeypatch.delenv("KNEETRACK_PASSWORD_HASH_CONCURRENCY")
        monkeypatch.delenv("KNEETRACK_PASSWORD_HASH_WAIT_SECONDS")
        reset_caches()


# --- finding 10 (part) and 12 (part): password policy, blank display names -------------------


@pytest.mark.parametrize("password", [
    " " * 10, "aaaaaaaaaa", "1234567890", "password12", "qwertyuiop", "iloveyou12",
    "Password123",
])
def test_easily_guessed_passwords_are_refused(client, password):
    """NIST SP 800-63B: before, all of these were accepted (only the length was checked)."""
    r = _signup(client, password=password)
    assert_problem(r, 422, "password")
    assert "harder to guess" in r.json()["errors"][0]["msg"]


def test_the_email_itself_is_no_password(client):
    r = _signup(client, email="margaret.hamilton@example.org", password="margaret.hamilton")
    assert_problem(r, 422, "password")


def test_a_few_unrelated_words_are_accepted(client, admin):
    assert _signup(client, password="violet kettle harbour").status_code == 201
    r = client.post("/v1/admin/clinicians", headers=admin.headers, json={
        "email": f"c-{uuid.uuid4().hex[:8]}@example.org", "password": "1234567890",
        "display_name": "Dr C"})
    assert_problem(r, 422, "password")


@pytest.mark.parametrize("name", ["   ", "\t\n", "\u00a0\u2003"])
def test_blank_display_names_are_refused(client, make_patient, name):
    assert_problem(_signup(client, display_name=name), 422, "display_name")
    p = make_patient()
    r = client.patch("/v1/patients/me", headers={**p.headers, "If-Match": "*"},
                     json={"display_name": name})
    assert_problem(r, 422, "display_name")


# --- finding 12 (part): password change and sign out everywhere -----------------------------


def _second_sign_in(client, p) -> dict[str, str]:
    from tests.conftest import sign_in

    return sign_in(client, p.email, p.password)


def test_sign_out_everywhere_ends_every_sign_in(client, make_patient):
    p = make_patient()
    other = _second_sign_in(client, p)
    r = client.post("/v1/auth/logout-all", headers=p.headers)
    assert r.status_code == 200 and r.json() == {"ended": 2}
    for token in (p.token, other["access_token"]):
        assert_problem(client.get("/v1/patients/me",
                                  headers={"Authorization": f"Bearer {token}"}), 401)
    for refresh in (p.refresh_token, other["refresh_token"]):
        assert_problem(client.post("/v1/auth/refresh", json={"refresh_token": refresh}), 401)


def test_password_change_checks_the_current_one_and_ends_other_sign_ins(client, make_patient):
    from tests.conftest import sign_in

    p = make_patient()
    other = _second_sign_in(client, p)
    r = client.post("/v1/auth/password", headers=p.headers,
                    json={"current_password": "not-the-password", "new_password":
                          "violet kettle harbour"})
    assert_problem(r, 401)
    r = client.post("/v1/auth/password", headers=p.headers,
                    json={"current_password": p.password, "new_password": "1234567890"})
    assert_problem(r, 422, "new_password")
    r = client.post("/v1/auth/password", headers=p.headers,
                    json={"current_password": p.password,
                          "new_password": "violet kettle harbour"})
    assert r.status_code == 200 and r.json() == {"ended": 1}
    # This sign-in goes on; the other one is over; the old password no longer works.
    assert client.get("/v1/patients/me", headers=p.headers).status_code == 200
    assert_problem(client.get("/v1/patients/me", headers={
        "Authorization": f"Bearer {other['access_token']}"}), 401)
    r = client.post("/v1/auth/token", data={"username": p.email, "password": p.password})
    assert r.status_code in (400, 401)
    assert sign_in(client, p.email, "violet kettle harbour")["access_token"]


def test_an_api_key_cannot_change_the_password(client, make_patient):
    p = make_patient()
    key = client.post("/v1/api-keys", headers=p.headers,
                      json={"name": "k", "scopes": ["read", "write"]}).json()["key"]
    r = client.post("/v1/auth/password", headers={"X-API-Key": key},
                    json={"current_password": p.password,
                          "new_password": "violet kettle harbour"})
    assert_problem(r, 403)


def test_a_clinician_withdraws_an_open_invitation(client, make_patient, make_clinician):
    c, other = make_clinician(), make_clinician()
    code = client.post("/v1/invitations", headers=c.headers).json()["code"]
    assert_problem(client.delete(f"/v1/invitations/{code}", headers=other.headers), 404)
    assert client.delete(f"/v1/invitations/{code}", headers=c.headers).status_code == 204
    p = make_patient()
    assert_problem(client.post(f"/v1/invitations/{code}/accept", headers=p.headers), 404)
    assert_problem(client.delete(f"/v1/invitations/{code}", headers=c.headers), 404)
    # An accepted one cannot be withdrawn (the patient removes the clinician instead).
    code = client.post("/v1/invitations", headers=c.headers).json()["code"]
    assert client.post(f"/v1/invitations/{code}/accept", headers=p.headers).status_code == 200
    assert_problem(client.delete(f"/v1/invitations/{code}", headers=c.headers), 404)


def test_metrics_from_the_host_but_not_through_a_proxy(tmp_path):
    db = tmp_path / "k.db"
    proc, base, _log = _serve(tmp_path, db, KNEETRACK_SECRET_KEY="s" * 40,
                              KNEETRACK_METRICS_TOKEN="")
    try:
        assert httpx.get(f"{base}/metrics").status_code == 200  # the operator on the host
        # A reverse proxy on the same host forwards the public's requests: not the operator.
        r = httpx.get(f"{base}/metrics", headers={"X-Forwarded-For": "203.0.113.9"})
        assert r.status_code == 404
        assert httpx.get(f"{base}/metrics", headers={"Forwarded": "for=203.0.113.9"}
                         ).status_code == 404
    finally:
        _stop(proc)


def test_repeated_refusals_cannot_fill_a_patients_access_log(client, make_patient,
                                                              make_clinician, monkeypatch):
    """Hardening finding 12: anyone could fill a patient's access log with refused attempts
    (before: 20 attempts, 20 entries)."""
    import datetime as dt

    from app.audit import service as audit

    p, stranger = make_patient(), make_clinician()
    for _ in range(20):
        assert_problem(client.get(f"/v1/patients/{p.id}/symptom-entries",
                                  headers=stranger.headers), 404)

    def refusals():
        items = client.get("/v1/patients/me/access-log", headers=p.headers).json()["items"]
        return [i for i in items if i["actor_id"] == stranger.id and i["outcome"] == "denied"]

    assert len(refusals()) == 1
    # Once the window has passed, a new attempt is recorded again: refusals stay visible,
    # just not 20 a minute.
    monkeypatch.setattr(audit, "DENIED_WINDOW", dt.timedelta(0))
    assert_problem(client.get(f"/v1/patients/{p.id}/symptom-entries",
                              headers=stranger.headers), 404)
    assert len(refusals()) == 2
