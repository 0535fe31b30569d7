"""Size, time and server memory of a patient's export over a long history.

    .venv/bin/python bench/exports.py [--years 2] [--database-url URL]

Starts `kneetrack serve` (one worker) on loopback against a fresh SQLite file (or the given
PostgreSQL database, which it migrates), seeds one patient with a daily diary for both
knees (ROM included), ~4 exercise sessions a week and a KOOS-JR every quarter, then times
each export and reads the server's peak resident memory (VmHWM) before and after.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.helpers import uvicorn_process


def _seed(database_url: str, patient_id: uuid.UUID, years: int) -> dict[str, int]:
    os.environ["DATABASE_URL"] = database_url
    from app.db import build_engine
    from app.diary.models import ExerciseSession, SymptomEntry
    from app.questionnaires.models import QuestionnaireResponse

    rng = random.Random(7)
    today = dt.date(2026, 1, 1)
    days = 365 * years
    now = dt.datetime.now(dt.UTC)
    entries, sessions, koos = [], [], []
    for i in range(days):
        day = today - dt.timedelta(days=days - i)
        entries.append(
            {
                "id": uuid.uuid4(),
                "patient_id": patient_id,
                "entry_date": day,
                "version": 1,
                "left_pain": rng.randint(2, 7),
                "left_stiffness": rng.randint(1, 6),
                "left_swelling": rng.randint(0, 2),
                "left_warmth": False,
                "left_giving_way": False,
                "left_flexion": rng.randint(100, 125),
                "left_extension": rng.randint(-3, 8),
                "left_rom_method": "goniometer",
                "right_pain": rng.randint(0, 4),
                "right_stiffness": rng.randint(0, 4),
                "right_swelling": 0,
                "morning_stiffness_minutes": rng.randint(5, 40),
                "flare": False,
                "notes": "stairs were hard" if i % 9 == 0 else None,
                "recorded_at": now,
                "created_at": now,
                "updated_at": now,
            }
        )
        if rng.random() < 4 / 7:
            start = dt.datetime.combine(day, dt.time(10), tzinfo=dt.UTC)
            sessions.append(
                {
                    "patient_id": patient_id,
                    "id": uuid.uuid4(),
                    "version": 1,
                    "activity": "backward_walking" if i % 2 else "strengthening",
                    "started_at": start,
                    "utc_offset_minutes": 60,
                    "local_date": day,
                    "duration_minutes": rng.randint(10, 30),
                    "rpe": 3.0,
                    "falls": 0,
                    "near_falls": 0,
                    "setting": "indoor",
                    "supervised": True,
                    "created_at": now,
                    "updated_at": now,
                }
            )
        if i % 91 == 0:
            koos.append(
                {
                    "id": uuid.uuid4(),
                    "patient_id": patient_id,
                    "instrument": "koos_jr",
                    "completed_on": day,
                    "answers": {
                        "stiffness": 2,
                        "pain_twisting": 1,
                        "pain_straightening": 1,
                        "pain_stairs": 2,
                        "pain_standing": 1,
                        "difficulty_rising": 1,
                        "difficulty_bending": 2,
                    },
                    "score": 70.7,
                    "created_at": now,
                }
            )
    engine = build_engine(database_url)
    with engine.begin() as conn:
        conn.execute(insert(SymptomEntry), entries)
        conn.execute(insert(ExerciseSession), sessions)
        conn.execute(insert(QuestionnaireResponse), koos)
    engine.dispose()
    return {"entries": len(entries), "sessions": len(sessions), "koos_jr": len(koos)}


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class RssSampler(threading.Thread):
    """The server's peak resident memory while an export runs, sampled every 5 ms."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.done = pid, 0, threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            self.peak = max(self.peak, _rss_kib(self.pid))
            time.sleep(0.005)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--years", type=int, default=2)
    ap.add_argument("--database-url", default=None)
    args = ap.parse_args()
    tmp = tempfile.mkdtemp()
    url = args.database_url or f"sqlite:///{tmp}/bench.db"
    os.environ["DATABASE_URL"] = url
    from app.migrate import upgrade_to_head

    upgrade_to_head(url)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "KNEETRACK_ENVIRONMENT": "test",
        "KNEETRACK_LOG_LEVEL": "WARNING",
        "KNEETRACK_RATE_LIMIT_PRINCIPAL": "100000/minute",
    }
    with uvicorn_process(env) as (base, proc):
        email = f"bench-{uuid.uuid4().hex[:8]}@example.org"
        r = httpx.post(
            f"{base}/v1/auth/register",
            json={
                "email": email,
                "password": "bench-password-1",
                "display_name": "Bench",
                "timezone": "Europe/London",
            },
        )
        pid = uuid.UUID(r.json()["id"])
        counts = _seed(url, pid, args.years)
        token = httpx.post(
            f"{base}/v1/auth/token", data={"username": email, "password": "bench-password-1"}
        ).json()["access_token"]
        h = {"Authorization": f"Bearer {token}"}
        httpx.get(f"{base}/v1/patients/me/export.csv?kind=exercise&to=2000-01-01", headers=h)
        idle = _rss_kib(proc.pid)
        print(f"{args.years}-year history on {url.split(':')[0]}: {counts}")
        print(f"server RSS when idle: {idle / 1024:.1f} MiB")
        for path in ("export.fhir", "export.csv?kind=symptoms", "export.csv?kind=exercise"):
            best = None
            sampler = RssSampler(proc.pid)
            sampler.start()
            for _ in range(3):
                t = time.perf_counter()
                size = 0
                with httpx.stream(
                    "GET", f"{base}/v1/patients/me/{path}", headers=h, timeout=120
                ) as resp:
                    assert resp.status_code == 200, resp.status_code
                    for chunk in resp.iter_bytes():
                        size += len(chunk)
                elapsed = time.perf_counter() - t
                best = elapsed if best is None else min(best, elapsed)
            sampler.done.set()
            sampler.join()
            print(
                f"  {path:26s} {size / 1e6:6.2f} MB  best of 3: {best * 1000:6.0f} ms  "
                f"server peak RSS during it: {sampler.peak / 1024:.1f} MiB"
            )


if __name__ == "__main__":
    main()
