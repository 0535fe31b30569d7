"""Spec conformance, in process: Schemathesis generates requests from the OpenAPI document
for every operation (so routes added later are covered without a change here), sends them to
the app and runs every check on each answer — no 5xx, only declared status codes, content
types, headers and response schemas, invalid input refused, valid input accepted — with a
stateful phase that follows the document's links. Here it runs as a patient, on each
database; the same configuration drives the run against a live server as a clinician
(test_live.py). Limits (examples per operation, steps per scenario) are in schemathesis.toml."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from schemathesis.generation.stateful.state_machine import DEFAULT_STATE_MACHINE_SETTINGS
from sqlalchemy import Engine, Table, inspect

CONFIG = Path(__file__).with_name("schemathesis.toml")


def load_config(monkeypatch: pytest.MonkeyPatch, account: Any) -> schemathesis.Config:
    """The shared configuration, signing in as `account` (read from the environment)."""
    monkeypatch.setenv("KNEETRACK_PROOF_USERNAME", account.email)
    monkeypatch.setenv("KNEETRACK_PROOF_PASSWORD", account.password)
    return schemathesis.Config.from_path(CONFIG)


@pytest.fixture()
def roomy_rate_limits(app):
    """The run signs in again after each sign-out it provokes, more often than the per-account
    sign-in budget allows in a minute; rate limits have their own tests."""
    from app.ratelimit import RateLimits, build_storage, get_rate_limits

    budget = "100000/minute"
    limits = RateLimits(build_storage(None, "proof"),
                        {"principal": budget, "token_ip": budget, "token_account": budget})
    app.dependency_overrides[get_rate_limits] = lambda: limits
    yield
    app.dependency_overrides.pop(get_rate_limits, None)


def coverage_phase_here(backend: str) -> bool:
    """The coverage phase (every boundary and every kind of invalid value of every parameter
    and field, deterministic: ~80 % of this test's time) runs on one database: PostgreSQL when
    the run has it (its types are the stricter: integer ranges, NUL in text), else SQLite.
    Examples, fuzzing and the stateful phase run on both."""
    return backend == "postgresql" or not os.environ.get("TEST_DATABASE_URL")


@pytest.fixture()
def api_schema(app, backend, make_patient, monkeypatch, roomy_rate_limits):
    config = load_config(monkeypatch, make_patient())
    config.projects.default.phases.coverage.enabled = coverage_phase_here(backend)
    return schemathesis.openapi.from_asgi("/openapi.json", app, config=config)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
def test_every_operation_conforms(case):
    case.call_and_validate()


# --- the stateful phase ----------------------------------------------------------------------
#
# Hypothesis records every choice of every scenario in a tree and expects the same choices to
# lead to the same draws. In a state machine the rules that may run next depend on the API's
# answers (a link's rule is enabled only once its source answered with the link's status), so
# a scenario that repeats the opening of an earlier one must meet the same answers, or
# Hypothesis stops with FlakyStrategyDefinition ("Inconsistent data generation"). Scenarios
# therefore each start from the same database: its own, restored to one snapshot before every
# scenario. Without that, state left by earlier scenarios changed the answers: after 25 keys,
# `POST /v1/api-keys` answers 409 (at most 25 active keys per account) where an earlier
# scenario with the same opening got 201; an email registered by one scenario is taken (409)
# for the next one that draws it (docs/RELIABILITY.md, "The in-process stateful run").


class DatabaseSnapshot:
    """Every row of every table of the app (not alembic_version), to put back at will."""

    def __init__(self, engine: Engine) -> None:
        from app.db import metadata

        existing = set(inspect(engine).get_table_names()) - {"alembic_version"}
        # A table that migrations create but the models do not declare would escape the reset.
        assert existing == set(metadata.tables), existing ^ set(metadata.tables)
        self.engine = engine
        self.tables: list[Table] = list(metadata.sorted_tables)
        self.rows = self.read()

    def read(self) -> dict[str, list[dict[str, Any]]]:
        with self.engine.connect() as conn:
            return {t.name: [dict(r._mapping) for r in conn.execute(t.select())]
                    for t in self.tables}

    def restore(self) -> None:
        """In one transaction; the triggers that keep audit_events append-only are set aside
        meanwhile (PostgreSQL: disabled; SQLite, which cannot disable one: dropped and made
        again from their own text), since this database is the test's own."""
        with self.engine.begin() as conn:
            postgres = conn.dialect.name == "postgresql"
            if postgres:
                for table in self.tables:
                    conn.exec_driver_sql(f'ALTER TABLE "{table.name}" DISABLE TRIGGER USER')
            else:
                triggers = conn.exec_driver_sql(
                    "SELECT name, sql FROM sqlite_master WHERE type = 'trigger'"
                ).all()
                for name, _ in triggers:
                    conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
            for table in reversed(self.tables):
                conn.execute(table.delete())
            for table in self.tables:
                if self.rows[table.name]:
                    conn.execute(table.insert(), self.rows[table.name])
            if postgres:
                for table in self.tables:
                    conn.exec_driver_sql(f'ALTER TABLE "{table.name}" ENABLE TRIGGER USER')
            else:
                for _, sql in triggers:
                    conn.exec_driver_sql(sql)

    def matches(self) -> bool:
        return self.read() == self.rows


@pytest.fixture()
def own_database(app: Any, database_url: str, tmp_path: Path) -> Iterator[Engine]:
    """The app on a database of this test's own, migrated to head, for the test's duration;
    the session's database (and every other test's accounts) stays untouched."""
    from app.db import get_engine
    from app.migrate import upgrade_to_head
    from tests.conftest import drop_postgres_database, fresh_postgres_database
    from tests.helpers import reset_caches

    name = None
    if database_url.startswith("postgresql"):
        worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
        name = f"kneetrack_test_stateful_{worker}_{os.getpid()}"
        url = fresh_postgres_database(name)
    else:
        url = f"sqlite:///{tmp_path / 'stateful.db'}"
    os.environ["DATABASE_URL"] = url
    reset_caches()
    try:
        upgrade_to_head(url)
        yield get_engine()
    finally:
        os.environ["DATABASE_URL"] = database_url
        reset_caches()
        if name is not None:
            drop_postgres_database(name)


@pytest.fixture()
def snapshot(own_database: Engine, make_patient: Any, monkeypatch: pytest.MonkeyPatch,
             roomy_rate_limits: None) -> tuple[DatabaseSnapshot, schemathesis.Config, Any]:
    """The run's patient, created in the test's own database; the database as it then is."""
    patient = make_patient()
    return DatabaseSnapshot(own_database), load_config(monkeypatch, patient), patient


def test_stateful_scenarios_conform(app, snapshot):
    """Sequences of calls that follow the OpenAPI links (write, then read / delete / list the
    revisions of the same record), each answer checked like above; every scenario starts from
    the same database."""
    state, config, _ = snapshot
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, config=config)
    machine = schema.as_state_machine()

    class FromTheSameState(machine):  # type: ignore[misc, valid-type]
        def setup(self) -> None:
            state.restore()
            super().setup()

    # The limits and the deterministic generation of schemathesis.toml (`run()` alone would
    # use Schemathesis' defaults: 100 random scenarios of up to 6 steps); the phases, deadline
    # and health checks of Schemathesis' own stateful runs; no example database.
    settings = hypothesis.settings(
        schema.config.get_hypothesis_settings(phase="stateful"),
        phases=DEFAULT_STATE_MACHINE_SETTINGS.phases,
        suppress_health_check=DEFAULT_STATE_MACHINE_SETTINGS.suppress_health_check,
        database=None,
    )
    FromTheSameState.run(settings=settings)


def test_the_stateful_run_restores_the_database_before_each_scenario(client, snapshot):
    """What the stateful run relies on: whatever a scenario wrote (here: API keys up to the cap,
    after which the same request is refused with 409, and rows of the append-only audit
    record), the restore puts every row back as it was, so the same request meets the same
    answer again."""
    from app.config import get_settings

    state, _, patient = snapshot
    cap = get_settings().max_api_keys_per_user

    def create_key() -> int:
        body = {"name": "scenario", "scopes": ["read"]}
        return client.post("/v1/api-keys", headers=patient.headers, json=body).status_code

    assert [create_key() for _ in range(cap)] == [201] * cap
    assert create_key() == 409
    assert client.get("/v1/patients/me", headers=patient.headers).status_code == 200
    assert len(state.read()["audit_events"]) > len(state.rows["audit_events"])
    assert not state.matches()
    state.restore()
    assert state.matches()
    assert create_key() == 201


# --- the links themselves ------------------------------------------------------------------

RUNTIME = re.compile(r"^\$(request\.path\.\w+|response\.body#/\w+|response\.header\.[\w-]+)$")


def test_every_link_names_a_real_operation_and_real_parameters(app):
    doc = app.openapi()
    operations = {op["operationId"]: (path, op) for path, ops in doc["paths"].items()
                  for op in ops.values()}
    links = [(src, status, name, link) for src, (_, op) in operations.items()
             for status, resp in op["responses"].items()
             for name, link in resp.get("links", {}).items()]
    assert len(links) >= 10
    for src, status, name, link in links:
        where = f"{src} {status} {name}"
        assert link["operationId"] in operations, where
        _, target = operations[link["operationId"]]
        declared = {(p["in"], p["name"]) for p in target.get("parameters", [])}
        for key, expr in link["parameters"].items():
            location, _, pname = key.partition(".")
            assert (location, pname) in declared, f"{where}: {key}"
            assert RUNTIME.match(expr), f"{where}: {expr}"
            if expr.startswith("$request.path."):
                source_path, _ = operations[src]
                assert "{" + expr.removeprefix("$request.path.") + "}" in source_path, where
        # Every required path parameter of the target is supplied.
        required = {p["name"] for p in target.get("parameters", [])
                    if p["in"] == "path" and p.get("required")}
        assert required <= {k.partition(".")[2] for k in link["parameters"]}, where
