"""An OAuth2 library nobody here wrote (Authlib), against a live server: it signs in with the
password grant, calls the API, refreshes, and reads the refusals as RFC 6749 errors."""

from __future__ import annotations

import pytest

pytestmark = [
    pytest.mark.live,
    # Authlib 1.7 announces a rename of its httpx integration; the client used is the same.
    pytest.mark.filterwarnings("ignore:The httpx module is deprecated"),
]


def test_authlib_signs_in_refreshes_and_is_refused(live_server, make_patient):
    from authlib.common.errors import AuthlibBaseError
    from authlib.integrations.httpx_client import OAuth2Client

    p = make_patient()
    url = f"{live_server}/v1/auth/token"
    with OAuth2Client(token_endpoint=url) as c:
        token = c.fetch_token(url, username=p.email, password=p.password)
        assert token["token_type"] == "bearer" and token["expires_at"] > 0
        me = c.get(f"{live_server}/v1/patients/me")
        assert me.status_code == 200 and me.json()["id"] == p.id
        spent = token["refresh_token"]
        renewed = c.refresh_token(url, refresh_token=spent)
        assert renewed["refresh_token"] != spent and renewed["access_token"]
        assert c.get(f"{live_server}/v1/patients/me").status_code == 200

    with OAuth2Client() as c:
        with pytest.raises(AuthlibBaseError) as refused:
            c.fetch_token(url, username=p.email, password="not-the-password")
        assert refused.value.error == "invalid_grant"
        assert refused.value.description == "Incorrect email or password"
        # A refresh token used twice: refused, and the sign-in it belonged to is revoked.
        with pytest.raises(AuthlibBaseError) as reused:
            c.refresh_token(url, refresh_token=spent)
        assert reused.value.error == "invalid_grant"
        with pytest.raises(AuthlibBaseError) as revoked:
            c.refresh_token(url, refresh_token=renewed["refresh_token"])
        assert revoked.value.error == "invalid_grant"
