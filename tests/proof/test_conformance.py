"""Spec conformance, in process: Schemathesis generates requests from the OpenAPI document
for every operation (so routes added later are covered without a change here), sends them to
the app and runs every check on each answer — no 5xx, only declared status codes, content
types, headers and response schemas, invalid input refused, valid input accepted — with a
stateful phase that follows the document's links. Here it runs as a patient, on each
database; the same configuration drives the run against a live server as a clinician
(test_live.py). Limits (examples per operation, steps per scenario) are in schemathesis.toml."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import schemathesis

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


@pytest.fixture()
def api_schema(app, make_patient, monkeypatch, roomy_rate_limits):
    return schemathesis.openapi.from_asgi("/openapi.json", app,
                                          config=load_config(monkeypatch, make_patient()))


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
def test_every_operation_conforms(case):
    case.call_and_validate()


@pytest.mark.stateful_inprocess
def test_stateful_scenarios_conform(api_schema):
    """Sequences of calls that follow the OpenAPI links (write, then read / delete / list the
    revisions of the same record), each answer checked like above."""
    api_schema.as_state_machine().run()


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
