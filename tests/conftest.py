"""Test fixtures. Every test that takes `client` runs once per database: SQLite always, and
PostgreSQL too when TEST_DATABASE_URL is set. Each run migrates a fresh, empty database from
nothing to head; tests isolate themselves by creating their own accounts."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("KNEETRACK_ENVIRONMENT", "test")
# A secret of the suite's own (never the public development default, which `kneetrack serve`
# refuses to sign with): the in-process app and the live servers the tests start share it.
os.environ.setdefault("KNEETRACK_SECRET_KEY", "kneetrack-test-suite-secret-0123456789abcdef")
# Cheap Argon2 parameters: tests create hundreds of accounts.
os.environ.setdefault("KNEETRACK_PASSWORD_TIME_COST", "1")
os.environ.setdefault("KNEETRACK_PASSWORD_MEMORY_KIB", "64")
os.environ.setdefault("KNEETRACK_LOG_JSON", "true")
# The suite signs in hundreds of accounts from one address; the rate limit tests install
# their own tight budgets (tests/test_rate_limits.py).
os.environ.setdefault("KNEETRACK_RATE_LIMIT_TOKEN_IP", "100000/minute")
os.environ.setdefault("KNEETRACK_RATE_LIMIT_PRINCIPAL", "100000/minute")
# Shared accounts (the demo clinician) sign in from several tests within a minute.
os.environ.setdefault("KNEETRACK_RATE_LIMIT_TOKEN_ACCOUNT", "100000/minute")
# Hundreds of sign-ups and erasures from one address; tests/test_hardening_auth.py sets its own.
# The in-process client is not on loopback: it scrapes /metrics with the operator's token.
os.environ.setdefault("KNEETRACK_METRICS_TOKEN", "kneetrack-test-metrics-token")
os.environ.setdefault("KNEETRACK_RATE_LIMIT_SIGNUP_IP", "100000/minute")
os.environ.setdefault("KNEETRACK_RATE_LIMIT_REFRESH_IP", "100000/minute")
os.environ.setdefault("KNEETRACK_RATE_LIMIT_PASSWORD_IP", "100000/minute")
os.environ.setdefault("KNEETRACK_RATE_LIMIT_PASSWORD_ACCOUNT", "100000/minute")
# Session-wide accounts (the admin) sign in once: their access tokens must outlive a slow run
# of the whole suite (tests of expiry set their own clock or lifetime).
os.environ.setdefault("KNEETRACK_ACCESS_TOKEN_MINUTES", "240")
# The flag state worker runs in the tests that start it: the others refresh the stored state
# themselves (`tests.helpers.settle`) at the instant their pinned clock says.
os.environ.setdefault("KNEETRACK_STATE_INTERVAL_SECONDS", "0")
# When REDIS_URL is set (CI), this run's counters stay apart from any other run's.
os.environ.setdefault("KNEETRACK_RATE_LIMIT_KEY_PREFIX", f"kneetrack-test-{os.getpid()}")

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.helpers import reset_caches, uvicorn_server

BACKENDS = ["sqlite", "postgresql"]
PASSWORD = "a-long-test-password"


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def fresh_postgres_database(name: str) -> str:
    """An empty PostgreSQL database beside TEST_DATABASE_URL's, dropped first if it exists."""
    base = make_url(os.environ["TEST_DATABASE_URL"]).set(drivername="postgresql+psycopg")
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


def drop_postgres_database(name: str) -> None:
    base = make_url(os.environ["TEST_DATABASE_URL"]).set(drivername="postgresql+psycopg")
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    if request.param == "postgresql":
        if not os.environ.get("TEST_DATABASE_URL"):
            pytest.skip("TEST_DATABASE_URL is not set")
        # Unique per run, so that several checkouts can run the suite at once.
        name = f"kneetrack_test_{_worker()}_{os.getpid()}"
        url = fresh_postgres_database(name)
        yield url
        from app.db import get_engine

        get_engine().dispose()
        drop_postgres_database(name)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{Path(tmp) / 'kneetrack-test.db'}"


@pytest.fixture(scope="session")
def backend(database_url: str) -> str:
    return "postgresql" if database_url.startswith("postgresql") else "sqlite"


@pytest.fixture(scope="session")
def app(database_url: str) -> Iterator[Any]:
    os.environ["DATABASE_URL"] = database_url
    reset_caches()
    from app.migrate import upgrade_to_head

    upgrade_to_head(database_url)
    from app.main import create_app

    application = create_app()
    yield application
    from app.db import get_engine

    get_engine().dispose()
    _forget_rate_limit_counters()


def _forget_rate_limit_counters() -> None:
    """With REDIS_URL set (CI), remove this run's counters from the shared Redis."""
    from app.config import get_settings

    settings = get_settings()
    if not settings.redis_url:
        return
    import redis

    conn = redis.Redis.from_url(settings.redis_url)
    for key in conn.scan_iter(f"{settings.rate_limit_key_prefix}*"):
        conn.delete(key)


@pytest.fixture(scope="session")
def live_server(
    app: Any, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The app under a real uvicorn (two worker processes, like two replicas) on a free loopback
    port, on the test database; yields its base URL. Its /metrics sums both workers."""
    env = {**os.environ, "DATABASE_URL": database_url, "KNEETRACK_LOG_LEVEL": "WARNING",
           "PROMETHEUS_MULTIPROC_DIR": str(tmp_path_factory.mktemp("prometheus"))}
    log = tmp_path_factory.mktemp("live-server") / "server.log"
    with uvicorn_server(env, workers=2, log=log) as base:
        yield base


@pytest.fixture(scope="session")
def client(app: Any) -> Iterator[TestClient]:
    """The suite's client. It notes every answer's status and headers and checks every JSON
    body against its schema; when the session ends, each must be declared in the OpenAPI
    document (tests/declared.py)."""
    from tests.declared import Bodies, Recorder, Seen, undeclared

    seen: Seen = set()
    bodies = Bodies(app.openapi)
    with TestClient(Recorder(app, seen, bodies), raise_server_exceptions=False) as c:
        yield c
    problems = undeclared(app.openapi(), seen) + sorted(bodies.problems)
    assert not problems, "sent but not declared in openapi.json:\n" + "\n".join(problems)


@pytest.fixture()
def engine(app: Any) -> Any:
    from app.db import get_engine

    return get_engine()


@pytest.fixture()
def settle(app: Any, engine: Any) -> Any:
    """`settle()`: what the state worker would do next, done now, at the server's instant
    (the pinned one, when a test pinned it): every patient's stored flag state caught up."""
    from app.clock import get_now
    from app.db import utcnow
    from app.trends.state_worker import settle as drain_all

    def _settle() -> int:
        pinned = app.dependency_overrides.get(get_now)
        return drain_all(engine, pinned() if pinned else utcnow())

    return _settle


@dataclass
class Account:
    id: str
    email: str
    role: str
    token: str
    refresh_token: str
    password: str = PASSWORD
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> dict[str, Any]:
    r = client.post("/v1/auth/token", data={"username": email, "password": password})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


@pytest.fixture()
def make_patient(client: TestClient) -> Any:
    def _make(tz: str = "Europe/London", **extra: Any) -> Account:
        email = f"p-{uuid.uuid4().hex[:12]}@example.org"
        body = {"email": email, "password": PASSWORD, "display_name": "Test Patient",
                "timezone": tz, **extra}
        r = client.post("/v1/auth/register", json=body)
        assert r.status_code == 201, r.text
        tokens = sign_in(client, email)
        return Account(id=r.json()["id"], email=email, role="patient",
                       token=tokens["access_token"], refresh_token=tokens["refresh_token"])

    return _make


@pytest.fixture(scope="session")
def admin(client: TestClient) -> Account:
    from sqlmodel import Session

    from app.auth.service import create_user
    from app.db import get_engine

    email = f"admin-{uuid.uuid4().hex[:8]}@example.org"
    with Session(get_engine()) as s:
        user = create_user(s, email=email, password=PASSWORD, role="admin",
                           display_name="Admin")
        s.commit()
        uid = str(user.id)
    tokens = sign_in(client, email)
    return Account(id=uid, email=email, role="admin", token=tokens["access_token"],
                   refresh_token=tokens["refresh_token"])


@pytest.fixture()
def make_clinician(client: TestClient, admin: Account) -> Any:
    def _make() -> Account:
        email = f"c-{uuid.uuid4().hex[:12]}@example.org"
        r = client.post("/v1/admin/clinicians", headers=admin.headers,
                        json={"email": email, "password": PASSWORD, "display_name": "Dr Test"})
        assert r.status_code == 201, r.text
        tokens = sign_in(client, email)
        return Account(id=r.json()["id"], email=email, role="clinician",
                       token=tokens["access_token"], refresh_token=tokens["refresh_token"])

    return _make


@pytest.fixture()
def link(client: TestClient) -> Any:
    """Put a clinician on a patient's care team through the invitation flow."""

    def _link(patient: Account, clinician: Account) -> None:
        r = client.post("/v1/invitations", headers=clinician.headers)
        assert r.status_code == 201, r.text
        r = client.post(f"/v1/invitations/{r.json()['code']}/accept", headers=patient.headers)
        assert r.status_code == 200, r.text

    return _link


@pytest.fixture()
def pinned_now(app: Any) -> Iterator[Any]:
    """Pin the server clock: `pinned_now(datetime)`."""
    from app.clock import get_now

    def _pin(instant: Any) -> None:
        app.dependency_overrides[get_now] = lambda: instant

    yield _pin
    app.dependency_overrides.pop(get_now, None)
