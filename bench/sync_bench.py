"""Rows per second of a 500-entry `POST …/sync` against raw psycopg `executemany` of the same
500 symptom-entry rows, on PostgreSQL.

    BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres \
        .venv/bin/python bench/sync_bench.py [--rounds 20]

It creates a scratch database beside BENCH_DATABASE_URL's, migrates it, starts the API under
uvicorn (one worker) on a free loopback port, and drops the database at the end. Both paths
commit once per 500 rows. The sync figure includes everything a client pays: HTTP, JSON,
validation, the diary rules, revisions and the changes feed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid

import httpx
import psycopg
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

BATCH = 500
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _entries(start: dt.date) -> list[dict]:
    return [
        {
            "entry_date": (start + dt.timedelta(days=i)).isoformat(),
            "knees": {
                "left": {"pain": i % 11, "stiffness": 3, "swelling": 1},
                "right": {"pain": 2, "flexion_degrees": 120, "rom_method": "goniometer"},
            },
            "morning_stiffness_minutes": 15,
            "flare": False,
        }
        for i in range(BATCH)
    ]


RAW_SQL = (
    "INSERT INTO symptom_entries (id, patient_id, entry_date, version, left_pain, "
    "left_stiffness, left_swelling, right_pain, right_flexion, right_rom_method, "
    "morning_stiffness_minutes, flare, recorded_at, created_at, updated_at) "
    "VALUES (%s, %s, %s, 1, %s, 3, 1, 2, 120, 'goniometer', 15, false, %s, %s, %s)"
)


def raw_round(conn: psycopg.Connection, patient_id: uuid.UUID, start: dt.date) -> float:
    now = dt.datetime.now(dt.UTC)
    rows = [
        (uuid.uuid4(), patient_id, start + dt.timedelta(days=i), i % 11, now, now, now)
        for i in range(BATCH)
    ]
    t0 = time.perf_counter()
    with conn.cursor() as cur:
        cur.executemany(RAW_SQL, rows)
    conn.commit()
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=20)
    args = ap.parse_args()
    base = make_url(os.environ["BENCH_DATABASE_URL"]).set(drivername="postgresql+psycopg")
    name = f"kneetrack_bench_sync_{os.getpid()}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "KNEETRACK_LOG_LEVEL": "WARNING",
        "KNEETRACK_PASSWORD_TIME_COST": "1",
        "KNEETRACK_PASSWORD_MEMORY_KIB": "64",
    }
    proc = None
    try:
        subprocess.run(
            [sys.executable, "-m", "app.cli", "migrate"],
            env=env,
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        port = _free_port()
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "app.main:app",
                "--port",
                str(port),
                "--host",
                "127.0.0.1",
                "--no-access-log",
            ],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        api = f"http://127.0.0.1:{port}"
        for _ in range(300):
            try:
                if httpx.get(f"{api}/readyz").status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        with httpx.Client(base_url=api, timeout=60) as c:
            email = f"bench-{uuid.uuid4().hex[:8]}@example.org"
            pid = c.post(
                "/v1/auth/register",
                json={
                    "email": email,
                    "password": "bench-password",
                    "display_name": "Bench",
                    "timezone": "UTC",
                },
            ).json()["id"]
            token = c.post(
                "/v1/auth/token", data={"username": email, "password": "bench-password"}
            ).json()
            c.headers["Authorization"] = f"Bearer {token['access_token']}"
            raw_url = (
                make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
            )
            raw_conn = psycopg.connect(raw_url)
            sync_times, raw_times = [], []
            # Rounds alternate between the two paths, so that a change in the machine's load
            # weighs on both alike.
            for r in range(args.rounds + 2):  # two warm-up rounds
                body = {
                    "symptom_entries": _entries(dt.date(1950, 1, 1) + dt.timedelta(days=BATCH * r))
                }
                t0 = time.perf_counter()
                resp = c.post("/v1/patients/me/sync", json=body)
                elapsed = time.perf_counter() - t0
                assert resp.status_code == 200, resp.text
                assert all(x["status"] == "created" for x in resp.json()["results"])
                raw_elapsed = raw_round(
                    raw_conn, uuid.UUID(pid), dt.date(1900, 1, 1) + dt.timedelta(days=BATCH * r)
                )
                if r >= 2:
                    sync_times.append(elapsed)
                    raw_times.append(raw_elapsed)
            raw_conn.close()
        raw = BATCH / statistics.median(raw_times)
        via_sync = BATCH / statistics.median(sync_times)
        print(f"raw psycopg executemany (500 rows, one commit): {raw:,.0f} rows/s")
        print(f"POST /sync with 500 new entries (HTTP end to end): {via_sync:,.0f} rows/s")
        print(f"sync / raw: {via_sync / raw:.0%}  (medians of {args.rounds} rounds)")
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait()
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
