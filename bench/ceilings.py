"""The ceilings: tiny baseline endpoints outside the product's routes, served the same way
(uvicorn, same options, same workers) against the same database, so that every product figure
has a limit measured in the same run on the same machine.

(a) framework   — FastAPI validates the diary body (the product's `SymptomEntryIn`), no database
(b) raw insert  — one row inserted with the raw driver (psycopg, async pool), autocommit
(c) naive peer  — the same row with a plain SQLModel `session.add(); session.commit()`
(d) bulk        — the same 500 rows as a sync batch, with executemany and with COPY
(e) read        — the 2-year daily series and its aggregates, the all-metrics summary, the
                  200-patient panel and the 2-year CSV, each with hand-written SQL, the raw driver
                  and orjson

None of them authenticates the caller; the product's cost includes that.
Run: `python -m bench.ceilings --port P --workers N` (with DATABASE_URL set)."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import gc
import io
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import orjson
from fastapi import FastAPI, Response
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.engine import make_url
from sqlmodel import Session, create_engine

from app.diary.entries import entry_columns
from app.diary.models import SymptomEntry
from app.diary.schemas import SymptomEntryIn
from app.schemas import StrictModel
from bench.common import INSERT_COLUMNS, entry_row

# Per worker. The raw pool grows on demand like the product's; the naive peer keeps SQLModel's
# defaults (5 + 10 overflow), as a plain SQLModel app would.
POOL_SIZE = 16


class BatchEntry(SymptomEntryIn):
    entry_date: dt.date


class BatchIn(StrictModel):
    symptom_entries: list[BatchEntry]
    exercise_sessions: list[dict[str, Any]] = []
    deletions: list[dict[str, Any]] = []


def _libpq_url() -> str:
    url = make_url(os.environ["DATABASE_URL"]).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def _sqlalchemy_url() -> str:
    return _libpq_url().replace("postgresql://", "postgresql+psycopg://", 1)


STATE: dict[str, Any] = {}


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    pool = AsyncConnectionPool(
        _libpq_url(),
        min_size=2,
        max_size=POOL_SIZE,
        kwargs={"autocommit": True},
        open=False,
    )
    await pool.open(wait=True)
    STATE["pool"] = pool
    STATE["engine"] = create_engine(_sqlalchemy_url())
    gc.collect()
    gc.freeze()  # as the product does at start-up
    yield
    await pool.close()
    STATE["engine"].dispose()


app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)


def _json(data: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(data), status_code=status, media_type="application/json")


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


# --- (a) framework ------------------------------------------------------------------------


@app.put("/ceiling/validate/{pid}/{entry_date}", status_code=201)
async def validate_only(pid: uuid.UUID, entry_date: dt.date, body: SymptomEntryIn) -> Any:
    return {"entry_date": entry_date, "version": 1}


# --- (b) raw driver, one row per request ----------------------------------------------------

_INSERT = (
    f"INSERT INTO symptom_entries ({', '.join(INSERT_COLUMNS)}) "
    f"VALUES ({', '.join(['%s'] * len(INSERT_COLUMNS))})"
)


@app.put("/ceiling/insert/raw/{pid}/{entry_date}", status_code=201)
async def insert_raw(pid: uuid.UUID, entry_date: dt.date, body: SymptomEntryIn) -> Any:
    row = entry_row(pid, entry_date, body, dt.datetime.now(dt.UTC))
    async with STATE["pool"].connection() as conn:
        await conn.execute(_INSERT, row)
    return {"entry_date": entry_date, "version": 1}


# --- (c) naive peer: plain SQLModel ---------------------------------------------------------


@app.put("/ceiling/insert/sqlmodel/{pid}/{entry_date}", status_code=201)
def insert_sqlmodel(pid: uuid.UUID, entry_date: dt.date, body: SymptomEntryIn) -> Any:
    now = dt.datetime.now(dt.UTC)
    with Session(STATE["engine"]) as session:
        session.add(
            SymptomEntry(
                patient_id=pid,
                entry_date=entry_date,
                recorded_at=body.recorded_at or now,
                created_at=now,
                updated_at=now,
                **entry_columns(body),
            )
        )
        session.commit()
    return {"entry_date": entry_date, "version": 1}


# --- (d) bulk: the same 500 rows with executemany and with COPY -----------------------------


def _batch_rows(pid: uuid.UUID, batch: BatchIn) -> list[tuple[Any, ...]]:
    now = dt.datetime.now(dt.UTC)
    return [entry_row(pid, e.entry_date, e, now) for e in batch.symptom_entries]


@app.post("/ceiling/bulk/executemany/{pid}")
async def bulk_executemany(pid: uuid.UUID, batch: BatchIn) -> Any:
    rows = _batch_rows(pid, batch)
    async with STATE["pool"].connection() as conn, conn.transaction(), conn.cursor() as cur:
        await cur.executemany(_INSERT, rows)
    return {"written": len(rows)}


@app.post("/ceiling/bulk/copy/{pid}")
async def bulk_copy(pid: uuid.UUID, batch: BatchIn) -> Any:
    rows = _batch_rows(pid, batch)
    copy_sql = f"COPY symptom_entries ({', '.join(INSERT_COLUMNS)}) FROM STDIN"
    async with (
        STATE["pool"].connection() as conn,
        conn.transaction(),
        conn.cursor() as cur,
        cur.copy(copy_sql) as copy,
    ):
        for row in rows:
            await copy.write_row(row)
    return {"written": len(rows)}


# --- (e) reads ------------------------------------------------------------------------------

# The worse knee per metric: highest pain, stiffness, swelling, extension; lowest flexion.
WORSE = {
    "pain": "GREATEST(left_pain, right_pain)",
    "stiffness": "GREATEST(left_stiffness, right_stiffness)",
    "swelling": "GREATEST(left_swelling, right_swelling)",
    "morning_stiffness": "morning_stiffness_minutes",
    "flexion": "LEAST(left_flexion, right_flexion)",
    "extension": "GREATEST(left_extension, right_extension)",
}

_SERIES = """
SELECT day, v, avg(v) OVER (ORDER BY day RANGE BETWEEN INTERVAL '6 days' PRECEDING
                                           AND CURRENT ROW)::float8
FROM (SELECT entry_date AS day, {expr} AS v FROM symptom_entries
      WHERE patient_id = %(pid)s AND entry_date BETWEEN %(f)s AND %(t)s
        AND deleted_at IS NULL) d
WHERE v IS NOT NULL ORDER BY day
"""
_AGGREGATES = """
WITH d AS (SELECT entry_date AS day, {expr} AS v FROM symptom_entries
           WHERE patient_id = %(pid)s AND entry_date BETWEEN %(f)s AND %(t)s
             AND deleted_at IS NULL),
     first AS (SELECT min(day) AS day FROM d WHERE v IS NOT NULL)
SELECT count(v),
       avg(v) FILTER (WHERE d.day < first.day + 7)::float8,
       count(v) FILTER (WHERE d.day < first.day + 7),
       avg(v) FILTER (WHERE d.day > %(t)s::date - 7)::float8,
       count(v) FILTER (WHERE d.day > %(t)s::date - 7),
       7 * regr_slope(v, d.day - %(f)s::date)
FROM d, first
"""


def _window(date_from: dt.date | None, date_to: dt.date | None) -> tuple[dt.date, dt.date]:
    to = date_to or dt.datetime.now(dt.UTC).date()
    return date_from or to - dt.timedelta(days=89), to


@app.get("/ceiling/trend/{pid}/{metric}")
async def trend(
    pid: uuid.UUID, metric: str, date_from: dt.date | None = None, date_to: dt.date | None = None
) -> Response:
    f, t = _window(date_from, date_to)
    expr = WORSE[metric]
    params = {"pid": pid, "f": f, "t": t}
    async with STATE["pool"].connection() as conn:
        rows = await (await conn.execute(_SERIES.format(expr=expr), params)).fetchall()
        agg = await (await conn.execute(_AGGREGATES.format(expr=expr), params)).fetchone()
    assert agg is not None
    n, b_mean, b_n, c_mean, c_n, slope = agg
    return _json(
        {
            "metric": metric,
            "from": f,
            "to": t,
            "day": [r[0] for r in rows],
            "value": [r[1] for r in rows],
            "rolling_mean_7d": [r[2] for r in rows],
            "n": n,
            "baseline": {"n": b_n, "mean": b_mean},
            "current": {"n": c_n, "mean": c_mean},
            "change": None if b_mean is None or c_mean is None else c_mean - b_mean,
            "slope_per_week": slope,
        }
    )


def _summary_sql() -> str:
    cols = ",\n".join(f"{expr} AS {m}" for m, expr in WORSE.items())
    aggs = ",\n".join(
        f"count({m}), avg({m}) FILTER (WHERE d.day < first.day + 7)::float8, "
        f"avg({m}) FILTER (WHERE d.day > %(t)s::date - 7)::float8, "
        f"7 * regr_slope({m}, d.day - %(f)s::date)"
        for m in WORSE
    )
    return f"""
WITH d AS (SELECT entry_date AS day, {cols} FROM symptom_entries
           WHERE patient_id = %(pid)s AND entry_date BETWEEN %(f)s AND %(t)s
             AND deleted_at IS NULL),
     first AS (SELECT min(day) AS day FROM d)
SELECT {aggs} FROM d, first
"""


_SUMMARY = _summary_sql()
_EXERCISE = """
WITH days AS (SELECT generate_series(%(f)s::date, %(t)s::date, interval '1 day')::date AS day),
     s AS (SELECT local_date AS day, sum(duration_minutes) AS minutes, count(*) AS sessions
           FROM exercise_sessions WHERE patient_id = %(pid)s AND deleted_at IS NULL
             AND local_date BETWEEN %(f)s AND %(t)s GROUP BY local_date)
SELECT avg(coalesce(minutes, 0)) FILTER (WHERE days.day < %(f)s::date + 7)::float8,
       avg(coalesce(minutes, 0)) FILTER (WHERE days.day > %(t)s::date - 7)::float8,
       7 * regr_slope(coalesce(minutes, 0), days.day - %(f)s::date),
       sum(coalesce(sessions, 0))::int8
FROM days LEFT JOIN s ON s.day = days.day
"""


@app.get("/ceiling/summary/{pid}")
async def summary(
    pid: uuid.UUID, date_from: dt.date | None = None, date_to: dt.date | None = None
) -> Response:
    f, t = _window(date_from, date_to)
    params = {"pid": pid, "f": f, "t": t}
    async with STATE["pool"].connection() as conn:
        row = await (await conn.execute(_SUMMARY, params)).fetchone()
        ex = await (await conn.execute(_EXERCISE, params)).fetchone()
    assert row is not None and ex is not None
    metrics = {}
    for i, m in enumerate(WORSE):
        n, base, cur, slope = row[4 * i : 4 * i + 4]
        metrics[m] = {
            "n": n,
            "baseline": base,
            "current": cur,
            "change": None if base is None or cur is None else cur - base,
            "slope_per_week": slope,
        }
    metrics["exercise_minutes"] = {
        "baseline": ex[0],
        "current": ex[1],
        "slope_per_week": ex[2],
        "sessions": ex[3],
    }
    return _json({"from": f, "to": t, "metrics": metrics})


_PANEL = """
SELECT c.patient_id, u.display_name,
       (SELECT max(entry_date) FROM symptom_entries e
         WHERE e.patient_id = c.patient_id AND e.deleted_at IS NULL) AS last_entry_date,
       s.mean_7d, s.mean_7d - s.mean_28d_before, s.slope, x.sessions
FROM care_team_members c
JOIN users u ON u.id = c.patient_id
LEFT JOIN LATERAL (
  SELECT avg(v) FILTER (WHERE day > %(today)s::date - 7)::float8 AS mean_7d,
         avg(v) FILTER (WHERE day <= %(today)s::date - 28)::float8 AS mean_28d_before,
         7 * regr_slope(v, day - %(today)s::date) FILTER (WHERE day > %(today)s::date - 28)
           AS slope
  FROM (SELECT entry_date AS day, GREATEST(left_pain, right_pain) AS v FROM symptom_entries e
        WHERE e.patient_id = c.patient_id AND e.entry_date > %(today)s::date - 35
          AND e.deleted_at IS NULL) q
) s ON true
LEFT JOIN LATERAL (
  SELECT count(*) AS sessions FROM exercise_sessions x
  WHERE x.patient_id = c.patient_id AND x.local_date > %(today)s::date - 28
    AND x.deleted_at IS NULL
) x ON true
WHERE c.clinician_id = %(cid)s AND c.revoked_at IS NULL
ORDER BY u.display_name, c.patient_id
"""


@app.get("/ceiling/panel/{cid}")
async def panel(cid: uuid.UUID) -> Response:
    params = {"cid": cid, "today": dt.datetime.now(dt.UTC).date()}
    async with STATE["pool"].connection() as conn:
        rows = await (await conn.execute(_PANEL, params)).fetchall()
    keys = (
        "patient_id",
        "display_name",
        "last_entry_date",
        "pain_mean_7d",
        "pain_change_28d",
        "pain_slope_per_week",
        "sessions_4w",
    )
    return _json({"items": [dict(zip(keys, r, strict=True)) for r in rows]})


_EXPORT = """
SELECT entry_date, left_pain, left_stiffness, left_swelling, left_flexion, left_extension,
       right_pain, right_stiffness, right_swelling, right_flexion, right_extension,
       morning_stiffness_minutes, flare, notes
FROM symptom_entries WHERE patient_id = %(pid)s AND deleted_at IS NULL ORDER BY entry_date
"""


@app.get("/ceiling/export/{pid}")
async def export_csv(pid: uuid.UUID) -> Response:
    """Every entry as CSV, one row per day and knee, built in memory (the ceiling's shortcut)."""
    buf = io.StringIO()
    out = csv.writer(buf)
    out.writerow(
        [
            "date",
            "knee",
            "pain",
            "stiffness",
            "swelling",
            "flexion",
            "extension",
            "morning_stiffness_minutes",
            "flare",
            "notes",
        ]
    )
    async with STATE["pool"].connection() as conn, conn.cursor() as cur:
        await cur.execute(_EXPORT, {"pid": pid})
        async for r in cur:
            for side, k in (("left", 1), ("right", 6)):
                if any(v is not None for v in r[k : k + 5]):
                    out.writerow([r[0], side, *r[k : k + 5], r[11], r[12], r[13]])
    return Response(buf.getvalue(), media_type="text/csv")


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    uvicorn.run(
        "bench.ceilings:app",
        host="127.0.0.1",
        port=args.port,
        workers=args.workers,
        proxy_headers=True,
        server_header=False,
        log_config=None,
        access_log=False,
    )


if __name__ == "__main__":
    main()
