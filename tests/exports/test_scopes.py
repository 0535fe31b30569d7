"""Exports need the `export` scope. Credentials other than bearer tokens (API keys) plug into
`EXTRA_RESOLVERS`; here one resolves a narrowed actor for the calling patient."""

from __future__ import annotations

import uuid

import pytest

from tests.helpers import assert_problem


@pytest.fixture()
def scoped(app):
    from app.auth.dependencies import EXTRA_RESOLVERS, Actor

    def resolve(request, _session):
        raw = request.headers.get("x-scoped-actor")
        if not raw:
            return None
        user_id, scopes = raw.split(";")
        return Actor(user_id=uuid.UUID(user_id), role="patient", display_name="key",
                     scopes=frozenset(s for s in scopes.split(",") if s), via="api_key")

    EXTRA_RESOLVERS.append(resolve)
    yield lambda pid, scopes: {"X-Scoped-Actor": f"{pid};{scopes}"}
    EXTRA_RESOLVERS.remove(resolve)


@pytest.mark.parametrize("path", ["export.csv?kind=symptoms", "export.fhir"])
def test_export_needs_the_export_scope(client, make_patient, scoped, path):
    p = make_patient()
    url = f"/v1/patients/{p.id}/{path}"
    body = assert_problem(client.get(url, headers=scoped(p.id, "read,write")), 403)
    assert "export" in body["detail"]
    assert client.get(url, headers=scoped(p.id, "export")).status_code == 200
    assert client.get(url, headers=scoped(p.id, "read,export")).status_code == 200
