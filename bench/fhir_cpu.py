"""CPU of one patient's FHIR export over two years of daily diary entries, in process.

    .venv/bin/python bench/fhir_cpu.py [--runs 9] [--days 730] [--type collection]

Migrates a fresh SQLite file, seeds one patient with a diary entry a day (both knees with
every measure and the ROM method, morning stiffness, flare, falls, analgesics, a note every
third day: about 22 observations a day, no sessions), then runs
`b"".join(service.fhir_export(...))` and prints the median `time.process_time()` of the runs
(the SQLite read included), the size of the Bundle and the CPU of reading the rows alone."""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _entries(patient_id: uuid.UUID, days: int) -> list[dict[str, object]]:
    rng = random.Random(7)
    end = dt.date(2026, 1, 1)
    recorded = dt.datetime(2026, 1, 1, 20, 15, tzinfo=dt.UTC)
    rows: list[dict[str, object]] = []
    for i in range(days):
        row: dict[str, object] = {
            "id": uuid.uuid4(),
            "patient_id": patient_id,
            "entry_date": end - dt.timedelta(days=days - i),
            "version": 1 if i % 5 else 2,
            "morning_stiffness_minutes": rng.randint(5, 40),
            "flare": i % 11 == 0,
            "falls": rng.randint(0, 1),
            "analgesic_doses": rng.randint(0, 3),
            "analgesic_kinds": ["paracetamol", "nsaid_topical"][: rng.randint(0, 2)],
            "notes": 'stairs were "hard" – rested' if i % 3 == 0 else None,
            "recorded_at": recorded - dt.timedelta(days=days - i),
            "created_at": recorded,
            "updated_at": recorded,
        }
        for side in ("left", "right"):
            row |= {
                f"{side}_pain": rng.randint(0, 8),
                f"{side}_stiffness": rng.randint(0, 6),
                f"{side}_swelling": rng.randint(0, 3),
                f"{side}_warmth": rng.random() < 0.2,
                f"{side}_giving_way": rng.random() < 0.1,
                f"{side}_flexion": rng.randint(100, 130),
                f"{side}_extension": rng.randint(-3, 8),
                f"{side}_rom_method": "goniometer",
                f"{side}_night_pain": rng.randint(0, 5),
                f"{side}_locking": False,
            }
        rows.append(row)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=9)
    ap.add_argument("--days", type=int, default=730)
    ap.add_argument("--type", choices=("collection", "transaction"), default="collection")
    args = ap.parse_args()
    url = f"sqlite:///{tempfile.mkdtemp()}/fhir_cpu.db"
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("KNEETRACK_LOG_LEVEL", "WARNING")
    from sqlalchemy import insert
    from sqlmodel import Session

    from app.auth.models import User
    from app.care.models import Patient
    from app.db import get_engine
    from app.diary.models import SymptomEntry
    from app.exports import queries, service
    from app.migrate import upgrade_to_head

    upgrade_to_head(url)
    pid = uuid.uuid4()
    patient = Patient(id=pid, timezone="UTC", birth_year=1956, sex="female")
    with Session(get_engine()) as s:
        s.add(
            User(
                id=pid,
                email="p@example.org",
                password_hash="x",
                role="patient",
                display_name="Bench Patient",
            )
        )
        s.flush()
        s.add(patient)
        s.flush()
        s.execute(insert(SymptomEntry), _entries(pid, args.days))
        s.commit()
        s.refresh(patient)
    now = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
    times, size = [], 0
    for _ in range(args.runs + 1):  # the first run warms the caches and is not counted
        t = time.process_time()
        body = b"".join(
            service.fhir_export(
                patient,
                display_name="Bench Patient",
                date_from=None,
                date_to=None,
                now=now,
                bundle_type=args.type,
            )
        )
        times.append(time.process_time() - t)
        size = len(body)
    reads = []
    for _ in range(args.runs):
        t = time.process_time()
        with queries.read_connection() as conn:
            for _row in queries.stream(conn, queries.symptom_entries(pid, None, None)):
                pass
        reads.append(time.process_time() - t)
    cpu = statistics.median(times[1:]) * 1000
    print(
        f"{args.days} days, {args.type}: {size / 1e6:.2f} MB, median CPU of {args.runs} runs: "
        f"{cpu:.1f} ms (min {min(times[1:]) * 1000:.1f}); of which reading the rows: "
        f"{statistics.median(reads) * 1000:.1f} ms"
    )


if __name__ == "__main__":
    main()
