from __future__ import annotations

import datetime as dt
import uuid

import jwt
import pytest

from tests.conftest import PASSWORD, sign_in
from tests.helpers import assert_problem


def _register(client, **over):
    body = {"email": f"r-{uuid.uuid4().hex[:10]}@example.org", "password": PASSWORD,
            "display_name": "R", "timezone": "Europe/Paris", **over}
    return client.post("/v1/auth/register", json=body), body


def test_register_returns_profile_without_password(client):
    r, body = _register(client, birth_year=1950, sex="female", index_knee="right")
    assert r.status_code == 201
    data = r.json()
    assert data["email"] == body["email"]
    assert data["timezone"] == "Europe/Paris"
    assert data["index_knee"] == "right"
    assert "password" not in r.text and PASSWORD not in r.text


def test_register_duplicate_email_is_conflict(client):
    r, body = _register(client)
    assert r.status_code == 201
    r2 = client.post("/v1/auth/register", json={**body, "email": body["email"].upper()})
    assert_problem(r2, 409)


@pytest.mark.parametrize(
    ("field", "value"),
    [("email", "not-an-email"), ("password", "short"), ("timezone", "Mars/Olympus"),
     ("timezone", "../../etc/passwd"), ("birth_year", 1800), ("sex", "x"),
     ("index_knee", "both"), ("display_name", "")],
)
def test_register_invalid_field_is_422_naming_it(client, field, value):
    r, _ = _register(client, **{field: value})
    assert_problem(r, 422, field)


def test_register_requires_timezone(client):
    body = {"email": f"r-{uuid.uuid4().hex[:10]}@example.org", "password": PASSWORD,
            "display_name": "R"}
    assert_problem(client.post("/v1/auth/register", json=body), 422, "timezone")


def test_register_unknown_field_is_422(client):
    r, _ = _register(client, favourite_colour="blue")
    assert_problem(r, 422, "favourite_colour")


def _oauth_error(r, error: str, *fields: str) -> dict:
    """An RFC 6749 §5.2 refusal: 400, `error`, and still an RFC 9457 problem."""
    body = assert_problem(r, 400, *fields)
    assert body["error"] == error and body["error_description"] == body["detail"]
    assert body["type"].endswith("/" + error.replace("_", "-"))
    assert r.headers["cache-control"] == "no-store"
    return body


def test_token_wrong_password_is_invalid_grant(client, make_patient):
    p = make_patient()
    r = client.post("/v1/auth/token", data={"username": p.email, "password": "wrong-password"})
    _oauth_error(r, "invalid_grant")
    r = client.post("/v1/auth/token", data={"username": "nobody@example.org",
                                            "password": "wrong-password", "grant_type": "password"})
    assert _oauth_error(r, "invalid_grant")["detail"] == "Incorrect email or password"


def test_token_endpoint_speaks_rfc_6749(client, make_patient):
    p = make_patient()
    # Missing parameters, an unknown grant, JSON instead of a form.
    _oauth_error(client.post("/v1/auth/token", data={"username": p.email}), "invalid_request")
    _oauth_error(client.post("/v1/auth/token", data={"grant_type": "refresh_token"}),
                 "invalid_request")
    # Neither grant's parameters: the answer names both ways in, not just the refresh token.
    body = _oauth_error(client.post("/v1/auth/token", data={"password": p.password}),
                        "invalid_request")
    assert "'username' and 'password'" in body["detail"] and "refresh_token" in body["detail"]
    body = _oauth_error(client.post("/v1/auth/token", data={
        "grant_type": "client_credentials", "username": p.email, "password": p.password}),
        "unsupported_grant_type", "grant_type")
    assert "password, refresh_token" in body["detail"]
    body = _oauth_error(client.post("/v1/auth/token", json={
        "username": p.email, "password": p.password}), "invalid_request")
    assert "application/x-www-form-urlencoded" in body["detail"]
    # The refresh grant at the token endpoint: rotating, and a reused token is refused (and
    # revokes the sign-in, as POST /v1/auth/refresh does).
    first = client.post("/v1/auth/token", data={"username": p.email, "password": p.password})
    assert first.status_code == 200 and first.headers["cache-control"] == "no-store"
    old = first.json()["refresh_token"]
    r = client.post("/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": old})
    assert r.status_code == 200, r.text
    renewed = r.json()
    assert renewed["refresh_token"] != old and renewed["token_type"] == "bearer"
    bearer = {"Authorization": f"Bearer {renewed['access_token']}"}
    me = client.get("/v1/patients/me", headers=bearer)
    assert me.status_code == 200
    r = client.post("/v1/auth/token", data={"grant_type": "refresh_token", "refresh_token": old})
    _oauth_error(r, "invalid_grant")
    r = client.post("/v1/auth/token", data={"grant_type": "refresh_token",
                                            "refresh_token": renewed["refresh_token"]})
    _oauth_error(r, "invalid_grant")  # the family was revoked by the reuse


def test_token_response_shape_and_me(client, make_patient):
    p = make_patient()
    tokens = sign_in(client, p.email)
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] > 0
    r = client.get("/v1/patients/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert r.status_code == 200
    assert r.json()["id"] == p.id


def test_refresh_rotates_and_reuse_revokes_family(client, make_patient):
    p = make_patient()
    r1 = client.post("/v1/auth/refresh", json={"refresh_token": p.refresh_token})
    assert r1.status_code == 200
    new = r1.json()
    assert new["refresh_token"] != p.refresh_token
    # The new access token works.
    me = client.get("/v1/patients/me", headers={"Authorization": f"Bearer {new['access_token']}"})
    assert me.status_code == 200
    # Presenting the spent token again: 401, and the whole family is revoked.
    assert_problem(client.post("/v1/auth/refresh", json={"refresh_token": p.refresh_token}), 401)
    assert_problem(client.post("/v1/auth/refresh",
                               json={"refresh_token": new["refresh_token"]}), 401)
    assert_problem(client.get("/v1/patients/me",
                              headers={"Authorization": f"Bearer {new['access_token']}"}), 401)
    # Another sign-in is unaffected.
    other = sign_in(client, p.email)
    assert client.get("/v1/patients/me", headers={
        "Authorization": f"Bearer {other['access_token']}"}).status_code == 200


def test_logout_revokes_access_and_refresh(client, make_patient):
    p = make_patient()
    assert client.post("/v1/auth/logout", headers=p.headers).status_code == 204
    assert_problem(client.get("/v1/patients/me", headers=p.headers), 401)
    assert_problem(client.post("/v1/auth/refresh", json={"refresh_token": p.refresh_token}), 401)


def test_forged_tokens_are_401(client, make_patient):
    p = make_patient()
    claims = jwt.decode(p.token, options={"verify_signature": False})
    forged = {
        "none": jwt.encode(claims, None, algorithm="none"),  # type: ignore[arg-type]
        "wrong key": jwt.encode(claims, "another-secret-key-of-32-characters!", algorithm="HS256"),
        "expired": None,
        "tampered": p.token.split(".")[0] + "." + jwt.utils.base64url_encode(
            jwt.api_jws.json.dumps({**claims, "role": "admin"}).encode()).decode()
        + "." + p.token.split(".")[2],
    }
    from app.config import get_settings

    secret = get_settings().secret_key
    past = int((dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).timestamp())
    forged["expired"] = jwt.encode({**claims, "exp": past, "iat": past - 60}, secret,
                                   algorithm="HS256")
    for name, token in forged.items():
        r = client.get("/v1/patients/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, name


def test_missing_credentials_is_401_problem(client):
    assert_problem(client.get("/v1/patients/me"), 401)


def test_admin_creates_clinicians_only_admin(client, admin, make_patient, make_clinician):
    body = {"email": f"c-{uuid.uuid4().hex[:8]}@example.org", "password": PASSWORD,
            "display_name": "Dr X"}
    p = make_patient()
    assert_problem(client.post("/v1/admin/clinicians", headers=p.headers, json=body), 403)
    c = make_clinician()
    assert_problem(client.post("/v1/admin/clinicians", headers=c.headers, json=body), 403)
    r = client.post("/v1/admin/clinicians", headers=admin.headers, json=body)
    assert r.status_code == 201
    assert r.json()["role"] == "clinician"


def test_admin_sees_no_health_data(client, admin, make_patient):
    p = make_patient()
    assert_problem(client.get(f"/v1/patients/{p.id}", headers=admin.headers), 404)
    assert_problem(client.get("/v1/patients/me", headers=admin.headers), 404)


def _sign(claims, key=None, algorithm="HS256"):
    from app.config import get_settings

    return jwt.encode(claims, key or get_settings().secret_key, algorithm=algorithm)


def test_more_forged_and_misused_tokens_are_401(client, make_patient):
    """Beyond the forgeries above: each missing claim (signed with the right key), another
    token type, another HMAC algorithm with the right key, the refresh token presented as an
    access token, and strings that are not JWTs at all."""
    p = make_patient()
    claims = jwt.decode(p.token, options={"verify_signature": False})
    bad = {f"no {c}": _sign({k: v for k, v in claims.items() if k != c})
           for c in ("exp", "iat", "sub", "sid", "typ")}
    bad |= {
        "typ refresh": _sign({**claims, "typ": "refresh"}),
        "sub not a uuid": _sign({**claims, "sub": "' OR 1=1 --"}),
        "sid not a uuid": _sign({**claims, "sid": "x"}),
        "sub of nobody": _sign({**claims, "sub": str(uuid.uuid4())}),
        "HS512 with the right key": _sign(claims, algorithm="HS512"),
        "not yet valid (iat in the future is fine, exp in the past is not)": _sign(
            {**claims, "exp": claims["iat"] - 1}),
        "refresh token as access token": p.refresh_token,
        "empty": "",
        "garbage": "a.b.c",
        "huge": "x" * 8000,
        "header only": p.token.split(".")[0],
        "signature stripped": p.token.rsplit(".", 1)[0] + ".",
    }
    for name, token in bad.items():
        r = client.get("/v1/patients/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, name
        assert_problem(r, 401)
        assert "Traceback" not in r.text, name
    for scheme in ("Basic dXNlcjpwYXNz", f"Token {p.token}", p.token):
        assert_problem(client.get("/v1/patients/me", headers={"Authorization": scheme}), 401)
    # The genuine token still works: the 401s above were not a broken fixture.
    assert client.get("/v1/patients/me", headers=p.headers).status_code == 200


def test_a_token_accepted_before_is_refused_once_it_expires(client, make_patient):
    """A token's signature is checked once and remembered (app/auth/security.py); its expiry
    is checked on every use, so a token that worked a moment ago is refused once `exp` has
    passed, and a refused token is never remembered as good."""
    import time

    p = make_patient()
    claims = jwt.decode(p.token, options={"verify_signature": False})
    soon = int(time.time()) + 2
    token = _sign({**claims, "exp": soon})
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/v1/patients/me", headers=headers).status_code == 200
    assert client.get("/v1/patients/me", headers=headers).status_code == 200  # remembered
    time.sleep(max(0.0, soon - time.time()) + 0.05)
    assert_problem(client.get("/v1/patients/me", headers=headers), 401)
    forged = token.rsplit(".", 1)[0] + "." + "A" * 43
    for _ in range(2):
        assert_problem(client.get("/v1/patients/me",
                                  headers={"Authorization": f"Bearer {forged}"}), 401)


def test_an_empty_token_parameter_is_refused_not_ignored(client, make_patient):
    p = make_patient()
    for extra in ({"refresh_token": ""}, {"grant_type": ""}, {"password": ""}):
        r = client.post("/v1/auth/token", data={
            "username": p.email, "password": p.password, **extra})
        body = _oauth_error(r, "invalid_request", *extra)
        assert body["detail"] == f"Empty parameter: {next(iter(extra))}"
