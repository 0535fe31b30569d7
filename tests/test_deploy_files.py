"""Docker is not available on this machine: check the compose file and Dockerfile by reading."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_compose_has_database_migration_and_api():
    spec = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = spec["services"]
    assert {"db", "migrate", "api"} <= services.keys()
    db, migrate, api = services["db"], services["migrate"], services["api"]
    assert db["image"].startswith("postgres:")
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert migrate["depends_on"]["db"]["condition"] == "service_healthy"
    assert "migrate" in " ".join(migrate["command"])
    assert migrate.get("restart", "no") == "no"
    assert api["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
    for svc in (migrate, api):
        env = svc["environment"]
        assert env["DATABASE_URL"].startswith("postgresql://")
        assert env["KNEETRACK_ENVIRONMENT"] == "production"
        assert "KNEETRACK_SECRET_KEY" in env


def test_dockerfile_runs_the_asgi_app():
    text = (ROOT / "Dockerfile").read_text()
    assert "uv sync --frozen" in text
    assert "kneetrack" in text and "serve" in text


def test_env_example_lists_every_setting():
    from app.config import Settings

    text = (ROOT / ".env.example").read_text()
    for name in Settings.model_fields:
        key = "DATABASE_URL" if name == "database_url" else f"KNEETRACK_{name.upper()}"
        assert key in text, key


def test_compose_api_sums_metrics_across_its_workers():
    api = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]["api"]
    assert "--workers" in api["command"]
    assert api["environment"]["PROMETHEUS_MULTIPROC_DIR"].startswith("/tmp/")
    assert api["environment"]["KNEETRACK_ENVIRONMENT"] == "production"


def test_compose_scale_profile_balances_two_replicas_with_the_committed_haproxy_config():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    scale = {name for name, s in services.items() if "scale" in s.get("profiles", [])}
    assert scale == {"redis", "api-2", "lb"}
    lb = services["lb"]
    assert "./deploy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro" in lb["volumes"]
    config = (ROOT / "deploy" / "haproxy.cfg").read_text()
    # Every address the config reads from the environment is set by the profile.
    for name in ("HAPROXY_BIND", "KNEETRACK_API_1", "KNEETRACK_API_2"):
        assert f'"${{{name}}}"' in config and name in lb["environment"], name
    assert lb["environment"]["KNEETRACK_API_1"] == "api:8000"
    assert lb["environment"]["KNEETRACK_API_2"] == "api-2:8000"
    assert services["api-2"]["command"] == services["api"]["command"]
