"""Time a 2-year single-patient trend request on PostgreSQL.

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/trend_2y.py [--requests 50]

Creates a scratch database beside BENCH_DATABASE_URL, migrates it, seeds one patient with
730 days of diary entries and ~500 exercise sessions, then times GET …/trends/pain (day
buckets, 2-year window) through a TestClient: median and p95 of the requests, in ms. The
scratch database is dropped at the end."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import time
import uuid

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=50)
    args = ap.parse_args()
    base = make_url(os.environ["BENCH_DATABASE_URL"]).set(drivername="postgresql+psycopg")
    name = f"kneetrack_bench_{os.getpid()}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    os.environ["DATABASE_URL"] = url
    os.environ["KNEETRACK_ENVIRONMENT"] = "test"
    os.environ["KNEETRACK_PASSWORD_TIME_COST"] = "1"
    os.environ["KNEETRACK_PASSWORD_MEMORY_KIB"] = "64"
    os.environ["KNEETRACK_LOG_LEVEL"] = "WARNING"
    try:
        run(url, args.requests)
    finally:
        from app.db import get_engine

        get_engine().dispose()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def run(url: str, n: int) -> None:
    # The timed requests are one caller's: the per-caller budget must not cut them short.
    os.environ.setdefault("KNEETRACK_RATE_LIMIT_PRINCIPAL", "1000000/minute")
    from fastapi.testclient import TestClient

    from app.db import get_engine
    from app.main import create_app
    from app.migrate import upgrade_to_head

    upgrade_to_head(url)
    client = TestClient(create_app())
    r = client.post(
        "/v1/auth/register",
        json={
            "email": "bench@example.org",
            "password": "bench-password-1",
            "display_name": "Bench",
            "timezone": "UTC",
        },
    )
    pid = uuid.UUID(r.json()["id"])
    token = client.post(
        "/v1/auth/token", data={"username": "bench@example.org", "password": "bench-password-1"}
    ).json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    today = dt.datetime.now(dt.UTC).date()
    rows = [
        {
            "id": uuid.uuid4(),
            "pid": pid,
            "d": today - dt.timedelta(days=k),
            "l": k % 11,
            "r": (k * 3) % 11,
        }
        for k in range(730)
    ]
    with get_engine().begin() as c:
        c.execute(
            text(
                "INSERT INTO symptom_entries (id, patient_id, entry_date, version, "
                "left_pain, right_pain, recorded_at, created_at, updated_at) VALUES "
                "(:id, :pid, :d, 1, :l, :r, now(), now(), now())"
            ),
            rows,
        )
        c.execute(
            text(
                "INSERT INTO exercise_sessions (patient_id, id, version, activity, "
                "started_at, utc_offset_minutes, local_date, duration_minutes, "
                "created_at, updated_at) VALUES (:pid, :id, 1, 'backward_walking', "
                "now(), 0, :d, 15, now(), now())"
            ),
            [r for k, r in enumerate(rows) if k % 7 in (0, 2, 4, 5)],
        )
        c.execute(text("ANALYZE"))
    params = {"from": str(today - dt.timedelta(days=729)), "bucket": "day"}
    for path in ("/v1/patients/me/trends/pain", "/v1/patients/me/trends"):
        for _ in range(5):  # warm-up
            assert client.get(path, headers=headers, params=params).status_code == 200
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            resp = client.get(path, headers=headers, params=params)
            times.append((time.perf_counter() - t0) * 1000)
            assert resp.status_code == 200
        times.sort()
        print(
            f"{path} (730 days): n={n} median {statistics.median(times):.1f} ms, "
            f"p95 {times[int(0.95 * (n - 1))]:.1f} ms, points "
            f"{len(resp.json().get('points', []))}"
        )


if __name__ == "__main__":
    main()
