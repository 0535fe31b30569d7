"""Migrations: from an empty database to head and back on SQLite and PostgreSQL, and the
models match what the migrations build (nothing left for autogenerate to find)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect

import app.models  # noqa: F401
from app.db import metadata
from app.migrate import alembic_config
from tests.conftest import drop_postgres_database, fresh_postgres_database


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_url(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    if not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("TEST_DATABASE_URL is not set")
    name = f"kneetrack_migr_{uuid.uuid4().hex[:8]}"
    yield fresh_postgres_database(name)
    drop_postgres_database(name)


def _engine(url: str):
    return create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))


def test_upgrade_from_empty_to_head_matches_models(empty_url):
    cfg = alembic_config(empty_url)
    command.upgrade(cfg, "head")
    engine = _engine(empty_url)
    with engine.connect() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(ctx, metadata)
        head = ScriptDirectory.from_config(cfg).get_current_head()
        assert ctx.get_current_revision() == head
    engine.dispose()
    assert diff == [], f"models and migrations differ: {diff}"


def test_downgrade_to_base_and_up_again(empty_url):
    cfg = alembic_config(empty_url)
    command.upgrade(cfg, "head")
    command.downgrade(cfg, "base")
    engine = _engine(empty_url)
    tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
    engine.dispose()
    assert tables == set()
    command.upgrade(cfg, "head")
    engine = _engine(empty_url)
    assert {"symptom_entries", "exercise_sessions", "revisions"} <= set(
        inspect(engine).get_table_names())
    engine.dispose()


def test_check_constraints_hold_in_the_database(client, engine, make_patient):
    """Ranges live in the database too, not only in the API schemas."""
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    pid = uuid.UUID(make_patient().id)
    sqlite = engine.dialect.name == "sqlite"
    params = {"id": uuid.uuid4().hex if sqlite else str(uuid.uuid4()),
              "pid": pid.hex if sqlite else str(pid)}
    insert = text(
        "INSERT INTO symptom_entries (id, patient_id, entry_date, version, {column}, recorded_at,"
        " created_at, updated_at) VALUES (:id, :pid, '2026-01-01', 1, :v, CURRENT_TIMESTAMP,"
        " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)")
    # The same statement with a valid value succeeds (so the failures below are the CHECKs).
    with engine.connect() as conn:
        conn.execute(text(insert.text.format(column="left_pain")), {**params, "v": 10})
        conn.rollback()
    with engine.connect() as conn:
        with pytest.raises(IntegrityError):
            conn.execute(text(
                "INSERT INTO users (id, email, password_hash, role, display_name, created_at, "
                "updated_at) VALUES (:id, :e, 'x', 'superuser', 'x', CURRENT_TIMESTAMP, "
                "CURRENT_TIMESTAMP)"), {"id": params["id"], "e": f"{pid}@x.org"})
        conn.rollback()
    for column, bad in [("left_pain", 11), ("right_swelling", 4), ("left_flexion", 171),
                        ("left_extension", -21), ("morning_stiffness_minutes", 1441)]:
        with engine.connect() as conn:
            with pytest.raises(IntegrityError):
                conn.execute(text(insert.text.format(column=column)), {**params, "v": bad})
            conn.rollback()


def test_revision_kinds_are_checked_in_the_database(client, engine, make_patient):
    """The `kind` CHECK admits exercise-plan revisions and still refuses anything else."""
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    pid = uuid.UUID(make_patient().id)
    sqlite = engine.dialect.name == "sqlite"

    def insert(kind: str) -> None:
        rid = uuid.uuid4()
        with engine.connect() as conn:
            conn.execute(text(
                "INSERT INTO revisions (id, patient_id, kind, record_key, version, reason, "
                "payload, superseded_at) VALUES (:id, :pid, :kind, 'k', 1, 'replaced', '{}', "
                "CURRENT_TIMESTAMP)"),
                {"id": rid.hex if sqlite else str(rid), "pid": pid.hex if sqlite else str(pid),
                 "kind": kind})
            conn.rollback()

    insert("exercise_plan")
    with pytest.raises(IntegrityError):
        insert("questionnaire")
